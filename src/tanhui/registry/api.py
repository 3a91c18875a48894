"""The registry API under /api/v1/registry/: the public registry (no login), the citizen's
market-use consent, and the administrators', verifiers' and enterprises' actions. Handlers only
look objects up and call `registry.services`, which check who may act."""

from datetime import date, datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.security import django_auth

from tanhui.core.errors import DomainError, NotAllowed
from tanhui.core.schemas import Ok
from tanhui.methodology.models import MethodologyVersion, Scenario
from tanhui.people.api import current_citizen
from tanhui.people.models import Organisation
from tanhui.registry import access, queries, services
from tanhui.registry.models import IssuanceRequest, Listing, Retirement, SampleRecord

router = Router(tags=["registry"])


class TotalsOut(Schema):
    issued_tonnes: int
    retired_tonnes: int
    active_tonnes: int
    issuances: int
    in_notice: int
    retirements: int


class IssuanceOut(Schema):
    request: int
    kind: str
    project: str
    project_name: str
    scenarios: str
    period_start: str
    period_end: str
    vintage: int
    status: str
    records: int
    requested_tonnes: int
    verified_tonnes: int | None
    deduction_tonnes: int
    verifier: str
    notice_ends_on: str
    issued_at: str
    serials: str


class HoldingOut(Schema):
    account: int
    holder: str
    kind: str
    organisation_kind: str
    active_tonnes: int
    retired_tonnes: int


class RetirementOut(Schema):
    certificate_no: str
    retired_at: str
    holder: str
    beneficiary: str
    purpose: str
    tonnes: int
    compliance_year: int | str
    event_name: str
    neutrality_year: int | str
    serials: str


class MarketConsentOut(Schema):
    active: bool
    granted_at: datetime | None


class RequestIn(Schema):
    scenarios: list[str]
    methodology_versions: list[int]
    period_start: date
    period_end: date


class RequestOut(Schema):
    id: int
    kind: str
    status: str
    period_start: date
    period_end: date
    vintage: int
    records: int
    citizens: int
    total_mg: int
    tonnes: int
    excess_mg: int
    evidence_sha256: str
    notice_ends_on: date | None
    verifier_id: int | None
    sample_seed: str
    sample_size: int | None
    verified_tonnes: int | None
    deduction_tonnes: int


class VerifierIn(Schema):
    organisation_id: int


class CommentIn(Schema):
    body: str


class SampleIn(Schema):
    size: int | None = None


class SampleOut(Schema):
    position: int
    record: int
    provenance: dict[str, str]


class FindingIn(Schema):
    severity: str
    text: str
    position: int | None = None


class ApproveIn(Schema):
    deduction_tonnes: int = 0
    statement: str = ""


class RejectIn(Schema):
    statement: str


class BlockOut(Schema):
    serial: str
    tonnes: int
    retired: bool


class AccountOut(Schema):
    account: int
    holder: str
    active_tonnes: int
    blocks: list[BlockOut]


class ListingIn(Schema):
    tonnes: int
    price_fen_per_tonne: int
    note: str = ""


class ListingOut(Schema):
    id: int
    seller: str
    remaining: int
    price_fen_per_tonne: int


class BuyIn(Schema):
    tonnes: int


class TransferIn(Schema):
    to_organisation_id: int
    price_fen_per_tonne: int
    tonnes: int | None = None
    serial: str | None = None


class TransferOut(Schema):
    id: int
    tonnes: int
    price_fen_per_tonne: int
    total_fen: int
    serials: list[str]


class RetireIn(Schema):
    purpose: str
    beneficiary: str
    tonnes: int | None = None
    serial: str | None = None
    compliance_year: int | None = None
    obligation_tonnes: int | None = None
    event_name: str = ""
    event_start: date | None = None
    event_end: date | None = None
    neutrality_year: int | None = None
    note: str = ""


class CertificateOut(Schema):
    certificate_no: str
    tonnes: int
    purpose: str
    beneficiary: str
    holder: str
    retired_at: datetime
    serials: list[str]
    event_hash: str


# Public ------------------------------------------------------------------------------------------

@router.get("/totals", response=TotalsOut)
def totals(request):
    return queries.totals()


@router.get("/issuances", response=list[IssuanceOut])
def issuances(request):
    """Requests from the opening of their public notice on."""
    return queries.issuance_rows()


@router.get("/holdings", response=list[HoldingOut])
def holdings(request):
    return queries.holding_rows()


@router.get("/retirements", response=list[RetirementOut])
def retirements(request):
    return queries.retirement_rows()


