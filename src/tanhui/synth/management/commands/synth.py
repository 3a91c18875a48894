"""`tanhui synth`: writes the deterministic synthetic city (see docs/synth.md)."""

from datetime import date
from pathlib import Path

from django.conf import settings

from tanhui.core.cli import CommandError, JsonCommand
from tanhui.synth.city import DEFAULT_END_DATE, generate_city, summary


class Command(JsonCommand):
    help = "Generate the synthetic city: citizens, providers, merchants and daily behaviour files."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, help="output folder (default: $TANHUI_HOME/synth)")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--citizens", type=int, default=2000)
        parser.add_argument("--days", type=int, default=14)
        parser.add_argument(
            "--end-date",
            type=date.fromisoformat,
            default=DEFAULT_END_DATE,
            help=f"last day of the period, YYYY-MM-DD (default {DEFAULT_END_DATE})",
        )
        parser.add_argument("--bad-share", type=float, default=0.01, help="share of defective rows")

    def run(self, out, seed, citizens, days, end_date, bad_share, **options) -> dict:
        out = out or Path(settings.HOME) / "synth"
        with self.progress(None, "synth", unit="step") as bar:

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                manifest = generate_city(
                    out,
                    seed=seed,
                    citizens=citizens,
                    days=days,
                    end_date=end_date,
                    bad_share=bad_share,
                    progress=advance,
                )
            except (ValueError, FileExistsError) as exc:
                raise CommandError(str(exc)) from exc
        return {"out": str(out), **summary(manifest)}

    def render(self, result: dict) -> None:
        rows = result["citizen_rows"]
        self.stdout.write(
            f"{result['out']}: {result['files']} files, "
            f"{result['start_date']} … {result['end_date']} (seed {result['seed']})"
        )
        self.stdout.write(
            f"citizens.csv: {rows['valid']} citizens + {rows['rows'] - rows['valid']} defective rows; "
            f"{result['merchants']} merchants"
        )
        for scenario, total in result["totals"].items():
            expected = total["expected"]
            self.stdout.write(
                f"{scenario:<16} {total['rows']:>8} records, {sum(total['defects'].values()):>5} defects → "
                f"accepted {expected['accepted']} (capped {expected['capped']}), "
                f"duplicates {expected['duplicates']}, rejected {expected['rejected']}"
            )
