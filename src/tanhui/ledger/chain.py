"""Hashes of the ledger: one chain per partition, and the root over every chain head.

A transfer's hash commits to the previous hash of its partition and to every field that carries
meaning, so changing any stored value, or removing or reordering a transfer, breaks the chain
there. Times enter as integer microseconds since the epoch, so the hash does not depend on how a
database stores them; fields are joined by the ASCII unit separator, which text fields may not hold.
"""

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

GENESIS = "0" * 64  # the "previous hash" of a partition's first transfer
SEPARATOR = "\x1f"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def microseconds(moment: datetime | None) -> int | str:
    return "" if moment is None else (moment - EPOCH) // MICROSECOND


def as_utc(value: datetime | str | None) -> datetime | None:
    """A time read by raw SQL: SQLite gives naive UTC (or text, from expressions)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def transfer_hash(prev: str, transfer_id: int, partition: int, key: str, part: int, kind: str,
                  scenario: str | None, ref_type: str | None, ref_id: str | None, memo: str, created_us: int,
                  debit: int, credit: int, points: int, mg_co2e: int, reverses: int | None, settles: int | None,
                  expires_us: int | str) -> str:
    return chain_hash(prev, transfer_id, partition, key, part, transaction_text(kind, scenario, ref_type, ref_id, memo,
                                                                                created_us),
                      debit, credit, points, mg_co2e, links_text(reverses, settles, expires_us))


# `transfer_hash` in three steps, for posting: the fields all parts of a transaction share, and its
# links, are encoded once per transaction, not once per transfer.

def transaction_text(kind: str, scenario: str | None, ref_type: str | None, ref_id: str | None, memo: str,
                     created_us: int) -> str:
    return f"{kind}\x1f{scenario or ''}\x1f{ref_type or ''}\x1f{ref_id or ''}\x1f{memo}\x1f{created_us}"


def links_text(reverses: int | None, settles: int | None, expires_us: int | str) -> str:
    return f"{reverses or ''}\x1f{settles or ''}\x1f{expires_us}"


def chain_hash(prev: str, transfer_id: int, partition: int, key: str, part: int, shared: str, debit: int, credit: int,
               points: int, mg_co2e: int, links: str) -> str:
    return hashlib.sha256(f"{prev}\x1f{transfer_id}\x1f{partition}\x1f{key}\x1f{part}\x1f{shared}\x1f{debit}\x1f"
                          f"{credit}\x1f{points}\x1f{mg_co2e}\x1f{links}".encode()).hexdigest()


def root_hash(heads: Iterable[tuple[int, int, str]]) -> str:
    """SHA-256 over the lines `partition:length:head`, in partition order."""
    text = "\n".join(f"{p}:{length}:{head}" for p, length, head in sorted(heads))
    return hashlib.sha256(text.encode()).hexdigest()
