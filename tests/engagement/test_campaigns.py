"""Campaign bonuses (multiplier and fixed, capped per citizen, paid from the budget and never beyond
it), budgets funded through the ledger, reruns that pay nothing twice, and pledges."""

from datetime import timedelta

import pytest

from tanhui.core.errors import DomainError
from tanhui.engagement import services
from tanhui.engagement.models import Award, Campaign, Pledge
from tanhui.ingest.models import Reduction
from tanhui.ledger import audit
from tanhui.ledger import services as ledger

from .conftest import DAY, at, trip

pytestmark = pytest.mark.django_db

# 10 km by metro = 468 g CO2e = 468 points (46.8 g/km)


def points_of(citizen) -> int:
    return ledger.citizen_summary(citizen.pk)["points"]


def test_funding_mints_the_budget_from_issuance_and_the_ledger_still_verifies(funded):
    made = funded(5000)
    services.fund_campaign(made, 1500, memo="赞助商追加")
    assert services.budget(made) == {"funded": 6500, "paid": 0, "balance": 6500}
    assert audit.verify([]).ok
    with pytest.raises(DomainError) as refused:
        services.fund_campaign(made, 0)
    assert refused.value.code == "invalid_amount"


def test_multiplier_bonus_is_paid_to_enrolled_citizens_only_and_once(funded, citizens, ingest):
    made = funded(10_000)  # +50 % of the day's reduction points
    a, b = citizens(2)
    services.enrol(made, a)
    ingest([trip("T1", "M-0", DAY), trip("T2", "M-1", DAY)])
    before = points_of(a)

    result = services.award_bonuses(made, through=DAY, now=at(DAY, 23))
    assert result["bonus_awards"] == 1 and result["bonus_points"] == 234  # 468 // 2
    assert points_of(a) == before + 234
    assert not Award.objects.filter(citizen=b).exists()

    again = services.award_bonuses(made, through=DAY, now=at(DAY, 23))
    assert again["bonus_awards"] == 0 and points_of(a) == before + 234
    assert services.budget(made) == {"funded": 10_000, "paid": 234, "balance": 10_000 - 234}


