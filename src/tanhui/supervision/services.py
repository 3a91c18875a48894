"""The write path of supervision: buildings and meters, readings, emission factors, energy caps,
alerts, and the carbon-peak plan (tasks, progress reports, indicators). Views, the API and the
commands call these functions; nothing else changes supervision data."""

import hashlib
from collections import Counter
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa
from django.db import transaction
from django.db.models import F, Subquery
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError, NotAllowed
from tanhui.core.timeutil import local_date
from tanhui.people.models import District, Organisation
from tanhui.supervision import access, analytics, anomalies, readings
from tanhui.supervision.models import (
    Alert,
    Building,
    BuildingType,
    DailyUsage,
    EnergyCap,
    EnergyFactor,
    EnergyKind,
    Evidence,
    GridRegion,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    Meter,
    Plan,
    PlanTask,
    Reading,
    ReadingBatch,
    TaskReport,
)
from tanhui.supervision.plan import infer_due, parse_targets, parse_task_table, split_departments
from tanhui.supervision.tables import read_rows, records, saved_upload

CAP_LEVELS = ((80, Alert.Kind.CAP_80), (100, Alert.Kind.CAP_100))
EVIDENCE_MAX_BYTES = 20 * 1024 * 1024
EVIDENCE_SUFFIXES = {".pdf", ".jpg", ".jpeg", ".png", ".docx", ".doc", ".xlsx", ".xls", ".csv", ".txt", ".zip"}
INTERVALS = {"15min": 900, "900": 900, "1h": 3600, "hourly": 3600, "3600": 3600, "1d": 86400, "daily": 86400,
             "86400": 86400}
OWNER_KINDS = {BuildingType.SCHOOL: Organisation.Kind.SCHOOL,
               BuildingType.HOSPITAL: Organisation.Kind.PUBLIC_INSTITUTION,
               BuildingType.PUBLIC_INSTITUTION: Organisation.Kind.PUBLIC_INSTITUTION}


def _choice(value: str, choices, what: str) -> str:
    if value not in choices.values:
        raise DomainError("malformed", f"{what} {value!r}: one of {', '.join(choices.values)}")
    return value


# ---- buildings and meters -------------------------------------------------------------------------

def upsert_building(*, code: str, name: str, type: str, floor_area_m2: int, district: str, owner: str,
                    owner_kind: str = "", key_energy_user: bool = False, grid_region: str = GridRegion.EAST,
                    address: str = "") -> tuple[Building, bool]:
    _choice(type, BuildingType, "building type")
    _choice(grid_region, GridRegion, "grid region")
    if floor_area_m2 <= 0:
        raise DomainError("malformed", f"building {code}: the floor area must be positive")
    district_obj, _ = District.objects.get_or_create(name=district)
    kind = owner_kind or OWNER_KINDS.get(type, Organisation.Kind.ENTERPRISE)
    owner_obj, _ = Organisation.objects.get_or_create(kind=_choice(kind, Organisation.Kind, "owner kind"), name=owner,
                                                      defaults={"district": district_obj})
    return Building.objects.update_or_create(code=code, defaults={
        "name": name, "type": type, "floor_area_m2": floor_area_m2, "district": district_obj, "owner": owner_obj,
        "key_energy_user": key_energy_user, "grid_region": grid_region, "address": address})


def upsert_meter(*, code: str, building: Building, kind: str, mode: str = Meter.Mode.CUMULATIVE,
                 interval_s: int = Meter.Interval.QUARTER_HOUR, parent: Meter | None = None,
                 name: str = "") -> tuple[Meter, bool]:
    """A meter's kind, mode and interval are fixed once it has readings (they give them meaning)."""
    _choice(kind, EnergyKind, "energy kind")
    _choice(mode, Meter.Mode, "reading mode")
    if interval_s not in Meter.Interval.values:
        raise DomainError("malformed", f"meter {code}: interval must be 15min, 1h or 1d")
    if parent is not None and (parent.building_id != building.pk or parent.kind != kind or parent.code == code):
        raise DomainError("invalid_parent",
                          f"meter {code}: a main meter is another meter of the same building and kind")
    meter = Meter.objects.filter(code=code).first()
    if meter and meter.last_ts is not None and (meter.kind, meter.mode, meter.interval_s) != (kind, mode, interval_s):
        raise Conflict("meter_has_readings", f"meter {code} has readings: its kind, mode and interval cannot change")
    return Meter.objects.update_or_create(code=code, defaults={
        "building": building, "kind": kind, "mode": mode, "interval_s": interval_s, "parent": parent, "name": name})


