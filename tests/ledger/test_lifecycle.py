"""Reservations (reserve → post or void, timing out), reversals and expiry (oldest first)."""

from datetime import timedelta

import pytest
from django.core import checks
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError
from tanhui.core.timeutil import local_date
from tanhui.ledger import services
from tanhui.ledger.apps import check_expire_days
from tanhui.ledger.models import Transfer
from tests.ledger.conftest import assert_verified, credit, spend


def points(account: int) -> int:
    return services.balance(account)["points"]


def hold(account: int) -> int:
    return points(services.system_account("hold", services.shard_of(account)))


def reserve(account: int, amount: int, key: str, hours: int = 1):
    return services.reserve(account, amount, idempotency_key=key, expires_at=timezone.now() + timedelta(hours=hours),
                            ref_type="rewards.coupon", ref_id=key)


# Reservations ----------------------------------------------------------------------------------

def test_a_reservation_holds_points_until_it_is_posted(accounts):
    (a,) = accounts(1)
    credit(a, 10, "c")
    reservation = reserve(a, 6, "coupon-1")
    assert (points(a), hold(a)) == (4, 6)
    with pytest.raises(Conflict):
        spend(a, 5, "more than is free")

    posted = services.post_reservation(reservation.tx_id)

    assert (points(a), hold(a)) == (4, 0)
    assert points(services.system_account("burned", services.shard_of(a))) == 6
    assert Transfer.objects.get(pk=posted.tx_id).settles_id == reservation.tx_id
    assert services.post_reservation(reservation.tx_id) == posted._replace(replayed=True)
    with pytest.raises(Conflict) as caught:
        services.void_reservation(reservation.tx_id)
    assert caught.value.code == "already_settled"
    assert_verified()


def test_a_reservation_can_be_posted_to_another_account(accounts):
    a, merchant = accounts(2)
    credit(a, 10, "c")
    reservation = reserve(a, 10, "r")
    services.post_reservation(reservation.tx_id, to_account_id=merchant)
    assert points(merchant) == 10


def test_a_void_gives_the_points_back(accounts):
    (a,) = accounts(1)
    credit(a, 10, "c")
    reservation = reserve(a, 6, "coupon-1")
    voided = services.void_reservation(reservation.tx_id, "customer cancelled")
    assert (points(a), hold(a)) == (10, 0)
    assert services.void_reservation(reservation.tx_id, "again")._replace(replayed=False) == voided
    with pytest.raises(Conflict):
        services.post_reservation(reservation.tx_id)
    assert_verified()


def test_reservations_time_out_and_are_released(accounts, clock):
    a, b = accounts(2)
    credit(a, 10, "ca")
    credit(b, 10, "cb")
    short, long = reserve(a, 3, "short", hours=1), reserve(b, 4, "long", hours=5)
    clock.advance(hours=2)
    with pytest.raises(Conflict) as caught:
        services.post_reservation(short.tx_id)
    assert caught.value.code == "reservation_expired"

    assert services.release_expired_reservations() == 1
    assert (points(a), points(b)) == (10, 6)
    assert Transfer.objects.get(settles=short.tx_id).memo == "expired"
    assert services.release_expired_reservations() == 0
    services.post_reservation(long.tx_id)
    assert_verified()


def test_a_reservation_must_be_funded_and_end_in_the_future(accounts):
    (a,) = accounts(1)
    credit(a, 1, "c")
    with pytest.raises(Conflict):
        reserve(a, 2, "r")
    with pytest.raises(DomainError):
        reserve(a, 1, "r", hours=-1)
    with pytest.raises(DomainError):
        services.post_reservation(10**9)


# Reversals -------------------------------------------------------------------------------------

def test_a_retracted_credit_is_reversed_by_key_or_id(accounts):
    (a,) = accounts(1)
    original = credit(a, 8, "ingest:3:1:metro", mg=8_500)
    reversal = services.reverse_transaction("ingest:3:1:metro", "provider retracted records")

    assert services.balance(a) == {"points": 0, "mg_co2e": 0}
    assert Transfer.objects.get(pk=reversal.tx_id).reverses_id == original.tx_id
    assert services.reverse_transaction(original.tx_id, "provider retracted records").replayed
    with pytest.raises(Conflict):
        services.reverse_transaction(original.tx_id, "another reason")
    with pytest.raises(DomainError):
        services.reverse_transaction(reversal.tx_id, "undo the undo")
    assert_verified()


