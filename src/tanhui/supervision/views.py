"""Pages for administrators (主管部门), building owners and department reporters (责任部门).
Every view checks who may see what (`access`); changes go through `services`."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tanhui.core.errors import DomainError
from tanhui.core.timeutil import local_date
from tanhui.people.models import District
from tanhui.supervision import access, analytics, charts, forms, reports, services
from tanhui.supervision.models import Alert, Building, BuildingType, Evidence, Plan, ReadingBatch
from tanhui.supervision.plan import Status
from tanhui.supervision.tables import saved_upload

FORMATS = {"pdf": ("application/pdf", reports.to_pdf),
           "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", reports.to_xlsx)}


def _today() -> date:
    return local_date(timezone.now())


def _period(request) -> tuple[date, date, forms.PeriodForm]:
    """The period from ?start=&end= (default: the last 30 full days)."""
    end = _today() - timedelta(days=1)
    form = forms.PeriodForm(request.GET or None, initial={"start": end - timedelta(days=29), "end": end})
    if form.is_bound and form.is_valid():
        return form.cleaned_data["start"], form.cleaned_data["end"], form
    return end - timedelta(days=29), end, form


def _admin_only(request) -> None:
    if not access.is_admin(request.user):
        raise PermissionDenied(_("仅限主管部门"))


def _plan(request) -> Plan:
    if not access.can_see_plan(request.user):
        raise PermissionDenied(_("仅限主管部门和责任部门"))
    plan = Plan.objects.filter(pk=request.GET.get("plan")).first() if request.GET.get("plan") else \
        Plan.objects.order_by("-id").first()
    if plan is None:
        raise Http404(_("尚未导入实施方案"))
    return plan


def _download(report: reports.Report, fmt: str, filename: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404
    content_type, render_to = FORMATS[fmt]
    response = HttpResponse(render_to(report), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


def _month(text: str) -> tuple[int, int]:
    try:
        year, month = (int(x) for x in text.split("-"))
        date(year, month, 1)
    except ValueError as exc:
        raise Http404 from exc
    return year, month


# ---- overview -------------------------------------------------------------------------------------

@login_required
def overview(request):
    buildings = access.buildings_for(request.user)
    context = {"is_admin": access.is_admin(request.user), "is_reporter": access.is_reporter(request.user)}
    if not (context["is_admin"] or context["is_reporter"] or buildings.exists()):
        raise PermissionDenied(_("没有可查看的建筑或方案任务"))
    start, end, _form = _period(request)
    figures = analytics.figures(buildings.select_related("owner"), start, end)
    by_type: dict[str, Decimal] = {}
    for f in figures.values():
        label = f.building.get_type_display()
        by_type[label] = by_type.get(label, Decimal(0)) + Decimal(f.emission_g) / 1_000_000
    context.update(start=start, end=end, buildings=sorted(figures.values(), key=lambda f: f.building.code),
                   total_kwh=sum((f.kwh for f in figures.values()), Decimal(0)),
                   total_t=sum(f.emission_g for f in figures.values()) / 1_000_000,
                   chart=charts.bars(sorted(by_type.items()), title=_("近 30 天碳排放（按建筑类型）"), unit="tCO2e"),
                   alerts=Alert.objects.filter(building__in=buildings, status=Alert.Status.OPEN)
                   .select_related("building", "meter")[:10],
                   districts=District.objects.filter(buildings__isnull=False).distinct(),
                   month=f"{end:%Y-%m}")
    if access.can_see_plan(request.user) and Plan.objects.exists():
        plan = Plan.objects.order_by("-id").first()
        states = analytics.task_states(plan, _today())
        if context["is_reporter"] and not context["is_admin"]:
            states = [s for s in states if any(d.pk == request.user.organisation_id for d in s.task.departments.all())]
        context.update(plan=plan, task_states=states[:20], task_chart=_status_chart(states, _("任务状态")))
    return render(request, "supervision/overview.html", context)


def _status_chart(states, title: str):
    counts = analytics.status_counts(states)
    return charts.bars([(str(Status(s).label), n) for s, n in counts.items()], title=title, unit=_("项"))


# ---- buildings ------------------------------------------------------------------------------------

@login_required
def building_list(request):
    buildings = access.buildings_for(request.user).select_related("district", "owner")
    kind = request.GET.get("type")
    if kind in BuildingType.values:
        buildings = buildings.filter(type=kind)
    start, end, form = _period(request)
    figures = analytics.figures(buildings, start, end)
    scores = {p.figures.building.pk: p for t in {b.type for b in buildings} for p in analytics.benchmark(t, start, end)}
    rows = [(figures[b.pk], scores.get(b.pk)) for b in buildings]
    return render(request, "supervision/building_list.html", {
        "rows": rows, "form": form, "types": BuildingType.choices, "type": kind, "start": start, "end": end})


@login_required
def building_detail(request, code: str):
    building = get_object_or_404(access.buildings_for(request.user).select_related("district", "owner"), code=code)
    start, end, form = _period(request)
    figures = analytics.figures([building], start, end)[building.pk]
    series = analytics.daily_series(building, start, end)
    peers = analytics.benchmark(building.type, start, end)
    ranked = [p for p in peers if p.score is not None]
    mine = next((i for i, p in enumerate(ranked) if p.figures.building.pk == building.pk), None)
    is_admin = access.is_admin(request.user)
    peer_chart = charts.bars(
        [(p.figures.building.code if is_admin else f"#{i + 1}", p.figures.eui) for i, p in enumerate(ranked)],
        title=_("同类建筑能耗强度（年化）"), unit="kWh/m²·a", highlight=mine, label_every=max(1, len(ranked) // 12))
    daily_chart = charts.bars([(f"{d:%m-%d}", kwh) for d, kwh, _g in series], title=_("逐日综合能耗"), unit="kWh",
                              label_every=max(1, len(series) // 10))
    meters = [(m, value, emission, analytics.gaps(m, start, end)[:20])
              for m, value, emission in analytics.meter_totals(building, start, end)]
    return render(request, "supervision/building_detail.html", {
        "building": building, "form": form, "start": start, "end": end, "figures": figures,
        "peer": ranked[mine] if mine is not None else None, "peers": len(ranked), "peer_chart": peer_chart,
        "daily_chart": daily_chart, "meters": meters, "is_admin": is_admin,
        "alerts": building.alerts.select_related("meter")[:20],
        "cap": analytics.cap_progress(building, end.year, _today()),
        "cap_form": forms.CapForm(initial={"year": _today().year}) if is_admin and building.key_energy_user else None,
        "months": [f"{end.year}-{m:02d}" for m in range(end.month, 0, -1)]})


@login_required
@require_POST
def set_cap(request, code: str):
    _admin_only(request)
    building = get_object_or_404(Building, code=code)
    form = forms.CapForm(request.POST)
    if form.is_valid():
        try:
            services.set_cap(building, form.cleaned_data["year"], form.cleaned_data["tce"], by=request.user)
            messages.success(request, _("已设置能耗限额"))
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("请填写年度和限额"))
    return redirect("supervision:building", code=code)


@login_required
def building_report(request, code: str, month: str, fmt: str):
    building = get_object_or_404(access.buildings_for(request.user), code=code)
    year, month_no = _month(month)
    return _download(reports.building_month(building, year, month_no), fmt, f"{building.code}-{month}")


@login_required
def district_report(request, district_id: int, month: str, fmt: str):
    _admin_only(request)
    district = get_object_or_404(District, pk=district_id)
    year, month_no = _month(month)
    return _download(reports.district_month(district, year, month_no), fmt, f"district-{district.pk}-{month}")


@login_required
def benchmark(request):
    _admin_only(request)
    end = _today() - timedelta(days=1)
    form = forms.BenchmarkForm(request.GET or None, initial={
        "type": BuildingType.OFFICE, "start": end - timedelta(days=29), "end": end})
    peers, chart = [], None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        peers = analytics.benchmark(data["type"], data["start"], data["end"])
        ranked = [p for p in peers if p.score is not None]
        chart = charts.bars([(p.figures.building.code, p.figures.eui) for p in ranked],
                            title=_("能耗强度（年化，由低到高）"), unit="kWh/m²·a")
    return render(request, "supervision/benchmark.html", {"form": form, "peers": peers, "chart": chart})


# ---- readings and alerts --------------------------------------------------------------------------

@login_required
def upload_readings(request):
    if not access.meters_for(request.user).exists():
        raise PermissionDenied(_("没有可报送读数的计量表"))
    form = forms.ReadingsUploadForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        try:
            batch = services.import_reading_upload(form.cleaned_data["file"], request.user,
                                                   ReadingBatch.Source.UPLOAD)
            return redirect("supervision:batch", batch_id=batch.pk)
        except DomainError as exc:
            form.add_error("file", exc.message)
    batches = ReadingBatch.objects.all() if access.is_admin(request.user) else \
        ReadingBatch.objects.filter(submitted_by=request.user)
    return render(request, "supervision/upload.html", {"form": form, "batches": batches[:20],
                                                        "meters": access.meters_for(request.user)[:200]})


@login_required
def batch_detail(request, batch_id: int):
    batch = get_object_or_404(ReadingBatch, pk=batch_id)
    if not (access.is_admin(request.user) or batch.submitted_by_id == request.user.pk):
        raise PermissionDenied(_("只能查看本人提交的批次"))
    return render(request, "supervision/batch.html", {"batch": batch, "issues": batch.issues.all()[:500]})


@login_required
def alert_list(request):
    alerts = access.alerts_for(request.user).select_related("building", "meter")
    status = request.GET.get("status", Alert.Status.OPEN)
    if status in Alert.Status.values:
        alerts = alerts.filter(status=status)
    kind = request.GET.get("kind")
    if kind in Alert.Kind.values:
        alerts = alerts.filter(kind=kind)
    return render(request, "supervision/alerts.html", {
        "alerts": alerts[:200], "status": status, "kind": kind, "statuses": Alert.Status.choices,
        "kinds": Alert.Kind.choices, "form": forms.AlertForm()})


@login_required
@require_POST
def handle_alert(request, alert_id: int):
    alert = get_object_or_404(access.alerts_for(request.user), pk=alert_id)
    form = forms.AlertForm(request.POST)
    if form.is_valid():
        try:
            services.handle_alert(alert, request.user, form.cleaned_data["status"])
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = "supervision:alerts"
    return redirect(target)


# ---- plan tracking --------------------------------------------------------------------------------

@login_required
def plan_dashboard(request):
    plan = _plan(request)
    today = _today()
    tasks = analytics.task_states(plan, today)
    indicators = analytics.indicator_states(plan, today)
    areas: dict[str, dict[str, int]] = {}
    for s in tasks:
        areas.setdefault(s.task.area, {}).setdefault(s.status, 0)
        areas[s.task.area][s.status] += 1
    return render(request, "supervision/plan.html", {
        "plan": plan, "today": today, "indicators": indicators, "statuses": Status.choices,
        "areas": [(area, [counts.get(s, 0) for s, _label in Status.choices]) for area, counts in areas.items()],
        "task_chart": _status_chart(tasks, _("任务状态")), "indicator_chart": _status_chart(indicators, _("指标状态")),
        "attention": [s for s in tasks if s.status in (Status.AT_RISK, Status.OVERDUE)],
        "is_admin": access.is_admin(request.user), "years": range(today.year, plan.starts_on.year - 1, -1)})


@login_required
def task_list(request):
    plan = _plan(request)
    tasks = plan.tasks.all()
    mine = request.GET.get("mine") == "1" or (access.is_reporter(request.user) and "mine" not in request.GET)
    if mine and access.is_reporter(request.user):
        tasks = tasks.filter(departments=request.user.organisation_id)
    states = analytics.task_states(plan, _today(), tasks)
    status = request.GET.get("status")
    if status in Status.values:
        states = [s for s in states if s.status == status]
    return render(request, "supervision/tasks.html", {
        "plan": plan, "states": states, "status": status, "statuses": Status.choices, "mine": mine,
        "is_reporter": access.is_reporter(request.user)})


@login_required
def task_detail(request, number: int):
    plan = _plan(request)
    task = get_object_or_404(plan.tasks.prefetch_related("departments"), number=number)
    state = analytics.task_states(plan, _today(), plan.tasks.filter(pk=task.pk))[0]
    can_report = access.can_report_task(request.user, task)
    form = forms.TaskReportForm(request.POST or None, request.FILES or None) if can_report else None
    if request.method == "POST":
        if not can_report:
            raise PermissionDenied(_("只能报送本部门负责的任务"))
        if form.is_valid():
            try:
                services.report_task(task, request.user, as_of=form.cleaned_data["as_of"],
                                     progress=form.cleaned_data["progress"], summary=form.cleaned_data["summary"],
                                     files=form.cleaned_data["evidence"])
                messages.success(request, _("进展已报送"))
                return redirect(f"{request.path}?plan={plan.pk}")
            except DomainError as exc:
                form.add_error(None, exc.message)
    return render(request, "supervision/task.html", {
        "plan": plan, "task": task, "state": state, "form": form,
        "reports": task.reports.select_related("department", "reported_by").prefetch_related("evidence")})


@login_required
def indicator_detail(request, code: str):
    plan = _plan(request)
    indicator = get_object_or_404(plan.indicators.prefetch_related("departments", "targets"), code=code)
    state = next(s for s in analytics.indicator_states(plan, _today()) if s.indicator.pk == indicator.pk)
    can_report = access.can_report_indicator(request.user, indicator)
    form = forms.IndicatorValueForm(request.POST or None, request.FILES or None,
                                    initial={"year": _today().year - 1}) if can_report else None
    if request.method == "POST":
        if not can_report:
            raise PermissionDenied(_("只能报送本部门负责的指标"))
        if form.is_valid():
            try:
                services.report_indicator(indicator, request.user, year=form.cleaned_data["year"],
                                          value=form.cleaned_data["value"], note=form.cleaned_data["note"],
                                          files=form.cleaned_data["evidence"])
                messages.success(request, _("指标数据已报送"))
                return redirect(f"{request.path}?plan={plan.pk}")
            except DomainError as exc:
                form.add_error(None, exc.message)
    return render(request, "supervision/indicator.html", {
        "plan": plan, "indicator": indicator, "state": state, "form": form,
        "values": indicator.values.select_related("department", "reported_by").prefetch_related("evidence")})


@login_required
def evidence(request, evidence_id: int):
    item = get_object_or_404(Evidence.objects.select_related("task_report__task", "indicator_value__indicator"),
                             pk=evidence_id)
    owner = item.task_report.task if item.task_report else item.indicator_value.indicator
    allowed = access.is_admin(request.user) or (
        access.is_reporter(request.user) and owner.departments.filter(pk=request.user.organisation_id).exists())
    if not allowed:
        raise PermissionDenied(_("无权查看此材料"))
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.name)


@login_required
def assessment(request, year: int, fmt: str):
    _admin_only(request)
    plan = _plan(request)
    return _download(reports.assessment(plan, year, _today()), fmt, f"assessment-{plan.pk}-{year}")


@login_required
def plan_import(request):
    _admin_only(request)
    form = forms.PlanImportForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with saved_upload(data["tasks"]) as path:
                result = services.import_plan(path, data["name"], starts_on=data["starts_on"],
                                              default_due=data["default_due"], district=data["district"])
            if data["indicators"]:
                with saved_upload(data["indicators"]) as path:
                    services.import_indicators(path, Plan.objects.get(pk=result["plan_id"]))
            messages.success(request, _("已导入 %(tasks)d 项任务") % {"tasks": result["tasks"]})
            return redirect(f"{redirect('supervision:plan').url}?plan={result['plan_id']}")
        except DomainError as exc:
            form.add_error(None, exc.message)
    return render(request, "supervision/plan_import.html", {"form": form})

