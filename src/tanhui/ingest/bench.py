"""The ingest benchmark: synthetic metro records for citizens registered for the run, the full
path timed on the configured database, and the baselines the docs compare it with."""

import secrets
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
from django.db import connection, transaction

from tanhui.core.bulk import insert_arrow
from tanhui.ingest.models import Provider
from tanhui.ingest.pipeline import WRITE_CHUNK, create_batch, engine_context, ingest_file
from tanhui.ingest.services import add_provider
from tanhui.methodology.engines import RECORD_FIELDS
from tanhui.methodology.engines.judgement import Judgement
from tanhui.methodology.models import Scenario
from tanhui.methodology.services import engine_versions
from tanhui.people.services import register_citizens_bulk
from tanhui.synth.records import write_metro_records

TRIPS_PER_CITIZEN = 100


def prepare(directory: Path, records: int, *, fmt: str = "parquet", seed: int = 7, progress=None) -> tuple[str, Path]:
    """Registers a provider of its own and one citizen per 100 records (so runs never see each other's
    records), and writes the records file. Returns (provider code, file)."""
    code = f"bench_{secrets.token_hex(3)}"
    provider, _ = add_provider(code, f"基准测试 {code}", ["metro"])
    citizens = max(1, records // TRIPS_PER_CITIZEN)
    phone_base = 19 * 10**9 + secrets.randbelow(10**7) * 100  # 19xxxxxxxxx, unlikely to be taken
    external_ids = [f"{code}-{i}" for i in range(citizens)]
    register_citizens_bulk([(str(phone_base + i), "") for i in range(citizens)],
                           bindings=[(provider, e) for e in external_ids],
                           scenarios=[Scenario.objects.get(code="metro")])
    path = directory / f"metro.{fmt}"
    write_metro_records(path, records, seed=seed, external_user_ids=external_ids, start_date=date(2026, 1, 5),
                        days=TRIPS_PER_CITIZEN // 2, progress=progress)
    return code, path


def time_full_path(path: Path, provider_code: str, *, engine: str = "duckdb", progress=None) -> dict:
    started = time.perf_counter()
    batch = ingest_file(path, "metro", provider_code, engine=engine, progress=progress)
    seconds = time.perf_counter() - started
    return {"records": batch.records, "seconds": round(seconds, 3), "records_per_s": round(batch.records / seconds)}


def time_engine_only(path: Path, provider_code: str) -> float:
    """Baseline 1: the DuckDB engine computing the same verdicts and reductions from the same file
    (reading it included) and handing them over chunk by chunk, with nothing written. The context
    (bindings, consents) is looked up before the clock starts."""
    scenario = Scenario.objects.get(code="metro")
    batch = create_batch(Provider.objects.get(code=provider_code), "metro", "cli")
    versions = engine_versions(scenario)
    now = datetime.now(UTC)
    with Judgement("metro", versions, now) as judgement, transaction.atomic():
        judgement.load_files([path])
        context = engine_context(batch, judgement, versions)
        transaction.set_rollback(True)
    started = time.perf_counter()
    with Judgement("metro", versions, now) as judgement:
        judgement.load_files([path])
        judgement.judge(context)
        for _ in judgement.accepted(WRITE_CHUNK):
            pass
    return time.perf_counter() - started


def time_raw_insert(path: Path) -> float:
    """Baseline 2: a raw bulk insert of the same rows (as text, read from the same file) into a bare
    table of the same database, by the same bulk path as the pipeline's."""
    columns = list(RECORD_FIELDS["trip"])
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_raw_insert (record_id text, external_user_id text, started_at text, "
                           "ended_at text, distance_km text)")
        insert_arrow("bench_raw_insert", columns, pq.ParquetFile(path).iter_batches(WRITE_CHUNK, columns=columns))
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds
