"""The readings pipeline: every bad-reading case, resets, gaps, rollups and atomicity."""

import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tanhui.core.errors import DomainError
from tanhui.supervision import services
from tanhui.supervision.models import DailyUsage, HourlyUsage, Meter, Reading, ReadingBatch, ReadingIssue

from .conftest import quarter_hours

pytestmark = pytest.mark.django_db


def values(meter="M1"):
    return list(Reading.objects.filter(meter__code=meter).order_by("ts").values_list("value_milli", flat=True))


def issues(batch, rejected=None):
    rows = ReadingIssue.objects.filter(batch=batch)
    if rejected is not None:
        rows = rows.filter(rejected=rejected)
    return [(i.seq, i.reason) for i in rows.order_by("seq")]


def test_cumulative_registers_become_interval_consumption(make_meter, send):
    make_meter()
    batch = send(quarter_hours("M1", "2024-05-01 00:00", ["100", "101.5", "103.25", "103.25"]))
    assert batch.summary() == {"batch_id": batch.pk, "readings": 4, "accepted": 4, "rejected": 0,
                               "rejected_by_reason": {}, "resets": 0, "gaps": 0, "missing_intervals": 0}
    # the first register only sets the starting point; consumption is in thousandths (Wh)
    assert values() == [None, 1500, 1750, 0]
    meter = Meter.objects.get(code="M1")
    assert meter.last_register_milli == 103_250
    assert meter.last_reading_at.isoformat() == "2024-05-01T00:45:00+08:00"


def test_next_batch_counts_from_the_stored_register(make_meter, send):
    make_meter()
    send(quarter_hours("M1", "2024-05-01 00:00", ["100", "101"]))
    send(quarter_hours("M1", "2024-05-01 00:30", ["103", "104"]))
    assert values() == [None, 1000, 2000, 1000]


def test_delta_meters_take_values_as_sent(make_meter, send):
    make_meter(mode="delta", interval_s=3600)
    send([("M1", "2024-05-01 01:00", "3.5"), ("M1", "2024-05-01 02:00", "0")])
    assert values() == [3500, 0]


@pytest.mark.parametrize("row", [
    ("M1", "not a time", "1"),
    ("M1", "2024-05-01 00:15", "abc"),
    ("", "2024-05-01 00:15", "1"),
    ("M1", "2024-05-01 00:15", ""),
    ("M1", "2024-05-01 00:15", "-5"),            # a register cannot be negative
    ("M1", "2024-05-01 00:15", "1000000001"),    # a billion units: not a reading
])
def test_malformed(make_meter, send, row):
    make_meter()
    batch = send([row])
    assert batch.rejected_by_reason == {"malformed": 1}
    assert not Reading.objects.exists()
    issue = ReadingIssue.objects.get(batch=batch)
    assert (issue.meter_code, issue.ts_text, issue.value_text) == row  # kept aside as sent


def test_unknown_meter(make_meter, send):
    make_meter()
    assert send([("NOPE", "2024-05-01 00:15", "1")]).rejected_by_reason == {"unknown_meter": 1}


def test_misaligned_to_the_meter_interval(make_meter, send):
    make_meter()
    make_meter(code="D1", mode="delta", interval_s=86400)
    batch = send([("M1", "2024-05-01 00:07", "1"), ("M1", "2024-05-01 00:15:30", "1"),
                  ("D1", "2024-05-02 00:00", "1"), ("D1", "2024-05-02T00:00:00Z", "1")])
    # a daily reading is stamped at local midnight (the end of the day); UTC midnight is 08:00 in Shanghai
    assert issues(batch) == [(0, "misaligned"), (1, "misaligned"), (3, "misaligned")]


def test_future_timestamp(make_meter, send):
    make_meter()
    # NOW is 2024-12-31 20:00 in Shanghai; five minutes of clock skew are tolerated
    batch = send([("M1", "2024-12-31 20:00", "1"), ("M1", "2024-12-31 20:15", "2"), ("M1", "2025-01-01 08:00", "3")])
    assert issues(batch, rejected=True) == [(1, "future_timestamp"), (2, "future_timestamp")]


