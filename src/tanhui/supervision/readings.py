"""The readings pipeline: a delivery of readings → checks → consumption per interval → readings,
hourly and daily rollups and meter state, inside the caller's transaction.

DuckDB judges the whole delivery at once and does the arithmetic (it spills to disk beyond its
memory limit, so a year of 15-minute readings for a thousand meters runs in bounded memory); the
database receives the results as streamed chunks (executemany on SQLite, COPY on PostgreSQL).

Checks, the first that applies gives the reason (see docs/supervision.md):
malformed → unknown_meter → misaligned → future_timestamp → duplicate → out_of_order → negative_delta.
A cumulative register that falls below a tenth of the previous value is a reset: accepted, with
the new register value as the interval's consumption, and flagged. Gaps are flagged, never filled.
"""

import io
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.conf import settings
from django.db import connection

from tanhui.core.bulk import insert_rows
from tanhui.core.errors import DomainError
from tanhui.core.timeutil import local_date
from tanhui.supervision.models import DailyUsage, HourlyUsage, Meter, Reading, ReadingIssue

COLUMNS = ("meter", "ts", "value")
FUTURE_TOLERANCE_S = 300
CHUNK_ROWS = 200_000
_SOURCES = {
    ".csv": "read_csv(?, all_varchar=true, header=true, null_padding=true)",
    ".jsonl": "read_json(?, format='newline_delimited', records=true, union_by_name=true)",
    ".ndjson": "read_json(?, format='newline_delimited', records=true, union_by_name=true)",
    ".parquet": "read_parquet(?)",
}
SUPPORTED_SUFFIXES = tuple(_SOURCES)


class NullProgress:
    def update(self, n=1):
        pass


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    spill = Path(settings.HOME) / "tmp" / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute("SET TimeZone = 'Asia/Shanghai'")  # a time without offset is Shanghai time
    con.execute(f"SET memory_limit = '{getattr(settings, 'TANHUI_DUCKDB_MEMORY', '1GB')}'")
    con.execute("SET temp_directory = ?", [str(spill)])
    return con


def open_source(con: duckdb.DuckDBPyConnection, source: Path | pa.Table) -> None:
    """Defines the view `src(seq, meter, ts, value)` over a file or an Arrow table of readings."""
    if isinstance(source, pa.Table):
        con.register("src_raw", source)
        scan = "src_raw"
    else:
        reader = _SOURCES.get(source.suffix.lower())
        if reader is None:
            raise DomainError("unsupported_file", f"{source.name}: use .csv, .jsonl or .parquet")
        scan = reader.replace("?", "'" + str(source).replace("'", "''") + "'")  # a view cannot take parameters
    try:
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
        missing = [c for c in COLUMNS if c not in present]
        if missing:
            raise DomainError("missing_columns", f"missing column(s): {', '.join(missing)}; expected meter, ts, value")
        con.execute(f"CREATE VIEW src AS SELECT CAST(row_number() OVER () - 1 AS BIGINT) AS seq, "
                    f"meter, ts, value FROM {scan}")
    except duckdb.Error as exc:
        raise DomainError("unreadable_file", str(exc)) from exc


