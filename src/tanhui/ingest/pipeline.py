"""The batch pipeline: file → records → checks and reductions (methodology engine) → ledger.

A batch is judged and written in ONE database transaction: its reductions, its rejects, its ledger
postings and its summary commit together or not at all, so a crash at any point leaves nothing
half-credited and a rerun credits exactly once. `(provider, record_id)` is unique among reductions,
so even a logic error could not credit a record twice.
"""

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tanhui.core.bulk import insert_rows, temp_key_table
from tanhui.core.errors import DomainError
from tanhui.core.units import points_for_mg
from tanhui.ingest.models import Batch, Provider, Reduction, RejectedRecord
from tanhui.ledger import services as ledger
from tanhui.methodology.engines import RECORD_FIELDS, EngineContext, evaluate
from tanhui.methodology.models import Scenario
from tanhui.methodology.params import VersionedParams
from tanhui.methodology.services import engine_versions
from tanhui.people.models import Binding, Consent

log = logging.getLogger("tanhui.ingest")

REJECT_RETENTION = timedelta(days=getattr(settings, "TANHUI_REJECT_RETENTION_DAYS", 90))
SUPPORTED_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")
WRITE_CHUNK = 100_000


class NullProgress:
    """Stands in for a tqdm bar when nobody watches."""

    def update(self, n=1):
        pass

    def set_description(self, text):
        pass

    def reset(self, total=None):
        pass


def read_records(path: Path, fields: tuple[str, ...]) -> pa.Table:
    """Reads a CSV, JSON Lines or Parquet file into string columns (exactly as sent) plus `seq`
    (the record's position in the file). Missing columns become nulls, judged `malformed` later."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DomainError("unsupported_file", f"{path.name}: use .csv, .jsonl or .parquet")
    con = duckdb.connect()
    try:
        # JSON values are read as text so that times and numbers reach the checks exactly as sent.
        as_text = "{" + ", ".join(f"'{f}': 'VARCHAR'" for f in fields) + "}"
        json_source = f"read_json(?, format='newline_delimited', columns={as_text})"
        source = {
            ".csv": "read_csv(?, all_varchar=true, header=true, null_padding=true, strict_mode=false, "
                    "quote='\"', escape='\"')",
            ".jsonl": json_source,
            ".ndjson": json_source,
            ".parquet": "read_parquet(?)",
        }[suffix]
        present = {row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {source}", params=[str(path)]).fetchall()}
        columns = ", ".join(
            f'CAST("{f}" AS VARCHAR) AS "{f}"' if f in present else f'CAST(NULL AS VARCHAR) AS "{f}"' for f in fields)
        query = f"SELECT {columns}, CAST(row_number() OVER () - 1 AS BIGINT) AS seq FROM {source}"
        return con.sql(query, params=[str(path)]).to_arrow_table()
    except duckdb.Error as exc:
        raise DomainError("unreadable_file", f"{path.name}: {exc}") from exc
    finally:
        con.close()


def create_batch(provider: Provider, scenario_code: str, source: str, *, key: str | None = None,
                 filename: str = "", engine: str = "duckdb") -> Batch:
    scenario = Scenario.objects.filter(code=scenario_code).first()
    if scenario is None:
        raise DomainError("unknown_scenario", f"unknown scenario {scenario_code!r}")
    if not provider.scenarios.filter(pk=scenario.pk).exists():
        raise DomainError("scenario_not_allowed", f"provider {provider.code} is not registered for {scenario.code}",
                          status=403)
    return Batch.objects.create(provider=provider, scenario=scenario, source=source, key=key,
                                filename=filename, engine=engine)


def ingest_file(path: Path, scenario_code: str, provider_code: str, *, engine: str = "duckdb",
                now: datetime | None = None, progress=None) -> Batch:
    """`tanhui ingest`: a new batch from a file, processed at once."""
    provider = Provider.objects.filter(code=provider_code, active=True).first()
    if provider is None:
        raise DomainError("unknown_provider", f"unknown provider {provider_code!r}")
    if not path.is_file():
        raise DomainError("no_such_file", f"no such file: {path}")
    batch = create_batch(provider, scenario_code, Batch.Source.CLI, filename=path.name, engine=engine)
    return process_batch(batch, [path], now=now, progress=progress)


def process_batch(batch: Batch, paths: list[Path], *, now: datetime | None = None, progress=None) -> Batch:
    """Judges and credits a batch. On any error the batch is marked failed and nothing is credited."""
    progress = NullProgress() if progress is None else progress
    now = now or timezone.now()
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.PROCESSING, started_at=timezone.now())
    fields = RECORD_FIELDS[batch.scenario.kind]
    try:
        progress.set_description("reading")
        records = pa.concat_tables([read_records(p, fields) for p in paths]) if paths else _empty(fields)
        if len(paths) > 1:  # chunks uploaded separately: one file order across them
            records = records.set_column(records.schema.get_field_index("seq"), "seq",
                                         pa.array(range(len(records)), pa.int64()))
        progress.reset(total=len(records))
        with transaction.atomic():
            _lock_scenario(batch.scenario)
            progress.set_description("checking")
            versions = engine_versions(batch.scenario)
            result = evaluate(batch.scenario.code, records, _context(batch, records, versions), versions, now,
                              engine=batch.engine)
            progress.set_description("writing")
            _write(batch, records, result, now, progress)
    except Exception as exc:
        Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.FAILED, error=str(exc)[:2000],
                                                 finished_at=timezone.now())
        raise
    batch.refresh_from_db()
    log.info("batch %s done: %s", batch.pk, batch.summary())
    return batch


def _empty(fields: tuple[str, ...]) -> pa.Table:
    return pa.table({**{f: pa.array([], pa.string()) for f in fields}, "seq": pa.array([], pa.int64())})


def _lock_scenario(scenario: Scenario) -> None:
    """Batches of one scenario are judged one at a time: caps, 7-day windows and duplicates read what
    earlier batches wrote. SQLite already serialises writers (IMMEDIATE transactions)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [20240001, scenario.pk])