def test_duplicates_in_the_file_and_of_stored_readings(make_meter, send):
    make_meter()
    first = send(quarter_hours("M1", "2024-05-01 00:00", ["100", "101"]))
    assert first.accepted == 2
    batch = send([("M1", "2024-05-01 00:15", "101"), ("M1", "2024-05-01T00:15:00+08:00", "101"),
                  ("M1", "2024-05-01 00:30", "102"), ("M1", "2024-05-01 00:30", "999")])
    # the first occurrence in file order wins; later ones are duplicates, never counted twice
    assert batch.rejected_by_reason == {"duplicate": 3}
    assert issues(batch) == [(0, "duplicate"), (1, "duplicate"), (3, "duplicate")]
    assert values() == [None, 1000, 1000]


def test_a_late_register_is_out_of_order(make_meter, send):
    make_meter()
    send([("M1", "2024-05-01 00:00", "100"), ("M1", "2024-05-01 01:00", "104")])
    batch = send([("M1", "2024-05-01 00:30", "102")])
    assert batch.rejected_by_reason == {"out_of_order": 1}
    assert values() == [None, 4000]


def test_a_late_delta_reading_fills_its_gap_and_its_hour(make_meter, send):
    make_meter(mode="delta")
    send(quarter_hours("M1", "2024-05-01 00:15", ["1", "1", "1"]) + [("M1", "2024-05-01 01:15", "1")])
    batch = send([("M1", "2024-05-01 01:00", "2")])
    assert batch.accepted == 1
    assert HourlyUsage.objects.get(hour=1714492800).value_milli == 5000  # 00:00–01:00, four readings
    assert DailyUsage.objects.get().value_milli == 6000


def test_negative_delta(make_meter, send):
    make_meter()
    make_meter(code="D1", mode="delta")
    batch = send(quarter_hours("M1", "2024-05-01 00:00", ["100", "103", "102.5", "104"])
                 + [("D1", "2024-05-01 00:15", "-0.5")])
    assert issues(batch, rejected=True) == [(2, "negative_delta"), (4, "negative_delta")]
    # after a misread, the next register is counted from the highest accepted one (103), not the misread
    assert values() == [None, 3000, 1000]


def test_register_reset_is_handled_not_counted_as_negative(make_meter, send):
    make_meter()
    batch = send(quarter_hours("M1", "2024-05-01 00:00", ["98000", "98010", "4", "9"]))
    assert batch.rejected == 0 and batch.resets == 1
    assert values() == [None, 10_000, 4000, 5000]
    reset = ReadingIssue.objects.get(batch=batch)
    assert (reset.reason, reset.rejected, reset.detail) == ("register_reset", False,
                                                            "register fell from 98010.000 to 4.000")


def test_reset_at_the_start_of_a_batch(make_meter, send):
    make_meter()
    send(quarter_hours("M1", "2024-05-01 00:00", ["5000", "5001"]))
    batch = send([("M1", "2024-05-01 00:30", "0.2")])
    assert batch.resets == 1
    assert values()[-1] == 200


def test_gaps_are_flagged_not_invented(make_meter, send):
    make_meter()
    batch = send([("M1", "2024-05-01 00:00", "100"), ("M1", "2024-05-01 00:15", "101"),
                  ("M1", "2024-05-01 01:15", "105")])
    assert (batch.gaps, batch.missing_intervals) == (1, 3)
    assert Reading.objects.count() == 3  # nothing filled in
    gap = ReadingIssue.objects.get(batch=batch)
    assert (gap.reason, gap.rejected, gap.detail) == ("gap", False, "3 interval(s) missing before this reading")
    # the gap between batches counts too
    later = send([("M1", "2024-05-01 02:00", "106")])
    assert (later.gaps, later.missing_intervals) == (1, 2)


