"""Real concurrency on PostgreSQL (threads with their own connections): simultaneous check-ins
never pay more than the budget holds, and simultaneous starts leave one active attempt."""

from collections import Counter

import pytest

from tanhui.engagement import services, tokens
from tanhui.engagement.models import Attempt, Award, CheckIn
from tests.concurrency import run_together

from .conftest import DAY, at

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_concurrent_check_ins_never_pay_beyond_the_budget(campaign, venue, citizens):
    made = campaign()
    services.fund_campaign(made, 55)  # five and a half check-ins' worth
    place = venue(made=made)
    people = citizens(12)
    now = at(DAY, 9)
    token = tokens.current(place, now)[0]

    outcomes = run_together(12, lambda i: services.check_in(people[i], place, token, now=now))

    assert all(isinstance(o, CheckIn) for o in outcomes), outcomes
    assert sorted(o.points for o in outcomes) == [0] * 7 + [10] * 5
    assert services.budget(made) == {"funded": 55, "paid": 50, "balance": 5}
    assert Award.objects.count() == 5


def test_concurrent_starts_leave_one_active_attempt(edition, citizens):
    quiz = edition(attempts_per_day=10)
    (a,) = citizens(1)
    outcomes = run_together(6, lambda i: services.start_attempt(quiz, a, now=at(DAY, 9)))
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"Attempt": 1, "Conflict": 5}, outcomes
    assert all(o.code == "attempt_active" for o in outcomes if not isinstance(o, Attempt))
    assert Attempt.objects.filter(status="active").count() == 1
