"""Anomaly rules over the hourly rollups (see docs/supervision.md for the reasoning):

- night baseload: in the 7 days ending the day, mean use 0:00–5:00 above a share of the weekday
  working-hours mean (9:00–17:00), for building types that should be nearly empty at night;
- weekend baseload: weekend working-hours mean above a share of the weekday working-hours mean,
  for offices, schools and public institutions;
- jump: an hour of the day above 1.5× the mean of the same hour on the same weekday of the previous
  four weeks (at least three of them with data), by more than a fifth of that weekday's usual peak;
  hours holding the first reading after a gap (a cumulative meter's catch-up) are left out;
- silent: an active meter without a reading for four intervals (at least two hours).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from tanhui.core.timeutil import SHANGHAI
from tanhui.supervision.models import Alert, Building, BuildingType, EnergyKind, HourlyUsage, Meter, ReadingIssue

NIGHT_HOURS = range(0, 5)
WORK_HOURS = range(9, 17)
NIGHT_RATIO = {BuildingType.OFFICE: Decimal("0.5"), BuildingType.SCHOOL: Decimal("0.5"),
               BuildingType.PUBLIC_INSTITUTION: Decimal("0.5"), BuildingType.COMMERCIAL: Decimal("0.5")}
WEEKEND_RATIO = {BuildingType.OFFICE: Decimal("0.6"), BuildingType.SCHOOL: Decimal("0.6"),
                 BuildingType.PUBLIC_INSTITUTION: Decimal("0.6")}
JUMP_RATIO = Decimal("1.5")
JUMP_SHARE_OF_PEAK = Decimal("0.2")
JUMP_WEEKS = 4
JUMP_MIN_WEEKS = 3
SILENT_INTERVALS = 4
SILENT_MIN_S = 2 * 3600


@dataclass
class Finding:
    key: str
    kind: str
    building: Building
    meter: Meter | None
    day: date
    message: str
    detail: dict


def find(day: date, now: datetime) -> list[Finding]:
    meters = list(Meter.objects.filter(active=True, interval_s__lte=3600).select_related("building"))
    first = day - timedelta(days=7 * JUMP_WEEKS)
    hourly = _hourly(meters, first, day)
    caught_up = _gap_hours(meters, first, day)
    findings = []
    for meter in meters:
        values = hourly.get(meter.pk, {})
        if values and meter.kind == EnergyKind.ELECTRICITY and meter.parent_id is None:
            findings += baseload(meter, values, day)
        if values:
            findings += jumps(meter, {k: v for k, v in values.items() if (meter.pk, k) not in caught_up}, day)
    return findings + silent(now)


def _bounds(first: date, last: date) -> tuple[int, int]:
    return (int(datetime.combine(first, datetime.min.time(), SHANGHAI).timestamp()),
            int(datetime.combine(last + timedelta(days=1), datetime.min.time(), SHANGHAI).timestamp()))


def _slot(ts_end: int) -> tuple[date, int]:
    """(local day, local hour) of the interval ending at `ts_end`."""
    at = datetime.fromtimestamp(ts_end - 1, SHANGHAI)
    return at.date(), at.hour


def _gap_hours(meters: list[Meter], first: date, last: date) -> set[tuple[int, tuple[date, int]]]:
    lo, hi = _bounds(first, last)
    flagged = ReadingIssue.objects.filter(reason=ReadingIssue.Reason.GAP, meter__in=[m.pk for m in meters],
                                          ts__gt=lo, ts__lte=hi).values_list("meter_id", "ts")
    return {(meter_id, _slot(ts)) for meter_id, ts in flagged}


def _hourly(meters: list[Meter], first: date, last: date) -> dict[int, dict[tuple[date, int], Decimal]]:
    """{meter: {(local day, local hour): units}} for the days first..last."""
    lo, hi = _bounds(first, last)
    result: dict[int, dict] = defaultdict(dict)
    rows = HourlyUsage.objects.filter(meter__in=[m.pk for m in meters], hour__gte=lo, hour__lt=hi).values_list(
        "meter_id", "hour", "value_milli")
    for meter_id, hour, value in rows.iterator(chunk_size=20_000):
        result[meter_id][_slot(hour + 1)] = Decimal(value) / 1000
    return result


def _mean(values) -> Decimal | None:
    values = list(values)
    return sum(values, Decimal(0)) / len(values) if values else None


def baseload(meter: Meter, values: dict, day: date) -> list[Finding]:
    week = [day - timedelta(days=i) for i in range(7)]
    workday = _mean(values[(d, h)] for d in week if d.weekday() < 5 for h in WORK_HOURS if (d, h) in values)
    if not workday:
        return []
    year, week_no, _ = day.isocalendar()
    findings = []
    checks = [
        (Alert.Kind.NIGHT_BASELOAD, NIGHT_RATIO, [(d, h) for d in week for h in NIGHT_HOURS], "夜间（0–5 时）"),
        (Alert.Kind.WEEKEND_BASELOAD, WEEKEND_RATIO, [(d, h) for d in week if d.weekday() >= 5 for h in WORK_HOURS],
         "周末工作时段"),
    ]
    for kind, limits, slots, label in checks:
        limit = limits.get(meter.building.type)
        mean = _mean(values[s] for s in slots if s in values)
        if limit is None or mean is None or mean / workday <= limit:
            continue
        ratio = (mean / workday).quantize(Decimal("0.01"))
        findings.append(Finding(
            f"{kind}:{meter.pk}:{year}-W{week_no:02d}", kind, meter.building, meter, day,
            f"{label}平均负荷为工作日白天的 {ratio:.0%}（限值 {limit:.0%}）",
            {"ratio": str(ratio), "limit": str(limit), "mean": str(mean.quantize(Decimal("0.001"))),
             "workday_mean": str(workday.quantize(Decimal("0.001")))}))
    return findings


def jumps(meter: Meter, values: dict, day: date) -> list[Finding]:
    earlier = [day - timedelta(days=7 * w) for w in range(1, JUMP_WEEKS + 1)]
    usual = {}
    for hour in range(24):
        past = [values[(d, hour)] for d in earlier if (d, hour) in values]
        if len(past) >= JUMP_MIN_WEEKS:
            usual[hour] = _mean(past)
    if not usual:
        return []
    peak = max(usual.values())
    hours = [{"hour": h, "value": str(values[(day, h)]), "usual": str(usual[h].quantize(Decimal("0.001")))}
             for h, base in usual.items() if (day, h) in values
             and values[(day, h)] > base * JUMP_RATIO and values[(day, h)] - base > peak * JUMP_SHARE_OF_PEAK]
    if not hours:
        return []
    listed = "、".join(f"{h['hour']}时" for h in hours[:6]) + ("等" if len(hours) > 6 else "")
    return [Finding(f"{Alert.Kind.JUMP}:{meter.pk}:{day.isoformat()}", Alert.Kind.JUMP, meter.building, meter, day,
                    f"{meter.code} 在 {listed} 的用量超过前四周同一星期几同时段均值的 {JUMP_RATIO} 倍",
                    {"hours": hours})]


def silent(now: datetime) -> list[Finding]:
    findings = []
    for meter in Meter.objects.filter(active=True, last_ts__isnull=False).select_related("building"):
        allowed = max(SILENT_INTERVALS * meter.interval_s, SILENT_MIN_S)
        if now.timestamp() - meter.last_ts > allowed:
            since = meter.last_reading_at
            findings.append(Finding(
                f"{Alert.Kind.SILENT}:{meter.pk}:{meter.last_ts}", Alert.Kind.SILENT, meter.building, meter,
                since.date(), f"{meter.code} 自 {since:%Y-%m-%d %H:%M} 起没有读数",
                {"last_ts": meter.last_ts}))
    return findings