def test_hourly_and_daily_rollups(make_meter, send):
    make_meter()
    make_meter(code="D1", mode="delta", interval_s=86400)
    # 23:15 … 00:30 crosses midnight (local): the 00:00 reading closes the 23:45–24:00 interval of day one
    send(quarter_hours("M1", "2024-05-01 23:15", ["10", "11", "12", "14", "17", "21"])
         + [("D1", "2024-05-02 00:00", "7.5")])
    hourly = dict(HourlyUsage.objects.filter(meter__code="M1").values_list("hour", "value_milli"))
    assert hourly == {1714575600: 4000, 1714579200: 7000}  # 23:00 and 00:00 local
    daily = {(code, day): (v, n) for code, day, v, n in DailyUsage.objects.values_list(
        "meter__code", "day", "value_milli", "readings")}
    assert daily == {("M1", date(2024, 5, 1)): (4000, 3), ("M1", date(2024, 5, 2)): (7000, 2),
                     ("D1", date(2024, 5, 1)): (7500, 1)}
    assert not HourlyUsage.objects.filter(meter__code="D1").exists()  # daily meters have no hours


def test_rollups_add_up_across_batches(make_meter, send):
    make_meter()
    send(quarter_hours("M1", "2024-05-01 00:00", ["10", "11"]))
    send(quarter_hours("M1", "2024-05-01 00:30", ["13", "16"]))
    assert HourlyUsage.objects.get().value_milli == 6000
    assert DailyUsage.objects.get().readings == 3


def test_times_with_offsets_are_the_same_instant(make_meter, send):
    make_meter()
    send([("M1", "2024-05-01T00:00:00+08:00", "1"), ("M1", "2024-04-30T16:15:00Z", "2"),
          ("M1", "2024-05-01 00:30:00", "3")])
    assert values() == [None, 1000, 1000]


def test_files_csv_jsonl_parquet(make_meter, tmp_path):
    make_meter()
    csv_file = tmp_path / "r.csv"
    csv_file.write_text("meter,ts,value\nM1,2024-05-01 00:00,1\nM1,2024-05-01 00:15,2\n")
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text(json.dumps({"meter": "M1", "ts": "2024-05-01 00:30", "value": 3.5}) + "\n")
    parquet = tmp_path / "r.parquet"
    pq.write_table(pa.table({"meter": ["M1"], "ts": ["2024-05-01 00:45"], "value": [4.0]}), parquet)
    for path in (csv_file, jsonl, parquet):
        assert services.import_readings(path).rejected == 0
    assert values() == [None, 1000, 1500, 500]


def test_missing_columns_and_unsupported_files(make_meter, tmp_path):
    make_meter()
    bad = tmp_path / "r.csv"
    bad.write_text("meter,time,value\nM1,2024-05-01 00:00,1\n")
    with pytest.raises(DomainError) as error:
        services.import_readings(bad)
    assert error.value.code == "missing_columns"
    assert ReadingBatch.objects.get().status == ReadingBatch.Status.FAILED
    with pytest.raises(DomainError):
        services.import_readings(tmp_path / "r.xls")


def test_an_empty_delivery(make_meter, send):
    make_meter()
    assert send([]).summary()["readings"] == 0


def test_a_failure_stores_nothing(make_meter, send, monkeypatch):
    make_meter()
    from tanhui.supervision import readings

    def broken(group, progress):
        raise RuntimeError("disk full")
    monkeypatch.setattr(readings, "write", broken)
    with pytest.raises(RuntimeError):
        send(quarter_hours("M1", "2024-05-01 00:00", ["1", "2"]))
    assert not Reading.objects.exists() and Meter.objects.get().last_ts is None
    assert ReadingBatch.objects.get().error == "disk full"


def test_many_meters_in_groups(make_building, send, monkeypatch):
    """Large deliveries are judged in meter groups (one worker thread); the result is the same."""
    from tanhui.supervision import readings
    monkeypatch.setattr(readings, "GROUP_ROWS", 10)
    building = make_building()
    rows = []
    for m in range(12):
        services.upsert_meter(code=f"M{m}", building=building, kind="electricity")
        rows += quarter_hours(f"M{m}", "2024-05-01 00:00", [str(m * 10 + i) for i in range(8)])
    batch = send(rows)
    assert batch.accepted == 96
    assert Reading.objects.filter(value_milli=1000).count() == 84
    assert HourlyUsage.objects.count() == 24
