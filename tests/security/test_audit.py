"""The audit log records every state-changing action of administrators and support staff (admin
changes, role grants, staff pages, unlocks, exports), account closures and API key issues; it is
append-only, readable by administrators only, and holds no phone number or name."""

import json

import pytest
from django.contrib.auth.models import Permission

from tanhui.portal.models import AuditEvent
from tests.people.conftest import PHONE_A

Action = AuditEvent.Action


@pytest.fixture
def administrator(django_user_model):
    return django_user_model.objects.create_user("bureau", password="staff-pass-123", role="admin", is_staff=True,
                                                 is_superuser=True)


@pytest.fixture
def admin_browser(browser, administrator):
    return browser(administrator)


def events(action):
    return list(AuditEvent.objects.filter(action=action))


def test_a_role_grant_in_the_admin_is_audited(admin_browser, administrator, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="x-pass-123", role="verifier")
    form = {"username": "clerk", "role": "admin", "is_active": "on", "is_staff": "on",
            "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}

    response = admin_browser.submit(f"/admin/people/user/{clerk.pk}/change/", form)

    assert response.status_code == 302
    grant, = events(Action.ROLE_CHANGE)
    assert (grant.actor, grant.object_id, grant.target) == (administrator, str(clerk.pk), "people.user")
    assert set(grant.detail["fields"]) == {"role", "is_staff"} and grant.detail["role"] == "admin"
    change, = events(Action.ADMIN_CHANGE)
    assert change.target == "people.user" and change.object_id == str(clerk.pk)


def test_admin_additions_and_deletions_are_audited(admin_browser, administrator):
    from tanhui.people.models import District

    admin_browser.submit("/admin/people/district/add/", {"name": "澜湖区", "communities-TOTAL_FORMS": "0",
                                                         "communities-INITIAL_FORMS": "0"})
    district = District.objects.get(name="澜湖区")
    admin_browser.submit(f"/admin/people/district/{district.pk}/delete/", {"post": "yes"})

    added, = events(Action.ADMIN_ADD)
    deleted, = events(Action.ADMIN_DELETE)
    assert added.target == deleted.target == "people.district"
    assert added.object_id == deleted.object_id == str(district.pk)
    assert not District.objects.exists()


def test_other_staff_actions_are_audited_by_page_and_object(admin_browser, administrator):
    """A change on a staff page that writes no event of its own is still recorded, by page name."""
    from tanhui.rewards import services

    budget = services.create_budget(code="spring", name="春季活动预算", max_points_per_coupon=50)
    admin_browser.submit(f"/rewards/manage/budgets/{budget.pk}/fund/", {"points": "100", "token": "t1"})

    event, = events(Action.STAFF_ACTION)
    assert (event.actor, event.target, event.object_id) == (administrator, "rewards:fund", str(budget.pk))
    assert event.detail == {"method": "POST", "status": 302}


def test_a_citizens_own_changes_are_not_staff_actions(browser, make_citizen):
    citizen = make_citizen(PHONE_A)

    browser(citizen.user).submit("/me/consents/metro/revoke/", {})

    assert not AuditEvent.objects.exists()


def test_an_account_closure_is_audited_with_who_closed_it(browser, make_citizen):
    citizen = make_citizen(PHONE_A)

    browser(citizen.user).submit("/me/close/", {"confirm": "on"})

    event, = events(Action.ACCOUNT_CLOSE)
    citizen.refresh_from_db()
    assert (event.actor, event.citizen, citizen.status) == (citizen.user, citizen, "closed")


def test_api_keys_issued_on_the_provider_page_are_audited(browser, make_provider, django_user_model):
    metro = make_provider("metro_op")
    clerk = django_user_model.objects.create_user("metro-staff", password="x-pass-123", role="provider",
                                                  organisation=metro.organisation)

    browser(clerk).submit("/provider/key/", {"key": metro.api_keys.get().pk})

    command_line, page = AuditEvent.objects.filter(action=Action.API_KEY_ISSUED).order_by("id")
    assert command_line.actor is None  # the fixture's `add_provider`
    assert page.actor == clerk and page.detail == {"provider": "metro_op", "name": "default"}


def test_a_rotation_audits_the_revoked_key_and_its_successor(make_provider):
    from tanhui.ingest import services

    metro = make_provider("metro_op")
    old = metro.api_keys.get()

    new, _plain = services.rotate_api_key(old)

    revoked, = AuditEvent.objects.filter(action=Action.API_KEY_REVOKED)
    issued = AuditEvent.objects.filter(action=Action.API_KEY_ISSUED).order_by("id").last()
    assert (revoked.object_id, issued.object_id) == (str(old.pk), str(new.pk))
    assert revoked.detail == {"provider": "metro_op", "name": "default"}


def test_the_log_is_append_only(admin_browser, administrator):
    event = AuditEvent.objects.create(action=Action.STAFF_ACTION, actor=administrator)

    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    assert admin_browser.get(f"/admin/portal/auditevent/{event.pk}/delete/").status_code == 403
    assert admin_browser.post(f"/admin/portal/auditevent/{event.pk}/change/", {}).status_code == 403


def test_administrators_read_the_log_and_other_staff_do_not(admin_browser, browser, administrator,
                                                            django_user_model):
    AuditEvent.objects.create(action=Action.STAFF_ACTION, actor=administrator, target="rewards:fund")
    verifier = django_user_model.objects.create_user("verifier", password="x-pass-123", role="verifier",
                                                     is_staff=True)
    verifier.user_permissions.add(Permission.objects.get(codename="view_auditevent"))

    assert "rewards:fund" in admin_browser.get("/admin/portal/auditevent/").content.decode()
    assert browser(verifier).get("/admin/portal/auditevent/").status_code == 403


def test_no_event_holds_a_phone_number_or_name(admin_browser, make_citizen):
    citizen = make_citizen(PHONE_A, "张三")
    admin_browser.submit("/manage/lookup/", {"phone": PHONE_A})
    admin_browser.submit("/admin/people/citizen/", {"action": "export_personal_data",
                                                    "_selected_action": [citizen.pk]})
    admin_browser.submit("/manage/lookup/", {"phone": "13700137000"})

    rows = json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)
    assert {e.action for e in AuditEvent.objects.all()} == {Action.CITIZEN_LOOKUP, Action.DATA_EXPORT}
    assert PHONE_A not in rows and "13700137000" not in rows and "张三" not in rows and "张*" not in rows
