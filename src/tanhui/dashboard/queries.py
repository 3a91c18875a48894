"""Read models of the public big screen: aggregates only, never a person.

Figures are integers in milligrams CO2e (pages and scripts turn them into tonnes). A snapshot is
cached for SNAPSHOT_SECONDS, so any number of screens refreshing costs one set of queries a minute.
"""

from collections import defaultdict
from datetime import date, timedelta
from importlib import import_module

from django.apps import apps
from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.translation import get_language

from tanhui.core.timeutil import local_date
from tanhui.ingest.models import Reduction
from tanhui.people.models import Citizen, Consent

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


def snapshot() -> dict:
    return cache.get_or_set(f"dashboard:snapshot:{get_language()}", build_snapshot, SNAPSHOT_SECONDS)


def build_snapshot() -> dict:
    today = local_date(timezone.now())
    totals = Reduction.objects.aggregate(mg=Sum("reduction_mg"), records=Count("id"), latest=Max("local_date"))
    trend_end = min(totals["latest"] or today, today)
    return {
        "generated_at": timezone.localtime().isoformat(timespec="seconds"),
        "participants": Citizen.objects.filter(status=Citizen.Status.ACTIVE).count(),
        "authorised": Consent.objects.filter(revoked_at__isnull=True, citizen__status=Citizen.Status.ACTIVE)
                                     .values("citizen").distinct().count(),
        "records": totals["records"],
        "reduction_mg": totals["mg"] or 0,
        "today_mg": _sum(local_date=today),
        "month_mg": _sum(local_date__range=(today.replace(day=1), today)),
        "by_scenario": [{"code": code, "name": name, "mg": mg} for code, name, mg in
                        Reduction.objects.values_list("scenario__code", "scenario__name")
                        .annotate(mg=Sum("reduction_mg")).order_by("-mg")],
        "trend": trend(trend_end - timedelta(days=TREND_DAYS - 1), trend_end),
        "districts": district_ranking(),
        "buildings": building_intensity(),
        **extension_panels(),
    }


def _sum(**conditions) -> int:
    return Reduction.objects.filter(**conditions).aggregate(mg=Sum("reduction_mg"))["mg"] or 0


def trend(first: date, last: date) -> dict:
    """Daily reductions by scenario on the local dates first..last (the 30 days up to the latest
    day with data, so a screen showing an older data set is not blank)."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    series: dict[str, dict] = {}
    rows = (Reduction.objects.filter(local_date__range=(first, last))
            .values_list("scenario__code", "scenario__name", "local_date").annotate(Sum("reduction_mg")))
    for code, name, day, mg in rows:
        series.setdefault(code, {"code": code, "name": name, "mg": [0] * len(days)})["mg"][index[day]] = mg
    return {"days": [day.isoformat() for day in days], "series": sorted(series.values(), key=lambda s: s["code"])}


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
    panels = {}
    for key, app in EXTENSION_PANELS.items():
        if apps.is_installed(app):
            try:
                module = import_module(f"{app}.dashboard")
            except ModuleNotFoundError:
                continue
            panels[key] = module.figures()
    return panels
