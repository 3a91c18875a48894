"""Named cases from methodologies.md with hand-computed expectations, for the reference and DuckDB."""

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tanhui.methodology.params import UncoveredDateError
from tanhui.methodology.reference import parse_number, parse_time

from .records import NOW, SHANGHAI, batch, context, judge, versions

LATER = datetime(2026, 6, 1, tzinfo=SHANGHAI)


@pytest.fixture(params=["reference", "duckdb"])
def engine(request):
    return request.param


def trips(*rows):
    return batch("trip", list(rows))


def readings(*rows):
    return batch("household", list(rows))


def judge_readings(engine, *rows, ctx=None):
    return judge("household_power", readings(*rows), ctx, now=LATER, engine=engine)


def outcome(row):
    return row["status"] if row["status"] != "rejected" else row["reason"]


def test_metro_rounds_half_up(engine):
    [row] = judge("metro", trips(("r1", "u1", "2026-05-01T08:00", "2026-05-01T08:01", "0.00125")), engine=engine)
    assert (row["status"], row["reduction_mg"]) == ("accepted", 59)  # 0.00125 × 46.8 × 1000 = 58.5


def test_bus_ten_km(engine):
    [row] = judge("bus", trips(("r1", "u1", "2026-05-01T08:00", "2026-05-01T08:30", "10")), engine=engine)
    assert row["reduction_mg"] == 269_000
    assert (row["citizen_id"], row["version_id"], row["factor_version_id"]) == (1, 1, 10)


def test_daily_cap_counts_earlier_batches_first_then_started_at_then_record_id(engine):
    ctx = context("trip", prior=[(1, date(2026, 5, 1), 5)])
    rows = judge("metro", trips(
        ("late", "u1", "2026-05-01T18:00", "2026-05-01T18:10", "5"),
        ("b-tie", "u1", "2026-05-01T09:00", "2026-05-01T09:10", "5"),
        ("a-tie", "u1", "2026-05-01 09:00:00+08:00", "2026-05-01T09:10", "5"),
    ), ctx, engine=engine)
    assert [(r["record_id"], r["status"], r["capped"], r["reduction_mg"]) for r in rows] == [
        ("late", "accepted", True, 0), ("b-tie", "accepted", True, 0), ("a-tie", "accepted", False, 234_000)]


def test_earlier_credits_add_up_and_a_trip_may_end_at_now(engine):
    ctx = context("trip", prior=[(1, date(2026, 5, 3), 3), (1, date(2026, 5, 3), 2)])
    rows = judge("metro", trips(("r1", "u1", "2026-05-03T11:30", "2026-05-03T12:00", "1"),
                                ("r2", "u1", "2026-05-03T11:00", "2026-05-03T11:20", "1")), ctx, engine=engine)
    assert [(outcome(r), r["capped"]) for r in rows] == [("accepted", True), ("accepted", False)]


def test_ties_are_broken_by_record_id_in_code_point_order(engine):
    ids = ["𝒳", "\ufffd", "é", "z", "a", "Z", "0", "ä"]  # 𝒳 sorts last by code point, first in UTF-16
    rows = judge("metro", trips(*[(i, "u1", "2026-05-01T08:00", "2026-05-01T08:30", "1") for i in ids]),
                 engine=engine)
    assert [r["record_id"] for r in rows if r["capped"]] == ["𝒳", "\ufffd"]


def test_trip_belongs_to_the_local_day_it_started(engine):
    [row] = judge("metro", trips(("r1", "u1", "2026-05-01T23:50", "2026-05-02T00:20", "10")), engine=engine)
    assert row["local_date"] == date(2026, 5, 1)
    assert row["started_at"] == datetime(2026, 5, 1, 15, 50, tzinfo=UTC)


def test_utc_time_is_judged_on_the_shanghai_date(engine):
    ctx = context("trip", consents={1: date(2026, 5, 2)})
    [row] = judge("metro", trips(("r1", "u1", "2026-05-01T16:30:00Z", "2026-05-01T16:50:00Z", "10")), ctx,
                  engine=engine)
    assert (row["local_date"], row["status"]) == (date(2026, 5, 2), "accepted")


