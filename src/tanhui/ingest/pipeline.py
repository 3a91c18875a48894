"""The batch pipeline: file → records → checks and reductions (methodology engine) → ledger.

A batch is judged and written in ONE database transaction: its reductions, its rejects, its ledger
postings and its summary commit together or not at all, so a crash at any point leaves nothing
half-credited and a rerun credits exactly once. `(provider, record_id)` is unique among reductions,
so even a logic error could not credit a record twice.

The records stay in the engine's embedded DuckDB database (which spills to disk beyond its memory
limit) and the verdicts come out a chunk at a time, so memory does not grow with the batch.
"""

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tanhui.core.bulk import insert_arrow, insert_rows, temp_key_table
from tanhui.core.errors import DomainError
from tanhui.core.units import points_for_mg
from tanhui.ingest.models import Batch, Provider, Reduction, RejectedRecord
from tanhui.ledger import services as ledger
from tanhui.methodology.engines import EngineContext
from tanhui.methodology.engines.judgement import Judgement
from tanhui.methodology.models import Scenario
from tanhui.methodology.params import VersionedParams
from tanhui.methodology.services import engine_versions
from tanhui.people.models import Binding, Consent

log = logging.getLogger("tanhui.ingest")

REJECT_RETENTION = timedelta(days=getattr(settings, "TANHUI_REJECT_RETENTION_DAYS", 90))
SUPPORTED_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")
WRITE_CHUNK = 100_000
REDUCTION_COLUMNS = ["batch_id", "provider_id", "scenario_id", "record_id", "citizen_id", "local_date", "started_at",
                     "quantity", "reduction_mg", "capped", "vacant", "methodology_version_id", "factor_version_id",
                     "input_hash"]


class NullProgress:
    """Stands in for a tqdm bar when nobody watches."""

    def update(self, n=1):
        pass

    def set_description(self, text):
        pass

    def reset(self, total=None):
        pass


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
    try:
        with transaction.atomic():
            _lock_scenario(batch.scenario)
            versions = engine_versions(batch.scenario)
            with Judgement(batch.scenario.code, versions, now, batch.engine) as judgement:
                progress.set_description("reading")
                _load(judgement, paths)
                progress.reset(total=judgement.records)
                progress.set_description("checking")
                context = engine_context(batch, judgement, versions)
                judgement.judge(context)
                progress.set_description("writing")
                if not _insert_reductions_if_new(batch, judgement, progress):
                    # a record id of the batch was accepted before: judge again, knowing which
                    judgement.judge(replace(context, prior_accepted=_prior_accepted(batch, judgement.record_ids())))
                    progress.reset(total=judgement.records)
                    _insert_reductions(batch, judgement, progress)
                _insert_rejects(batch, judgement, now, progress)
                _credit(batch, judgement)
    except Exception as exc:
        Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.FAILED, error=str(exc)[:2000],
                                                 finished_at=timezone.now())
        raise
    batch.refresh_from_db()
    log.info("batch %s done: %s", batch.pk, batch.summary())
    return batch


def _load(judgement: Judgement, paths: list[Path]) -> None:
    for path in paths:
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise DomainError("unsupported_file", f"{path.name}: use .csv, .jsonl or .parquet")
    try:
        judgement.load_files(paths)
    except duckdb.Error as exc:
        raise DomainError("unreadable_file", f"{', '.join(p.name for p in paths)}: {exc}") from exc


def _lock_scenario(scenario: Scenario) -> None:
    """Batches of one scenario are judged one at a time: caps, 7-day windows and duplicates read what
    earlier batches wrote. SQLite already serialises writers (IMMEDIATE transactions)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [20240001, scenario.pk])


def engine_context(batch: Batch, judgement: Judgement, versions: list[VersionedParams]) -> EngineContext:
    """What the engine must know from earlier batches, restricted to the users and dates the batch
    mentions; without the record ids accepted before (see _insert_reductions_if_new)."""
    provider, scenario = batch.provider, batch.scenario
    users = temp_key_table("batch_users", judgement.external_user_ids())
    with connection.cursor() as cursor:
        # `t CROSS JOIN r WHERE …`: SQLite then loops over the batch's keys and probes the big table's
        # index, whatever its size (a plain join may scan the big table instead).
        cursor.execute(f"SELECT b.external_user_id, b.citizen_id FROM {users} t CROSS JOIN {Binding._meta.db_table} b "
                       "WHERE b.provider_id = %s AND b.external_user_id = t.k AND b.unbound_at IS NULL", [provider.pk])
        bindings = cursor.fetchall()
    consents = list(Consent.objects.filter(scenario=scenario, revoked_at__isnull=True,
                                           citizen__status="active", citizen_id__in=[c for _, c in bindings])
                    .values_list("citizen_id", "effective_from")) if bindings else []
    span = judgement.date_span()
    prior_rows = []
    if bindings and span:
        citizens = temp_key_table("batch_citizens", (c for _, c in bindings), integer=True)
        window = max((getattr(v.params, "window_days", 0) for v in versions), default=0)
        first, last = (span[0] - timedelta(days=window)).isoformat(), span[1].isoformat()
        with connection.cursor() as cursor:
            if scenario.kind == Scenario.Kind.TRIP:
                cursor.execute(f"SELECT r.citizen_id, r.local_date, COUNT(*) FROM {citizens} t "
                               f"CROSS JOIN {Reduction._meta.db_table} r WHERE r.citizen_id = t.k "
                               "AND r.scenario_id = %s AND r.capped = %s AND r.local_date BETWEEN %s AND %s "
                               "GROUP BY r.citizen_id, r.local_date",
                               [scenario.pk, False, first, last])
            else:
                cursor.execute(f"SELECT r.citizen_id, r.local_date, r.quantity FROM {citizens} t "
                               f"CROSS JOIN {Reduction._meta.db_table} r WHERE r.citizen_id = t.k "
                               "AND r.scenario_id = %s AND r.local_date BETWEEN %s AND %s", [scenario.pk, first, last])
            prior_rows = cursor.fetchall()
    return EngineContext.from_rows(scenario_kind=scenario.kind, bindings=bindings, consents=consents,
                                   prior_rows=prior_rows)


def _prior_accepted(batch: Batch, record_ids: pa.Array) -> pa.Table:
    """Those of `record_ids` that this provider's earlier batches had accepted (`record_id`)."""
    found = []
    if len(record_ids):
        ids = temp_key_table("batch_record_ids", record_ids)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT r.record_id FROM {ids} t CROSS JOIN {Reduction._meta.db_table} r "
                           "WHERE r.provider_id = %s AND r.record_id = t.k", [batch.provider_id])
            found = [row[0] for row in cursor.fetchall()]
    return pa.table({"record_id": pa.array(found, pa.string())})


def _insert_reductions_if_new(batch: Batch, judgement: Judgement, progress) -> bool:
    """Inserts the reductions of a batch judged as if none of its record ids had been accepted
    before, which is the usual case and spares looking up millions of ids. Returns False, having
    written nothing, when that was not so: a record it did not accept has an id accepted before
    (looked up: such records are few), or one it accepted has (the unique constraint refuses it)."""
    if _prior_accepted(batch, judgement.record_ids(unless_accepted=True)).num_rows:
        return False
    try:
        with transaction.atomic():
            _insert_reductions(batch, judgement, progress)
    except IntegrityError:
        return False
    return True


def _insert_reductions(batch: Batch, judgement: Judgement, progress) -> None:
    """One row per accepted record, a chunk at a time in file order, each chunk sorted by citizen and
    day: the unique (provider, record_id) index then takes each chunk's keys within a small range
    and the (citizen, local_date) index in one ordered pass (in file order, every row of that
    index would land on another page)."""
    def chunks():
        for chunk in judgement.accepted(WRITE_CHUNK):
            size = chunk.num_rows
            yield pa.table({
                "batch_id": pa.repeat(batch.pk, size), "provider_id": pa.repeat(batch.provider_id, size),
                "scenario_id": pa.repeat(batch.scenario_id, size), "record_id": chunk.column("record_id"),
                # ISO text, as Django stores dates and (UTC) times on SQLite; the PostgreSQL session runs in UTC.
                "citizen_id": chunk.column("citizen_id"),
                "local_date": pc.cast(chunk.column("local_date"), pa.string()),
                "started_at": pc.cast(chunk.column("started_at"), pa.string()),
                "quantity": chunk.column("quantity"), "reduction_mg": chunk.column("reduction_mg"),
                "capped": chunk.column("capped"), "vacant": chunk.column("vacant"),
                "methodology_version_id": chunk.column("version_id"),
                "factor_version_id": chunk.column("factor_version_id"), "input_hash": chunk.column("input_hash"),
            }).sort_by([("citizen_id", "ascending"), ("local_date", "ascending")])
            progress.update(size)

    insert_arrow(Reduction._meta.db_table, REDUCTION_COLUMNS, chunks())


def _insert_rejects(batch: Batch, judgement: Judgement, now: datetime, progress) -> None:
    """Keeps each rejected record with its reason; of a record of an unknown user, only id and reason."""
    purge_after = now + REJECT_RETENTION

    def rows():
        for chunk in judgement.rejected(WRITE_CHUNK):
            for record in chunk.to_pylist():
                seq, record_id, reason = record.pop("seq"), record["record_id"], record.pop("reason")
                keep = None if reason == "unknown_user" else json.dumps(record, ensure_ascii=False)
                yield batch.pk, seq, record_id or "", reason, keep, purge_after
            progress.update(chunk.num_rows)

    insert_rows(RejectedRecord._meta.db_table, ["batch_id", "seq", "record_id", "reason", "raw", "purge_after"],
                rows())


def _credit(batch: Batch, judgement: Judgement) -> None:
    """Posts one ledger credit per citizen and fills in the summary."""
    mg_by_citizen = judgement.mg_by_citizen()
    accounts = ledger.citizen_accounts(mg_by_citizen)
    specs = [ledger.mint_credit(accounts[citizen], points_for_mg(mg), mg,
                                idempotency_key=f"ingest:{batch.pk}:{citizen}:{batch.scenario.code}",
                                scenario=batch.scenario.code, ref_type="ingest.batch", ref_id=str(batch.pk))
             for citizen, mg in sorted(mg_by_citizen.items()) if mg > 0]
    ledger.post_transactions(specs)
    summary = judgement.summary()
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.DONE, finished_at=timezone.now(), records=summary["records"],
        accepted=summary["accepted"], duplicates=summary["duplicates"], rejected=summary["rejected"],
        capped=summary["capped"], vacant=summary["vacant"],
        rejected_by_reason=dict(sorted(summary["rejected_by_reason"].items())),
        reduction_mg=sum(mg_by_citizen.values()), points=sum(points_for_mg(mg) for mg in mg_by_citizen.values()),
        accounts_credited=sum(1 for mg in mg_by_citizen.values() if points_for_mg(mg) > 0))
