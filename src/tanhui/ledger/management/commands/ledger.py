import json
from pathlib import Path

from tanhui.core.cli import CommandError, JsonCommand
from tanhui.ledger import audit, services


class Command(JsonCommand):
    help = "The carbon ledger: `ledger verify`, `ledger expire`, `ledger root`."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        verify = sub.add_parser("verify", help="recompute every hash chain and every balance; exit 1 naming "
                                               "the first broken entry")
        verify.add_argument("--root", action="append", default=[], type=Path, metavar="FILE",
                            help="also check a root file saved earlier (repeatable)")
        sub.add_parser("expire", help="expire unspent points older than TANHUI_POINTS_EXPIRE_DAYS (oldest "
                                      "first) and release timed-out reservations")
        root = sub.add_parser("root", help="export the root: the chain heads, hashed")
        root.add_argument("--out", type=Path, metavar="FILE", help="default: TANHUI_HOME/roots/<date>.json")

    def handle(self, *args, **options):
        self.failure = None
        super().handle(*args, **options)
        if self.failure:  # after the JSON object: it reports the failure too
            raise CommandError(self.failure)

    def run(self, action, **options) -> dict:
        if action == "verify":
            report = audit.verify([self._root_file(path) for path in options["root"]])
            for problem in audit.app_verifier_problems():
                report.problem(problem)
            if not report.ok:
                self.failure = f"ledger verify failed ({report.problem_count} problems): {report.problems[0]}"
            return report.as_dict()
        if action == "expire":
            return services.expire_points()
        return audit.export_root(options["out"])

    def _root_file(self, path: Path) -> dict:
        try:
            data = json.loads(path.read_text())
            return {"root": data["root"], "heads": data["heads"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"{path}: not a root file ({exc})") from exc

    def render(self, result: dict) -> None:
        if "problems" not in result:
            return super().render(result)
        counts = ", ".join(f"{result[k]} {k}" for k in ("transfers", "accounts", "partitions", "roots"))
        self.stdout.write(f"ledger {'OK' if result['ok'] else 'BROKEN'}: {counts}")
        for problem in result["problems"]:
            self.stdout.write(f"  {problem}")
