"""`tanhui demo`: everything `./dev demo` does before serving — initialise, generate the synthetic city,
register its providers and citizens, ingest its files day by day, and create demo logins."""

import csv
import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management import call_command, get_commands

from tanhui.core.cli import JsonCommand
from tanhui.ingest.models import Batch, Provider
from tanhui.ingest.pipeline import ingest_file
from tanhui.ingest.services import add_provider
from tanhui.people.models import Organisation, User
from tanhui.people.services import find_citizen_by_phone, import_citizens
from tanhui.synth.city import generate_city

STAFF = [  # username, role, organisation kind, organisation name
    ("admin", User.Role.ADMIN, Organisation.Kind.GOVERNMENT, "云澜市生态环境局"),
    ("verifier", User.Role.VERIFIER, Organisation.Kind.VERIFIER, "云澜碳核证中心"),
    ("enterprise", User.Role.ENTERPRISE, Organisation.Kind.ENTERPRISE, "云澜能源集团"),
    ("department", User.Role.DEPARTMENT, Organisation.Kind.GOVERNMENT, "云澜市发展和改革委员会"),
]
DEMO_CITIZENS = 3


class Command(JsonCommand):
    help = "Set up the demo: init, synthetic city, providers, citizens, ingestion, demo logins. Rerunnable."

    def add_arguments(self, parser):
        parser.add_argument("--citizens", type=int, default=2000)
        parser.add_argument("--days", type=int, default=14)

    def run(self, citizens: int, days: int, **options) -> dict:
        call_command("init", verbosity=0)
        city = Path(settings.HOME) / "demo-city"
        if not (city / "manifest.json").exists():
            with self.progress(days + 1, "city", unit="step") as bar:
                generate_city(city, citizens=citizens, days=days, progress=lambda done, total: bar.update(done - bar.n))
        manifest = json.loads((city / "manifest.json").read_text())
        credentials = self._credentials()
        for spec in json.loads((city / "providers.json").read_text()):
            if not Provider.objects.filter(code=spec["code"]).exists():
                provider, key = add_provider(spec["code"], spec["name"], spec["scenarios"])
                credentials["api_keys"][spec["code"]] = key
        self._save(credentials)
        imported = import_citizens(city / "citizens.csv").as_contract()
        batches = self._ingest(city, manifest)
        logins = self._logins(city, credentials["password"])
        for command in ("supervision", "rewards", "engagement", "registry"):
            if command in get_commands():
                call_command(command, "demo-data", verbosity=0)
        return {"city": str(city), "citizens": imported, "batches": batches, "logins": logins,
                "password": credentials["password"], "api_keys": credentials["api_keys"]}

    def render(self, result: dict) -> None:
        self.stdout.write(f"城市 city: {result['city']}; 新批次 batches ingested: {result['batches']}")
        self.stdout.write(f"演示账号 demo logins (password for all: {result['password']}):")
        for role, username in result["logins"]:
            self.stdout.write(f"  {role:<12} {username}")
        self.stdout.write("数据方 API keys: " + ", ".join(f"{c}={k}" for c, k in result["api_keys"].items()))
        self.stdout.write("Site: http://127.0.0.1:8000/   admin: http://127.0.0.1:8000/admin/")

    def _credentials(self) -> dict:
        path = Path(settings.HOME) / "demo-credentials.json"
        if path.exists():
            return json.loads(path.read_text())
        return {"password": f"demo-{secrets.token_urlsafe(6)}", "api_keys": {}}

    def _save(self, credentials: dict) -> None:
        path = Path(settings.HOME) / "demo-credentials.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(credentials, f, ensure_ascii=False, indent=1)

    def _ingest(self, city: Path, manifest: dict) -> int:
        """Ingests each day's file once, in date order (caps and 7-day windows read earlier days)."""
        done = set(Batch.objects.filter(status=Batch.Status.DONE).values_list("provider__code", "filename"))
        todo = [entry for entry in sorted(manifest["behaviour"], key=lambda e: (e["date"], e["scenario"]))
                if (entry["provider"], Path(entry["csv"]).name) not in done]
        with self.progress(len(todo), "ingest", unit="file") as bar:
            for entry in todo:
                ingest_file(city / entry["csv"], entry["scenario"], entry["provider"])
                bar.update(1)
        return len(todo)

    def _logins(self, city: Path, password: str) -> list[tuple[str, str]]:
        logins = []
        for username, role, kind, org_name in STAFF:
            organisation = Organisation.objects.get_or_create(kind=kind, name=org_name)[0]
            logins.append((str(role.label), self._staff(username, role, organisation, password)))
        for provider in Provider.objects.order_by("code"):
            logins.append((str(User.Role.PROVIDER.label),
                           self._staff(f"{provider.code}_staff", User.Role.PROVIDER, provider.organisation, password)))
        with (city / "citizens.csv").open(encoding="utf-8") as f:
            phones = [row["phone"] for row in csv.DictReader(f)]
        for phone in phones:
            citizen = find_citizen_by_phone(phone)
            if citizen and citizen.is_active and citizen.bindings.exists():
                citizen.user.set_password(password)
                citizen.user.save(update_fields=["password"])
                logins.append((str(User.Role.CITIZEN.label), phone))
                if len(logins) == len(STAFF) + Provider.objects.count() + DEMO_CITIZENS:
                    break
        return logins

    def _staff(self, username: str, role: str, organisation, password: str) -> str:
        user, created = User.objects.get_or_create(username=username, defaults={"role": role,
                                                                                "organisation": organisation})
        if created:
            user.is_staff = role == User.Role.ADMIN
            user.is_superuser = role == User.Role.ADMIN
            user.set_password(password)
            user.save()
        return username
