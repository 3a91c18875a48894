"""The ledger's only write path, and the reads other apps need.

Posting (`post_transactions` and the lifecycle functions built on it) runs per batch of specs,
each checked, and its legs paired into transfers, when it was made (`TxSpec`):
 1. repeated keys within the batch must carry the same body;
 2. lock the accounts in id order (PostgreSQL `FOR NO KEY UPDATE`; SQLite already holds its write
    lock), so batches touching the same accounts queue instead of deadlocking or losing updates;
 3. idempotency: a key already posted returns the original result if the body is the same and
    raises `idempotency_conflict` if not;
 4. check the balances (refusing the whole batch, before anything is written);
 5. lock the partitions' chain heads, hand out ids (so ids rise along every chain), hash, and insert
    the transfers in bulk (executemany / COPY). The database trigger moves the balances, and their
    CHECK refuses any overdraft — the guarantee behind step 4.

Everything refused is refused before anything is written, so a caller's transaction stays usable
after a `DomainError`. Posting joins the caller's `transaction.atomic()` without a savepoint (on
SQLite a savepoint makes every row of a bulk insert several times dearer); a database error halfway
marks that transaction for rollback.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from tanhui.core.bulk import insert_rows
from tanhui.core.errors import Conflict, DomainError
from tanhui.core.timeutil import SHANGHAI, local_date
from tanhui.ledger.chain import SEPARATOR, as_utc, chain_hash, links_text, microseconds, transaction_text
from tanhui.ledger.models import Account, Balance, Chain, Transfer
from tanhui.ledger.schema import ID_BLOCK
from tanhui.people.models import Citizen

POINTS = "points"
MG = "mg_co2e"
ASSETS = (POINTS, MG)
ASSET_INDEX = {POINTS: 0, MG: 1}
SHARDS = 16
MAX_KEY = 200  # callers' keys; derived ones ("reverse:…") use the rest of the column's 255
TEXT_LIMITS = (("scenario", 50), ("ref_type", 50), ("ref_id", 100), ("memo", 200))

DEFAULT_EXPIRE_DAYS = 1095  # three years
MAX_EXPIRE_DAYS = 3650  # Shenzhen's rules: at most ten years

Kind = Transfer.Kind
KINDS = frozenset(Kind.values)
AccountKind = Account.Kind
# Kinds any caller may post; the others belong to the lifecycle functions (reserve → post / void,
# expire, reverse), which link transactions to each other.
FREE_KINDS = frozenset({Kind.CREDIT, Kind.BONUS, Kind.SPEND, Kind.DONATE, Kind.TRANSFER})
IRREVERSIBLE = frozenset({Kind.RESERVE, Kind.POST, Kind.VOID, Kind.REVERSE})
SYSTEM_KINDS = {AccountKind.ISSUANCE: 1, AccountKind.BURNED: 2, AccountKind.EXPIRED: 3, AccountKind.HOLD: 4,
                AccountKind.REGISTRY: 5}
SHARDED = frozenset({AccountKind.ISSUANCE, AccountKind.BURNED, AccountKind.EXPIRED, AccountKind.HOLD})

COLUMNS = ("id", "idempotency_key", "part", "kind", "scenario", "ref_type", "ref_id", "memo", "created_at",
           "partition", "hash", "debit_id", "credit_id", "points", "mg_co2e", "reverses_id", "settles_id",
           "expires_at")


class Leg(NamedTuple):
    account_id: int
    asset: str  # "points" or "mg_co2e"
    amount: int  # positive: the account receives; negative: it gives


Moves = tuple[tuple[int, int, int, int], ...]  # (debit_id, credit_id, points, mg_co2e), sorted


@dataclass(frozen=True, slots=True)
class TxSpec:
    """A transaction to post. It is checked when it is made: a TxSpec that exists is valid, and
    knows the transfers (`moves`) its legs pair into and the partition whose chain it joins."""

    idempotency_key: str
    kind: str
    legs: tuple[Leg, ...]  # per asset they sum to zero; one leg per account and asset
    scenario: str | None = None
    ref_type: str | None = None
    ref_id: str | None = None
    memo: str = ""
    # Set only by the lifecycle functions below.
    reverses: int | None = None
    settles: int | None = None
    expires_at: datetime | None = None
    moves: Moves = field(init=False, repr=False, compare=False)
    partition: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        key = self.idempotency_key
        if type(key) is not str or not 0 < len(key) <= 255 or SEPARATOR in key:
            raise DomainError("invalid_key", "幂等键须为 1–255 个字符，不含控制字符")
        if self.kind not in KINDS:
            raise DomainError("invalid_kind", f"未知交易类型 {self.kind!r}")
        if type(self.kind) is not str:  # a Kind member: keep its plain value
            object.__setattr__(self, "kind", self.kind.value)
        for name, limit in TEXT_LIMITS:
            value = getattr(self, name)
            if value is not None and (type(value) is not str or len(value) > limit or SEPARATOR in value):
                raise DomainError("invalid_text", f"{name} 须为不超过 {limit} 个字符的文本")
        if self.kind == Kind.CREDIT and not self.scenario:
            raise DomainError("invalid_text", "减排积分须注明场景")
        moves = _moves(self.legs)
        object.__setattr__(self, "moves", moves)
        object.__setattr__(self, "partition", shard_of(max(max(debit, credit) for debit, credit, _, _ in moves)))

    def body(self) -> tuple:
        """What must match for a repeated idempotency key to be a replay."""
        return (self.kind, self.moves, self.scenario, self.ref_type, self.ref_id, self.memo, self.reverses,
                self.settles, self.expires_at)


class TxResult(NamedTuple):
    tx_id: int  # the id of the transaction's first transfer
    idempotency_key: str
    kind: str
    hash: str  # of its last transfer: it commits to the transaction and everything before it
    created_at: datetime
    replayed: bool = False  # the key had been posted before: nothing new was written


# Accounts --------------------------------------------------------------------------------------

def shard_of(account_id: int) -> int:
    return account_id % SHARDS


def system_account(kind: str, shard: int = 0) -> int:
    """The fixed (negative) id of a system account: specs name it without a query, and the row is
    created on first use."""
    if shard and kind not in SHARDED or not 0 <= shard < SHARDS:
        raise ValueError(f"no shard {shard} of {kind}")
    return -(100 * SYSTEM_KINDS[kind] + shard)


def _create_system_accounts() -> None:
    Account.objects.bulk_create([Account(id=system_account(kind, shard), kind=kind, shard=shard)
                                 for kind in SYSTEM_KINDS for shard in range(SHARDS if kind in SHARDED else 1)],
                                ignore_conflicts=True)


def citizen_accounts(citizen_ids: Iterable[int]) -> dict[int, int]:
    """Account id per citizen; missing accounts are created (in bulk, in citizen order)."""
    wanted = sorted(set(citizen_ids))
    found = _citizen_account_ids(wanted)
    missing = [c for c in wanted if c not in found]
    if missing:
        Account.objects.bulk_create([Account(kind=AccountKind.CITIZEN, citizen_id=c) for c in missing],
                                    ignore_conflicts=True, batch_size=5000)
        found.update(_citizen_account_ids(missing))
    return found


def _citizen_account_ids(citizen_ids: list[int]) -> dict[int, int]:
    if not citizen_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(*_select_in("citizen_id, ledger_account.id", "ledger_account", "citizen_id", citizen_ids))
        return dict(cursor.fetchall())


def account_of(citizen_id: int) -> int | None:
    return Account.objects.filter(citizen_id=citizen_id).values_list("id", flat=True).first()


def named_account(kind: str, code: str, *, organisation_id: int | None = None) -> int:
    """The account of a merchant, charity project or campaign budget, created on first use."""
    if kind not in (AccountKind.MERCHANT, AccountKind.CHARITY, AccountKind.CAMPAIGN) or not code:
        raise DomainError("invalid_account", "仅商家、公益项目与活动预算账户可按代码创建")
    account, _ = Account.objects.get_or_create(kind=kind, code=code, shard=0, citizen=None,
                                               defaults={"organisation_id": organisation_id})
    return account.pk


def balance(account_id: int) -> dict[str, int]:
    row = Balance.objects.filter(pk=account_id).values(*ASSETS).first()
    if row is None:
        raise DomainError("unknown_account", "账户不存在", status=404)
    return row


# Building specs --------------------------------------------------------------------------------

def mint_credit(citizen_account_id: int, points: int, mg: int, *, idempotency_key: str, scenario: str,
                ref_type: str | None, ref_id: str | None) -> TxSpec:
    """The standard credit: points and mg CO2e minted from the citizen's issuance shard."""
    if points < 0 or mg < 0 or points == mg == 0:
        raise DomainError("invalid_amount", "积分与减排量须为非负整数且不全为零")
    issuer = system_account(AccountKind.ISSUANCE, shard_of(citizen_account_id))
    legs = ((Leg(issuer, POINTS, -points), Leg(citizen_account_id, POINTS, points)) if points else ()) + (
        (Leg(issuer, MG, -mg), Leg(citizen_account_id, MG, mg)) if mg else ())
    return TxSpec(idempotency_key, Kind.CREDIT, legs, scenario=scenario, ref_type=ref_type, ref_id=ref_id)


