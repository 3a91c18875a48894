"""Builders for the methodology tests: batches, contexts, versions, a seeded synthetic day."""

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa

from tanhui.methodology.engines import RECORD_FIELDS, EngineContext, evaluate
from tanhui.methodology.params import DEFAULT_PARAMS, HouseholdParams, TransitParams, VersionedParams

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 5, 3, 12, 0, tzinfo=SHANGHAI)
KIND = {"metro": "trip", "bus": "trip", "bike": "trip", "household_power": "household"}

# a second version, for batches that straddle a change of parameters
TRIP_V2 = TransitParams(Decimal("50"), Decimal("40"), Decimal("60"), 2)
HOUSEHOLD_V2 = HouseholdParams(Decimal("600"), tuple(Decimal(m) for m in range(4, 16)), Decimal("150"),
                               Decimal("0.5"), 3)

# texts that are not what they seem
ODD_TIMES = ["", " ", "2026-05-01", "2026-05-01T10", "2026-05-01t10:00", "2026-05-01T10:00:00+0800",
             "2026-05-01T10:00:00+08", "2026-05-01T10:00:00.1234567", "2026-05-01T10:00:00.", "2026-02-29T10:00",
             "2026-04-31T10:00", "2026-05-01T24:00", "2026-05-01T10:60", "2026-05-01T10:00:60",
             "2026-05-01T10:00+24:00", "2026-05-01T10:00-23:59", "2026-05-01T10:00\n", " 2026-05-01T10:00",
             "2026-05-01T10:00Z ", "2026/05/01 10:00", "２０２６-05-01T10:00", "0000-01-01T00:00",
             "0001-01-01T00:00", "0001-01-01T08:00", "0001-01-01T07:59:59.999999", "9999-12-31T15:59:59.999999",
             "9999-12-31T23:59:59.999999", "9999-12-31T15:59:59.999999Z", "9999-12-31T16:00Z",
             "1969-12-31T23:59:59.999999Z", "1900-03-01 00:00", "2024-02-29T23:59:59.5-00:00"]
ODD_NUMBERS = ["", " 5", "5 ", "nan", "NaN", "inf", "-inf", "1e3", "1E-3", "0x10", "1_000", ".", "+", "-", ".5",
               "5.", "+3", "-0", "-0.0", "0", "00000000000000000000000012.5", "123456789012345678901",
               "99999999999999999999", "99999999999999999999.999999999999999999", "1.0000000000000000001",
               "1.00000000000000000010000", "0.000000000000000001", "१२", "12,5"]
ODD_DATES = ["", "2026-5-1", "20260501", "2026-05-01T00:00", "2026-02-29", "2024-02-29", "2026-13-01",
             "0000-01-01", "0001-01-01", "9999-12-31", "2026-05-01 "]


def batch(kind: str, rows: list[tuple]) -> pa.Table:
    """rows of raw field values in schema order; seq = position."""
    fields = RECORD_FIELDS[kind]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(fields)
    return pa.table({**{f: pa.array(c, pa.string()) for f, c in zip(fields, columns, strict=True)},
                     "seq": pa.array(range(len(rows)), pa.int64())})


def context(kind: str, bindings=None, consents=None, prior_accepted=(), prior=()) -> EngineContext:
    bindings = {"u1": 1} if bindings is None else bindings
    consents = {c: None for c in set(bindings.values())} if consents is None else consents
    return EngineContext.from_rows(scenario_kind=kind, bindings=list(bindings.items()),
                                   consents=list(consents.items()), prior_accepted=list(prior_accepted),
                                   prior_rows=list(prior))


def versions(scenario: str, switch: date | None = None) -> list[VersionedParams]:
    """From the beginning of time; with `switch`, a second version from that date."""
    first = DEFAULT_PARAMS[scenario]
    if switch is None:
        return [VersionedParams(1, 10, date.min, None, first)]
    second = TRIP_V2 if KIND[scenario] == "trip" else HOUSEHOLD_V2
    return [VersionedParams(1, 10, date.min, switch, first), VersionedParams(2, 20, switch, None, second)]


