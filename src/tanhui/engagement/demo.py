"""`tanhui engagement demo-data`: the low-carbon day as a city runs it, on top of the demo city.

Two campaigns: the energy-saving week with the low-carbon day on its third day, laid on the last
seven days that have reductions (units with their roles and plan/summary deadlines, main, peripheral
and branch venues, the 少开一天车 pledge, a bonus for green trips), and a standing campaign from
today that pays check-ins at schools and scenic spots and the knowledge contest. Citizens who can
sign in to the demo, and a share of the others, take part through the same services a browser
would call. Rerunnable: a second run only awards what is due and catches the rollups up.
"""

import json
import random
from datetime import datetime, time, timedelta
from io import BytesIO
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from reportlab.pdfgen import canvas

from tanhui.core.errors import DomainError
from tanhui.core.timeutil import SHANGHAI, local_date
from tanhui.engagement import reports, rollups, services, tokens
from tanhui.engagement.models import (
    Campaign,
    CampaignUnit,
    Certification,
    PledgeTask,
    Question,
    QuizEdition,
    Team,
    TeamChallenge,
    UnitReport,
    Venue,
)
from tanhui.ingest.models import Reduction
from tanhui.methodology.models import Scenario
from tanhui.people.models import Citizen, Community, Organisation, User

WEEK_CODE = "energy-week"
STANDING_CODE = "low-carbon-life"
QUIZ_CODE = "energy-quiz"
Kind = Organisation.Kind
UNITS = [  # organisation, kind, role, duty
    ("云澜市生态环境局", Kind.GOVERNMENT, CampaignUnit.Role.LEAD, "总体方案、主会场活动"),
    ("云澜市节能减排中心", Kind.PUBLIC_INSTITUTION, CampaignUnit.Role.IMPLEMENTING, "主会场、外围场、知识竞赛"),
    ("云澜市发展和改革委员会", Kind.GOVERNMENT, CampaignUnit.Role.SUPPORTING, "低碳倡议"),
    ("云澜市节能协会", Kind.ENTERPRISE, CampaignUnit.Role.SUPPORTING, "知识竞赛试题"),
    ("云澜市机关事务管理局", Kind.PUBLIC_INSTITUTION, CampaignUnit.Role.BRANCH, "公共机构分会场"),
    ("云澜市第一中学", Kind.SCHOOL, CampaignUnit.Role.BRANCH, "校园分会场"),
]
TEAMS = [("云澜市机关事务管理局", 120), ("云澜市第一中学", 180), ("云澜市节能减排中心", 60)]


def _day_at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def run(seed: int = 20240515, share: float = 0.3) -> dict:
    now = timezone.now()
    if Campaign.objects.filter(code=WEEK_CODE).exists():
        return _award_all(now, created=False)
    last = Reduction.objects.aggregate(last=Max("local_date"))["last"] or local_date(now)
    rng = random.Random(seed)
    with transaction.atomic():
        organisations = {name: Organisation.objects.get_or_create(kind=kind, name=name)[0]
                         for name, kind, _, _ in UNITS}
        week = _energy_week(last, organisations)
        standing = _standing(now, organisations)
        _questions()
        quiz = QuizEdition.objects.create(
            code=QUIZ_CODE, title="云澜市节能低碳知识竞赛", campaign=standing, status=QuizEdition.Status.PUBLISHED,
            opens_at=now - timedelta(days=3), closes_at=now + timedelta(days=30), question_count=10,
            time_limit_seconds=300, attempts_per_day=3, pass_percent=60, pass_points=20, top_n=10, top_points=100,
            prize_note="前十名另获节能知识答题纪念奖品")
        teams = [Team.objects.get_or_create(organisation=organisations[name], defaults={"headcount": n})[0]
                 for name, n in TEAMS]
        challenge = TeamChallenge.objects.create(name="公共机构绿色出行挑战赛", campaign=week,
                                                 starts_on=week.starts_on, ends_on=week.ends_on)
        challenge.teams.set(teams)
    people = _participants(rng, share)
    _take_part(rng, people, week, standing, quiz, teams, now)
    _certifications(people)
    return _award_all(now, created=True)


