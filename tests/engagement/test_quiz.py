"""Knowledge quizzes: the draw (random per attempt, reproducible from the stored seed), answer secrecy
in the attempt API, the server-side time limit, one active attempt at a time, attempts per day,
scoring with time as the tie-break, pass points and top-N prizes from the campaign budget."""

import json
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from tanhui.core.errors import DomainError
from tanhui.engagement import services
from tanhui.engagement.models import Attempt, Award, QuizEdition

from .conftest import DAY, at, right_answers

pytestmark = pytest.mark.django_db


def wrong_answers(attempt) -> dict:
    return {qid: [(answer[0] + 1) % 4] for qid, answer in right_answers(attempt).items()}


def test_each_attempt_draws_its_own_questions_reproducibly_from_its_seed(edition, citizens):
    quiz = edition(attempts_per_day=50)
    (a,) = citizens(1)
    draws = set()
    for minute in range(6):
        attempt = services.start_attempt(quiz, a, now=at(DAY, 9, minute))
        assert len(set(attempt.question_ids)) == 5
        pool = sorted(services.Question.objects.values_list("pk", flat=True))
        assert services.draw(pool, 5, attempt.seed) == attempt.question_ids
        draws.add(tuple(attempt.question_ids))
        services.submit_attempt(attempt, {}, now=at(DAY, 9, minute, 30))
    assert len(draws) > 1


def test_the_attempt_api_never_returns_answers_before_submission(client, edition, citizens):
    quiz = edition()
    QuizEdition.objects.filter(pk=quiz.pk).update(opens_at=timezone.now() - timedelta(hours=1),
                                                  closes_at=timezone.now() + timedelta(days=1))
    (a,) = citizens(1)
    client.force_login(a.user)

    started = client.post(f"/api/v1/engagement/quizzes/{quiz.code}/attempts")
    assert started.status_code == 201
    attempt = Attempt.objects.get()
    fetched = client.get(f"/api/v1/engagement/attempts/{attempt.pk}")
    for response in (started, fetched):
        body = response.json()
        assert body["review"] is None and body["correct"] is None
        assert all(set(q) == {"id", "kind", "text", "options"} for q in body["questions"])
        text = response.content.decode()
        assert "answer" not in text and "解析" not in text and "explanation" not in text

    submitted = client.post(f"/api/v1/engagement/attempts/{attempt.pk}/submit",
                            json.dumps({"answers": right_answers(attempt)}), content_type="application/json")
    body = submitted.json()
    assert submitted.status_code == 200 and body["correct"] == 5 and body["passed"] is True
    assert [r["answer"] for r in body["review"]] == [services.Question.objects.get(pk=q).answer
                                                      for q in attempt.question_ids]
    assert all(r["right"] and r["explanation"].startswith("解析") for r in body["review"])


def test_another_citizens_attempt_is_not_found(client, edition, citizens):
    quiz = edition()
    a, b = citizens(2)
    attempt = services.start_attempt(quiz, a, now=timezone.now().replace(year=2024, month=5, day=15, hour=9))
    client.force_login(b.user)
    assert client.get(f"/api/v1/engagement/attempts/{attempt.pk}").status_code == 404
    response = client.post(f"/api/v1/engagement/attempts/{attempt.pk}/submit", {"answers": {}},
                           content_type="application/json")
    assert response.status_code == 404
    assert Attempt.objects.get().status == "active"


def test_one_active_attempt_at_a_time(edition, citizens):
    quiz = edition(attempts_per_day=5)
    other = edition("quiz-b")
    (a,) = citizens(1)
    services.start_attempt(quiz, a, now=at(DAY, 9))
    for attempt_quiz in (quiz, other):
        with pytest.raises(DomainError) as refused:
            services.start_attempt(attempt_quiz, a, now=at(DAY, 9, 1))
        assert refused.value.code == "attempt_active"
    with pytest.raises(IntegrityError):  # the database itself holds the line
        Attempt.objects.create(edition=other, citizen=a, seed=1, question_ids=[], local_date=DAY,
                               started_at=at(DAY, 9), deadline=at(DAY, 9, 2))


def test_an_abandoned_attempt_expires_and_frees_the_slot(edition, citizens):
    quiz = edition(attempts_per_day=5)
    (a,) = citizens(1)
    abandoned = services.start_attempt(quiz, a, now=at(DAY, 9))
    services.start_attempt(quiz, a, now=at(DAY, 9, 3))  # 120 s limit + grace have passed
    abandoned.refresh_from_db()
    assert abandoned.status == "expired" and abandoned.correct == 0