def _column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()


def _context(batch: Batch, records: pa.Table, versions: list[VersionedParams]) -> EngineContext:
    """What the engine must know from earlier batches, restricted to the keys this batch mentions."""
    provider, scenario = batch.provider, batch.scenario
    ids = temp_key_table("batch_record_ids", (v for v in _column(records, "record_id") if v is not None))
    users = temp_key_table("batch_users", (v for v in _column(records, "external_user_id") if v is not None))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r.record_id FROM {Reduction._meta.db_table} r JOIN {ids} t ON t.k = r.record_id "
                       "WHERE r.provider_id = %s", [provider.pk])
        prior_accepted = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT b.external_user_id, b.citizen_id FROM {Binding._meta.db_table} b "
                       f"JOIN {users} t ON t.k = b.external_user_id "
                       "WHERE b.provider_id = %s AND b.unbound_at IS NULL", [provider.pk])
        bindings = cursor.fetchall()
    citizens = temp_key_table("batch_citizens", (c for _, c in bindings), integer=True)
    consents = list(Consent.objects.filter(scenario=scenario, revoked_at__isnull=True,
                                           citizen__status="active", citizen_id__in=[c for _, c in bindings])
                    .values_list("citizen_id", "effective_from")) if bindings else []
    window = max((getattr(v.params, "window_days", 0) for v in versions), default=0)
    first, last = _date_span(records, scenario, window)
    with connection.cursor() as cursor:
        if scenario.kind == Scenario.Kind.TRIP:
            cursor.execute(f"SELECT r.citizen_id, r.local_date, COUNT(*) FROM {Reduction._meta.db_table} r "
                           f"JOIN {citizens} t ON t.k = r.citizen_id WHERE r.scenario_id = %s AND r.capped = %s "
                           "AND r.local_date BETWEEN %s AND %s GROUP BY r.citizen_id, r.local_date",
                           [scenario.pk, False, first, last])
        else:
            cursor.execute(f"SELECT r.citizen_id, r.local_date, r.quantity FROM {Reduction._meta.db_table} r "
                           f"JOIN {citizens} t ON t.k = r.citizen_id WHERE r.scenario_id = %s "
                           "AND r.local_date BETWEEN %s AND %s", [scenario.pk, first, last])
        prior_rows = cursor.fetchall()
    return EngineContext.from_rows(scenario_kind=scenario.kind, bindings=bindings, consents=consents,
                                   prior_accepted=prior_accepted, prior_rows=prior_rows)


def _date_span(records: pa.Table, scenario: Scenario, window_days: int) -> tuple[str, str]:
    """Local dates the batch can touch, from the date prefix of its time fields, widened by a day for
    offsets and by the household window. Malformed values only widen the span."""
    column = "started_at" if scenario.kind == Scenario.Kind.TRIP else "date"
    prefixes = pc.utf8_slice_codeunits(records.column(column), 0, 10)
    dates = pc.drop_null(pc.strptime(prefixes, format="%Y-%m-%d", unit="s", error_is_null=True))
    if len(dates) == 0:
        return "0001-01-01", "0001-01-01"
    first = pc.min(dates).as_py().date() - timedelta(days=window_days + 1)
    last = pc.max(dates).as_py().date() + timedelta(days=1)
    return first.isoformat(), last.isoformat()


