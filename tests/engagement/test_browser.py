"""In Debian's chromium (the portal's Playwright fixtures): a citizen takes the knowledge contest,
passes, and finds themselves on the quiz ranking and on the day's leaderboard; the answer sheet
carries no answer before it is handed in. Phone-sized and desktop-sized; screenshots go to
test-artifacts/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tanhui.engagement import rollups, services
from tanhui.engagement.models import Question, QuizEdition
from tests.portal.test_browser import chromium, session, viewport  # noqa: F401 - fixtures used by name

pytestmark = pytest.mark.browser

PHONE = "13800000000"  # citizens(…)[0]


@pytest.fixture
def contest(edition, campaign, citizens):
    """An open contest paying 30 points for a pass, and two other citizens on today's board."""
    today = timezone.localdate()
    made = campaign(starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1))
    services.fund_campaign(made, 1000)
    quiz = edition(campaign=made, pass_points=30, question_count=5)
    QuizEdition.objects.filter(pk=quiz.pk).update(opens_at=timezone.now() - timedelta(hours=1),
                                                  closes_at=timezone.now() + timedelta(days=1))
    me, ahead, behind = citizens(3)
    rollups.add([(ahead.pk, today, 0, 100), (behind.pk, today, 0, 10)])
    return quiz, me


def test_a_citizen_takes_a_quiz_and_finds_themselves_on_the_leaderboard(session, contest):  # noqa: F811
    quiz, me = contest
    s = session()
    page = s.page
    s.login(PHONE)
    page.wait_for_url("**/me/")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="知识竞赛").click()
    page.locator(f"#quiz-{quiz.code}").get_by_role("button", name="开始答题").click()
    page.wait_for_url("**/engagement/attempts/*/")
    assert "解析" not in page.content() and "正确答案" not in page.content()
    s.shot("engagement-quiz-sheet")

    answers = {q.text: q.answer[0] for q in Question.objects.all()}
    questions = page.locator("fieldset.question")
    assert questions.count() == 5
    for i in range(5):
        question = questions.nth(i)
        text = question.locator("legend").inner_text().split(". ", 1)[1]
        question.get_by_role("radio").nth(answers[text]).check()
    page.get_by_role("button", name="交卷").click()
    assert "答对 5 / 5 题" in page.locator("#result-title").inner_text()
    assert "达标" in page.locator("#result").inner_text()
    s.shot("engagement-quiz-result")

    page.get_by_role("link", name="查看竞赛排名").click()
    assert page.locator("#my-quiz-rank").inner_text() == "第 1 名"
    assert "（我）" in page.locator("#quiz-ranking tr.me").inner_text()

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="排行榜").click()
    page.get_by_label("周期").select_option("day")
    page.get_by_role("button", name="查看").click()
    mine = page.locator("#board tr.me")
    assert mine.count() == 1 and "市**" in mine.inner_text() and "30" in mine.inner_text()
    assert "第 2 名" in page.locator("#my-place").inner_text()
    s.shot("engagement-leaderboard")
