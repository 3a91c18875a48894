"""One-time SMS code login: the service, the two-step page (no JavaScript needed) and the API."""

from datetime import timedelta

import pytest
from django.db.models import F

from tanhui.core.errors import DomainError
from tanhui.people import services
from tanhui.people.models import LoginCode
from tests.people.conftest import PHONE_A


@pytest.fixture
def citizen(make_citizen):
    return make_citizen(PHONE_A)


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_a_code_is_sent_to_a_registered_number(citizen, sms_outbox):
    services.request_login_code(PHONE_A)

    (phone, message), = sms_outbox.sent
    assert phone == PHONE_A and sms_outbox.last_code() in message
    code = LoginCode.objects.get()
    assert abs(code.expires_at - code.created_at - services.LOGIN_CODE_TTL) < timedelta(seconds=1)
    assert sms_outbox.last_code() not in code.code_hash


def test_the_right_code_logs_in_once(citizen, sms_outbox):
    services.request_login_code(PHONE_A)
    code = sms_outbox.last_code()

    assert services.verify_login_code(PHONE_A, code) == citizen.user
    assert services.verify_login_code(PHONE_A, code) is None


def test_wrong_attempts_are_limited(citizen, sms_outbox):
    services.request_login_code(PHONE_A)
    for _ in range(services.LOGIN_CODE_MAX_ATTEMPTS):
        assert services.verify_login_code(PHONE_A, sms_outbox.wrong_code()) is None

    assert services.verify_login_code(PHONE_A, sms_outbox.last_code()) is None


def test_a_code_expires(citizen, sms_outbox):
    services.request_login_code(PHONE_A)
    LoginCode.objects.update(expires_at=F("expires_at") - services.LOGIN_CODE_TTL - timedelta(seconds=1))

    assert services.verify_login_code(PHONE_A, sms_outbox.last_code()) is None


@pytest.mark.parametrize("phone", [PHONE_A, "13912345678"])
def test_one_request_per_minute_for_known_and_unknown_numbers_alike(citizen, sms_outbox, phone):
    services.request_login_code(phone)

    with pytest.raises(DomainError) as exc:
        services.request_login_code(phone)
    assert exc.value.code == "too_many_requests"


def test_nothing_is_sent_to_an_unknown_number(db, sms_outbox):
    services.request_login_code("13912345678")

    assert sms_outbox.sent == []


def test_a_deactivated_user_cannot_log_in_by_code(citizen, sms_outbox):
    services.request_login_code(PHONE_A)
    citizen.user.is_active = False
    citizen.user.save()

    assert services.verify_login_code(PHONE_A, sms_outbox.last_code()) is None


def test_the_page_logs_in_in_two_steps(browser, citizen, sms_outbox):
    client = browser()
    assert client.get("/login/sms/").status_code == 200

    step2 = client.submit("/login/sms/", {"phone": "138 0013 8000", "next": "/?from=sms"})
    assert step2.status_code == 200
    assert "138****8000" in step2.content.decode()
    assert 'name="code"' in step2.content.decode()

    done = client.submit("/login/sms/", {"phone": PHONE_A, "code": sms_outbox.last_code(),
                                         "next": "/?from=sms"})
    assert done.status_code == 302 and done["Location"] == "/?from=sms"
    assert signed_in_user_id(client) == str(citizen.user.pk)


def test_the_page_refuses_a_wrong_code_and_an_invalid_number(browser, citizen, sms_outbox):
    client = browser()

    invalid = client.submit("/login/sms/", {"phone": "12345"})
    assert 'name="code"' not in invalid.content.decode() and not sms_outbox.sent

    client.submit("/login/sms/", {"phone": PHONE_A})
    wrong = client.submit("/login/sms/", {"phone": PHONE_A, "code": sms_outbox.wrong_code()})
    assert wrong.status_code == 200 and 'name="code"' in wrong.content.decode()
    assert signed_in_user_id(client) is None


def test_the_page_does_not_redirect_off_site(browser, citizen, sms_outbox):
    client = browser()
    client.submit("/login/sms/", {"phone": PHONE_A})

    done = client.submit("/login/sms/", {"phone": PHONE_A, "code": sms_outbox.last_code(),
                                         "next": "https://evil.example/"})

    assert done["Location"] == "/start/"


def test_the_page_needs_the_csrf_token(browser, citizen, sms_outbox):
    response = browser().post("/login/sms/", {"phone": PHONE_A})

    assert response.status_code == 403
    assert not sms_outbox.sent


def test_the_api_logs_in(browser, citizen, sms_outbox):
    client = browser()
    assert client.api("post", "/auth/sms-code", {"phone": PHONE_A}).json() == {"ok": True}

    wrong = client.api("post", "/auth/sms-login", {"phone": PHONE_A, "code": sms_outbox.wrong_code()})
    right = client.api("post", "/auth/sms-login", {"phone": PHONE_A, "code": sms_outbox.last_code()})

    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_code"
    assert right.status_code == 200 and right.json()["public_id"] == citizen.public_id
    assert client.api("get", "/me").status_code == 200


@pytest.mark.parametrize("path", ["/auth/sms-code", "/auth/sms-login"])
def test_the_api_login_endpoints_need_the_csrf_token(browser, citizen, sms_outbox, path):
    response = browser().api("post", path, {"phone": PHONE_A, "code": "123456"}, csrf=False)

    assert response.status_code == 403
    assert not sms_outbox.sent


def test_password_login_by_phone(browser, citizen):
    client = browser()

    response = client.submit("/login/", {"username": PHONE_A, "password": "demo-pass-123"})

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(citizen.user.pk)
