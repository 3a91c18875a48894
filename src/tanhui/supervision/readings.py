"""The readings pipeline: a delivery of readings → checks → consumption per interval → readings,
hourly and daily rollups, flags and meter state, written inside the caller's transaction.

Every rule is per meter, so a delivery is judged meter group by meter group:
1. stage: DuckDB reads the file once, parses it and applies the checks that need only the row;
   the rows stream out and are written to Arrow files partitioned by meter (a scratch directory,
   deleted afterwards);
2. judge: each group of partitions (about GROUP_ROWS readings) is sorted by meter and time and
   gets the remaining checks and its consumption as vectorised Arrow operations, in a worker
   thread, while the main thread writes the previous group to the database (multi-row INSERTs on
   SQLite, COPY on PostgreSQL).
Memory stays bounded by the batch and group sizes and DuckDB's memory limit, whatever the size of
the delivery.

Checks, the first that applies gives the reason (see docs/supervision.md):
malformed → unknown_meter → misaligned → future_timestamp → duplicate → out_of_order → negative_delta.
A cumulative register that falls below a tenth of the previous value is a reset: accepted, with
the new register value as the interval's consumption, and flagged. Gaps are flagged, never filled.
"""

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection

from tanhui.core.bulk import insert_arrow, insert_rows
from tanhui.core.errors import DomainError
from tanhui.core.timeutil import SHANGHAI
from tanhui.supervision.models import DailyUsage, HourlyUsage, Meter, Reading, ReadingIssue

COLUMNS = ("meter", "ts", "value")
FUTURE_TOLERANCE_S = 300
SHANGHAI_OFFSET_S = 8 * 3600  # Asia/Shanghai is UTC+8 all year (no daylight saving since 1991)
EPOCH_DAY = date(1970, 1, 1)
READING_LIMIT = 10**12  # thousandths of a unit: a reading of a billion kWh, m³ or GJ is malformed
REGISTER_LIMIT = 2**40  # above any reading, for the running maximum below
PARTITIONS = 64
GROUP_ROWS = 2_000_000
CHUNK_ROWS = 200_000
NULL_INT = pa.scalar(None, pa.int64())
_SOURCES = {
    ".csv": "read_csv({}, all_varchar=true, header=true, null_padding=true)",
    ".jsonl": "read_json({}, format='newline_delimited', records=true, union_by_name=true)",
    ".ndjson": "read_json({}, format='newline_delimited', records=true, union_by_name=true)",
    ".parquet": "read_parquet({})",
}
SUPPORTED_SUFFIXES = tuple(_SOURCES)
ISSUE_COLUMNS = ["batch_id", "seq", "meter_id", "meter_code", "ts", "ts_text", "value_text", "reason", "rejected",
                 "detail"]


class NullProgress:
    def update(self, n=1):
        pass


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Group:
    """One meter group's results, ready to write."""

    readings: pa.Table
    hourly: pa.Table
    daily: pa.Table
    issues: list[tuple]
    state: list[tuple[int, int, int | None]]  # (meter, latest ts, its register) where it moved on
    meters: list[int] = field(default_factory=list)  # meters with accepted readings
    reasons: Counter = field(default_factory=Counter)
    resets: int = 0
    gaps: int = 0
    missing: int = 0
    days: tuple[date | None, date | None] = (None, None)


