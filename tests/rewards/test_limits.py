"""Stock, per-citizen limits, the offer's window, the citizen's points, claim rate limits and
campaign funding (a budget paying part of the price)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError
from tanhui.ledger import audit
from tanhui.ledger.models import Transfer
from tanhui.rewards import services
from tanhui.rewards.models import Coupon, Offer
from tests.rewards.conftest import give_points, offer_data, points

pytestmark = pytest.mark.django_db


def code_of(call) -> str:
    with pytest.raises(DomainError) as exc:
        call()
    return exc.value.code


def test_stock_is_never_oversold(make_citizen, make_offer):
    offer = make_offer(stock=2, per_citizen_limit=1)
    citizens = [make_citizen(f"1380013800{i}", "张三") for i in range(3)]
    for citizen in citizens:
        give_points(citizen, 500)

    services.claim(citizens[0], offer.pk)
    services.claim(citizens[1], offer.pk)

    assert code_of(lambda: services.claim(citizens[2], offer.pk)) == "sold_out"
    assert points(citizens[2]) == 500
    assert Offer.objects.get(pk=offer.pk).taken == 2


def test_per_citizen_limit_counts_open_and_used_coupons_not_cancelled_ones(rich_citizen, make_offer, staff):
    offer = make_offer(per_citizen_limit=2)
    first = services.claim(rich_citizen, offer.pk)
    services.redeem(staff, first.code)
    second = services.claim(rich_citizen, offer.pk)
    assert code_of(lambda: services.claim(rich_citizen, offer.pk)) == "limit_reached"

    services.cancel(rich_citizen, second.pk)
    services.claim(rich_citizen, offer.pk)
    assert Coupon.objects.filter(citizen=rich_citizen).count() == 3


def test_insufficient_points_issue_nothing(make_citizen, make_offer):
    poor = make_citizen("13700137000", "王五")
    give_points(poor, 99)
    offer = make_offer(points_price=100)

    assert code_of(lambda: services.claim(poor, offer.pk)) == "insufficient_balance"
    assert not Coupon.objects.exists()
    assert Offer.objects.get(pk=offer.pk).taken == 0
    assert points(poor) == 99


@pytest.mark.parametrize("change", [
    {"publish": False},
    {"valid_from": timezone.localdate() + timedelta(days=1)},
    {"valid_until": timezone.localdate() - timedelta(days=1), "valid_from": timezone.localdate() - timedelta(days=9)},
])
def test_offers_outside_their_window_or_unpublished_cannot_be_claimed(rich_citizen, make_offer, change):
    offer = make_offer(**change)
    assert code_of(lambda: services.claim(rich_citizen, offer.pk)) == "offer_unavailable"


def test_withdrawn_offers_cannot_be_claimed_but_their_coupons_stay_valid(rich_citizen, offer, merchant, staff):
    coupon = services.claim(rich_citizen, offer.pk)
    services.set_offer_status(merchant, offer, Offer.Status.WITHDRAWN)
    assert code_of(lambda: services.claim(rich_citizen, offer.pk)) == "offer_unavailable"
    assert services.redeem(staff, coupon.code).status == Coupon.Status.USED


def test_claims_are_rate_limited_per_citizen(rich_citizen, make_citizen, make_offer, settings, clock):
    settings.TANHUI_REWARDS_CLAIM_RATE = (3, 60)
    offer = make_offer(per_citizen_limit=1)
    services.claim(rich_citizen, offer.pk)
    for _ in range(2):  # refused claims count too
        assert code_of(lambda: services.claim(rich_citizen, offer.pk)) == "limit_reached"
    with pytest.raises(DomainError) as exc:
        services.claim(rich_citizen, make_offer().pk)
    assert (exc.value.code, exc.value.status) == ("too_many_claims", 429)

    other = make_citizen("13900139000", "李四")  # another citizen is not affected
    give_points(other, 200)
    services.claim(other, offer.pk)
    clock.advance(seconds=61)  # the next window
    services.claim(rich_citizen, make_offer().pk)


def test_offer_rules_are_checked(merchant, make_budget, make_merchant, districts):
    budget = make_budget(max_points_per_coupon=30)
    foreign = districts[2]  # not one of the merchant's service districts
    cases = {"invalid_window": {"valid_from": timezone.localdate(), "valid_until": timezone.localdate() - timedelta(1)},
             "invalid_districts": {"districts": [foreign]},
             "invalid_amount": {"stock": 0},
             "invalid_funding": {"funding": budget, "funded_points": 31}}
    for code, change in cases.items():
        assert code_of(lambda change=change: services.save_offer(merchant, offer_data(merchant, **change))) == code
    assert code_of(lambda: services.save_offer(merchant, offer_data(merchant, points_price=30, funding=budget,
                                                                      funded_points=30))) == "invalid_funding"
    assert code_of(lambda: services.save_offer(merchant, offer_data(merchant, funded_points=5))) == "invalid_funding"
    other = make_merchant("别家")
    other_offer = services.save_offer(other, offer_data(other))
    assert code_of(lambda: services.save_offer(merchant, offer_data(merchant), other_offer)) == "not_your_offer"


def test_stock_cannot_drop_below_what_was_claimed(rich_citizen, make_offer, merchant):
    offer = make_offer(stock=5)
    services.claim(rich_citizen, offer.pk)
    services.claim(rich_citizen, offer.pk)
    assert code_of(lambda: services.save_offer(merchant, offer_data(merchant, stock=1), offer)) == "stock_below_taken"
    services.save_offer(merchant, offer_data(merchant, stock=2), offer)
    assert Offer.objects.get(pk=offer.pk).remaining == 0


# Campaign funding ------------------------------------------------------------------------------

def test_a_budget_pays_part_of_the_price_and_both_shares_follow_the_coupon(rich_citizen, make_offer, make_budget,
                                                                          staff):
    budget = make_budget(points=100, max_points_per_coupon=40)
    offer = make_offer(points_price=100, funding=budget, funded_points=40)

    used = services.claim(rich_citizen, offer.pk, expected_points=60)
    cancelled = services.claim(rich_citizen, offer.pk)

    assert (used.citizen_points, used.funded_points) == (60, 40)
    assert points(rich_citizen) == 1000 - 120
    assert services.budget_points(budget) == 100 - 80
    funding = Transfer.objects.get(pk=used.funding_reservation_id)
    assert (funding.kind, funding.debit_id, funding.points) == ("reserve", budget.account_id, 40)

    services.redeem(staff, used.code)
    services.cancel(rich_citizen, cancelled.pk)
    kinds = {t: Transfer.objects.get(settles_id=t).kind for t in (used.reservation_id, used.funding_reservation_id,
                                                                  cancelled.reservation_id,
                                                                  cancelled.funding_reservation_id)}
    assert list(kinds.values()) == ["post", "post", "void", "void"]
    assert points(rich_citizen) == 940
    assert services.budget_points(budget) == 60
    assert audit.verify().ok


def test_an_exhausted_budget_no_longer_pays_and_the_citizen_sees_the_full_price(rich_citizen, make_offer,
                                                                               make_budget):
    budget = make_budget(points=50, max_points_per_coupon=40)
    offer = make_offer(points_price=100, funding=budget, funded_points=40)
    services.claim(rich_citizen, offer.pk)

    assert services.price_of(Offer.objects.get(pk=offer.pk)) == (100, 0)
    with pytest.raises(Conflict) as exc:
        services.claim(rich_citizen, offer.pk, expected_points=60)
    assert exc.value.code == "price_changed"
    full = services.claim(rich_citizen, offer.pk, expected_points=100)
    assert (full.citizen_points, full.funded_points, full.funding_reservation_id) == (100, 0, None)
    assert services.budget_points(budget) == 10


def test_budgets_are_funded_once_per_request_key(make_budget):
    budget = make_budget(points=0)
    services.fund_budget(budget, 500, request_key="k1")
    services.fund_budget(budget, 500, request_key="k1")
    services.fund_budget(budget, 200, request_key="k2")
    assert services.budget_points(budget) == 700
