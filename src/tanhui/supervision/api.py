"""Supervision API under /api/v1/supervision/: building owners send readings for their own meters;
administrators see every building, benchmark, set caps; department reporters report progress on
their own plan tasks and indicators. Signed-in sessions or HTTP Basic (for metering gateways)."""

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import HttpBasicAuth, django_auth

from tanhui.core.errors import DomainError, NotAllowed
from tanhui.core.timeutil import local_date
from tanhui.supervision import access, analytics, services
from tanhui.supervision.models import Alert, Building, Indicator, Plan, PlanTask, ReadingBatch


class BasicAuth(HttpBasicAuth):
    """Username and password, for gateways that push readings without a browser session."""

    def authenticate(self, request, username, password):
        user = authenticate(request, username=username, password=password)
        if user is not None:
            request.user = user
        return user


router = Router(tags=["supervision"], auth=[django_auth, BasicAuth()])

MAX_READINGS = 50_000


def _admin(request) -> None:
    if not access.is_admin(request.auth):
        raise NotAllowed("forbidden", "仅限主管部门")


def _plan_reader(request) -> None:
    if not access.can_see_plan(request.auth):
        raise NotAllowed("forbidden", "仅限主管部门和责任部门")


def _today() -> date:
    return local_date(timezone.now())


# ---- buildings and readings -----------------------------------------------------------------------

class MeterOut(Schema):
    code: str
    kind: str
    unit: str
    mode: str
    interval_s: int
    parent: str | None
    last_reading_at: str | None


class BuildingOut(Schema):
    code: str
    name: str
    type: str
    floor_area_m2: int
    district: str
    owner: str
    key_energy_user: bool


class FiguresOut(Schema):
    start: date
    end: date
    kwh: Decimal
    tce: Decimal
    emission_kg: Decimal
    eui_kwh_m2: Decimal
    carbon_kg_m2: Decimal
    days_with_data: int
    score: int | None
    percentile: int | None


class BuildingDetailOut(BuildingOut):
    meters: list[MeterOut]
    figures: FiguresOut


def _building_out(b: Building) -> dict:
    return {"code": b.code, "name": b.name, "type": b.type, "floor_area_m2": b.floor_area_m2,
            "district": b.district.name, "owner": b.owner.name, "key_energy_user": b.key_energy_user}


def _building(request, code: str) -> Building:
    return get_object_or_404(access.buildings_for(request.auth).select_related("district", "owner"), code=code)


@router.get("/buildings", response=list[BuildingOut])
def list_buildings(request, type: str | None = None):
    buildings = access.buildings_for(request.auth).select_related("district", "owner")
    return [_building_out(b) for b in (buildings.filter(type=type) if type else buildings)]


@router.get("/buildings/{code}", response=BuildingDetailOut)
def building_detail(request, code: str, start: date | None = None, end: date | None = None):
    """With energy, emissions, intensity and benchmark score over a period (default the last 30 days)."""
    building = _building(request, code)
    end = end or _today() - timedelta(days=1)
    start = start or end - timedelta(days=29)
    f = analytics.figures([building], start, end)[building.pk]
    peers = analytics.benchmark(building.type, start, end)
    peer = next((p for p in peers if p.figures.building.pk == building.pk), None)
    return {**_building_out(building), "meters": [
        {"code": m.code, "kind": m.kind, "unit": m.unit, "mode": m.mode, "interval_s": m.interval_s,
         "parent": m.parent.code if m.parent else None,
         "last_reading_at": m.last_reading_at.isoformat() if m.last_ts else None}
        for m in building.meters.select_related("parent")],
        "figures": {"start": start, "end": end, "kwh": f.kwh.quantize(Decimal("0.001")),
                    "tce": (f.kgce / 1000).quantize(Decimal("0.001")), "emission_kg": Decimal(f.emission_g) / 1000,
                    "eui_kwh_m2": f.eui, "carbon_kg_m2": f.carbon_intensity, "days_with_data": f.days_with_data,
                    "score": peer.score if peer else None, "percentile": peer.percentile if peer else None}}


class DayOut(Schema):
    day: date
    kwh: Decimal
    emission_g: int


@router.get("/buildings/{code}/daily", response=list[DayOut])
def building_daily(request, code: str, start: date, end: date):
    if (end - start).days > 366:
        raise DomainError("range_too_long", "at most a year per request")
    return [{"day": d, "kwh": kwh.quantize(Decimal("0.001")), "emission_g": g}
            for d, kwh, g in analytics.daily_series(_building(request, code), start, end)]


class ReadingIn(Schema):
    meter: str
    ts: str
    value: str