def _write(batch: Batch, records: pa.Table, result: pa.Table, now: datetime, progress) -> None:
    """Writes reductions and rejects, posts one ledger credit per citizen, and fills in the summary."""
    if not pc.all(pc.equal(records.column("seq"), result.column("seq"))).as_py():
        raise RuntimeError("the engine must return one row per record, in file order")
    is_accepted = pc.equal(result.column("status"), "accepted")
    accepted = result.filter(is_accepted)
    quantity_field = "distance_km" if batch.scenario.kind == Scenario.Kind.TRIP else "kwh"
    size = len(accepted)
    reductions = pa.table({
        "batch_id": pa.repeat(batch.pk, size), "provider_id": pa.repeat(batch.provider_id, size),
        "record_id": accepted.column("record_id"), "citizen_id": accepted.column("citizen_id"),
        "scenario_id": pa.repeat(batch.scenario_id, size),
        "local_date": pc.cast(accepted.column("local_date"), pa.string()),
        # Django keeps datetimes as UTC; the PostgreSQL session runs in UTC too.
        "started_at": pc.strftime(accepted.column("started_at"), format="%Y-%m-%d %H:%M:%S"),
        "quantity": pc.utf8_trim_whitespace(records.column(quantity_field).filter(is_accepted)),
        "reduction_mg": accepted.column("reduction_mg"), "capped": accepted.column("capped"),
        "vacant": accepted.column("vacant"), "methodology_version_id": accepted.column("version_id"),
        "factor_version_id": accepted.column("factor_version_id"), "input_hash": accepted.column("input_hash"),
    })
    insert_rows(Reduction._meta.db_table, reductions.column_names, _rows(reductions, progress))
    _write_rejects(batch, records, result, now, progress)

    per_citizen = accepted.group_by("citizen_id").aggregate([("reduction_mg", "sum")])
    mg_by_citizen = dict(zip(per_citizen.column("citizen_id").to_pylist(),
                             per_citizen.column("reduction_mg_sum").to_pylist(), strict=True))
    accounts = ledger.citizen_accounts(mg_by_citizen)
    specs = [ledger.mint_credit(accounts[citizen], points_for_mg(mg), mg,
                                idempotency_key=f"ingest:{batch.pk}:{citizen}:{batch.scenario.code}",
                                scenario=batch.scenario.code, ref_type="ingest.batch", ref_id=str(batch.pk))
             for citizen, mg in sorted(mg_by_citizen.items()) if mg > 0]
    ledger.post_transactions(specs)

    counts = _value_counts(result.column("status"))
    reasons = _value_counts(pc.drop_null(result.column("reason")))
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.DONE, finished_at=timezone.now(), records=len(result),
        accepted=counts.get("accepted", 0), duplicates=counts.get("duplicate", 0), rejected=counts.get("rejected", 0),
        capped=pc.sum(accepted.column("capped")).as_py() or 0, vacant=pc.sum(accepted.column("vacant")).as_py() or 0,
        rejected_by_reason=dict(sorted(reasons.items())), reduction_mg=sum(mg_by_citizen.values()),
        points=sum(points_for_mg(mg) for mg in mg_by_citizen.values()),
        accounts_credited=sum(1 for mg in mg_by_citizen.values() if points_for_mg(mg) > 0))


def _value_counts(column) -> dict[str, int]:
    return {row["values"]: row["counts"] for row in pc.value_counts(column).to_pylist()}


def _rows(table: pa.Table, progress):
    """The table's rows as tuples, converted a chunk at a time so memory stays flat."""
    for chunk in table.to_batches(max_chunksize=WRITE_CHUNK):
        yield from zip(*(column.to_pylist() for column in chunk.columns), strict=True)
        progress.update(chunk.num_rows)


def _write_rejects(batch: Batch, records: pa.Table, result: pa.Table, now: datetime, progress) -> None:
    """Keeps each rejected record with its reason; of a record of an unknown user, only id and reason."""
    is_rejected = pc.equal(result.column("status"), "rejected")
    rejected = result.filter(is_rejected)
    if len(rejected) == 0:
        return
    raw_records = records.filter(is_rejected).drop_columns(["seq"]).to_pylist()
    purge_after = now + REJECT_RETENTION

    def rows():
        for verdict, raw in zip(rejected.select(["seq", "record_id", "reason"]).to_pylist(), raw_records, strict=True):
            keep = None if verdict["reason"] == "unknown_user" else json.dumps(raw, ensure_ascii=False)
            yield batch.pk, verdict["seq"], verdict["record_id"] or "", verdict["reason"], keep, purge_after
        progress.update(len(raw_records))

    insert_rows(RejectedRecord._meta.db_table, ["batch_id", "seq", "record_id", "reason", "raw", "purge_after"],
                rows())
