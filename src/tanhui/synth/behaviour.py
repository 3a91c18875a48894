"""A day in the city: citizens' trips and meter readings, rendered as the providers' records.

Times are naive Asia/Shanghai local datetimes until rendered; every trip of a day file starts
on that local date (rides after 23:00 may end the next day).
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from .population import MODES, PROVIDER_FOR, Citizen

ACCEPTED = "accepted"
DUPLICATE = "duplicate"

TRANSIT_COLUMNS = ("record_id", "external_user_id", "started_at", "ended_at", "distance_km")
POWER_COLUMNS = ("record_id", "external_user_id", "date", "kwh")

UTC_OFFSET = timedelta(hours=8)
FIRST_TRAIN_MIN = 330  # 05:30, nobody rides earlier


@dataclass
class Record:
    """One line of a behaviour file and what the platform should make of it."""

    values: tuple[str | None, ...]
    outcome: str  # ACCEPTED, DUPLICATE or the reason code it is rejected with
    defect: str | None = None


class Trip(NamedTuple):
    citizen: Citizen
    scenario: str
    start: datetime
    end: datetime
    km: float


def time_style(rng: random.Random) -> str:
    """Most operators send local times without offset; some add +08:00, a few send UTC."""
    draw = rng.random()
    return "utc" if draw < 0.05 else "offset" if draw < 0.15 else "local"


def render_time(moment: datetime, style: str) -> str:
    if style == "utc":
        return (moment - UTC_OFFSET).isoformat(timespec="seconds") + "Z"
    text = moment.isoformat(timespec="seconds")
    return text + "+08:00" if style == "offset" else text


def transit_values(
    record_id: str, external_id: str, start: datetime, end: datetime, km: str | None, style: str
) -> tuple[str | None, ...]:
    return record_id, external_id, render_time(start, style), render_time(end, style), km


def _plan(rng: random.Random, citizen: Citizen, weekend: bool) -> list[tuple[float, str, float]]:
    """The citizen's rides of one day as (planned minute of the day, scenario, km), in order."""
    legs = []
    if citizen.commute and rng.random() < (0.15 if weekend else 0.92):
        out = citizen.leave_min + rng.gauss(60 if weekend else 0, 10)
        back = citizen.return_min + rng.gauss(0, 25)
        legs += [(out, s, citizen.route_km[s]) for s in citizen.commute]
        legs += [(back, s, citizen.route_km[s]) for s in reversed(citizen.commute)]
    if citizen.heavy_rider and not weekend:
        legs += [
            (rng.uniform(540, 1200), "metro", MODES["metro"].draw_km(rng)) for _ in range(rng.randint(7, 10))
        ]
    transit = citizen.transit
    if transit:
        for _ in range(2):  # errands and outings: more, and in the afternoon, at weekends
            if rng.random() < (0.3 if weekend else 0.12):
                scenario = rng.choice(transit)
                minute = rng.gauss(870, 200) if weekend else rng.gauss(1170, 90)
                legs.append((minute, scenario, MODES[scenario].draw_km(rng)))
        if rng.random() < 0.01:  # a late ride home that ends after midnight
            scenario = rng.choice(transit)
            legs.append((rng.uniform(1395, 1435), scenario, MODES[scenario].draw_km(rng)))
    legs.sort(key=lambda leg: leg[0])  # stable: chained commute legs keep their order
    return legs


def day_trips(rng: random.Random, citizens: list[Citizen], day: date) -> list[Trip]:
    """Every ride of the day; a citizen's rides never overlap (2-8 minutes between legs)."""
    midnight = datetime.combine(day, time())
    weekend = day.weekday() >= 5
    trips = []
    for citizen in citizens:
        free = 0.0  # minute of the day the citizen is off the previous ride
        for planned, scenario, km in _plan(rng, citizen, weekend):
            minute = max(planned, FIRST_TRAIN_MIN, free + rng.uniform(2, 8))
            if minute >= 1439:
                break
            start = midnight + timedelta(seconds=round(minute * 60))
            end = start + MODES[scenario].ride(rng, km)
            trips.append(Trip(citizen, scenario, start, end, km))
            free = (end - midnight).total_seconds() / 60
    return trips


def transit_records(rng: random.Random, scenario: str, trips: list[Trip], day: date) -> list[Record]:
    """The operator's file for the day: its trips by start time, record ids in that order."""
    provider = PROVIDER_FOR[scenario]
    ordered = sorted((t for t in trips if t.scenario == scenario), key=lambda t: t.start)
    return [
        Record(
            transit_values(
                provider.record_id(day, seq),
                t.citizen.external_id(scenario),
                t.start,
                t.end,
                f"{t.km:.2f}",
                time_style(rng),
            ),
            ACCEPTED if t.citizen.consents_on(scenario, day) else "no_consent",
        )
        for seq, t in enumerate(ordered, 1)
    ]


# Daily household use relative to the yearly mean, by month: the air-conditioning peak in
# summer, a little heating in winter.
SEASON = {
    1: 0.85,
    2: 0.8,
    3: 0.75,
    4: 0.8,
    5: 0.95,
    6: 1.25,
    7: 1.5,
    8: 1.5,
    9: 1.3,
    10: 0.95,
    11: 0.8,
    12: 0.85,
}
GAP_SHARE = 0.03  # readings the meter fails to deliver


def power_readings(rng: random.Random, citizens: list[Citizen], day: date) -> list[tuple[Citizen, float]]:
    """(household, kWh) for every bound household read that day."""
    weather = rng.gauss(1, 0.07)  # a hot or mild day moves the whole city
    level = SEASON[day.month] * weather * (1.08 if day.weekday() >= 5 else 1.0)
    readings = []
    for citizen in citizens:
        if not citizen.external_id("household_power") or rng.random() < GAP_SHARE:
            continue
        if citizen.vacant:
            kwh = rng.uniform(0.05, 0.9)  # fridge off, standby only
        else:
            kwh = (2.0 + 2.2 * citizen.household) * citizen.thrift * level * rng.lognormvariate(0, 0.12)
        readings.append((citizen, kwh))
    return readings


def power_records(readings: list[tuple[Citizen, float]], day: date) -> list[Record]:
    """The utility's file for the day, by account number."""
    provider = PROVIDER_FOR["household_power"]
    ordered = sorted(readings, key=lambda reading: reading[0].external_id("household_power"))
    return [
        Record(
            (
                provider.record_id(day, seq),
                citizen.external_id("household_power"),
                day.isoformat(),
                f"{kwh:.2f}",
            ),
            ACCEPTED if citizen.consents_on("household_power", day) else "no_consent",
        )
        for seq, (citizen, kwh) in enumerate(ordered, 1)
    ]
