"""The write path of people: registration, import, bindings, consents, login codes, closure."""

import csv
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, transaction
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError, RowRejected
from tanhui.core.pii import lookup_hash
from tanhui.core.timeutil import parse_iso_date
from tanhui.people.models import Binding, Citizen, Community, Consent, District, LoginCode, User, new_public_id
from tanhui.people.phones import normalise_phone
from tanhui.portal.audit import record
from tanhui.portal.models import AuditEvent

LOGIN_CODE_TTL = timedelta(minutes=5)
LOGIN_CODE_INTERVAL = timedelta(seconds=60)
LOGIN_CODE_MAX_ATTEMPTS = 5


def find_citizen_by_phone(phone: str) -> Citizen | None:
    return Citizen.objects.select_related("user").filter(phone_hash=lookup_hash(phone)).first()


def _place(district_name: str, community_name: str) -> tuple[District | None, Community | None]:
    district = District.objects.get_or_create(name=district_name)[0] if district_name else None
    community = None
    if district and community_name:
        community = Community.objects.get_or_create(district=district, name=community_name)[0]
    return district, community


def register_citizen(phone: str, name: str = "", district: str = "", community: str = "",
                     password: str | None = None) -> Citizen:
    normalised = normalise_phone(phone)
    if normalised is None:
        raise DomainError("invalid_phone", "手机号须为 11 位大陆手机号码")
    if find_citizen_by_phone(normalised):
        raise Conflict("phone_taken", "该手机号已注册")
    district_obj, community_obj = _place(district, community)
    with transaction.atomic():
        citizen = Citizen(phone=normalised, phone_hash=lookup_hash(normalised), name=name,
                          district=district_obj, community=community_obj)
        user = User(username=f"c_{citizen.public_id}", role=User.Role.CITIZEN)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        citizen.user = user
        citizen.save()
    return citizen


def bind(citizen: Citizen, provider, external_user_id: str) -> Binding:
    """Binds a provider account; a provider account belongs to at most one citizen at a time."""
    if not citizen.is_active:
        raise DomainError("account_closed", "账户已注销")
    if not external_user_id:
        raise DomainError("malformed", "数据方用户编号不能为空")
    existing = Binding.objects.filter(provider=provider, external_user_id=external_user_id,
                                      unbound_at__isnull=True).first()
    if existing:
        if existing.citizen_id != citizen.pk:
            raise Conflict("binding_taken", "该数据方账户已被其他市民绑定")
        return existing
    try:
        with transaction.atomic():
            return Binding.objects.create(citizen=citizen, provider=provider,
                                          external_user_id=external_user_id)
    except IntegrityError as exc:  # a concurrent bind of the same account won the race
        raise Conflict("binding_taken", "该数据方账户已被其他市民绑定") from exc


def unbind(binding: Binding) -> None:
    """Records from that provider account stop being credited from now on."""
    if binding.unbound_at is None:
        binding.unbound_at = timezone.now()
        binding.save(update_fields=["unbound_at"])


def grant_consent(citizen: Citizen, scenario, effective_from: date | None = None) -> Consent:
    """Authorises a scenario from a local date (None: from always). Re-granting with another date
    revokes the old authorisation and starts a new one, so the history stays readable."""
    if not citizen.is_active:
        raise DomainError("account_closed", "账户已注销")
    with transaction.atomic():
        current = Consent.objects.select_for_update().filter(
            citizen=citizen, scenario=scenario, revoked_at__isnull=True).first()
        if current and current.effective_from == effective_from:
            return current
        if current:
            current.revoked_at = timezone.now()
            current.save(update_fields=["revoked_at"])
        return Consent.objects.create(citizen=citizen, scenario=scenario, effective_from=effective_from)


def revoke_consent(citizen: Citizen, scenario) -> None:
    """From this moment no further record of the scenario is used for the citizen."""
    Consent.objects.filter(citizen=citizen, scenario=scenario, revoked_at__isnull=True).update(
        revoked_at=timezone.now())