def test_consent_applies_from_its_date(engine):
    ctx = context("trip", consents={1: date(2026, 5, 2)})
    rows = judge("metro", trips(("r1", "u1", "2026-05-01T23:59:59.999999", "2026-05-02T00:20", "10"),
                                ("r2", "u1", "2026-05-02T00:00", "2026-05-02T00:20", "10")), ctx, engine=engine)
    assert [outcome(r) for r in rows] == ["no_consent", "accepted"]


def test_a_rejected_record_may_be_sent_again(engine):
    ctx = context("trip", bindings={"u1": 1, "u2": 2}, consents={1: None})
    rows = judge("metro", trips(("r1", "u2", "2026-05-01T08:00", "2026-05-01T08:30", "10"),
                                ("r1", "u1", "2026-05-01T08:00", "2026-05-01T08:30", "999"),
                                ("r1", "u1", "2026-05-01T08:00", "2026-05-01T08:30", "10"),
                                ("r1", "u1", "2026-05-01T09:00", "2026-05-01T09:30", "10")), ctx, engine=engine)
    assert [outcome(r) for r in rows] == ["no_consent", "implausible_distance", "accepted", "duplicate"]
    [again] = judge("metro", trips(("r1", "u1", "2026-05-01T08:00", "2026-05-01T08:30", "10")),
                    context("trip", prior_accepted=["r1"]), engine=engine)
    assert (again["status"], again["reduction_mg"]) == ("duplicate", 0)


def test_checks_apply_in_order(engine):
    ctx = context("trip", bindings={"u1": 1, "u2": 2}, consents={1: None, 2: date(2026, 6, 1)},
                  prior_accepted=["seen"])
    rows = judge("metro", trips(
        ("m", "nobody", "2026-05-01T08:00", "2026-05-01T08:30", "1e3"),  # malformed before unknown_user
        ("seen", "u1", "2026-05-01T08:00", "2026-05-01T08:30", "x"),  # malformed before duplicate
        ("seen", "nobody", "2026-05-01T08:00", "2026-05-01T08:30", "10"),  # duplicate before unknown_user
        ("x1", "nobody", "2026-05-01T08:00", "2026-05-01T07:00", "10"),  # unknown_user before invalid_time
        ("x2", "u2", "2026-05-01T08:00", "2026-05-01T07:00", "10"),  # no_consent before invalid_time
        ("x3", "u1", "2026-05-01T08:00", "2026-05-01T08:00", "0"),  # invalid_time before implausible_distance
        ("x4", "u1", "2026-05-03T12:00", "2026-05-03T12:00:00.000001", "1"),  # ends after now: invalid_time
        ("x5", "u1", "2026-05-01T08:00", "2026-05-01T08:01", "80.000000000000000001"),  # distance before speed
        ("x6", "u1", "2026-05-01T08:00", "2026-05-01T08:30", "50.000000000000000001"),  # above 100 km/h
        ("x7", "u1", "2026-05-01T08:00", "2026-05-01T08:30", "50.000000000000000000"),  # exactly 100 km/h
        ("x8", "u1", "2026-05-01T08:00", "2026-05-01T09:00", "80"),  # exactly the longest trip
        (None, "u1", "2026-05-01T08:00", "2026-05-01T08:30", "10"),
        ("", "u1", "2026-05-01T08:00", "2026-05-01T08:30", "10"),
    ), ctx, engine=engine)
    assert [outcome(r) for r in rows] == [
        "malformed", "malformed", "duplicate", "unknown_user", "no_consent", "invalid_time", "invalid_time",
        "implausible_distance", "implausible_speed", "accepted", "accepted", "malformed", "malformed"]
    assert [r["local_date"] for r in rows[:3]] == [None, None, date(2026, 5, 1)]


@pytest.mark.parametrize("text", ["2026-05-01T10:00:00+0800", "2026-05-01", "2026-02-29T10:00", "2026-05-01T24:00",
                                  "2026-05-01T10:00:60", "2026-05-01T10:00:00.1234567", "2026-05-01T10:00\n",
                                  "2026-05-01T10:00+24:00", "0001-01-01T07:59:59.999999", "9999-12-31T16:00Z", "",
                                  None])
