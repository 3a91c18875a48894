"""Methodology parameters as exact decimals, the shipped defaults and their sources.

Plain data with no Django imports: the engines (`tanhui.methodology.engines`) and the reference
implementation read these; the database keeps them as versions (`tanhui init` loads the defaults).
See docs/methodologies.md.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# Bounds keep every intermediate product of the engines inside 38 decimal digits (10**38).
MAX_PARAM = Decimal(10_000)
PARAM_PLACES = 9
MAX_WINDOW_DAYS = 31


def _check(name: str, value: Decimal, *, positive: bool = True) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, not {value!r}")
    if value < 0 or (positive and value == 0) or value > MAX_PARAM:
        raise ValueError(f"{name} = {value} is outside {'(0' if positive else '[0'}, {MAX_PARAM}]")
    if value != value.quantize(Decimal(1).scaleb(-PARAM_PLACES)):
        raise ValueError(f"{name} = {value} has more than {PARAM_PLACES} decimal places")


def _check_count(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} = {value!r} must be an integer in [{low}, {high}]")


@dataclass(frozen=True)
class TransitParams:
    """A trip methodology (metro, bus, bike): reduction per km and plausibility limits."""

    factor_g_per_km: Decimal
    max_km: Decimal
    max_kmh: Decimal
    daily_cap: int

    def __post_init__(self):
        _check("factor_g_per_km", self.factor_g_per_km)
        _check("max_km", self.max_km)
        _check("max_kmh", self.max_kmh)
        _check_count("daily_cap", self.daily_cap, 0, 1_000_000)


@dataclass(frozen=True)
class HouseholdParams:
    """Household electricity: grid factor, per-month daily baseline and the own-average window."""

    grid_factor_g_per_kwh: Decimal
    baseline_kwh_by_month: tuple[Decimal, ...]  # January first
    max_kwh: Decimal = Decimal(200)
    vacant_below_kwh: Decimal = Decimal("1.0")
    window_days: int = 7

    def __post_init__(self):
        _check("grid_factor_g_per_kwh", self.grid_factor_g_per_kwh)
        if not isinstance(self.baseline_kwh_by_month, tuple) or len(self.baseline_kwh_by_month) != 12:
            raise ValueError("baseline_kwh_by_month must be a tuple of 12 Decimals, January first")
        for month, baseline in enumerate(self.baseline_kwh_by_month, start=1):
            _check(f"baseline_kwh_by_month[{month}]", baseline, positive=False)
        _check("max_kwh", self.max_kwh)
        _check("vacant_below_kwh", self.vacant_below_kwh, positive=False)
        _check_count("window_days", self.window_days, 1, MAX_WINDOW_DAYS)


Params = TransitParams | HouseholdParams


@dataclass(frozen=True)
class VersionedParams:
    """The parameters in force for local dates in [valid_from, valid_to); valid_to None = open-ended."""

    version_id: int
    factor_version_id: int
    valid_from: date
    valid_to: date | None
    params: Params


class UncoveredDateError(ValueError):
    """A record's local date has no effective methodology version; nothing of the batch is judged."""


def check_versions(versions: list[VersionedParams]) -> list[VersionedParams]:
    """Returns the versions sorted by valid_from; raises when they are empty, mixed or overlapping."""
    if not versions:
        raise ValueError("no methodology version given")
    kinds = {type(v.params) for v in versions}
    if len(kinds) != 1:
        raise ValueError(f"versions mix parameter types: {sorted(k.__name__ for k in kinds)}")
    ordered = sorted(versions, key=lambda v: v.valid_from)
    for v in ordered:
        if v.valid_to is not None and v.valid_to <= v.valid_from:
            raise ValueError(f"version {v.version_id}: valid_to {v.valid_to} is not after valid_from {v.valid_from}")
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.valid_to is None or before.valid_to > after.valid_from:
            raise ValueError(f"versions {before.version_id} and {after.version_id} overlap")
    return ordered


