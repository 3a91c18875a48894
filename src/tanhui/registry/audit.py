"""Auditing the registry: the event chain, and the registry's state replayed from it.

`verify_event_chain` recomputes every event's hash from its stored fields and the stored hash
before it (naming the first altered event) and checks the chain head. `verify` adds the state:
- serial blocks: replaying issuances, transfers and retirements from the events must give exactly
  the blocks stored (owner and retirement of every serial); the blocks of a request run 1..its
  issued tonnes without gap or overlap; a retirement's blocks add up to its tonnes;
- requests: the ids of the gathered reductions (or project entries) must hash to the digest the
  `request.prepared` event recorded (nothing, once rejected).
Both return a list of problems (empty when everything checks out), the first MAX_PROBLEMS.
"""

import hashlib
from collections import defaultdict

from django.db.models import Count, Sum

from tanhui.ledger.audit import _snapshot
from tanhui.ledger.chain import GENESIS, microseconds
from tanhui.registry import gather
from tanhui.registry.events import event_hash
from tanhui.registry.models import Event, EventChain, IssuanceRequest, Retirement, SerialBlock

MAX_PROBLEMS = 20
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


def verify_event_chain() -> list[str]:
    problems: list[str] = []
    prev, length = GENESIS, 0
    rows = Event.objects.order_by("seq").values_list("seq", "at", "kind", "actor_id", "subject", "data", "hash")
    for seq, at, kind, actor_id, subject, data, stored in rows.iterator(chunk_size=5000):
        length += 1
        where = f"registry event #{seq} ({kind} {subject})"
        if seq != length:
            problems.append(f"{where}: expected position {length} — an event is missing or was moved")
            length = seq
        if event_hash(prev, seq, microseconds(at), kind, actor_id, subject, data) != stored:
            problems.append(f"{where}: its contents do not match its hash — it was altered")
        prev = stored
    head = EventChain.objects.filter(pk=1).values_list("length", "head").first() or (0, GENESIS)
    if head != (length, prev):
        problems.append(f"registry chain head ({head[0]} events, {head[1][:12]}…) is not the end of its events")
    return problems[:MAX_PROBLEMS]


def verify() -> list[str]:
    """The chain and the state; the registry's part of `tanhui ledger verify`."""
    with _snapshot():
        problems = verify_event_chain()
        replay = Replay()
        for event in Event.objects.order_by("seq").iterator(chunk_size=5000):
            replay.apply(event)
        problems += replay.problems
        problems += _check_blocks(replay)
        problems += _check_requests(replay)
    return problems[:MAX_PROBLEMS]


class Replay:
    """Registry state rebuilt from the events alone: per request, intervals
    [first, last, account, retirement] in serial order; and each request's expected member digest."""

    def __init__(self):
        self.serials: dict[int, list[list]] = defaultdict(list)
        self.digests: dict[int, str] = {}
        self.problems: list[str] = []

    def apply(self, event: Event) -> None:
        data, number = event.data, _subject_id(event.subject)
        if event.kind == "request.prepared":
            self.digests[number] = data["items_digest"]
        elif event.kind == "request.rejected":
            self.digests[number] = EMPTY_DIGEST
        elif event.kind == "request.issued":
            self.serials[number] = [[data["first"], data["last"], data["account"], None]]
        elif event.kind == "credits.transferred":
            for request_id, first, last in data["ranges"]:
                self._assign(event, request_id, first, last, data["from"], (data["to"], None))
        elif event.kind == "credits.retired":
            for request_id, first, last in data["ranges"]:
                self._assign(event, request_id, first, last, data["account"], (data["account"], number))

    def _assign(self, event: Event, request_id: int, first: int, last: int, holder: int, new: tuple) -> None:
        intervals = _cut(_cut(self.serials[request_id], first), last + 1)
        covered = [i for i in intervals if first <= i[0] and i[1] <= last]
        if sum(i[1] - i[0] + 1 for i in covered) != last - first + 1 or any(
                (i[2], i[3]) != (holder, None) for i in covered):
            self.problems.append(f"registry event #{event.seq}: moves serials {request_id}:{first}-{last} that "
                                 f"account #{holder} did not hold as active credits")
        for interval in covered:
            interval[2], interval[3] = new
        self.serials[request_id] = intervals


def _subject_id(subject: str) -> int | None:
    _, _, number = subject.partition(":")
    return int(number) if number.isdigit() else None


def _cut(intervals: list[list], at: int) -> list[list]:
    """Splits the interval containing `at` so that one starts there."""
    out = []
    for first, last, account, retirement in intervals:
        if first < at <= last:
            out += [[first, at - 1, account, retirement], [at, last, account, retirement]]
        else:
            out.append([first, last, account, retirement])
    return out


def _merged(intervals) -> list[tuple]:
    """Adjacent intervals of the same holder and retirement as one: blocks may be split
    differently and still hold the same serials."""
    out: list[list] = []
    for first, last, account, retirement in sorted(intervals):
        if out and out[-1][1] + 1 == first and out[-1][2:] == [account, retirement]:
            out[-1][1] = last
        else:
            out.append([first, last, account, retirement])
    return [tuple(i) for i in out]


def _check_blocks(replay: Replay) -> list[str]:
    problems = []
    stored: dict[int, list] = defaultdict(list)
    for request_id, first, last, account, retirement in SerialBlock.objects.values_list(
            "request_id", "first", "last", "account_id", "retirement_id"):
        stored[request_id].append((first, last, account, retirement))
    issued = dict(IssuanceRequest.objects.filter(status=IssuanceRequest.Status.ISSUED)
                  .values_list("pk", "verified_tonnes"))
    for request_id in sorted(set(stored) | set(replay.serials) | set(issued)):
        blocks = sorted(stored.get(request_id, []))
        expected_next = 1
        for first, last, _, _ in blocks:
            if first != expected_next:
                kind = "overlap" if first < expected_next else "leave a gap"
                problems.append(f"request #{request_id}: serial blocks {kind} at serial {min(first, expected_next)}")
                break
            expected_next = last + 1
        if expected_next - 1 != issued.get(request_id, 0):
            problems.append(f"request #{request_id}: its blocks hold {expected_next - 1} serials, "
                            f"it issued {issued.get(request_id, 0)}")
        if _merged(blocks) != _merged(replay.serials.get(request_id, [])):
            problems.append(f"request #{request_id}: its serial blocks differ from what the events record")
    retired = dict(SerialBlock.objects.filter(retirement__isnull=False).values("retirement")
                   .annotate(t=Sum("last") - Sum("first") + Count("id")).values_list("retirement", "t"))
    for pk, tonnes in Retirement.objects.values_list("pk", "tonnes"):
        if retired.get(pk, 0) != tonnes:
            problems.append(f"retirement #{pk}: its blocks hold {retired.get(pk, 0)} t, it retired {tonnes} t")
    return problems


def _check_requests(replay: Replay) -> list[str]:
    problems = []
    for request in IssuanceRequest.objects.order_by("pk"):
        expected = replay.digests.get(request.pk)
        if expected is None:
            problems.append(f"request #{request.pk}: no event records its preparation")
        elif gather.members_digest(request) != expected:
            problems.append(f"request #{request.pk}: the records it holds differ from those recorded when it "
                            f"was prepared")
    return problems