def judge(con, meters: list[Meter], now: datetime, stored_ts) -> None:
    """Creates `judged` (every reading with its rejection reason, if any) and `accepted` (the
    readings to store, with their interval consumption and flags).

    `stored_ts(meter_id, start, end)` returns the timestamps already stored for a meter in a range;
    it is asked only about readings at or before a meter's latest stored reading."""
    con.register("meters_in", pa.table({
        "id": pa.array([m.pk for m in meters], pa.int64()),
        "code": pa.array([m.code for m in meters], pa.string()),
        "cumulative": pa.array([m.mode == Meter.Mode.CUMULATIVE for m in meters], pa.bool_()),
        "interval_s": pa.array([m.interval_s for m in meters], pa.int64()),
        "last_ts": pa.array([m.last_ts for m in meters], pa.int64()),
        "last_register": pa.array([m.last_register_milli for m in meters], pa.int64()),
    }))
    con.execute("CREATE TEMP TABLE meters AS SELECT * FROM meters_in")
    now_s = int(now.timestamp())
    con.execute(f"""
        CREATE TEMP TABLE judged AS
        WITH parsed AS (
            SELECT s.seq, m.id AS meter_id, m.cumulative, m.interval_s, m.last_ts,
                   nullif(trim(CAST(s.meter AS VARCHAR)), '') AS code,
                   epoch(try_cast(s.ts AS TIMESTAMPTZ))::BIGINT AS t,
                   CAST(try_cast(s.value AS DECIMAL(18, 3)) * 1000 AS BIGINT) AS v
            FROM src s LEFT JOIN meters m ON m.code = trim(CAST(s.meter AS VARCHAR))
        ), checked AS (
            SELECT *, CASE
                WHEN code IS NULL OR t IS NULL OR v IS NULL OR (cumulative AND v < 0) THEN 'malformed'
                WHEN meter_id IS NULL THEN 'unknown_meter'
                WHEN (t + 28800) % interval_s <> 0 THEN 'misaligned'
                WHEN t > {now_s + FUTURE_TOLERANCE_S} THEN 'future_timestamp'
            END AS reason FROM parsed
        )
        SELECT seq, meter_id, cumulative, interval_s, last_ts, t, v,
               CASE WHEN reason IS NULL AND row_number() OVER (PARTITION BY meter_id, t, reason ORDER BY seq) > 1
                    THEN 'duplicate' ELSE reason END AS reason
        FROM checked
    """)  # noqa: S608 - only integers are interpolated
    _mark_stored_duplicates(con, stored_ts)
    con.execute("UPDATE judged SET reason = 'out_of_order' WHERE reason IS NULL AND cumulative AND t <= last_ts")
    # Consumption per reading. The meter's latest stored reading joins as row seq = -1 so that the
    # first new reading is counted from it. For a cumulative meter a reset starts a new segment;
    # within a segment the consumption is the register minus the highest register before it.
    con.execute("""
        CREATE TEMP TABLE accepted AS
        WITH base AS (
            SELECT meter_id, t, v, seq, cumulative, interval_s, last_ts FROM judged WHERE reason IS NULL
            UNION ALL
            SELECT id, last_ts, last_register, -1, cumulative, interval_s, last_ts FROM meters
            WHERE last_ts IS NOT NULL AND id IN (SELECT meter_id FROM judged WHERE reason IS NULL)
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
        )
        SELECT meter_id, t, seq, interval_s, prev_v, is_reset,
               CASE WHEN NOT cumulative OR is_reset THEN v ELSE v - prev_max END AS value,
               CASE WHEN cumulative THEN v END AS register,
               CASE WHEN prev_t IS NOT NULL AND (last_ts IS NULL OR t > last_ts)
                    THEN greatest((t - prev_t) // interval_s - 1, 0) ELSE 0 END AS missing
        FROM counted WHERE seq >= 0
    """)
    con.execute("""
        UPDATE judged SET reason = 'negative_delta'
        WHERE seq IN (SELECT seq FROM accepted WHERE value < 0)
    """)
    con.execute("DELETE FROM accepted WHERE value < 0")


def _mark_stored_duplicates(con, stored_ts) -> None:
    late = con.execute("""
        SELECT meter_id, min(t), max(t) FROM judged
        WHERE reason IS NULL AND t <= last_ts GROUP BY meter_id
    """).fetchall()
    if not late:
        return
    con.execute("CREATE TEMP TABLE stored (meter_id BIGINT, t BIGINT)")
    for meter_id, start, end in late:
        stamps = stored_ts(meter_id, start, end)
        con.register("stored_in", pa.table({"meter_id": pa.array([meter_id] * len(stamps), pa.int64()),
                                            "t": pa.array(stamps, pa.int64())}))
        con.execute("INSERT INTO stored SELECT * FROM stored_in")
        con.unregister("stored_in")
    con.execute("""
        UPDATE judged SET reason = 'duplicate'
        FROM stored WHERE judged.reason IS NULL AND judged.meter_id = stored.meter_id AND judged.t = stored.t
    """)


def counts(con) -> dict:
    readings, = con.execute("SELECT count(*) FROM judged").fetchone()
    by_reason = dict(con.execute("""
        SELECT reason, count(*) FROM judged WHERE reason IS NOT NULL GROUP BY reason ORDER BY reason
    """).fetchall())
    resets, gaps, missing = con.execute("""
        SELECT count(*) FILTER (WHERE is_reset), count(*) FILTER (WHERE missing > 0), coalesce(sum(missing), 0)
        FROM accepted
    """).fetchone()
    return {"readings": readings, "rejected": sum(by_reason.values()), "rejected_by_reason": by_reason,
            "accepted": readings - sum(by_reason.values()), "resets": resets, "gaps": gaps,
            "missing_intervals": int(missing)}


