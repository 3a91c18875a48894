"""Every /api/v1/me route acts on the signed-in citizen only; others get a JSON error with a code.
Who gets which status on every route is the table in tests/api/test_route_role_matrix.py; these
tests check what the requests did and did not change."""

import pytest

from tanhui.people.models import Binding, Citizen, Consent
from tests.people.conftest import PHONE_A, PHONE_B


@pytest.fixture
def a(make_citizen, metro):
    return make_citizen(PHONE_A, "张三", bindings=[(metro, "A1")], consents={"metro": None})


@pytest.fixture
def b(make_citizen, metro):
    return make_citizen(PHONE_B, "李四", bindings=[(metro, "B1")], consents={"metro": None, "bus": None})


def active(related, ended_field: str, field: str) -> set:
    return set(related.filter(**{f"{ended_field}__isnull": True}).values_list(field, flat=True))


def test_profile_is_the_signed_in_citizens(browser, a, b):
    body = browser(a.user).api("get", "/me").json()

    assert body == {"public_id": a.public_id, "masked_name": "张*", "district": "南山区",
                    "community": "粤海街道"}


def test_lists_show_only_ones_own_bindings_and_consents(browser, a, b):
    client = browser(a.user)

    assert [x["external_user_id"] for x in client.api("get", "/me/bindings").json()] == ["A1"]
    assert [x["scenario"] for x in client.api("get", "/me/consents").json()] == ["metro"]


def test_another_citizens_binding_is_not_found(browser, a, b):
    response = browser(a.user).api("delete", f"/me/bindings/{b.bindings.get().pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert b.bindings.get().unbound_at is None


def test_another_citizens_provider_account_cannot_be_claimed(browser, a, b):
    response = browser(a.user).api("post", "/me/bindings", {"provider": "metro_op", "external_user_id": "B1"})

    assert response.status_code == 409
    assert response.json()["code"] == "binding_taken"
    assert Binding.objects.get(external_user_id="B1", unbound_at__isnull=True).citizen == b


def test_revoking_touches_only_ones_own_consents(browser, a, b):
    client = browser(a.user)

    assert client.api("delete", "/me/consents/metro").status_code == 200
    assert client.api("delete", "/me/consents/bus").status_code == 200  # a has none: nothing to do

    assert not a.consents.filter(revoked_at__isnull=True).exists()
    assert active(b.consents, "revoked_at", "scenario__code") == {"metro", "bus"}


def test_own_binding_and_consent_changes_work(browser, a, b):
    client = browser(a.user)

    created = client.api("post", "/me/bindings", {"provider": "metro_op", "external_user_id": "A2"})
    granted = client.api("post", "/me/consents", {"scenario": "bus", "effective_from": "2024-03-01"})
    removed = client.api("delete", f"/me/bindings/{a.bindings.get(external_user_id='A1').pk}")

    assert created.status_code == 201 and created.json()["external_user_id"] == "A2"
    assert granted.status_code == 201 and granted.json()["effective_from"] == "2024-03-01"
    assert removed.status_code == 200
    assert active(a.bindings, "unbound_at", "external_user_id") == {"A2"}
    assert b.consents.get(scenario__code="bus").effective_from is None


def test_closing_closes_only_ones_own_account(browser, a, b):
    assert browser(a.user).api("post", "/me/close").status_code == 200

    assert Citizen.objects.get(pk=a.pk).status == Citizen.Status.CLOSED
    assert Citizen.objects.get(pk=b.pk).status == Citizen.Status.ACTIVE


def test_unsafe_requests_need_the_csrf_token(browser, a):
    response = browser(a.user).api("post", "/me/consents", {"scenario": "bus"}, csrf=False)

    assert response.status_code == 403
    assert not Consent.objects.filter(citizen=a, scenario__code="bus").exists()


@pytest.mark.parametrize("path", ["/admin/", "/admin/people/citizen/", "/en/admin/people/citizen/"])
def test_citizens_cannot_reach_the_admin(browser, a, path):
    response = browser(a.user).get(path)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_citizens_cannot_sign_in_to_the_admin(browser, a):
    client = browser()
    response = client.submit("/admin/login/", {"username": PHONE_A, "password": "demo-pass-123"})

    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302
