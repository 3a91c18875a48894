"""Real concurrency on PostgreSQL: threads with their own connections claim, spend and redeem at
the same moment, committing for real. Never oversold, never overspent, never used twice."""

from collections import Counter

import pytest

from tanhui.core.errors import DomainError
from tanhui.ledger import audit
from tanhui.ledger import services as ledger
from tanhui.people.models import User
from tanhui.rewards import services
from tanhui.rewards.models import Coupon, Offer
from tests.concurrency import run_together
from tests.rewards.conftest import give_points, points

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
THREADS = 16


@pytest.fixture(autouse=True)
def no_claim_rate_limit(settings):
    settings.TANHUI_REWARDS_CLAIM_RATE = (1000, 60)


def codes_of(outcomes) -> Counter:
    return Counter(o.code if isinstance(o, DomainError) else type(o).__name__ for o in outcomes)


def assert_ledger_ok():
    report = audit.verify()
    assert report.ok, report.problems


def test_the_last_units_are_never_oversold_and_a_coupon_is_never_used_twice(make_citizen, make_offer, merchant,
                                                                            django_user_model):
    offer = make_offer(stock=5, per_citizen_limit=1)
    citizens = [make_citizen(f"138{i:08d}", "张三") for i in range(THREADS)]
    for citizen in citizens:
        give_points(citizen, 150)

    outcomes = run_together(THREADS, lambda i: services.claim(citizens[i], offer.pk))

    assert codes_of(outcomes) == {"Coupon": 5, "sold_out": THREADS - 5}, outcomes
    assert Offer.objects.get(pk=offer.pk).taken == 5 == Coupon.objects.count()
    assert sorted(points(c) for c in citizens) == [50] * 5 + [150] * (THREADS - 5)

    clerks = [django_user_model.objects.create_user(f"clerk{i}", role=User.Role.MERCHANT,
                                                    organisation=merchant.organisation) for i in range(4)]
    coupon = next(o for o in outcomes if isinstance(o, Coupon))
    outcomes = run_together(4, lambda i: services.redeem(clerks[i], coupon.code))  # scanned at four counters

    assert codes_of(outcomes) == {"Coupon": 1, "already_used": 3}, outcomes
    assert points(coupon.citizen) == 50
    assert_ledger_ok()


def test_one_citizen_racing_never_exceeds_the_limit_nor_overspends(rich_citizen, make_offer):
    """The per-citizen limit holds under the offer's lock; and claims on different offers (different
    row locks) still meet at the citizen's ledger account, which never goes below zero."""
    limited = make_offer(points_price=10, per_citizen_limit=2, stock=100)
    outcomes = run_together(THREADS, lambda i: services.claim(rich_citizen, limited.pk))
    assert codes_of(outcomes) == {"Coupon": 2, "limit_reached": THREADS - 2}, outcomes
    assert points(rich_citizen) == 980

    offers = [make_offer(points_price=300, per_citizen_limit=THREADS) for _ in range(4)]
    outcomes = run_together(THREADS, lambda i: services.claim(rich_citizen, offers[i % 4].pk))

    assert codes_of(outcomes) == {"Coupon": 3, "insufficient_balance": THREADS - 3}, outcomes
    assert points(rich_citizen) == 80
    assert sum(Offer.objects.filter(pk__in=[o.pk for o in offers]).values_list("taken", flat=True)) == 3
    assert_ledger_ok()


def test_funded_claims_racing_for_a_small_budget_never_overspend_it(make_citizen, make_offer, make_budget):
    budget = make_budget(points=100, max_points_per_coupon=40)
    offers = [make_offer(points_price=100, funding=budget, funded_points=40) for _ in range(2)]
    citizens = [make_citizen(f"139{i:08d}", "李四") for i in range(THREADS)]
    for citizen in citizens:
        give_points(citizen, 100)

    outcomes = run_together(THREADS, lambda i: services.claim(citizens[i], offers[i % 2].pk))

    assert set(codes_of(outcomes)) <= {"Coupon", "funding_exhausted"}, outcomes
    funded = [o.funded_points for o in outcomes if isinstance(o, Coupon)]
    assert sorted(funded)[-2:] == [40, 40] and sum(funded) == 80
    assert services.budget_points(budget) == 20
    assert_ledger_ok()


def test_funded_claims_uses_and_cancels_at_once_neither_deadlock_nor_lose_points(make_citizen, make_offer,
                                                                                 make_budget, staff):
    """Each of these posts two ledger transactions (the citizen's share and the budget's) in one
    database transaction. Two budgets, and citizens whose hold shard is the other budget's: taken
    one after the other, the locks would meet in a cycle (A holds budget 1's hold shard and waits
    for budget 2's, B the reverse); locked up front in id order, they queue."""
    budgets = [make_budget(points=1000, max_points_per_coupon=10) for _ in range(2)]
    shards = [ledger.shard_of(b.account_id) for b in budgets]
    assert shards[0] != shards[1]
    offers = [make_offer(points_price=30, funding=b, funded_points=10, stock=100, per_citizen_limit=5)
              for b in budgets]
    pool = [make_citizen(f"137{i:08d}", "王五") for i in range(12 * ledger.SHARDS)]
    accounts = ledger.citizen_accounts(c.pk for c in pool)
    # citizens[i] claims offers[i % 2], funded by the budget whose shard is not the citizen's
    by_shard = {s: [c for c in pool if ledger.shard_of(accounts[c.pk]) == s] for s in shards}
    citizens = [by_shard[shards[1 - i % 2]][i // 2] for i in range(THREADS)]
    for citizen in citizens:
        give_points(citizen, 100)
    first = [services.claim(c, offers[i % 2].pk) for i, c in enumerate(citizens)]

    def work(i):
        n = i // 2
        citizen, coupon = citizens[n], first[n]
        if i % 2:
            return services.claim(citizen, offers[n % 2].pk)
        return services.redeem(staff, coupon.code) if n % 4 < 2 else services.cancel(citizen, coupon.pk)

    outcomes = run_together(2 * THREADS, work)

    assert codes_of(outcomes) == {"Coupon": 2 * THREADS}, outcomes
    statuses = Counter(Coupon.objects.values_list("status", flat=True))
    assert statuses == {"issued": THREADS, "used": THREADS // 2, "cancelled": THREADS // 2}
    spent = [10 * (THREADS // 2 + THREADS // 4)] * 2  # per budget: its new coupons and its used ones
    assert [services.budget_points(b) for b in budgets] == [1000 - s for s in spent]
    assert sum(points(c) for c in citizens) == THREADS * 100 - 20 * (THREADS + THREADS // 2)
    assert_ledger_ok()
