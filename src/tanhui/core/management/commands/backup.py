from pathlib import Path

from tanhui.core import backup
from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError


class Command(JsonCommand):
    help = ("Online backup: a consistent snapshot of the database and the files that matter (secrets, unprocessed "
            "uploads, ledger roots, media) in one .tar.gz with a manifest. The archive holds the encryption keys.")

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, metavar="FILE",
                            help="the archive to write (default: TANHUI_HOME/backups/tanhui-<time>.tar.gz)")

    def run(self, out: Path | None = None, **options) -> dict:
        try:
            return backup.backup(out or backup.default_archive_path(), self.progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def render(self, result: dict) -> None:
        ledger = result["ledger"]
        self.stdout.write(f"backup written: {result['archive']} ({result['bytes']} bytes, {result['members']} "
                          f"members, {ledger['transfers']} ledger transfers, root {ledger['root']})")
        self.stderr.write(f"warning: the archive {result['warning']}")
