"""At the counter: wrong codes, another merchant's coupon, lockout, who may verify at all."""

import pytest

from tanhui.core.errors import DomainError
from tanhui.people.models import User
from tanhui.rewards import codes, services
from tanhui.rewards.models import Coupon, VerificationFailure
from tests.rewards.conftest import points

pytestmark = pytest.mark.django_db


def refused(user, code) -> DomainError:
    with pytest.raises(DomainError) as exc:
        services.redeem(user, code)
    return exc.value


def test_codes_are_read_as_typed_or_scanned():
    code = codes.new_code()
    assert codes.normalise(f" {codes.grouped(code).lower()} ") == code
    assert codes.normalise("0OIl-1111-2222-3333") == "0011111122223333"
    assert codes.normalise("ABCD-EFGH") is None
    assert codes.normalise("UUUU-UUUU-UUUU-UUUU") is None  # U is not in the alphabet
    assert codes.qr_png(codes.grouped(code)).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_wrong_code_is_refused_and_counted(staff, merchant):
    error = refused(staff, "AAAA-BBBB-CCCC-DDDD")
    assert (error.code, error.status) == ("wrong_code", 404)
    assert refused(staff, "not a code").code == "wrong_code"
    assert VerificationFailure.objects.filter(merchant=merchant.organisation, user=staff,
                                              reason="wrong_code").count() == 2


def test_another_merchants_coupon_cannot_be_used_here(rich_citizen, offer, make_merchant):
    coupon = services.claim(rich_citizen, offer.pk)
    rival = make_merchant("青禾面馆")

    error = refused(rival.applicant, coupon.code)

    assert (error.code, error.status) == ("wrong_merchant", 403)
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.ISSUED
    assert points(rich_citizen) == 900
    assert VerificationFailure.objects.get().merchant == rival.organisation


def test_repeated_failures_lock_the_merchant_out_for_a_while(rich_citizen, offer, staff, merchant, make_merchant,
                                                             settings, clock):
    settings.TANHUI_REWARDS_LOCKOUT = (3, 600)
    coupon = services.claim(rich_citizen, offer.pk)
    for _ in range(3):
        assert refused(staff, "AAAA-BBBB-CCCC-DDDD").code == "wrong_code"

    error = refused(staff, coupon.code)  # even the right code, while locked

    assert (error.code, error.status) == ("verification_locked", 429)
    assert VerificationFailure.objects.count() == 3  # attempts while locked are not tried, nor counted
    other = make_merchant("简朴咖啡馆")  # per merchant: others are not affected
    assert refused(other.applicant, "AAAA-BBBB-CCCC-DDDD").code == "wrong_code"
    clock.advance(seconds=601)
    assert services.redeem(staff, coupon.code).status == Coupon.Status.USED


def test_only_staff_of_an_approved_merchant_may_verify(rich_citizen, offer, make_merchant, django_user_model):
    coupon = services.claim(rich_citizen, offer.pk)
    pending = make_merchant("待审商家", approve=False)
    admin = django_user_model.objects.create_user("boss", role=User.Role.ADMIN)
    for user in (pending.applicant, admin, rich_citizen.user):
        assert refused(user, coupon.code).code == "not_merchant_staff"
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.ISSUED
    assert not VerificationFailure.objects.exists()


def test_a_second_staff_member_of_the_merchant_may_verify(rich_citizen, offer, merchant, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", role=User.Role.MERCHANT,
                                                  organisation=merchant.organisation)
    coupon = services.claim(rich_citizen, offer.pk)
    assert services.redeem(clerk, coupon.code).used_by == clerk
