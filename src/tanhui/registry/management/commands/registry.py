from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError
from tanhui.core.timeutil import parse_iso_date
from tanhui.methodology.models import MethodologyVersion, Scenario
from tanhui.people.models import User
from tanhui.registry import audit, demo, services


class Command(JsonCommand):
    help = "The registry: `registry prepare`, `registry verify`, `registry holiday`, `registry demo-data`."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        sub.add_parser("verify", help="recompute the registry's event chain and replay its serial blocks; exit 1 "
                                      "naming the first problem")
        holiday = sub.add_parser("holiday", help="mark a public holiday, or a weekend day worked in exchange, for "
                                                 "notice periods")
        holiday.add_argument("day", type=parse_iso_date, metavar="YYYY-MM-DD")
        holiday.add_argument("--name", default="")
        holiday.add_argument("--working", action="store_true", help="a weekend day worked in exchange (调休上班)")
        holiday.add_argument("--as", dest="username", required=True, help="the administrator who records it")
        sub.add_parser("demo-data", help="market consents, an issued request, trades, retirements and a project")
        prepare = sub.add_parser("prepare", help="gather reductions into an issuance request of whole tonnes (for "
                                                 "requests too large to prepare from a page)")
        prepare.add_argument("--scenarios", required=True, help="scenario codes, comma-separated")
        prepare.add_argument("--versions", help="methodology version ids, comma-separated (default: every "
                                                "version of the scenarios' methodologies)")
        prepare.add_argument("--start", type=parse_iso_date, required=True, metavar="YYYY-MM-DD")
        prepare.add_argument("--end", type=parse_iso_date, required=True, metavar="YYYY-MM-DD")
        prepare.add_argument("--as", dest="username", required=True, help="the administrator who prepares it")

    def handle(self, *args, **options):
        self.failure = None
        self.quiet = options["verbosity"] == 0  # e.g. called by `tanhui demo --json`, whose stdout is its JSON
        super().handle(*args, **options)
        if self.failure:  # after the JSON object: it reports the failure too
            raise CommandError(self.failure)

    def render(self, result: dict) -> None:
        if not self.quiet:
            super().render(result)

    def run(self, action, **options) -> dict:
        if action == "verify":
            problems = audit.verify()
            if problems:
                self.failure = f"registry verify failed ({len(problems)} problems): {problems[0]}"
            return {"ok": not problems, "problems": problems}
        if action == "demo-data":
            return demo.run()
        user = User.objects.filter(username=options["username"]).first()
        try:
            if action == "prepare":
                return self._prepare(user, **options)
            entry = services.set_calendar_day(user, options["day"], working=options["working"], name=options["name"])
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        return {"day": entry.day.isoformat(), "working": entry.working, "name": entry.name}

    def _prepare(self, user, scenarios, versions, start, end, **_) -> dict:
        codes = scenarios.split(",")
        chosen = list(Scenario.objects.filter(code__in=codes))
        if len(chosen) != len(set(codes)):
            raise CommandError(f"unknown scenario in {scenarios!r}")
        found = MethodologyVersion.objects.filter(methodology__in=[s.methodology_id for s in chosen])
        if versions:
            found = found.filter(pk__in=[int(v) for v in versions.split(",")])
        request = services.prepare_request(user, scenarios=chosen, methodology_versions=list(found),
                                           period_start=start, period_end=end)
        return {"request": request.pk, "records": request.records, "citizens": request.citizens,
                "total_mg": request.total_mg, "tonnes": request.tonnes, "excess_mg": request.excess_mg,
                "evidence_sha256": request.evidence_sha256}