@transaction.atomic
def import_buildings(path: Path) -> dict:
    """CSV/XLSX with code, name, type, floor_area_m2, district, owner and optionally owner_kind,
    key_energy_user (1/0, 是/否), grid_region, address. Idempotent by code."""
    created = updated = 0
    for row in records(read_rows(path), ("code", "name", "type", "floor_area_m2", "district", "owner")):
        try:
            area = int(Decimal(row["floor_area_m2"]))
        except InvalidOperation as exc:
            raise DomainError("malformed", f"building {row['code']}: floor area {row['floor_area_m2']!r}") from exc
        _, was_created = upsert_building(
            code=row["code"], name=row["name"], type=row["type"], floor_area_m2=area, district=row["district"],
            owner=row["owner"], owner_kind=row.get("owner_kind", ""),
            key_energy_user=row.get("key_energy_user", "").lower() in {"1", "true", "yes", "是", "y"},
            grid_region=row.get("grid_region") or GridRegion.EAST, address=row.get("address", ""))
        created, updated = created + was_created, updated + (not was_created)
    return {"created": created, "updated": updated}


@transaction.atomic
def import_meters(path: Path) -> dict:
    """CSV/XLSX with code, building, kind and optionally mode, interval (15min, 1h, 1d), parent, name."""
    created = updated = 0
    rows = records(read_rows(path), ("code", "building", "kind"))
    for row in sorted(rows, key=lambda r: bool(r.get("parent"))):  # main meters first
        building = Building.objects.filter(code=row["building"]).first()
        if building is None:
            raise DomainError("unknown_building", f"meter {row['code']}: no building {row['building']!r}")
        parent = None
        if row.get("parent"):
            parent = Meter.objects.filter(code=row["parent"]).first()
            if parent is None:
                raise DomainError("invalid_parent", f"meter {row['code']}: no meter {row['parent']!r}")
        interval = INTERVALS.get((row.get("interval") or "15min").lower())
        if interval is None:
            raise DomainError("malformed", f"meter {row['code']}: interval must be 15min, 1h or 1d")
        _, was_created = upsert_meter(code=row["code"], building=building, kind=row["kind"],
                                      mode=row.get("mode") or Meter.Mode.CUMULATIVE, interval_s=interval,
                                      parent=parent, name=row.get("name", ""))
        created, updated = created + was_created, updated + (not was_created)
    return {"created": created, "updated": updated}


# ---- readings -------------------------------------------------------------------------------------

def import_readings(source: Path | pa.Table, *, actor=None, source_kind: str = ReadingBatch.Source.FILE,
                    filename: str = "", now: datetime | None = None, progress=None) -> ReadingBatch:
    """Judges and stores one delivery of readings (columns meter, ts, value) in one transaction.

    `actor` None is the command line (every meter); a user may send readings only for the meters
    `access.meters_for` gives them; others count as unknown meters. On failure nothing is stored
    and the batch is marked failed."""
    now = now or timezone.now()
    if isinstance(source, Path):
        if not source.is_file():
            raise DomainError("no_such_file", f"no such file: {source}")
        filename = filename or source.name
    batch = ReadingBatch.objects.create(source=source_kind, filename=filename[:300], submitted_by=actor)
    scope = Meter.objects.all() if actor is None else access.meters_for(actor)
    delivery = None
    try:
        with transaction.atomic():
            meters = list(scope.select_for_update(of=("self",)).order_by("pk"))
            delivery = readings.Delivery(source, meters, now, batch.pk)
            for meter_id, (first, last) in delivery.late.items():
                delivery.add_stored(meter_id, list(Reading.objects.filter(
                    meter_id=meter_id, ts__gte=first, ts__lte=last).values_list("ts", flat=True)))
            summary = _store(delivery, readings.NullProgress() if progress is None else progress, local_date(now))
            ReadingBatch.objects.filter(pk=batch.pk).update(status=ReadingBatch.Status.DONE, finished_at=timezone.now(),
                                                            **summary)
    except Exception as exc:
        ReadingBatch.objects.filter(pk=batch.pk).update(status=ReadingBatch.Status.FAILED, error=str(exc)[:2000],
                                                        finished_at=timezone.now())
        raise
    finally:
        if delivery:
            delivery.close()
    batch.refresh_from_db()
    return batch


