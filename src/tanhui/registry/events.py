"""The registry's event log: one hash chain over every change, like the ledger's partitions.

An event's hash commits to the previous event's hash, its position, time (integer microseconds),
kind, actor, subject and data (canonical JSON: sorted keys, no spaces, integers and text only), so
altering, removing or reordering an event breaks the chain at that event. Writers lock the chain
head first (`lock`), which also serialises every registry change.
"""

import hashlib
import json
from datetime import datetime

from django.db import connection

from tanhui.ledger.chain import GENESIS, microseconds
from tanhui.registry.models import Event, EventChain


def canonical(data: dict) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(prev: str, seq: int, at_us: int, kind: str, actor_id: int | None, subject: str, data: dict) -> str:
    text = "\x1f".join([prev, str(seq), str(at_us), kind, str(actor_id or ""), subject, canonical(data)])
    return hashlib.sha256(text.encode()).hexdigest()


def lock() -> EventChain:
    """The chain head, locked until the end of the caller's transaction (SQLite: the write lock the
    IMMEDIATE transaction already holds)."""
    rows = EventChain.objects.select_for_update() if connection.vendor == "postgresql" else EventChain.objects
    head = rows.filter(pk=1).first()
    if head is None:
        EventChain.objects.bulk_create([EventChain(pk=1, length=0, head=GENESIS)], ignore_conflicts=True)
        head = rows.get(pk=1)
    return head


def append(head: EventChain, kind: str, subject: str, data: dict, *, actor=None, at: datetime) -> Event:
    """Appends one event after `head` (from `lock()`, same transaction) and moves the head."""
    seq = head.length + 1
    actor_id = getattr(actor, "pk", None)
    digest = event_hash(head.head, seq, microseconds(at), kind, actor_id, subject, data)
    event = Event.objects.create(seq=seq, at=at, kind=kind, actor_id=actor_id, subject=subject, data=data,
                                 hash=digest)
    head.length, head.head = seq, digest
    head.save(update_fields=["length", "head"])
    return event