def move_points(from_account_id: int, to_account_id: int, points: int, *, kind: str, idempotency_key: str,
                ref_type: str | None = None, ref_id: str | None = None, memo: str = "") -> TxSpec:
    legs = (Leg(from_account_id, POINTS, -points), Leg(to_account_id, POINTS, points))
    return TxSpec(idempotency_key, kind, legs, ref_type=ref_type, ref_id=ref_id, memo=memo)


def spend_points(account_id: int, points: int, *, idempotency_key: str, ref_type: str | None = None,
                 ref_id: str | None = None, memo: str = "") -> TxSpec:
    """Points used, and so cancelled: they go to the account's burned shard."""
    return move_points(account_id, system_account(AccountKind.BURNED, shard_of(account_id)), points,
                       kind=Kind.SPEND, idempotency_key=idempotency_key, ref_type=ref_type, ref_id=ref_id,
                       memo=memo)


# Posting ---------------------------------------------------------------------------------------

def post_transactions(specs: Sequence[TxSpec]) -> list[TxResult]:
    """Posts a batch atomically; one result per spec, in order. Kinds: credit, bonus, spend,
    donate, transfer (the others come from the lifecycle functions)."""
    for spec in specs:
        if spec.kind not in FREE_KINDS or spec.reverses or spec.settles or spec.expires_at:
            raise DomainError("invalid_kind", f"post_transactions 不接受类型 {spec.kind!r} 或关联字段")
        _check_caller_key(spec.idempotency_key)
    return _post(specs)