def import_reading_upload(upload, actor, source_kind: str) -> ReadingBatch:
    """A file uploaded through a page or the API (CSV, JSON Lines or Parquet)."""
    if Path(upload.name).suffix.lower() not in readings.SUPPORTED_SUFFIXES:
        raise DomainError("unsupported_file", "use .csv, .jsonl or .parquet")
    with saved_upload(upload) as path:
        return import_readings(path, actor=actor, source_kind=source_kind, filename=upload.name)


def _store(delivery: readings.Delivery, progress, today: date) -> dict:
    """Writes the judged groups, moves the meters on, recomputes emissions and checks caps."""
    reasons, flags, state, meter_ids, days = Counter(), Counter(), [], [], []
    for group in delivery.groups():
        readings.write(group, progress)
        reasons += group.reasons
        flags.update(resets=group.resets, gaps=group.gaps, missing=group.missing)
        state += group.state
        meter_ids += group.meters
        days += [d for d in group.days if d]
    Meter.objects.bulk_update([Meter(pk=pk, last_ts=ts, last_register_milli=register) for pk, ts, register in state],
                              ["last_ts", "last_register_milli"], batch_size=1000)
    total = sum(delivery.parts.values())
    if days:
        recompute_emissions(meter_ids, min(days), max(days))
        building_ids = Meter.objects.filter(pk__in=meter_ids).values_list("building_id", flat=True)
        check_caps(set(building_ids), range(min(days).year, max(days).year + 1), today)
    return {"readings": total, "accepted": total - sum(reasons.values()), "rejected": sum(reasons.values()),
            "rejected_by_reason": dict(sorted(reasons.items())), "resets": flags["resets"], "gaps": flags["gaps"],
            "missing_intervals": flags["missing"]}


# ---- emission factors -----------------------------------------------------------------------------

def publish_factor(kind: str, region: str, valid_from: date, kg_per_unit: Decimal, source: str) -> EnergyFactor:
    """A new factor version (effective from `valid_from` until the next version) and the emissions
    it changes. Versions are never edited: publish a later one instead."""
    _choice(kind, EnergyKind, "energy kind")
    if region:
        _choice(region, GridRegion, "grid region")
    mg = kg_per_unit * 1_000_000
    if mg != mg.to_integral_value() or mg <= 0:
        raise DomainError("malformed", "the factor must be positive, at most 6 decimals in kg per unit")
    if not source.strip():
        raise DomainError("malformed", "a factor needs its source")
    with transaction.atomic():
        if EnergyFactor.objects.filter(kind=kind, region=region, valid_from=valid_from).exists():
            raise Conflict("factor_exists", "a version with this date exists; publish one with a later date")
        factor = EnergyFactor.objects.create(kind=kind, region=region, valid_from=valid_from, mg_per_unit=int(mg),
                                             source=source.strip())
        recompute_emissions(start=valid_from)
    return factor


def recompute_emissions(meter_ids=None, start: date | None = None, end: date | None = None) -> None:
    """Emissions of daily usage = energy × the factor effective that day, in whole grams (rounded
    half up per meter and day). Integer arithmetic in SQL: g = (milli-units × mg/unit + 500000) / 10⁶."""
    meters = Meter.objects.all() if meter_ids is None else Meter.objects.filter(pk__in=meter_ids)
    for kind, region in meters.order_by().values_list("kind", "building__grid_region").distinct():
        ids = Subquery(meters.filter(kind=kind, building__grid_region=region).values("id"))
        for factor, valid_from, valid_to in analytics.factor_periods(kind, region):
            rows = DailyUsage.objects.filter(meter_id__in=ids)
            lower = max(filter(None, (valid_from, start)), default=None)
            if lower:
                rows = rows.filter(day__gte=lower)
            if valid_to:
                rows = rows.filter(day__lt=valid_to)
            if end:
                rows = rows.filter(day__lte=end)
            if factor is None:
                rows.update(emission_g=0, factor=None)
            else:
                rows.update(emission_g=(F("value_milli") * factor.mg_per_unit + 500_000) / 1_000_000, factor=factor)


# ---- energy caps and alerts -----------------------------------------------------------------------