def test_a_day_whose_records_arrive_later_is_topped_up(funded, citizens, ingest):
    made = funded(10_000)
    (a,) = citizens(1)
    services.enrol(made, a)
    ingest([trip("T1", "M-0", DAY)])
    services.award_bonuses(made, through=DAY, now=at(DAY, 23))
    ingest([trip("T2", "B-0", DAY, hour=18, km="4.0")], scenario="bike", provider="bike_op")
    services.award_bonuses(made, through=DAY, now=at(DAY + timedelta(days=1), 9))
    day_points = sum(Award.objects.filter(citizen=a, local_date=DAY).values_list("points", flat=True))
    mg = sum(Reduction.objects.filter(citizen=a, local_date=DAY).values_list("reduction_mg", flat=True))
    assert mg > 468_000 and day_points == (mg // 1000) // 2
    assert Award.objects.filter(citizen=a).count() == 2


def test_bonus_is_capped_per_citizen_over_the_campaign(funded, citizens, ingest):
    made = funded(10_000, bonus_mode="fixed", bonus_points=40, bonus_cap=100)
    (a,) = citizens(1)
    services.enrol(made, a)
    ingest([trip(f"T{d}", "M-0", DAY + timedelta(days=d)) for d in range(-2, 3)])  # five qualifying days

    result = services.award_bonuses(made, through=DAY + timedelta(days=2), now=at(DAY + timedelta(days=2), 23))
    assert [a.points for a in Award.objects.filter(citizen=a).order_by("local_date")] == [40, 40, 20]
    assert result["capped_days"] == 3 and result["bonus_points"] == 100  # one cut short, two left out


def test_bonuses_stop_when_the_budget_is_exhausted_and_resume_after_a_top_up(funded, citizens, ingest):
    made = funded(300)  # three citizens due 234 each
    people = citizens(3)
    for citizen in people:
        services.enrol(made, citizen)
    ingest([trip(f"T{i}", f"M-{i}", DAY) for i in range(3)])

    result = services.award_bonuses(made, through=DAY, now=at(DAY, 23))
    assert result["budget_exhausted"] and result["budget_left"] == 0
    assert result["bonus_points"] == 300 and result["unpaid_points"] == 3 * 234 - 300
    assert services.budget(made)["balance"] == 0
    assert sorted(Award.objects.values_list("points", flat=True)) == [66, 234]

    services.fund_campaign(made, 1000)
    resumed = services.award_bonuses(made, through=DAY, now=at(DAY, 23, 30))
    assert resumed["bonus_points"] == 3 * 234 - 300 and not resumed["budget_exhausted"]
    assert sum(Award.objects.values_list("points", flat=True)) == 3 * 234
    assert audit.verify([]).ok


def test_the_ledger_refuses_a_campaign_overdraft(funded, citizens):
    made = funded(10)
    (a,) = citizens(1)
    account = ledger.citizen_accounts([a.pk])[a.pk]
    with pytest.raises(DomainError) as refused:
        ledger.post_transactions([ledger.move_points(services.budget_account(made), account, 11,
                                                     kind=ledger.Kind.BONUS, idempotency_key="overdraw")])
    assert refused.value.code == "insufficient_balance"


def test_records_outside_the_window_earn_no_bonus(funded, citizens, ingest):
    made = funded(10_000)
    (a,) = citizens(1)
    services.enrol(made, a)
    ingest([trip("EARLY", "M-0", made.starts_on - timedelta(days=1)), trip("LATE", "M-0", made.ends_on + timedelta(1))])
    assert services.award_bonuses(made, now=at(made.ends_on + timedelta(days=2)))["bonus_awards"] == 0


def test_enrolment_needs_a_published_campaign_in_the_citizens_district(campaign, citizens):
    from tanhui.people.models import District

    (a,) = citizens(1)
    draft = campaign("draft", status=Campaign.Status.DRAFT)
    with pytest.raises(DomainError) as refused:
        services.enrol(draft, a)
    assert refused.value.code == "campaign_not_open"
    elsewhere = campaign("futian", district=District.objects.get_or_create(name="福田区")[0])
    with pytest.raises(DomainError) as refused:
        services.enrol(elsewhere, a)
    assert refused.value.code == "outside_campaign_area"


def test_pledge_is_fulfilled_by_a_transit_or_bike_record_that_day(funded, pledge_task, citizens, ingest):
    made = funded(1000)
    task = pledge_task(made, points=20)
    a, b, c = citizens(3)
    for citizen in (a, b, c):
        services.pledge(task, citizen, now=at(DAY - timedelta(days=1)))
    ingest([trip("BIKE", "B-0", DAY, km="3.0")], scenario="bike", provider="bike_op")
    ingest([trip("OTHER-DAY", "M-1", DAY + timedelta(days=1))])

    result = services.award_bonuses(made, through=DAY, now=at(DAY + timedelta(days=1), 23))
    assert result["pledges_fulfilled"] == 1 and result["pledges_missed"] == 0
    assert Pledge.objects.get(citizen=a).status == Pledge.Status.FULFILLED
    assert Award.objects.get(kind="pledge").citizen == a
    assert Pledge.objects.get(citizen=b).status == Pledge.Status.PLEDGED  # its day's records may still arrive

    later = services.award_bonuses(made, through=DAY, now=at(DAY + timedelta(days=4)))
    assert later["pledges_missed"] == 2
    assert set(Pledge.objects.values_list("status", flat=True)) == {"fulfilled", "missed"}
    assert Award.objects.filter(kind="pledge").count() == 1


def test_pledging_after_the_day_is_refused_and_pledging_twice_is_one_pledge(pledge_task, citizens):
    task = pledge_task()
    (a,) = citizens(1)
    assert services.pledge(task, a, now=at(DAY, 7)) == services.pledge(task, a, now=at(DAY, 8))
    with pytest.raises(DomainError) as refused:
        services.pledge(task, a, now=at(DAY + timedelta(days=1)))
    assert refused.value.code == "pledge_closed"
