"""Read models for the portal pages: a citizen's reductions by day and month, and their records.

They read `ingest.Reduction` (one row per accepted record, dated by the behaviour's local date),
so "today" means behaviour on today's Asia/Shanghai date, whenever the provider reported it.
"""

from datetime import date, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from tanhui.core.timeutil import local_date
from tanhui.ingest.models import Reduction
from tanhui.methodology.models import Scenario


def today() -> date:
    return local_date(timezone.now())


def scenario_names() -> dict[str, str]:
    return dict(Scenario.objects.values_list("code", "name"))


def reduction_between(citizen, first: date, last: date) -> int:
    """Milligrams CO2e of the citizen's behaviour on local dates first..last."""
    total = Reduction.objects.filter(citizen=citizen, local_date__range=(first, last)).aggregate(
        mg=Sum("reduction_mg"))["mg"]
    return total or 0


def daily_totals(citizen, first: date, last: date) -> list[tuple[date, int]]:
    """[(day, mg)] for the days with reductions, oldest first."""
    return list(Reduction.objects.filter(citizen=citizen, local_date__range=(first, last))
                .values_list("local_date").annotate(Sum("reduction_mg")).order_by("local_date"))


def _by_period(rows, key: str) -> list[dict]:
    """Folds (period, scenario code, mg, records) rows into one entry per period, oldest first."""
    periods: dict[date, dict] = {}
    for when, code, mg, records in rows:
        entry = periods.setdefault(when, {key: when, "mg": 0, "records": 0, "by_scenario": {}})
        entry["mg"] += mg
        entry["records"] += records
        entry["by_scenario"][code] = mg
    return [periods[when] for when in sorted(periods)]


def monthly_totals(citizen) -> list[dict]:
    """Every month with reductions, oldest first: {"month", "mg", "records", "by_scenario": {code: mg}}."""
    return _by_period(Reduction.objects.filter(citizen=citizen).annotate(month=TruncMonth("local_date"))
                      .values_list("month", "scenario__code").annotate(Sum("reduction_mg"), Count("id")),
                      "month")


def month_days(citizen, first: date) -> list[dict]:
    """The days with reductions in the month starting on `first`, like `monthly_totals` per day."""
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return _by_period(Reduction.objects.filter(citizen=citizen, local_date__range=(first, last))
                      .values_list("local_date", "scenario__code").annotate(Sum("reduction_mg"), Count("id")),
                      "day")


def day_records(citizen, day: date):
    """The citizen's records of one local date with their provenance: provider, batch, methodology
    version and factor version."""
    return (Reduction.objects.filter(citizen=citizen, local_date=day)
            .select_related("scenario", "provider", "batch", "methodology_version__methodology",
                            "factor_version__factor")
            .order_by("started_at", "id"))