def _check_caller_key(key: str) -> None:
    if len(key) > MAX_KEY:
        raise DomainError("invalid_key", f"幂等键须为 1–{MAX_KEY} 个字符")


def _post(specs: Sequence[TxSpec]) -> list[TxResult]:
    unique: dict[str, TxSpec] = {}
    for spec in specs:
        earlier = unique.setdefault(spec.idempotency_key, spec)
        if earlier is not spec and earlier.body() != spec.body():
            raise _idempotency_conflict(spec.idempotency_key)
    if not unique:
        return []
    with _writing():
        moves = [move for spec in unique.values() for move in spec.moves]
        givers = set(map(itemgetter(0), moves))
        balances = _lock_accounts(sorted(givers.union(map(itemgetter(1), moves))), givers)
        results = _replays(unique)
        new = [spec for key, spec in unique.items() if key not in results] if results else list(unique.values())
        posted = []
        if new:
            _check_balances(new, balances)
            posted = _insert(new)
    if len(posted) == len(specs):  # no key was posted before or repeated: the results are in order
        return posted
    results.update(zip((spec.idempotency_key for spec in new), posted, strict=True))
    out, seen = [], set()
    for spec in specs:  # a key repeated within the batch is a replay of its first occurrence
        result = results[spec.idempotency_key]
        out.append(result._replace(replayed=True) if spec.idempotency_key in seen else result)
        seen.add(spec.idempotency_key)
    return out


@contextmanager
def _writing():
    """The caller's transaction if there is one (see the module docstring), else a new one."""
    try:
        if connection.in_atomic_block:
            yield
        else:
            with transaction.atomic():
                yield
    except DatabaseError as exc:
        if connection.in_atomic_block:  # half-written: the caller's transaction must not commit
            transaction.set_rollback(True)
        error = _domain_error(exc)
        if error is None:
            raise
        raise error from exc


def _moves(legs: Sequence[Leg]) -> Moves:
    """Pairs the legs into transfers: per asset, givers are matched with receivers in account
    order. Legs must be non-zero integers, one per account and asset, and sum to zero per asset."""
    gives: dict[int, list[int]] = {}
    takes: dict[int, list[int]] = {}
    for account, asset, amount in legs:
        index = ASSET_INDEX.get(asset)
        if index is None or type(account) is not int or type(amount) is not int or not amount:
            raise DomainError("invalid_legs", "分录须为非零整数，资产为 points 或 mg_co2e")
        amounts = (takes if amount > 0 else gives).setdefault(account, [0, 0])
        if amounts[index]:
            raise DomainError("invalid_legs", "同一账户同一资产只能有一条分录")
        amounts[index] = abs(amount)
    if len(gives) == 1 and len(takes) == 1:  # nearly always: one account pays one other
        (debit, given), (credit, taken) = *gives.items(), *takes.items()
        if given != taken:
            raise DomainError("unbalanced", "各资产分录之和须为零")
        if debit == credit:
            raise DomainError("invalid_legs", "同一账户同一资产只能有一条分录")
        return ((debit, credit, given[0], given[1]),)
    return _pair(gives, takes)