def set_cap(building: Building, year: int, cap_tce: Decimal, by=None, today: date | None = None) -> EnergyCap:
    if not building.key_energy_user:
        raise DomainError("not_key_energy_user", f"{building.code} is not a key energy user (重点用能单位)")
    cap_kgce = Decimal(cap_tce) * 1000
    if cap_kgce <= 0 or cap_kgce != cap_kgce.to_integral_value():
        raise DomainError("malformed", "the cap is a positive number of tce with at most 3 decimals")
    with transaction.atomic():
        cap, _ = EnergyCap.objects.update_or_create(building=building, year=year,
                                                    defaults={"cap_kgce": int(cap_kgce), "set_by": by})
        check_caps([building.pk], [year], today or local_date(timezone.now()))
    return cap


def check_caps(building_ids, years, today: date) -> list[Alert]:
    """Alerts when a key energy user's energy use for the year reaches 80% and 100% of its cap."""
    raised = []
    caps = EnergyCap.objects.filter(building_id__in=building_ids, year__in=list(years)).select_related("building")
    for cap in caps:
        used = analytics.energy_kgce(cap.building, date(cap.year, 1, 1), date(cap.year, 12, 31))
        share = used * 100 / cap.cap_kgce
        for level, kind in CAP_LEVELS:
            if share >= level:
                raised.append(_raise(
                    f"{kind}:{cap.building_id}:{cap.year}", kind, cap.building, None, today,
                    f"{cap.year} 年能耗 {used / 1000:,.1f} tce，"
                    f"达到限额 {cap.cap_kgce / 1000:,.1f} tce 的 {share:.0f}%",
                    {"year": cap.year, "used_kgce": int(used.to_integral_value(ROUND_HALF_UP)),
                     "cap_kgce": cap.cap_kgce}))
    return [a for a in raised if a]


def _raise(key, kind, building, meter, day, message, detail) -> Alert | None:
    """Creates the alert unless one with the same key exists; returns it only when new."""
    alert, created = Alert.objects.get_or_create(key=key, defaults={
        "kind": kind, "building": building, "meter": meter, "day": day, "message": message[:300], "detail": detail})
    return alert if created else None


@transaction.atomic
def scan(day: date, now: datetime | None = None) -> dict:
    """Runs the anomaly rules for a local day (usually yesterday) and the silence check at `now`;
    resolves silence alerts of meters that reported again. Idempotent."""
    now = now or timezone.now()
    raised = [_raise(f.key, f.kind, f.building, f.meter, f.day, f.message, f.detail)
              for f in anomalies.find(day, now)]
    resolved = 0
    for alert in Alert.objects.filter(kind=Alert.Kind.SILENT, status__in=[Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED],
                                      ).select_related("meter"):
        if alert.meter.last_ts > alert.detail["last_ts"]:
            alert.status, alert.handled_at = Alert.Status.RESOLVED, now
            alert.save(update_fields=["status", "handled_at"])
            resolved += 1
    building_ids = Building.objects.filter(key_energy_user=True).values_list("pk", flat=True)
    new = [a for a in raised if a] + check_caps(building_ids, [day.year], day)
    by_kind: dict[str, int] = {}
    for alert in new:
        by_kind[alert.kind] = by_kind.get(alert.kind, 0) + 1
    return {"day": day.isoformat(), "alerts": len(new), "by_kind": by_kind, "resolved": resolved}


def handle_alert(alert: Alert, user, status: str) -> Alert:
    if not access.buildings_for(user).filter(pk=alert.building_id).exists():
        raise NotAllowed("forbidden", "无权处理此告警")
    if status not in (Alert.Status.ACKNOWLEDGED, Alert.Status.RESOLVED):
        raise DomainError("malformed", "status must be acknowledged or resolved")
    alert.status, alert.handled_by, alert.handled_at = status, user, timezone.now()
    alert.save(update_fields=["status", "handled_by", "handled_at"])
    return alert


# ---- carbon-peak plan -----------------------------------------------------------------------------

def _departments(names: list[str], district) -> list[Organisation]:
    return [Organisation.objects.get_or_create(kind=Organisation.Kind.GOVERNMENT, name=name,
                                               defaults={"district": district})[0] for name in names]


