"""Personal data export (个人信息保护法: access and portability): the citizen downloads everything the
platform holds about them, from the API and from /me/; support exports it on request; each export is
audited; nothing of another citizen is in it."""

import json
from datetime import date, timedelta

import pytest

from tanhui.portal.models import AuditEvent
from tests.people.conftest import PHONE_A, PHONE_B
from tests.portal.conftest import ingest, trip  # noqa: F401 — makes the ingest fixture available


@pytest.fixture
def citizens(make_citizen, metro):
    a = make_citizen(PHONE_A, "张三", bindings=[(metro, "M-A")], consents={"metro": None})
    b = make_citizen(PHONE_B, "李四", bindings=[(metro, "M-B")], consents={"metro": None})
    return a, b


@pytest.fixture
def credited(citizens, request):
    day = date.today() - timedelta(days=1)
    run_batch = request.getfixturevalue("ingest")
    run_batch([trip("R-A1", "M-A", day), trip("R-A2", "M-A", day, hour=18), trip("R-B1", "M-B", day)])
    return citizens


def document(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="tanhui-C')
    return json.loads(response.content)


def test_the_api_export_holds_the_profile_bindings_consents_records_and_ledger(browser, credited):
    a, _ = credited

    data = document(browser(a.user).get("/api/v1/me/export"))

    assert data["profile"]["phone"] == PHONE_A and data["profile"]["name"] == "张三"
    assert data["profile"]["public_id"] == a.public_id and data["profile"]["district"] == "南山区"
    assert [b["external_user_id"] for b in data["records"]["people.binding"]] == ["M-A"]
    assert len(data["records"]["people.consent"]) == 1
    assert sorted(r["record_id"] for r in data["records"]["ingest.reduction"]) == ["R-A1", "R-A2"]
    assert {"rewards.coupon", "engagement.attempt", "engagement.checkin"} <= set(data["records"])
    points = sum(t["points"] for t in data["ledger"]["transfers"] if t["direction"] == "in")
    assert points == data["ledger"]["balance"]["points"] > 0


def test_nothing_of_another_citizen_is_in_it(browser, credited):
    a, b = credited

    text = browser(a.user).get("/api/v1/me/export").content.decode()

    assert PHONE_B not in text and "李四" not in text and "M-B" not in text and "R-B1" not in text
    assert b.public_id not in text


def test_each_export_is_audited(browser, credited):
    a, _ = credited
    browser(a.user).get("/api/v1/me/export")

    event = AuditEvent.objects.get(action=AuditEvent.Action.DATA_EXPORT)
    assert (event.actor, event.citizen) == (a.user, a)
    assert event.detail["rows"] >= 4 and event.detail["transfers"] >= 1


def test_the_citizen_page_offers_the_download_and_account_closure(browser, credited):
    a, _ = credited
    client = browser(a.user)

    home = client.get("/me/").content.decode()
    page = client.get("/me/export/").content.decode()
    data = document(client.submit("/me/export/", {}))

    assert 'href="/me/export/"' in home and 'href="/me/close/"' in home
    assert 'href="/me/close/"' in page
    assert data["profile"]["phone"] == PHONE_A


def test_only_a_signed_in_citizen_can_export(browser, client, credited, staff_user):
    assert client.get("/api/v1/me/export").status_code == 401
    assert browser(staff_user).get("/api/v1/me/export").status_code == 403
    assert client.get("/me/export/").status_code == 302  # to the login page


def test_a_closed_account_has_nothing_left_to_export(browser, credited):
    a, _ = credited
    client = browser(a.user)
    client.api("post", "/me/close")

    assert client.get("/api/v1/me/export").status_code in (401, 403)


def test_support_exports_one_citizen_on_request_audited(browser, credited, staff_user):
    a, b = credited
    staff_user.is_superuser = True
    staff_user.save()
    client = browser(staff_user)

    data = document(client.submit("/admin/people/citizen/", {"action": "export_personal_data",
                                                             "_selected_action": [a.pk]}))
    refused = client.submit("/admin/people/citizen/", {"action": "export_personal_data",
                                                       "_selected_action": [a.pk, b.pk]})

    assert data["profile"]["name"] == "张三"
    assert refused.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.DATA_EXPORT)
    assert (event.actor, event.citizen) == (staff_user, a)
