"""Registry pages: the public registry, the citizen's market-use consent, the administrator's
requests, the verifier's workspace, holders' accounts and the market, and project owners' pages.

Views stay thin: forms parse, `registry.services` decide (a refusal becomes a form error with the
service's message), and each page hands out only the objects its user may see — anything else is
not found, so its existence is not revealed.
"""

import csv
import json
from functools import wraps

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tanhui.core.errors import DomainError, NotAllowed
from tanhui.ingest.models import Batch, Reduction
from tanhui.people.api import current_citizen
from tanhui.people.models import Citizen
from tanhui.registry import access, documents, queries, services
from tanhui.registry import forms as f
from tanhui.registry.models import (
    Event,
    Exclusion,
    IssuanceRequest,
    Listing,
    MarketConsent,
    Project,
    ProjectDocument,
    Retirement,
    SampleRecord,
)

PAGE_SIZE = 50


# Access ------------------------------------------------------------------------------------------

def _role_page(check, message: str):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_page = _role_page(access.is_admin, "仅限主管部门用户")
verifier_page = _role_page(lambda user: access.verifier_org(user) is not None, "仅限核证机构用户")
enterprise_page = _role_page(lambda user: access.holder_org(user) is not None, "仅限企业与机构用户")
holder_page = _role_page(lambda user: access.is_admin(user) or access.holder_org(user) is not None,
                         "仅限主管部门、企业与机构用户")


class Actions:
    """The forms of one page. A POST names its form in `action`; a valid form runs its service
    call, a refusal becomes a form error, and success redirects (post/redirect/get)."""

    def __init__(self, request):
        self.request = request
        self.posted = request.POST.get("action") if request.method == "POST" else None
        self.forms, self.status, self.done = {}, 200, None

    def form(self, name: str, form_class, call, success: str, **kwargs):
        bound = (self.request.POST, self.request.FILES) if self.posted == name else ()
        form = form_class(*bound, prefix=name, **kwargs)
        self.forms[name] = form
        if not bound:
            return form
        if not form.is_valid():
            self.status = 400
            return form
        try:
            self.done = (success, call(form.cleaned_data))
        except DomainError as exc:
            form.add_error(None, exc.message)
            self.status = exc.status
        return form

    def button(self, name: str, call, success: str):
        return self.form(name, django_forms.Form, lambda data: call(), success)

    def respond(self, template: str, context: dict):
        if self.done:
            message, target = self.done
            messages.success(self.request, message)
            return redirect(target if isinstance(target, str) else self.request.get_full_path())
        if self.posted and self.posted not in self.forms:
            self.status = 400
        return render(self.request, template, {**context, "forms": self.forms}, status=self.status)


# Public registry ---------------------------------------------------------------------------------

def index(request):
    return render(request, "registry/index.html", {
        "totals": queries.totals(),
        "requests": queries.public_requests().order_by("-pk")[:PAGE_SIZE],
        "retirements": queries.retirements()[:10],
    })


def _public_request(pk: int) -> IssuanceRequest:
    return get_object_or_404(queries.public_requests(), pk=pk)


def request_public(request, pk: int):
    """The public notice (公示) of a request: its report, its status, and comments."""
    issuance = _public_request(pk)
    actions = Actions(request)
    if services.notice_open(issuance) and request.user.is_authenticated:
        actions.form("comment", f.CommentForm, lambda d: services.add_comment(request.user, issuance, d["body"]),
                     _("意见已提交，主管部门将在公示结束前答复。"))
    return actions.respond("registry/request.html", {
        "issuance": issuance, "notice_open": services.notice_open(issuance),
        "comments": issuance.comments.select_related("author__organisation", "author__citizen"),
        "blocks": issuance.blocks.select_related("account__organisation", "retirement").order_by("first"),
    })