def _pair(gives: dict[int, list[int]], takes: dict[int, list[int]]) -> Moves:
    moves: dict[tuple[int, int], list[int]] = {}
    for index in (0, 1):
        givers = sorted([a, amounts[index]] for a, amounts in gives.items() if amounts[index])
        takers = sorted([a, amounts[index]] for a, amounts in takes.items() if amounts[index])
        if sum(a for _, a in givers) != sum(a for _, a in takers):
            raise DomainError("unbalanced", "各资产分录之和须为零")
        if {a for a, _ in givers} & {a for a, _ in takers}:
            raise DomainError("invalid_legs", "同一账户同一资产只能有一条分录")
        j = 0
        for giver in givers:
            while giver[1]:
                taker = takers[j]
                amount = min(giver[1], taker[1])
                moves.setdefault((giver[0], taker[0]), [0, 0])[index] += amount
                giver[1] -= amount
                taker[1] -= amount
                j += not taker[1]
    if not moves:
        raise DomainError("invalid_legs", "交易至少需要两条分录")
    return tuple(sorted((d, c, p, m) for (d, c), (p, m) in moves.items()))


def _lock_accounts(account_ids: list[int], givers: set[int]) -> dict[int, list[int]]:
    """Locks the accounts' balances in id order (creating the system accounts on first use, refusing
    unknown accounts); returns those of the givers that may not overdraw: {id: [points, mg_co2e]}."""
    found, balances = _lock(account_ids, givers)
    if found < len(account_ids) and account_ids[0] < 0:
        _create_system_accounts()
        found, balances = _lock(account_ids, givers)
    if found < len(account_ids):
        with connection.cursor() as cursor:
            cursor.execute(*_select_in("ledger_balance.id", "ledger_balance", "id", account_ids))
            missing = sorted(set(account_ids).difference(row[0] for row in cursor.fetchall()))
        raise DomainError("unknown_account", f"账户不存在：{missing[:5]}")
    return balances


def _lock(account_ids: list[int], givers: set[int]) -> tuple[int, dict[int, list[int]]]:
    """How many of the accounts exist, and the balances of the givers that may not overdraw.
    PostgreSQL locks every balance found (`FOR NO KEY UPDATE`, in id order); SQLite's write lock is
    already held, so there it only counts them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT id, points, mg_co2e, overdraft FROM ledger_balance WHERE id = ANY(%s) "
                           "ORDER BY id FOR NO KEY UPDATE", [account_ids])
            rows = cursor.fetchall()
            return len(rows), {a: [points, mg] for a, points, mg, overdraft in rows if not overdraft and a in givers}
        cursor.execute(*_select_in("count(*)", "ledger_balance", "id", account_ids))
        found = cursor.fetchone()[0]
        cursor.execute(*_select_in("ledger_balance.id, points, mg_co2e", "ledger_balance", "id", sorted(givers),
                                   "NOT overdraft"))
        return found, {a: [points, mg] for a, points, mg in cursor.fetchall()}


def _replays(specs: dict[str, TxSpec]) -> dict[str, TxResult]:
    """Results of the keys already posted; raises if one was posted with a different body."""
    with connection.cursor() as cursor:
        cursor.execute(*_select_in("idempotency_key", "ledger_transfer", "idempotency_key", list(specs)))
        keys = sorted({row[0] for row in cursor.fetchall()})
    results = {}
    for chunk in _chunks(keys, 5000):
        for transfers in _transactions(Transfer.objects.filter(idempotency_key__in=chunk)):
            first = transfers[0]
            if _stored_body(transfers) != specs[first.idempotency_key].body():
                raise _idempotency_conflict(first.idempotency_key)
            results[first.idempotency_key] = _result(transfers, replayed=True)
    return results


def _transactions(transfers) -> list[list[Transfer]]:
    """Transfers grouped into their transactions (parts in order)."""
    grouped = defaultdict(list)
    for t in transfers.order_by("id"):
        grouped[t.idempotency_key].append(t)
    return list(grouped.values())


def _stored_body(transfers: list[Transfer]) -> tuple:
    first = transfers[0]
    moves = tuple(sorted((t.debit_id, t.credit_id, t.points, t.mg_co2e) for t in transfers))
    return (first.kind, moves, first.scenario, first.ref_type, first.ref_id, first.memo, first.reverses_id,
            first.settles_id, first.expires_at)


def _result(transfers: list[Transfer], replayed: bool = False) -> TxResult:
    first = transfers[0]
    return TxResult(first.pk, first.idempotency_key, first.kind, transfers[-1].hash, first.created_at, replayed)


def _check_balances(specs: list[TxSpec], balances: dict[int, list[int]]) -> None:
    """Moves the givers' balances transfer by transfer; refuses the batch at the first overdraft."""
    if not balances:  # e.g. credits: only issuance gives
        return
    for s in specs:
        for debit, credit, points, mg in s.moves:
            if (giver := balances.get(debit)) is not None:
                giver[0] -= points
                giver[1] -= mg
                if giver[0] < 0 or giver[1] < 0:
                    raise Conflict("insufficient_balance", f"账户 {debit} 余额不足（{s.idempotency_key}）")
            if (taker := balances.get(credit)) is not None:
                taker[0] += points
                taker[1] += mg


