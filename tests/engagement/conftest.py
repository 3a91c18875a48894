"""Engagement fixtures: providers, citizens and the ingest helper come from the portal's conftest;
campaigns, quizzes and venues are built here."""

from datetime import date, datetime, time, timedelta

import pytest

from tanhui.core.timeutil import SHANGHAI
from tanhui.engagement import services
from tanhui.engagement.models import Campaign, PledgeTask, Question, QuizEdition, Venue
from tanhui.methodology.models import Scenario
from tests.portal.conftest import bike, ingest, metro, staff, trip  # noqa: F401 - fixtures used by name

DAY = date(2024, 5, 15)  # 全国低碳日 2024


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=SHANGHAI)


@pytest.fixture
def citizens(make_citizen, metro, bike):  # noqa: F811 - the imported fixtures
    """citizens(n) → n citizens bound to metro M-i and bike B-i, both scenarios authorised."""
    def make(n):
        made = []
        for i in range(n):
            citizen = make_citizen(f"1380000{i:04d}", f"市民{i}", bindings=[(metro, f"M-{i}"), (bike, f"B-{i}")],
                                   consents={"metro": None, "bike": None})
            made.append(citizen)
        return made

    return make


@pytest.fixture
def campaign(reference_data):
    """make_campaign(bonus_mode=…, …) → a published low-carbon week around DAY counting metro and bike."""
    def make(code="lcd-2024", **fields):
        values = {"name": "2024 全国低碳日", "starts_on": DAY - timedelta(days=2), "ends_on": DAY + timedelta(days=4),
                  "status": Campaign.Status.PUBLISHED, "bonus_mode": Campaign.BonusMode.MULTIPLIER,
                  "bonus_percent": 50, "bonus_cap": 1000} | fields
        made = Campaign.objects.create(code=code, **values)
        made.scenarios.set(Scenario.objects.filter(code__in=["metro", "bike"]))
        return made

    return make


@pytest.fixture
def pledge_task(campaign):
    def make(made=None, points=20):
        task = PledgeTask.objects.create(campaign=made or campaign(), title="少开一天车", day=DAY, points=points)
        task.scenarios.set(Scenario.objects.filter(code__in=["metro", "bus", "bike"]))
        return task

    return make


@pytest.fixture
def venue(campaign):
    def make(code="school-1", made=None, **fields):
        return Venue.objects.create(code=code, name="云澜第一中学", kind=Venue.Kind.SCHOOL,
                                    campaign=made if made is not None else campaign(), points=10, **fields)

    return make


@pytest.fixture
def bank(db):
    """bank(n) → n single-choice questions; the answer of question i is option i % 4."""
    def make(n=12):
        return [Question.objects.create(code=f"Q{i:03d}", kind=Question.Kind.SINGLE, category=Question.Category.POLICY,
                                        text=f"第 {i} 题", options=["甲", "乙", "丙", "丁"], answer=[i % 4],
                                        explanation=f"解析 {i}") for i in range(n)]

    return make


@pytest.fixture
def edition(bank):
    def make(code="quiz-2024", campaign=None, **fields):
        if not Question.objects.exists():
            bank()
        values = {"title": "2024 节能低碳知识竞赛", "status": QuizEdition.Status.PUBLISHED,
                  "opens_at": at(DAY, 0), "closes_at": at(DAY + timedelta(days=7), 0), "question_count": 5,
                  "time_limit_seconds": 120, "attempts_per_day": 2, "pass_percent": 60} | fields
        return QuizEdition.objects.create(code=code, campaign=campaign, **values)

    return make


def right_answers(attempt) -> dict:
    """The correct answer to every question of the attempt (from the bank, as the tests know it)."""
    return {str(qid): list(Question.objects.get(pk=qid).answer) for qid in attempt.question_ids}


@pytest.fixture
def funded(campaign):
    def make(points, **fields):
        made = campaign(**fields)
        services.fund_campaign(made, points)
        return made

    return make
