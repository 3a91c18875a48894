"""What stands between a guesser and an account: rate limits per client IP and phone number
(`tanhui.core.ratelimit`) and the lockout after failed logins, counted in the database.

A lockout is kept per login method and per name typed (phone number or username, as its keyed
hash): after `failures` failures within `window` seconds that name cannot log in by that method for
`lock` seconds (settings.TANHUI_LOGIN_LOCKOUT). Unregistered names are counted and locked alike,
so the answers never tell whether a number is registered. Locking the password login leaves the
SMS code login open (it needs the phone itself), and the other way round.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tanhui.core import ratelimit
from tanhui.core.pii import lookup_hash
from tanhui.core.timeutil import SHANGHAI
from tanhui.people.models import Citizen, LoginCode, LoginLock, User
from tanhui.people.phones import normalise_phone
from tanhui.people.services import LOGIN_CODE_INTERVAL, find_citizen_by_phone, verify_login_code
from tanhui.portal.audit import record
from tanhui.portal.models import AuditEvent


class LoginLocked(ratelimit.RateLimited):
    def __init__(self, until: datetime):
        super().__init__(max(1, int((until - timezone.now()).total_seconds()) + 1),
                         _("登录失败次数过多，已暂停至 %(time)s，请稍后再试或联系客服。")
                         % {"time": f"{until.astimezone(SHANGHAI):%H:%M}"})
        self.code = "login_locked"


def subject_hash(name: str) -> str:
    """A phone number in any common spelling, or a username in any letter case, as one keyed hash."""
    phone = normalise_phone(name)
    return lookup_hash(phone) if phone else lookup_hash(f"username:{name.strip().casefold()}")


def _account(kind: str, name: str) -> User | None:
    phone = normalise_phone(name)
    if phone:
        citizen = find_citizen_by_phone(phone)
        return citizen.user if citizen else None
    return User.objects.filter(username=name.strip()).first() if kind == LoginLock.Kind.PASSWORD else None


def check_not_locked(kind: str, name: str) -> None:
    lock = LoginLock.objects.filter(kind=kind, subject_hash=subject_hash(name), locked_until__gt=timezone.now()).first()
    if lock:
        raise LoginLocked(lock.locked_until)


def record_failure(kind: str, name: str) -> None:
    """Counts a failed login; raises LoginLocked when this failure locks the name."""
    limits, now = settings.TANHUI_LOGIN_LOCKOUT, timezone.now()
    with transaction.atomic():
        lock, created = LoginLock.objects.select_for_update().get_or_create(
            kind=kind, subject_hash=subject_hash(name), defaults={"user": _account(kind, name)})
        if lock.first_failure_at is None or lock.first_failure_at <= now - timedelta(seconds=limits["window"]):
            lock.failures, lock.first_failure_at = 0, now
        lock.failures += 1
        if lock.failures >= limits["failures"]:
            lock.failures, lock.first_failure_at = 0, None
            lock.locked_until = now + timedelta(seconds=limits["lock"])
        lock.save()
    if lock.locked_until and lock.locked_until > now:
        raise LoginLocked(lock.locked_until)


def record_success(kind: str, name: str) -> None:
    LoginLock.objects.filter(kind=kind, subject_hash=subject_hash(name)).delete()


def unlock(lock: LoginLock, actor) -> None:
    """An administrator lifts a lock (and forgets the failures counted so far); audited."""
    with transaction.atomic():
        LoginLock.objects.filter(pk=lock.pk).update(locked_until=None, failures=0, first_failure_at=None)
        record(AuditEvent.Action.LOGIN_UNLOCK, actor=actor, target="people.loginlock", object_id=lock.pk,
               citizen=Citizen.objects.filter(user_id=lock.user_id).first() if lock.user_id else None,
               detail={"kind": lock.kind, "user": lock.user_id})


def check_sms_request(request, phone: str) -> None:
    """Before a code is sent: per client IP, then per number (besides the service's one a minute)."""
    ratelimit.enforce("sms_send_ip", ratelimit.client_ip(request))
    ratelimit.enforce("sms_send_phone", subject_hash(phone))


def login_by_code(request, phone: str, code: str) -> User | None:
    """The user for a right code; None for a wrong one, which counts towards the number's lockout."""
    ratelimit.enforce("sms_verify_ip", ratelimit.client_ip(request))
    check_not_locked(LoginLock.Kind.SMS_CODE, phone)
    user = verify_login_code(phone, code)
    if user is None:
        record_failure(LoginLock.Kind.SMS_CODE, phone)
        return None
    record_success(LoginLock.Kind.SMS_CODE, phone)
    return user


def purge(now: datetime | None = None) -> dict:
    """Deletes what login no longer needs: codes that expired or were used (once older than the
    one-code-a-minute rule looks back), locks that ended with no failure left in the window, and the
    rate-limit counts of ended windows."""
    now = now or timezone.now()
    window = timedelta(seconds=settings.TANHUI_LOGIN_LOCKOUT["window"])
    codes = LoginCode.objects.filter(created_at__lt=now - LOGIN_CODE_INTERVAL).exclude(
        expires_at__gt=now, used=False).delete()[0]
    locks = LoginLock.objects.exclude(locked_until__gt=now).exclude(first_failure_at__gt=now - window).delete()[0]
    return {"login_codes": codes, "login_locks": locks, "rate_counts": ratelimit.purge_expired(now.timestamp())}
