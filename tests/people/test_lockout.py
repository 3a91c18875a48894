"""Login lockout: repeated failures lock a name (phone or username) for a while, by password and by
SMS code apart; registered and unregistered numbers behave alike; administrators see and lift locks,
audited; old codes and ended locks are purged."""

import pytest

from tanhui.core import ratelimit
from tanhui.people import guards
from tanhui.people.models import LoginCode, LoginLock
from tanhui.portal.models import AuditEvent
from tests.people.conftest import PHONE_A

PASSWORD = "demo-pass-123"
UNREGISTERED = "13912345678"
FAILURES = 3


@pytest.fixture(autouse=True)
def small_lockout(settings):
    settings.TANHUI_LOGIN_LOCKOUT = {"failures": FAILURES, "window": 600, "lock": 900}
    ratelimit._local.clear()


@pytest.fixture
def citizen(make_citizen):
    return make_citizen(PHONE_A, password=PASSWORD)


def log_in(client, username, password):
    return client.submit("/login/", {"username": username, "password": password})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_failed_passwords_lock_the_account_even_against_the_right_password(browser, citizen):
    client = browser()
    answers = [log_in(client, PHONE_A, "wrong-pass").status_code for _ in range(FAILURES)]

    response = log_in(client, PHONE_A, PASSWORD)

    assert answers == [200] * (FAILURES - 1) + [429]
    assert response.status_code == 429 and int(response["Retry-After"]) > 800
    assert "登录失败次数过多" in response.content.decode() and not signed_in(client)
    assert LoginLock.objects.get().user == citizen.user


def test_the_lock_ends_after_its_period(browser, citizen, clock):
    client = browser()
    for _ in range(FAILURES):
        log_in(client, PHONE_A, "wrong-pass")

    clock.advance(seconds=901)
    log_in(client, PHONE_A, PASSWORD)

    assert signed_in(client)


def test_a_success_forgets_earlier_failures(browser, citizen):
    client = browser()
    for _ in range(FAILURES - 1):
        log_in(client, PHONE_A, "wrong-pass")
    log_in(client, f"+86 {PHONE_A}", PASSWORD)
    client.logout()

    assert [log_in(client, PHONE_A, "wrong-pass").status_code for _ in range(FAILURES - 1)] == [200, 200]


def test_a_lock_does_not_tell_whether_a_number_is_registered(browser, citizen):
    def lock_out(phone):
        client = browser()
        responses = [log_in(client, phone, "wrong-pass") for _ in range(FAILURES + 1)]
        return [(r.status_code, [e.code for e in r.context["form"].non_field_errors().as_data()]) for r in responses]

    assert lock_out(PHONE_A) == lock_out(UNREGISTERED)
    assert LoginLock.objects.filter(user__isnull=True).count() == 1  # the unregistered number's


def test_spellings_and_letter_case_share_one_lock(browser, staff_user):
    client = browser()
    for name in ("bureau", "BUREAU", "Bureau"):
        log_in(client, name, "wrong-pass")

    assert log_in(client, "bureau", "staff-pass-123").status_code == 429


def test_the_admin_login_is_locked_too(browser, staff_user):
    client = browser()
    for _ in range(FAILURES):
        client.submit("/admin/login/", {"username": "bureau", "password": "wrong-pass"})

    response = client.submit("/admin/login/", {"username": "bureau", "password": "staff-pass-123"})

    assert "登录失败次数过多" in response.content.decode() and not signed_in(client)


def test_wrong_sms_codes_lock_the_number_but_not_its_password_login(browser, citizen, sms_outbox):
    client = browser()
    client.api("post", "/auth/sms-code", {"phone": PHONE_A})
    code = sms_outbox.last_code()
    answers = [client.api("post", "/auth/sms-login", {"phone": PHONE_A, "code": sms_outbox.wrong_code()})
               for _ in range(FAILURES)]

    locked = client.api("post", "/auth/sms-login", {"phone": PHONE_A, "code": code})

    assert [a.status_code for a in answers] == [401] * (FAILURES - 1) + [429]
    assert locked.status_code == 429 and locked.json()["code"] == "login_locked" and locked["Retry-After"]
    log_in(client, PHONE_A, PASSWORD)
    assert signed_in(client)


def test_the_sms_page_shows_the_lock(browser, citizen, sms_outbox):
    client = browser()
    client.submit("/login/sms/", {"phone": PHONE_A})
    for _ in range(FAILURES):
        response = client.submit("/login/sms/", {"phone": PHONE_A, "code": sms_outbox.wrong_code()})

    assert response.status_code == 429 and "登录失败次数过多" in response.content.decode()


def test_too_many_logins_from_one_address_are_refused_with_a_message(browser, citizen, settings):
    settings.TANHUI_RATE_LIMITS = {**settings.TANHUI_RATE_LIMITS, "login_ip": "2/m"}
    client = browser()
    for phone in ("13700000001", "13700000002"):
        log_in(client, phone, "wrong-pass")

    response = log_in(client, PHONE_A, PASSWORD)

    assert response.status_code == 429 and "请求过于频繁" in response.content.decode()
    assert not signed_in(client)


@pytest.fixture
def admin_browser(browser, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    return browser(staff_user)


def test_administrators_find_a_lock_by_phone_and_lift_it_audited(admin_browser, browser, citizen, staff_user):
    for _ in range(FAILURES):
        log_in(browser(), PHONE_A, "wrong-pass")
    lock = LoginLock.objects.get()

    listing = admin_browser.get("/admin/people/loginlock/", {"q": PHONE_A}).content.decode()
    admin_browser.submit("/admin/people/loginlock/", {"action": "unlock", "_selected_action": [lock.pk]})

    assert citizen.user.username in listing
    client = browser()
    log_in(client, PHONE_A, PASSWORD)
    assert signed_in(client)
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_UNLOCK)
    assert (event.actor, event.citizen, event.object_id) == (staff_user, citizen, str(lock.pk))


def test_only_administrators_may_unlock(browser, django_user_model, citizen):
    for _ in range(FAILURES):
        log_in(browser(), PHONE_A, "wrong-pass")
    support = django_user_model.objects.create_user("support", password="x-pass-123", role="verifier",
                                                    is_staff=True)
    from django.contrib.auth.models import Permission
    support.user_permissions.add(Permission.objects.get(codename="view_loginlock"))

    browser(support).submit("/admin/people/loginlock/", {"action": "unlock",
                                                         "_selected_action": [LoginLock.objects.get().pk]})

    assert LoginLock.objects.get().locked_until is not None


def test_purge_keeps_live_codes_and_locks_and_deletes_the_rest(citizen, sms_outbox, clock):
    guards.record_failure(LoginLock.Kind.PASSWORD, "13700000001")
    from tanhui.people import services
    services.request_login_code(PHONE_A)
    assert guards.purge() == {"login_codes": 0, "login_locks": 0, "rate_counts": 0}

    clock.advance(minutes=11)
    services.request_login_code(UNREGISTERED)
    assert guards.purge() == {"login_codes": 1, "login_locks": 1, "rate_counts": 0}
    assert list(LoginCode.objects.values_list("phone_hash", flat=True)) == [guards.subject_hash(UNREGISTERED)]
    assert LoginLock.objects.count() == 0


def test_the_purge_command_reports_what_it_deleted(citizen, clock, capsys):
    from django.core.management import call_command

    guards.record_failure(LoginLock.Kind.SMS_CODE, PHONE_A)
    clock.advance(hours=1)
    call_command("citizens", "purge", "--json")

    assert '"login_locks": 1' in capsys.readouterr().out
