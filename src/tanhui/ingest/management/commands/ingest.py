from pathlib import Path

from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError
from tanhui.ingest.pipeline import ingest_file
from tanhui.methodology.engines import ENGINES


class Command(JsonCommand):
    help = "Ingest a file of behaviour records (CSV, JSON Lines or Parquet, by extension) as one batch."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--scenario", required=True)
        parser.add_argument("--provider", required=True)
        parser.add_argument("--engine", default="duckdb", choices=sorted(ENGINES))

    def run(self, file: Path, scenario: str, provider: str, engine: str, **options) -> dict:
        try:
            with self.progress(None, "ingest") as bar:
                batch = ingest_file(file, scenario, provider, engine=engine, progress=bar)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        return batch.summary()

    def render(self, result: dict) -> None:
        reasons = result["rejected_by_reason"]
        rows = [("batch", result["batch_id"]), ("scenario", result["scenario"]), ("records", result["records"]),
                ("accepted", result["accepted"]), ("  of which capped", result["capped"]),
                ("duplicates", result["duplicates"]), ("rejected", result["rejected"]),
                *((f"  {reason}", n) for reason, n in reasons.items()),
                ("reduction (g CO2e)", f"{result['reduction_mg'] / 1000:,.3f}"), ("points", result["points"]),
                ("accounts credited", result["accounts_credited"])]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{label:<{width}}  {value:>14}")
