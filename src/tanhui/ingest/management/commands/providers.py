from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError
from tanhui.ingest import services
from tanhui.ingest.models import Provider


class Command(JsonCommand):
    help = "Manage data providers: `add CODE --name NAME --scenarios metro,bus`, `rotate-key CODE`, `list`."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        add = sub.add_parser("add", help="register a provider; prints its API key once")
        add.add_argument("code")
        add.add_argument("--name", required=True)
        add.add_argument("--scenarios", required=True, help="comma-separated scenario codes")
        rotate = sub.add_parser("rotate-key", help="replace a provider's API key; prints the new key once")
        rotate.add_argument("code")
        sub.add_parser("list")

    def run(self, action, **options) -> dict:
        try:
            if action == "add":
                scenarios = [s.strip() for s in options["scenarios"].split(",") if s.strip()]
                provider, key = services.add_provider(options["code"], options["name"], scenarios)
                return {"code": provider.code, "api_key": key}
            if action == "rotate-key":
                provider = Provider.objects.filter(code=options["code"]).first()
                if provider is None:
                    raise CommandError(f"unknown provider {options['code']!r}")
                return {"code": provider.code, "api_key": services.rotate_api_key(provider)}
            return {"providers": [{"code": p.code, "name": p.name, "active": p.active,
                                   "scenarios": sorted(s.code for s in p.scenarios.all())}
                                  for p in Provider.objects.prefetch_related("scenarios").order_by("code")]}
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
