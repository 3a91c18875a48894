"""Administrator views where the Django admin is awkward: methodology versions with their factors and
sources, batch monitoring across providers, and the audited support look-up of a citizen by phone."""

from datetime import timedelta
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Sum
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tanhui.core.pii import lookup_hash
from tanhui.ingest.models import Batch, Provider, Reduction
from tanhui.ledger.services import citizen_summary
from tanhui.methodology.models import EmissionFactor, FactorVersion, Methodology, MethodologyVersion
from tanhui.people.models import Citizen
from tanhui.people.services import find_citizen_by_phone
from tanhui.portal.access import admin_page
from tanhui.portal.forms import LookupForm
from tanhui.portal.models import AuditEvent

PAGE_SIZE = 50
RECENT_LOOKUPS = 20


@admin_page
def overview(request):
    counts = dict(Batch.objects.values_list("status").annotate(Count("id")))
    return render(request, "portal/manage/overview.html", {
        "citizens": Citizen.objects.filter(status=Citizen.Status.ACTIVE).count(),
        "providers": Provider.objects.filter(active=True).count(),
        "batch_status": [(value, label, counts.get(value, 0)) for value, label in Batch.Status.choices],
        "last_day": Batch.objects.filter(created_at__gte=timezone.now() - timedelta(days=1)).aggregate(
            batches=Count("id"), records=Sum("records"), rejected=Sum("rejected"), reduction_mg=Sum("reduction_mg")),
    })


@admin_page
def methodologies(request):
    """Every methodology version and factor version, marked when a reduction already uses it (it can
    then no longer be edited)."""
    used_mv = Exists(Reduction.objects.filter(methodology_version=OuterRef("pk")))
    used_fv = Exists(Reduction.objects.filter(factor_version=OuterRef("pk")))
    return render(request, "portal/manage/methodologies.html", {
        "methodologies": Methodology.objects.order_by("code").prefetch_related(
            Prefetch("versions", MethodologyVersion.objects.annotate(used=used_mv).order_by("valid_from")),
            "scenarios"),
        "factors": EmissionFactor.objects.order_by("code").prefetch_related(
            Prefetch("versions", FactorVersion.objects.annotate(used=used_fv).order_by("valid_from")),
            "scenarios"),
    })


@admin_page
def batches(request):
    status = request.GET.get("status", "")
    provider = request.GET.get("provider", "")
    rows = Batch.objects.select_related("provider", "scenario")
    if status in Batch.Status.values:
        rows = rows.filter(status=status)
    if provider:
        rows = rows.filter(provider__code=provider)
    return render(request, "portal/manage/batches.html", {
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "filter_query": urlencode({"status": status, "provider": provider}) + "&",
        "status": status, "provider": provider, "status_choices": Batch.Status.choices,
        "providers": Provider.objects.order_by("code").values_list("code", "name"),
    })


@never_cache
@require_http_methods(["GET", "POST"])
@admin_page
def lookup(request):
    """Support look-up by phone. The number is POSTed (never in a URL or an access log) and every
    look-up is written to the audit log with who asked and whom it found, before anything is shown."""
    form = LookupForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        citizen = find_citizen_by_phone(phone)
        AuditEvent.objects.create(actor=request.user, action=AuditEvent.Action.CITIZEN_LOOKUP, citizen=citizen,
                                  query_hash=lookup_hash(phone))
        found = _support_facts(citizen) if citizen else {"citizen": None}
        form = LookupForm()  # the number is not echoed back into the page
    return render(request, "portal/manage/lookup.html", {
        "form": form, "found": found,
        "log": AuditEvent.objects.filter(action=AuditEvent.Action.CITIZEN_LOOKUP)
                                 .select_related("actor", "citizen")[:RECENT_LOOKUPS],
    }, status=400 if form.errors else 200)


def _support_facts(citizen: Citizen) -> dict:
    """What support staff need to answer a citizen: account, bindings, authorisations, recent records."""
    return {"citizen": citizen, "summary": citizen_summary(citizen.pk),
            "bindings": citizen.bindings.select_related("provider").order_by("-bound_at"),
            "consents": citizen.consents.select_related("scenario").order_by("-granted_at"),
            "recent": Reduction.objects.filter(citizen=citizen).select_related("scenario", "provider")
            .order_by("-local_date", "-id")[:20]}