NO_LINKS = (links_text(None, None, ""), None, None, None)  # (hashed, reverses, settles, expires_at stored)


def _insert(specs: list[TxSpec]) -> list[TxResult]:
    """Hashes and writes the transfers; one result per spec, in order. The rows are made while the
    bulk insert consumes them, so that on PostgreSQL hashing (here) and inserting (in the server)
    overlap."""
    chains = _lock_chains(sorted({spec.partition for spec in specs}))
    ids = _new_ids(sum(len(spec.moves) for spec in specs))
    now = timezone.now()
    stored = connection.ops.adapt_datetimefield_value
    now_us, stored_now = microseconds(now), stored(now)
    results = []

    def rows():
        for s in specs:
            key, partition, chain = s.idempotency_key, s.partition, chains[s.partition]
            shared = transaction_text(s.kind, s.scenario, s.ref_type, s.ref_id, s.memo, now_us)
            links = NO_LINKS if s.reverses is None and s.settles is None and s.expires_at is None else (
                links_text(s.reverses, s.settles, microseconds(s.expires_at)), s.reverses, s.settles,
                stored(s.expires_at))
            first = None
            for part, (debit, credit, points, mg) in enumerate(s.moves):
                transfer_id = next(ids)
                first = first or transfer_id
                hashed_links, reverses, settles, expires_at = links
                head = chain_hash(chain[1], transfer_id, partition, key, part, shared, debit, credit, points, mg,
                                  hashed_links)
                chain[0] += 1
                chain[1] = head
                yield (transfer_id, key, part, s.kind, s.scenario, s.ref_type, s.ref_id, s.memo, stored_now, partition,
                       head, debit, credit, points, mg, reverses, settles, expires_at)
                links = NO_LINKS
            # tuple.__new__: a namedtuple's own __new__ is a Python function, dear at 10,000 calls a batch.
            results.append(tuple.__new__(TxResult, (first, key, s.kind, head, now, False)))

    insert_rows(Transfer._meta.db_table, COLUMNS, rows())
    with connection.cursor() as cursor:
        cursor.executemany("UPDATE ledger_chain SET length = %s, head = %s WHERE partition = %s",
                           [(length, head, partition) for partition, (length, head) in chains.items()])
    return results


def _lock_chains(partitions: list[int]) -> dict[int, list]:
    """{partition: [length, head]}, locked in partition order (after the accounts, always)."""
    condition, params = _in("partition", partitions)
    lock = " ORDER BY partition FOR UPDATE" if connection.vendor == "postgresql" else ""
    sql = f"SELECT partition, length, head FROM ledger_chain WHERE {condition}{lock}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        chains = {p: [length, head] for p, length, head in cursor.fetchall()}
        if len(chains) < len(partitions):
            Chain.objects.bulk_create([Chain(partition=p) for p in range(SHARDS)], ignore_conflicts=True)
            cursor.execute(sql, params)
            chains = {p: [length, head] for p, length, head in cursor.fetchall()}
    return chains