class ReadingsIn(Schema):
    readings: list[ReadingIn]


class BatchOut(Schema):
    batch_id: int
    readings: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    resets: int
    gaps: int
    missing_intervals: int


@router.post("/readings", response=BatchOut)
def post_readings(request, payload: ReadingsIn):
    """Readings as JSON (times ISO 8601, without offset = Asia/Shanghai; values as decimal strings),
    for the caller's own meters. The summary says what was accepted and why the rest was not."""
    if len(payload.readings) > MAX_READINGS:
        raise DomainError("too_many_readings", f"at most {MAX_READINGS} readings per request; upload a file")
    table = pa.table({c: [getattr(r, c) for r in payload.readings] for c in ("meter", "ts", "value")},
                     schema=pa.schema([(c, pa.string()) for c in ("meter", "ts", "value")]))
    return services.import_readings(table, actor=request.auth, source_kind=ReadingBatch.Source.API).summary()


@router.post("/readings/file", response=BatchOut)
def upload_readings(request, file: File[UploadedFile]):
    """A CSV, JSON Lines or Parquet file with columns meter, ts, value."""
    return services.import_reading_upload(file, request.auth, ReadingBatch.Source.API).summary()


class IssueOut(Schema):
    seq: int
    meter: str
    ts: str
    value: str
    reason: str
    rejected: bool
    detail: str


class BatchDetailOut(BatchOut):
    status: str
    issues: list[IssueOut]


@router.get("/batches/{batch_id}", response=BatchDetailOut)
def batch_detail(request, batch_id: int):
    """The batch's summary and its first 1,000 issues (rejected or flagged readings)."""
    batch = get_object_or_404(ReadingBatch, pk=batch_id)
    if not (access.is_admin(request.auth) or batch.submitted_by_id == request.auth.pk):
        raise NotAllowed("forbidden", "只能查看本人提交的批次")
    return {**batch.summary(), "status": batch.status, "issues": [
        {"seq": i.seq, "meter": i.meter_code, "ts": i.ts_text, "value": i.value_text, "reason": i.reason,
         "rejected": i.rejected, "detail": i.detail} for i in batch.issues.all()[:1000]]}


# ---- benchmarking, alerts, caps -------------------------------------------------------------------

class PeerOut(Schema):
    code: str
    name: str
    eui_kwh_m2: Decimal
    carbon_kg_m2: Decimal
    coverage: Decimal
    score: int | None
    percentile: int | None


@router.get("/benchmark", response=list[PeerOut])
def benchmark(request, type: str, start: date, end: date):
    _admin(request)
    return [{"code": p.figures.building.code, "name": p.figures.building.name, "eui_kwh_m2": p.figures.eui,
             "carbon_kg_m2": p.figures.carbon_intensity, "coverage": round(p.figures.coverage, 3), "score": p.score,
             "percentile": p.percentile} for p in analytics.benchmark(type, start, end)]


class AlertOut(Schema):
    id: int
    kind: str
    building: str
    meter: str | None
    day: date
    message: str
    status: str


class AlertIn(Schema):
    status: str


def _alert_out(a: Alert) -> dict:
    return {"id": a.pk, "kind": a.kind, "building": a.building.code, "meter": a.meter.code if a.meter else None,
            "day": a.day, "message": a.message, "status": a.status}


@router.get("/alerts", response=list[AlertOut])
def list_alerts(request, status: str | None = None, kind: str | None = None):
    alerts = access.alerts_for(request.auth).select_related("building", "meter")
    alerts = alerts.filter(status=status) if status else alerts
    return [_alert_out(a) for a in (alerts.filter(kind=kind) if kind else alerts)[:500]]


@router.post("/alerts/{alert_id}", response=AlertOut)
def handle_alert(request, alert_id: int, payload: AlertIn):
    alert = get_object_or_404(access.alerts_for(request.auth).select_related("building", "meter"), pk=alert_id)
    return _alert_out(services.handle_alert(alert, request.auth, payload.status))


class CapIn(Schema):
    tce: Decimal


class CapOut(Schema):
    building: str
    year: int
    cap_tce: Decimal
    used_tce: Decimal
    share_percent: Decimal


@router.put("/caps/{code}/{year}", response=CapOut)
def set_cap(request, code: str, year: int, payload: CapIn):
    _admin(request)
    building = _building(request, code)
    services.set_cap(building, year, payload.tce, by=request.auth)
    return _cap_out(building, year)


@router.get("/caps/{code}/{year}", response=CapOut)
def get_cap(request, code: str, year: int):
    return _cap_out(_building(request, code), year)


