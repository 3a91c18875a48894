"""The registry's only write path: market-use consent, exclusions, issuance requests (gathering,
public notice, verification, issuance), holdings (listings, transfers, retirements) and projects.

Every function checks who acts (`registry.access`), locks the event chain head (which serialises
registry changes), changes its rows and appends one event, all in one transaction. Refusals are
`DomainError`s with stable codes. `now` is for tests and demo data; by default `clock()`.
"""

import hashlib
import math
import random
import re
import secrets
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError, NotAllowed
from tanhui.core.timeutil import local_date
from tanhui.core.units import MG_PER_TONNE
from tanhui.methodology.models import FactorVersion, MethodologyVersion, Scenario
from tanhui.people.models import Organisation
from tanhui.registry import access, documents, events, gather
from tanhui.registry.models import (
    CalendarDay,
    CreditTransfer,
    Exclusion,
    Finding,
    HoldingAccount,
    IssuanceItem,
    IssuanceRequest,
    Listing,
    MarketConsent,
    MonitoringEntry,
    NoticeComment,
    Obligation,
    Project,
    ProjectDocument,
    Retirement,
    SampleRecord,
    SerialBlock,
    TransferRange,
    serial_label,
)
from tanhui.registry.workdays import add_working_days

Status = IssuanceRequest.Status
MAX_SAMPLE = 5000
MAX_TEXT = 2000
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
DOCUMENT_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".csv", ".xlsx", ".docx", ".txt"}


def clock() -> datetime:
    return timezone.now()


def notice_days() -> int:
    return int(getattr(settings, "TANHUI_REGISTRY_NOTICE_DAYS", 7))


def offset_share_percent() -> int:
    return int(getattr(settings, "TANHUI_REGISTRY_OFFSET_SHARE_PERCENT", 10))


@contextmanager
def _change():
    """One registry change: a transaction holding the event chain head."""
    with transaction.atomic():
        yield events.lock()


