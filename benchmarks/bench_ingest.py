"""Ingest benchmark with same-run baselines, on the configured database (TANHUI_HOME / TANHUI_DATABASE_URL).

    python benchmarks/bench_ingest.py --records 2000000

Prints the full path (file → checks → reductions → ledger) and two baselines on the same file:
DuckDB computing the same verdicts (nothing written), and a raw bulk insert of the same rows into
the same database. Peak memory is the process's maximum resident set size (every step streams, so
the baselines do not raise it above the full path's). The machine's 1-minute load average before
and after the run is printed too: on a shared machine it explains much of the spread.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2_000_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tanhui.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tanhui.ingest import bench

    call_command("init", stdout=open(os.devnull, "w"))  # noqa: SIM115
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        code, path = bench.prepare(Path(tmp), args.records)
        engine_seconds = bench.time_engine_only(path, code)
        raw_seconds = bench.time_raw_insert(path)
        full = bench.time_full_path(path, code)
    n = full["records"]
    figures = {
        "database": connection.vendor, "records": n,
        "full_path_s": full["seconds"], "full_path_records_per_s": full["records_per_s"],
        "duckdb_only_s": round(engine_seconds, 3), "duckdb_only_records_per_s": round(n / engine_seconds),
        "raw_insert_s": round(raw_seconds, 3), "raw_insert_records_per_s": round(n / raw_seconds),
        "full_vs_duckdb_plus_raw_insert": round(full["seconds"] / (engine_seconds + raw_seconds), 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    json.dump(figures, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