def close_account(citizen: Citizen, actor=None) -> None:
    """Closes the account (PIPL): processing stops and personal data is anonymised, while ledger
    and registry entries keep pointing at the (now anonymous) citizen row and stay valid. Audited,
    with the citizen's own login as the actor unless support closed it."""
    now = timezone.now()
    with transaction.atomic():
        record(AuditEvent.Action.ACCOUNT_CLOSE, actor=actor or citizen.user, citizen=citizen,
               target="people.citizen", object_id=citizen.pk)
        LoginCode.objects.filter(phone_hash=citizen.phone_hash).delete()
        Binding.objects.filter(citizen=citizen, unbound_at__isnull=True).update(unbound_at=now)
        Consent.objects.filter(citizen=citizen, revoked_at__isnull=True).update(revoked_at=now)
        citizen.phone = None
        citizen.phone_hash = None
        citizen.name = None
        citizen.status = Citizen.Status.CLOSED
        citizen.closed_at = now
        citizen.save()
        user = citizen.user
        user.is_active = False
        user.set_unusable_password()
        user.save()


def request_login_code(phone: str) -> None:
    """Sends a 6-digit code by SMS; at most one per minute per number. Unknown numbers get the same
    answers as known ones (a code row is recorded but nothing is sent, so the per-minute limit
    applies alike), and the endpoint does not reveal who is registered."""
    from tanhui.people.sms import get_sender

    normalised = normalise_phone(phone)
    if normalised is None:
        raise DomainError("invalid_phone", "手机号须为 11 位大陆手机号码")
    phone_hash = lookup_hash(normalised)
    now = timezone.now()
    if LoginCode.objects.filter(phone_hash=phone_hash, created_at__gt=now - LOGIN_CODE_INTERVAL).exists():
        raise DomainError("too_many_requests", "验证码发送过于频繁，请稍后再试", status=429)
    code = f"{secrets.randbelow(10**6):06d}"
    LoginCode.objects.create(phone_hash=phone_hash, code_hash=lookup_hash(code),
                             expires_at=now + LOGIN_CODE_TTL)
    if find_citizen_by_phone(normalised) is not None:
        get_sender().send(normalised, f"【碳惠】您的登录验证码是 {code}，5 分钟内有效。")


def verify_login_code(phone: str, code: str) -> User | None:
    normalised = normalise_phone(phone)
    if normalised is None:
        return None
    with transaction.atomic():
        login_code = (LoginCode.objects.select_for_update()
                      .filter(phone_hash=lookup_hash(normalised), used=False, expires_at__gt=timezone.now())
                      .order_by("-created_at").first())
        if login_code is None or login_code.attempts >= LOGIN_CODE_MAX_ATTEMPTS:
            return None
        login_code.attempts += 1
        if not secrets.compare_digest(login_code.code_hash, lookup_hash(code.strip())):
            login_code.save(update_fields=["attempts"])
            return None
        login_code.used = True
        login_code.save(update_fields=["attempts", "used"])
    citizen = find_citizen_by_phone(normalised)
    # The user check also refuses a login that an administrator has deactivated.
    return citizen.user if citizen and citizen.user.is_active else None


# ---- bulk import -------------------------------------------------------------------------------

IMPORT_COLUMNS = ["phone", "name", "district", "community", "bindings", "consents"]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, detail)

    def as_contract(self) -> dict:
        return {"created": self.created, "updated": self.updated, "rejected": self.rejected,
                "rejected_by_reason": dict(sorted(self.rejected_by_reason.items()))}


def _parse_bindings(text: str, providers: dict) -> list[tuple[object, str]]:
    parsed = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        code, sep, external_id = item.partition(":")
        if not sep or not external_id.strip():
            raise RowRejected("malformed", f"binding {item!r} is not provider:external_user_id")
        if code.strip() not in providers:
            raise RowRejected("unknown_provider", f"unknown provider {code.strip()!r}")
        parsed.append((providers[code.strip()], external_id.strip()))
    return parsed


def _parse_consents(text: str, scenarios: dict) -> list[tuple[object, date | None]]:
    parsed = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        code, sep, day = item.partition("@")
        if code.strip() not in scenarios:
            raise RowRejected("unknown_scenario", f"unknown scenario {code.strip()!r}")
        effective = None
        if sep:
            try:
                effective = parse_iso_date(day.strip())
            except ValueError as exc:
                raise RowRejected("invalid_date", f"{item!r}: date must be YYYY-MM-DD") from exc
        parsed.append((scenarios[code.strip()], effective))
    return parsed