class Delivery:
    """A delivery being judged, for one import: its rows staged in Arrow files partitioned by meter
    (in a scratch directory), the meters' state, and the stored readings it may repeat."""

    def __init__(self, source: Path | pa.Table, meters: list[Meter], now: datetime, batch_id: int):
        self.batch_id = batch_id
        self.dir = Path(tempfile.mkdtemp(prefix="readings-", dir=_scratch()))
        self.meters = pa.table({
            "id": pa.array([m.pk for m in meters], pa.int64()),
            "code": pa.array([m.code for m in meters], pa.string()),
            "cumulative": pa.array([m.mode == Meter.Mode.CUMULATIVE for m in meters], pa.bool_()),
            "interval_s": pa.array([m.interval_s for m in meters], pa.int64()),
            "last_ts": pa.array([m.last_ts for m in meters], pa.int64()),
            "last_register": pa.array([m.last_register_milli for m in meters], pa.int64()),
        })
        self.codes = {m.pk: m.code for m in meters}
        self.parts: dict[int, int] = {}  # rows per partition; -1 holds the rows rejected on their own
        self.late: dict[int, tuple[int, int]] = {}  # meter → first, last ts at or before its latest reading
        self.stored = pa.array([], pa.int64())  # _key(meter, ts) of stored readings the delivery repeats
        try:
            self._stage(source, now)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def _stage(self, source: Path | pa.Table, now: datetime) -> None:
        """DuckDB parses the delivery and applies the checks that need only the row; the rows stream
        out in batches and are written to one Arrow file per partition."""
        con = duckdb.connect()
        con.execute("SET TimeZone = 'Asia/Shanghai'")  # a time without offset is Shanghai time
        con.execute(f"SET memory_limit = '{getattr(settings, 'TANHUI_DUCKDB_MEMORY', '1GB')}'")
        con.execute(f"SET temp_directory = {_literal(str(self.dir / 'spill'))}")
        con.register("meters", self.meters)
        if isinstance(source, pa.Table):
            con.register("src_table", source)
            scan = "src_table"
        else:
            reader = _SOURCES.get(source.suffix.lower())
            if reader is None:
                raise DomainError("unsupported_file", f"{source.name}: use .csv, .jsonl or .parquet")
            scan = reader.format(_literal(str(source)))
        writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
        try:
            present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}  # noqa: S608
            missing = [c for c in COLUMNS if c not in present]
            if missing:
                raise DomainError("missing_columns",
                                  f"missing column(s): {', '.join(missing)}; expected meter, ts, value")
            rows = con.sql(f"""
                WITH src AS (
                    SELECT CAST(row_number() OVER () - 1 AS BIGINT) AS seq, meter, ts, value FROM {scan}
                ), parsed AS (
                    SELECT s.*, m.id AS meter_id, m.cumulative, m.interval_s, m.last_ts,
                           nullif(trim(CAST(s.meter AS VARCHAR)), '') AS code,
                           epoch(try_cast(s.ts AS TIMESTAMPTZ))::BIGINT AS t,
                           CAST(try_cast(s.value AS DECIMAL(18, 3)) * 1000 AS BIGINT) AS v
                    FROM src s LEFT JOIN meters m ON m.code = trim(CAST(s.meter AS VARCHAR))
                )
                SELECT seq, meter_id, t, v, last_ts, CASE
                    WHEN code IS NULL OR t IS NULL OR v IS NULL OR (cumulative AND v < 0)
                         OR abs(v) >= {READING_LIMIT} THEN 'malformed'
                    WHEN meter_id IS NULL THEN 'unknown_meter'
                    WHEN (t + {SHANGHAI_OFFSET_S}) % interval_s <> 0 THEN 'misaligned'
                    WHEN t > {int(now.timestamp()) + FUTURE_TOLERANCE_S} THEN 'future_timestamp'
                END AS reason, CAST(meter AS VARCHAR) AS raw_meter, CAST(ts AS VARCHAR) AS raw_ts,
                CAST(value AS VARCHAR) AS raw_value
                FROM parsed
            """)  # noqa: S608 - integers and quoted paths only
            for batch in rows.to_arrow_reader(CHUNK_ROWS):
                self._spill(batch, writers)
        except duckdb.Error as exc:
            raise DomainError("unreadable_file", str(exc)) from exc
        finally:
            for writer in writers.values():
                writer.close()
            con.close()

    def _spill(self, batch: pa.RecordBatch, writers: dict) -> None:
        """Rows rejected on their own go to partition -1 as sent; the others by meter, as numbers."""
        rejected = pc.is_valid(batch.column("reason"))
        if pc.any(rejected).as_py():
            self._write(-1, batch.filter(rejected).select(["seq", "meter_id", "t", "reason", "raw_meter", "raw_ts",
                                                           "raw_value"]), writers)
            batch = batch.filter(pc.invert(rejected))
        late = _true(pc.less_equal(batch.column("t"), batch.column("last_ts")))
        if pc.any(late).as_py():
            for row in pa.table(batch.filter(late)).group_by("meter_id").aggregate(
                    [("t", "min"), ("t", "max")]).to_pylist():
                first, last = self.late.get(row["meter_id"], (row["t_min"], row["t_max"]))
                self.late[row["meter_id"]] = (min(first, row["t_min"]), max(last, row["t_max"]))
        batch = batch.select(["seq", "meter_id", "t", "v"])
        part = pc.remainder(batch.column("meter_id"), PARTITIONS)
        order = pc.sort_indices(part)
        runs = pc.run_end_encode(part.take(order))
        batch = batch.take(order)
        start = 0
        for end, p in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
            self._write(p, batch.slice(start, end - start), writers)
            start = end

    def _write(self, part: int, batch: pa.RecordBatch, writers: dict) -> None:
        if part not in writers:
            writers[part] = pa.ipc.new_file(self.dir / f"part{part}.arrow", batch.schema)
        writers[part].write_batch(batch)
        self.parts[part] = self.parts.get(part, 0) + batch.num_rows

    def _read(self, part: int) -> pa.Table:
        return pa.ipc.open_file(pa.memory_map(str(self.dir / f"part{part}.arrow"))).read_all()

    def add_stored(self, meter_id: int, stamps: list[int]) -> None:
        keys = _key(pa.array([meter_id] * len(stamps), pa.int64()), pa.array(stamps, pa.int64()))
        self.stored = pa.concat_arrays([self.stored, keys])

    def groups(self) -> Iterator[Group]:
        """Judged meter groups; the next group is judged in a worker thread while this one is written."""
        units, unit, size = [], [], 0
        for part, rows in sorted(self.parts.items()):
            if part < 0:
                continue
            unit.append(part)
            size += rows
            if size >= GROUP_ROWS:
                units.append(unit)
                unit, size = [], 0
        units += [unit] if unit else []
        yield self._rejected_as_sent()
        with ThreadPoolExecutor(max_workers=1) as worker:
            pending = [worker.submit(self._judge, units[0])] if units else []
            for next_unit in units[1:]:
                pending.append(worker.submit(self._judge, next_unit))
                yield pending.pop(0).result()
            if pending:
                yield pending.pop(0).result()

    def _rejected_as_sent(self) -> Group:
        """The readings rejected by the checks on the row alone, as they were sent."""
        rows = self._read(-1).to_pylist() if -1 in self.parts else []
        issues = [(self.batch_id, r["seq"], r["meter_id"], (r["raw_meter"] or "")[:200], r["t"],
                   (r["raw_ts"] or "")[:100], (r["raw_value"] or "")[:100], r["reason"], True, "") for r in rows]
        empty = pa.table({})
        return Group(empty, empty, empty, issues, [], [], Counter(r["reason"] for r in rows))

    def _judge(self, parts: list[int]) -> Group:
        """Runs in the worker thread: the group's rows with each meter's latest stored reading (as
        row seq -1), the meter's settings, and whether the reading is stored already; sorted."""
        rows = pa.concat_tables([self._read(p) for p in parts])
        present = pc.is_in(self.meters.column("id"), pc.unique(rows.column("meter_id")))
        known = self.meters.filter(pc.and_kleene(pc.is_valid(self.meters.column("last_ts")), present))
        seeds = pa.table({"seq": pa.repeat(pa.scalar(-1, pa.int64()), len(known)), "meter_id": known.column("id"),
                          "t": known.column("last_ts"), "v": known.column("last_register")})
        rows = pa.concat_tables([rows, seeds])
        position = pc.index_in(rows.column("meter_id"), value_set=self.meters.column("id"))
        for name in ("cumulative", "interval_s", "last_ts"):
            rows = rows.append_column(name, self.meters.column(name).take(position))
        stored = pc.is_in(_key(rows.column("meter_id"), rows.column("t")), value_set=self.stored)
        rows = rows.append_column("stored", pc.and_kleene(pc.greater_equal(rows.column("seq"), 0), stored))
        order = pc.sort_indices(rows, [("meter_id", "ascending"), ("t", "ascending"), ("seq", "ascending")])
        return judge_rows(rows.take(order), self.batch_id, self.codes)


def _key(meter_id, ts) -> pa.Array:
    """One integer for (meter, ts): ts < 2³⁴ (the year 2514), meters < 2²⁹."""
    return pc.add(pc.multiply(meter_id, 2**34), ts)


def _shift(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """The previous row's value (null for the first row), without copying."""
    if not len(values):
        return values
    return pa.chunked_array([pa.nulls(1, values.type), *values.slice(0, len(values) - 1).chunks], values.type)


def _next(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """The next row's value (null for the last row), without copying."""
    if not len(values):
        return values
    return pa.chunked_array([*values.slice(1).chunks, pa.nulls(1, values.type)], values.type)


def _true(mask) -> pa.ChunkedArray:
    return pc.fill_null(mask, False)


def _where(rows: pa.Table, mask) -> pa.Table:
    """The rows where `mask` is true; the table itself when it is true everywhere (the usual case)."""
    return rows if pc.sum(mask).as_py() == len(rows) else rows.filter(mask)


def _arrays(rows: pa.Table) -> dict[str, pa.ChunkedArray]:
    return {name: rows.column(name) for name in rows.column_names}


def judge_rows(rows: pa.Table, batch_id: int, codes: dict[int, str]) -> Group:
    """The checks that need a meter's other readings, and each reading's consumption.

    `rows` (seq, meter_id, t, v, cumulative, interval_s, last_ts, stored) are sorted by meter, time
    and file order; a meter's latest stored reading comes first as seq -1, so that the first new
    reading is counted from it. Everything is vectorised over the sorted arrays."""
    c = _arrays(rows)
    new = pc.greater_equal(c["seq"], 0)
    repeat = _true(pc.and_kleene(pc.equal(c["meter_id"], _shift(c["meter_id"])), pc.equal(c["t"], _shift(c["t"]))))
    duplicate = pc.and_kleene(new, pc.or_kleene(repeat, c["stored"]))
    late = pc.and_not_kleene(_true(pc.and_kleene(c["cumulative"], pc.less_equal(c["t"], c["last_ts"]))), duplicate)
    late = pc.and_kleene(new, late)
    rejected = _rejected(rows, duplicate, "duplicate") + _rejected(rows, late, "out_of_order")
    rows = _where(rows, pc.invert(pc.or_kleene(duplicate, late)))

    # Consumption. A cumulative meter's register counts from the highest earlier register of its
    # segment: a segment starts at the meter's first row and at each reset (a fall below a tenth of
    # the previous register). Segment numbers rise along the sorted rows, so a running maximum of
    # (segment × 2⁴⁰ + register) is the running maximum within the segment.
    c = _arrays(rows)
    meter, t, v, cumulative = c["meter_id"], c["t"], c["v"], c["cumulative"]
    first = pc.invert(_true(pc.equal(meter, _shift(meter))))
    prev_t, prev_v = _shift(t), _shift(v)
    reset = _true(pc.and_kleene(pc.and_not_kleene(cumulative, first), pc.less(pc.multiply(v, 10), prev_v)))
    segment = pc.multiply(pc.cumulative_sum(pc.cast(pc.or_kleene(first, reset), pa.int64())), REGISTER_LIMIT)
    running = pc.cumulative_max(pc.if_else(cumulative, pc.add(segment, v), segment))
    prev_max = pc.subtract(_shift(running), segment)
    counted = pc.if_else(pc.or_kleene(first, reset), pc.if_else(first, NULL_INT, v),
                         pc.subtract(v, prev_max))
    value = pc.if_else(cumulative, counted, v)
    in_order = pc.or_kleene(pc.is_null(c["last_ts"]), pc.greater(t, c["last_ts"]))
    missing = pc.if_else(pc.and_not_kleene(in_order, first),
                         pc.max_element_wise(pc.subtract(pc.divide(pc.subtract(t, prev_t), c["interval_s"]), 1), 0),
                         0)
    new = pc.greater_equal(c["seq"], 0)
    negative = _true(pc.less(value, 0))
    rejected += _rejected(rows, pc.and_kleene(new, negative), "negative_delta")
    accepted = pc.and_not_kleene(new, negative)
    rows = _where(rows.append_column("value", value).append_column("missing", missing).append_column(
        "reset", reset).append_column("prev_v", prev_v), accepted)
    return _group(rows, batch_id, codes, rejected)


def _pick(rows: pa.Table, mask, columns: list[str]) -> list[dict]:
    """The few rows where `mask` is true, as dicts (cost follows the rows picked, not the table)."""
    return rows.select(columns).take(pc.indices_nonzero(_true(mask))).to_pylist()


def _rejected(rows: pa.Table, mask, reason: str) -> list[tuple]:
    return [(r["seq"], r["meter_id"], r["t"], r["v"], reason) for r in _pick(rows, mask, ["seq", "meter_id", "t", "v"])]


def _group(rows: pa.Table, batch_id: int, codes: dict[int, str], rejected: list[tuple]) -> Group:
    """The accepted rows (sorted by meter and time) as readings, rollups, flags and meter state."""
    c = _arrays(rows)
    meter, t, last_ts = c["meter_id"], c["t"], c["last_ts"]
    readings = pa.table({"meter_id": meter, "ts": t, "value_milli": c["value"],
                         "register_milli": pc.if_else(c["cumulative"], c["v"], NULL_INT),
                         "batch_id": pa.repeat(pa.scalar(batch_id, pa.int64()), len(rows))})
    daily = _sum(meter, _bucket(t, 86400, SHANGHAI_OFFSET_S), _bucket(last_ts, 86400, SHANGHAI_OFFSET_S), c["value"])
    days = pc.min_max(daily.column("bucket")).as_py()
    daily = daily.set_column(1, "bucket", pc.cast(pc.cast(daily.column("bucket"), pa.int32()).cast(pa.date32()),
                                                 pa.string()))
    hourly = _sum(meter, pc.multiply(_bucket(t, 3600), 3600), pc.multiply(_bucket(last_ts, 3600), 3600),
                  pc.if_else(pc.less_equal(c["interval_s"], 3600), c["value"], NULL_INT))
    flags = _pick(rows, pc.or_kleene(c["reset"], pc.greater(c["missing"], 0)),
                  ["seq", "meter_id", "t", "v", "reset", "prev_v", "missing"])
    issues = [_issue(batch_id, codes, seq, m, ts, v, reason, True, "") for seq, m, ts, v, reason in rejected]
    issues += [_issue(batch_id, codes, f["seq"], f["meter_id"], f["t"], f["v"],
                      "register_reset" if f["reset"] else "gap", False,
                      f"register fell from {_units(f['prev_v'])} to {_units(f['v'])}" if f["reset"]
                      else f"{f['missing']} interval(s) missing before this reading") for f in flags]
    last = pc.invert(_true(pc.equal(meter, _next(meter))))
    moved = pc.and_kleene(last, pc.or_kleene(pc.is_null(last_ts), pc.greater(t, last_ts)))
    state = [(r["meter_id"], r["ts"], r["register_milli"])
             for r in _pick(readings, moved, ["meter_id", "ts", "register_milli"])]
    return Group(readings, hourly, daily, sorted(issues, key=lambda i: i[1]), state,
                 pc.unique(meter).to_pylist(), Counter(r[4] for r in rejected), pc.sum(c["reset"]).as_py() or 0,
                 pc.sum(pc.greater(c["missing"], 0)).as_py() or 0, pc.sum(c["missing"]).as_py() or 0,
                 tuple(None if d is None else EPOCH_DAY + timedelta(days=d) for d in (days["min"], days["max"])))


def _bucket(ts, size: int, offset: int = 0) -> pa.ChunkedArray:
    """The number of the hour or local day that the interval ending at `ts` belongs to."""
    return pc.divide(pc.add(pc.subtract(ts, 1), offset), size)


def _sum(meter, bucket, last_bucket, value) -> pa.Table:
    """Per meter and bucket: consumption, readings (those with a value), and whether the bucket may
    already hold stored readings (it is not after the bucket of the meter's previous latest reading)."""
    existing = _true(pc.less_equal(bucket, last_bucket))
    grouped = pa.table({"meter_id": meter, "bucket": bucket, "existing": existing, "value": value}).group_by(
        ["meter_id", "bucket", "existing"]).aggregate([("value", "sum"), ("value", "count")])
    grouped = grouped.filter(pc.greater(grouped.column("value_count"), 0))
    return grouped.select(["meter_id", "bucket", "value_sum", "value_count", "existing"]).sort_by(
        [("meter_id", "ascending"), ("bucket", "ascending")])


def _units(milli: int) -> str:
    return str(Decimal(milli).scaleb(-3))


def _issue(batch_id, codes, seq, meter_id, t, v, reason, rejected, detail) -> tuple:
    at = datetime.fromtimestamp(t, SHANGHAI).isoformat()
    return (batch_id, seq, meter_id, codes.get(meter_id, ""), t, at, _units(v), reason, rejected, detail)


def _scratch() -> Path:
    path = Path(settings.HOME) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---- writing to the database ----------------------------------------------------------------------

def write(group: Group, progress) -> None:
    """Stores a group's readings, adds them to the hourly and daily rollups, keeps its issues."""
    insert_rows(ReadingIssue._meta.db_table, ISSUE_COLUMNS, group.issues)
    for chunk in group.readings.to_batches(CHUNK_ROWS):
        insert_arrow(Reading._meta.db_table, ["meter_id", "ts", "value_milli", "register_milli", "batch_id"], chunk)
        progress.update(chunk.num_rows)
    _add(HourlyUsage._meta.db_table, "hour", group.hourly)
    _add(DailyUsage._meta.db_table, "day", group.daily)


def _add(table: str, key: str, rows: pa.Table) -> None:
    """A rollup row for a bucket after the meter's previous latest reading cannot exist yet and is
    inserted directly; the others (the boundary hour or day, late readings) are added by upsert."""
    if not rows.num_rows:
        return
    columns = ["meter_id", key, "value_milli", "readings"]
    existing = rows.column("existing")
    fresh = rows.filter(pc.invert(existing)).drop_columns(["existing"])
    if fresh.num_rows:
        insert_arrow(table, columns, fresh)
    late = rows.filter(existing).drop_columns(["existing"])
    if late.num_rows:
        q = connection.ops.quote_name
        upsert = (f"INSERT INTO {q(table)} ({', '.join(map(q, columns))}) VALUES (%s, %s, %s, %s) "  # noqa: S608
                  f"ON CONFLICT (meter_id, {q(key)}) DO UPDATE SET "
                  f"value_milli = {q(table)}.value_milli + excluded.value_milli, "
                  f"readings = {q(table)}.readings + excluded.readings")
        with connection.cursor() as cursor:
            cursor.executemany(upsert, list(_tuples(late)))


def _tuples(table) -> zip:
    return zip(*(column.to_pylist() for column in table.columns), strict=True)