def report_pdf(request, pk: int):
    issuance = get_object_or_404(IssuanceRequest, pk=pk)
    if issuance.status not in queries.PUBLIC_STATUSES and not access.may_see_evidence(request.user, issuance):
        raise Http404
    response = HttpResponse(documents.monitoring_report_pdf(issuance), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="monitoring-report-{issuance.pk}.pdf"'
    return response


def holdings(request):
    return render(request, "registry/holdings.html", {"rows": queries.holding_rows()})


def retirements(request):
    page = Paginator(queries.retirements(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "registry/retirements.html", {"page": page})


def _certificate(no: str) -> Retirement:
    return get_object_or_404(queries.retirements(), certificate_no=no)


def certificate(request, no: str):
    """The public verification page a certificate's QR code links to."""
    retirement = _certificate(no)
    return render(request, "registry/certificate.html", {
        "retirement": retirement, "blocks": retirement.blocks.select_related("request").order_by("request_id", "first"),
    })


def certificate_pdf(request, no: str):
    retirement = _certificate(no)
    url = request.build_absolute_uri(reverse("registry:certificate", args=[no]))
    blocks = retirement.blocks.select_related("request").order_by("request_id", "first")
    response = HttpResponse(documents.certificate_pdf(retirement, url, [b.serial for b in blocks]),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{no}.pdf"'
    return response


def projects(request):
    rows = Project.objects.exclude(status=Project.Status.DRAFT).select_related("owner", "validator")
    return render(request, "registry/projects.html", {"projects": rows})


def project_public(request, pk: int):
    project = get_object_or_404(Project.objects.exclude(status=Project.Status.DRAFT).select_related("owner"), pk=pk)
    return render(request, "registry/project.html", {
        "project": project, "documents": project.documents.order_by("pk"),
        "requests": project.requests.filter(status__in=queries.PUBLIC_STATUSES).order_by("-pk"),
        "may_download": _may_download(request.user, project)})


def _may_download(user, project: Project) -> bool:
    organisation = access.holder_org(user) or access.verifier_org(user)
    return access.is_admin(user) or (organisation is not None and organisation.pk in (project.owner_id,
                                                                                       project.validator_id))


@login_required
def project_document(request, pk: int, document: int):
    doc = get_object_or_404(ProjectDocument.objects.select_related("project"), pk=document, project=pk)
    if not _may_download(request.user, doc.project):
        raise Http404
    return FileResponse(doc.file.open("rb"), as_attachment=True, filename=doc.file.name.rsplit("/", 1)[-1])


def export(request, dataset: str, fmt: str):
    """The public registry as JSON or CSV: issuances, holdings, retirements."""
    if dataset not in queries.DATASETS or fmt not in ("json", "csv"):
        raise Http404
    rows = queries.DATASETS[dataset]()
    if fmt == "json":
        return HttpResponse(json.dumps({dataset: rows}, ensure_ascii=False, indent=1),
                            content_type="application/json; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="registry-{dataset}.csv"'
    response.write("\ufeff")  # so that Excel reads the Chinese names as UTF-8
    writer = csv.DictWriter(response, fieldnames=list(rows[0]) if rows else ["empty"])
    writer.writeheader()
    writer.writerows(rows)
    return response


# Citizen -----------------------------------------------------------------------------------------

@never_cache
@login_required
def market_consent(request):
    try:
        citizen = current_citizen(request)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    actions = Actions(request)
    actions.button("grant", lambda: services.grant_market_consent(citizen),
                   _("已同意市场化使用，此后编制的签发申请可纳入您的减排量。"))
    actions.button("revoke", lambda: services.revoke_market_consent(citizen),
                   _("已撤回，此后编制的签发申请不再纳入您的减排量。"))
    return actions.respond("registry/market_consent.html", {
        "consent": MarketConsent.objects.filter(citizen=citizen, revoked_at__isnull=True).first(),
        "history": MarketConsent.objects.filter(citizen=citizen, revoked_at__isnull=False).order_by("-granted_at"),
    })


# Administrators ----------------------------------------------------------------------------------

def _goto(name: str):
    """A service call's result → the URL of its page (for post/redirect/get)."""
    return lambda obj: reverse(name, args=[obj.pk])


@never_cache
@admin_page
def manage(request):
    actions = Actions(request)
    user = request.user
    actions.form("individual", f.RequestForm, lambda d: _goto("registry:manage-request")(services.prepare_request(
        user, scenarios=list(d["scenarios"]), methodology_versions=list(d["methodology_versions"]),
        period_start=d["period_start"], period_end=d["period_end"])), _("签发申请已编制。"))
    actions.form("project", f.ProjectRequestForm, lambda d: _goto("registry:manage-request")(
        services.prepare_project_request(user, d["project"], period_start=d["period_start"],
                                         period_end=d["period_end"])), _("项目签发申请已编制。"))
    actions.form("validator", f.ValidatorForm, lambda d: services.assign_validator(
        user, get_object_or_404(Project, pk=d["project"]), d["organisation"]), _("已委托审定机构。"))
    return actions.respond("registry/manage/index.html", {
        "requests": IssuanceRequest.objects.select_related("project", "verifier")[:PAGE_SIZE],
        "awaiting_validator": Project.objects.filter(status=Project.Status.SUBMITTED, validator__isnull=True)
                                             .select_related("owner"),
        "projects": Project.objects.exclude(status=Project.Status.DRAFT).select_related("owner", "validator"),
    })


@never_cache
@admin_page
def manage_request(request, pk: int):
    issuance = get_object_or_404(IssuanceRequest.objects.select_related("project__owner", "verifier"), pk=pk)
    actions = Actions(request)
    user = request.user
    actions.button("notice", lambda: services.publish_notice(user, issuance), _("公示已发布。"))
    actions.form("verifier", f.VerifierForm, lambda d: services.assign_verifier(user, issuance, d["organisation"]),
                 _("已委托核证机构。"))
    actions.form("respond", f.ResponseForm, lambda d: services.respond_comment(
        user, get_object_or_404(issuance.comments, pk=d["comment"]), d["response"]), _("答复已发布。"))
    actions.button("issue", lambda: services.issue(user, issuance), _("已签发。"))
    return actions.respond("registry/manage/request.html", {
        "issuance": issuance, "notice_open": services.notice_open(issuance),
        "comments": issuance.comments.select_related("author__organisation", "author__citizen"),
        "findings": issuance.findings.select_related("sample"),
        "blocks": issuance.blocks.select_related("account__organisation", "retirement").order_by("first"),
        "events": Event.objects.filter(subject=f"request:{issuance.pk}").order_by("seq"),
    })


@never_cache
@login_required
def evidence(request, pk: int, fmt: str):
    """The evidence extract, for administrators and the assigned verifier only."""
    issuance = get_object_or_404(IssuanceRequest, pk=pk)
    if fmt not in ("csv", "xlsx") or not access.may_see_evidence(request.user, issuance):
        raise Http404
    if fmt == "xlsx":
        try:
            content = documents.evidence_xlsx(issuance)
        except DomainError as exc:
            return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
        response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument."
                                                       "spreadsheetml.sheet")
    else:
        response = StreamingHttpResponse(documents.evidence_csv_chunks(issuance),
                                         content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="evidence-{issuance.pk}.{fmt}"'
    return response


def _exclusion_target(data: dict) -> dict:
    value, target = data["value"].strip(), data["target"]
    if target == "citizen":
        found = Citizen.objects.filter(public_id=value.upper()).first()
    else:
        model = Reduction if target == "reduction" else Batch
        found = model.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if found is None:
        raise DomainError("not_found", _("找不到该对象"))
    return {target: found}


@never_cache
@admin_page
def exclusions(request):
    actions = Actions(request)
    user = request.user
    actions.form("add", f.ExclusionForm, lambda d: services.add_exclusion(
        user, reason=d["reason"], note=d["note"], **_exclusion_target(d)), _("已添加排除标记。"))
    lift_id = request.POST.get("exclusion", "")
    actions.button("lift", lambda: services.lift_exclusion(
        user, get_object_or_404(Exclusion, pk=int(lift_id) if lift_id.isdigit() else 0)), _("已解除排除标记。"))
    rows = Exclusion.objects.select_related("citizen").order_by("lifted_at", "-pk")
    return actions.respond("registry/manage/exclusions.html", {
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))})


# Verifiers ---------------------------------------------------------------------------------------

@never_cache
@verifier_page
def verify_index(request):
    organisation = access.verifier_org(request.user)
    return render(request, "registry/verify/index.html", {
        "requests": IssuanceRequest.objects.filter(verifier=organisation).select_related("project"),
        "projects": Project.objects.filter(validator=organisation).select_related("owner"),
    })


@never_cache
@verifier_page
def verify_request(request, pk: int):
    organisation = access.verifier_org(request.user)
    issuance = get_object_or_404(IssuanceRequest.objects.select_related("project__owner"), pk=pk,
                                 verifier=organisation)
    actions = Actions(request)
    user = request.user
    actions.form("sample", f.SampleForm, lambda d: services.draw_sample(user, issuance, d["size"]),
                 _("已抽取样本。"))
    actions.form("finding", f.FindingForm, lambda d: services.add_finding(
        user, issuance, severity=d["severity"], text=d["text"], sample=_sample_at(issuance, d["position"])),
        _("已记录核证发现。"))
    actions.form("decision", f.DecisionForm, lambda d: _decide(user, issuance, d), _("核证结论已提交。"))
    return actions.respond("registry/verify/request.html", {
        "issuance": issuance, "notice_open": services.notice_open(issuance),
        "default_size": services.default_sample_size(issuance.records),
        "sample_table": _sample_table(queries.sample_with_provenance(issuance)),
        "findings": issuance.findings.select_related("sample"),
        "comments": issuance.comments.all(),
    })


SHOWN_ONCE = ("数据方", "因子来源")  # the same for many records: listed below the table instead


def _sample_table(sample: list[dict]) -> dict | None:
    if not sample:
        return None
    facts = [dict(s["facts"]) for s in sample]
    return {"headers": [label for label, _ in sample[0]["facts"] if label not in SHOWN_ONCE],
            "rows": [(s["position"], s["entry"], [v for label, v in s["facts"] if label not in SHOWN_ONCE])
                     for s in sample],
            "notes": sorted({(f["因子版本"], f["因子来源"]) for f in facts if "因子来源" in f})}


def _sample_at(issuance: IssuanceRequest, position: int | None) -> SampleRecord | None:
    if position is None:
        return None
    sample = SampleRecord.objects.filter(request=issuance, position=position).first()
    if sample is None:
        raise DomainError("invalid_sample", _("该行号不在样本中"))
    return sample


def _decide(user, issuance: IssuanceRequest, data: dict):
    if data["decision"] == "approve":
        return services.approve(user, issuance, deduction_tonnes=data["deduction_tonnes"] or 0,
                                statement=data["statement"])
    return services.reject(user, issuance, statement=data["statement"])


@never_cache
@verifier_page
def verify_project(request, pk: int):
    project = get_object_or_404(Project.objects.select_related("owner"), pk=pk,
                                validator=access.verifier_org(request.user))
    actions = Actions(request)
    actions.form("validation", f.ValidationForm, lambda d: services.validate_project(
        request.user, project, approved=d["decision"] == "approve", statement=d["statement"]), _("审定结论已提交。"))
    return actions.respond("registry/verify/project.html", {
        "project": project, "documents": project.documents.order_by("pk"),
        "monitoring": project.monitoring.order_by("period_start", "pk")})


# Holders -----------------------------------------------------------------------------------------

RETIRE_FIELDS = ("purpose", "beneficiary", "tonnes", "compliance_year", "obligation_tonnes", "event_name",
                 "event_start", "event_end", "neutrality_year", "note")


def _serials(text: str):
    return services.parse_serial(text) if text else None


@never_cache
@holder_page
def account(request):
    user = request.user
    holding = services.acting_account(user)
    actions = Actions(request)
    actions.form("listing", f.ListingForm, lambda d: services.create_listing(
        user, holding, tonnes=d["tonnes"], price_fen_per_tonne=d["price"], note=d["note"]), _("已挂牌。"))
    close_id = request.POST.get("listing", "")
    actions.button("close", lambda: services.close_listing(user, get_object_or_404(
        Listing, pk=int(close_id) if close_id.isdigit() else 0, seller=holding)), _("已下架。"))
    actions.form("transfer", f.TransferForm, lambda d: services.transfer(
        user, holding, services.account_for(d["recipient"]), tonnes=d["tonnes"], price_fen_per_tonne=d["price"],
        serials=_serials(d["serial"])), _("已转让。"))

    def retire(data):
        retirement = services.retire(user, holding, serials=_serials(data["serial"]),
                                     **{name: data[name] for name in RETIRE_FIELDS})
        return reverse("registry:certificate", args=[retirement.certificate_no])

    actions.form("retire", f.RetireForm, retire, _("已注销，证书已生成。"))
    if not actions.posted:
        actions.forms["retire"].initial["beneficiary"] = str(holding)
    return actions.respond("registry/account.html", queries.account_view(holding))


@never_cache
@enterprise_page
def market(request):
    holding = services.account_for(access.holder_org(request.user))

    def buy(data):
        services.buy(request.user, get_object_or_404(Listing, pk=data["listing"]), data["tonnes"])
        return reverse("registry:account")

    actions = Actions(request)
    actions.form("buy", f.BuyForm, buy, _("购买成功，减排量已转入本机构账户。"))
    listings = (Listing.objects.filter(status=Listing.Status.OPEN).exclude(seller=holding)
                .select_related("seller__organisation").order_by("price_fen_per_tonne", "pk"))
    return actions.respond("registry/market.html", {"listings": listings})


# Project owners ----------------------------------------------------------------------------------

@never_cache
@enterprise_page
def my_projects(request):
    actions = Actions(request)
    actions.form("project", f.ProjectForm, lambda d: _goto("registry:project-manage")(services.register_project(
        request.user, **d)), _("项目已登记为草稿，请上传项目文件后提交审定。"))
    return actions.respond("registry/projects_mine.html", {
        "projects": Project.objects.filter(owner=access.holder_org(request.user)).select_related("validator")})


@never_cache
@enterprise_page
def project_manage(request, pk: int):
    project = get_object_or_404(Project, pk=pk, owner=access.holder_org(request.user))
    documents_ = project.documents.order_by("pk")
    user = request.user
    actions = Actions(request)
    actions.form("document", f.DocumentForm, lambda d: services.upload_document(
        user, project, title=d["title"], upload=d["file"]), _("文件已上传。"))
    actions.form("monitoring", f.MonitoringForm, lambda d: services.add_monitoring(
        user, project, period_start=d["period_start"], period_end=d["period_end"], quantity=str(d["quantity"]),
        unit=d["unit"], factor_g_per_unit=str(d["factor"]),
        document=documents_.filter(pk=d["document"]).first() if d["document"] else None),
        _("监测数据已记录。"), documents=documents_)
    actions.button("submit", lambda: services.submit_project(user, project), _("项目已提交审定。"))
    return actions.respond("registry/project_manage.html", {
        "project": project, "documents": documents_, "monitoring": project.monitoring.order_by("period_start", "pk")})

