"""One batch inside the engines: its records held in an embedded DuckDB database, judged, and the
verdicts read back in chunks.

DuckDB spills to disk beyond its memory limit and the verdicts leave it a chunk at a time, so the
memory a batch needs does not grow with its size. The DuckDB engine judges in the same database;
the other engines get the records as an Arrow table and their outcome is stored back.
"""
# ruff: noqa: S608 - the SQL is composed from constants and field names; values are parameters

import importlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tanhui.methodology.engines import (
    ENGINES,
    KINDS,
    OUTPUT_SCHEMA,
    RECORD_FIELDS,
    EngineContext,
    conform_records,
    duckdb_engine,
    sql,
)
from tanhui.methodology.params import VersionedParams, check_versions

ACCEPTED_COLUMNS = ("seq", "record_id", "citizen_id", "local_date", "started_at", "quantity", "reduction_mg",
                    "capped", "vacant", "version_id", "factor_version_id", "input_hash")


class Judgement:
    """`with Judgement(...) as j:` load the records, `judge` them against a context (again when the
    context changes), then read the outcome: `summary`, `mg_by_citizen`, `accepted` and `rejected`
    in chunks, or the whole `result`."""

    def __init__(self, scenario: str, versions: list[VersionedParams], now: datetime, engine: str = "duckdb"):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("`now` must be timezone-aware")
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.versions = check_versions(versions)
        self.scenario, self.now, self.engine = scenario, now, engine
        self.kind = KINDS[type(self.versions[0].params)]
        self.fields = RECORD_FIELDS[self.kind]
        self.records = 0
        self._judge = None

    def __enter__(self) -> "Judgement":
        self.con = duckdb_engine.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()

    # ---- records in ----------------------------------------------------------------------------

    def load_files(self, paths: list[Path]) -> int:
        """Reads the files (CSV, JSON Lines, Parquet), in order; returns the number of records."""
        self.records = duckdb_engine.load_files(self.con, "raw", paths, self.fields)
        return self.records

    def load_table(self, records: pa.Table) -> int:
        """Takes records as text columns (RECORD_FIELDS) with a unique `seq` (file order)."""
        self.con.register("raw_records", conform_records(records, self.kind))
        self.con.sql("CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM raw_records")
        self.con.unregister("raw_records")
        self.records = len(records)
        return self.records

    def external_user_ids(self) -> pa.Array:
        return self._column("SELECT DISTINCT external_user_id FROM raw WHERE external_user_id IS NOT NULL")

    def record_ids(self, *, unless_accepted: bool = False) -> pa.Array:
        """The distinct record ids of the batch; with `unless_accepted`, of the records that the last
        judgement did not accept."""
        if unless_accepted:
            return self._column("SELECT DISTINCT record_id FROM outcome WHERE status <> 'accepted'"
                                " AND record_id IS NOT NULL")
        return self._column("SELECT DISTINCT record_id FROM raw WHERE record_id IS NOT NULL")

    def date_span(self) -> tuple[date, date] | None:
        """The local dates the records can fall on: the dates their time fields begin with, widened by a
        day for offsets. Malformed values only widen the span; None when there is no date at all."""
        column = "started_at" if self.kind == "trip" else "date"
        first, last = self.con.sql(
            f"SELECT MIN(d), MAX(d) FROM (SELECT CAST(try_strptime(left({column}, 10), '%Y-%m-%d') AS DATE) AS d"
            " FROM raw)").fetchall()[0]
        if first is None:
            return None
        return max(first - timedelta(days=1), date.min), min(last + timedelta(days=1), date.max)

    # ---- judging -------------------------------------------------------------------------------

    def judge(self, context: EngineContext) -> None:
        context = context.conformed()
        if self.engine == "duckdb":
            if self._judge is None:
                self._judge = sql.Judge(duckdb_engine.DuckDBBackend(self.con), self.scenario, self.kind,
                                        self.versions, self.now)
            self._judge(context)
            return
        run = importlib.import_module(ENGINES[self.engine]).run
        records = self.con.sql("SELECT * FROM raw ORDER BY seq").to_arrow_table()
        outcome = run(self.scenario, self.kind, records, context, self.versions, self.now).cast(OUTPUT_SCHEMA)
        outcome = outcome.set_column(outcome.schema.get_field_index("local_date"), "local_day",
                                     pc.cast(outcome.column("local_date"), pa.int32()))
        outcome = outcome.set_column(outcome.schema.get_field_index("started_at"), "started_us",
                                     pc.cast(outcome.column("started_at"), pa.int64()))
        self.con.register("judged_elsewhere", outcome)
        self.con.sql("CREATE OR REPLACE TEMP TABLE outcome AS SELECT * FROM judged_elsewhere")
        self.con.unregister("judged_elsewhere")

    # ---- verdicts out --------------------------------------------------------------------------

    def summary(self) -> dict:
        """records, accepted, duplicates, rejected, capped, vacant and rejected_by_reason."""
        counts = {"records": self.records, "accepted": 0, "duplicates": 0, "rejected": 0, "capped": 0, "vacant": 0,
                  "rejected_by_reason": {}}
        rows = self.con.sql("SELECT status, reason, COUNT(*), COUNT(*) FILTER (capped), COUNT(*) FILTER (vacant)"
                                " FROM outcome GROUP BY ALL ORDER BY ALL").fetchall()
        for status, reason, n, capped, vacant in rows:
            counts["duplicates" if status == "duplicate" else status] += n
            if status == "accepted":
                counts["capped"] += capped
                counts["vacant"] += vacant
            if reason is not None:
                counts["rejected_by_reason"][reason] = n
        return counts

    def mg_by_citizen(self) -> dict[int, int]:
        """Milligrams earned by each citizen with an accepted record."""
        rows = self.con.sql("SELECT citizen_id, CAST(SUM(reduction_mg) AS BIGINT) FROM outcome"
                                " WHERE status = 'accepted' GROUP BY citizen_id").fetchall()
        return dict(rows)

    def accepted(self, rows: int) -> Iterator[pa.RecordBatch]:
        """The accepted records (ACCEPTED_COLUMNS, `quantity` as sent) in file order, `rows` at a time."""
        quantity = "distance_km" if self.kind == "trip" else "kwh"
        query = (f"SELECT o.seq, o.record_id, o.citizen_id, DATE '1970-01-01' + CAST(o.local_day AS INTEGER)"
                 f" AS local_date, make_timestamp(o.started_us) AS started_at, r.{quantity} AS quantity,"
                 " o.reduction_mg, o.capped, o.vacant, o.version_id, o.factor_version_id, o.input_hash"
                 " FROM outcome o JOIN raw r ON r.seq = o.seq WHERE o.status = 'accepted' ORDER BY o.seq")
        return self._stream(query, rows)

    def rejected(self, rows: int) -> Iterator[pa.RecordBatch]:
        """The rejected records (seq, record_id, reason, then the fields as sent) in file order."""
        fields = ", ".join(f"r.{f} AS {f}" for f in self.fields)
        return self._stream(f"SELECT o.seq, r.record_id, o.reason, {fields} FROM outcome o JOIN raw r ON r.seq = o.seq"
                            " WHERE o.status = 'rejected' ORDER BY o.seq", rows)

    def result(self) -> pa.Table:
        """The whole outcome (OUTPUT_SCHEMA), in file order."""
        return sql.typed_outcome(self.con.sql("SELECT * FROM outcome ORDER BY seq").to_arrow_table()
                                 ).cast(OUTPUT_SCHEMA)

    def _column(self, query: str) -> pa.Array:
        return self.con.sql(query).to_arrow_table().column(0).combine_chunks()

    def _stream(self, query: str, rows: int) -> Iterator[pa.RecordBatch]:
        yield from self.con.sql(query).to_arrow_reader(rows)