def issue_rows(con, batch_id: int):
    """Rejected readings as sent, and accepted readings that carry a flag."""
    rows = con.execute("""
        SELECT j.seq, j.meter_id, CAST(s.meter AS VARCHAR), CAST(s.ts AS VARCHAR), CAST(s.value AS VARCHAR),
               j.reason, true, ''
        FROM judged j JOIN src s USING (seq) WHERE j.reason IS NOT NULL
        UNION ALL
        SELECT a.seq, a.meter_id, m.code, strftime(to_timestamp(a.t), '%Y-%m-%dT%H:%M:%S%z'),
               CAST(a.register / 1000 AS VARCHAR),
               CASE WHEN a.is_reset THEN 'register_reset' ELSE 'gap' END, false,
               CASE WHEN a.is_reset THEN printf('register fell from %.3f to %.3f', a.prev_v / 1000, a.register / 1000)
                    ELSE printf('%d interval(s) missing before this reading', a.missing) END
        FROM accepted a JOIN meters m ON m.id = a.meter_id WHERE a.is_reset OR a.missing > 0
        ORDER BY 1
    """).fetchall()
    return ((batch_id, *row[:2], *(str(v or "")[:100] for v in row[2:5]), *row[5:7], row[7][:300]) for row in rows)


ISSUE_COLUMNS = ["batch_id", "seq", "meter_id", "meter_code", "ts_text", "value_text", "reason", "rejected", "detail"]


def write(con, batch_id: int, progress=None) -> None:
    """Stores the accepted readings and adds them to the hourly and daily rollups.

    A rollup row for an hour or day after the meter's previous latest reading cannot exist yet and
    is inserted directly; the others (the boundary hour or day, late readings) are added with an
    upsert."""
    progress = progress or NullProgress()
    insert_rows(ReadingIssue._meta.db_table, ISSUE_COLUMNS, issue_rows(con, batch_id))
    readings = con.sql(f"""
        SELECT meter_id, t, value, register, CAST({int(batch_id)} AS BIGINT) AS batch_id
        FROM accepted ORDER BY meter_id, t
    """).to_arrow_reader(CHUNK_ROWS)  # noqa: S608 - an integer
    for chunk in readings:
        insert_arrow(Reading._meta.db_table, ["meter_id", "ts", "value_milli", "register_milli", "batch_id"], chunk)
        progress.update(chunk.num_rows)
    _rollup(con, HourlyUsage._meta.db_table, "hour", "((a.t - 1) // 3600) * 3600",
            "((m.last_ts - 1) // 3600) * 3600", "a.interval_s <= 3600")
    _rollup(con, DailyUsage._meta.db_table, "day", "CAST(CAST(to_timestamp(a.t - 1) AS DATE) AS VARCHAR)",
            "CAST(CAST(to_timestamp(m.last_ts - 1) AS DATE) AS VARCHAR)", "true")


def _rollup(con, table: str, key: str, bucket: str, last_bucket: str, where: str) -> None:
    query = f"""
        SELECT a.meter_id, {bucket} AS bucket, sum(a.value) AS value, count(*) AS n,
               m.last_ts IS NOT NULL AND {bucket} <= {last_bucket} AS existing
        FROM accepted a JOIN meters m ON m.id = a.meter_id
        WHERE a.value IS NOT NULL AND {where}
        GROUP BY ALL ORDER BY 1, 2
    """  # noqa: S608 - fixed expressions
    columns = ["meter_id", key, "value_milli", "readings"]
    q = connection.ops.quote_name
    upsert = (f"INSERT INTO {q(table)} ({', '.join(map(q, columns))}) VALUES (%s, %s, %s, %s) "
              f"ON CONFLICT (meter_id, {q(key)}) DO UPDATE SET "
              f"value_milli = {q(table)}.value_milli + excluded.value_milli, "
              f"readings = {q(table)}.readings + excluded.readings")
    for chunk in con.sql(query).to_arrow_reader(CHUNK_ROWS):
        existing = chunk.column("existing")
        fresh = chunk.filter(pc.invert(existing)).drop_columns(["existing"])
        if fresh.num_rows:
            insert_arrow(table, columns, fresh)
        late = chunk.filter(existing).drop_columns(["existing"])
        if late.num_rows:
            with connection.cursor() as cursor:
                cursor.executemany(upsert, _tuples(late))


def new_meter_state(con) -> list[tuple[int, int, int | None]]:
    """(meter id, latest reading ts, its register) for meters whose latest reading moved on."""
    return con.execute("""
        SELECT a.meter_id, max(a.t), arg_max(a.register, a.t) FROM accepted a JOIN meters m ON m.id = a.meter_id
        GROUP BY a.meter_id, m.last_ts HAVING m.last_ts IS NULL OR max(a.t) > m.last_ts
    """).fetchall()


def touched(con) -> tuple[list[int], date | None, date | None]:
    """Meters and the range of local days the accepted readings fall on."""
    meter_ids = [r[0] for r in con.execute("SELECT DISTINCT meter_id FROM accepted ORDER BY 1").fetchall()]
    first, last = con.execute("""
        SELECT CAST(min(t) - 1 AS BIGINT), CAST(max(t) - 1 AS BIGINT) FROM accepted
    """).fetchone()
    days = [None if x is None else local_date(datetime.fromtimestamp(x, UTC)) for x in (first, last)]
    return meter_ids, days[0], days[1]


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

