"""Read models of the public big screen: aggregates only, never a person.

Figures are integers in milligrams CO2e (pages and scripts turn them into tonnes). A snapshot is
cached for SNAPSHOT_SECONDS, so any number of screens refreshing costs one set of queries a minute.
"""

from collections import defaultdict
from datetime import date, timedelta
from typing import NamedTuple

from django.apps import apps
from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.translation import get_language

from tanhui.core.timeutil import local_date
from tanhui.ingest.models import Reduction
from tanhui.methodology.models import Scenario
from tanhui.people.models import Citizen, Consent
from tanhui.portal.hooks import collect

SNAPSHOT_SECONDS = 60
TREND_DAYS = 30
RANKED_DISTRICTS = 10
# A district's total is shown only when enough people make it up, so that no figure on a public
# screen is one person's behaviour.
MIN_DISTRICT_PARTICIPANTS = 10
# Campaign and registry figures come from those apps once they exist: an installed app with a
# `dashboard` module whose `figures()` returns [{"label", "value", "unit"}] gets its panel;
# until then the panel stays hidden.
EXTENSION_PANELS = {"campaigns": "tanhui.engagement", "registry": "tanhui.registry"}


class ScenarioDay(NamedTuple):
    scenario: str
    day: date
    mg: int
    records: int


def snapshot() -> dict:
    return cache.get_or_set(f"dashboard:snapshot:{get_language()}", build_snapshot, SNAPSHOT_SECONDS)


def build_snapshot() -> dict:
    today = local_date(timezone.now())
    # One pass over the reductions, grouped by scenario and day, gives the totals, the scenarios,
    # today, this month and the trend; the districts take a second.
    daily = [ScenarioDay(*row) for row in Reduction.objects.values_list("scenario__code", "local_date")
             .annotate(Sum("reduction_mg"), Count("id"))]
    names = dict(Scenario.objects.values_list("code", "name"))
    by_scenario: dict[str, int] = defaultdict(int)
    for row in daily:
        by_scenario[row.scenario] += row.mg
    trend_end = min(max((row.day for row in daily), default=today), today)
    return {
        "generated_at": timezone.localtime().isoformat(timespec="seconds"),
        "participants": Citizen.objects.filter(status=Citizen.Status.ACTIVE).count(),
        "authorised": Consent.objects.filter(revoked_at__isnull=True, citizen__status=Citizen.Status.ACTIVE)
                                     .values("citizen").distinct().count(),
        "records": sum(row.records for row in daily),
        "reduction_mg": sum(by_scenario.values()),
        "today_mg": sum(row.mg for row in daily if row.day == today),
        "month_mg": sum(row.mg for row in daily if today.replace(day=1) <= row.day <= today),
        "by_scenario": [{"code": code, "name": names[code], "mg": mg}
                        for code, mg in sorted(by_scenario.items(), key=lambda item: -item[1])],
        "trend": trend(daily, names, trend_end - timedelta(days=TREND_DAYS - 1), trend_end),
        "districts": district_ranking(),
        "buildings": building_intensity(),
        **extension_panels(),
    }


def trend(daily: list[ScenarioDay], names: dict[str, str], first: date, last: date) -> dict:
    """Daily reductions by scenario on the local dates first..last (the 30 days up to the latest
    day with data, so a screen showing an older data set is not blank)."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    series: dict[str, dict] = {}
    for row in daily:
        if row.day in index:
            entry = series.setdefault(row.scenario, {"code": row.scenario, "name": names[row.scenario],
                                                     "mg": [0] * len(days)})
            entry["mg"][index[row.day]] = row.mg
    return {"days": [day.isoformat() for day in days], "series": [series[code] for code in sorted(series)]}


def district_ranking() -> list[dict]:
    """Districts by total reduction, best first, among those with MIN_DISTRICT_PARTICIPANTS people."""
    participants = dict(Citizen.objects.filter(status=Citizen.Status.ACTIVE, district__isnull=False)
                        .values_list("district__name").annotate(Count("id")))
    rows = (Reduction.objects.filter(citizen__district__isnull=False)
            .values_list("citizen__district__name").annotate(mg=Sum("reduction_mg")).order_by("-mg"))
    ranked = [{"name": name, "mg": mg, "participants": participants.get(name, 0)} for name, mg in rows
              if participants.get(name, 0) >= MIN_DISTRICT_PARTICIPANTS]
    return ranked[:RANKED_DISTRICTS]


def building_intensity() -> list[dict] | None:
    """Carbon intensity (kg CO2e per m² and year) by building type over the 365 days up to the
    latest metered day, from supervision; None when there are no metered buildings."""
    if not apps.is_installed("tanhui.supervision"):
        return None
    from tanhui.supervision.analytics import MIN_COVERAGE, figures
    from tanhui.supervision.models import Building, BuildingType, DailyUsage

    last = DailyUsage.objects.aggregate(day=Max("day"))["day"]
    if last is None:
        return None
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # type: [emission g, floor area m²]
    for fig in figures(Building.objects.all(), last - timedelta(days=364), last).values():
        if fig.coverage >= MIN_COVERAGE:
            totals[fig.building.type][0] += fig.emission_g
            totals[fig.building.type][1] += fig.building.floor_area_m2
    return [{"type": kind, "name": str(BuildingType(kind).label), "kg_per_m2": round(g / 1000 / area, 2),
             "buildings_m2": area} for kind, (g, area) in sorted(totals.items()) if area] or None


def extension_panels() -> dict[str, list]:
    offered = collect(EXTENSION_PANELS.values(), "dashboard", "figures")
    return {key: offered[app] for key, app in EXTENSION_PANELS.items() if app in offered}