def version_for(versions: list[VersionedParams], day: date) -> VersionedParams | None:
    return next((v for v in versions if v.valid_from <= day and (v.valid_to is None or day < v.valid_to)), None)


def params_from_json(kind: str, parameters: dict, factor: Decimal) -> Params:
    """Builds parameters from a methodology version's JSON (decimals as strings, see shipped.json)
    and the factor version's value: `kind` is "trip" or "household"."""
    if kind == "trip":
        return TransitParams(factor_g_per_km=Decimal(factor), max_km=Decimal(parameters["max_km"]),
                             max_kmh=Decimal(parameters["max_kmh"]), daily_cap=int(parameters["daily_cap"]))
    if kind == "household":
        return HouseholdParams(
            grid_factor_g_per_kwh=Decimal(factor),
            baseline_kwh_by_month=tuple(Decimal(b) for b in parameters["baseline_kwh_by_month"]),
            max_kwh=Decimal(parameters["max_kwh"]), vacant_below_kwh=Decimal(parameters["vacant_below_kwh"]),
            window_days=int(parameters["window_days"]))
    raise ValueError(f"unknown scenario kind {kind!r}")


# The shipped defaults (shared/reference/methodologies.md).
TRANSIT_BASIS = ("深圳市低碳公共出行碳普惠方法学（试行），深圳市生态环境局，2021-12-10："
                 "相对于城市机动化出行基准的每人公里减排因子")
BIKE_BASIS = "武汉“武碳江湖”共享单车减排因子，93.3 gCO2e/km（2025）"
HOUSEHOLD_BASIS = ("深圳市居民低碳用电碳普惠方法学（试行），2022-06-21：低于城市人均日基准用电量的部分计为减排；"
                   "高于基准时与本户前 7 日平均用电量比较")
GRID_SOURCE = "生态环境部、国家统计局：2023 年全国电力平均二氧化碳排放因子 0.5306 kgCO2/kWh"
BASELINE_SOURCE = ("示例性季节基准表（深圳报道的 5–12 kWh/日区间）；各地部署应发布本地基准 "
                   "(illustrative seasonal table; a deployment publishes its own)")

DEFAULT_PARAMS: dict[str, Params] = {
    "metro": TransitParams(Decimal("46.8"), Decimal(80), Decimal(100), 6),
    "bus": TransitParams(Decimal("26.9"), Decimal(50), Decimal(60), 6),
    "bike": TransitParams(Decimal("93.3"), Decimal(30), Decimal(30), 4),
    "household_power": HouseholdParams(
        Decimal("530.6"),
        tuple(Decimal(b) for b in ("6.0", "5.5", "6.0", "7.0", "9.0", "11.0",
                                   "12.0", "12.0", "10.5", "8.0", "6.5", "6.0"))),
}

DEFAULT_SOURCES: dict[str, dict[str, str]] = {
    "metro": {"basis": TRANSIT_BASIS, "factor_g_per_km": TRANSIT_BASIS + "（地铁 46.8）",
              "limits": TRANSIT_BASIS + "（地铁：80 km、100 km/h、每日 6 次）"},
    "bus": {"basis": TRANSIT_BASIS, "factor_g_per_km": TRANSIT_BASIS + "（电动公交 26.9）",
            "limits": TRANSIT_BASIS + "（公交：50 km、60 km/h、每日 6 次）"},
    "bike": {"basis": BIKE_BASIS, "factor_g_per_km": BIKE_BASIS,
             "limits": "bike v1：每次最长 30 km、平均时速不超过 30 km/h、每日最多 4 次"},
    "household_power": {"basis": HOUSEHOLD_BASIS, "grid_factor_g_per_kwh": GRID_SOURCE,
                        "baseline_kwh_by_month": BASELINE_SOURCE,
                        "limits": "household_power v1：读数 0–200 kWh，低于 1.0 kWh 视为空置（减排为 0）"},
}
