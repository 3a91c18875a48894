"""Benchmark: the carbon ledger's posting path, against a raw-insert baseline from the same run.

    .venv/bin/python benchmarks/bench_ledger.py --db sqlite
    .venv/bin/python benchmarks/bench_ledger.py --db postgres [--batches 8 --size 10000 --singles 1000]

- batched: `post_transactions` of SIZE credits in one database transaction (commit included),
  BATCHES times: the median, worst and best batch, and all of them together (which charges SQLite's
  WAL checkpoints, run by whichever commit crosses the threshold, in full). The credits have
  ingestion's shape: one `mint_credit` per citizen, SIZE citizens, each touching a citizen and an
  issuance shard. The specs are built before the clock starts (and
  the garbage collector is run, so that collecting what building allocated is not charged to the
  posting); "build + post" times both.
- baseline: the same rows, already built, inserted with the same bulk path (executemany / COPY)
  into a table of the same columns without keys, indexes or triggers — the least that writing these
  rows into this database can cost.
- single: SINGLES one-credit `post_transactions` calls, each its own database transaction, as an API
  posting would make them: p50 and p99 latency.
- verify: `ledger verify` over everything posted.

On a shared machine wall-clock figures follow the load (printed); the batches' CPU time of this
process is printed too — for SQLite that is all of the work.

Each run uses a fresh database: a temporary TANHUI_HOME for SQLite, with the connection settings of
tanhui.settings (`--sqlite-cache-mb` sets PRAGMA cache_size on top); for PostgreSQL the database
`tanhui_bench_ledger` at TANHUI_BENCH_PG (default postgresql://postgres@127.0.0.1:5432), dropped
and created.
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432"


def setup(database: str, home: Path, cache_mb: int | None) -> None:
    os.environ["TANHUI_HOME"] = str(home)
    if database == "postgres":
        import psycopg

        base = os.environ.get("TANHUI_BENCH_PG", PG_DEFAULT)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
            con.execute("DROP DATABASE IF EXISTS tanhui_bench_ledger")
            con.execute("CREATE DATABASE tanhui_bench_ledger")
        os.environ["TANHUI_DATABASE_URL"] = f"{base}/tanhui_bench_ledger"
    else:
        os.environ.pop("TANHUI_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tanhui.settings")
    import django
    from django.core.management import call_command
    from django.db.backends.signals import connection_created

    if cache_mb:
        def cache(sender, connection, **kwargs):
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")

        connection_created.connect(cache, weak=False)
    django.setup()
    call_command("migrate", verbosity=0)


def make_accounts(count: int) -> list[int]:
    from tanhui.ledger.services import citizen_accounts
    from tanhui.people.models import Citizen, User

    users = User.objects.bulk_create([User(username=f"bench{i}") for i in range(count)], batch_size=5000)
    citizens = Citizen.objects.bulk_create([Citizen(user=u) for u in users], batch_size=5000)
    accounts = citizen_accounts(c.pk for c in citizens)
    return [accounts[c.pk] for c in citizens]


def credits(accounts: list[int], batch: int) -> list:
    from tanhui.ledger.services import mint_credit

    rng = random.Random(batch)
    return [mint_credit(account, mg // 1000, mg, idempotency_key=f"ingest:{batch}:{account}:metro", scenario="metro",
                        ref_type="ingest.batch", ref_id=str(batch))
            for account in accounts for mg in [rng.randrange(1, 5_000_000)]]


def timed(function) -> float:
    """Seconds to run `function` in its own database transaction, commit included."""
    from django.db import transaction

    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic():
        function()
    CPU_SECONDS.append(time.process_time() - cpu)
    return time.perf_counter() - start


CPU_SECONDS: list[float] = []  # this process's CPU time of each timed() call


def baseline(accounts: list[int]) -> float:
    """A batch's rows, built beforehand, bulk-inserted into a bare table of the same columns."""
    from django.db import connection
    from django.utils import timezone

    from tanhui.core.bulk import insert_rows
    from tanhui.ledger.services import COLUMNS

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_transfer")
        cursor.execute("CREATE TABLE bench_raw_transfer AS SELECT * FROM ledger_transfer WHERE 1 = 0")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(i, spec.idempotency_key, 0, spec.kind, spec.scenario, spec.ref_type, spec.ref_id, spec.memo, now,
             spec.partition, f"{i:064x}", *spec.moves[0], None, None, None)
            for i, spec in enumerate(credits(accounts, -1), start=1)]
    return timed(lambda: insert_rows("bench_raw_transfer", COLUMNS, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--size", type=int, default=10_000, help="transactions per batch")
    parser.add_argument("--singles", type=int, default=1_000)
    parser.add_argument("--sqlite-cache-mb", type=int, help="PRAGMA cache_size for the run (SQLite)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as home:
        setup(args.db, Path(home), args.sqlite_cache_mb)
        from django.db import connection

        from tanhui.ledger import audit
        from tanhui.ledger.services import mint_credit, post_transactions

        accounts = make_accounts(args.size)
        post_transactions(credits(accounts, 0))  # warm-up: creates the system accounts and chains
        raw = min(baseline(accounts) for _ in range(3))

        posting, building = [], []
        for batch in range(1, args.batches + 1):
            specs = credits(accounts, batch)
            posting.append(timed(lambda specs=specs: post_transactions(specs)))
        posting_cpu = CPU_SECONDS[-args.batches:]
        for batch in range(args.batches + 1, args.batches + 3):
            building.append(timed(lambda batch=batch: post_transactions(credits(accounts, batch))))

        latencies = []
        rng = random.Random(7)
        for i in range(args.singles):
            spec = mint_credit(rng.choice(accounts), 5, 5_000, idempotency_key=f"api:{i}", scenario="bike",
                               ref_type=None, ref_id=None)
            start = time.perf_counter()
            post_transactions([spec])
            latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        report = audit.verify()
        verify_seconds = time.perf_counter() - start
        if not report.ok:
            sys.exit(f"verify failed: {report.problems[0]}")
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size" if args.db == "sqlite" else "SHOW shared_buffers")
            cache = cursor.fetchone()[0]
        version = connection.Database.sqlite_version if args.db == "sqlite" else connection.pg_version
        percentiles = statistics.quantiles(latencies, n=100)
        figures = {
            "database": f"{connection.vendor} {version}", "cache": cache, "cpus": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 1), "batch_size": args.size, "batches": args.batches,
            "baseline_tx_per_s": round(args.size / raw),
            "posting_tx_per_s_median": round(args.size / statistics.median(posting)),
            "posting_tx_per_s_mean": round(args.size * args.batches / sum(posting)),
            "posting_tx_per_s_worst": round(args.size / max(posting)),
            "posting_tx_per_s_best": round(args.size / min(posting)),
            "posting_tx_per_cpu_s_median": round(args.size / statistics.median(posting_cpu)),
            "build_and_post_tx_per_s": round(args.size / statistics.median(building)),
            "single_p50_ms": round(percentiles[49] * 1000, 2),
            "single_p99_ms": round(percentiles[98] * 1000, 2),
            "verify_transfers_per_s": round(report.transfers / verify_seconds),
            "verified_transfers": report.transfers,
        }
    if args.json:
        print(json.dumps(figures))
        return
    f = figures
    print(f"ledger benchmark: {f['database']} (cache {f['cache']}), {f['cpus']} CPUs, load {f['load_average']}")
    print(f"  raw-insert baseline   {f['baseline_tx_per_s']:>9,} tx/s")
    print(f"  batched postings      {f['posting_tx_per_s_median']:>9,} tx/s median of {args.batches} × "
          f"{args.size:,} (worst {f['posting_tx_per_s_worst']:,}, best {f['posting_tx_per_s_best']:,})")
    print(f"  … all batches         {f['posting_tx_per_s_mean']:>9,} tx/s (their total time: WAL checkpoints "
          f"included, whichever batch ran them)")
    print(f"  … per CPU second      {f['posting_tx_per_cpu_s_median']:>9,} tx/s of this process's CPU time "
          f"(SQLite: all of the work; PostgreSQL: the client's part)")
    print(f"  build + post          {f['build_and_post_tx_per_s']:>9,} tx/s")
    print(f"  single postings       p50 {f['single_p50_ms']} ms, p99 {f['single_p99_ms']} ms "
          f"({args.singles:,} calls)")
    print(f"  verify                {f['verify_transfers_per_s']:>9,} transfers/s ({f['verified_transfers']:,})")


if __name__ == "__main__":
    main()
