"""The ingest benchmark: synthetic metro records for citizens registered for the run, the full
path timed on the configured database, and the baselines the docs compare it with."""

import secrets
import time
from datetime import UTC, date, datetime
from pathlib import Path

from django.db import connection, transaction

from tanhui.core.bulk import insert_rows
from tanhui.ingest.pipeline import _context, create_batch, ingest_file, read_records
from tanhui.ingest.services import add_provider
from tanhui.methodology.engines import RECORD_FIELDS, evaluate
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
    """Baseline 1: the DuckDB engine computing the same verdicts from the same file (reading included),
    with its context loaded but nothing written."""
    from tanhui.ingest.models import Provider

    scenario = Scenario.objects.get(code="metro")
    batch = create_batch(Provider.objects.get(code=provider_code), "metro", "cli")
    started = time.perf_counter()
    records = read_records(path, RECORD_FIELDS["trip"])
    versions = engine_versions(scenario)
    with transaction.atomic():
        evaluate("metro", records, _context(batch, records, versions), versions, datetime.now(UTC))
        transaction.set_rollback(True)
    return time.perf_counter() - started


def time_raw_insert(path: Path) -> float:
    """Baseline 2: a raw bulk insert of the same rows (as text) into a bare table of the same database."""
    records = read_records(path, RECORD_FIELDS["trip"])
    columns = [*RECORD_FIELDS["trip"], "seq"]
    rows = zip(*(records.column(c).to_pylist() for c in columns), strict=True)
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_raw_insert (record_id text, external_user_id text, started_at text, "
                           "ended_at text, distance_km text, seq bigint)")
        insert_rows("bench_raw_insert", columns, rows)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds
