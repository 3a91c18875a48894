"""The readings pipeline: a delivery of readings → checks → consumption per interval → readings,
hourly and daily rollups, flags and meter state, written inside the caller's transaction.

Every rule is per meter, so a delivery is judged meter group by meter group:
1. stage: DuckDB reads the file once, applies the checks that need only the row itself and writes
   the rows to Parquet partitioned by meter (a scratch directory, deleted afterwards);
2. judge: each group of partitions (about GROUP_ROWS readings) gets the remaining checks and its
   consumption in DuckDB, in a worker thread, while the main thread writes the previous group to
   the database (executemany on SQLite, COPY on PostgreSQL).
Memory stays bounded by the group size and DuckDB's memory limit, whatever the delivery's size.

Checks, the first that applies gives the reason (see docs/supervision.md):
malformed → unknown_meter → misaligned → future_timestamp → duplicate → out_of_order → negative_delta.
A cumulative register that falls below a tenth of the previous value is a reset: accepted, with
the new register value as the interval's consumption, and flagged. Gaps are flagged, never filled.
"""

import io
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.conf import settings
from django.db import connection

from tanhui.core.bulk import insert_rows
from tanhui.core.errors import DomainError
from tanhui.supervision.models import DailyUsage, HourlyUsage, Meter, Reading, ReadingIssue