def _text(value: str, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError("missing_field", f"{field} 不能为空")
    if len(value) > limit:
        raise DomainError("too_long", f"{field} 不能超过 {limit} 个字符")
    return value


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# Market-use consent --------------------------------------------------------------------------

def grant_market_consent(citizen, *, now: datetime | None = None) -> MarketConsent:
    """From now on the citizen's eligible reductions may be gathered into issuance requests."""
    if not citizen.is_active:
        raise DomainError("account_closed", "账户已注销")
    now = now or clock()
    with _change() as head:
        current = MarketConsent.objects.filter(citizen=citizen, revoked_at__isnull=True).first()
        if current:
            return current
        consent = MarketConsent.objects.create(citizen=citizen, granted_at=now)
        events.append(head, "market_consent.granted", f"citizen:{citizen.public_id}", {"consent": consent.pk},
                      actor=citizen.user, at=now)
        return consent


def revoke_market_consent(citizen, *, now: datetime | None = None) -> None:
    """Requests prepared from now on leave the citizen out; requests already prepared keep what
    they gathered (the consent was active when they were made)."""
    now = now or clock()
    with _change() as head:
        current = MarketConsent.objects.filter(citizen=citizen, revoked_at__isnull=True).first()
        if current is None:
            return
        current.revoked_at = now
        current.save(update_fields=["revoked_at"])
        events.append(head, "market_consent.revoked", f"citizen:{citizen.public_id}", {"consent": current.pk},
                      actor=citizen.user, at=now)


def has_market_consent(citizen) -> bool:
    return MarketConsent.objects.filter(citizen=citizen, revoked_at__isnull=True).exists()


# Exclusions and the calendar --------------------------------------------------------------------

def add_exclusion(actor, *, reason: str, note: str = "", reduction=None, batch=None, citizen=None,
                  now: datetime | None = None) -> Exclusion:
    access.require_admin(actor)
    if reason not in Exclusion.Reason.values:
        raise DomainError("invalid_reason", "排除原因无效")
    if sum(x is not None for x in (reduction, batch, citizen)) != 1:
        raise DomainError("invalid_target", "须且只能指定一条记录、一个批次或一位市民")
    now = now or clock()
    with _change() as head:
        exclusion = Exclusion.objects.create(reduction=reduction, batch=batch, citizen=citizen, reason=reason,
                                             note=_text(note, "说明", required=False, limit=200),
                                             created_by=actor, created_at=now)
        events.append(head, "exclusion.added", f"exclusion:{exclusion.pk}",
                      {"target": exclusion.target, "reason": reason}, actor=actor, at=now)
        return exclusion


def lift_exclusion(actor, exclusion: Exclusion, *, now: datetime | None = None) -> None:
    access.require_admin(actor)
    now = now or clock()
    with _change() as head:
        if Exclusion.objects.filter(pk=exclusion.pk, lifted_at__isnull=True).update(lifted_at=now):
            events.append(head, "exclusion.lifted", f"exclusion:{exclusion.pk}", {}, actor=actor, at=now)


def set_calendar_day(actor, day: date, *, working: bool, name: str = "", now: datetime | None = None) -> CalendarDay:
    """Marks a public holiday (working=False) or a weekend day worked in exchange (working=True)."""
    access.require_admin(actor)
    now = now or clock()
    with _change() as head:
        entry, _ = CalendarDay.objects.update_or_create(day=day, defaults={"working": working,
                                                                           "name": _text(name, "名称", required=False,
                                                                                         limit=50)})
        events.append(head, "calendar.set", f"day:{day.isoformat()}", {"working": working, "name": entry.name},
                      actor=actor, at=now)
        return entry


# Issuance requests ------------------------------------------------------------------------------

def _check_period(period_start: date, period_end: date, now: datetime) -> None:
    if period_end < period_start:
        raise DomainError("invalid_period", "监测期结束日期不能早于开始日期")
    if period_start.year != period_end.year:
        raise DomainError("invalid_period", "一个申请的监测期须在同一年度内（签发的年份即该年度）")
    if period_end >= local_date(now):
        raise DomainError("invalid_period", "监测期须已结束（结束日期早于今天）")


def prepare_request(actor, *, scenarios: list[Scenario], methodology_versions: list[MethodologyVersion],
                    period_start: date, period_end: date, now: datetime | None = None) -> IssuanceRequest:
    """Gathers eligible reductions (see `registry.gather`) into a new request of whole tonnes and
    records its monitoring-report figures, member digest and evidence hash."""
    access.require_admin(actor)
    now = now or clock()
    _check_period(period_start, period_end, now)
    if not scenarios or not methodology_versions:
        raise DomainError("missing_field", "请选择场景与方法学版本")
    methodologies = {s.methodology_id for s in scenarios}
    if any(v.methodology_id not in methodologies for v in methodology_versions):
        raise DomainError("invalid_version", "方法学版本须属于所选场景的方法学")
    selection = gather.Selection(period_start, period_end, tuple(sorted(s.pk for s in scenarios)),
                                 tuple(sorted(v.pk for v in methodology_versions)))
    try:
        with _change() as head:
            eligible = gather.eligible_totals(selection)
            tonnes = eligible["mg"] // MG_PER_TONNE
            if tonnes == 0:
                raise Conflict("below_one_tonne", f"可纳入的减排量不足 1 吨（{eligible['mg']:,} mg）")
            request = IssuanceRequest.objects.create(
                kind=IssuanceRequest.Kind.INDIVIDUAL, period_start=period_start, period_end=period_end,
                vintage=period_start.year, prepared_by=actor, prepared_by_org=actor.organisation, created_at=now,
                tonnes=tonnes, sample_seed=secrets.token_hex(8))
            request.scenarios.set(scenarios)
            request.methodology_versions.set(methodology_versions)
            gather.gather_reductions(request.pk, selection, tonnes)
            request.summary = {**_individual_summary(request.pk),
                               "excluded": {k: eligible[k] for k in ("without_market_consent", "flagged")}}
            _finish_preparation(head, request, now, {"scenarios": [s.code for s in scenarios],
                                                     "methodology_versions": list(selection.methodology_version_ids)})
            return request
    except IntegrityError as exc:  # only a writer outside the registry's lock could cause it
        raise Conflict("already_requested", "部分减排记录已纳入其他申请") from exc


def prepare_project_request(actor, project: Project, *, period_start: date, period_end: date,
                            now: datetime | None = None) -> IssuanceRequest:
    """The same for a validated project: its monitoring entries in the period, whole tonnes."""
    access.require_admin(actor)
    now = now or clock()
    _check_period(period_start, period_end, now)
    with _change() as head:
        if Project.objects.get(pk=project.pk).status != Project.Status.VALIDATED:
            raise Conflict("project_not_validated", "项目尚未通过审定")
        open_entries = MonitoringEntry.objects.filter(project=project, request__isnull=True,
                                                      period_start__gte=period_start, period_end__lte=period_end)
        tonnes = (open_entries.aggregate(mg=Sum("reduction_mg"))["mg"] or 0) // MG_PER_TONNE
        if tonnes == 0:
            raise Conflict("below_one_tonne", "该监测期可纳入的减排量不足 1 吨")
        request = IssuanceRequest.objects.create(
            kind=IssuanceRequest.Kind.PROJECT, project=project, period_start=period_start, period_end=period_end,
            vintage=period_start.year, prepared_by=actor, prepared_by_org=actor.organisation, created_at=now,
            tonnes=tonnes, sample_seed=secrets.token_hex(8))
        gather.gather_monitoring(request.pk, project.pk, period_start, period_end, tonnes)
        request.summary = {"entries": [[f"{m.period_start}–{m.period_end}", f"{m.quantity} {m.unit}",
                                        m.factor_g_per_unit, m.reduction_mg]
                                       for m in request.monitoring.order_by("period_start", "id")]}
        _finish_preparation(head, request, now, {"project": project.code})
        return request


def _finish_preparation(head, request: IssuanceRequest, now: datetime, extra: dict) -> None:
    if request.kind == IssuanceRequest.Kind.PROJECT:
        entries = request.monitoring.aggregate(n=Count("id"), mg=Sum("reduction_mg"))
        request.records, request.total_mg, request.citizens = entries["n"] or 0, entries["mg"] or 0, 0
    else:
        request.records, request.total_mg, request.citizens = gather.gathered_totals(request.pk)
    request.excess_mg = request.total_mg - request.tonnes * MG_PER_TONNE
    if request.excess_mg < 0:
        raise Conflict("gathering_changed", "纳入的减排量少于申请量，请重试")
    request.items_digest = gather.members_digest(request)
    request.evidence_sha256 = documents.evidence_sha256(request)
    request.save()
    events.append(head, "request.prepared", f"request:{request.pk}",
                  {"kind": request.kind, "period": [str(request.period_start), str(request.period_end)],
                   "records": request.records, "total_mg": request.total_mg, "tonnes": request.tonnes,
                   "excess_mg": request.excess_mg, "items_digest": request.items_digest,
                   "evidence_sha256": request.evidence_sha256, "sample_seed": request.sample_seed, **extra},
                  actor=request.prepared_by, at=now)


def _individual_summary(request_id: int) -> dict:
    """The report's tables: records and mg by scenario, month, methodology and factor version."""
    scenarios = {s.pk: s for s in Scenario.objects.all()}
    versions = {v.pk: v for v in MethodologyVersion.objects.select_related("methodology")}
    factors = {v.pk: v for v in FactorVersion.objects.select_related("factor")}
    totals = {key: defaultdict(lambda: [0, 0]) for key in ("scenario", "month", "version", "factor")}
    for scenario, version, factor, day, records, mg in gather.breakdown(request_id):
        for key, value in (("scenario", scenario), ("month", str(day)[:7]), ("version", version),
                           ("factor", factor)):
            totals[key][value][0] += records
            totals[key][value][1] += mg
    citizens = gather.citizens_by_scenario(request_id)
    return {
        "by_scenario": [[f"{scenarios[k].name} ({scenarios[k].code})", n, citizens[k], mg]
                        for k, (n, mg) in sorted(totals["scenario"].items())],
        "by_month": [[month, n, mg] for month, (n, mg) in sorted(totals["month"].items())],
        "methodology_versions": [[f"{versions[k].methodology.code} v{versions[k].number}",
                                  versions[k].methodology.basis, n, mg]
                                 for k, (n, mg) in sorted(totals["version"].items())],
        "factor_versions": [[f"{factors[k].factor.code} v{factors[k].number}",
                             f"{factors[k].value} {factors[k].factor.unit}", factors[k].source, mg]
                            for k, (_, mg) in sorted(totals["factor"].items())],
    }


def _lock_request(request: IssuanceRequest) -> IssuanceRequest:
    """The request as stored now (callers hold the chain lock, so nobody changes it meanwhile)."""
    return IssuanceRequest.objects.select_related("project").get(pk=request.pk)


def _verifier_request(actor, request: IssuanceRequest) -> IssuanceRequest:
    request = _lock_request(request)
    access.require_assigned_verifier(actor, request)
    return request


def publish_notice(actor, request: IssuanceRequest, *, now: datetime | None = None) -> IssuanceRequest:
    """Opens the public notice (公示) for `notice_days()` working days after today."""
    access.require_admin(actor)
    now = now or clock()
    with _change() as head:
        request = _lock_request(request)
        if request.status != Status.PREPARED:
            raise Conflict("invalid_status", "只有已编制的申请可以公示")
        request.notice_days = notice_days()
        request.notice_published_at = now
        request.notice_ends_on = add_working_days(local_date(now), request.notice_days)
        request.status = Status.NOTICE
        request.save()
        events.append(head, "request.notice_published", f"request:{request.pk}",
                      {"days": request.notice_days, "ends_on": str(request.notice_ends_on)}, actor=actor, at=now)
        return request


def notice_open(request: IssuanceRequest, now: datetime | None = None) -> bool:
    return request.status == Status.NOTICE and local_date(now or clock()) <= request.notice_ends_on


def add_comment(user, request: IssuanceRequest, body: str, *, now: datetime | None = None) -> NoticeComment:
    """Anyone signed in may comment while the notice is open."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAllowed("login_required", "请先登录")
    now = now or clock()
    body = _text(body, "意见")
    with _change() as head:
        request = _lock_request(request)
        if not notice_open(request, now):
            raise Conflict("notice_closed", "该申请不在公示期内")
        comment = NoticeComment.objects.create(request=request, author=user, body=body, created_at=now)
        events.append(head, "notice.comment", f"request:{request.pk}",
                      {"comment": comment.pk, "body_sha256": _sha256(body)}, actor=user, at=now)
        return comment


def respond_comment(actor, comment: NoticeComment, response: str, *, now: datetime | None = None) -> None:
    access.require_admin(actor)
    now = now or clock()
    response = _text(response, "答复")
    with _change() as head:
        comment.response, comment.responded_at = response, now
        comment.save(update_fields=["response", "responded_at"])
        events.append(head, "notice.response", f"request:{comment.request_id}",
                      {"comment": comment.pk, "response_sha256": _sha256(response)}, actor=actor, at=now)


def assign_verifier(actor, request: IssuanceRequest, organisation: Organisation, *,
                    now: datetime | None = None) -> IssuanceRequest:
    """The authority commissions a verifier organisation (never the request's own preparer or
    project owner); possible until the sample is drawn."""
    access.require_admin(actor)
    if organisation.kind != Organisation.Kind.VERIFIER:
        raise DomainError("not_a_verifier", "只能委托核证机构")
    now = now or clock()
    with _change() as head:
        request = _lock_request(request)
        if organisation.pk in access.conflicted_orgs(request):
            raise NotAllowed("conflict_of_interest", "核证机构不能核证本机构编制或拥有的申请")
        if request.status not in (Status.PREPARED, Status.NOTICE) or request.sample_drawn_at:
            raise Conflict("verification_started", "核证已开始，不能更换核证机构")
        request.verifier = organisation
        request.save(update_fields=["verifier"])
        events.append(head, "request.verifier_assigned", f"request:{request.pk}", {"verifier": organisation.pk},
                      actor=actor, at=now)
        return request


def default_sample_size(rows: int) -> int:
    return min(rows, max(10, math.isqrt(max(rows - 1, 0)) + 1), 1000)


def sample_positions(request_id: int, seed: str, rows: int, size: int) -> list[int]:
    """Rows of the evidence extract (0-based) in the sample: reproducible by anyone who has the
    request id, its seed and the extract."""
    return sorted(random.Random(f"{request_id}:{seed}").sample(range(rows), size))  # noqa: S311 - not secret


def draw_sample(actor, request: IssuanceRequest, size: int | None = None, *,
                now: datetime | None = None) -> list[SampleRecord]:
    """Draws the verification sample once; asking again for the same size returns it."""
    now = now or clock()
    with _change() as head:
        request = _verifier_request(actor, request)
        if request.status != Status.NOTICE:
            raise Conflict("invalid_status", "申请须在公示后核证")
        size = size or default_sample_size(request.records)
        if request.sample_drawn_at:
            if size != request.sample_size:
                raise Conflict("sample_drawn", f"已抽取 {request.sample_size} 条样本")
            return list(request.sample.all())
        if not 1 <= size <= min(request.records, MAX_SAMPLE):
            raise DomainError("invalid_sample_size", f"样本量须在 1 到 {min(request.records, MAX_SAMPLE)} 之间")
        positions = sample_positions(request.pk, request.sample_seed, request.records, size)
        wanted, picked = set(positions), []
        for row in documents.evidence_rows(request):
            if row[0] in wanted:
                picked.append((row[0], row[1]))
                if len(picked) == size:
                    break
        field = "monitoring_id" if request.kind == IssuanceRequest.Kind.PROJECT else "reduction_id"
        sample = SampleRecord.objects.bulk_create(
            [SampleRecord(request=request, position=position, **{field: member}) for position, member in picked])
        request.sample_size, request.sample_drawn_at = size, now
        request.save(update_fields=["sample_size", "sample_drawn_at"])
        events.append(head, "request.sample_drawn", f"request:{request.pk}",
                      {"size": size, "positions": positions, "members": [m for _, m in picked]}, actor=actor, at=now)
        return sample


def add_finding(actor, request: IssuanceRequest, *, severity: str, text: str, sample: SampleRecord | None = None,
                now: datetime | None = None) -> Finding:
    if severity not in Finding.Severity.values:
        raise DomainError("invalid_severity", "类别无效")
    if sample is not None and sample.request_id != request.pk:
        raise DomainError("invalid_sample", "样本不属于该申请")
    now = now or clock()
    text = _text(text, "发现")
    with _change() as head:
        if _verifier_request(actor, request).status != Status.NOTICE:
            raise Conflict("invalid_status", "该申请不在核证阶段")
        finding = Finding.objects.create(request=request, sample=sample, severity=severity, text=text,
                                         author=actor, created_at=now)
        events.append(head, "request.finding", f"request:{request.pk}",
                      {"finding": finding.pk, "severity": severity, "sample": getattr(sample, "pk", None),
                       "text_sha256": _sha256(text)}, actor=actor, at=now)
        return finding


def approve(actor, request: IssuanceRequest, *, deduction_tonnes: int = 0, statement: str = "",
            now: datetime | None = None) -> IssuanceRequest:
    """The verifier's positive conclusion, after the notice has ended and the sample was drawn.
    Deducted tonnes are never issued; their reductions stay with the request."""
    now = now or clock()
    with _change() as head:
        request = _verifier_request(actor, request)
        _check_decidable(request, now)
        if type(deduction_tonnes) is not int or not 0 <= deduction_tonnes < request.tonnes:
            raise DomainError("invalid_deduction", "核减量须为小于申请量的非负整数吨")
        request.status, request.decided_by, request.decided_at = Status.VERIFIED, actor, now
        request.deduction_tonnes = deduction_tonnes
        request.verified_tonnes = request.tonnes - deduction_tonnes
        request.statement = _text(statement, "核证意见", required=False)
        request.save()
        events.append(head, "request.verified", f"request:{request.pk}",
                      {"verified_tonnes": request.verified_tonnes, "deduction_tonnes": deduction_tonnes,
                       "statement_sha256": _sha256(request.statement)}, actor=actor, at=now)
        return request


def reject(actor, request: IssuanceRequest, *, statement: str, now: datetime | None = None) -> IssuanceRequest:
    """The verifier's negative conclusion: the gathered reductions (or entries) are released and
    may join a later request."""
    now = now or clock()
    statement = _text(statement, "核证意见")
    with _change() as head:
        request = _verifier_request(actor, request)
        _check_decidable(request, now)
        released = (MonitoringEntry.objects.filter(request=request).update(request=None)
                    if request.kind == IssuanceRequest.Kind.PROJECT
                    else IssuanceItem.objects.filter(request=request).delete()[0])
        request.status, request.decided_by, request.decided_at = Status.REJECTED, actor, now
        request.statement = statement
        request.save()
        events.append(head, "request.rejected", f"request:{request.pk}",
                      {"released": released, "statement_sha256": _sha256(statement)}, actor=actor, at=now)
        return request


def _check_decidable(request: IssuanceRequest, now: datetime) -> None:
    if request.status != Status.NOTICE:
        raise Conflict("invalid_status", "该申请不在核证阶段")
    if notice_open(request, now):
        raise Conflict("notice_open", f"公示期至 {request.notice_ends_on} 结束，之后方可作出核证结论")
    if not request.sample_drawn_at:
        raise Conflict("sample_missing", "请先抽取核证样本")


def issue(actor, request: IssuanceRequest, *, now: datetime | None = None) -> SerialBlock:
    """Issues the verified tonnes as serials 1..N of the request: to the platform pool, or to a
    project's owner."""
    access.require_admin(actor)
    now = now or clock()
    with _change() as head:
        request = _lock_request(request)
        if request.status != Status.VERIFIED:
            raise Conflict("invalid_status", "只有已核证的申请可以签发")
        account = account_for(request.project.owner) if request.project_id else pool_account()
        block = SerialBlock.objects.create(request=request, first=1, last=request.verified_tonnes, account=account)
        request.status, request.issued_at = Status.ISSUED, now
        request.save(update_fields=["status", "issued_at"])
        events.append(head, "request.issued", f"request:{request.pk}",
                      {"account": account.pk, "vintage": request.vintage, "first": 1, "last": block.last,
                       "serial": block.serial}, actor=actor, at=now)
        return block


# Holdings ----------------------------------------------------------------------------------------

def pool_account() -> HoldingAccount:
    return HoldingAccount.objects.get_or_create(kind=HoldingAccount.Kind.POOL, organisation=None)[0]


def account_for(organisation: Organisation) -> HoldingAccount:
    return HoldingAccount.objects.get_or_create(kind=HoldingAccount.Kind.ORGANISATION,
                                                organisation=organisation)[0]


def acting_account(user) -> HoldingAccount:
    """The account a user acts for: the pool for administrators, else their organisation's."""
    if access.is_admin(user):
        return pool_account()
    organisation = access.holder_org(user)
    if organisation is None:
        raise NotAllowed("not_account_holder", "仅限主管部门与企业账户")
    return account_for(organisation)


def active_tonnes(account: HoldingAccount) -> int:
    blocks = SerialBlock.objects.filter(account=account, retirement__isnull=True).values_list("first", "last")
    return sum(last - first + 1 for first, last in blocks)


def listed_tonnes(account: HoldingAccount, excluding: Listing | None = None) -> int:
    listings = Listing.objects.filter(seller=account, status=Listing.Status.OPEN)
    if excluding is not None:
        listings = listings.exclude(pk=excluding.pk)
    return listings.aggregate(t=Sum("remaining"))["t"] or 0


def _positive(value: int, field: str) -> int:
    if type(value) is not int or value <= 0:
        raise DomainError("invalid_amount", f"{field} 须为正整数")
    return value


SERIAL = re.compile(r"^CN-(?P<region>[A-Z0-9]+)-CGSP-(?P<request>\d+)-(?P<vintage>\d{4})-(?P<first>\d+)-(?P<last>\d+)$")


def parse_serial(text: str) -> tuple[int, int, int]:
    """`CN-<region>-CGSP-<request>-<vintage>-<first>-<last>` → (request id, first, last)."""
    match = SERIAL.match((text or "").strip())
    if not match or match["region"] != settings.TANHUI_REGION:
        raise DomainError("invalid_serial", "序号格式应为 CN-<地区>-CGSP-<申请>-<年份>-<起>-<止>")
    request_id, first, last = int(match["request"]), int(match["first"]), int(match["last"])
    vintage = IssuanceRequest.objects.filter(pk=request_id).values_list("vintage", flat=True).first()
    if vintage != int(match["vintage"]) or not 1 <= first <= last:
        raise DomainError("invalid_serial", "序号不存在")
    return request_id, first, last


def _split(block: SerialBlock, first: int, last: int) -> SerialBlock:
    """Narrows `block` to first..last; the serials cut off stay where they were, as new blocks."""
    old_first, old_last = block.first, block.last
    if (first, last) == (old_first, old_last):
        return block
    block.first, block.last = first, last
    block.save(update_fields=["first", "last"])
    rest = [(old_first, first - 1)] if old_first < first else []
    rest += [(last + 1, old_last)] if last < old_last else []
    SerialBlock.objects.bulk_create([SerialBlock(request_id=block.request_id, first=a, last=b,
                                                 account_id=block.account_id, retirement_id=block.retirement_id)
                                     for a, b in rest])
    return block


def _carve(account: HoldingAccount, tonnes: int, serials: tuple[int, int, int] | None) -> list[SerialBlock]:
    """Blocks of `account` covering exactly what moves: the given serials, or `tonnes` active
    serials taken from the lowest (request, serial) up."""
    if serials is None:
        taken, left = [], tonnes
        for block in SerialBlock.objects.filter(account=account, retirement__isnull=True).order_by("request_id",
                                                                                                   "first"):
            take = min(left, block.tonnes)
            taken.append(_split(block, block.first, block.first + take - 1))
            left -= take
            if left == 0:
                return taken
        raise Conflict("insufficient_holdings", "持有量不足")
    request_id, first, last = serials
    blocks = list(SerialBlock.objects.filter(request_id=request_id, first__lte=last, last__gte=first)
                  .order_by("first"))
    if any(b.retirement_id for b in blocks):
        raise Conflict("serials_retired", "这些序号已注销，不能再转让或注销")
    covered = first
    for block in blocks:
        if block.account_id != account.pk or block.first > covered:
            raise Conflict("serials_not_held", "该账户不持有这些序号")
        covered = block.last + 1
    if covered <= last:
        raise Conflict("serials_not_held", "该账户不持有这些序号")
    return [_split(b, max(first, b.first), min(last, b.last)) for b in blocks]


def _ranges(blocks: list[SerialBlock]) -> list[list[int]]:
    return [[b.request_id, b.first, b.last] for b in blocks]


def _check_available(account: HoldingAccount, tonnes: int, listing: Listing | None = None) -> None:
    """Tonnes offered in open listings are kept for their buyers: the holder (or the buyer from
    `listing`) may move only the rest."""
    available = active_tonnes(account) - listed_tonnes(account, excluding=listing)
    if tonnes > available:
        raise Conflict("insufficient_holdings", f"可用持有量不足（可用 {max(available, 0):,} 吨）")


def _transfer(head, actor, source: HoldingAccount, target: HoldingAccount, tonnes: int, price: int, *,
              serials=None, listing: Listing | None = None, now: datetime) -> CreditTransfer:
    if source.pk == target.pk:
        raise DomainError("same_account", "转出与转入账户相同")
    if type(price) is not int or price < 0:
        raise DomainError("invalid_price", "单价须为非负整数（分/吨）")
    if serials is not None:
        tonnes = serials[2] - serials[1] + 1
    blocks = _carve(source, _positive(tonnes, "数量"), serials)
    _check_available(source, tonnes, listing)
    SerialBlock.objects.filter(pk__in=[b.pk for b in blocks]).update(account=target)
    transfer = CreditTransfer.objects.create(from_account=source, to_account=target, tonnes=tonnes,
                                             price_fen_per_tonne=price, total_fen=tonnes * price, listing=listing,
                                             created_by=actor, created_at=now)
    TransferRange.objects.bulk_create([TransferRange(transfer=transfer, request_id=r, first=a, last=b)
                                       for r, a, b in _ranges(blocks)])
    events.append(head, "credits.transferred", f"transfer:{transfer.pk}",
                  {"from": source.pk, "to": target.pk, "tonnes": tonnes, "price_fen_per_tonne": price,
                   "listing": getattr(listing, "pk", None), "ranges": _ranges(blocks)}, actor=actor, at=now)
    return transfer


def transfer(actor, source: HoldingAccount, target: HoldingAccount, *, tonnes: int | None = None,
             price_fen_per_tonne: int, serials: tuple[int, int, int] | None = None,
             now: datetime | None = None) -> CreditTransfer:
    """Moves active credits (given serials, or the lowest first) to another holder, recording
    the price agreed per tonne."""
    access.require_act_for(actor, source)
    now = now or clock()
    with _change() as head:
        return _transfer(head, actor, source, target, tonnes or 0, price_fen_per_tonne, serials=serials, now=now)


def create_listing(actor, account: HoldingAccount, *, tonnes: int, price_fen_per_tonne: int, note: str = "",
                   now: datetime | None = None) -> Listing:
    access.require_act_for(actor, account)
    _positive(tonnes, "挂牌量")
    _positive(price_fen_per_tonne, "单价")
    now = now or clock()
    with _change() as head:
        _check_available(account, tonnes)
        listing = Listing.objects.create(seller=account, tonnes=tonnes, remaining=tonnes,
                                         price_fen_per_tonne=price_fen_per_tonne,
                                         note=_text(note, "说明", required=False, limit=200), created_by=actor,
                                         created_at=now)
        events.append(head, "listing.opened", f"listing:{listing.pk}",
                      {"seller": account.pk, "tonnes": tonnes, "price_fen_per_tonne": price_fen_per_tonne},
                      actor=actor, at=now)
        return listing


def close_listing(actor, listing: Listing, *, now: datetime | None = None) -> None:
    access.require_act_for(actor, listing.seller)
    now = now or clock()
    with _change() as head:
        if Listing.objects.filter(pk=listing.pk, status=Listing.Status.OPEN).update(status=Listing.Status.CLOSED):
            events.append(head, "listing.closed", f"listing:{listing.pk}", {}, actor=actor, at=now)


def buy(actor, listing: Listing, tonnes: int, *, now: datetime | None = None) -> CreditTransfer:
    """An enterprise buys from a listing at its price (payment is settled outside the platform)."""
    organisation = access.holder_org(actor)
    if organisation is None:
        raise NotAllowed("enterprise_only", "仅限企业账户购买")
    _positive(tonnes, "数量")
    now = now or clock()
    with _change() as head:
        listing = Listing.objects.select_related("seller").get(pk=listing.pk)
        if listing.status != Listing.Status.OPEN or tonnes > listing.remaining:
            raise Conflict("listing_unavailable", f"挂牌剩余 {listing.remaining:,} 吨")
        buyer = account_for(organisation)
        sale = _transfer(head, actor, listing.seller, buyer, tonnes, listing.price_fen_per_tonne, listing=listing,
                         now=now)
        listing.remaining -= tonnes
        listing.status = Listing.Status.OPEN if listing.remaining else Listing.Status.CLOSED
        listing.save(update_fields=["remaining", "status"])
        return sale


def retire(actor, account: HoldingAccount, *, purpose: str, beneficiary: str, tonnes: int | None = None,
           serials: tuple[int, int, int] | None = None, compliance_year: int | None = None,
           obligation_tonnes: int | None = None, event_name: str = "", event_start: date | None = None,
           event_end: date | None = None, neutrality_year: int | None = None, note: str = "",
           now: datetime | None = None) -> Retirement:
    """Retires credits for a stated purpose, for good. An ETS offset records the obligation and is
    refused beyond `offset_share_percent()` of it (all offsets against it together)."""
    access.require_act_for(actor, account)
    now = now or clock()
    tonnes = _positive(serials[2] - serials[1] + 1 if serials else tonnes or 0, "注销量")
    details = _purpose_details(purpose, event_name, event_start, event_end, neutrality_year)
    with _change() as head:
        obligation = None
        if purpose == Retirement.Purpose.ETS_OFFSET:
            obligation = _obligation(account, compliance_year, obligation_tonnes, now)
            offset = obligation.retirements.aggregate(t=Sum("tonnes"))["t"] or 0
            if offset + tonnes > obligation.limit_tonnes:
                raise Conflict("offset_limit", f"抵销量不得超过清缴量的 {obligation.share_percent}%"
                                               f"（上限 {obligation.limit_tonnes:,} 吨，已抵销 {offset:,} 吨）")
        blocks = _carve(account, tonnes, serials)
        _check_available(account, tonnes)
        number = (Retirement.objects.aggregate(n=Max("id"))["n"] or 0) + 1
        retirement = Retirement.objects.create(
            certificate_no=f"CN-{settings.TANHUI_REGION}-CGSP-RET-{local_date(now).year}-{number:06d}",
            account=account, tonnes=tonnes, purpose=purpose, beneficiary=_text(beneficiary, "受益方", limit=200),
            obligation=obligation, note=_text(note, "备注", required=False, limit=200), created_by=actor,
            created_at=now, **details)
        SerialBlock.objects.filter(pk__in=[b.pk for b in blocks]).update(retirement=retirement)
        event = events.append(head, "credits.retired", f"retirement:{retirement.pk}",
                              {"account": account.pk, "tonnes": tonnes, "purpose": purpose,
                               "certificate_no": retirement.certificate_no, "beneficiary": retirement.beneficiary,
                               "obligation": getattr(obligation, "pk", None), "ranges": _ranges(blocks)},
                              actor=actor, at=now)
        retirement.event_hash = event.hash
        retirement.save(update_fields=["event_hash"])
        return retirement


def _purpose_details(purpose: str, event_name: str, event_start: date | None, event_end: date | None,
                     neutrality_year: int | None) -> dict:
    if purpose == Retirement.Purpose.EVENT:
        if not event_start or not event_end or event_end < event_start:
            raise DomainError("invalid_event", "请填写活动名称与起止日期")
        return {"event_name": _text(event_name, "活动名称", limit=200), "event_start": event_start,
                "event_end": event_end}
    if purpose == Retirement.Purpose.ORGANISATION:
        if not neutrality_year:
            raise DomainError("missing_field", "请填写碳中和年度")
        return {"neutrality_year": neutrality_year}
    if purpose != Retirement.Purpose.ETS_OFFSET:
        raise DomainError("invalid_purpose", "注销用途无效")
    return {}


def _obligation(account: HoldingAccount, year: int | None, tonnes: int | None, now: datetime) -> Obligation:
    if account.organisation_id is None:
        raise DomainError("invalid_purpose", "平台登记池没有履约义务")
    if not year or type(tonnes) is not int or tonnes <= 0:
        raise DomainError("missing_field", "请填写履约年度与清缴量（吨）")
    obligation, created = Obligation.objects.get_or_create(
        organisation_id=account.organisation_id, compliance_year=year,
        defaults={"tonnes": tonnes, "share_percent": offset_share_percent(), "created_at": now})
    if not created and obligation.tonnes != tonnes:
        raise Conflict("obligation_mismatch", f"{year} 年度的清缴量已登记为 {obligation.tonnes:,} 吨")
    return obligation


def serial_labels(blocks) -> list[str]:
    return [serial_label(b.request_id, b.request.vintage, b.first, b.last) for b in blocks]


# Projects ----------------------------------------------------------------------------------------

def _require_owner(actor, project: Project) -> None:
    organisation = access.holder_org(actor)
    if organisation is None or organisation.pk != project.owner_id:
        raise NotAllowed("not_project_owner", "仅限项目业主操作")


def register_project(actor, *, name: str, methodology: str, description: str, location: str,
                     now: datetime | None = None) -> Project:
    """Registers a project of the user's own organisation (as a draft)."""
    owner = access.holder_org(actor)
    if owner is None:
        raise NotAllowed("enterprise_only", "仅限机构用户登记项目")
    now = now or clock()
    with _change() as head:
        number = (Project.objects.aggregate(n=Max("id"))["n"] or 0) + 1
        project = Project.objects.create(
            code=f"P{local_date(now).year}-{number:04d}", name=_text(name, "项目名称", limit=200), owner=owner,
            methodology=_text(methodology, "方法学", limit=200), description=_text(description, "项目描述"),
            location=_text(location, "项目地点", limit=200), created_by=actor, created_at=now)
        events.append(head, "project.registered", f"project:{project.pk}",
                      {"code": project.code, "owner": owner.pk, "methodology": project.methodology},
                      actor=actor, at=now)
        return project


def upload_document(actor, project: Project, *, title: str, upload, now: datetime | None = None) -> ProjectDocument:
    """Stores a project document (PDF, images, spreadsheets…) with its SHA-256."""
    _require_owner(actor, project)
    suffix = Path(upload.name).suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES or upload.size > MAX_DOCUMENT_BYTES:
        raise DomainError("invalid_document", "文件须为 PDF、图片、表格或文本，且不超过 20 MB")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    now = now or clock()
    with _change() as head:
        document = ProjectDocument(project=project, title=_text(title, "文件名称", limit=200),
                                   sha256=digest.hexdigest(), size=upload.size, uploaded_by=actor, uploaded_at=now)
        document.file.save(f"{digest.hexdigest()[:16]}{suffix}", upload, save=False)
        document.save()
        events.append(head, "project.document", f"project:{project.pk}",
                      {"document": document.pk, "sha256": document.sha256, "size": document.size},
                      actor=actor, at=now)
        return document


def _decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise DomainError("invalid_number", f"{field} 须为十进制数") from exc
    if not value.is_finite() or value < 0:
        raise DomainError("invalid_number", f"{field} 须为非负数")
    return value


def add_monitoring(actor, project: Project, *, period_start: date, period_end: date, quantity: str, unit: str,
                   factor_g_per_unit: str, document: ProjectDocument | None = None,
                   now: datetime | None = None) -> MonitoringEntry:
    """Records a monitoring period; reduction_mg = quantity × factor × 1000, rounded half up."""
    _require_owner(actor, project)
    now = now or clock()
    if period_end < period_start or period_end >= local_date(now):
        raise DomainError("invalid_period", "监测期须已结束，且结束日期不早于开始日期")
    if document is not None and document.project_id != project.pk:
        raise DomainError("invalid_document", "证明文件不属于该项目")
    q, f = _decimal(quantity, "监测量"), _decimal(factor_g_per_unit, "减排因子")
    mg = int((q * f * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    with _change() as head:
        entry = MonitoringEntry.objects.create(
            project=project, period_start=period_start, period_end=period_end, quantity=str(q),
            unit=_text(unit, "单位", limit=20), factor_g_per_unit=str(f), reduction_mg=mg, document=document,
            created_by=actor, created_at=now)
        events.append(head, "project.monitoring", f"project:{project.pk}",
                      {"entry": entry.pk, "period": [str(period_start), str(period_end)], "quantity": entry.quantity,
                       "factor_g_per_unit": entry.factor_g_per_unit, "reduction_mg": mg}, actor=actor, at=now)
        return entry


def submit_project(actor, project: Project, *, now: datetime | None = None) -> Project:
    _require_owner(actor, project)
    now = now or clock()
    with _change() as head:
        project = Project.objects.get(pk=project.pk)
        if project.status not in (Project.Status.DRAFT, Project.Status.REJECTED):
            raise Conflict("invalid_status", "项目已提交")
        if not project.documents.exists():
            raise Conflict("documents_missing", "请先上传项目文件（设计文件、监测计划等）")
        project.status = Project.Status.SUBMITTED
        project.save(update_fields=["status"])
        events.append(head, "project.submitted", f"project:{project.pk}", {}, actor=actor, at=now)
        return project


def assign_validator(actor, project: Project, organisation: Organisation, *, now: datetime | None = None) -> Project:
    access.require_admin(actor)
    if organisation.kind != Organisation.Kind.VERIFIER:
        raise DomainError("not_a_verifier", "只能委托核证机构审定")
    if organisation.pk == project.owner_id:
        raise NotAllowed("conflict_of_interest", "审定机构不能审定本机构的项目")
    now = now or clock()
    with _change() as head:
        project = Project.objects.get(pk=project.pk)
        if project.status != Project.Status.SUBMITTED:
            raise Conflict("invalid_status", "项目不在待审定状态")
        project.validator = organisation
        project.save(update_fields=["validator"])
        events.append(head, "project.validator_assigned", f"project:{project.pk}", {"validator": organisation.pk},
                      actor=actor, at=now)
        return project


def validate_project(actor, project: Project, *, approved: bool, statement: str,
                     now: datetime | None = None) -> Project:
    """The validator's conclusion (审定): validated projects may then be requested for issuance."""
    now = now or clock()
    statement = _text(statement, "审定意见")
    with _change() as head:
        project = Project.objects.get(pk=project.pk)
        organisation = access.verifier_org(actor)
        if organisation is None or organisation.pk != project.validator_id:
            raise NotAllowed("not_assigned", "本机构未受托审定该项目")
        if project.status != Project.Status.SUBMITTED:
            raise Conflict("invalid_status", "项目不在待审定状态")
        project.status = Project.Status.VALIDATED if approved else Project.Status.REJECTED
        project.validation_statement, project.validated_at = statement, now
        project.save(update_fields=["status", "validation_statement", "validated_at"])
        events.append(head, "project.validated" if approved else "project.validation_rejected",
                      f"project:{project.pk}", {"statement_sha256": _sha256(statement)}, actor=actor, at=now)
        return project
