"""Who lives in the synthetic city: operators, transit modes, citizens and merchants.

Everything is drawn from a `random.Random` handed in by the caller, so a seed fixes the city.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from itertools import accumulate

from . import vocab

SCENARIOS = ("metro", "bus", "bike", "household_power")
TRANSIT = ("metro", "bus", "bike")


@dataclass(frozen=True)
class Provider:
    """A data provider and the shape of its own account and record ids."""

    code: str
    name: str
    scenario: str
    id_prefix: str
    id_digits: int
    record_prefix: str

    def new_external_id(self, rng: random.Random, issued: set[str]) -> str:
        return unique(
            issued, lambda: f"{self.id_prefix}{rng.randrange(10**self.id_digits):0{self.id_digits}d}"
        )

    def record_id(self, day: date, seq: int) -> str:
        return f"{self.record_prefix}{day.year}{day.month:02d}{day.day:02d}{seq:07d}"  # strftime is slow


PROVIDERS = (
    Provider("metro_op", "云澜轨道交通集团", "metro", "M", 8, "MTR"),
    Provider("bus_op", "云澜公交集团", "bus", "3104", 12, "BUS"),  # 16-digit transit card numbers
    Provider("bike_op", "青骑出行共享单车", "bike", "U", 10, "BK"),
    Provider("power_grid", "国网云澜供电公司", "household_power", "SG", 10, "SGR"),
)
PROVIDER_FOR = {p.scenario: p for p in PROVIDERS}
BIND_SHARE = {"metro": 0.55, "bus": 0.45, "bike": 0.35, "household_power": 0.6}

# Spread of trip distances: log-normal with this sigma around each mode's mean.
KM_SIGMA = 0.6


@dataclass(frozen=True)
class Mode:
    """How a transit mode is ridden, and the methodology v1 limits its valid trips stay within."""

    scenario: str
    mean_km: float
    km_range: tuple[float, float]
    speed_kmh: tuple[float, float]  # in-vehicle speed
    access_s: tuple[int, int]  # gate-to-gate overhead: walking to the platform, waiting
    max_km: float
    max_kmh: float
    daily_cap: int
    commute_weight: float

    @property
    def mu(self) -> float:
        """Log-normal location that gives the mode its mean distance."""
        return math.log(self.mean_km) - KM_SIGMA**2 / 2

    def draw_km(self, rng: random.Random) -> float:
        low, high = self.km_range
        return round(min(high, max(low, rng.lognormvariate(self.mu, KM_SIGMA))), 2)

    def ride(self, rng: random.Random, km: float) -> timedelta:
        seconds = km / rng.uniform(*self.speed_kmh) * 3600 + rng.uniform(*self.access_s)
        return timedelta(seconds=round(seconds))


MODES = {
    "metro": Mode("metro", 9.0, (1.2, 60.0), (28, 38), (120, 480), 80, 100, 6, 5),
    "bus": Mode("bus", 5.0, (0.8, 35.0), (14, 22), (60, 240), 50, 60, 6, 3),
    "bike": Mode("bike", 2.0, (0.3, 15.0), (9, 15), (0, 60), 30, 30, 4, 2),
}


@dataclass(eq=False)
class Citizen:
    """A resident: the importable row plus the habits that drive their behaviour records."""

    phone: str
    name: str
    district: str
    community: str
    bindings: dict[str, str]  # provider code -> external user id
    consents: dict[str, date | None]  # scenario -> effective from (None: always)
    transit: tuple[str, ...] = ()  # transit scenarios with a binding
    commute: tuple[str, ...] = ()  # transit scenarios of the way to work, in order
    route_km: dict[str, float] = field(default_factory=dict)
    leave_min: float = 470.0  # usual minute of the day leaving home, and leaving work
    return_min: float = 1090.0
    heavy_rider: bool = False  # rides the metro all day on weekdays (beyond the daily cap)
    household: int = 2  # persons
    vacant: bool = False
    thrift: float = 1.0  # personal factor on electricity use

    def external_id(self, scenario: str) -> str | None:
        return self.bindings.get(PROVIDER_FOR[scenario].code)

    def consents_on(self, scenario: str, day: date) -> bool:
        if scenario not in self.consents:
            return False
        since = self.consents[scenario]
        return since is None or since <= day

    def row(self) -> tuple[str, ...]:
        return (
            self.phone,
            self.name,
            self.district,
            self.community,
            format_bindings(self.bindings),
            format_consents(self.consents),
        )


CITIZEN_COLUMNS = ("phone", "name", "district", "community", "bindings", "consents")
CITIZEN_DEFECTS = ("invalid_phone", "unknown_provider", "unknown_scenario", "binding_taken", "invalid_date")


def format_bindings(bindings: dict[str, str]) -> str:
    return ";".join(f"{code}:{ext}" for code, ext in bindings.items())


def format_consents(consents: dict[str, date | str | None]) -> str:
    return ";".join(code if since is None else f"{code}@{since}" for code, since in consents.items())


def unique(issued: set[str], make) -> str:
    """Calls `make()` until it returns a value not yet issued, and records it."""
    while (value := make()) in issued:
        pass
    issued.add(value)
    return value


def new_phone(rng: random.Random, issued: set[str]) -> str:
    return unique(issued, lambda: rng.choice(vocab.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}")


_SURNAME_WEIGHTS = list(accumulate(1 / (rank + 6) for rank in range(len(vocab.SURNAMES))))
_DISTRICTS = list(vocab.DISTRICTS)
_DISTRICT_WEIGHTS = list(accumulate(weight for weight, _, _ in vocab.DISTRICTS.values()))


def new_name(rng: random.Random) -> str:
    if rng.random() < 0.015:
        surname = rng.choice(vocab.COMPOUND_SURNAMES)
    else:
        surname = rng.choices(vocab.SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
    given = rng.choices(vocab.GIVEN_CHARACTERS, k=2 if rng.random() < 0.7 else 1)
    return surname + "".join(given)


def new_district(rng: random.Random) -> str:
    return rng.choices(_DISTRICTS, cum_weights=_DISTRICT_WEIGHTS)[0]


def _consents(rng: random.Random, bound: list[str], start: date, days: int) -> dict[str, date | None]:
    """Most bound scenarios are authorised from always, some from a date (a few inside the
    period), some not at all; rarely a scenario is authorised without a binding."""
    consents = {}
    for scenario in SCENARIOS:
        draw = rng.random()
        if scenario not in bound:
            if draw < 0.02:
                consents[scenario] = None
        elif draw < 0.70:
            consents[scenario] = None
        elif draw < 0.82:
            consents[scenario] = start - timedelta(days=rng.randint(1, 400))
        elif draw < 0.95:
            consents[scenario] = start + timedelta(days=rng.randrange(1, max(2, days)))
    return consents


def _commute(rng: random.Random, transit: tuple[str, ...]) -> tuple[str, ...]:
    """A fifth of the riders (retired, remote, students nearby) has no daily commute."""
    if not transit or rng.random() < 0.2:
        return ()
    primary = rng.choices(transit, weights=[MODES[s].commute_weight for s in transit])[0]
    if primary == "metro" and "bike" in transit and rng.random() < 0.35:
        return ("bike", "metro")  # first and last mile by shared bike
    return (primary,)


def make_citizen(rng: random.Random, issued: set[str], start: date, days: int) -> Citizen:
    district = new_district(rng)
    bindings = {
        p.code: p.new_external_id(rng, issued) for p in PROVIDERS if rng.random() < BIND_SHARE[p.scenario]
    }
    bound = [p.scenario for p in PROVIDERS if p.code in bindings]
    transit = tuple(s for s in TRANSIT if s in bound)
    commute = _commute(rng, transit)
    return Citizen(
        phone=new_phone(rng, issued),
        name=new_name(rng),
        district=district,
        community=rng.choice(vocab.DISTRICTS[district][2]),
        bindings=bindings,
        consents=_consents(rng, bound, start, days),
        transit=transit,
        commute=commute,
        route_km={s: MODES[s].draw_km(rng) for s in commute},
        leave_min=min(600, max(360, rng.gauss(470, 35))),
        return_min=min(1350, max(960, rng.gauss(1090, 50))),
        household=rng.choices((1, 2, 3, 4, 5), weights=(18, 30, 30, 14, 8))[0],
        vacant=rng.random() < 0.03,
        thrift=rng.lognormvariate(0, 0.25),
    )


def make_citizens(rng: random.Random, n: int, issued: set[str], start: date, days: int) -> list[Citizen]:
    """n citizens, among them a few heavy metro riders who authorised metro from always."""
    citizens = [make_citizen(rng, issued, start, days) for _ in range(n)]
    riders = [
        c
        for c in citizens
        if c.external_id("metro") and "metro" in c.consents and c.consents["metro"] is None
    ]
    if riders:
        for citizen in rng.sample(riders, max(1, round(0.004 * len(riders)))):
            citizen.heavy_rider = True
    return citizens


def _spoil_phone(rng: random.Random, phone: str) -> str:
    return rng.choice((phone[:-1], "12" + phone[2:], phone + str(rng.randrange(10))))


def bad_citizen_rows(
    rng: random.Random, citizens: list[Citizen], n: int, issued: set[str], start: date, days: int
) -> list[tuple[str, int, tuple[str, ...]]]:
    """n rows each with exactly one defect, as (kind, index of the citizen it must follow, row).

    A row reusing a binding follows the citizen who holds it, so that citizen imports first.
    """
    owners = [i for i, c in enumerate(citizens) if c.bindings]
    kinds = [k for k in CITIZEN_DEFECTS if owners or k != "binding_taken"]
    bad = []
    for k in range(n):
        kind = kinds[k % len(kinds)]
        person = make_citizen(rng, issued, start, days)
        phone, bindings, consents = person.phone, dict(person.bindings), dict(person.consents)
        after = rng.randrange(-1, len(citizens))
        if kind == "invalid_phone":
            phone = _spoil_phone(rng, phone)
        elif kind == "unknown_provider":
            bindings["taxi_op"] = f"T{rng.randrange(10**8):08d}"
        elif kind == "unknown_scenario":
            consents["taxi"] = None
        elif kind == "binding_taken":
            after = rng.choice(owners)
            code, ext = rng.choice(sorted(citizens[after].bindings.items()))
            bindings[code] = ext
        else:  # invalid_date
            consents[rng.choice(SCENARIOS)] = f"{start.year}-02-30"
        row = (
            phone,
            person.name,
            person.district,
            person.community,
            format_bindings(bindings),
            format_consents(consents),
        )
        bad.append((kind, after, row))
    return bad


MERCHANT_COLUMNS = ("name", "licence_number", "category", "district", "contact_phone")
MERCHANT_COUNT = 36
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(rng: random.Random, division: str) -> str:
    """An 18-character 统一社会信用代码 (GB 32100-2015) with a valid check character:
    registration authority 9 (market regulation), type 1 (company) or 2 (sole trader),
    the district's division code, a 9-digit organisation code."""
    body = "9" + rng.choice("12") + division + f"{rng.randrange(10**9):09d}"
    total = sum(_CREDIT_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(body))
    return body + _CREDIT_ALPHABET[-total % 31]


def _merchant_name(rng: random.Random, category: str, district: str) -> str:
    shop = rng.choice(vocab.MERCHANT_PREFIXES) + rng.choice(vocab.MERCHANT_KINDS[category])
    return f"{shop}（{district[:-1]}店）"


def merchant_rows(rng: random.Random, issued: set[str]) -> list[tuple[str, ...]]:
    names: set[str] = set()
    rows = []
    while len(rows) < MERCHANT_COUNT:
        category = rng.choice(list(vocab.MERCHANT_KINDS))
        district = new_district(rng)
        name = unique(names, partial(_merchant_name, rng, category, district))
        licence = unique(issued, partial(credit_code, rng, vocab.DISTRICTS[district][1]))
        rows.append((name, licence, category, district, new_phone(rng, issued)))
    return rows
