"""The write path of ingestion: providers and their credentials (batches are in `pipeline`)."""

from django.db import transaction

from tanhui.core.errors import Conflict, DomainError
from tanhui.ingest.models import Provider, hash_api_key
from tanhui.methodology.models import Scenario
from tanhui.people.models import Organisation


@transaction.atomic
def add_provider(code: str, name: str, scenario_codes: list[str]) -> tuple[Provider, str]:
    """Registers a provider for the given scenarios; returns it with its API key (shown once)."""
    if Provider.objects.filter(code=code).exists():
        raise Conflict("provider_exists", f"provider {code!r} already exists")
    scenarios = list(Scenario.objects.filter(code__in=scenario_codes))
    unknown = sorted(set(scenario_codes) - {s.code for s in scenarios})
    if unknown or not scenario_codes:
        raise DomainError("unknown_scenario", f"unknown scenario(s): {', '.join(unknown) or '(none given)'}")
    organisation, _ = Organisation.objects.get_or_create(kind=Organisation.Kind.PROVIDER, name=name)
    provider = Provider(code=code, name=name, organisation=organisation)
    key = provider.set_new_api_key()
    provider.save()
    provider.scenarios.set(scenarios)
    return provider, key


def rotate_api_key(provider: Provider) -> str:
    """Issues a new key; the old one stops working at once."""
    key = provider.set_new_api_key()
    provider.save(update_fields=["api_key_hash", "api_key_prefix", "api_key_rotated_at"])
    return key


def provider_for_key(key: str) -> Provider | None:
    return Provider.objects.filter(api_key_hash=hash_api_key(key), active=True).first()