def _new_ids(count: int) -> Iterator[int]:
    """Transfer ids, handed out while the chain heads are locked: ids rise along every chain.
    (PostgreSQL: each nextval of the sequence, which steps by ID_BLOCK, reserves a block of ids.)"""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence('ledger_transfer', 'id')) "
                           "FROM generate_series(1, %s)", [-(-count // ID_BLOCK)])
            return (start + i for start in sorted(row[0] for row in cursor.fetchall()) for i in range(ID_BLOCK))
        cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM ledger_transfer")
        start = cursor.fetchone()[0]
        return iter(range(start, start + count))


def _in(column: str, values: list) -> tuple[str, list]:
    """`column IN values` with a single parameter, however many values (SQLite: a JSON array)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]  # noqa: S608 - a column name


def _select_in(select: str, table: str, column: str, values: list, condition: str = "") -> tuple[str, list]:
    """`SELECT select FROM table WHERE column IN values [AND condition]`, with a single parameter.
    SQLite: joining the JSON array looks its values up one by one in the column's index, where
    `IN (SELECT … json_each)` would first sort them into a temporary index — for 10,000 keys that
    costs more than the look-ups. json_each has columns of its own (`id`, …): qualify names."""
    if connection.vendor == "postgresql":
        return f"SELECT {select} FROM {table} WHERE {column} = ANY(%s) AND ({condition or 'true'})", [values]  # noqa: S608
    return (f"SELECT {select} FROM json_each(%s) AS v JOIN {table} ON {table}.{column} = v.value "  # noqa: S608
            f"WHERE {condition or 'true'}", [json.dumps(values)])


def _chunks(values: list, size: int) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _idempotency_conflict(key: str) -> Conflict:
    return Conflict("idempotency_conflict", f"幂等键 {key!r} 已用于内容不同的交易")


_REFUSALS = (  # a database refusal that a concurrent writer can still cause → its domain error
    ("idempotency_key", Conflict, "idempotency_conflict", "幂等键已用于内容不同的交易"),
    ("reverses_id", Conflict, "already_reversed", "该交易已冲正"),
    ("settles_id", Conflict, "already_settled", "该冻结已了结"),
    ("ledger_balance_non_negative", Conflict, "insufficient_balance", "余额不足"),
)


def _domain_error(exc: DatabaseError) -> DomainError | None:
    if isinstance(exc, IntegrityError):
        for needle, error, code, message in _REFUSALS:
            if needle in str(exc):
                return error(code, message)
    return None


# Lifecycle: reservations, reversals, expiry -----------------------------------------------------

def reserve(account_id: int, points: int, *, idempotency_key: str, expires_at: datetime,
            ref_type: str | None = None, ref_id: str | None = None, memo: str = "") -> TxResult:
    """Holds points (e.g. for a coupon) until `post_reservation` or `void_reservation`; once
    `expires_at` has passed, `tanhui ledger expire` voids it."""
    _check_caller_key(idempotency_key)
    if type(points) is not int or points <= 0:
        raise DomainError("invalid_amount", "冻结积分须为正整数")
    if timezone.is_naive(expires_at) or expires_at <= timezone.now():
        raise DomainError("invalid_expiry", "冻结到期时间须为将来的带时区时间")
    hold = system_account(AccountKind.HOLD, shard_of(account_id))
    spec = TxSpec(idempotency_key, Kind.RESERVE, (Leg(account_id, POINTS, -points), Leg(hold, POINTS, points)),
                  ref_type=ref_type, ref_id=ref_id, memo=memo, expires_at=expires_at)
    return _post([spec])[0]


def post_reservation(reservation_id: int, *, to_account_id: int | None = None, memo: str = "") -> TxResult:
    """Completes a reservation: the held points go to `to_account_id`, by default to burned (used
    points are cancelled). Refused once the reservation has expired."""
    return _settle([reservation_id], Kind.POST, memo, to_account_id)[0]


def void_reservation(reservation_id: int, reason: str = "") -> TxResult:
    """Cancels a reservation: the held points go back to the account they came from."""
    return _settle([reservation_id], Kind.VOID, reason)[0]


def release_expired_reservations(now: datetime | None = None) -> int:
    """Voids every pending reservation whose time is up; returns how many."""
    pending = list(Transfer.objects.filter(kind=Kind.RESERVE, expires_at__lte=now or timezone.now(),
                                           settlements__isnull=True).values_list("pk", flat=True))
    for chunk in _chunks(pending, 10_000):
        _settle(chunk, Kind.VOID, "expired")
    return len(pending)


def _settle(reservation_ids: list[int], kind: str, memo: str, to_account_id: int | None = None) -> list[TxResult]:
    """Posts (kind "post") or voids the reservations; one already settled the same way is a replay."""
    reservations = Transfer.objects.filter(pk__in=reservation_ids, kind=Kind.RESERVE).prefetch_related("settlements")
    reservations = {r.pk: r for r in reservations}
    settled, specs = {}, []
    for reservation_id in reservation_ids:
        held = reservations.get(reservation_id)
        if held is None:
            raise DomainError("unknown_reservation", "冻结不存在", status=404)
        earlier = held.settlements.all()
        if earlier:
            if earlier[0].kind != kind:
                raise Conflict("already_settled", "该冻结已了结")
            settled[reservation_id] = _result([earlier[0]], replayed=True)
            continue
        if kind == Kind.POST and held.expires_at <= timezone.now():
            raise Conflict("reservation_expired", "冻结已过期")
        to = held.debit_id if kind == Kind.VOID else (
            to_account_id or system_account(AccountKind.BURNED, shard_of(held.debit_id)))
        specs.append(TxSpec(f"{kind}:{held.idempotency_key}", kind,
                            (Leg(held.credit_id, POINTS, -held.points), Leg(to, POINTS, held.points)),
                            ref_type=held.ref_type, ref_id=held.ref_id, memo=memo, settles=reservation_id))
    posted = iter(_post(specs))
    return [settled[r] if r in settled else next(posted) for r in reservation_ids]


def reverse_transaction(tx: int | str, reason: str) -> TxResult:
    """Posts the mirror image of a transaction (by id or idempotency key), e.g. when a provider
    retracts records. Reversing it again with the same reason returns the first reversal."""
    key = tx if isinstance(tx, str) else Transfer.objects.filter(pk=tx).values_list("idempotency_key",
                                                                                   flat=True).first()
    original = _transactions(Transfer.objects.filter(idempotency_key=key))
    if not original:
        raise DomainError("unknown_transaction", "交易不存在", status=404)
    (transfers,) = original
    first = transfers[0]
    if first.kind in IRREVERSIBLE:
        raise DomainError("not_reversible", f"{first.kind} 类交易不能冲正")
    earlier = Transfer.objects.filter(reverses=first.pk).values_list("idempotency_key", "memo").first()
    if earlier:
        if earlier[1] != reason:
            raise Conflict("already_reversed", "该交易已冲正")
        return _result(_transactions(Transfer.objects.filter(idempotency_key=earlier[0]))[0], replayed=True)
    legs: dict[tuple[int, str], int] = defaultdict(int)
    for t in transfers:
        for asset, amount in ((POINTS, t.points), (MG, t.mg_co2e)):
            legs[(t.debit_id, asset)] += amount
            legs[(t.credit_id, asset)] -= amount
    spec = TxSpec(f"reverse:{key}", Kind.REVERSE,
                  tuple(Leg(account, asset, amount) for (account, asset), amount in legs.items() if amount),
                  scenario=first.scenario, ref_type=first.ref_type, ref_id=first.ref_id, memo=reason,
                  reverses=first.pk)
    return _post([spec])[0]


def expire_days() -> int:
    days = getattr(settings, "TANHUI_POINTS_EXPIRE_DAYS", DEFAULT_EXPIRE_DAYS)
    if type(days) is not int or not 1 <= days <= MAX_EXPIRE_DAYS:
        raise ImproperlyConfigured(f"TANHUI_POINTS_EXPIRE_DAYS must be a whole number of days from 1 to "
                                   f"{MAX_EXPIRE_DAYS} (ten years), not {days!r}")
    return days


# The reversal of the transaction of transfer `t` (reversals link to a transaction's part 0).
_REVERSAL = """SELECT r.id FROM ledger_transfer o JOIN ledger_transfer r ON r.reverses_id = o.id
                WHERE o.idempotency_key = t.idempotency_key AND o.part = 0"""

# Points are spent oldest first, so the points still held from credits before a cutoff are
# max(0, credited before the cutoff − everything paid out since the start). A transaction and its
# reversal, and a reservation and its void, cancel out: they count on neither side.
_LIVE = f"""t.kind NOT IN ('reverse', 'void') AND NOT EXISTS ({_REVERSAL})
   AND NOT (t.kind = 'reserve' AND EXISTS (SELECT 1 FROM ledger_transfer v
                                            WHERE v.settles_id = t.id AND v.kind = 'void'))"""  # noqa: S608


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def expire_points(now: datetime | None = None) -> dict:
    """Voids timed-out reservations, then expires the points credited `TANHUI_POINTS_EXPIRE_DAYS` or
    more local days ago that are still unspent (oldest first). What is still held is computed again
    under the accounts' locks, so a second or concurrent run finds nothing left to expire."""
    now = now or timezone.now()
    released = release_expired_reservations(now)  # first: their points count as unspent again
    days, today = expire_days(), local_date(now)
    cutoff = _start_of(today - timedelta(days=days - 1))  # credited before it: held `days` days
    with transaction.atomic():
        held = _held_since(cutoff)
        if held:  # the same locks, in the same order, as the postings below will take
            _lock_accounts(sorted({*held, *(_expired_shard(a) for a in held)}), givers=set())
            held = _held_since(cutoff, sorted(held))  # again, now that nobody can spend them
        specs = [TxSpec(f"expire:{account}:{now.isoformat()}", Kind.EXPIRE,
                        (Leg(account, POINTS, -points), Leg(_expired_shard(account), POINTS, points)),
                        memo=f"credited before {local_date(cutoff)}")
                 for account, points in sorted(held.items())]
        for chunk in _chunks(specs, 10_000):
            _post(chunk)
    return {"expire_days": days, "credited_before": local_date(cutoff).isoformat(), "accounts": len(specs),
            "points": sum(held.values()), "reservations_released": released}


def _expired_shard(account_id: int) -> int:
    return system_account(AccountKind.EXPIRED, shard_of(account_id))


def _held_since(cutoff: datetime, account_ids: list[int] | None = None) -> dict[int, int]:
    """{citizen account: points credited before `cutoff` and still held}, for all or some accounts."""
    credited_to = paid_by = ""
    credited_params, paid_params = [], []
    if account_ids is not None:
        condition, credited_params = _in("t.credit_id", account_ids)
        credited_to = f"AND {condition}"
        condition, paid_params = _in("t.debit_id", account_ids)
        paid_by = f"AND {condition}"
    sql = f"""
        SELECT flows.account_id, CAST(sum(flows.old_in) - sum(flows.paid) AS bigint) FROM (
          SELECT t.credit_id AS account_id, CASE WHEN t.created_at < %s THEN t.points ELSE 0 END AS old_in,
                 0 AS paid
            FROM ledger_transfer t WHERE t.credit_id > 0 AND t.points > 0 {credited_to} AND {_LIVE}
          UNION ALL
          SELECT t.debit_id, 0, t.points
            FROM ledger_transfer t WHERE t.debit_id > 0 AND t.points > 0 {paid_by} AND {_LIVE}
        ) flows JOIN ledger_account a ON a.id = flows.account_id AND a.kind = 'citizen'
        GROUP BY flows.account_id HAVING sum(flows.old_in) > sum(flows.paid)"""  # noqa: S608 - fixed fragments
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(cutoff), *credited_params, *paid_params])
        return dict(cursor.fetchall())