def test_a_reversal_needs_the_points_still_there(accounts):
    (a,) = accounts(1)
    credit(a, 8, "c")
    spend(a, 5, "s")
    with pytest.raises(Conflict):
        services.reverse_transaction("c", "retracted")
    services.reverse_transaction("s", "refund")
    services.reverse_transaction("c", "retracted")
    assert points(a) == 0


def test_reservations_are_voided_not_reversed(accounts):
    (a,) = accounts(1)
    credit(a, 8, "c")
    reservation = reserve(a, 5, "r")
    with pytest.raises(DomainError) as caught:
        services.reverse_transaction(reservation.tx_id, "no")
    assert caught.value.code == "not_reversible"
    with pytest.raises(DomainError):
        services.reverse_transaction("no such key", "no")


# Expiry ----------------------------------------------------------------------------------------

@pytest.fixture
def expire_in_100_days(settings):
    settings.TANHUI_POINTS_EXPIRE_DAYS = 100


def test_points_expire_oldest_first(accounts, clock, expire_in_100_days):
    (a,) = accounts(1)
    credit(a, 10, "day 0")
    clock.advance(days=50)
    credit(a, 20, "day 50")
    spend(a, 15, "spend: all of day 0 and 5 of day 50")
    clock.advance(days=51)  # day 101: day 0's points are due, but they are spent
    assert services.expire_points()["points"] == 0

    clock.advance(days=49)  # day 150: the 15 left of day 50 are due
    assert services.expiring_soon(a) == [{"expires_on": local_date(timezone.now()), "points": 15}]
    result = services.expire_points()

    assert (result["accounts"], result["points"]) == (1, 15)
    assert points(a) == 0
    assert points(services.system_account("expired", services.shard_of(a))) == 15
    assert services.expire_points()["points"] == 0
    assert_verified()


def test_expiry_counts_local_days(accounts, clock, expire_in_100_days):
    (a,) = accounts(1)
    credit(a, 7, "c")
    credited_on = local_date(timezone.now())
    clock.advance(days=99)
    assert services.expire_points()["points"] == 0
    assert services.expiring_soon(a, within_days=3) == [{"expires_on": credited_on + timedelta(days=100),
                                                         "points": 7}]
    clock.advance(days=1)
    assert local_date(timezone.now()) == credited_on + timedelta(days=100)
    assert services.expire_points()["points"] == 7


def test_reversed_credits_and_voided_reservations_do_not_count(accounts, clock, expire_in_100_days):
    a, b = accounts(2)
    credit(a, 10, "a old")
    credit(b, 10, "b old")
    reservation = reserve(b, 4, "r")
    services.void_reservation(reservation.tx_id)
    spend(a, 3, "s")
    services.reverse_transaction("s", "refund")
    clock.advance(days=30)
    credit(a, 5, "a new")
    clock.advance(days=71)

    assert services.expiring_soon(a, within_days=0) == [{"expires_on": local_date(timezone.now()) - timedelta(days=1),
                                                         "points": 10}]
    services.expire_points()
    assert (points(a), points(b)) == (5, 0)


def test_held_points_do_not_expire_while_reserved(accounts, clock, expire_in_100_days):
    (a,) = accounts(1)
    credit(a, 10, "c")
    reserve(a, 4, "r", hours=24 * 200)
    clock.advance(days=101)
    services.expire_points()
    assert (points(a), hold(a)) == (0, 4)


def test_timed_out_reservations_are_released_before_points_expire(accounts, clock, expire_in_100_days):
    (a,) = accounts(1)
    credit(a, 10, "c")
    reserve(a, 4, "r", hours=1)
    clock.advance(days=101)
    result = services.expire_points()
    assert (result["reservations_released"], result["points"]) == (1, 10)
    assert (points(a), hold(a)) == (0, 0)


def test_the_period_is_configurable_up_to_ten_years(settings):
    settings.TANHUI_POINTS_EXPIRE_DAYS = 3650
    assert services.expire_days() == 3650 and check_expire_days() == []
    for wrong in (3651, 0, "1095"):
        settings.TANHUI_POINTS_EXPIRE_DAYS = wrong
        (error,) = check_expire_days()
        assert isinstance(error, checks.Error) and error.id == "ledger.E001"


def test_the_default_period_is_three_years(settings):
    del settings.TANHUI_POINTS_EXPIRE_DAYS
    assert services.expire_days() == 1095


def test_expiring_soon_for_an_account_without_credits(accounts):
    (a,) = accounts(1)
    assert services.expiring_soon(a) == []