def _energy_week(last, organisations) -> Campaign:
    """The seven days up to the last day with data; the low-carbon day is the third."""
    starts = last - timedelta(days=6)
    week = Campaign.objects.create(
        code=WEEK_CODE, name=f"{starts.year} 年云澜市节能宣传周和全国低碳日", kind=Campaign.Kind.ENERGY_WEEK,
        theme="绿色转型，节能攻坚；绿色低碳，美丽中国", starts_on=starts, ends_on=last,
        status=Campaign.Status.PUBLISHED, bonus_mode=Campaign.BonusMode.MULTIPLIER, bonus_percent=20, bonus_cap=500,
        plan_due=starts - timedelta(days=10), summary_due=last + timedelta(days=3),
        description="线上线下结合，“主会场+外围场+分会场”：发布宣传片、低碳倡议、低碳社区授牌、低碳生活主题公益市集、"
                    "节能低碳知识竞赛；倡导“少开一天车”，活动期间绿色出行减排积分加成 20%。")
    week.scenarios.set(Scenario.objects.filter(kind=Scenario.Kind.TRIP))
    services.fund_campaign(week, 200_000, memo="市生态环境局活动预算")
    units = {}
    for name, _, role, duty in UNITS:
        units[name] = CampaignUnit.objects.create(campaign=week, organisation=organisations[name], role=role,
                                                  duty=duty, must_report=role != CampaignUnit.Role.LEAD)
    Venue.objects.create(code="main-hall", name="云澜市民中心（主会场）", kind=Venue.Kind.OTHER,
                         role=Venue.Role.MAIN, campaign=week, unit=units["云澜市节能减排中心"], points=20)
    Venue.objects.create(code="green-market", name="低碳生活主题公益市集（外围场）", kind=Venue.Kind.OTHER,
                         role=Venue.Role.PERIPHERAL, campaign=week, unit=units["云澜市节能减排中心"], points=10)
    Venue.objects.create(code="school-branch", name="云澜市第一中学（分会场）", kind=Venue.Kind.SCHOOL,
                         role=Venue.Role.BRANCH, campaign=week, unit=units["云澜市第一中学"], points=10)
    task = PledgeTask.objects.create(campaign=week, title="少开一天车", day=starts + timedelta(days=2), points=30,
                                     description="全国低碳日当天乘坐公共交通、骑行或步行上下班")
    task.scenarios.set(Scenario.objects.filter(kind=Scenario.Kind.TRIP))
    _reports(week, units)
    return week


def _pdf(text: str) -> bytes:
    out = BytesIO()
    page = canvas.Canvas(out)
    page.setFont(reports.FONT, 14)
    page.drawString(72, 760, text)
    page.save()
    return out.getvalue()


def _upload(name: str, text: str) -> ContentFile:
    upload = ContentFile(_pdf(text))
    upload.name = name
    return upload


def _reports(week: Campaign, units: dict) -> None:
    """Plans: most on time, one late, one missing — what the overview is for."""
    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).first()
    if admin is None:
        return
    on_time = datetime.combine(week.plan_due - timedelta(days=2), time(10), tzinfo=SHANGHAI)
    late = datetime.combine(week.plan_due + timedelta(days=3), time(16), tzinfo=SHANGHAI)
    for name, when in (("云澜市节能减排中心", on_time), ("云澜市节能协会", on_time), ("云澜市第一中学", late)):
        report = services.submit_report(units[name], UnitReport.Kind.PLAN, _upload(f"{name}活动方案.pdf",
                                        f"{name}节能宣传周活动方案（演示）"), admin, note="活动方案")
        UnitReport.objects.filter(pk=report.pk).update(submitted_at=when)  # as if sent on that day


def _standing(now, organisations) -> Campaign:
    today = local_date(now)
    standing = Campaign.objects.create(
        code=STANDING_CODE, name="低碳打卡与知识竞赛（常态化）", kind=Campaign.Kind.OTHER,
        theme="知名景点、学校碳普惠低碳打卡", starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365),
        status=Campaign.Status.PUBLISHED)
    services.fund_campaign(standing, 100_000, memo="常态化活动预算")
    host = CampaignUnit.objects.create(campaign=standing, organisation=organisations["云澜市节能减排中心"],
                                       role=CampaignUnit.Role.IMPLEMENTING, must_report=False)
    for code, name, kind in (("lake-park", "云澜湖湿地公园", Venue.Kind.SCENIC),
                             ("science-museum", "云澜科技馆", Venue.Kind.SCENIC),
                             ("no1-school", "云澜市第一中学", Venue.Kind.SCHOOL),
                             ("harbour-community", "港湾社区党群服务中心", Venue.Kind.COMMUNITY_CENTRE)):
        Venue.objects.create(code=code, name=name, kind=kind, role=Venue.Role.CHECKIN, campaign=standing, unit=host,
                             points=10)
    return standing


