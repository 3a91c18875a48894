from pathlib import Path

from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError
from tanhui.people.guards import purge
from tanhui.people.services import import_citizens


class Command(JsonCommand):
    help = ("Manage citizens: `import FILE` (CSV columns phone,name,district,community,bindings,consents); "
            "`purge` deletes expired or used login codes, ended login locks and rate-limit counts of ended windows "
            "(the worker runs it hourly).")

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        imp = sub.add_parser("import", help="import citizens from CSV; idempotent by phone")
        imp.add_argument("file", type=Path)
        sub.add_parser("purge", help="delete expired or used login codes, ended login locks and rate-limit counts")

    def run(self, action, file: Path | None = None, **options) -> dict:
        if action == "purge":
            return purge()
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        with file.open("rb") as f:
            rows = max(0, sum(1 for _ in f) - 1)
        try:
            with self.progress(rows, "citizens", unit="row") as bar:
                result = import_citizens(file, progress=bar)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        # Rejected rows are reported by line and reason only: the row itself holds personal data.
        for line, reason, detail in result.errors[:20]:
            self.stderr.write(f"line {line}: {reason} — {detail}")
        return result.as_contract()