def _import_row(raw: dict, providers: dict, scenarios: dict) -> bool:
    """Applies one row atomically; returns True when a citizen was created."""
    # A short row leaves its missing cells None.
    row = {column: (raw.get(column) or "").strip() for column in IMPORT_COLUMNS}
    phone = normalise_phone(row["phone"])
    if phone is None:
        raise RowRejected("invalid_phone", "not an 11-digit mainland mobile number")
    bindings = _parse_bindings(row["bindings"], providers)
    consents = _parse_consents(row["consents"], scenarios)
    with transaction.atomic():
        # A closed account no longer has a phone hash, so its number starts a new citizen.
        citizen = find_citizen_by_phone(phone)
        created = citizen is None
        if created:
            citizen = register_citizen(phone, row["name"], row["district"], row["community"])
        else:
            _update_profile(citizen, row)
        for provider, external_id in bindings:
            try:
                bind(citizen, provider, external_id)
            except Conflict as exc:
                raise RowRejected("binding_taken",
                                  f"{provider.code}:{external_id} is bound to another citizen") from exc
        for scenario, effective in consents:
            grant_consent(citizen, scenario, effective)
    return created


def _update_profile(citizen: Citizen, row: dict) -> None:
    """Blank cells keep what is known; a new district replaces the community with the row's."""
    district, community = _place(row["district"], row["community"])
    citizen.name = row["name"] or citizen.name
    if district:
        citizen.district, citizen.community = district, community
    citizen.save()


def import_citizens(path: Path, progress=None) -> ImportResult:
    """Imports citizens from CSV (`phone,name,district,community,bindings,consents`).

    Each row is applied atomically or rejected with a reason code; the import keeps going.
    Idempotent by phone: a known phone updates that citizen and adds its bindings and consents.
    """
    from tanhui.ingest.models import Provider
    from tanhui.methodology.models import Scenario

    providers = {p.code: p for p in Provider.objects.all()}
    scenarios = {s.code: s for s in Scenario.objects.all()}
    result = ImportResult()
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DomainError("malformed", f"missing CSV columns: {', '.join(missing)}")
        for row in reader:
            try:
                if _import_row(row, providers, scenarios):
                    result.created += 1
                else:
                    result.updated += 1
            except RowRejected as exc:
                result.rejected += 1
                result.rejected_by_reason[exc.reason] += 1
                result.errors.append((reader.line_num, exc.reason, str(exc)))
            if progress:
                progress.update(1)
    return result


def register_citizens_bulk(entries: list[tuple[str, str]], *, district: str = "", community: str = "",
                           bindings: list[tuple[object, str]] | None = None, scenarios=()) -> list[int]:
    """Registers many new citizens at once (synthetic cities, benchmarks): `entries` are (phone, name)
    with valid, unregistered phones; `bindings[i]` (provider, external id) and consents from always to
    `scenarios` go with entry i. Returns the citizen ids in entry order."""
    district_obj, community_obj = _place(district, community)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"c_{public_id}", password=UNUSABLE_PASSWORD_PREFIX, role=User.Role.CITIZEN)
             for public_id in (new_public_id() for _ in entries)], batch_size=5000)
        citizens = Citizen.objects.bulk_create(
            [Citizen(user=user, public_id=user.username[2:], phone=phone, phone_hash=lookup_hash(phone), name=name,
                     district=district_obj, community=community_obj)
             for user, (phone, name) in zip(users, entries, strict=True)], batch_size=5000)
        if bindings:
            Binding.objects.bulk_create([Binding(citizen=c, provider=p, external_user_id=e)
                                         for c, (p, e) in zip(citizens, bindings, strict=True)], batch_size=5000)
        Consent.objects.bulk_create([Consent(citizen=c, scenario=s) for c in citizens for s in scenarios],
                                    batch_size=5000)
    return [c.pk for c in citizens]