def _questions() -> None:
    for item in json.loads((Path(__file__).parent / "fixtures" / "demo_questions.json").read_text()):
        Question.objects.update_or_create(code=item.pop("code"), defaults=item)


def _participants(rng: random.Random, share: float) -> list[Citizen]:
    """The citizens who can sign in to the demo, and a random share of the others with bindings."""
    citizens = list(Citizen.objects.filter(status=Citizen.Status.ACTIVE, bindings__isnull=False).distinct()
                    .select_related("user").order_by("pk"))
    logins = [c for c in citizens if c.user.has_usable_password()]
    others = [c for c in citizens if not c.user.has_usable_password()]
    return logins + rng.sample(others, int(len(others) * share))


def _take_part(rng, people, week, standing, quiz, teams, now) -> None:
    task = week.pledge_tasks.get()
    venues = list(week.venues.all())
    for i, citizen in enumerate(people):
        try:
            services.enrol(week, citizen)
            if rng.random() < 0.6:
                services.pledge(task, citizen, now=_day_at(task.day - timedelta(days=1), 20))
            if rng.random() < 0.3:
                venue = rng.choice(venues)
                moment = _day_at(task.day, rng.randint(9, 16), rng.randint(0, 59))
                services.check_in(citizen, venue, tokens.current(venue, moment)[0], now=moment)
            if rng.random() < 0.4:
                services.join_team(citizen, rng.choice(teams).join_code)
            if rng.random() < 0.5:
                _take_quiz(rng, quiz, citizen, now - timedelta(hours=rng.randint(1, 60), minutes=i % 60))
        except DomainError:  # e.g. a citizen outside a campaign's district: skipped, as on the site
            continue


def _take_quiz(rng, quiz: QuizEdition, citizen: Citizen, started: datetime) -> None:
    attempt = services.start_attempt(quiz, citizen, now=started)
    answers = {}
    for question in Question.objects.filter(pk__in=attempt.question_ids):
        right = rng.random() < 0.75
        answers[str(question.pk)] = question.answer if right else [(question.answer[0] + 1) % len(question.options)]
    services.submit_attempt(attempt, answers, now=started + timedelta(seconds=rng.randint(60, 290)))


def _certifications(people: list[Citizen]) -> None:
    """One community awarded at the low-carbon day, one waiting for review."""
    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).first()
    applicants = {}
    for citizen in people:
        community_id = services.community_of(citizen)
        if community_id and community_id not in applicants:
            applicants[community_id] = citizen
    for (community_id, citizen), award in zip(applicants.items(), (True, False), strict=False):
        made = services.apply_certification(
            citizen.user, Community.objects.get(pk=community_id), Certification.Level.LOW_CARBON,
            "社区开展节能改造、绿色出行倡议、低碳宣传进楼道等活动。",
            [_upload("创建台账.pdf", "社区低碳创建台账（演示）")])
        if award and admin:
            services.review_certification(made, admin, "approve")
            services.award_certification(made, admin, campaign=Campaign.objects.get(code=WEEK_CODE))


def _award_all(now, *, created: bool) -> dict:
    week = Campaign.objects.get(code=WEEK_CODE)
    result = services.award_bonuses(week, now=now)
    rolled = rollups.catch_up(now)
    return {"created": created, "campaigns": Campaign.objects.count(), "venues": Venue.objects.count(),
            "questions": Question.objects.count(), "enrolled": week.enrolments.count(),
            "bonus_points": result["bonus_points"], "pledges_fulfilled": result["pledges_fulfilled"],
            "budget_left": result["budget_left"], "rolled_up_batches": result["rolled_up_batches"] + rolled["batches"]}
