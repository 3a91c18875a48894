"""Auditing the ledger: `verify` recomputes everything from the stored rows; roots are exported.

verify checks, in one consistent snapshot:
- every transfer's hash against its stored fields and the stored hash before it in its partition
  (so the first altered transfer is named, not everything after it), and the parts of every
  transaction (same key, consecutive parts);
- every chain head (length and hash) against the last transfer of its partition;
- every root — those stored in the database and any root files given — against the stored hash at
  that chain position, and each root hash against its heads;
- every account balance against the sum of its transfers, and the totals of each asset (zero:
  every transfer takes what it gives); links (reverses, settles) to transfers that exist.
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tanhui.core.timeutil import local_date
from tanhui.ledger.chain import GENESIS, as_utc, microseconds, root_hash, transfer_hash
from tanhui.ledger.models import Chain, Root

MAX_PROBLEMS = 20


@dataclass
class Report:
    transfers: int = 0
    accounts: int = 0
    partitions: int = 0
    roots: int = 0
    problems: list[str] = field(default_factory=list)  # the first MAX_PROBLEMS, in ledger order
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def as_dict(self) -> dict:
        return {"ok": self.ok, **asdict(self)}


@contextmanager
def _snapshot():
    """One consistent view of the whole ledger while postings go on."""
    if connection.in_atomic_block:
        yield
    elif connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    else:
        # Django begins SQLite transactions IMMEDIATE, which would stop writers for the whole
        # check; a deferred read transaction sees one WAL snapshot without blocking them.
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
            try:
                yield
            finally:
                cursor.execute("COMMIT")


def verify(root_files: list[dict] = ()) -> Report:
    """Recomputes every chain and balance; also checks the roots stored and `root_files`
    (parsed root files: {"root", "heads": [[partition, length, head], …]})."""
    report = Report()
    with _snapshot():
        roots = [(f"the root of {r.created_at:%Y-%m-%d %H:%M:%S}", {"root": r.root, "heads": r.heads})
                 for r in Root.objects.order_by("created_at")]
        roots += [(f"root file {i}", data) for i, data in enumerate(root_files, start=1)]
        report.roots = len(roots)
        checkpoints = _checkpoints(roots, report)
        heads = _walk(report, checkpoints)
        report.partitions = len(heads)
        for (partition, length), kept in sorted(checkpoints.items()):
            if length > heads.get(partition, (0,))[0]:
                for label, _ in kept:
                    report.problem(f"{label}: partition {partition} had {length} transfers, it has fewer now — "
                                   f"history was removed")
        for partition, length, head in Chain.objects.values_list("partition", "length", "head"):
            if (length, head) != heads.pop(partition, (0, GENESIS)):
                report.problem(f"chain {partition}: its head ({length} transfers, {head[:12]}…) is not the "
                               f"end of its transfers")
        for partition in heads:
            report.problem(f"chain {partition}: its head row is missing")
        _check_balances(report)
        _check_links(report)
    return report


def _checkpoints(roots: list[tuple[str, dict]], report: Report) -> dict[tuple[int, int], list]:
    """{(partition, length): [(label, head), …]} from the roots; a root that is not the hash of
    its own heads is a problem already."""
    checkpoints = defaultdict(list)
    for label, data in roots:
        heads = [tuple(head) for head in data["heads"]]
        if root_hash(heads) != data["root"]:
            report.problem(f"{label}: {data['root'][:12]}… is not the hash of its heads")
        for partition, length, head in heads:
            checkpoints[(partition, length)].append((label, head))
    return checkpoints


def _walk(report: Report, checkpoints: dict) -> dict[int, tuple[int, str]]:
    """Recomputes the hash of every transfer in id order (ids rise along every chain); returns
    {partition: (length, head)}."""
    heads: dict[int, tuple[int, str]] = {}
    last_part: dict[int, tuple[str, int]] = {}  # partition → (key, part) of its last transfer
    for row in _rows("""SELECT id, partition, idempotency_key, part, kind, scenario, ref_type, ref_id, memo, created_at,
                               debit_id, credit_id, points, mg_co2e, reverses_id, settles_id, expires_at, hash
                          FROM ledger_transfer ORDER BY id"""):
        (transfer_id, partition, key, part, kind, scenario, ref_type, ref_id, memo, created_at, debit, credit, points,
         mg, reverses, settles, expires_at, stored) = row
        report.transfers += 1
        length, prev = heads.get(partition, (0, GENESIS))
        length += 1
        expected = transfer_hash(prev, transfer_id, partition, key, part, kind, scenario, ref_type, ref_id, memo,
                                 microseconds(as_utc(created_at)), debit, credit, points, mg, reverses, settles,
                                 microseconds(as_utc(expires_at)))
        if expected != stored:
            report.problem(f"{_where(row, length)}: its contents do not match its hash — it was altered")
        if part and last_part.get(partition) != (key, part - 1):
            report.problem(f"{_where(row, length)}: part {part} does not follow part {part - 1} of its transaction")
        for label, head in checkpoints.get((partition, length), ()):
            if head != stored:
                report.problem(f"{_where(row, length)}: differs from {label} — history was rewritten")
        heads[partition] = (length, stored)
        last_part[partition] = (key, part)
    return heads


def _where(row: tuple, length: int) -> str:
    return f"transfer #{row[0]} (partition {row[1]}, position {length}, key {row[2]!r})"


SUMS = """SELECT account_id, sum(points), sum(mg_co2e)
           FROM (SELECT credit_id AS account_id, points, mg_co2e FROM ledger_transfer
                 UNION ALL
                 SELECT debit_id, -points, -mg_co2e FROM ledger_transfer) legs
          GROUP BY account_id ORDER BY account_id"""


def _check_balances(report: Report) -> None:
    """Every balance against the sum of its account's transfers (two streams in account order,
    merged), and the totals against zero."""
    sums = _rows(SUMS)
    expected = next(sums, None)
    totals = [0, 0]
    for account_id, points, mg in _rows("SELECT id, points, mg_co2e FROM ledger_balance ORDER BY id"):
        report.accounts += 1
        totals[0] += points
        totals[1] += mg
        while expected is not None and expected[0] < account_id:
            report.problem(f"account #{expected[0]}: has transfers but no balance row")
            expected = next(sums, None)
        made = (0, 0)
        if expected is not None and expected[0] == account_id:
            made, expected = expected[1:], next(sums, None)
        if (points, mg) != made:
            report.problem(f"account #{account_id}: its balance is {points} points, {mg} mg; its transfers make "
                           f"{made[0]} points, {made[1]} mg")
    while expected is not None:
        report.problem(f"account #{expected[0]}: has transfers but no balance row")
        expected = next(sums, None)
    if totals != [0, 0]:
        report.problem(f"the balances sum to {totals[0]} points and {totals[1]} mg instead of zero")


def _rows(sql: str) -> Iterator[tuple]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(10_000):
            yield from rows


def _check_links(report: Report) -> None:
    with connection.cursor() as cursor:
        for link in ("reverses_id", "settles_id"):
            cursor.execute(f"""SELECT t.id FROM ledger_transfer t LEFT JOIN ledger_transfer o ON o.id = t.{link}
                                WHERE t.{link} IS NOT NULL AND (o.id IS NULL OR o.part <> 0)
                                ORDER BY t.id""")  # noqa: S608 - two fixed column names
            for (transfer_id,) in cursor.fetchall():
                report.problem(f"transfer #{transfer_id}: its {link[:-3]} link names no transaction")


def export_root(out: Path | None = None, now: datetime | None = None) -> dict:
    """Hashes the current chain heads, stores the root and writes it to `out` (by default
    TANHUI_HOME/roots/<local date>.json, replaced by a later root of the same day)."""
    now = now or timezone.now()
    heads = [list(h) for h in Chain.objects.filter(length__gt=0).order_by("partition")
             .values_list("partition", "length", "head")]
    root = Root.objects.create(created_at=now, day=local_date(now), root=root_hash(heads), heads=heads,
                               transfers=sum(length for _, length, _ in heads))
    path = out or Path(settings.HOME) / "roots" / f"{root.day}.json"
    document = root_document(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    return {**{k: v for k, v in document.items() if k != "heads"}, "partitions": len(heads), "path": str(path)}


def root_document(root: Root) -> dict:
    """A root as published (file, API, page)."""
    return {"day": root.day.isoformat(), "created_at": root.created_at.isoformat(), "root": root.root,
            "transfers": root.transfers, "heads": root.heads,
            "algorithm": "sha256 over the lines 'partition:length:head', in partition order"}


def latest_roots(limit: int = 30) -> list[dict]:
    return [root_document(r) for r in Root.objects.order_by("-created_at")[:limit]]


def app_verifier_problems() -> list[str]:
    """Problems found by the audit checks other apps declare as `ledger_verifiers` on their AppConfig
    (dotted paths of callables returning a list of problems), so one `tanhui ledger verify` covers
    every hash-chained log of the platform."""
    from django.apps import apps
    from django.utils.module_loading import import_string

    return [problem for config in apps.get_app_configs() for path in getattr(config, "ledger_verifiers", ())
            for problem in import_string(path)()]
