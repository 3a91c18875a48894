"""`tanhui engagement …`: each subcommand prints exactly one JSON object with --json, fails with a
reason on stderr, and the demo data is rerunnable."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook

from tanhui.engagement import services
from tanhui.engagement.models import Award, Campaign, Certification, QuizEdition

from .conftest import DAY, trip

pytestmark = pytest.mark.django_db


def run(*args) -> dict:
    out = StringIO()
    call_command("engagement", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_fund_award_and_report(tmp_path, campaign, citizens, ingest):
    made = campaign()
    assert run("fund", made.code, "--points", "1000", "--memo", "低碳日")["balance"] == 1000
    (a,) = citizens(1)
    services.enrol(made, a)
    ingest([trip("T1", "M-0", DAY)])
    first = run("award-bonuses", made.code, "--through", "2024-05-15")
    assert (first["bonus_awards"], first["bonus_points"], first["budget_left"]) == (1, 234, 766)
    assert run("award-bonuses", made.code, "--through", "2024-05-15")["bonus_awards"] == 0
    result = run("report", made.code, "--out", str(tmp_path / "report.xlsx"))
    assert result["participants"] == 1 and result["award_points"] == 234
    assert load_workbook(tmp_path / "report.xlsx").sheetnames[0] == "概况"
    assert run("rollup")["batches"] == 0


def test_errors_exit_non_zero_with_a_reason(campaign):
    with pytest.raises(CommandError, match="unknown campaign"):
        run("award-bonuses", "no-such")
    made = campaign()
    with pytest.raises(CommandError, match="invalid_amount"):
        run("fund", made.code, "--points", "0")


def test_questions_round_trip_and_quiz_prizes(tmp_path, edition, campaign):
    quiz = edition(campaign=campaign(), top_n=3, top_points=10)
    exported = run("export-questions", str(tmp_path / "bank.xlsx"))
    assert exported["bytes"] > 0
    assert run("import-questions", str(tmp_path / "bank.xlsx"))["updated"] == 12
    QuizEdition.objects.filter(pk=quiz.pk).update(closes_at=timezone.now() + timedelta(days=1))
    with pytest.raises(CommandError, match="quiz_still_open"):
        run("quiz-prizes", quiz.code)
    QuizEdition.objects.filter(pk=quiz.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    assert run("quiz-prizes", quiz.code)["winners"] == 0


def test_demo_data_is_rerunnable(citizens, ingest, staff):
    staff("admin", username="admin")
    people = citizens(6)
    for citizen in people:
        citizen.user.set_password("demo-pass-123")
        citizen.user.save()
    ingest([trip(f"T{i}-{d}", f"M-{i}", DAY.replace(day=10 + d)) for i in range(6) for d in range(5)])
    first = run("demo-data")
    assert first["created"] and first["campaigns"] == 2 and first["enrolled"] == 6
    assert Certification.objects.filter(status="awarded").count() == 1
    awards = Award.objects.count()
    again = run("demo-data")
    assert not again["created"] and again["bonus_points"] == 0 and Award.objects.count() == awards
    week = Campaign.objects.get(code="energy-week")
    assert week.ends_on == DAY.replace(day=14) and services.budget(week)["paid"] > 0
