"""Merchant applications and their review."""

import pytest

from tanhui.core.errors import DomainError
from tanhui.people.models import Organisation, User
from tanhui.rewards import codes, services
from tanhui.rewards.models import Merchant
from tests.rewards.conftest import PASSWORD, licence

pytestmark = pytest.mark.django_db


def apply(districts, **overrides):
    data = {"name": "悦享烘焙坊", "licence_no": licence(7), "district": districts[0],
            "service_districts": districts[:2], "address": "云台路 1 号", "contact_name": "李经理",
            "contact_phone": "139 1234 5678"}
    return services.register_applicant("bakery", PASSWORD, **{**data, **overrides})


def test_the_licence_check_character_is_verified():
    assert codes.licence_valid("91350100M000100Y43")  # a published example
    assert not codes.licence_valid("91350100M000100Y44")
    assert not codes.licence_valid("91350100M000100Y4")


def test_approval_creates_the_merchant_organisation_and_its_staff(districts, admin_user):
    merchant = apply(districts)
    user = merchant.applicant
    assert (user.role, user.organisation_id, merchant.status) == (User.Role.MERCHANT, None, "pending")
    assert services.merchant_of(user) is None
    assert merchant.contact_phone == "13912345678" and merchant.masked_contact_phone == "139****5678"

    services.review(merchant, admin_user, approve=True)

    user.refresh_from_db()
    organisation = Organisation.objects.get(kind=Organisation.Kind.MERCHANT, name="悦享烘焙坊")
    assert user.organisation == organisation and organisation.licence_no == licence(7)
    assert services.merchant_of(user).organisation == organisation


@pytest.mark.parametrize(("change", "code"), [
    ({"licence_no": "91350100M000100Y44"}, "invalid_licence"),
    ({"contact_phone": "021-1234567"}, "invalid_phone"),
    ({"service_districts": []}, "no_districts"),
])
def test_applications_are_checked(districts, change, code):
    with pytest.raises(DomainError) as exc:
        apply(districts, **change)
    assert exc.value.code == code
    assert not User.objects.filter(username="bakery").exists()  # nothing half-made


def test_a_rejection_needs_a_reason_and_the_applicant_may_resubmit(districts, admin_user):
    merchant = apply(districts)
    with pytest.raises(DomainError) as exc:
        services.review(merchant, admin_user, approve=False)
    assert exc.value.code == "reason_required"
    services.review(merchant, admin_user, approve=False, reason="营业执照与名称不符")
    assert Merchant.objects.get(pk=merchant.pk).reason == "营业执照与名称不符"
    with pytest.raises(DomainError) as exc:
        services.review(merchant, admin_user, approve=True)
    assert exc.value.code == "not_pending"

    services.submit_application(merchant.applicant, name="悦享烘焙坊（云台店）", licence_no=licence(7),
                                district=districts[1], service_districts=[districts[1]], address="云台路 2 号",
                                contact_name="李经理", contact_phone="13912345678")
    resubmitted = Merchant.objects.get(pk=merchant.pk)
    assert (resubmitted.status, resubmitted.reason, resubmitted.name) == ("pending", "", "悦享烘焙坊（云台店）")
    assert list(resubmitted.service_districts.all()) == [districts[1]]


def test_a_name_already_taken_is_refused(districts, make_merchant, admin_user):
    make_merchant("悦享烘焙坊")
    with pytest.raises(DomainError) as exc:
        apply(districts)
    assert exc.value.code == "name_taken"
