"""Controlled defects in the behaviour files, and the outcome the ingester should give each file.

Each defect maps to one outcome (a reason code, or DUPLICATE), following the order of checks
of methodology v1: a defect that needs a scenario check to catch it is given to a citizen who
authorised the scenario that day, and a duplicate always repeats a record that is accepted.
"""

import random
from collections import Counter
from datetime import date, datetime, time, timedelta

from .behaviour import ACCEPTED, DUPLICATE, Record, time_style, transit_values
from .population import MODES, PROVIDER_FOR
from .tables import interleave

TRANSIT_DEFECTS = {
    "unknown_user": "unknown_user",  # an account nobody bound
    "duplicate_row": DUPLICATE,  # the same line twice in a file
    "resent_record": DUPLICATE,  # a record of yesterday's file sent again
    "missing_distance": "malformed",
    "bad_distance": "malformed",  # "abc"
    "bad_time": "malformed",  # hour 25
    "ended_not_after_started": "invalid_time",
    "implausible_distance": "implausible_distance",  # <= 0 or above the mode's maximum
    "implausible_speed": "implausible_speed",  # 2-4 times the mode's maximum average speed
}
POWER_DEFECTS = {
    "unknown_user": "unknown_user",
    "duplicate_row": DUPLICATE,
    "resent_record": DUPLICATE,
    "missing_kwh": "malformed",
    "bad_kwh": "malformed",
    "bad_date": "malformed",  # month 13
    "negative_kwh": "implausible_reading",
    "excessive_kwh": "implausible_reading",  # above 200 kWh
    "second_reading": "duplicate_period",  # same account and date, another record_id
}


class Spoiler:
    """Spoils a share of one scenario's daily files, given day after day in date order.

    The kinds take turns across the days, so each shows up over the period even when a
    file gets only a few defects.
    """

    kinds: dict[str, str]

    def __init__(self, scenario: str, bad_share: float, issued: set[str]):
        self.provider = PROVIDER_FOR[scenario]
        self.bad_share = bad_share
        self.issued = issued
        self.turn = 0
        self.previous: list[Record] = []  # yesterday's accepted records, to re-send

    def spoil(
        self, rng: random.Random, day: date, records: list[Record], spare_ids: list[str]
    ) -> tuple[list[Record], dict[str, int]]:
        """The file's records with defects placed among them, and the count of each kind.

        spare_ids: accounts that authorised the scenario and have no record that day.
        """
        creditable = [(i, r) for i, r in enumerate(records) if r.outcome == ACCEPTED]
        counts = dict.fromkeys(self.kinds, 0)
        extras = []
        wanted = round(len(records) * self.bad_share) if creditable else 0
        for seq in range(len(records) + 1, len(records) + 1 + wanted):
            made = self._take_turn(
                rng, day, creditable, len(records), spare_ids, self.provider.record_id(day, seq)
            )
            if made is None:
                break
            kind, after, values = made
            extras.append((after, Record(values, self.kinds[kind], kind)))
            counts[kind] += 1
        self.previous = [r for _, r in creditable]
        return interleave(records, extras), counts

    def _take_turn(self, rng, day, creditable, size, spare_ids, record_id):
        """The next kind in turn that the file can have, as (kind, after, values); None if none."""
        kinds = list(self.kinds)
        for _ in kinds:
            kind = kinds[self.turn % len(kinds)]
            self.turn += 1
            made = self._make(kind, rng, day, creditable, size, spare_ids, record_id)
            if made:
                return (kind, *made)
        return None

    def _make(self, kind, rng, day, creditable, size, spare_ids, record_id):
        """(index of the record to follow, values), or None when the file cannot have this kind."""
        if kind == "resent_record":
            return (rng.randrange(-1, size), rng.choice(self.previous).values) if self.previous else None
        after, source = rng.choice(creditable)
        after = rng.randrange(after, size)
        if kind == "duplicate_row":
            return after, source.values
        owner = source.values[1]
        if kind == "unknown_user":
            owner = self.provider.new_external_id(rng, self.issued)
        values = self._fresh(kind, rng, day, record_id, owner, source, spare_ids)
        return (after, values) if values else None

    def _fresh(self, kind, rng, day, record_id, owner, source, spare_ids) -> tuple | None:
        """Values of a new record carrying the defect (plain valid values for unknown_user)."""
        raise NotImplementedError


class TransitSpoiler(Spoiler):
    kinds = TRANSIT_DEFECTS

    def _fresh(self, kind, rng, day, record_id, owner, source, spare_ids):
        mode = MODES[self.provider.scenario]
        start = datetime.combine(day, time()) + timedelta(seconds=rng.randrange(6 * 3600, 22 * 3600))
        km = mode.draw_km(rng)
        ride = mode.ride(rng, km)
        if kind == "ended_not_after_started":
            ride = -timedelta(seconds=rng.choice((0, rng.randint(60, 1800))))
        elif kind == "implausible_distance":
            km = rng.choice((0.0, -rng.uniform(0.5, 5), rng.uniform(1.2, 2.5) * mode.max_km))
            ride = timedelta(hours=max(km, 1.0) / (mode.max_kmh / 2))  # at a plausible speed
        elif kind == "implausible_speed":
            km = rng.uniform(0.3, 0.8) * mode.max_km
            ride = timedelta(hours=km / (mode.max_kmh * rng.uniform(2, 4)))
        km_text = {"missing_distance": None, "bad_distance": "abc"}.get(kind, f"{km:.2f}")
        values = transit_values(record_id, owner, start, start + ride, km_text, time_style(rng))
        if kind == "bad_time":
            broken = rng.choice((2, 3))
            values = (
                *values[:broken],
                f"{day.isoformat()}T25:{rng.randrange(60):02d}:00",
                *values[broken + 1 :],
            )
        return values


class PowerSpoiler(Spoiler):
    kinds = POWER_DEFECTS

    def _fresh(self, kind, rng, day, record_id, owner, source, spare_ids):
        when, kwh = day.isoformat(), f"{rng.uniform(3, 15):.2f}"
        if kind == "second_reading":
            when, kwh = source.values[2], f"{float(source.values[3]) + rng.uniform(0.5, 5):.2f}"
        elif kind == "missing_kwh":
            kwh = None
        elif kind == "bad_kwh":
            kwh = "abc"
        elif kind == "bad_date":
            when = f"{day.year}-13-{day.day:02d}"
        elif kind in ("negative_kwh", "excessive_kwh"):
            if not spare_ids:
                return None  # the account's only reading of the day must be the implausible one
            owner = rng.choice(spare_ids)
            kwh = (
                f"{-rng.uniform(0.5, 20):.2f}" if kind == "negative_kwh" else f"{rng.uniform(250, 2000):.2f}"
            )
        return record_id, owner, when, kwh


def expected_outcome(records: list[Record], daily_cap: int | None) -> dict:
    """What ingesting the file should report, assuming citizens.csv was imported and the
    scenario's earlier files were ingested in date order. Every accepted trip of a file starts
    on the file's date, so the cap applies per external user within the file."""
    outcomes = Counter(r.outcome for r in records)
    accepted = outcomes.pop(ACCEPTED, 0)
    duplicates = outcomes.pop(DUPLICATE, 0)
    capped = 0
    if daily_cap:
        rides = Counter(r.values[1] for r in records if r.outcome == ACCEPTED)
        capped = sum(max(0, n - daily_cap) for n in rides.values())
    return {
        "records": len(records),
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": sum(outcomes.values()),
        "capped": capped,
        "rejected_by_reason": dict(sorted(outcomes.items())),
    }