def test_the_time_limit_is_enforced_on_the_server(edition, citizens):
    quiz = edition()
    (a,) = citizens(1)
    attempt = services.start_attempt(quiz, a, now=at(DAY, 9))
    with pytest.raises(DomainError) as refused:
        services.submit_attempt(attempt, right_answers(attempt), now=at(DAY, 9, 2, 6))  # 120 s + 6 s
    assert refused.value.code == "time_up"
    attempt.refresh_from_db()
    assert attempt.status == "expired" and attempt.correct == 0 and attempt.answers is None
    with pytest.raises(DomainError) as again:
        services.submit_attempt(attempt, right_answers(attempt), now=at(DAY, 9, 2, 7))
    assert again.value.code == "attempt_closed"

    on_time = services.start_attempt(quiz, a, now=at(DAY, 10))
    done = services.submit_attempt(on_time, right_answers(on_time), now=at(DAY, 10, 2, 4))  # within the grace
    assert done.correct == 5 and done.duration_ms == 120_000  # counted as the limit, not more


def test_attempts_per_day_and_the_window(edition, citizens):
    quiz = edition(attempts_per_day=2)
    (a,) = citizens(1)
    for minute in (0, 5):
        attempt = services.start_attempt(quiz, a, now=at(DAY, 9, minute))
        services.submit_attempt(attempt, {}, now=at(DAY, 9, minute, 30))
    with pytest.raises(DomainError) as refused:
        services.start_attempt(quiz, a, now=at(DAY, 20))
    assert refused.value.code == "no_attempts_left"
    assert services.start_attempt(quiz, a, now=at(DAY + timedelta(days=1), 0, 5))  # a new local day
    for moment in (quiz.opens_at - timedelta(seconds=1), quiz.closes_at):
        with pytest.raises(DomainError) as closed:
            services.start_attempt(quiz, a, now=moment)
        assert closed.value.code == "quiz_closed"


def test_ranking_by_score_then_time_keeps_each_citizens_best(edition, citizens):
    quiz = edition(attempts_per_day=3)
    a, b, c = citizens(3)

    def take(citizen, minute, seconds, answers):
        attempt = services.start_attempt(quiz, citizen, now=at(DAY, 9, minute))
        return services.submit_attempt(attempt, answers(attempt), now=at(DAY, 9, minute, seconds))

    take(a, 0, 50, right_answers)  # 5 right in 50 s
    take(b, 0, 30, right_answers)  # 5 right in 30 s: ahead of a
    take(c, 0, 10, wrong_answers)  # 0 right, fastest
    take(a, 10, 40, wrong_answers)  # a worse attempt does not replace a's best
    assert [services.quiz_rank(quiz, x)["rank"] for x in (b, a, c)] == [1, 2, 3]
    assert services.quiz_rank(quiz, a) == {"rank": 2, "correct": 5, "duration_ms": 50_000}
    take(a, 20, 20, right_answers)  # a better one does
    assert services.quiz_rank(quiz, a)["rank"] == 1


def test_pass_points_once_and_top_n_prizes_after_closing(edition, campaign, citizens):
    made = campaign()
    services.fund_campaign(made, 1000)
    quiz = edition(campaign=made, pass_points=30, top_n=1, top_points=100, attempts_per_day=3)
    a, b = citizens(2)
    for minute in (0, 10):
        attempt = services.start_attempt(quiz, a, now=at(DAY, 9, minute))
        services.submit_attempt(attempt, right_answers(attempt), now=at(DAY, 9, minute, 20 + minute))
    attempt = services.start_attempt(quiz, b, now=at(DAY, 9))
    services.submit_attempt(attempt, wrong_answers(attempt), now=at(DAY, 9, 0, 5))
    assert list(Award.objects.values_list("citizen", "kind", "points")) == [(a.pk, "quiz_pass", 30)]

    with pytest.raises(DomainError) as early:
        services.award_quiz_prizes(quiz, now=at(DAY, 12))
    assert early.value.code == "quiz_still_open"
    result = services.award_quiz_prizes(quiz, now=quiz.closes_at)
    assert result["paid"] == 1 and services.award_quiz_prizes(quiz, now=quiz.closes_at)["paid"] == 0
    assert Award.objects.get(kind="quiz_top").citizen == a
    assert services.budget(made)["balance"] == 1000 - 30 - 100
