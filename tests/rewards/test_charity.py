"""Donations to charity projects are ledger transfers and move the project towards its goal."""

import pytest

from tanhui.core.errors import DomainError
from tanhui.ledger import audit
from tanhui.ledger import services as ledger
from tanhui.ledger.models import Transfer
from tanhui.rewards import services
from tanhui.rewards.models import CharityProject
from tests.rewards.conftest import points

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(db):
    return services.create_project(code="trees", title="市民碳汇林", organiser="绿化基金会",
                                   description="每 500 积分认养一棵树", goal_points=600)


def test_a_donation_moves_points_to_the_project_account(rich_citizen, project):
    donation = services.donate(rich_citizen, project.pk, 250)

    transfer = Transfer.objects.get(pk=donation.transfer_id)
    assert (transfer.kind, transfer.points, transfer.credit_id) == ("donate", 250, project.account_id)
    assert transfer.debit_id == ledger.account_of(rich_citizen.pk)
    assert points(rich_citizen) == 750
    project.refresh_from_db()
    assert project.raised_points == 250 == ledger.balance(project.account_id)["points"]
    assert project.percent == 41
    assert audit.verify().ok


def test_donations_stop_at_the_goal(rich_citizen, project):
    services.donate(rich_citizen, project.pk, 500)
    with pytest.raises(DomainError) as exc:
        services.donate(rich_citizen, project.pk, 101)
    assert exc.value.code == "over_goal"
    services.donate(rich_citizen, project.pk, 100)
    with pytest.raises(DomainError) as exc:
        services.donate(rich_citizen, project.pk, 1)
    assert exc.value.code == "project_closed"
    assert points(rich_citizen) == 400


@pytest.mark.parametrize(("amount", "code"), [(0, "invalid_amount"), (-5, "invalid_amount"),
                                              (2000, "insufficient_balance")])
def test_bad_donations_are_refused(rich_citizen, project, amount, code):
    project.goal_points = 5000
    project.save()
    with pytest.raises(DomainError) as exc:
        services.donate(rich_citizen, project.pk, amount)
    assert exc.value.code == code
    assert CharityProject.objects.get(pk=project.pk).raised_points == 0
    assert not project.donations.exists()


def test_a_closed_project_takes_nothing(rich_citizen, project):
    CharityProject.objects.filter(pk=project.pk).update(status=CharityProject.Status.CLOSED)
    with pytest.raises(DomainError) as exc:
        services.donate(rich_citizen, project.pk, 10)
    assert exc.value.code == "project_closed"


def test_a_resubmitted_donation_form_donates_once(rich_citizen, project):
    first = services.donate(rich_citizen, project.pk, 100, request_key="form-9")
    assert services.donate(rich_citizen, project.pk, 100, request_key="form-9").pk == first.pk
    assert points(rich_citizen) == 900