@router.get("/certificates/{no}", response=CertificateOut)
def certificate(request, no: str):
    r = get_object_or_404(Retirement.objects.select_related("account__organisation"), certificate_no=no)
    return CertificateOut(certificate_no=r.certificate_no, tonnes=r.tonnes, purpose=r.purpose,
                          beneficiary=r.beneficiary, holder=str(r.account), retired_at=r.created_at,
                          serials=services.serial_labels(r.blocks.select_related("request").order_by("request_id",
                                                                                                     "first")),
                          event_hash=r.event_hash)


# Citizens ----------------------------------------------------------------------------------------

def _consent_out(citizen) -> MarketConsentOut:
    consent = citizen.market_consents.filter(revoked_at__isnull=True).first()
    return MarketConsentOut(active=consent is not None, granted_at=consent.granted_at if consent else None)


@router.get("/me/market-consent", response=MarketConsentOut, auth=django_auth)
def my_market_consent(request):
    return _consent_out(current_citizen(request))


@router.post("/me/market-consent", response=MarketConsentOut, auth=django_auth)
def grant_market_consent(request):
    citizen = current_citizen(request)
    services.grant_market_consent(citizen)
    return _consent_out(citizen)


@router.delete("/me/market-consent", response=MarketConsentOut, auth=django_auth)
def revoke_market_consent(request):
    citizen = current_citizen(request)
    services.revoke_market_consent(citizen)
    return _consent_out(citizen)


# Requests ----------------------------------------------------------------------------------------

def _request(request, pk: int) -> IssuanceRequest:
    """A request the user may see: public from its notice on; before that, administrators and the
    assigned verifier only."""
    issuance = get_object_or_404(IssuanceRequest, pk=pk)
    if issuance.status not in queries.PUBLIC_STATUSES and not access.may_see_evidence(request.user, issuance):
        raise NotAllowed("forbidden", "无权查看该申请")
    return issuance


@router.post("/requests", response={201: RequestOut}, auth=django_auth)
def create_request(request, payload: RequestIn):
    """Administrators: gather reductions into a new request of whole tonnes."""
    access.require_admin(request.user)
    scenarios = list(Scenario.objects.filter(code__in=payload.scenarios))
    versions = list(MethodologyVersion.objects.filter(pk__in=payload.methodology_versions))
    if len(scenarios) != len(set(payload.scenarios)) or len(versions) != len(set(payload.methodology_versions)):
        raise DomainError("unknown_reference", "场景或方法学版本不存在")
    return Status(201, services.prepare_request(request.user, scenarios=scenarios, methodology_versions=versions,
                                                period_start=payload.period_start, period_end=payload.period_end))


@router.get("/requests/{pk}", response=RequestOut, auth=django_auth)
def get_request(request, pk: int):
    return _request(request, pk)


@router.post("/requests/{pk}/notice", response=RequestOut, auth=django_auth)
def publish_notice(request, pk: int):
    return services.publish_notice(request.user, get_object_or_404(IssuanceRequest, pk=pk))


@router.post("/requests/{pk}/verifier", response=RequestOut, auth=django_auth)
def assign_verifier(request, pk: int, payload: VerifierIn):
    return services.assign_verifier(request.user, get_object_or_404(IssuanceRequest, pk=pk),
                                    get_object_or_404(Organisation, pk=payload.organisation_id))


@router.post("/requests/{pk}/comments", response={201: Ok}, auth=django_auth)
def comment(request, pk: int, payload: CommentIn):
    services.add_comment(request.user, _request(request, pk), payload.body)
    return Status(201, Ok())


def _sample_out(issuance: IssuanceRequest) -> list[SampleOut]:
    return [SampleOut(position=s["position"], record=s["entry"], provenance={k: str(v) for k, v in s["facts"]})
            for s in queries.sample_with_provenance(issuance)]


@router.get("/requests/{pk}/sample", response=list[SampleOut], auth=django_auth)
def get_sample(request, pk: int):
    issuance = get_object_or_404(IssuanceRequest, pk=pk)
    access.require_assigned_verifier(request.user, issuance)
    return _sample_out(issuance)


@router.post("/requests/{pk}/sample", response=list[SampleOut], auth=django_auth)
def draw_sample(request, pk: int, payload: SampleIn):
    """The assigned verifier draws the reproducible sample; each record comes with its provenance."""
    issuance = get_object_or_404(IssuanceRequest, pk=pk)
    services.draw_sample(request.user, issuance, payload.size)
    return _sample_out(issuance)


