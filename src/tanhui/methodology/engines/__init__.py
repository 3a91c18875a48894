"""Judging one batch of raw records: the public API and the contract every engine honours.

`evaluate()` (or, a chunk at a time, `judgement.Judgement`) checks and normalises its inputs once,
then hands them to an engine: "duckdb" (the production default), "spark" (same SQL, for scale) or
"reference" (plain Python, the oracle the tests compare the others with). All three give the same
outcome, row for row. No Django here.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from tanhui.methodology.params import HouseholdParams, TransitParams, VersionedParams

ENGINES = {
    "duckdb": "tanhui.methodology.engines.duckdb_engine",
    "spark": "tanhui.methodology.engines.spark_engine",
    "reference": "tanhui.methodology.reference",
}

KINDS = {TransitParams: "trip", HouseholdParams: "household"}
RECORD_FIELDS = {
    "trip": ("record_id", "external_user_id", "started_at", "ended_at", "distance_km"),
    "household": ("record_id", "external_user_id", "date", "kwh"),
}

# The accepted text forms (full match). A time without offset is Asia/Shanghai, which the platform
# takes as the fixed offset +08:00 (true of the tz database since 1991; see docs/methodologies.md).
TIME_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
DATE_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
NUMBER_PATTERN = "[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)"
SHANGHAI_OFFSET = timedelta(hours=8)
# A number is taken when |value| < 10**18 with at most 18 significant decimal places; beyond that it is
# `malformed`: both parts then fit a BIGINT and the value, in units of 10**-18, a 128-bit integer.
NUMBER_INT_DIGITS = 18
NUMBER_PLACES = 18

OUTPUT_SCHEMA = pa.schema([
    ("seq", pa.int64()),
    ("record_id", pa.string()),
    ("status", pa.string()),  # accepted | duplicate | rejected
    ("reason", pa.string()),  # the reason code when rejected, else null
    ("citizen_id", pa.int64()),  # null when malformed or unknown
    ("local_date", pa.date32()),  # null when malformed
    ("started_at", pa.timestamp("us", tz="UTC")),  # trips only; null when malformed
    ("reduction_mg", pa.int64()),  # 0 unless accepted (and not capped, not vacant)
    ("capped", pa.bool_()),
    ("vacant", pa.bool_()),
    ("version_id", pa.int64()),  # null when malformed
    ("factor_version_id", pa.int64()),
    ("input_hash", pa.string()),  # sha256 of the raw fields, see input_hash() in reference.py
])

_CONTEXT_SCHEMAS = {
    "bindings": pa.schema([("external_user_id", pa.string()), ("citizen_id", pa.int64())]),
    "consents": pa.schema([("citizen_id", pa.int64()), ("effective_from", pa.date32())]),
    "prior_accepted": pa.schema([("record_id", pa.string())]),
    "prior_credited": pa.schema([("citizen_id", pa.int64()), ("local_date", pa.date32()), ("trips", pa.int64())]),
    "prior_readings": pa.schema([("citizen_id", pa.int64()), ("local_date", pa.date32()),
                                 ("kwh", pa.decimal128(38, NUMBER_PLACES))]),
}


@dataclass(frozen=True)
class EngineContext:
    """What the engine needs from the database, restricted to what the batch can touch.

    bindings: this provider's (external_user_id, citizen_id), one row per external id.
    consents: (citizen_id, effective_from) of active consents to the scenario; null = always.
    prior_accepted: record ids of this provider accepted in earlier batches.
    prior_credited (trips): (citizen_id, local_date, trips) credited, i.e. accepted and not capped,
      in earlier batches of the scenario.
    prior_readings (household): (citizen_id, local_date, kwh) accepted (vacant included) in earlier
      batches of the scenario, for dates from the batch's first date − window_days to its last.
    """

    bindings: pa.Table
    consents: pa.Table
    prior_accepted: pa.Table | None = None
    prior_credited: pa.Table | None = None
    prior_readings: pa.Table | None = None

    @classmethod
    def from_rows(cls, *, scenario_kind: str, bindings, consents, prior_accepted=(), prior_rows=()) -> "EngineContext":
        """From database rows; prior_rows are (citizen_id, local_date, trips) for trips and
        (citizen_id, local_date, kwh) for household readings (kwh as Decimal or decimal text)."""

        def table(name, rows):
            schema = _CONTEXT_SCHEMAS[name]
            columns = list(zip(*rows, strict=True)) or [()] * len(schema)
            return pa.table([pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)

        tables = {"bindings": table("bindings", bindings), "consents": table("consents", consents),
                  "prior_accepted": table("prior_accepted", [(r,) for r in prior_accepted])}
        if scenario_kind == "household":
            tables["prior_readings"] = table("prior_readings", [(c, d, Decimal(str(k))) for c, d, k in prior_rows])
        else:
            tables["prior_credited"] = table("prior_credited", prior_rows)
        return cls(**tables)

    def conformed(self) -> "EngineContext":
        """Every table present, with exactly the documented columns and types; checks uniqueness."""
        tables = {}
        for name, schema in _CONTEXT_SCHEMAS.items():
            given = getattr(self, name)
            tables[name] = schema.empty_table() if given is None else given.select(schema.names).cast(schema)
        _check_unique(tables["bindings"], ["external_user_id"], "bindings")
        _check_unique(tables["prior_readings"], ["citizen_id", "local_date"], "prior_readings")
        return replace(self, **tables)


def _check_unique(table: pa.Table, keys: list[str], name: str) -> None:
    if table.num_rows and table.group_by(keys).aggregate([]).num_rows != table.num_rows:
        raise ValueError(f"{name}: more than one row per {', '.join(keys)}")


def conform_records(records: pa.Table, kind: str) -> pa.Table:
    """The record fields as strings (a missing column is all nulls) plus a unique, non-null `seq`."""
    if "seq" not in records.column_names:
        raise ValueError("records need a `seq` column (file order)")
    seq = records.column("seq").cast(pa.int64())
    increasing = len(seq) < 2 or pc.all(pc.greater(seq[1:], seq[:-1])).as_py()  # the usual case, and cheap
    if seq.null_count or not (increasing or pc.count_distinct(seq).as_py() == len(seq)):
        raise ValueError("`seq` must be unique and non-null")
    columns = {}
    for field in RECORD_FIELDS[kind]:
        if field not in records.column_names:
            columns[field] = pa.nulls(len(records), pa.string())
            continue
        column = records.column(field)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                or pa.types.is_null(column.type)):
            raise TypeError(f"record field {field!r} must be text, not {column.type}")
        columns[field] = column.cast(pa.string())
    return pa.table({**columns, "seq": seq})


def evaluate(scenario: str, records: pa.Table, context: EngineContext, versions: list[VersionedParams],
             now: datetime, engine: str = "duckdb") -> pa.Table:
    """Judges the raw records of one batch: one output row per input record (OUTPUT_SCHEMA), in
    `seq` order. Raises UncoveredDateError when a well-formed record's local date has no version.
    (The ingest pipeline uses judgement.Judgement, which does the same a chunk at a time.)"""
    from tanhui.methodology.engines.judgement import Judgement

    with Judgement(scenario, versions, now, engine) as judgement:
        judgement.load_table(records)
        judgement.judge(context)
        return judgement.result()
