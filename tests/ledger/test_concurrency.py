"""Real concurrency on PostgreSQL: threads with their own connections, committing for real."""

import random
from collections import Counter, defaultdict

import pytest
from django.db import transaction

from tanhui.core.errors import Conflict
from tanhui.ledger import services
from tests.concurrency import run_together
from tests.ledger.conftest import assert_verified, citizen_accounts, credit

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_fifty_concurrent_spenders_on_one_account_never_overspend():
    (account,) = citizen_accounts(1)
    credit(account, 1000, "fund")

    outcomes = run_together(50, lambda i: services.post_transactions(
        [services.spend_points(account, 30, idempotency_key=f"spend:{i}")])[0])

    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"TxResult": 33, "Conflict": 17}, outcomes
    assert all(o.code == "insufficient_balance" for o in outcomes if isinstance(o, Conflict))
    assert services.balance(account)["points"] == 1000 - 33 * 30
    assert_verified()


def test_eight_concurrent_batches_on_overlapping_accounts_neither_deadlock_nor_lose_updates():
    accounts = citizen_accounts(300)
    services.post_transactions([services.mint_credit(a, 100, 100_000, idempotency_key=f"fund:{a}", scenario="metro",
                                                     ref_type=None, ref_id=None) for a in accounts])
    expected = defaultdict(lambda: 100)
    batches = []
    for batch in range(8):
        rng = random.Random(batch)
        specs = []
        for a in rng.sample(accounts, 200):  # every pair of batches shares ~130 accounts, in shuffled order
            if rng.random() < 0.5:
                points = rng.randrange(1, 50)
                specs.append(services.mint_credit(a, points, points * 1000, idempotency_key=f"b{batch}:{a}",
                                                  scenario="bus", ref_type="ingest.batch", ref_id=str(batch)))
            else:
                points = -rng.randrange(1, 12)  # eight of these still leave 100 - 8 * 11 > 0
                specs.append(services.spend_points(a, -points, idempotency_key=f"b{batch}:{a}"))
            expected[a] += points
        batches.append(specs)

    def post(i):
        with transaction.atomic():
            return len(services.post_transactions(batches[i]))

    assert run_together(8, post) == [200] * 8
    assert {a: services.balance(a)["points"] for a in accounts} == {a: expected[a] for a in accounts}
    assert_verified()


def test_concurrent_postings_on_disjoint_accounts_of_one_partition_keep_one_chain():
    """The partition's chain head is locked, so its chain never forks even when nothing else is shared."""
    same_partition = [a for a in citizen_accounts(16 * 40) if services.shard_of(a) == 3][:40]
    givers, takers = same_partition[:20], same_partition[20:]
    services.post_transactions([services.mint_credit(a, 10, 10_000, idempotency_key=f"fund:{a}", scenario="metro",
                                                     ref_type=None, ref_id=None) for a in givers])

    def give(i):
        for n in range(5):
            services.post_transactions([services.move_points(givers[i], takers[i], 1, kind="transfer",
                                                             idempotency_key=f"give:{i}:{n}")])

    assert run_together(20, give) == [None] * 20
    assert [services.balance(a)["points"] for a in takers] == [5] * 20
    assert_verified()
