"""Helpers shared by the project's management commands: the --json contract and progress bars."""

import argparse
import json
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm


class JsonCommand(BaseCommand):
    """A command that accepts --json and then prints exactly one JSON object on stdout.

    Subclasses implement `run(**options) -> dict` and `render(result)` for the human-readable form.
    Errors raise CommandError: non-zero exit, reason on stderr.
    """

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
        return parser

    def add_subcommands(self, parser, dest: str = "action"):
        """Subcommands (`tanhui ledger verify`) that also accept --json after their own arguments."""
        sub = parser.add_subparsers(dest=dest, required=True)
        add_parser = sub.add_parser

        def add_parser_with_json(name, **kwargs):
            subparser = add_parser(name, **kwargs)
            subparser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                                   help="print exactly one JSON object on stdout")
            return subparser

        sub.add_parser = add_parser_with_json
        return sub

    def handle(self, *args, **options):
        self.as_json = options["json"]
        result = self.run(**options)
        if self.as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            self.render(result)

    def run(self, **options) -> dict:
        raise NotImplementedError

    def render(self, result: dict) -> None:
        for key, value in result.items():
            self.stdout.write(f"{key}: {value}")

    def progress(self, total: int | None, desc: str, unit: str = "rec") -> tqdm:
        """A progress bar on stderr, shown only on a terminal."""
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty(),
                    unit_scale=True, dynamic_ncols=True)


__all__ = ["JsonCommand", "CommandError"]
