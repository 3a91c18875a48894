"""Provider API: batches under a provider-chosen key, sent as record chunks or one uploaded file,
processed in the background by `tanhui worker`. A key acts only for its own provider: another
provider's batches are simply not found. A key limited to some scenarios sees all its provider's
batches but opens and fills only batches of those scenarios (403 `forbidden`)."""

import csv
import io
from typing import Annotated

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from tanhui.core.errors import DomainError
from tanhui.ingest import services
from tanhui.ingest.auth import ProviderKey
from tanhui.ingest.models import Batch
from tanhui.methodology.engines import RECORD_FIELDS

router = Router(tags=["provider"], auth=ProviderKey())

MAX_CHUNK_RECORDS = 50_000


class BatchIn(Schema):
    key: str
    scenario: str


class ChunkIn(Schema):
    records: list[dict]


class ChunkOut(Schema):
    chunk: int
    records: int


class ProviderBatchOut(Schema):
    key: str | None
    batch_id: int
    scenario: str
    status: str
    error: str
    summary: dict | None


def _out(batch: Batch) -> ProviderBatchOut:
    return ProviderBatchOut(key=batch.key, batch_id=batch.pk, scenario=batch.scenario.code, status=batch.status,
                            error=batch.error, summary=batch.summary() if batch.status == Batch.Status.DONE else None)


def _batch(request, key: str) -> Batch:
    return get_object_or_404(Batch.objects.select_related("scenario", "provider"), provider=request.auth.provider,
                             key=key)


def _batch_to_send(request, key: str) -> Batch:
    batch = _batch(request, key)
    services.require_scope(request.auth, batch.scenario.code)
    return batch


@router.post("/batches", response={200: ProviderBatchOut, 201: ProviderBatchOut})
def open_batch(request, payload: BatchIn):
    """Opens a batch (re-sending the same key returns the existing batch)."""
    batch, created = services.open_batch(request.auth, payload.key, payload.scenario)
    return Status(201 if created else 200, _out(batch))


@router.get("/batches", response=list[ProviderBatchOut])
def list_batches(request, limit: Annotated[int, Field(ge=1, le=500)] = 50):
    return [_out(b) for b in Batch.objects.filter(provider=request.auth.provider).select_related("scenario")[:limit]]


@router.get("/batches/{key}", response=ProviderBatchOut)
def get_batch(request, key: str):
    return _out(_batch(request, key))


@router.put("/batches/{key}/chunks/{number}", response=ChunkOut)
def put_chunk(request, key: str, number: int, payload: ChunkIn):
    """Stores one chunk of records (JSON objects in the scenario's record schema). Chunks are
    processed in chunk-number order; re-sending a chunk number replaces it."""
    if not 1 <= number <= 999_999 or len(payload.records) > MAX_CHUNK_RECORDS:
        raise DomainError("invalid_chunk", f"chunk number 1–999999 with at most {MAX_CHUNK_RECORDS} records")
    return ChunkOut(chunk=number, records=services.store_chunk(_batch_to_send(request, key), number, payload.records))


@router.post("/batches/{key}/file", response=ProviderBatchOut)
def upload_file(request, key: str, file: File[UploadedFile]):
    batch = _batch_to_send(request, key)
    services.store_upload(batch, file.name or "upload.csv", file.chunks())
    return _out(batch)


@router.post("/batches/{key}/close", response=ProviderBatchOut)
def close_batch(request, key: str):
    """No more data for this batch: queue it for processing."""
    return _out(services.close_batch(_batch_to_send(request, key)))


@router.get("/batches/{key}/rejects.csv")
def rejects_csv(request, key: str):
    """Rejected records with their reason and, where kept, the record as sent."""
    batch = _batch(request, key)
    return rejects_response(batch)


def rejects_response(batch: Batch) -> HttpResponse:
    fields = RECORD_FIELDS[batch.scenario.kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "reason", *fields])
    for reject in batch.rejects.order_by("seq").iterator():
        raw = reject.raw or {}
        writer.writerow([reject.seq + 1, reject.reason,
                         *[raw.get(f, reject.record_id if f == "record_id" else "") for f in fields]])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-rejects.csv"'
    return response
