import tempfile
from pathlib import Path

from tanhui.core.cli import JsonCommand
from tanhui.ingest import bench


class Command(JsonCommand):
    help = ("Benchmarks: `bench ingest --records N` times the full ingest path (file → checks → reductions → "
            "ledger) on the configured database, with synthetic metro records for citizens it registers.")

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser, dest="benchmark")
        ingest = sub.add_parser("ingest")
        ingest.add_argument("--records", type=int, required=True)
        ingest.add_argument("--format", choices=["parquet", "csv"], default="parquet")
        ingest.add_argument("--engine", default="duckdb")
        ingest.add_argument("--seed", type=int, default=7)

    def run(self, benchmark, records: int, format: str, engine: str, seed: int, **options) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            with self.progress(records, "generating") as bar:
                code, path = bench.prepare(Path(tmp), records, fmt=format, seed=seed,
                                           progress=lambda done, total: bar.update(done - bar.n))
            with self.progress(records, "ingesting") as bar:
                return bench.time_full_path(path, code, engine=engine, progress=bar)
