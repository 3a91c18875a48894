"""Benchmark: a year of 15-minute readings for 1,000 meters (about 35 million readings) through the full
supervision pipeline — checks, consumption from cumulative registers, readings, hourly and daily
rollups, emissions — against a raw-insert baseline measured in the same run.

    .venv/bin/python benchmarks/bench_supervision.py --quick            # 100 meters × 30 days
    .venv/bin/python benchmarks/bench_supervision.py                    # 1,000 meters × 365 days
    .venv/bin/python benchmarks/bench_supervision.py --database postgresql

The input is a CSV file (meter, ts, value) with local times and cumulative register values, as a
building energy monitoring system exports it, with some defects (gaps, duplicates, a reset per 100
meters). The baseline inserts the same rows, already parsed and typed (from Parquet), into a table
of the same shape as the readings table, with the same bulk path (multi-row INSERTs / COPY) — the least
any ingest of these rows into this database can cost. Each run uses a fresh database: a temporary
TANHUI_HOME for SQLite; for PostgreSQL the database `tanhui_bench_sup` at TANHUI_BENCH_PG
(default postgresql://postgres@127.0.0.1:5432), dropped and created.
"""

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432"
START = "2024-01-01 00:15:00"  # the first interval of the year ends at 00:15


def setup(database: str, home: Path) -> None:
    os.environ["TANHUI_HOME"] = str(home)
    if database == "postgresql":
        import psycopg

        base = os.environ.get("TANHUI_BENCH_PG", PG_DEFAULT)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
            con.execute("DROP DATABASE IF EXISTS tanhui_bench_sup")
            con.execute("CREATE DATABASE tanhui_bench_sup")
        os.environ["TANHUI_DATABASE_URL"] = f"{base}/tanhui_bench_sup"
    else:
        os.environ.pop("TANHUI_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tanhui.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_meters(meters: int) -> None:
    from tanhui.supervision import services
    from tanhui.supervision.models import BuildingType, Meter

    types = list(BuildingType.values)
    for i in range(meters):
        building, _ = services.upsert_building(code=f"B{i:04d}", name=f"建筑{i}", type=types[i % len(types)],
                                               floor_area_m2=5000 + 37 * i, district="长宁区", owner=f"业主{i % 50}")
        Meter.objects.create(building=building, code=f"E{i:04d}", kind="electricity")


def make_files(meters: int, days: int, folder: Path) -> tuple[Path, Path, int]:
    """The CSV for the pipeline and the typed Parquet for the baseline (same readings). Runs in a
    child process, so that its memory does not count in the import's peak."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute(f"SET temp_directory = '{folder / 'spill'}'")
    intervals = days * 96
    con.execute(f"""
        CREATE TABLE gen AS
        WITH grid AS (
            SELECT m, i, TIMESTAMP '{START}' + to_minutes(15 * i) AS stamp
            FROM range({meters}) r(m), range({intervals}) s(i)
        ), load AS (
            SELECT m, i, stamp,
                   -- kWh per 15 minutes: a base load plus an occupied-hours bump, noise from a hash
                   (2 + m % 7) * (1 + CASE WHEN hour(stamp) BETWEEN 8 AND 19 AND dayofweek(stamp) BETWEEN 1 AND 5
                                           THEN 2.5 ELSE 0.2 END) * (0.9 + (hash(m, i) % 200) / 1000.0) AS kwh
            FROM grid
        )
        SELECT m, i, stamp, round(10000 * m + sum(kwh) OVER (PARTITION BY m ORDER BY i), 2) AS register
        FROM load
        WHERE hash(i, m) % 2000 <> 0                                   -- gaps: 0.05% of readings missing
    """)  # noqa: S608 - integers
    # One reset (a replaced meter restarting from zero) per 100 meters, half-way through.
    half = intervals // 2
    con.execute(f"UPDATE gen SET register = register - (SELECT min(register) FROM gen g WHERE g.m = gen.m "  # noqa: S608
                f"AND g.i >= {half}) WHERE m % 100 = 0 AND i >= {half}")
    csv_path, parquet_path = folder / "readings.csv", folder / "readings.parquet"
    con.execute(f"""
        COPY (SELECT meter, ts, value FROM (
                  SELECT printf('E%04d', m) AS meter, strftime(stamp, '%Y-%m-%d %H:%M:%S') AS ts,
                         printf('%.2f', register) AS value, i, m FROM gen
                  UNION ALL  -- re-sent readings: 0.02% duplicates
                  SELECT printf('E%04d', m), strftime(stamp, '%Y-%m-%d %H:%M:%S'), printf('%.2f', register), i, m
                  FROM gen WHERE hash(m, i, 7) % 5000 = 0)
              ORDER BY i, m)
        TO '{csv_path}' (HEADER, DELIMITER ',')
    """)  # noqa: S608 - paths we made
    con.execute(f"""
        COPY (SELECT m + 1 AS meter_id, CAST(epoch(CAST(stamp AS TIMESTAMPTZ)) AS BIGINT) AS ts,
                     CAST(round(register * 1000) AS BIGINT) AS value_milli,
                     CAST(round(register * 1000) AS BIGINT) AS register_milli,
                     CAST(1 AS BIGINT) AS batch_id FROM gen ORDER BY m, i)
        TO '{parquet_path}' (FORMAT parquet)
    """)  # noqa: S608
    rows, = con.execute(f"SELECT count(*) FROM read_csv('{csv_path}')").fetchone()  # noqa: S608
    con.close()
    return csv_path, parquet_path, rows


def baseline(parquet_path: Path) -> tuple[int, float]:
    """Raw insert of the typed rows into a table shaped like the readings table."""
    import duckdb
    from django.db import connection, transaction

    from tanhui.supervision.readings import CHUNK_ROWS, insert_arrow

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_raw (meter_id bigint NOT NULL, ts bigint NOT NULL, value_milli bigint, "
                       "register_milli bigint, batch_id bigint NOT NULL, PRIMARY KEY (meter_id, ts))")
    rows = 0
    con = duckdb.connect()
    started = time.perf_counter()
    with transaction.atomic():
        for chunk in con.sql(f"SELECT * FROM read_parquet('{parquet_path}')").to_arrow_reader(CHUNK_ROWS):  # noqa: S608
            insert_arrow("bench_raw", ["meter_id", "ts", "value_milli", "register_milli", "batch_id"], chunk)
            rows += chunk.num_rows
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw")
    return rows, seconds


def _cpu() -> float:
    """CPU seconds of this process (all its threads, including DuckDB's)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--quick", action="store_true", help="100 meters × 30 days")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.meters, args.days = 100, 30
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    with tempfile.TemporaryDirectory(prefix="bench-sup-") as tmp:
        folder = Path(tmp)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            files = child.submit(make_files, args.meters, args.days, folder)
            setup(args.database, folder / "home")
            make_meters(args.meters)
            csv_path, parquet_path, records = files.result()
        from tanhui.supervision import services
        from tanhui.supervision.models import DailyUsage, HourlyUsage, Reading

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu_before = _cpu()
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        batch = services.import_readings(csv_path)
        seconds = time.perf_counter() - started
        cpu = _cpu() - cpu_before
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        load_after = os.getloadavg()[0]
        base_rows, base_seconds = baseline(parquet_path)
        result = {
            "database": args.database, "meters": args.meters, "days": args.days, "readings": records,
            "accepted": batch.accepted, "rejected_by_reason": batch.rejected_by_reason, "resets": batch.resets,
            "gaps": batch.gaps, "stored_readings": Reading.objects.count(), "hourly_rows": HourlyUsage.objects.count(),
            "daily_rows": DailyUsage.objects.count(), "seconds": round(seconds, 2),
            "readings_per_s": round(records / seconds), "cpu_seconds": round(cpu, 1),
            "readings_per_cpu_s": round(records / cpu), "baseline_rows": base_rows,
            "baseline_seconds": round(base_seconds, 2), "baseline_rows_per_s": round(base_rows / base_seconds),
            "ratio_to_baseline": round((records / seconds) / (base_rows / base_seconds), 2),
            "rss_before_import_mb": round(rss_before / 1024), "peak_rss_mb": round(peak_rss / 1024),
            "cores": os.cpu_count(), "load_average_before": round(load_before, 2),
            "load_average_after": round(load_after, 2),
        }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:>22}  {value}")


if __name__ == "__main__":
    main()
