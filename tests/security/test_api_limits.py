"""The API as a whole is limited per caller (API key, user, client IP); the SMS endpoints per IP and
number; counter verification per merchant staff user. Over a limit: 429, `rate_limited`, Retry-After."""

import pytest
from django.utils import timezone

from tanhui.people.models import LoginCode
from tests.people.conftest import PHONE_A, PHONE_B
from tests.rewards.conftest import licence


def assert_limited(response):
    assert response.status_code == 429, response.content
    assert response.json()["code"] == "rate_limited" and response.json()["message"]
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_anonymous_callers_are_limited_per_ip(client, limits, reference_data):
    limits(api_anon="3/m")

    assert [client.get("/api/v1/rewards/offers").status_code for _ in range(3)] == [200] * 3
    assert_limited(client.get("/api/v1/rewards/offers"))
    assert client.get("/api/v1/rewards/offers", REMOTE_ADDR="10.1.1.1").status_code == 200


def test_signed_in_users_are_limited_per_user_not_per_ip(client, limits, make_citizen):
    limits(api_user="2/m", api_anon="1/m")
    a, b = make_citizen(PHONE_A), make_citizen(PHONE_B)

    client.force_login(a.user)
    assert [client.get("/api/v1/me").status_code for _ in range(2)] == [200, 200]
    assert_limited(client.get("/api/v1/me"))
    client.force_login(b.user)
    assert client.get("/api/v1/me").status_code == 200


def test_providers_are_limited_per_api_key(client, limits, make_provider):
    limits(api_key="2/m")
    metro, bike = make_provider("metro_op"), make_provider("bike_op", scenarios=("bike",))

    def batches(provider):
        return client.get("/api/v1/batches", headers={"Authorization": f"Bearer {provider.plain_api_key}"})

    assert [batches(metro).status_code for _ in range(2)] == [200, 200]
    assert_limited(batches(metro))
    assert batches(bike).status_code == 200


def test_sms_codes_are_limited_per_number(browser, limits, sms_outbox, make_citizen, clock):
    limits(sms_send_phone="2/h")
    make_citizen(PHONE_A)
    client = browser()
    clock.advance(seconds=3600 - timezone.now().timestamp() % 3600)  # the start of an hour: all in one window

    for _ in range(2):
        assert client.api("post", "/auth/sms-code", {"phone": PHONE_A}).status_code == 200
        clock.advance(minutes=2)  # past the one-a-minute rule
    assert_limited(client.api("post", "/auth/sms-code", {"phone": PHONE_A}))
    assert LoginCode.objects.count() == 2
    assert client.api("post", "/auth/sms-code", {"phone": PHONE_B}).status_code == 200


def test_sms_codes_are_limited_per_client_ip(browser, limits, sms_outbox, db):
    limits(sms_send_ip="2/h")
    client = browser()

    for phone in ("13700000001", "13700000002"):
        assert client.api("post", "/auth/sms-code", {"phone": phone}).status_code == 200
    assert_limited(client.api("post", "/auth/sms-code", {"phone": "13700000003"}))


def test_sms_code_logins_are_limited_per_client_ip(browser, limits, db):
    limits(sms_verify_ip="2/m")
    client = browser()

    for phone in ("13700000001", "13700000002"):
        assert client.api("post", "/auth/sms-login", {"phone": phone, "code": "000000"}).status_code == 401
    assert_limited(client.api("post", "/auth/sms-login", {"phone": "13700000003", "code": "000000"}))


@pytest.fixture
def cashier(db, django_user_model):
    """The staff user of an approved merchant."""
    from tanhui.people.models import District
    from tanhui.rewards import services

    admin = django_user_model.objects.create_user("rewards-admin", password="x-pass-123", role="admin")
    district = District.objects.create(name="澜湖区")
    merchant = services.register_applicant(
        "cashier", "x-pass-123", name="绿源素食餐厅", licence_no=licence(1), district=district,
        service_districts=[district], address="湖滨路 8 号", contact_name="王店长", contact_phone="13912345678")
    return services.review(merchant, admin, approve=True).applicant


def test_counter_verification_is_limited_per_staff_user(browser, limits, cashier, settings):
    limits(coupon_verify="2/m")
    settings.TANHUI_REWARDS_LOCKOUT = (100, 60)
    client = browser(cashier)

    for _ in range(2):
        assert client.api("post", "/rewards/redemptions", {"code": "AAAA-BBBB"}).status_code == 404
    assert_limited(client.api("post", "/rewards/redemptions", {"code": "AAAA-BBBB"}))


def test_the_verify_page_says_so_when_over_the_limit(browser, limits, cashier, settings):
    limits(coupon_verify="1/m")
    settings.TANHUI_REWARDS_LOCKOUT = (100, 60)
    client = browser(cashier)

    client.submit("/rewards/merchant/verify/", {"code": "AAAA-BBBB"})
    response = client.submit("/rewards/merchant/verify/", {"code": "AAAA-BBBB"})

    assert response.status_code == 429 and "请求过于频繁" in response.content.decode()
