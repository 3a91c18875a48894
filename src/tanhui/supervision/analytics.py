"""The read side: energy, emissions and intensity by building and period, benchmarking among peers,
emission factor periods, data gaps, energy cap progress and plan status. Nothing here writes.

Building totals count main meters only (sub-meters break a main meter down); energy is summed per
energy kind first and converted once, so totals are exact decimals of the stored integers.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Sum

from tanhui.core.timeutil import SHANGHAI
from tanhui.supervision.models import (
    KGCE_PER_UNIT,
    KWH_PER_UNIT,
    Building,
    DailyUsage,
    EnergyFactor,
    Indicator,
    Meter,
    Plan,
    PlanTask,
    Reading,
    TaskReport,
)
from tanhui.supervision.plan import Status, indicator_status, task_status

MIN_COVERAGE = Decimal("0.8")
CENT = Decimal("0.01")  # share of the period's days with data needed to be benchmarked


def factor_periods(kind: str, region: str) -> list[tuple[EnergyFactor | None, date | None, date | None]]:
    """[(factor, from, until)] covering all days: a regional version where one is in force, the
    national one otherwise, nothing before the first version."""
    versions = list(EnergyFactor.objects.filter(kind=kind, region__in=["", region]).order_by("valid_from"))
    bounds = sorted({f.valid_from for f in versions})
    if not bounds:
        return [(None, None, None)]

    def effective(day: date) -> EnergyFactor | None:
        in_force = [f for f in versions if f.valid_from <= day]
        regional = [f for f in in_force if f.region]
        return (regional or in_force or [None])[-1]

    periods = [(None, None, bounds[0])]
    for start, until in zip(bounds, [*bounds[1:], None], strict=True):
        periods.append((effective(start), start, until))
    return periods


@dataclass
class Figures:
    """A building's energy and emissions over a period, with intensities per year."""

    building: Building
    days: int  # days in the period
    days_with_data: int = 0
    value_milli: dict = field(default_factory=dict)  # by energy kind
    emission_g: int = 0

    @property
    def kwh(self) -> Decimal:
        return sum((Decimal(v) / 1000 * KWH_PER_UNIT[k] for k, v in self.value_milli.items()), Decimal(0))

    @property
    def kgce(self) -> Decimal:
        return sum((Decimal(v) / 1000 * KGCE_PER_UNIT[k] for k, v in self.value_milli.items()), Decimal(0))

    @property
    def emission_kg(self) -> Decimal:
        return Decimal(self.emission_g) / 1000

    @property
    def coverage(self) -> Decimal:
        return Decimal(self.days_with_data) / self.days

    @property
    def eui(self) -> Decimal:
        """kWh per m² and year (annualised over the period)."""
        return (self.kwh * 365 / self.days / self.building.floor_area_m2).quantize(CENT, ROUND_HALF_UP)

    @property
    def carbon_intensity(self) -> Decimal:
        """kg CO2e per m² and year (annualised over the period)."""
        return (self.emission_kg * 365 / self.days / self.building.floor_area_m2).quantize(CENT, ROUND_HALF_UP)


def figures(buildings, start: date, end: date) -> dict[int, Figures]:
    buildings = list(buildings)
    days = (end - start).days + 1
    result = {b.pk: Figures(b, days) for b in buildings}
    rows = (DailyUsage.objects.filter(meter__building__in=[b.pk for b in buildings], meter__parent__isnull=True,
                                      day__gte=start, day__lte=end)
            .values_list("meter__building_id", "meter__kind").annotate(Sum("value_milli"), Sum("emission_g")))
    for building_id, kind, value, emission in rows:
        f = result[building_id]
        f.value_milli[kind] = value
        f.emission_g += emission
    covered = (DailyUsage.objects.filter(meter__building__in=[b.pk for b in buildings], meter__parent__isnull=True,
                                         day__gte=start, day__lte=end)
               .values_list("meter__building_id").annotate(Count("day", distinct=True)))
    for building_id, n in covered:
        result[building_id].days_with_data = n
    return result


def energy_kgce(building: Building, start: date, end: date) -> Decimal:
    return figures([building], start, end)[building.pk].kgce


@dataclass
class Peer:
    figures: Figures
    score: int | None = None
    percentile: int | None = None  # share of peers with a higher (worse) intensity, in %


def score(eui: Decimal, peers: list[Decimal]) -> tuple[int, int] | None:
    """(score 1–100, percentile) like ENERGY STAR: 50 is the median of the peers, 100 the most
    efficient. The percentile counts peers with a higher intensity, ties as half."""
    others = len(peers) - 1
    if others < 1:
        return None
    worse = sum(1 for p in peers if p > eui)
    ties = sum(1 for p in peers if p == eui) - 1
    percentile = (Decimal(worse) + Decimal(ties) / 2) / others * 100
    rounded = int(percentile.quantize(Decimal(1), ROUND_HALF_UP))
    return max(1, min(100, rounded)), rounded


def benchmark(building_type: str, start: date, end: date) -> list[Peer]:
    """Buildings of one type ranked by energy intensity (best first); those with less than
    MIN_COVERAGE of the period's days with data are listed last without a score."""
    fig = figures(Building.objects.filter(type=building_type), start, end).values()
    ranked = [f for f in fig if f.coverage >= MIN_COVERAGE]
    euis = [f.eui for f in ranked]
    peers = []
    for f in sorted(ranked, key=lambda f: f.eui):
        result = score(f.eui, euis)
        peers.append(Peer(f, *(result or (None, None))))
    return peers + [Peer(f) for f in fig if f.coverage < MIN_COVERAGE]


