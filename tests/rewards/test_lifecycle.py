"""The coupon lifecycle against the ledger: claim reserves, use posts, cancel and expiry void."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError
from tanhui.ledger import audit
from tanhui.ledger import services as ledger
from tanhui.ledger.models import Transfer
from tanhui.rewards import codes, services
from tanhui.rewards.models import Coupon, Offer
from tests.rewards.conftest import points

pytestmark = pytest.mark.django_db


def settlement_of(reservation_id: int) -> str | None:
    return Transfer.objects.filter(settles_id=reservation_id).values_list("kind", flat=True).first()


def assert_ledger_ok():
    report = audit.verify()
    assert report.ok, report.problems


def test_claim_reserves_the_points_and_issues_an_unguessable_coupon(rich_citizen, offer):
    coupon = services.claim(rich_citizen, offer.pk)

    assert coupon.status == Coupon.Status.ISSUED
    assert codes.normalise(coupon.code) == coupon.code and len(coupon.code) == 16
    assert points(rich_citizen) == 900
    held = Transfer.objects.get(pk=coupon.reservation_id)
    assert (held.kind, held.points, held.ref_type, held.ref_id) == ("reserve", 100, "rewards.coupon", str(coupon.pk))
    assert held.expires_at == coupon.expires_at == coupon.claimed_at + timedelta(days=7)
    assert settlement_of(held.pk) is None
    assert Offer.objects.get(pk=offer.pk).taken == 1
    assert len({services.claim(rich_citizen, offer.pk).code, coupon.code}) == 2
    assert_ledger_ok()


def test_coupon_expires_with_the_offer_at_the_latest(rich_citizen, make_offer):
    offer = make_offer(valid_until=timezone.localdate(), coupon_days=30)
    coupon = services.claim(rich_citizen, offer.pk)
    assert coupon.expires_at == services.end_of_day(offer.valid_until)


def test_use_at_the_counter_burns_the_points_and_happens_once(rich_citizen, offer, staff):
    coupon = services.claim(rich_citizen, offer.pk)

    used = services.redeem(staff, codes.grouped(coupon.code).lower())

    assert used.pk == coupon.pk and used.status == Coupon.Status.USED and used.used_by == staff
    assert settlement_of(coupon.reservation_id) == "post"
    assert points(rich_citizen) == 900
    with pytest.raises(Conflict) as exc:
        services.redeem(staff, coupon.code)
    assert exc.value.code == "already_used"
    with pytest.raises(Conflict) as exc:
        services.cancel(rich_citizen, coupon.pk)
    assert exc.value.code == "not_cancellable"
    assert Offer.objects.get(pk=offer.pk).taken == 1
    assert_ledger_ok()


def test_cancel_releases_the_points_and_the_stock(rich_citizen, make_offer, staff):
    offer = make_offer(stock=1)
    coupon = services.claim(rich_citizen, offer.pk)

    services.cancel(rich_citizen, coupon.pk)

    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.CANCELLED and coupon.closed_at
    assert settlement_of(coupon.reservation_id) == "void"
    assert points(rich_citizen) == 1000
    assert Offer.objects.get(pk=offer.pk).taken == 0
    with pytest.raises(DomainError) as exc:
        services.redeem(staff, coupon.code)
    assert exc.value.code == "not_usable"
    services.claim(rich_citizen, offer.pk)  # the unit is back in stock
    assert_ledger_ok()


def test_only_the_owner_may_cancel(rich_citizen, make_citizen, offer):
    coupon = services.claim(rich_citizen, offer.pk)
    other = make_citizen("13900139000", "李四")
    with pytest.raises(DomainError) as exc:
        services.cancel(other, coupon.pk)
    assert exc.value.status == 404
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.ISSUED


def test_expire_command_expires_coupons_and_voids_their_reservations_together(rich_citizen, make_offer, staff,
                                                                            clock, capsys):
    offer = make_offer(stock=2, coupon_days=1)
    late = services.claim(rich_citizen, offer.pk)
    used = services.claim(rich_citizen, offer.pk)
    services.redeem(staff, used.code)
    clock.advance(days=1, seconds=1)

    assert late.display_status == "已过期" and not late.usable  # before the command: shown as expired
    with pytest.raises(Conflict) as exc:
        services.redeem(staff, late.code)
    assert exc.value.code == "not_usable"
    call_command("rewards", "expire", "--json")
    result = json.loads(capsys.readouterr().out)

    assert result == {"coupons_expired": 1, "points_released": 100, "reservations_released": 1}
    late.refresh_from_db()
    assert late.status == Coupon.Status.EXPIRED
    assert settlement_of(late.reservation_id) == "void"
    assert Coupon.objects.get(pk=used.pk).status == Coupon.Status.USED
    assert points(rich_citizen) == 900
    assert Offer.objects.get(pk=offer.pk).taken == 1
    call_command("rewards", "expire", "--json")
    assert json.loads(capsys.readouterr().out)["coupons_expired"] == 0
    assert_ledger_ok()


def test_ledger_expiry_first_leaves_coupons_consistent(rich_citizen, make_offer, clock):
    """`tanhui ledger expire` may void a coupon's reservation before `rewards expire` runs."""
    offer = make_offer(coupon_days=1)
    coupon = services.claim(rich_citizen, offer.pk)
    clock.advance(days=2)

    assert ledger.release_expired_reservations() == 1
    result = services.expire_coupons()

    assert result == {"coupons_expired": 1, "points_released": 100, "reservations_released": 0}
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.EXPIRED
    assert points(rich_citizen) == 1000
    assert Offer.objects.get(pk=offer.pk).taken == 0
    assert_ledger_ok()


def test_a_resubmitted_claim_form_claims_once(rich_citizen, offer):
    first = services.claim(rich_citizen, offer.pk, request_key="form-1")
    again = services.claim(rich_citizen, offer.pk, request_key="form-1")
    assert again.pk == first.pk
    assert points(rich_citizen) == 900


def test_a_claim_at_another_price_than_shown_is_refused(rich_citizen, offer):
    with pytest.raises(Conflict) as exc:
        services.claim(rich_citizen, offer.pk, expected_points=80)
    assert exc.value.code == "price_changed"
    assert points(rich_citizen) == 1000
    assert not Coupon.objects.exists()