@router.post("/requests/{pk}/findings", response={201: Ok}, auth=django_auth)
def add_finding(request, pk: int, payload: FindingIn):
    issuance = get_object_or_404(IssuanceRequest, pk=pk)
    sample = None
    if payload.position is not None:
        sample = get_object_or_404(SampleRecord, request=issuance, position=payload.position)
    services.add_finding(request.user, issuance, severity=payload.severity, text=payload.text, sample=sample)
    return Status(201, Ok())


@router.post("/requests/{pk}/approve", response=RequestOut, auth=django_auth)
def approve(request, pk: int, payload: ApproveIn):
    return services.approve(request.user, get_object_or_404(IssuanceRequest, pk=pk),
                            deduction_tonnes=payload.deduction_tonnes, statement=payload.statement)


@router.post("/requests/{pk}/reject", response=RequestOut, auth=django_auth)
def reject(request, pk: int, payload: RejectIn):
    return services.reject(request.user, get_object_or_404(IssuanceRequest, pk=pk), statement=payload.statement)


@router.post("/requests/{pk}/issue", response=list[BlockOut], auth=django_auth)
def issue(request, pk: int):
    block = services.issue(request.user, get_object_or_404(IssuanceRequest, pk=pk))
    return [BlockOut(serial=block.serial, tonnes=block.tonnes, retired=False)]


# Holdings ----------------------------------------------------------------------------------------

@router.get("/account", response=AccountOut, auth=django_auth)
def my_account(request):
    """The pool (administrators) or the user's organisation's account, with its serial blocks."""
    holding = services.acting_account(request.user)
    view = queries.account_view(holding)
    return AccountOut(account=holding.pk, holder=str(holding), active_tonnes=view["active_tonnes"],
                      blocks=[BlockOut(serial=b.serial, tonnes=b.tonnes, retired=b.retirement_id is not None)
                              for b in view["active"] + view["retired"]])


@router.get("/listings", response=list[ListingOut], auth=django_auth)
def listings(request):
    """The open market, for those who may trade on it (as on the market page)."""
    if not (access.is_admin(request.user) or access.holder_org(request.user)):
        raise NotAllowed("enterprise_only", "仅限主管部门、企业与机构用户")
    rows = Listing.objects.filter(status=Listing.Status.OPEN).select_related("seller__organisation")
    return [ListingOut(id=x.pk, seller=str(x.seller), remaining=x.remaining,
                       price_fen_per_tonne=x.price_fen_per_tonne) for x in rows.order_by("price_fen_per_tonne")]


@router.post("/listings", response={201: ListingOut}, auth=django_auth)
def create_listing(request, payload: ListingIn):
    listing = services.create_listing(request.user, services.acting_account(request.user), tonnes=payload.tonnes,
                                      price_fen_per_tonne=payload.price_fen_per_tonne, note=payload.note)
    return Status(201, ListingOut(id=listing.pk, seller=str(listing.seller), remaining=listing.remaining,
                                  price_fen_per_tonne=listing.price_fen_per_tonne))


def _transfer_out(transfer) -> TransferOut:
    return TransferOut(id=transfer.pk, tonnes=transfer.tonnes, price_fen_per_tonne=transfer.price_fen_per_tonne,
                       total_fen=transfer.total_fen,
                       serials=[f"{r.request_id}:{r.first}-{r.last}" for r in transfer.ranges.all()])


@router.post("/listings/{pk}/buy", response={201: TransferOut}, auth=django_auth)
def buy(request, pk: int, payload: BuyIn):
    return Status(201, _transfer_out(services.buy(request.user, get_object_or_404(Listing, pk=pk), payload.tonnes)))


@router.post("/transfers", response={201: TransferOut}, auth=django_auth)
def transfer(request, payload: TransferIn):
    source = services.acting_account(request.user)
    target = services.account_for(get_object_or_404(Organisation, pk=payload.to_organisation_id))
    serials = services.parse_serial(payload.serial) if payload.serial else None
    return Status(201, _transfer_out(services.transfer(request.user, source, target, tonnes=payload.tonnes,
                                                       price_fen_per_tonne=payload.price_fen_per_tonne,
                                                       serials=serials)))


@router.post("/retirements", response={201: CertificateOut}, auth=django_auth)
def retire(request, payload: RetireIn):
    data = payload.model_dump()
    serial = data.pop("serial")
    retirement = services.retire(request.user, services.acting_account(request.user),
                                 serials=services.parse_serial(serial) if serial else None, **data)
    return Status(201, certificate(request, retirement.certificate_no))
