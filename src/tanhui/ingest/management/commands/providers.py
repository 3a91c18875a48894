from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError
from tanhui.ingest import services
from tanhui.ingest.models import ApiKey, Provider


def _codes(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _provider(code: str) -> Provider:
    provider = Provider.objects.filter(code=code).first()
    if provider is None:
        raise CommandError(f"unknown provider {code!r}")
    return provider


def _key_row(api_key: ApiKey) -> dict:
    return {"name": api_key.name, "prefix": api_key.prefix, "scenarios": api_key.scenario_codes() or "all",
            "created_at": api_key.created_at.isoformat(),
            "last_used_at": api_key.last_used_at and api_key.last_used_at.isoformat(),
            "revoked_at": api_key.revoked_at and api_key.revoked_at.isoformat()}


class Command(JsonCommand):
    help = ("Manage data providers: `add CODE --name NAME --scenarios metro,bus`, `rotate-key CODE [--key NAME]`, "
            "`list`, and their API keys: `keys add CODE NAME [--scenarios metro]`, `keys revoke CODE NAME`, "
            "`keys list CODE`.")

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        add = sub.add_parser("add", help="register a provider; prints its API key once")
        add.add_argument("code")
        add.add_argument("--name", required=True)
        add.add_argument("--scenarios", required=True, help="comma-separated scenario codes")
        rotate = sub.add_parser("rotate-key", help="replace one of a provider's API keys; prints the new key once")
        rotate.add_argument("code")
        rotate.add_argument("--key", default=services.DEFAULT_KEY, help="the key's name (default: %(default)s)")
        sub.add_parser("list")
        keys = self.add_subcommands(sub.add_parser("keys", help="a provider's named API keys"), dest="keys_action")
        key_add = keys.add_parser("add", help="issue another key; prints it once")
        key_add.add_argument("code")
        key_add.add_argument("name")
        key_add.add_argument("--scenarios", default="", help="comma-separated scenario codes (default: all)")
        key_revoke = keys.add_parser("revoke", help="the key stops working at once")
        key_revoke.add_argument("code")
        key_revoke.add_argument("name")
        keys.add_parser("list", help="keys with their scenarios and use, revoked ones too").add_argument("code")

    def run(self, action, **options) -> dict:
        try:
            if action == "add":
                provider, key = services.add_provider(options["code"], options["name"], _codes(options["scenarios"]))
                return {"code": provider.code, "api_key": key}
            if action == "rotate-key":
                provider = _provider(options["code"])
                _, key = services.rotate_api_key(services.live_api_key(provider, options["key"]))
                return {"code": provider.code, "api_key": key}
            if action == "keys":
                return self.run_keys(options["keys_action"], _provider(options["code"]), options)
            return {"providers": [{"code": p.code, "name": p.name, "active": p.active,
                                   "scenarios": sorted(s.code for s in p.scenarios.all())}
                                  for p in Provider.objects.prefetch_related("scenarios").order_by("code")]}
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def run_keys(self, action: str, provider: Provider, options: dict) -> dict:
        if action == "add":
            api_key, key = services.issue_api_key(provider, options["name"], _codes(options["scenarios"]))
            return {"code": provider.code, "name": api_key.name, "scenarios": api_key.scenario_codes() or "all",
                    "api_key": key}
        if action == "revoke":
            api_key = services.live_api_key(provider, options["name"])
            services.revoke_api_key(api_key)
            return {"code": provider.code, **_key_row(api_key)}
        return {"code": provider.code, "keys": [_key_row(k) for k in provider.api_keys.prefetch_related("scenarios")]}