def expiring_soon(account_id: int, *, within_days: int = 30, now: datetime | None = None) -> list[dict]:
    """What expires within `within_days` days unless spent first: [{"expires_on", "points"}]."""
    days, today = expire_days(), local_date(now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT t.created_at, t.points FROM ledger_transfer t
                            WHERE t.credit_id = %s AND t.credit_id > 0 AND t.points > 0 AND {_LIVE}
                            ORDER BY t.id""", [account_id])  # noqa: S608 - a fixed fragment
        lots = cursor.fetchall()
        cursor.execute(f"""SELECT CAST(coalesce(sum(t.points), 0) AS bigint) FROM ledger_transfer t
                            WHERE t.debit_id = %s AND t.debit_id > 0 AND {_LIVE}""",  # noqa: S608
                       [account_id])
        paid = cursor.fetchone()[0]
    schedule: dict[date, int] = defaultdict(int)
    for created_at, points in lots:  # oldest first: what was paid out used these up first
        used = min(points, paid)
        paid -= used
        expires_on = local_date(as_utc(created_at)) + timedelta(days=days)
        if points > used and expires_on <= today + timedelta(days=within_days):
            schedule[expires_on] += points - used
    return [{"expires_on": day, "points": points} for day, points in sorted(schedule.items())]


# Statements ------------------------------------------------------------------------------------

def citizen_summary(citizen_id: int) -> dict:
    """`tanhui account show`: the balance, and the reductions and points credited per scenario
    (credits since reversed are left out)."""
    public_id = Citizen.objects.filter(pk=citizen_id).values_list("public_id", flat=True).first()
    if public_id is None:
        raise DomainError("unknown_citizen", "市民不存在", status=404)
    account_id = account_of(citizen_id)
    by_scenario = {}
    if account_id is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"""
                SELECT t.scenario, CAST(sum(t.mg_co2e) AS bigint), CAST(sum(t.points) AS bigint)
                  FROM ledger_transfer t
                 WHERE t.credit_id = %s AND t.credit_id > 0 AND t.kind = 'credit' AND NOT EXISTS ({_REVERSAL})
                 GROUP BY t.scenario ORDER BY t.scenario""", [account_id])  # noqa: S608 - a fixed fragment
            by_scenario = {code: {"reduction_mg": mg, "points": points} for code, mg, points in cursor.fetchall()}
    return {"citizen_id": public_id, "points": balance(account_id)[POINTS] if account_id is not None else 0,
            "reduction_mg": sum(s["reduction_mg"] for s in by_scenario.values()), "by_scenario": by_scenario}


def history(account_id: int, *, before: int | None = None, limit: int = 20) -> dict:
    """The account's transfers, newest first, with what each did to it; page on with `before`."""
    before = before if before is not None else 2**62
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT t.id, t.created_at, t.kind, t.scenario, t.ref_type, t.ref_id, t.memo,
                   CASE WHEN t.credit_id = %s THEN t.points ELSE -t.points END,
                   CASE WHEN t.credit_id = %s THEN t.mg_co2e ELSE -t.mg_co2e END,
                   t.reverses_id, ({_REVERSAL})
              FROM ledger_transfer t
             WHERE t.id IN (SELECT id FROM ledger_transfer WHERE credit_id = %s AND credit_id > 0 AND id < %s
                            UNION ALL
                            SELECT id FROM ledger_transfer WHERE debit_id = %s AND debit_id > 0 AND id < %s)
             ORDER BY t.id DESC LIMIT %s""",  # noqa: S608 - a fixed fragment
                       [account_id, account_id, account_id, before, account_id, before, limit])
        rows = cursor.fetchall()
    items = [{"id": row[0], "created_at": as_utc(row[1]), "kind": row[2], "scenario": row[3],
              "ref": {"type": row[4], "id": row[5]} if row[4] else None, "memo": row[6], "points": row[7],
              "mg_co2e": row[8], "reverses": row[9], "reversed_by": row[10]} for row in rows]
    return {"items": items, "next_before": items[-1]["id"] if len(items) == limit else None}
