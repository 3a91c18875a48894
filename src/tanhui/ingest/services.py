"""The write path of ingestion: providers, their credentials, and batches received through the API
(judging a batch is `pipeline`)."""

import json
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError
from tanhui.ingest.models import Batch, Provider, RejectedRecord, hash_api_key
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


def upload_dir(batch) -> Path:
    path = Path(settings.HOME) / "uploads" / batch.provider.code / str(batch.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_batch(provider: Provider, key: str, scenario_code: str) -> tuple[Batch, bool]:
    """Creates the batch for a provider-chosen key, or returns the existing one (idempotent)."""
    from tanhui.ingest.pipeline import create_batch

    existing = Batch.objects.filter(provider=provider, key=key).select_related("scenario").first()
    if existing:
        if existing.scenario.code != scenario_code:
            raise Conflict("batch_key_conflict", f"batch {key!r} exists for scenario {existing.scenario.code}")
        return existing, False
    try:
        with transaction.atomic():
            return create_batch(provider, scenario_code, Batch.Source.RECORDS, key=key), True
    except IntegrityError:  # the same key opened concurrently
        return open_batch(provider, key, scenario_code)


def _receiving(batch: Batch) -> None:
    if batch.status != Batch.Status.RECEIVING:
        raise Conflict("batch_closed", f"batch {batch.key!r} is {batch.status}; open a new batch key")


def store_chunk(batch: Batch, number: int, records: list[dict]) -> int:
    """Stores chunk `number` of a batch; sending the same chunk number again replaces it."""
    _receiving(batch)
    path = upload_dir(batch) / f"chunk-{number:06d}.jsonl"
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return len(records)


def store_upload(batch: Batch, filename: str, chunks) -> None:
    """Stores an uploaded file (CSV, JSON Lines or Parquet by extension) as the batch's content."""
    from tanhui.ingest.pipeline import SUPPORTED_SUFFIXES

    _receiving(batch)
    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DomainError("unsupported_file", "use .csv, .jsonl or .parquet")
    directory = upload_dir(batch)
    for old in directory.iterdir():
        old.unlink()
    with (directory / f"upload{suffix}").open("wb") as f:
        for chunk in chunks:
            f.write(chunk)
    Batch.objects.filter(pk=batch.pk).update(source=Batch.Source.UPLOAD, filename=filename[:300])


def close_batch(batch: Batch) -> Batch:
    """Queues the batch for the worker; closing twice is harmless."""
    if batch.status == Batch.Status.RECEIVING:
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.RECEIVING).update(status=Batch.Status.QUEUED)
        batch.refresh_from_db()
    return batch


def batch_files(batch: Batch) -> list[Path]:
    return sorted(p for p in upload_dir(batch).iterdir() if p.suffix != ".part")


def claim_next_batch() -> Batch | None:
    """Takes the oldest queued batch; a compare-and-set on the status lets several workers run."""
    for batch in Batch.objects.filter(status=Batch.Status.QUEUED).order_by("id")[:10]:
        if Batch.objects.filter(pk=batch.pk, status=Batch.Status.QUEUED).update(
                status=Batch.Status.PROCESSING, started_at=timezone.now()):
            return Batch.objects.select_related("provider", "scenario").get(pk=batch.pk)
    return None


def requeue_interrupted(older_than: timedelta) -> int:
    """Batches left `processing` by a killed worker committed nothing, so they can run again."""
    return Batch.objects.filter(status=Batch.Status.PROCESSING, source__in=[Batch.Source.UPLOAD, Batch.Source.RECORDS],
                                started_at__lt=timezone.now() - older_than).update(status=Batch.Status.QUEUED)


def purge_expired_rejects() -> int:
    return RejectedRecord.objects.filter(purge_after__lt=timezone.now()).delete()[0]
