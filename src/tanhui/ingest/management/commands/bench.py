import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

from tanhui.core.cli import JsonCommand
from tanhui.ingest.pipeline import ingest_file
from tanhui.ingest.services import add_provider
from tanhui.methodology.models import Scenario
from tanhui.people.services import register_citizens_bulk
from tanhui.synth.records import write_metro_records

TRIPS_PER_CITIZEN = 100


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
        """Each run registers its own provider and citizens, so runs never see each other's records."""
        code = f"bench_{secrets.token_hex(3)}"
        provider, _ = add_provider(code, f"基准测试 {code}", ["metro"])
        citizens = max(1, records // TRIPS_PER_CITIZEN)
        phone_base = 10**10 * 19 + secrets.randbelow(10**8) * 100  # 19xxxxxxxxx, unlikely to be taken
        external_ids = [f"{code}-{i}" for i in range(citizens)]
        register_citizens_bulk([(str(phone_base + i), "") for i in range(citizens)],
                               bindings=[(provider, e) for e in external_ids],
                               scenarios=[Scenario.objects.get(code="metro")])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"metro.{format}"
            with self.progress(records, "generating") as bar:
                write_metro_records(path, records, seed=seed, external_user_ids=external_ids,
                                    start_date=date(2026, 1, 5), days=TRIPS_PER_CITIZEN // 2,
                                    progress=lambda done, total: bar.update(done - bar.n))
            with self.progress(records, "ingesting") as bar:
                started = time.perf_counter()
                batch = ingest_file(path, "metro", code, engine=engine, progress=bar)
                seconds = time.perf_counter() - started
        return {"records": batch.records, "seconds": round(seconds, 3),
                "records_per_s": round(batch.records / seconds), "accepted": batch.accepted}