def test_malformed_times(engine, text):
    [row] = judge("metro", trips(("r1", "u1", text, "2026-05-01T10:30", "1")), engine=engine)
    assert outcome(row) == "malformed"


@pytest.mark.parametrize("text", ["1e3", "nan", "inf", "", " 1", "1.0000000000000000001", "123456789012345678901",
                                  "1,5", None])
def test_malformed_numbers(engine, text):
    [row] = judge("metro", trips(("r1", "u1", "2026-05-01T10:00", "2026-05-01T10:30", text)), engine=engine)
    assert outcome(row) == "malformed"


@pytest.mark.parametrize(("text", "mg"), [(".5", 23_400), ("5.", 234_000), ("+0.5", 23_400),
                                          ("0.000000000000000001", 0), ("0012.500000000000000000000", 585_000)])
def test_plain_decimals(engine, text, mg):
    [row] = judge("metro", trips(("r1", "u1", "2026-05-01T10:00", "2026-05-01T10:30", text)), engine=engine)
    assert (row["status"], row["reduction_mg"]) == ("accepted", mg)


def test_version_in_force_on_the_local_date(engine):
    rows = judge("metro", trips(("r1", "u1", "2026-05-01T23:00", "2026-05-01T23:30", "10"),
                                ("r2", "u1", "2026-05-01T16:00Z", "2026-05-01T16:30Z", "10")),
                 vs=versions("metro", switch=date(2026, 5, 2)), engine=engine)
    assert [(r["version_id"], r["factor_version_id"], r["reduction_mg"]) for r in rows] == [
        (1, 10, 468_000), (2, 20, 500_000)]


def test_a_date_without_version_stops_the_batch(engine):
    vs = versions("metro", switch=date(2026, 5, 2))[1:]
    with pytest.raises(UncoveredDateError):
        judge("metro", trips(("r1", "nobody", "2026-05-01T10:00", "2026-05-01T10:30", "1")), vs=vs, engine=engine)
    [row] = judge("metro", trips(("r1", "u1", "2026-05-01T10:00", "x", "1")), vs=vs, engine=engine)
    assert outcome(row) == "malformed"


def test_input_hash_is_defined_on_the_raw_fields(engine):
    [row] = judge("metro", trips(("r1", "用户", "2026-05-01T10:00", None, "")), engine=engine)
    expected = hashlib.sha256("2:r1,2:用户,16:2026-05-01T10:00,-,0:,".encode()).hexdigest()
    assert row["input_hash"] == expected


# ---- household_power ------------------------------------------------------------------------

def week(citizen=1, last=date(2026, 5, 7), values=("12",) * 7):
    """Accepted readings of earlier batches on the days before `last` + 1."""
    return [(citizen, date.fromordinal(last.toordinal() - i), Decimal(v)) for i, v in enumerate(values)]


def test_below_the_monthly_baseline(engine):
    rows = judge_readings(engine, ("h1", "u1", "2026-05-08", "6.5"), ("h2", "u1", "2026-05-09", "8.9975"))
    assert [r["reduction_mg"] for r in rows] == [1_326_500, 1_327]  # (9 − 6.5) × 530.6 × 1000; 1326.5 → 1327


def test_above_the_baseline_against_the_own_week(engine):
    ctx = context("household", prior=week())
    [row] = judge_readings(engine, ("h1", "u1", "2026-05-08", "10.5"), ctx=ctx)
    assert row["reduction_mg"] == 795_900  # (12 − 10.5) × 530.6 × 1000


def test_the_mean_of_seven_is_exact(engine):
    ctx = context("household", prior=week(values=("10",) * 6 + ("10.0025",)))
    [row] = judge_readings(engine, ("h1", "u1", "2026-05-08", "10"), ctx=ctx)
    assert row["reduction_mg"] == 190  # 0.0025 / 7 kWh × 530600 mg/kWh = 189.5 exactly


def test_at_the_baseline_the_own_week_counts(engine):
    ctx = context("household", prior=week())
    [row] = judge_readings(engine, ("h1", "u1", "2026-05-08", "9.0"), ctx=ctx)
    assert row["reduction_mg"] == 1_591_800  # not below 9.0: (12 − 9) × 530.6 × 1000


