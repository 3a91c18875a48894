"""The citizen's pages (mobile first): account home, statement down to the records, bindings and
scenario authorisations, account closure, certificates. Every view acts on the signed-in citizen
only (`citizen_page`); changes go through `tanhui.people.services`."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tanhui.core.errors import DomainError
from tanhui.ledger.services import citizen_summary
from tanhui.methodology.models import Scenario
from tanhui.people import services
from tanhui.people.models import Binding, Consent
from tanhui.portal import queries
from tanhui.portal.access import citizen_page
from tanhui.portal.forms import BindForm, CloseAccountForm, GrantForm
from tanhui.portal.hooks import collect

CALENDAR_DAYS = 365
CHART_MONTHS = 12
CERTIFICATE_APPS = ("tanhui.engagement", "tanhui.registry", "tanhui.rewards")


def grams(mg: int) -> float:
    """Charts show grams CO2e: a citizen's day is grams, not tonnes (display only)."""
    return mg / 1000


@citizen_page
def home(request, citizen):
    today = queries.today()
    first = today - timedelta(days=CALENDAR_DAYS - 1)
    calendar = {"range": [first.isoformat(), today.isoformat()],
                "days": [[day.isoformat(), grams(mg)] for day, mg in queries.daily_totals(citizen, first, today)]}
    return render(request, "portal/citizen/home.html", {
        "citizen": citizen, "summary": citizen_summary(citizen.pk),
        "today_mg": queries.reduction_between(citizen, today, today),
        "month_mg": queries.reduction_between(citizen, today.replace(day=1), today),
        "calendar": calendar,
    })


@citizen_page
def statement(request, citizen):
    summary = citizen_summary(citizen.pk)
    names = queries.scenario_names()
    months = queries.monthly_totals(citizen)
    recent = months[-CHART_MONTHS:]
    codes = sorted({code for m in recent for code in m["by_scenario"]})
    chart = {"categories": [m["month"].strftime("%Y-%m") for m in recent],
             "series": [{"name": names.get(code, code), "data": [grams(m["by_scenario"].get(code, 0)) for m in recent]}
                        for code in codes]}
    by_scenario = [(names.get(code, code), totals) for code, totals in summary["by_scenario"].items()]
    return render(request, "portal/citizen/statement.html", {
        "summary": summary, "by_scenario": by_scenario, "months": months[::-1], "chart": chart})


@citizen_page
def statement_month(request, citizen, year: int, month: int):
    first = _date_or_404(year, month, 1)
    names = queries.scenario_names()
    days = queries.month_days(citizen, first)
    for day in days:
        day["scenarios"] = [names.get(code, code) for code in sorted(day["by_scenario"])]
    chart = {"categories": [d["day"].strftime("%m-%d") for d in days],
             "series": [{"name": _("减排量"), "data": [grams(d["mg"]) for d in days]}]}
    previous = first - timedelta(days=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return render(request, "portal/citizen/month.html", {
        "first": first, "days": days, "chart": chart, "total_mg": sum(d["mg"] for d in days),
        "previous": previous, "following": following if following <= queries.today() else None})


@citizen_page
def statement_day(request, citizen, year: int, month: int, day: int):
    the_day = _date_or_404(year, month, day)
    records = list(queries.day_records(citizen, the_day))
    return render(request, "portal/citizen/day.html", {
        "day": the_day, "records": records, "total_mg": sum(r.reduction_mg for r in records)})


def _date_or_404(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise Http404 from exc


# Bindings and authorisations -------------------------------------------------------------------

@citizen_page
def data(request, citizen):
    return _data_page(request, citizen)


def _data_page(request, citizen, bind_form=None, failed_grant=None, status=200):
    """The bindings and authorisations page; a form that failed validation is shown with its errors."""
    consents = {c.scenario_id: c for c in citizen.consents.filter(revoked_at__isnull=True)}
    failed_code, failed_form = failed_grant or (None, None)
    scenarios = [{"scenario": scenario, "consent": consents.get(scenario.pk),
                  "form": failed_form if scenario.code == failed_code else GrantForm(prefix=scenario.code)}
                 for scenario in Scenario.objects.order_by("id")]
    return render(request, "portal/citizen/data.html", {
        "bindings": citizen.bindings.filter(unbound_at__isnull=True).select_related("provider")
                                    .order_by("bound_at"),
        "bind_form": bind_form or BindForm(), "scenarios": scenarios,
        "history": Consent.objects.filter(citizen=citizen, revoked_at__isnull=False)
                                  .select_related("scenario").order_by("-revoked_at")[:10],
    }, status=status)


@require_POST
@citizen_page
def bind(request, citizen):
    form = BindForm(request.POST)
    if form.is_valid():
        try:
            services.bind(citizen, form.cleaned_data["provider"], form.cleaned_data["external_user_id"])
        except DomainError as exc:
            form.add_error("external_user_id", exc.message)
        else:
            messages.success(request, _("已绑定。该账户今后报送的记录将按您的场景授权计入碳账户。"))
            return redirect("portal:data")
    return _data_page(request, citizen, bind_form=form, status=400)


@require_POST
@citizen_page
def unbind(request, citizen, pk: int):
    services.unbind(get_object_or_404(Binding, pk=pk, citizen=citizen, unbound_at__isnull=True))
    messages.success(request, _("已解绑。该账户此后的记录不再计入您的碳账户，已入账的积分不受影响。"))
    return redirect("portal:data")


@require_POST
@citizen_page
def grant(request, citizen, code: str):
    scenario = get_object_or_404(Scenario, code=code)
    form = GrantForm(request.POST, prefix=code)
    if not form.is_valid():
        return _data_page(request, citizen, failed_grant=(code, form), status=400)
    services.grant_consent(citizen, scenario, form.cleaned_data["effective_from"])
    messages.success(request, _("已授权“%(name)s”，自 %(day)s 起的记录将用于计算减排量。")
                     % {"name": scenario.name, "day": form.cleaned_data["effective_from"].isoformat()})
    return redirect("portal:data")


@require_POST
@citizen_page
def revoke(request, citizen, code: str):
    scenario = get_object_or_404(Scenario, code=code)
    services.revoke_consent(citizen, scenario)
    messages.success(request, _("已撤销“%(name)s”的授权，此后不再使用该场景的数据。") % {"name": scenario.name})
    return redirect("portal:data")


# Closure and certificates ----------------------------------------------------------------------

@citizen_page
def close(request, citizen):
    form = CloseAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.close_account(citizen)
        logout(request)
        return render(request, "portal/citizen/closed.html")
    return render(request, "portal/citizen/close.html", {"form": form, "summary": citizen_summary(citizen.pk)},
                  status=400 if form.is_bound else 200)


@citizen_page
def certificates(request, citizen):
    """The citizen's certificates from every app that issues them: such an app offers
    `certificates.for_citizen(citizen)` → [{"title", "number", "issued_on", "url"}]."""
    offered = collect(CERTIFICATE_APPS, "certificates", "for_citizen", citizen)
    return render(request, "portal/citizen/certificates.html", {
        "certificates": sorted((c for found in offered.values() for c in found), key=lambda c: c["issued_on"],
                               reverse=True)})
