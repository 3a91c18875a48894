import json
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from tanhui.core import backup
from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError


class Command(JsonCommand):
    help = ("Restore a `tanhui backup` archive into this installation (refused if it is not empty, unless --force), "
            "then run `tanhui ledger verify` against the root recorded at backup time; exit 1 if it fails.")

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--force", action="store_true", help="replace the database and files of a "
                                                                 "non-empty installation")

    def handle(self, *args, **options):
        self.failure = None
        super().handle(*args, **options)
        if self.failure:  # after the JSON object: it reports the failure too
            raise CommandError(self.failure)

    def run(self, archive: Path, force: bool, **options) -> dict:
        try:
            manifest = backup.restore(archive, force=force, progress=self.progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        report = StringIO()
        with backup.root_file(manifest) as root:
            try:
                call_command("ledger", "verify", "--json", "--root", str(root), stdout=report)
            except CommandError as exc:
                self.failure = f"restored, but the ledger does not verify: {exc}"
        verified = json.loads(report.getvalue())
        if differences := backup.restored_counts(manifest):
            self.failure = self.failure or f"restored, but {'; '.join(differences)}"
        return {"archive": str(archive), "database": manifest["database"]["vendor"],
                "backup_created_at": manifest["created_at"], "members": len(manifest["members"]),
                "ledger": {k: manifest["ledger"][k] for k in ("root", "transfers")}, "counts": manifest["counts"],
                "count_differences": differences, "verify": verified, "ok": self.failure is None}

    def render(self, result: dict) -> None:
        verified = result["verify"]
        self.stdout.write(f"restored {result['archive']} (backup of {result['backup_created_at']}, "
                          f"{result['ledger']['transfers']} ledger transfers)")
        self.stdout.write(f"ledger verify: {'OK' if verified['ok'] else 'BROKEN'}, {verified['transfers']} transfers, "
                          f"{verified['roots']} roots")
        for line in verified["problems"] + result["count_differences"]:
            self.stdout.write(f"  {line}")
