"""The DuckDB engine against the reference, row for row, on generated batches; and the API's guards."""

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanhui.methodology.engines import EngineContext, evaluate
from tanhui.methodology.params import (
    DEFAULT_PARAMS,
    HouseholdParams,
    TransitParams,
    VersionedParams,
    params_from_json,
)

from .records import (
    ODD_DATES,
    ODD_NUMBERS,
    ODD_TIMES,
    SHANGHAI,
    assert_same,
    batch,
    context,
    synthetic_day,
    versions,
)

DAY0 = date(2026, 4, 28)
USERS = ["u1", "u2", "u3", "meter-of-1", "stranger", None, ""]
BINDINGS = {"u1": 1, "u2": 2, "u3": 3, "meter-of-1": 1}
IDS = ["a", "a", "b", "b", "c", "d", "e", "f", None, ""]


def day_offset(days: int) -> date:
    return DAY0 + timedelta(days=days)


consent_dates = st.one_of(st.none(), st.integers(-1, 7).map(day_offset))
consents = st.dictionaries(st.sampled_from([1, 2, 3]), consent_dates)
offsets = st.sampled_from([None, None, None, "Z", "+08:00", "+00:00", "-05:00", "+05:30", "-00:00", "+23:59"])


@st.composite
def time_text(draw, moment: datetime) -> str:
    """`moment` (Shanghai wall time) written in one of the accepted forms, sometimes with another offset."""
    offset = draw(offsets)
    shown = moment
    if offset not in (None, "Z"):
        sign = -1 if offset[0] == "-" else 1
        delta = sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:]))
        shown = moment.replace(tzinfo=SHANGHAI).astimezone(timezone(delta)).replace(tzinfo=None)
    elif offset == "Z":
        shown = moment - timedelta(hours=8)
    text = shown.strftime(draw(st.sampled_from(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"])))
    if text.count(":") == 2 and draw(st.booleans()):
        text += "." + f"{shown.microsecond:06d}"[: draw(st.integers(1, 6))]
    return text + (offset or "")


@st.composite
def trip_rows(draw, max_kmh: Decimal):
    start = draw(st.datetimes(datetime(2026, 4, 27, 20), datetime(2026, 5, 4, 4)))
    duration = draw(st.one_of(st.integers(-120, 4 * 3600).map(lambda s: timedelta(seconds=s)),
                              st.integers(0, 10**6).map(lambda us: timedelta(microseconds=us))))
    end = start + duration
    exact = max_kmh * Decimal(duration // timedelta(microseconds=1)) / Decimal(3_600_000_000)  # at the limit
    km = draw(st.one_of(
        st.decimals(Decimal(0), Decimal(90), places=draw(st.integers(0, 19))).map(str),
        st.sampled_from([Decimal("1e-18"), Decimal("-1e-18"), Decimal(0)]).map(
            lambda e: str((exact + e).quantize(Decimal("1e-18")))),
        st.sampled_from(["80", "80.000000000000000001", "0.00125", "40", "30", "50"] + ODD_NUMBERS)))
    started = draw(st.one_of(time_text(start), st.sampled_from(ODD_TIMES))) if draw(st.integers(0, 9)) else None
    ended = draw(st.one_of(time_text(end), st.sampled_from(ODD_TIMES), st.text(max_size=5)))
    return (draw(st.sampled_from(IDS)), draw(st.sampled_from(USERS)), started, ended, km)


@st.composite
def reading_rows(draw):
    day = draw(st.integers(-3, 12).map(day_offset))
    kwh = draw(st.one_of(
        st.decimals(Decimal(-1), Decimal(16), places=draw(st.integers(0, 4))).map(str),
        st.sampled_from(["1.0", "0.999999999999999999", "200", "200.000000000000000001", "9.0", "8.9975", "-0",
                         "6"] + ODD_NUMBERS)))
    text = day.isoformat() if draw(st.integers(0, 15)) else draw(st.sampled_from(ODD_DATES))
    return (draw(st.sampled_from(IDS)), draw(st.sampled_from(USERS)), text, kwh)


def now_strategy():
    return st.sampled_from([datetime(2026, 5, 2, 12, tzinfo=SHANGHAI), datetime(2026, 5, 9, tzinfo=SHANGHAI)])


SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(data=st.data(), scenario=st.sampled_from(["metro", "bus", "bike"]), switch=st.booleans(),
       now=now_strategy())
def test_trips_duckdb_matches_reference(data, scenario, switch, now):
    vs = versions(scenario, switch=day_offset(4) if switch else None)
    rows = data.draw(st.lists(trip_rows(vs[0].params.max_kmh), max_size=25))
    prior = data.draw(st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.integers(0, 6).map(day_offset),
                                         st.integers(0, 7)), max_size=6))
    ctx = context("trip", BINDINGS, data.draw(consents), data.draw(st.lists(st.sampled_from(IDS[:-2]))), prior)
    records = batch("trip", rows)
    assert_same(evaluate(scenario, records, ctx, vs, now, "reference"), evaluate(scenario, records, ctx, vs, now))


@SLOW
@given(data=st.data(), switch=st.booleans(), now=now_strategy())
def test_household_duckdb_matches_reference(data, switch, now):
    vs = versions("household_power", switch=day_offset(5) if switch else None)
    rows = data.draw(st.lists(reading_rows(), max_size=25))
    prior = data.draw(st.dictionaries(
        st.tuples(st.sampled_from([1, 2, 3]), st.integers(-10, 12).map(day_offset)),
        st.decimals(Decimal(0), Decimal(15), places=2), max_size=30))
    ctx = context("household", BINDINGS, data.draw(consents), data.draw(st.lists(st.sampled_from(IDS[:-2]))),
                  [(c, d, kwh) for (c, d), kwh in prior.items()])
    records = batch("household", rows)
    assert_same(evaluate("household_power", records, ctx, vs, now, "reference"),
                evaluate("household_power", records, ctx, vs, now))


@pytest.mark.parametrize("scenario", ["metro", "household_power"])
def test_a_messy_day_matches_reference(scenario):
    records, ctx, vs = synthetic_day(scenario, 3000, seed=7)
    now = datetime(2026, 5, 3, 12, tzinfo=SHANGHAI)
    expected = evaluate(scenario, records, ctx, vs, now, "reference")
    assert_same(expected, evaluate(scenario, records, ctx, vs, now))
    assert len(set(expected.column("reason").to_pylist())) >= 5


# ---- the API's guards ------------------------------------------------------------------------

def test_versions_must_not_overlap():
    first, second = versions("metro", switch=date(2026, 5, 2))
    overlapping = VersionedParams(2, 20, date(2026, 5, 1), None, second.params)
    with pytest.raises(ValueError, match="overlap"):
        evaluate("metro", batch("trip", []), context("trip"), [first, overlapping], datetime.now(SHANGHAI))


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        evaluate("metro", batch("trip", []), context("trip"), versions("metro"), datetime(2026, 5, 1))


def test_an_external_id_binds_one_citizen():
    ctx = EngineContext.from_rows(scenario_kind="trip", bindings=[("u1", 1), ("u1", 2)], consents=[])
    with pytest.raises(ValueError, match="bindings"):
        evaluate("metro", batch("trip", []), ctx, versions("metro"), datetime.now(SHANGHAI))


def test_missing_columns_are_malformed_and_text_is_required():
    records = pa.table({"record_id": ["r1"], "seq": pa.array([0], pa.int64())})
    [row] = evaluate("metro", records, context("trip"), versions("metro"), datetime.now(SHANGHAI)).to_pylist()
    assert (row["status"], row["reason"]) == ("rejected", "malformed")
    with pytest.raises(TypeError):
        evaluate("metro", records.append_column("distance_km", pa.array([1.5])), context("trip"),
                 versions("metro"), datetime.now(SHANGHAI))


def test_empty_batch():
    out = evaluate("household_power", batch("household", []), context("household"), versions("household_power"),
                   datetime.now(SHANGHAI))
    assert out.num_rows == 0


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        TransitParams(Decimal("46.8"), Decimal("80"), Decimal("100"), -1)
    with pytest.raises(ValueError):
        TransitParams(Decimal("46.8000000001"), Decimal("80"), Decimal("100"), 6)
    with pytest.raises(ValueError):
        HouseholdParams(Decimal("530.6"), (Decimal(1),) * 11)


def test_shipped_reference_data_matches_the_defaults():
    shipped = json.loads((Path(__file__).parents[2] / "src/tanhui/methodology/shipped.json").read_text("utf-8"))
    factors = {f["code"]: Decimal(f["versions"][0]["value"]) for f in shipped["factors"]}
    parameters = {code: p for m in shipped["methodologies"] for code, p in m["versions"][0]["parameters"].items()}
    for s in shipped["scenarios"]:
        built = params_from_json(s["kind"], parameters[s["code"]], factors[s["factor"]])
        assert built == DEFAULT_PARAMS[s["code"]]