def test_a_gap_in_the_week_earns_nothing(engine):
    ctx = context("household", prior=week()[:3] + week()[4:])
    [row] = judge_readings(engine, ("h1", "u1", "2026-05-08", "10.5"), ctx=ctx)
    assert (row["status"], row["reduction_mg"]) == ("accepted", 0)


def test_the_week_includes_this_batch_and_vacant_days(engine):
    ctx = context("household", prior=week(last=date(2026, 5, 5), values=("12",) * 5))
    rows = judge_readings(engine, ("h8", "u1", "2026-05-08", "10"), ("h6", "u1", "2026-05-06", "0.5"),
                          ("h7", "u1", "2026-05-07", "10"), ctx=ctx)
    # h8: (5 × 12 + 0.5 + 10) / 7 − 10 = 0.5 / 7 kWh → 37900 mg; h7 has no reading for 04-30
    assert [(r["vacant"], r["reduction_mg"]) for r in rows] == [(False, 37_900), (True, 0), (False, 0)]


def test_vacant_and_implausible_readings(engine):
    rows = judge_readings(engine, ("h1", "u1", "2026-05-08", "0.5"), ("h2", "u1", "2026-05-09", "250"),
                          ("h3", "u1", "2026-05-10", "-0.1"), ("h4", "u1", "2026-05-11", "200"),
                          ("h5", "u1", "2026-05-12", "1.0"))
    assert [(outcome(r), r["vacant"], r["reduction_mg"]) for r in rows] == [
        ("accepted", True, 0), ("implausible_reading", False, 0), ("implausible_reading", False, 0),
        ("accepted", False, 0), ("accepted", False, 4_244_800)]


def test_one_reading_per_account_and_date(engine):
    ctx = context("household", bindings={"u1": 1, "meter2": 1, "u3": 3}, consents={1: None, 3: None},
                  prior=[(3, date(2026, 5, 8), Decimal("5"))])
    rows = judge_readings(engine, ("h1", "u1", "2026-05-08", "5"), ("h2", "meter2", "2026-05-08", "4"),
                          ("h1", "u1", "2026-05-08", "5"), ("h3", "u3", "2026-05-08", "5"), ctx=ctx)
    assert [outcome(r) for r in rows] == ["accepted", "duplicate_period", "duplicate", "duplicate_period"]


def test_household_checks_in_order(engine):
    ctx = context("household", bindings={"u1": 1}, prior=[(1, date(2026, 5, 1), Decimal("5"))])
    rows = judge_readings(engine, ("h1", "u1", "2026-06-02", "999"),  # future before implausible_reading
                          ("h2", "u1", "2026-05-01", "999"),  # implausible_reading before duplicate_period
                          ("h3", "u1", "2026-05-01", "5"), ("h4", "u1", "2026-05-03", "5"), ctx=ctx)
    assert [outcome(r) for r in rows] == ["invalid_time", "implausible_reading", "duplicate_period", "accepted"]


def test_a_resent_id_competes_for_its_own_date(engine):
    """h1 loses 05-08 to h0, so its copy for 05-09 is judged afresh and wins; h2 then loses 05-09."""
    rows = judge_readings(engine, ("h0", "u1", "2026-05-08", "5"), ("h1", "u1", "2026-05-08", "5"),
                          ("h1", "u1", "2026-05-09", "5"), ("h2", "u1", "2026-05-09", "5"))
    assert [outcome(r) for r in rows] == ["accepted", "duplicate_period", "accepted", "duplicate_period"]


def test_parsers():
    assert parse_time("2026-05-01T16:30:00Z") == datetime(2026, 5, 1, 16, 30, tzinfo=UTC)
    assert parse_time("2026-05-01 08:00:00.5") == datetime(2026, 5, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    assert parse_time("0001-01-01T07:59") is None  # before year 1 in UTC
    assert parse_number("-0012.50") == Decimal("-12.5")
    assert parse_number("1e3") is None
    assert NOW.date() == date(2026, 5, 3)
