"""The write path of ingestion: providers, their credentials, and batches received through the API
(judging a batch is `pipeline`)."""

import errno
import fcntl
import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.validators import slug_re
from django.db import IntegrityError, transaction
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError, NotAllowed
from tanhui.ingest.models import ApiKey, Batch, Provider, RejectedRecord, hash_api_key
from tanhui.methodology.models import Scenario
from tanhui.people.models import Organisation

DEFAULT_KEY = "default"
LAST_USED_PRECISION = timedelta(minutes=1)


@transaction.atomic
def add_provider(code: str, name: str, scenario_codes: list[str]) -> tuple[Provider, str]:
    """Registers a provider for the given scenarios; returns it with its `default` API key (shown once),
    which may send all of them."""
    if Provider.objects.filter(code=code).exists():
        raise Conflict("provider_exists", f"provider {code!r} already exists")
    scenarios = list(Scenario.objects.filter(code__in=scenario_codes))
    unknown = sorted(set(scenario_codes) - {s.code for s in scenarios})
    if unknown or not scenario_codes:
        raise DomainError("unknown_scenario", f"unknown scenario(s): {', '.join(unknown) or '(none given)'}")
    organisation, _ = Organisation.objects.get_or_create(kind=Organisation.Kind.PROVIDER, name=name)
    provider = Provider.objects.create(code=code, name=name, organisation=organisation)
    provider.scenarios.set(scenarios)
    _, key = issue_api_key(provider, DEFAULT_KEY)
    return provider, key


@transaction.atomic
def issue_api_key(provider: Provider, name: str, scenario_codes: Sequence[str] = ()) -> tuple[ApiKey, str]:
    """A new named key limited to `scenario_codes` (none: all the provider's scenarios); returns it with
    the plain key, shown once."""
    if not (slug_re.match(name) and len(name) <= 50):
        raise DomainError("invalid_key_name", "a key name is up to 50 letters, digits, - and _")
    if provider.api_keys.filter(name=name, revoked_at__isnull=True).exists():
        raise Conflict("key_exists", f"provider {provider.code} already has a key named {name!r}")
    scenarios = list(provider.scenarios.filter(code__in=scenario_codes))
    outside = sorted(set(scenario_codes) - {s.code for s in scenarios})
    if outside:
        raise DomainError("scenario_not_allowed",
                          f"provider {provider.code} is not registered for {', '.join(outside)}")
    api_key = ApiKey(provider=provider, name=name)
    plain = api_key.set_secret()
    try:
        with transaction.atomic():
            api_key.save()
    except IntegrityError as exc:  # the same name issued concurrently
        raise Conflict("key_exists", f"provider {provider.code} already has a key named {name!r}") from exc
    api_key.scenarios.set(scenarios)
    return api_key, plain