def judge(scenario: str, records: pa.Table, ctx: EngineContext | None = None, vs=None, now=NOW,
          engine="duckdb") -> list[dict]:
    kind = KIND[scenario]
    return evaluate(scenario, records, ctx or context(kind), vs or versions(scenario), now, engine).to_pylist()


def assert_same(expected: pa.Table, actual: pa.Table) -> None:
    """Equal tables; on a difference, the first differing row is what pytest shows."""
    assert actual.schema == expected.schema
    for want, got in zip(expected.to_pylist(), actual.to_pylist(), strict=True):
        assert got == want
    assert actual.equals(expected)


def synthetic_day(scenario: str, n: int, seed: int = 1) -> tuple[pa.Table, EngineContext, list[VersionedParams]]:
    """A seeded, messy day of one provider: mostly good records, with every kind of trouble mixed in."""
    rnd = random.Random(seed)
    kind = KIND[scenario]
    citizens = 400
    bindings = {f"U{i}": 1 + i % citizens for i in range(int(citizens * 1.1))}  # some share a citizen
    consents = {c: rnd.choice([None, None, None, date(2026, 5, 2), date(2026, 4, 30)])
                for c in range(1, citizens + 1) if rnd.random() < 0.9}
    users = list(bindings) + ["stranger1", "stranger2"]
    ids = [f"R{i}" for i in range(int(n * 0.97))]
    rows = []
    for _ in range(n):
        rid = rnd.choice(ids) if rnd.random() > 0.01 else rnd.choice([None, ""])
        user = rnd.choice(users) if rnd.random() > 0.01 else None
        if kind == "trip":
            start = datetime(2026, 5, 1, tzinfo=SHANGHAI) + timedelta(seconds=rnd.randrange(-86400, 3 * 86400))
            end = start + timedelta(seconds=rnd.choice([rnd.randrange(60, 7200), 0, -60]))
            km = Decimal(rnd.randrange(0, 60_000)) / 1000
            rows.append((rid, user, _time_text(rnd, start), _time_text(rnd, end),
                         rnd.choice(ODD_NUMBERS) if rnd.random() < 0.02 else str(km)))
        else:
            day = date(2026, 4, 20) + timedelta(days=rnd.randrange(20))
            kwh = Decimal(rnd.randrange(0, 16_000)) / 1000
            rows.append((rid, user, rnd.choice(ODD_DATES) if rnd.random() < 0.02 else day.isoformat(),
                         rnd.choice(ODD_NUMBERS) if rnd.random() < 0.02 else str(kwh)))
    if kind == "trip":  # a cap decided by record_id alone, in code point order
        rows += [(f"{c}-tie", "U7", "2026-05-01T08:00", "2026-05-01T08:30", "1") for c in "𝒳\ufffdézaZ0ä"]
        consents[bindings["U7"]] = None
    accepted_before = rnd.sample(ids, len(ids) // 20)
    if kind == "trip":
        prior = [(c, date(2026, 5, d), rnd.randrange(1, 7)) for c in range(1, citizens + 1, 3) for d in (1, 2)]
    else:
        prior = [(c, date(2026, 4, 12) + timedelta(days=d), Decimal(rnd.randrange(0, 15_000)) / 1000)
                 for c in range(1, citizens + 1) for d in range(30) if rnd.random() < 0.3]
    return (batch(kind, rows), context(kind, bindings, consents, accepted_before, prior),
            versions(scenario, switch=date(2026, 5, 2) if kind == "trip" else date(2026, 4, 28)))


def _time_text(rnd: random.Random, moment: datetime) -> str:
    if rnd.random() < 0.02:
        return rnd.choice(ODD_TIMES)
    offset = rnd.choice([None, None, timedelta(0), timedelta(hours=8), timedelta(hours=-5)])
    shown = moment.astimezone(SHANGHAI if offset is None else timezone(offset))
    text = shown.strftime(rnd.choice(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]))
    if offset is None:
        return text
    return text + ("Z" if offset == timedelta(0) and rnd.random() < 0.5 else shown.strftime("%z")[:3] + ":"
                   + shown.strftime("%z")[3:])