@transaction.atomic
def import_plan(path: Path, plan_name: str, *, starts_on: date, default_due: date, district: str = "") -> dict:
    """Imports a task division table (Excel or CSV, seed 002's shape). Idempotent by task number:
    a re-import updates texts, departments and due dates and keeps the reports."""
    rows = parse_task_table(read_rows(path))
    district_obj = District.objects.get_or_create(name=district)[0] if district else None
    plan, _ = Plan.objects.update_or_create(name=plan_name, defaults={
        "starts_on": starts_on, "default_due": default_due, "district": district_obj})
    created = 0
    for row in rows:
        task, was_created = PlanTask.objects.update_or_create(plan=plan, number=row.number, defaults={
            "area": row.area[:200], "sub_area": row.sub_area[:200], "text": row.text,
            "due": row.due or infer_due(row.text) or plan.default_due})
        task.departments.set(_departments(row.departments, plan.district))
        created += was_created
    departments = {name for row in rows for name in row.departments}
    return {"plan_id": plan.pk, "plan": plan.name, "tasks": len(rows), "created": created,
            "updated": len(rows) - created, "departments": len(departments)}


@transaction.atomic
def import_indicators(path: Path, plan: Plan) -> dict:
    """CSV/XLSX with code, name, unit, direction (up/down), baseline_year, baseline_value, targets
    ("2025:75;2035:85"), departments ("区建管委、区发改委") and optionally task (its number)."""
    created = 0
    rows = records(read_rows(path), ("code", "name", "unit", "direction", "baseline_year", "baseline_value",
                                     "targets", "departments"))
    for row in rows:
        try:
            baseline_year, baseline_value = int(row["baseline_year"]), Decimal(row["baseline_value"])
        except (ValueError, InvalidOperation) as exc:
            raise DomainError("malformed", f"indicator {row['code']}: baseline year and value") from exc
        task = PlanTask.objects.filter(plan=plan, number=row["task"]).first() if row.get("task") else None
        indicator, was_created = Indicator.objects.update_or_create(plan=plan, code=row["code"], defaults={
            "name": row["name"], "unit": row["unit"], "direction": _choice(row["direction"], Indicator.Direction,
                                                                           "direction"),
            "baseline_year": baseline_year, "baseline_value": baseline_value, "task": task})
        indicator.departments.set(_departments(split_departments(row["departments"]), plan.district))
        indicator.targets.all().delete()
        IndicatorTarget.objects.bulk_create(IndicatorTarget(indicator=indicator, year=y, value=v)
                                            for y, v in parse_targets(row["targets"]))
        created += was_created
    return {"indicators": len(rows), "created": created, "updated": len(rows) - created}


def report_task(task: PlanTask, user, *, as_of: date, progress: int, summary: str, files=()) -> TaskReport:
    """A department's progress report on one of its own tasks, with evidence files."""
    if not access.can_report_task(user, task):
        raise NotAllowed("not_your_task", "只能报送本部门负责的任务")
    if not 0 <= progress <= 100:
        raise DomainError("malformed", "progress is a percentage from 0 to 100")
    if as_of > local_date(timezone.now()):
        raise DomainError("malformed", "the report date is in the future")
    if not summary.strip():
        raise DomainError("malformed", "describe the progress")
    with transaction.atomic():
        report = TaskReport.objects.create(task=task, department_id=user.organisation_id, reported_by=user,
                                           as_of=as_of, progress=progress, summary=summary.strip())
        _attach(files, task_report=report)
    return report


def report_indicator(indicator: Indicator, user, *, year: int, value: Decimal, note: str = "",
                     files=()) -> IndicatorValue:
    if not access.can_report_indicator(user, indicator):
        raise NotAllowed("not_your_indicator", "只能报送本部门负责的指标")
    if not indicator.baseline_year <= year <= local_date(timezone.now()).year:
        raise DomainError("malformed", f"year must be between {indicator.baseline_year} and this year")
    with transaction.atomic():
        reported = IndicatorValue.objects.create(indicator=indicator, year=year, value=value, note=note.strip(),
                                                 department_id=user.organisation_id, reported_by=user)
        _attach(files, indicator_value=reported)
    return reported


def _attach(files, **owner) -> None:
    for upload in files:
        name = Path(upload.name).name
        if Path(name).suffix.lower() not in EVIDENCE_SUFFIXES:
            allowed = ", ".join(sorted(EVIDENCE_SUFFIXES))
            raise DomainError("unsupported_file", f"{name}: evidence must be one of {allowed}")
        if upload.size > EVIDENCE_MAX_BYTES:
            raise DomainError("file_too_large", f"{name}: at most 20 MB")
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        Evidence.objects.create(file=upload, name=name[:255], size=upload.size, sha256=digest.hexdigest(), **owner)