def daily_series(building: Building, start: date, end: date) -> list[tuple[date, Decimal, int]]:
    """(day, kWh equivalent, g CO2e) for every day of the period, zero where there is no data."""
    totals: dict[date, list] = {start + timedelta(days=i): [Decimal(0), 0] for i in range((end - start).days + 1)}
    rows = (DailyUsage.objects.filter(meter__building=building, meter__parent__isnull=True, day__gte=start,
                                      day__lte=end)
            .values_list("day", "meter__kind").annotate(Sum("value_milli"), Sum("emission_g")))
    for day, kind, value, emission in rows:
        totals[day][0] += Decimal(value) / 1000 * KWH_PER_UNIT[kind]
        totals[day][1] += emission
    return [(day, kwh, g) for day, (kwh, g) in totals.items()]


def meter_totals(building: Building, start: date, end: date) -> list[tuple[Meter, int, int]]:
    """(meter, milli-units, g CO2e) for each of the building's meters over the period."""
    sums = dict((m, (v, e)) for m, v, e in DailyUsage.objects.filter(
        meter__building=building, day__gte=start, day__lte=end).values_list("meter_id").annotate(
        Sum("value_milli"), Sum("emission_g")))
    return [(m, *sums.get(m.pk, (0, 0))) for m in building.meters.order_by("parent_id", "code")]


def gaps(meter: Meter, start: date, end: date) -> list[tuple[datetime, datetime, int]]:
    """Runs of missing intervals between the first and last reading of the period:
    (last reading before, next reading after, missing intervals)."""
    lo = int(datetime.combine(start, datetime.min.time(), SHANGHAI).timestamp())
    hi = int(datetime.combine(end + timedelta(days=1), datetime.min.time(), SHANGHAI).timestamp())
    stamps = Reading.objects.filter(meter=meter, ts__gt=lo, ts__lte=hi).order_by("ts").values_list("ts", flat=True)
    found, previous = [], None
    for ts in stamps.iterator(chunk_size=10_000):
        if previous is not None and ts - previous > meter.interval_s:
            found.append((datetime.fromtimestamp(previous, SHANGHAI), datetime.fromtimestamp(ts, SHANGHAI),
                          (ts - previous) // meter.interval_s - 1))
        previous = ts
    return found


def cap_progress(building: Building, year: int, today: date) -> dict | None:
    cap = building.caps.filter(year=year).first()
    if cap is None:
        return None
    used = energy_kgce(building, date(year, 1, 1), date(year, 12, 31))
    elapsed = (min(today, date(year, 12, 31)) - date(year, 1, 1)).days + 1
    year_days = (date(year, 12, 31) - date(year, 1, 1)).days + 1
    projected = used * year_days / elapsed if elapsed > 0 else used
    return {"cap": cap, "used_kgce": used, "share": used * 100 / cap.cap_kgce,
            "projected_kgce": projected, "projected_share": projected * 100 / cap.cap_kgce}


# ---- plan status ----------------------------------------------------------------------------------

@dataclass
class TaskState:
    task: PlanTask
    report: TaskReport | None
    status: str
    expected: int

    @property
    def progress(self) -> int:
        return self.report.progress if self.report else 0

    @property
    def label(self) -> str:
        return Status(self.status).label


def task_states(plan: Plan, today: date, tasks=None) -> list[TaskState]:
    """Each task's status from its latest report dated on or before `today`."""
    tasks = (tasks if tasks is not None else plan.tasks.all()).prefetch_related(
        "departments", Prefetch("reports", TaskReport.objects.filter(as_of__lte=today).order_by("-as_of", "-id")))
    states = []
    for task in tasks:
        report = next(iter(task.reports.all()), None)
        status, expected = task_status(report.progress if report else 0, plan.starts_on, task.due, today)
        states.append(TaskState(task, report, status, expected))
    return states


@dataclass
class IndicatorState:
    indicator: Indicator
    status: str
    latest_year: int | None
    latest: Decimal | None
    expected: Decimal | None
    targets: list

    @property
    def label(self) -> str:
        return Status(self.status).label


def indicator_states(plan: Plan, today: date) -> list[IndicatorState]:
    states = []
    for ind in plan.indicators.prefetch_related("targets", "departments", "values"):
        values: dict[int, Decimal] = {}
        for v in sorted(ind.values.all(), key=lambda v: v.id):  # a later report for a year supersedes
            if v.year <= today.year:
                values[v.year] = v.value
        targets = [(t.year, t.value) for t in ind.targets.all()]
        status, expected = indicator_status(ind.direction == Indicator.Direction.UP,
                                            (ind.baseline_year, ind.baseline_value), targets, values, today)
        latest_year = max(values) if values else None
        states.append(IndicatorState(ind, status, latest_year, values.get(latest_year), expected, targets))
    return states


def status_counts(states) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for s in states:
        counts[s.status] += 1
    return {s.value: counts.get(s.value, 0) for s in Status if counts.get(s.value)}