def _cap_out(building: Building, year: int) -> dict:
    progress = analytics.cap_progress(building, year, _today())
    if progress is None:
        raise DomainError("no_cap", f"no cap for {building.code} in {year}", status=404)
    return {"building": building.code, "year": year, "cap_tce": Decimal(progress["cap"].cap_kgce) / 1000,
            "used_tce": (progress["used_kgce"] / 1000).quantize(Decimal("0.001")),
            "share_percent": progress["share"].quantize(Decimal("0.1"))}


# ---- plan tracking --------------------------------------------------------------------------------

class TaskOut(Schema):
    number: int
    area: str
    sub_area: str
    text: str
    departments: list[str]
    due: date
    progress: int
    expected: int
    status: str
    mine: bool


class IndicatorOut(Schema):
    code: str
    name: str
    unit: str
    baseline_year: int
    baseline_value: Decimal
    targets: dict[int, Decimal]
    latest_year: int | None
    latest: Decimal | None
    expected: Decimal | None
    status: str
    mine: bool


class ReportOut(Schema):
    id: int
    task: int
    as_of: date
    progress: int
    evidence: int


class ValueOut(Schema):
    id: int
    indicator: str
    year: int
    value: Decimal


def _task_out(state, user) -> dict:
    task = state.task
    departments = list(task.departments.all())
    return {"number": task.number, "area": task.area, "sub_area": task.sub_area, "text": task.text,
            "departments": [d.name for d in departments], "due": task.due, "progress": state.progress,
            "expected": state.expected, "status": state.status,
            "mine": any(d.pk == user.organisation_id for d in departments) and access.is_reporter(user)}


@router.get("/plans/{plan_id}/tasks", response=list[TaskOut])
def list_tasks(request, plan_id: int, status: str | None = None, mine: bool = False):
    _plan_reader(request)
    plan = get_object_or_404(Plan, pk=plan_id)
    tasks = plan.tasks.filter(departments=request.auth.organisation_id) if mine else plan.tasks.all()
    states = analytics.task_states(plan, _today(), tasks)
    return [_task_out(s, request.auth) for s in states if not status or s.status == status]


@router.post("/plans/{plan_id}/tasks/{number}/reports", response={201: ReportOut})
def report_task(request, plan_id: int, number: int, as_of: Form[date], progress: Form[int], summary: Form[str],
                evidence: File[list[UploadedFile]] = None):
    """A progress report with evidence files, by a reporter of one of the task's departments."""
    task = get_object_or_404(PlanTask, plan_id=plan_id, number=number)
    report = services.report_task(task, request.auth, as_of=as_of, progress=progress, summary=summary,
                                  files=evidence or [])
    return Status(201, {"id": report.pk, "task": task.number, "as_of": report.as_of, "progress": report.progress,
                        "evidence": report.evidence.count()})


@router.get("/plans/{plan_id}/indicators", response=list[IndicatorOut])
def list_indicators(request, plan_id: int):
    _plan_reader(request)
    plan = get_object_or_404(Plan, pk=plan_id)
    return [{"code": s.indicator.code, "name": s.indicator.name, "unit": s.indicator.unit,
             "baseline_year": s.indicator.baseline_year, "baseline_value": s.indicator.baseline_value,
             "targets": dict(s.targets), "latest_year": s.latest_year, "latest": s.latest, "expected": s.expected,
             "status": s.status, "mine": access.can_report_indicator(request.auth, s.indicator)}
            for s in analytics.indicator_states(plan, _today())]


@router.post("/plans/{plan_id}/indicators/{code}/values", response={201: ValueOut})
def report_indicator(request, plan_id: int, code: str, year: Form[int], value: Form[Decimal], note: Form[str] = "",
                     evidence: File[list[UploadedFile]] = None):
    indicator = get_object_or_404(Indicator, plan_id=plan_id, code=code)
    reported = services.report_indicator(indicator, request.auth, year=year, value=value, note=note,
                                         files=evidence or [])
    return Status(201, {"id": reported.pk, "indicator": indicator.code, "year": reported.year,
                        "value": reported.value})


@router.get("/meters/{code}/gaps")
def meter_gaps(request, code: str, start: date, end: date):
    """Runs of missing readings in a period (flagged, never filled in)."""
    meter = get_object_or_404(access.meters_for(request.auth), code=code)
    if (end - start).days > 366:
        raise DomainError("range_too_long", "at most a year per request")
    return [{"after": a.isoformat(), "before": b.isoformat(), "missing": n}
            for a, b, n in analytics.gaps(meter, start, end)]