COLUMNS = ("meter", "ts", "value")
FUTURE_TOLERANCE_S = 300
SHANGHAI_OFFSET_S = 8 * 3600  # Asia/Shanghai is UTC+8 all year (no daylight saving since 1991)
PARTITIONS = 64
GROUP_ROWS = 2_000_000
CHUNK_ROWS = 200_000
_SOURCES = {
    ".csv": "read_csv({}, all_varchar=true, header=true, null_padding=true)",
    ".jsonl": "read_json({}, format='newline_delimited', records=true, union_by_name=true)",
    ".ndjson": "read_json({}, format='newline_delimited', records=true, union_by_name=true)",
    ".parquet": "read_parquet({})",
}
SUPPORTED_SUFFIXES = tuple(_SOURCES)
ISSUE_COLUMNS = ["batch_id", "seq", "meter_id", "meter_code", "ts_text", "value_text", "reason", "rejected", "detail"]


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
    """A delivery being judged: a DuckDB database and a scratch directory, for one import."""

    def __init__(self, source: Path | pa.Table, meters: list[Meter], now: datetime, batch_id: int):
        self.batch_id = batch_id
        self.dir = Path(tempfile.mkdtemp(prefix="readings-", dir=_scratch()))
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'Asia/Shanghai'")  # a time without offset is Shanghai time
        self.con.execute(f"SET memory_limit = '{getattr(settings, 'TANHUI_DUCKDB_MEMORY', '1GB')}'")
        self.con.execute(f"SET temp_directory = {_literal(str(self.dir / 'spill'))}")
        self.con.register("meters_in", pa.table({
            "id": pa.array([m.pk for m in meters], pa.int64()),
            "code": pa.array([m.code for m in meters], pa.string()),
            "cumulative": pa.array([m.mode == Meter.Mode.CUMULATIVE for m in meters], pa.bool_()),
            "interval_s": pa.array([m.interval_s for m in meters], pa.int64()),
            "last_ts": pa.array([m.last_ts for m in meters], pa.int64()),
            "last_register": pa.array([m.last_register_milli for m in meters], pa.int64()),
        }))
        self.con.execute("CREATE TABLE meters AS SELECT * FROM meters_in")
        self.con.execute("CREATE TABLE stored (meter_id BIGINT, t BIGINT)")
        self._stage(source, now)

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _stage(self, source: Path | pa.Table, now: datetime) -> None:
        if isinstance(source, pa.Table):
            self.con.register("src_table", source)
            scan = "src_table"
        else:
            reader = _SOURCES.get(source.suffix.lower())
            if reader is None:
                raise DomainError("unsupported_file", f"{source.name}: use .csv, .jsonl or .parquet")
            scan = reader.format(_literal(str(source)))
        try:
            present = {row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
            missing = [c for c in COLUMNS if c not in present]
            if missing:
                raise DomainError("missing_columns",
                                  f"missing column(s): {', '.join(missing)}; expected meter, ts, value")
            self.con.execute(f"""
                COPY (
                    WITH src AS (
                        SELECT CAST(row_number() OVER () - 1 AS BIGINT) AS seq, meter, ts, value FROM {scan}
                    ), parsed AS (
                        SELECT s.*, m.id AS meter_id, m.cumulative, m.interval_s,
                               nullif(trim(CAST(s.meter AS VARCHAR)), '') AS code,
                               epoch(try_cast(s.ts AS TIMESTAMPTZ))::BIGINT AS t,
                               CAST(try_cast(s.value AS DECIMAL(18, 3)) * 1000 AS BIGINT) AS v
                        FROM src s LEFT JOIN meters m ON m.code = trim(CAST(s.meter AS VARCHAR))
                    ), checked AS (
                        SELECT *, CASE
                            WHEN code IS NULL OR t IS NULL OR v IS NULL OR (cumulative AND v < 0) THEN 'malformed'
                            WHEN meter_id IS NULL THEN 'unknown_meter'
                            WHEN (t + {SHANGHAI_OFFSET_S}) % interval_s <> 0 THEN 'misaligned'
                            WHEN t > {int(now.timestamp()) + FUTURE_TOLERANCE_S} THEN 'future_timestamp'
                        END AS reason FROM parsed
                    )
                    SELECT seq, meter_id, t, v, reason,
                           CASE WHEN reason IS NOT NULL THEN CAST(meter AS VARCHAR) END AS raw_meter,
                           CASE WHEN reason IS NOT NULL THEN CAST(ts AS VARCHAR) END AS raw_ts,
                           CASE WHEN reason IS NOT NULL THEN CAST(value AS VARCHAR) END AS raw_value,
                           CASE WHEN reason IS NULL THEN meter_id % {PARTITIONS} ELSE -1 END AS part
                    FROM checked
                ) TO {_literal(str(self.dir / 'staged'))} (FORMAT parquet, PARTITION_BY (part))
            """)  # noqa: S608 - integers and quoted paths only
        except duckdb.Error as exc:
            raise DomainError("unreadable_file", str(exc)) from exc
        self.parts = dict(self.con.execute(f"""
            SELECT part, count(*) FROM read_parquet({_literal(str(self.dir / 'staged' / '*' / '*.parquet'))},
                                                    hive_partitioning = true)
            GROUP BY part ORDER BY part
        """).fetchall())  # noqa: S608

    def _scan(self, parts: list[int]) -> str:
        files = ", ".join(_literal(str(self.dir / "staged" / f"part={p}" / "*.parquet")) for p in parts)
        return f"read_parquet([{files}])"

    def late(self) -> list[tuple[int, int, int]]:
        """(meter, first, last ts) of readings at or before the meter's latest stored reading."""
        parts = [p for p in self.parts if p >= 0]
        if not parts:
            return []
        return self.con.execute(f"""
            SELECT r.meter_id, min(r.t), max(r.t) FROM {self._scan(parts)} r JOIN meters m ON m.id = r.meter_id
            WHERE r.t <= m.last_ts GROUP BY r.meter_id
        """).fetchall()  # noqa: S608

    def add_stored(self, meter_id: int, stamps: list[int]) -> None:
        self.con.register("stored_in", pa.table({"meter_id": pa.array([meter_id] * len(stamps), pa.int64()),
                                                 "t": pa.array(stamps, pa.int64())}))
        self.con.execute("INSERT INTO stored SELECT * FROM stored_in")
        self.con.unregister("stored_in")

    def groups(self) -> Iterator[Group]:
        """Judged meter groups; the next group is judged in a worker thread while this one is written."""
        units, unit, size = [], [], 0
        for part, rows in self.parts.items():
            if part < 0:
                continue
            unit.append(part)
            size += rows
            if size >= GROUP_ROWS:
                units.append(unit)
                unit, size = [], 0
        units += [unit] if unit else []
        yield self._rejected()
        with ThreadPoolExecutor(max_workers=1) as worker:
            pending = [worker.submit(self._judge, units[0])] if units else []
            for next_unit in units[1:]:
                pending.append(worker.submit(self._judge, next_unit))
                yield pending.pop(0).result()
            if pending:
                yield pending.pop(0).result()

    def _rejected(self) -> Group:
        """The readings rejected by the checks on the row alone, as they were sent."""
        rows = [] if -1 not in self.parts else self.con.execute(f"""
            SELECT seq, meter_id, coalesce(raw_meter, ''), coalesce(raw_ts, ''), coalesce(raw_value, ''), reason
            FROM {self._scan([-1])} ORDER BY seq
        """).fetchall()  # noqa: S608
        issues = [(self.batch_id, seq, meter_id, code[:200], ts[:100], value[:100], reason, True, "")
                  for seq, meter_id, code, ts, value, reason in rows]
        empty = pa.table({})
        return Group(empty, empty, empty, issues, [], [], Counter(r[5] for r in rows))

    def _judge(self, parts: list[int]) -> Group:
        cur = self.con.cursor()
        try:
            return self._judge_with(cur, parts)
        finally:
            cur.close()

    def _judge_with(self, cur, parts: list[int]) -> Group:
        table = f"unit_{parts[0]}"
        # Duplicates (in the file, or of a stored reading) and late registers go first; then each
        # meter's latest stored reading joins as row seq = -1 so that the first new reading is counted
        # from it. For a cumulative meter a reset starts a new segment; within a segment the
        # consumption is the register minus the highest register before it.
        cur.execute(f"""
            CREATE TABLE {table} AS
            WITH rows AS (
                SELECT r.seq, r.meter_id, r.t, r.v, m.cumulative, m.interval_s, m.last_ts,
                       CASE WHEN row_number() OVER (PARTITION BY r.meter_id, r.t ORDER BY r.seq) > 1
                                 OR s.t IS NOT NULL THEN 'duplicate'
                            WHEN m.cumulative AND r.t <= m.last_ts THEN 'out_of_order' END AS reason
                FROM {self._scan(parts)} r JOIN meters m ON m.id = r.meter_id
                LEFT JOIN stored s ON s.meter_id = r.meter_id AND s.t = r.t
            ), base AS (
                SELECT seq, meter_id, t, v, cumulative, interval_s, last_ts FROM rows WHERE reason IS NULL
                UNION ALL
                SELECT -1, id, last_ts, last_register, cumulative, interval_s, last_ts FROM meters
                WHERE last_ts IS NOT NULL AND id IN (SELECT meter_id FROM rows WHERE reason IS NULL)
            ), lagged AS (
                SELECT *, lag(t) OVER w AS prev_t, lag(v) OVER w AS prev_v
                FROM base WINDOW w AS (PARTITION BY meter_id ORDER BY t)
            ), segmented AS (
                SELECT *, coalesce(cumulative AND v * 10 < prev_v, false) AS is_reset,
                       sum(CASE WHEN cumulative AND v * 10 < prev_v THEN 1 ELSE 0 END)
                           OVER (PARTITION BY meter_id ORDER BY t) AS segment
                FROM lagged
            ), counted AS (
                SELECT *, max(v) OVER (PARTITION BY meter_id, segment ORDER BY t
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max
                FROM segmented
            ), judged AS (
                SELECT seq, meter_id, t, interval_s, last_ts, is_reset, prev_v, v,
                       CASE WHEN NOT cumulative OR is_reset THEN v ELSE v - prev_max END AS value,
                       CASE WHEN cumulative THEN v END AS register,
                       CASE WHEN prev_t IS NOT NULL AND (last_ts IS NULL OR t > last_ts)
                            THEN greatest((t - prev_t) // interval_s - 1, 0) ELSE 0 END AS missing
                FROM counted WHERE seq >= 0
            )
            SELECT seq, meter_id, t, interval_s, last_ts, is_reset, prev_v, value, register, missing,
                   CASE WHEN value < 0 THEN 'negative_delta' END AS reason, v
            FROM judged
            UNION ALL
            SELECT seq, meter_id, t, interval_s, last_ts, false, NULL, NULL, NULL, 0, reason, v
            FROM rows WHERE reason IS NOT NULL
        """)  # noqa: S608 - table names and paths we made
        try:
            return self._results(cur, table)
        finally:
            cur.execute(f"DROP TABLE {table}")

    def _results(self, cur, table: str) -> Group:
        accepted = f"(SELECT * FROM {table} WHERE reason IS NULL)"
        readings = cur.sql(f"""
            SELECT meter_id, t, value, register, CAST({self.batch_id} AS BIGINT) AS batch_id
            FROM {accepted} ORDER BY meter_id, t
        """).to_arrow_table()  # noqa: S608
        day = f"CAST(DATE '1970-01-01' + CAST((a.t - 1 + {SHANGHAI_OFFSET_S}) // 86400 AS INTEGER) AS VARCHAR)"
        last_day = day.replace("a.t", "m.last_ts")
        hourly = _rollup(cur, accepted, "((a.t - 1) // 3600) * 3600", "((m.last_ts - 1) // 3600) * 3600",
                         "a.interval_s <= 3600")
        daily = _rollup(cur, accepted, day, last_day, "true")
        issues = cur.execute(f"""
            SELECT a.seq, a.meter_id, m.code, strftime(to_timestamp(a.t), '%Y-%m-%dT%H:%M:%S%z'),
                   CAST(a.v / 1000 AS VARCHAR), coalesce(a.reason, CASE WHEN a.is_reset THEN 'register_reset'
                   ELSE 'gap' END), a.reason IS NOT NULL,
                   CASE WHEN a.reason IS NOT NULL THEN ''
                        WHEN a.is_reset THEN printf('register fell from %.3f to %.3f', a.prev_v / 1000, a.v / 1000)
                        ELSE printf('%d interval(s) missing before this reading', a.missing) END
            FROM {table} a JOIN meters m ON m.id = a.meter_id
            WHERE a.reason IS NOT NULL OR a.is_reset OR a.missing > 0 ORDER BY a.seq
        """).fetchall()  # noqa: S608
        state = cur.execute(f"""
            SELECT a.meter_id, max(a.t), arg_max(a.register, a.t) FROM {accepted} a JOIN meters m ON m.id = a.meter_id
            GROUP BY a.meter_id, m.last_ts HAVING m.last_ts IS NULL OR max(a.t) > m.last_ts
        """).fetchall()  # noqa: S608
        resets, gaps, missing, first, last = cur.execute(f"""
            SELECT count(*) FILTER (WHERE is_reset), count(*) FILTER (WHERE missing > 0), coalesce(sum(missing), 0),
                   CAST(DATE '1970-01-01' + CAST((min(t) - 1 + {SHANGHAI_OFFSET_S}) // 86400 AS INTEGER) AS DATE),
                   CAST(DATE '1970-01-01' + CAST((max(t) - 1 + {SHANGHAI_OFFSET_S}) // 86400 AS INTEGER) AS DATE)
            FROM {accepted}
        """).fetchone()  # noqa: S608
        meters = [row[0] for row in cur.execute(f"SELECT DISTINCT meter_id FROM {accepted}").fetchall()]  # noqa: S608
        return Group(readings, hourly, daily, [(self.batch_id, *row) for row in issues], state, meters,
                     Counter(row[5] for row in issues if row[6]), resets, gaps, int(missing), (first, last))


def _rollup(cur, accepted: str, bucket: str, last_bucket: str, where: str) -> pa.Table:
    """Sums per meter and bucket, and whether the bucket may already hold stored readings (it is
    not after the bucket of the meter's previous latest reading)."""
    return cur.sql(f"""
        SELECT a.meter_id, {bucket} AS bucket, CAST(sum(a.value) AS BIGINT) AS value, count(*) AS n,
               m.last_ts IS NOT NULL AND {bucket} <= {last_bucket} AS existing
        FROM {accepted} a JOIN meters m ON m.id = a.meter_id
        WHERE a.value IS NOT NULL AND {where}
        GROUP BY ALL ORDER BY 1, 2
    """).to_arrow_table()  # noqa: S608 - fixed expressions


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
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {q(table)} ({', '.join(map(q, columns))}) VALUES (%s, %s, %s, %s) "
                f"ON CONFLICT (meter_id, {q(key)}) DO UPDATE SET "
                f"value_milli = {q(table)}.value_milli + excluded.value_milli, "
                f"readings = {q(table)}.readings + excluded.readings", list(_tuples(late)))


def _tuples(table) -> zip:
    return zip(*(column.to_pylist() for column in table.columns))


def insert_arrow(table: str, columns: list[str], data: pa.Table | pa.RecordBatch) -> None:
    """PostgreSQL: COPY from CSV rendered by Arrow (no per-row Python work); SQLite: executemany."""
    if connection.vendor != "postgresql":
        insert_rows(table, columns, _tuples(data))
        return
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getbuffer())
