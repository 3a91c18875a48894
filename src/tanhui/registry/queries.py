"""Reads of the registry: the public registry (issuances, holdings of organisations, retirements,
certificates), the verifier's sample with provenance, and a holder's account. Public rows name
organisations and serials, never a person."""

from django.db.models import F, Q, Sum
from django.utils import timezone

from tanhui.registry import documents
from tanhui.registry.models import (
    CreditTransfer,
    HoldingAccount,
    IssuanceRequest,
    Retirement,
    SampleRecord,
    SerialBlock,
    serial_label,
)

PUBLIC_STATUSES = (IssuanceRequest.Status.NOTICE, IssuanceRequest.Status.VERIFIED, IssuanceRequest.Status.REJECTED,
                   IssuanceRequest.Status.ISSUED)
SPAN = F("last") - F("first") + 1
TONNES = Sum(SPAN)


def totals() -> dict:
    blocks = SerialBlock.objects.aggregate(issued=TONNES, retired=Sum(SPAN, filter=Q(retirement__isnull=False)))
    issued, retired = blocks["issued"] or 0, blocks["retired"] or 0
    return {"issued_tonnes": issued, "retired_tonnes": retired, "active_tonnes": issued - retired,
            "issuances": IssuanceRequest.objects.filter(status=IssuanceRequest.Status.ISSUED).count(),
            "in_notice": IssuanceRequest.objects.filter(status=IssuanceRequest.Status.NOTICE).count(),
            "retirements": Retirement.objects.count()}


def public_requests():
    """Requests the public may see: from the opening of their notice on."""
    return (IssuanceRequest.objects.filter(status__in=PUBLIC_STATUSES)
            .select_related("project__owner", "verifier").prefetch_related("scenarios"))


def issuance_rows() -> list[dict]:
    rows = []
    for r in public_requests().order_by("pk"):
        rows.append({
            "request": r.pk, "kind": r.kind, "project": r.project.code if r.project_id else "",
            "project_name": r.project.name if r.project_id else "",
            "scenarios": ";".join(s.code for s in r.scenarios.all()), "period_start": str(r.period_start),
            "period_end": str(r.period_end), "vintage": r.vintage, "status": r.status, "records": r.records,
            "requested_tonnes": r.tonnes, "verified_tonnes": r.verified_tonnes, "deduction_tonnes": r.deduction_tonnes,
            "verifier": r.verifier.name if r.verifier_id else "",
            "notice_ends_on": str(r.notice_ends_on) if r.notice_ends_on else "",
            "issued_at": timezone.localtime(r.issued_at).isoformat() if r.issued_at else "",
            "serials": serial_label(r.pk, r.vintage, 1, r.verified_tonnes) if r.issued_at else "",
        })
    return rows


def holding_rows() -> list[dict]:
    """Every holding account with its active and retired tonnes (the pool and organisations)."""
    sums = {account: (active or 0, retired or 0) for account, active, retired in
            SerialBlock.objects.values("account").annotate(active=Sum(SPAN, filter=Q(retirement__isnull=True)),
                                                           retired=Sum(SPAN, filter=Q(retirement__isnull=False)))
            .values_list("account", "active", "retired")}
    rows = []
    for account in HoldingAccount.objects.select_related("organisation").order_by("kind", "organisation__name"):
        active, retired = sums.get(account.pk, (0, 0))
        rows.append({"account": account.pk, "holder": str(account), "kind": account.kind,
                     "organisation_kind": account.organisation.kind if account.organisation_id else "",
                     "active_tonnes": active, "retired_tonnes": retired})
    return rows


def retirements():
    return Retirement.objects.select_related("account__organisation", "obligation").prefetch_related("blocks__request")


def retirement_rows() -> list[dict]:
    return [{"certificate_no": r.certificate_no, "retired_at": timezone.localtime(r.created_at).isoformat(),
             "holder": str(r.account), "beneficiary": r.beneficiary, "purpose": r.purpose, "tonnes": r.tonnes,
             "compliance_year": r.obligation.compliance_year if r.obligation_id else "",
             "event_name": r.event_name, "neutrality_year": r.neutrality_year or "",
             "serials": ";".join(b.serial for b in r.blocks.order_by("request_id", "first"))}
            for r in retirements().order_by("pk")]


DATASETS = {"issuances": issuance_rows, "holdings": holding_rows, "retirements": retirement_rows}


def sample_with_provenance(request: IssuanceRequest) -> list[dict]:
    """The verifier's sample, each record with its full provenance."""
    records = SampleRecord.objects.filter(request=request).select_related(
        "reduction__batch", "reduction__provider", "reduction__scenario",
        "reduction__methodology_version__methodology", "reduction__factor_version__factor",
        "monitoring__document").order_by("position")
    out = []
    for s in records:
        if s.monitoring_id:
            m = s.monitoring
            out.append({"sample": s, "position": s.position, "entry": m.pk,
                        "facts": [("监测期", f"{m.period_start} – {m.period_end}"),
                                  ("监测量", f"{m.quantity} {m.unit}"),
                                  ("减排因子", f"{m.factor_g_per_unit} g CO2e/{m.unit}"),
                                  ("减排量", f"{m.reduction_mg:,} mg"),
                                  ("证明文件", f"{m.document.title} (SHA-256 {m.document.sha256})"
                                   if m.document_id else "—")]})
            continue
        r = s.reduction
        mv, fv = r.methodology_version, r.factor_version
        out.append({"sample": s, "position": s.position, "entry": r.pk, "facts": [
            ("记录编号", f"{r.provider.code} / {r.record_id}"),
            ("批次", f"#{r.batch_id}（{r.batch.filename or r.batch.get_source_display()}，"
                     f"SHA-256 {r.batch.file_sha256 or '—'}）"),
            ("数据方", r.provider.name), ("场景", r.scenario.name), ("日期", str(r.local_date)),
            ("里程/用电量", r.quantity), ("减排量", f"{r.reduction_mg:,} mg"),
            ("方法学版本", f"{mv.methodology.name} v{mv.number}（{mv.valid_from} 起）"),
            ("因子版本", f"{fv.factor.name} v{fv.number} = {fv.value} {fv.factor.unit}"),
            ("因子来源", fv.source), ("输入哈希", r.input_hash),
            ("市民（化名）", documents.citizen_ref(request.pk, r.citizen_id)),
        ]})
    return out


def account_view(account: HoldingAccount) -> dict:
    blocks = SerialBlock.objects.filter(account=account).select_related("request", "retirement")
    transfers = (CreditTransfer.objects.filter(Q(from_account=account) | Q(to_account=account))
                 .select_related("from_account__organisation", "to_account__organisation").prefetch_related("ranges"))
    return {
        "account": account,
        "active": [b for b in blocks.filter(retirement__isnull=True).order_by("request_id", "first")],
        "retired": [b for b in blocks.filter(retirement__isnull=False).order_by("-retirement_id", "first")],
        "active_tonnes": blocks.filter(retirement__isnull=True).aggregate(t=TONNES)["t"] or 0,
        "retired_tonnes": blocks.filter(retirement__isnull=False).aggregate(t=TONNES)["t"] or 0,
        "transfers": transfers[:50],
        "retirements": account.retirements.order_by("-pk")[:50],
        "listings": account.listings.order_by("-pk")[:20],
    }