def revoke_api_key(api_key: ApiKey) -> None:
    """The key stops working at once; revoking twice keeps the first time. Saved (not updated in bulk) so
    that `post_save` receivers, such as the audit log's, see it."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


@transaction.atomic
def rotate_api_key(api_key: ApiKey) -> tuple[ApiKey, str]:
    """Revokes the key and issues its successor with the same name and scenarios; the old key stops
    working at once."""
    current = ApiKey.objects.select_for_update().select_related("provider").get(pk=api_key.pk)
    if current.revoked_at is not None:
        raise Conflict("key_revoked", f"key {current.name!r} is revoked (rotated already?); issue a new one")
    revoke_api_key(current)
    return issue_api_key(current.provider, current.name, current.scenario_codes())


def live_api_key(provider: Provider, name: str = DEFAULT_KEY) -> ApiKey:
    key = provider.api_keys.filter(name=name, revoked_at__isnull=True).first()
    if key is None:
        raise DomainError("unknown_key", f"provider {provider.code} has no key named {name!r}", status=404)
    return key


def api_key_for(plain: str) -> ApiKey | None:
    """The live key of an active provider that `plain` is, noting when it was last used (to the minute,
    so a busy client does not write on every request)."""
    api_key = (ApiKey.objects.select_related("provider").prefetch_related("scenarios")
               .filter(key_hash=hash_api_key(plain), revoked_at__isnull=True, provider__active=True).first())
    now = timezone.now()
    if api_key and (api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_PRECISION):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def require_scope(api_key: ApiKey, scenario_code: str) -> None:
    """A key limited to some scenarios may open and fill batches for those only."""
    allowed = api_key.scenario_codes()
    if allowed and scenario_code not in allowed:
        raise NotAllowed("forbidden", f"API key {api_key.name!r} may not send {scenario_code!r} records "
                                      f"(it is limited to {', '.join(allowed)})")


def upload_dir(batch) -> Path:
    path = Path(settings.HOME) / "uploads" / batch.provider.code / str(batch.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_batch(api_key: ApiKey, key: str, scenario_code: str) -> tuple[Batch, bool]:
    """Creates the batch for a provider-chosen key, or returns the existing one (idempotent)."""
    from tanhui.ingest.pipeline import create_batch

    require_scope(api_key, scenario_code)
    provider = api_key.provider
    existing = Batch.objects.filter(provider=provider, key=key).select_related("scenario").first()
    if existing:
        if existing.scenario.code != scenario_code:
            raise Conflict("batch_key_conflict", f"batch {key!r} exists for scenario {existing.scenario.code}")
        return existing, False
    try:
        with transaction.atomic():
            return create_batch(provider, scenario_code, Batch.Source.RECORDS, key=key), True
    except IntegrityError:  # the same key opened concurrently
        return open_batch(api_key, key, scenario_code)


def _receiving(batch: Batch) -> None:
    if batch.status != Batch.Status.RECEIVING:
        raise Conflict("batch_closed", f"batch {batch.key!r} is {batch.status}; open a new batch key")


def store_chunk(batch: Batch, number: int, records: list[dict]) -> int:
    """Stores chunk `number` of a batch; sending the same chunk number again replaces it."""
    _receiving(batch)
    _store_whole(upload_dir(batch) / f"chunk-{number:06d}.jsonl",
                 ((json.dumps(record, ensure_ascii=False) + "\n").encode() for record in records))
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
    _store_whole(directory / f"upload{suffix}", chunks)
    Batch.objects.filter(pk=batch.pk).update(source=Batch.Source.UPLOAD, filename=filename[:300])


def _store_whole(path: Path, chunks) -> None:
    """Writes through a `.part` file renamed at the end, so the file is there whole or not at all; a full
    disk is a clear error and leaves nothing behind."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
        part.replace(path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise DomainError("storage_full", "no space left to store the upload; send it again later",
                              status=507) from exc
        raise


def close_batch(batch: Batch) -> Batch:
    """Queues the batch for the worker; closing twice is harmless."""
    if batch.status == Batch.Status.RECEIVING:
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.RECEIVING).update(status=Batch.Status.QUEUED)
        batch.refresh_from_db()
    return batch


def batch_files(batch: Batch) -> list[Path]:
    return sorted(p for p in upload_dir(batch).iterdir() if p.suffix != ".part")


def _try_lock(batch_id: int):
    """The batch's lock file, locked exclusively — or None if another process holds it. A worker holds it
    while it processes the batch; the operating system releases it when the worker dies, however it dies."""
    path = Path(settings.HOME) / "uploads" / ".locks" / f"{batch_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def claim_next_batch() -> Batch | None:
    """Takes the oldest queued batch, locked (`release_batch` lets it go); the lock and a compare-and-set
    on the status let several workers run."""
    for batch in Batch.objects.filter(status=Batch.Status.QUEUED).order_by("id")[:10]:
        if (lock := _try_lock(batch.pk)) is None:
            continue
        if Batch.objects.filter(pk=batch.pk, status=Batch.Status.QUEUED).update(
                status=Batch.Status.PROCESSING, started_at=timezone.now()):
            claimed = Batch.objects.select_related("provider", "scenario").get(pk=batch.pk)
            claimed.lock = lock
            return claimed
        lock.close()
    return None


def release_batch(batch: Batch) -> None:
    """After processing (the batch is done or failed for good): its lock file goes, and the lock with it."""
    Path(batch.lock.name).unlink(missing_ok=True)
    batch.lock.close()


def requeue_interrupted() -> int:
    """Batches left `processing` by a worker that died — nobody holds their lock — committed nothing, so
    they run again."""
    requeued = 0
    for pk in Batch.objects.filter(status=Batch.Status.PROCESSING, source__in=[Batch.Source.UPLOAD,
                                                                               Batch.Source.RECORDS]).values_list(
            "pk", flat=True):
        if lock := _try_lock(pk):
            with lock:
                requeued += Batch.objects.filter(pk=pk, status=Batch.Status.PROCESSING).update(
                    status=Batch.Status.QUEUED)
    return requeued


def purge_expired_rejects() -> int:
    return RejectedRecord.objects.filter(purge_after__lt=timezone.now()).delete()[0]
