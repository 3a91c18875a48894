"""Pages and permissions: what the public, citizens, unit staff and administrators may open; the
citizen's flows through plain forms (enrol, pledge, check in, take a quiz); organisers' uploads and
the reporting overview; the campaign report as Excel; the venue's rotating QR screen."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from tanhui.engagement import services, tokens
from tanhui.engagement.models import (
    Attempt,
    Campaign,
    CampaignUnit,
    CheckIn,
    Enrolment,
    Pledge,
    QuizEdition,
    TeamChallenge,
    UnitReport,
)
from tanhui.methodology.models import Scenario
from tanhui.people.models import Organisation

from .conftest import DAY, right_answers, trip

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_campaign(campaign):
    """A campaign running today (pages act at the real time)."""
    today = timezone.localdate()
    made = campaign(starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=5))
    services.fund_campaign(made, 1000)
    return made


@pytest.fixture
def open_quiz(edition):
    made = edition()
    QuizEdition.objects.filter(pk=made.pk).update(opens_at=timezone.now() - timedelta(hours=1),
                                                  closes_at=timezone.now() + timedelta(days=1))
    made.refresh_from_db()
    return made


@pytest.fixture
def unit_staff(staff, live_campaign):
    """A department user whose organisation is a branch unit of the live campaign."""
    organisation = Organisation.objects.create(kind="public_institution", name="云澜市机关事务管理局")
    unit = CampaignUnit.objects.create(campaign=live_campaign, organisation=organisation, role="branch")
    user = staff("department", organisation, username="unit-staff")
    return user, unit


PUBLIC = ["/engagement/", "/engagement/leaderboards/", "/engagement/quizzes/", "/engagement/certified/",
          "/engagement/leaderboards/?board=communities&scope=month", "/engagement/leaderboards/?board=districts"]
CITIZEN_ONLY = ["/engagement/community/", "/engagement/checkin/school-1/"]
ADMIN_ONLY = ["/engagement/manage/campaigns/lcd-2024/", "/engagement/manage/quizzes/",
              "/engagement/manage/certifications/", "/engagement/manage/campaigns/lcd-2024/report/",
              "/engagement/manage/campaigns/lcd-2024/report.xlsx", "/engagement/manage/quizzes/bank.xlsx"]


def test_who_may_open_what(client, live_campaign, venue, citizens, staff, unit_staff, open_quiz):
    venue(made=live_campaign)
    (a,) = citizens(1)
    challenge = TeamChallenge.objects.create(name="挑战赛", starts_on=DAY, ends_on=DAY)
    public = PUBLIC + [f"/engagement/campaigns/{live_campaign.code}/", f"/engagement/challenges/{challenge.pk}/",
                       f"/engagement/quizzes/{open_quiz.code}/ranking/"]
    admin_only = ADMIN_ONLY + [f"/engagement/manage/quizzes/{open_quiz.code}/"]
    draft = Campaign.objects.create(code="draft", name="草稿", starts_on=DAY, ends_on=DAY)
    assert client.get(f"/engagement/campaigns/{draft.code}/").status_code == 404
    for path in public:
        assert client.get(path).status_code == 200, path
    for path in CITIZEN_ONLY + admin_only + ["/engagement/manage/"]:
        assert client.get(path).status_code == 302, path  # to the login page

    client.force_login(a.user)
    for path in public + CITIZEN_ONLY:
        assert client.get(path).status_code == 200, path
    for path in admin_only + ["/engagement/manage/"]:
        assert client.get(path).status_code == 403, path

    client.force_login(unit_staff[0])
    assert client.get("/engagement/manage/").status_code == 200
    assert client.get(f"/engagement/manage/units/{unit_staff[1].pk}/").status_code == 200
    for path in admin_only + CITIZEN_ONLY:
        assert client.get(path).status_code == 403, path

    client.force_login(staff("admin"))
    for path in admin_only + ["/engagement/manage/", f"/engagement/manage/units/{unit_staff[1].pk}/"]:
        assert client.get(path).status_code == 200, path


def test_a_citizen_enrols_pledges_and_checks_in_with_plain_forms(client, live_campaign, pledge_task, venue, citizens):
    today = timezone.localdate()
    task = pledge_task(live_campaign)
    task.day = today
    task.save()
    place = venue(made=live_campaign)
    (a,) = citizens(1)
    client.force_login(a.user)

    client.post(f"/engagement/campaigns/{live_campaign.code}/enrol/")
    client.post(f"/engagement/pledges/{task.pk}/")
    token = tokens.current(place)[0]
    page = client.get(f"/engagement/checkin/{place.code}/?t={token}").content.decode()
    assert f'value="{token}"' in page
    done = client.post(f"/engagement/checkin/{place.code}/", {"token": token}, follow=True)
    assert "打卡成功" in done.content.decode()
    again = client.post(f"/engagement/checkin/{place.code}/", {"token": tokens.current(place)[0]}, follow=True)
    assert "今天已在该场所打过卡" in again.content.decode()
    assert Enrolment.objects.filter(citizen=a).count() == 1 and Pledge.objects.get().citizen == a
    assert CheckIn.objects.get().points == 10


def test_the_quiz_page_shows_no_answers_until_submitted(client, open_quiz, citizens):
    (a,) = citizens(1)
    client.force_login(a.user)
    started = client.post(f"/engagement/quizzes/{open_quiz.code}/start/", follow=True)
    sheet = started.content.decode()
    attempt = Attempt.objects.get()
    assert started.redirect_chain[-1][0] == f"/engagement/attempts/{attempt.pk}/"
    assert "解析" not in sheet and "正确答案" not in sheet and sheet.count('type="radio"') == 5 * 4

    answers = {f"q{qid}": str(choice[0]) for qid, choice in right_answers(attempt).items()}
    result = client.post(f"/engagement/attempts/{attempt.pk}/", answers, follow=True).content.decode()
    assert "答对 5 / 5 题" in result and result.count("正确答案") == 5 and "解析 " in result
    ranking = client.get(f"/engagement/quizzes/{open_quiz.code}/ranking/").content.decode()
    assert 'class="me"' in ranking and "市*" in ranking


def test_another_citizens_attempt_page_is_not_found(client, open_quiz, citizens):
    a, b = citizens(2)
    attempt = services.start_attempt(open_quiz, a)
    client.force_login(b.user)
    assert client.get(f"/engagement/attempts/{attempt.pk}/").status_code == 404
    assert client.post(f"/engagement/attempts/{attempt.pk}/", {}).status_code == 404


def test_unit_staff_upload_plans_and_the_overview_shows_what_is_late_or_missing(client, live_campaign, unit_staff,
                                                                                 staff):
    user, unit = unit_staff
    other = CampaignUnit.objects.create(campaign=live_campaign, role="branch",
                                        organisation=Organisation.objects.create(kind="school", name="云澜市第一中学"))
    Campaign.objects.filter(pk=live_campaign.pk).update(plan_due=timezone.localdate() - timedelta(days=1),
                                                        summary_due=timezone.localdate() + timedelta(days=3))
    client.force_login(user)
    plan = SimpleUploadedFile("活动方案.pdf", b"%PDF-1.4 plan", content_type="application/pdf")
    client.post(f"/engagement/manage/units/{unit.pk}/", {"kind": "plan", "file": plan, "note": "分会场方案"})
    refused = client.post(f"/engagement/manage/units/{unit.pk}/", {"kind": "summary", "note": "",
                                                                  "file": SimpleUploadedFile("x.exe", b"MZ")},
                          follow=True)
    assert "仅接受" in refused.content.decode()
    assert client.get(f"/engagement/manage/units/{other.pk}/").status_code == 404  # not their unit
    report = UnitReport.objects.get()
    assert client.get(f"/engagement/manage/reports/{report.pk}/").status_code == 200

    client.force_login(staff("admin"))
    overview = client.get(f"/engagement/manage/campaigns/{live_campaign.code}/").content.decode()
    table = overview.split('id="reporting"', 1)[1].split("</table>", 1)[0]
    assert table.count("逾期报送") == 1 and table.count("未报送（已逾期）") == 1 and table.count("未到截止日期") == 2


def test_administrator_runs_a_campaign_from_the_pages(client, staff, citizens, ingest, reference_data):
    client.force_login(staff("admin"))
    today = timezone.localdate()
    created = client.post("/engagement/manage/", {
        "code": "lcd", "name": "全国低碳日", "kind": "low_carbon_day", "starts_on": today - timedelta(days=3),
        "ends_on": today, "bonus_mode": "fixed", "bonus_points": 50, "bonus_cap": 50,
        "scenarios": [Scenario.objects.get(code="metro").pk]})
    assert created.status_code == 302, created.context["form"].errors
    made = Campaign.objects.get(code="lcd")
    client.post("/engagement/manage/campaigns/lcd/status/", {"status": "published"})
    client.post("/engagement/manage/campaigns/lcd/fund/", {"points": 500, "memo": "低碳日预算"})
    (a,) = citizens(1)
    services.enrol(Campaign.objects.get(code="lcd"), a)
    ingest([trip("T1", "M-0", today - timedelta(days=1))])
    client.post("/engagement/manage/campaigns/lcd/award/")
    assert services.budget(made) == {"funded": 500, "paid": 50, "balance": 450}
    workbook = load_workbook(BytesIO(client.get("/engagement/manage/campaigns/lcd/report.xlsx").content))
    assert workbook.sheetnames == ["概况", "按行政区", "按单位", "场所打卡", "方案与总结报送"]
    summary = {row[0]: row[1] for row in workbook["概况"].iter_rows(min_row=2, values_only=True)}
    assert summary["参与人数"] == 1 and summary["奖励积分"] == 50
    assert [r[0] for r in workbook["按行政区"].iter_rows(min_row=2, values_only=True)] == ["南山区"]


def test_venue_screen_for_admins_and_the_host_unit_only(client, live_campaign, venue, unit_staff, staff):
    user, unit = unit_staff
    hosted = venue("hosted", made=live_campaign, unit=unit)
    elsewhere = venue("elsewhere", made=live_campaign)
    client.force_login(user)
    screen = client.get(f"/engagement/manage/venues/{hosted.code}/display/").content.decode()
    assert tokens.current(hosted)[0] in screen and "data:image/svg+xml;base64," in screen
    assert 'http-equiv="refresh"' in screen
    assert client.get(f"/engagement/manage/venues/{elsewhere.code}/display/").status_code == 403
    api = client.get(f"/api/v1/engagement/venues/{elsewhere.code}/token")
    assert api.status_code == 403
    client.force_login(staff("admin"))
    body = client.get(f"/api/v1/engagement/venues/{elsewhere.code}/token").json()
    assert body["path"] == f"/engagement/checkin/elsewhere/?t={body['token']}"


def test_organiser_api_routes_are_for_administrators(client, live_campaign, citizens, staff):
    (a,) = citizens(1)
    client.force_login(a.user)
    for method, path in (("get", "budget"), ("post", "fund"), ("post", "award-bonuses")):
        response = getattr(client, method)(f"/api/v1/engagement/campaigns/{live_campaign.code}/{path}",
                                           {"points": 5}, content_type="application/json")
        assert response.status_code == 403, path
    client.force_login(staff("admin"))
    funded = client.post(f"/api/v1/engagement/campaigns/{live_campaign.code}/fund", {"points": 5, "memo": ""},
                         content_type="application/json")
    assert funded.json() == {"funded": 1005, "paid": 0, "balance": 1005}


def test_leaderboard_api_and_own_place(client, citizens):
    from tanhui.engagement import rollups

    a, b = citizens(2)
    rollups.add([(a.pk, DAY, 0, 40), (b.pk, DAY, 0, 60)])
    board = client.get("/api/v1/engagement/leaderboards/citizens?scope=day&day=2024-05-15").json()
    assert [(r["rank"], r["name"], r["points"], r["me"]) for r in board["rows"]] == [
        (1, "市**", 60, False), (2, "市**", 40, False)]
    assert client.get("/api/v1/engagement/leaderboards/citizens/me").status_code == 401
    client.force_login(a.user)
    assert client.get("/api/v1/engagement/leaderboards/citizens/me?scope=day&day=2024-05-15").json()["rank"] == 2
    assert client.get("/api/v1/engagement/leaderboards/citizens/me?scope=day&day=2024-05-16").status_code == 204
    mine = client.get("/api/v1/engagement/leaderboards/citizens?scope=day&day=2024-05-15").json()["rows"]
    assert [r["me"] for r in mine] == [False, True]
