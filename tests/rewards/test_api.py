"""The REST API: offers are public; coupons and donations belong to the signed-in citizen; the
counter endpoint is for merchant staff."""

import pytest

from tanhui.rewards import codes, services
from tanhui.rewards.models import Coupon
from tests.rewards.conftest import points

pytestmark = pytest.mark.django_db
BASE = "/api/v1/rewards"


def test_offers_are_public_and_filterable(client, make_offer, make_budget):
    budget = make_budget(points=100, max_points_per_coupon=20)
    offer = make_offer(title="素食套餐", funding=budget, funded_points=20)
    make_offer(title="单车月卡", category="transport")

    listed = client.get(f"{BASE}/offers", {"category": "food"}).json()
    assert [o["title"] for o in listed] == ["素食套餐"]
    assert listed[0] | {"citizen_points": 80, "funded_points": 20, "category_label": "食"} == listed[0]
    assert client.get(f"{BASE}/offers", {"district": "望江区"}).json() == []
    assert client.get(f"{BASE}/offers/{offer.pk}").json()["remaining"] == 10
    assert client.get(f"{BASE}/offers", {"category": "toys"}).status_code == 422


def test_a_citizen_claims_lists_and_cancels_through_the_api(client, rich_citizen, offer):
    assert client.post(f"{BASE}/offers/{offer.pk}/claim", {}, content_type="application/json").status_code == 401
    client.force_login(rich_citizen.user)

    response = client.post(f"{BASE}/offers/{offer.pk}/claim", {"request_key": "k", "expected_points": 100},
                           content_type="application/json")

    assert response.status_code == 201
    coupon = response.json()
    assert coupon["status"] == "issued" and codes.normalise(coupon["code"])
    assert [c["id"] for c in client.get(f"{BASE}/coupons").json()] == [coupon["id"]]
    assert client.post(f"{BASE}/coupons/{coupon['id']}/cancel").json()["status"] == "cancelled"
    assert points(rich_citizen) == 1000


def test_errors_carry_their_code(client, rich_citizen, make_offer):
    client.force_login(rich_citizen.user)
    offer = make_offer(points_price=5000)
    response = client.post(f"{BASE}/offers/{offer.pk}/claim", {}, content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "insufficient_balance"


def test_someone_elses_coupon_is_not_found(client, rich_citizen, make_citizen, offer):
    coupon = services.claim(rich_citizen, offer.pk)
    client.force_login(make_citizen("13900139000", "李四").user)
    assert client.get(f"{BASE}/coupons/{coupon.pk}").status_code == 404
    assert client.post(f"{BASE}/coupons/{coupon.pk}/cancel").status_code == 404
    assert Coupon.objects.get().status == Coupon.Status.ISSUED


def test_staff_redeem_at_the_counter(client, rich_citizen, offer, staff):
    coupon = services.claim(rich_citizen, offer.pk)
    client.force_login(rich_citizen.user)  # a citizen cannot redeem, not even their own coupon
    response = client.post(f"{BASE}/redemptions", {"code": coupon.code}, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "not_merchant_staff"

    client.force_login(staff)
    response = client.post(f"{BASE}/redemptions", {"code": codes.grouped(coupon.code)},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["points"] == 100
    response = client.post(f"{BASE}/redemptions", {"code": "ZZZZZZZZZZZZZZZZ"}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (404, "wrong_code")


def test_donate_through_the_api(client, rich_citizen):
    services.create_project(code="trees", title="碳汇林", organiser="基金会", description="植树", goal_points=900)
    assert client.get(f"{BASE}/charity").json()[0]["goal_points"] == 900
    client.force_login(rich_citizen.user)
    response = client.post(f"{BASE}/charity/trees/donations", {"points": 300}, content_type="application/json")
    assert response.status_code == 201 and response.json()["points"] == 300
    assert client.get(f"{BASE}/charity").json()[0]["raised_points"] == 300
