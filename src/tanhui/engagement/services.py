"""The write path of engagement: campaign budgets and awards, bonuses, pledges, check-ins, quizzes,
memberships, unit reports and community certification.

Points move only through the ledger: a campaign's budget account (`named_account("campaign", code)`)
is funded from issuance and pays every award. Payments of one campaign are serialised by a lock on
its row, and each pays at most what the account still holds; the ledger's non-negative check on
campaign accounts (they cannot overdraw) is the backstop. Every award's ledger idempotency key is
also unique in `Award`, so reruns never pay twice.
"""

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError, NotAllowed
from tanhui.core.timeutil import local_date
from tanhui.core.units import MG_PER_POINT
from tanhui.engagement import rollups, tokens
from tanhui.engagement.access import units_of
from tanhui.engagement.models import (
    Attempt,
    Award,
    Campaign,
    CampaignUnit,
    Certification,
    CertificationMaterial,
    CheckIn,
    Enrolment,
    Funding,
    Membership,
    Pledge,
    PledgeTask,
    Question,
    QuizBest,
    QuizEdition,
    Team,
    UnitReport,
    Venue,
)
from tanhui.ingest.models import Reduction
from tanhui.ledger import services as ledger
from tanhui.people.models import Citizen, Community, User

SUBMIT_GRACE = timedelta(seconds=5)  # network time between the browser's last second and the server
PLEDGE_GRACE_DAYS = 3  # providers' records of a day may arrive this late
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".jpg", ".jpeg", ".png", ".zip")


# Budget and awards -------------------------------------------------------------------------------

def budget_account(campaign: Campaign) -> int:
    return ledger.named_account(ledger.AccountKind.CAMPAIGN, campaign.code)


def budget(campaign: Campaign) -> dict:
    funded = campaign.fundings.aggregate(s=Sum("points"))["s"] or 0
    paid = campaign.awards.aggregate(s=Sum("points"))["s"] or 0
    return {"funded": funded, "paid": paid, "balance": ledger.balance(budget_account(campaign))[ledger.POINTS]}


def fund_campaign(campaign: Campaign, points: int, *, by: User | None = None, memo: str = "") -> Funding:
    """Tops the budget up with points minted from issuance (the bureau's or a sponsor's allocation)."""
    if type(points) is not int or points <= 0:
        raise DomainError("invalid_amount", "拨付积分须为正整数")
    with transaction.atomic():
        funding = Funding.objects.create(campaign=campaign, points=points, memo=memo[:200], created_by=by)
        account = budget_account(campaign)
        issuer = ledger.system_account(ledger.AccountKind.ISSUANCE, ledger.shard_of(account))
        ledger.post_transactions([ledger.move_points(
            issuer, account, points, kind=ledger.Kind.TRANSFER, idempotency_key=f"engagement:fund:{funding.pk}",
            ref_type="engagement.funding", ref_id=str(funding.pk), memo=f"活动预算 {campaign.code}")])
    return funding


@dataclass(frozen=True)
class Payout:
    citizen_id: int
    kind: str
    day: date
    points: int
    key: str
    memo: str = ""


@dataclass
class Paid:
    awards: list[Award]
    unpaid: int  # points the budget could not cover


def _lock(campaign: Campaign) -> Campaign:
    """Serialises the payments of one campaign (PostgreSQL row lock; SQLite holds its write lock). A
    no-key lock, so rows that only refer to the campaign (enrolments, attempts) are not held up by it."""
    return Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)


def _pay(campaign: Campaign, payouts: list[Payout], *, partial: bool = True) -> Paid:
    """Pays in order while the budget lasts: a payout the rest of the budget cannot cover is cut to
    what is left (`partial`) or skipped. Keys already paid are skipped. Caller holds `_lock`."""
    done = set(Award.objects.filter(idempotency_key__in=[p.key for p in payouts]).values_list("idempotency_key",
                                                                                               flat=True))
    account = budget_account(campaign)
    left = ledger.balance(account)[ledger.POINTS]
    todo, unpaid = [], 0
    for payout in payouts:
        if payout.key in done or payout.points <= 0:
            continue
        points = min(payout.points, left) if partial else (payout.points if payout.points <= left else 0)
        unpaid += payout.points - points
        if points:
            todo.append((payout, points))
            left -= points
    if not todo:
        return Paid([], unpaid)
    accounts = ledger.citizen_accounts(p.citizen_id for p, _ in todo)
    results = ledger.post_transactions([
        ledger.move_points(account, accounts[p.citizen_id], points, kind=ledger.Kind.BONUS, idempotency_key=p.key,
                           ref_type=f"engagement.{p.kind}", ref_id=str(campaign.pk), memo=p.memo[:200])
        for p, points in todo])
    awards = Award.objects.bulk_create([
        Award(campaign=campaign, citizen_id=p.citizen_id, kind=p.kind, local_date=p.day, points=points,
              idempotency_key=p.key, tx_id=result.tx_id, memo=p.memo[:200])
        for (p, points), result in zip(todo, results, strict=True)])
    rollups.add((a.citizen_id, a.local_date, 0, a.points) for a in awards)
    return Paid(awards, unpaid)


def enrol(campaign: Campaign, citizen: Citizen) -> Enrolment:
    if campaign.status != Campaign.Status.PUBLISHED:
        raise DomainError("campaign_not_open", "活动未发布或已结束")
    if campaign.district_id and citizen.district_id != campaign.district_id:
        raise NotAllowed("outside_campaign_area", "本活动仅限活动所在区的市民参加")
    return Enrolment.objects.get_or_create(campaign=campaign, citizen=citizen)[0]


# Campaign bonuses and pledges --------------------------------------------------------------------

def bonus_for(campaign: Campaign, day_mg: int) -> int:
    """The bonus one qualifying day earns, before the per-citizen cap."""
    if day_mg <= 0:
        return 0
    if campaign.bonus_mode == Campaign.BonusMode.MULTIPLIER:
        return (day_mg // MG_PER_POINT) * campaign.bonus_percent // 100
    if campaign.bonus_mode == Campaign.BonusMode.FIXED:
        return campaign.bonus_points
    return 0


def _qualifying_days(campaign: Campaign, first: date, last: date) -> list[tuple[int, date, int]]:
    """(citizen, day, mg) of enrolled citizens' records in the campaign's scenarios, found through the
    reductions' (citizen, local_date) index."""
    scenario_ids = list(campaign.scenarios.values_list("pk", flat=True))
    if not scenario_ids or first > last:
        return []
    marks = ", ".join(["%s"] * len(scenario_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT r.citizen_id, r.local_date, SUM(r.reduction_mg)
                             FROM {Enrolment._meta.db_table} e
                             JOIN {Reduction._meta.db_table} r ON r.citizen_id = e.citizen_id
                                  AND r.local_date BETWEEN %s AND %s
                            WHERE e.campaign_id = %s AND r.scenario_id IN ({marks})
                            GROUP BY r.citizen_id, r.local_date
                            ORDER BY r.local_date, r.citizen_id""",  # noqa: S608 - fixed names, placeholders
                       [first, last, campaign.pk, *scenario_ids])
        return [(c, rollups.as_date(d), int(mg)) for c, d, mg in cursor.fetchall()]


def award_bonuses(campaign: Campaign, *, through: date | None = None, now: datetime | None = None) -> dict:
    """Brings rollups up to date, pays the bonus of every enrolled citizen's qualifying days up to
    `through` (default today) within the per-citizen cap and the budget, and settles pledges. A day
    whose records arrive later is topped up on the next run; reruns pay nothing twice."""
    now = now or timezone.now()
    today = local_date(now)
    rolled = rollups.catch_up(now)
    last = min(campaign.ends_on, through or today)
    with transaction.atomic():
        campaign = _lock(campaign)
        payouts, capped = _bonus_payouts(campaign, _qualifying_days(campaign, campaign.starts_on, last))
        paid = _pay(campaign, payouts)
        pledges = _settle_pledges(campaign, last, today)
        left = ledger.balance(budget_account(campaign))[ledger.POINTS]
    return {"campaign": campaign.code, "through": last.isoformat(), "rolled_up_batches": rolled["batches"],
            "bonus_awards": len(paid.awards), "bonus_points": sum(a.points for a in paid.awards),
            "capped_days": capped, "unpaid_points": paid.unpaid + pledges.pop("unpaid"),
            "budget_exhausted": paid.unpaid > 0 or left == 0, "budget_left": left, **pledges}


def _bonus_payouts(campaign: Campaign, days: list[tuple[int, date, int]]) -> tuple[list[Payout], int]:
    if campaign.bonus_mode == Campaign.BonusMode.NONE or not days:
        return [], 0
    paid_by_day: dict[tuple[int, date], int] = defaultdict(int)
    paid_total: dict[int, int] = defaultdict(int)
    for citizen_id, day, points in Award.objects.filter(campaign=campaign, kind=Award.Kind.BONUS).values_list(
            "citizen_id", "local_date", "points"):
        paid_by_day[(citizen_id, day)] += points
        paid_total[citizen_id] += points
    payouts, capped = [], 0
    for citizen_id, day, mg in days:
        already = paid_by_day[(citizen_id, day)]
        due = bonus_for(campaign, mg) - already
        if due <= 0:
            continue
        room = campaign.bonus_cap - paid_total[citizen_id]
        if due > room:
            capped += 1
            due = max(room, 0)
        if due:
            paid_total[citizen_id] += due
            payouts.append(Payout(citizen_id, Award.Kind.BONUS, day, due,
                                  f"engagement:bonus:{campaign.pk}:{citizen_id}:{day.isoformat()}:{already}",
                                  f"{campaign.name} 活动加成"))
    return payouts, capped


def pledge(task: PledgeTask, citizen: Citizen, now: datetime | None = None) -> Pledge:
    now = now or timezone.now()
    if local_date(now) > task.day:
        raise DomainError("pledge_closed", "承诺日期已过")
    with transaction.atomic():
        enrol(task.campaign, citizen)
        existing = Pledge.objects.filter(task=task, citizen=citizen).first()
        if existing:
            return existing
        try:
            with transaction.atomic():
                return Pledge.objects.create(task=task, citizen=citizen)
        except IntegrityError:  # a concurrent pledge of the same citizen won
            return Pledge.objects.get(task=task, citizen=citizen)


def _settle_pledges(campaign: Campaign, through: date, today: date) -> dict:
    """Fulfils pledges whose citizen has a record of the task's scenarios on its day (and pays the
    reward); marks as missed those still without one PLEDGE_GRACE_DAYS after the day."""
    fulfilled = missed = unpaid = 0
    for task in campaign.pledge_tasks.filter(day__lte=through).prefetch_related("scenarios"):
        open_pledges = list(task.pledges.filter(status=Pledge.Status.PLEDGED))
        if not open_pledges:
            continue
        done = set(Reduction.objects.filter(citizen_id__in=[p.citizen_id for p in open_pledges], local_date=task.day,
                                            scenario__in=task.scenarios.all()).values_list("citizen_id", flat=True))
        keep = [p for p in open_pledges if p.citizen_id in done]
        paid = _pay(campaign, [Payout(p.citizen_id, Award.Kind.PLEDGE, task.day, task.points,
                                      f"engagement:pledge:{p.pk}", task.title) for p in keep], partial=False)
        paid_keys = {a.idempotency_key for a in paid.awards}
        settled = [p.pk for p in keep if not task.points or f"engagement:pledge:{p.pk}" in paid_keys]
        unpaid += paid.unpaid
        fulfilled += Pledge.objects.filter(pk__in=settled).update(status=Pledge.Status.FULFILLED,
                                                                   settled_at=timezone.now())
        if task.day <= today - timedelta(days=PLEDGE_GRACE_DAYS):
            missed += Pledge.objects.filter(pk__in=[p.pk for p in open_pledges if p.citizen_id not in done]).update(
                status=Pledge.Status.MISSED, settled_at=timezone.now())
    return {"pledges_fulfilled": fulfilled, "pledges_missed": missed, "unpaid": unpaid}


# Check-ins ---------------------------------------------------------------------------------------

def check_in(citizen: Citizen, venue: Venue, token: str, *, latitude: float | None = None,
             longitude: float | None = None, now: datetime | None = None) -> CheckIn:
    """A check-in with the token of the venue's QR code, at most once per venue per local day."""
    now = now or timezone.now()
    if not venue.active:
        raise DomainError("venue_closed", "该场所已停用打卡", status=404)
    if not tokens.is_valid(venue, token, now):
        raise DomainError("stale_token", "二维码已过期，请扫描现场正在显示的二维码")
    if venue.radius_m:
        if latitude is None or longitude is None:
            raise DomainError("location_required", "该场所需要核验位置，请允许获取位置后再打卡")
        if tokens.distance_m(latitude, longitude, float(venue.latitude), float(venue.longitude)) > venue.radius_m:
            raise DomainError("outside_geofence", "您不在打卡场所范围内")
    day = local_date(now)
    with transaction.atomic():
        campaign = venue.campaign
        paying = campaign is not None and campaign.status == Campaign.Status.PUBLISHED and campaign.runs_on(day)
        if paying:
            campaign = _lock(campaign)
            enrol(campaign, citizen)
        try:
            with transaction.atomic():
                checkin = CheckIn.objects.create(venue=venue, citizen=citizen, local_date=day, created_at=now)
        except IntegrityError as exc:
            raise Conflict("already_checked_in", "今天已在该场所打过卡") from exc
        if paying and venue.points:
            paid = _pay(campaign, [Payout(citizen.pk, Award.Kind.CHECKIN, day, venue.points,
                                          f"engagement:checkin:{checkin.pk}", f"打卡 {venue.name}")], partial=False)
            checkin.points = sum(a.points for a in paid.awards)
            checkin.save(update_fields=["points"])
    return checkin


# Quizzes -----------------------------------------------------------------------------------------

def expire_overdue(citizen: Citizen, now: datetime | None = None) -> None:
    """An attempt left open past its time limit (and the grace) is over: it scores nothing."""
    now = now or timezone.now()
    Attempt.objects.filter(citizen=citizen, status=Attempt.Status.ACTIVE, deadline__lt=now - SUBMIT_GRACE).update(
        status=Attempt.Status.EXPIRED, correct=0)


def attempts_left(edition: QuizEdition, citizen: Citizen, now: datetime | None = None) -> int:
    day = local_date(now or timezone.now())
    used = Attempt.objects.filter(edition=edition, citizen=citizen, local_date=day).count()
    return max(edition.attempts_per_day - used, 0)


def start_attempt(edition: QuizEdition, citizen: Citizen, now: datetime | None = None) -> Attempt:
    """Draws the questions of a new attempt (seeded, and the seed kept). One active attempt at a time
    per citizen (a unique index), and at most `attempts_per_day` per edition per local day."""
    now = now or timezone.now()
    if edition.status != QuizEdition.Status.PUBLISHED or not edition.opens_at <= now < edition.closes_at:
        raise DomainError("quiz_closed", "竞赛不在开放时间内")
    with transaction.atomic():
        expire_overdue(citizen, now)
        active = Attempt.objects.filter(citizen=citizen, status=Attempt.Status.ACTIVE).first()
        if active:
            raise Conflict("attempt_active", f"您还有一份未交卷的答卷（#{active.pk}），请先完成")
        if attempts_left(edition, citizen, now) <= 0:
            raise DomainError("no_attempts_left", "今日答题次数已用完，请明天再来", status=429)
        pool = Question.objects.filter(active=True)
        if edition.categories:
            pool = pool.filter(category__in=edition.categories)
        ids = sorted(pool.values_list("pk", flat=True))
        if len(ids) < edition.question_count:
            raise DomainError("not_enough_questions", "题库题目不足")
        if edition.campaign_id:
            enrol(edition.campaign, citizen)
        seed = secrets.randbits(62)
        try:
            with transaction.atomic():
                return Attempt.objects.create(
                    edition=edition, citizen=citizen, seed=seed, question_ids=draw(ids, edition.question_count, seed),
                    local_date=local_date(now), started_at=now,
                    deadline=now + timedelta(seconds=edition.time_limit_seconds))
        except IntegrityError as exc:  # a concurrent start won the one active slot
            raise Conflict("attempt_active", "您还有一份未交卷的答卷，请先完成") from exc


def draw(question_ids: list[int], count: int, seed: int) -> list[int]:
    """The attempt's questions: reproducible from the seed and the sorted pool."""
    return random.Random(seed).sample(question_ids, count)


def _chosen(value) -> list[int] | None:
    if not isinstance(value, list) or not all(type(x) is int for x in value):
        return None
    return sorted(set(value))


def submit_attempt(attempt: Attempt, answers: dict, now: datetime | None = None) -> Attempt:
    """Scores the answers ({question id: [option numbers]}); after the time limit (and a few seconds'
    grace) the attempt expires instead and raises `time_up`."""
    now = now or timezone.now()
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update(of=("self",)).select_related("edition").get(pk=attempt.pk)
        if attempt.status != Attempt.Status.ACTIVE:
            raise Conflict("attempt_closed", "该答卷已交卷或已超时")
        late = now > attempt.deadline + SUBMIT_GRACE
        if late:
            attempt.status, attempt.correct = Attempt.Status.EXPIRED, 0
            attempt.save(update_fields=["status", "correct"])
        else:
            _score(attempt, answers, now)
    if late:
        raise DomainError("time_up", "已超过答题时限，本次答题无效")
    return attempt


def _score(attempt: Attempt, answers: dict, now: datetime) -> None:
    keys = {q.pk: sorted(q.answer) for q in Question.objects.filter(pk__in=attempt.question_ids)}
    given = {str(qid): _chosen((answers or {}).get(str(qid), [])) for qid in attempt.question_ids}
    edition = attempt.edition
    attempt.answers = {qid: choice for qid, choice in given.items() if choice}
    attempt.correct = sum(given[str(qid)] == keys.get(qid) for qid in attempt.question_ids)
    limit_ms = edition.time_limit_seconds * 1000
    attempt.duration_ms = min(int((now - attempt.started_at).total_seconds() * 1000), limit_ms)
    attempt.submitted_at, attempt.status = now, Attempt.Status.SUBMITTED
    attempt.organisation_id = Membership.objects.filter(citizen_id=attempt.citizen_id).values_list(
        "organisation_id", flat=True).first()
    attempt.save()
    _keep_best(attempt)
    if edition.campaign_id and edition.pass_points and passed(attempt):
        campaign = _lock(edition.campaign)
        _pay(campaign, [Payout(attempt.citizen_id, Award.Kind.QUIZ_PASS, attempt.local_date, edition.pass_points,
                               f"engagement:quiz-pass:{edition.pk}:{attempt.citizen_id}", f"{edition.title} 达标")],
             partial=False)


def passed(attempt: Attempt) -> bool:
    return attempt.correct is not None and attempt.correct * 100 >= attempt.edition.pass_percent * len(
        attempt.question_ids)


def _better(attempt: Attempt, best: QuizBest) -> bool:
    return (-attempt.correct, attempt.duration_ms, attempt.submitted_at) < (-best.correct, best.duration_ms,
                                                                           best.submitted_at)


def _keep_best(attempt: Attempt) -> None:
    best = QuizBest.objects.select_for_update().filter(edition=attempt.edition, citizen_id=attempt.citizen_id).first()
    fields = {"attempt": attempt, "correct": attempt.correct, "duration_ms": attempt.duration_ms,
              "submitted_at": attempt.submitted_at, "organisation_id": attempt.organisation_id}
    if best is None:
        QuizBest.objects.create(edition=attempt.edition, citizen_id=attempt.citizen_id, **fields)
    elif _better(attempt, best):
        QuizBest.objects.filter(pk=best.pk).update(**fields)


def quiz_rank(edition: QuizEdition, citizen: Citizen) -> dict | None:
    best = QuizBest.objects.filter(edition=edition, citizen=citizen).first()
    if best is None:
        return None
    ahead = QuizBest.objects.filter(edition=edition).filter(
        Q(correct__gt=best.correct) | Q(correct=best.correct, duration_ms__lt=best.duration_ms)
        | Q(correct=best.correct, duration_ms=best.duration_ms, submitted_at__lt=best.submitted_at)).count()
    return {"rank": ahead + 1, "correct": best.correct, "duration_ms": best.duration_ms}


def award_quiz_prizes(edition: QuizEdition, now: datetime | None = None) -> dict:
    """After the edition closes, pays `top_points` to each of the best `top_n` citizens."""
    now = now or timezone.now()
    if now < edition.closes_at:
        raise DomainError("quiz_still_open", "竞赛结束后才能发放排名奖励")
    if not (edition.campaign_id and edition.top_n and edition.top_points):
        raise DomainError("no_prizes", "该竞赛未设置排名积分奖励或所属活动")
    winners = list(QuizBest.objects.filter(edition=edition).order_by("-correct", "duration_ms", "submitted_at",
                                                                      "citizen_id")[:edition.top_n])
    day = local_date(edition.closes_at)
    with transaction.atomic():
        campaign = _lock(edition.campaign)
        paid = _pay(campaign, [Payout(w.citizen_id, Award.Kind.QUIZ_TOP, day, edition.top_points,
                                      f"engagement:quiz-top:{edition.pk}:{w.citizen_id}",
                                      f"{edition.title} 第 {i} 名") for i, w in enumerate(winners, 1)], partial=False)
        QuizEdition.objects.filter(pk=edition.pk, prizes_awarded_at__isnull=True).update(prizes_awarded_at=now)
    return {"edition": edition.code, "winners": len(winners), "paid": len(paid.awards),
            "points": sum(a.points for a in paid.awards), "unpaid_points": paid.unpaid}


# Communities and units ---------------------------------------------------------------------------

def _membership(citizen: Citizen) -> Membership:
    return Membership.objects.select_for_update().get_or_create(citizen=citizen)[0]


def join_community(citizen: Citizen, community: Community) -> Membership:
    with transaction.atomic():
        membership = _membership(citizen)
        membership.community = community
        membership.save()
    return membership


def join_team(citizen: Citizen, join_code: str) -> Membership:
    team = Team.objects.select_related("organisation").filter(join_code=(join_code or "").strip().upper()).first()
    if team is None:
        raise DomainError("unknown_join_code", "加入码不正确")
    with transaction.atomic():
        membership = _membership(citizen)
        membership.organisation = team.organisation
        membership.save()
    return membership


def leave_team(citizen: Citizen) -> None:
    Membership.objects.filter(citizen=citizen).update(organisation=None, updated_at=timezone.now())


def _check_upload(upload) -> None:
    name = upload.name.lower()
    if not name.endswith(UPLOAD_SUFFIXES):
        raise DomainError("invalid_file_type", "仅接受 PDF、Office 文档、图片或 ZIP 文件")
    if upload.size > MAX_UPLOAD_BYTES:
        raise DomainError("file_too_large", "文件不能超过 20 MB")


def submit_report(unit: CampaignUnit, kind: str, upload, user: User, note: str = "") -> UnitReport:
    if not units_of(user).filter(pk=unit.pk).exists():
        raise NotAllowed("not_unit_staff", "仅限本单位人员报送")
    if kind not in UnitReport.Kind.values:
        raise DomainError("invalid_kind", "报送类型不正确")
    _check_upload(upload)
    return UnitReport.objects.create(unit=unit, kind=kind, file=upload, original_name=upload.name[:200],
                                     note=note[:500], submitted_by=user)


# Low-carbon community certification --------------------------------------------------------------

def community_of(citizen: Citizen) -> int | None:
    """The community a citizen belongs to: the one joined on the platform, else the residential one."""
    joined = Membership.objects.filter(citizen=citizen).values_list("community_id", flat=True).first()
    return joined or citizen.community_id


def apply_certification(user: User, community: Community, level: str, statement: str, uploads,
                        now: datetime | None = None) -> Certification:
    citizen = getattr(user, "citizen", None)
    if citizen is None or community_of(citizen) != community.pk:
        raise NotAllowed("not_a_member", "仅社区成员可为本社区申报")
    if not statement.strip() or not uploads:
        raise DomainError("materials_required", "请填写创建情况并上传申报材料")
    for upload in uploads:
        _check_upload(upload)
    try:
        with transaction.atomic():
            certification = Certification.objects.create(community=community, level=level, applicant=user,
                                                         statement=statement, submitted_at=now or timezone.now())
            _store_materials(certification, uploads)
    except IntegrityError as exc:
        raise Conflict("application_open", "该社区已有一份在办的同类申报") from exc
    return certification


def _store_materials(certification: Certification, uploads) -> None:
    for upload in uploads:
        CertificationMaterial.objects.create(certification=certification, file=upload,
                                             original_name=upload.name[:200])


def resubmit_certification(certification: Certification, user: User, statement: str, uploads) -> Certification:
    """The applicant answers a return: more materials, an updated statement, back to review."""
    if certification.applicant_id != user.pk:
        raise NotAllowed("not_applicant", "仅申报人可补充材料")
    if certification.status != Certification.Status.RETURNED:
        raise Conflict("not_returned", "仅退回补充的申报可以补充材料")
    for upload in uploads:
        _check_upload(upload)
    with transaction.atomic():
        _store_materials(certification, uploads)
        certification.statement = statement.strip() or certification.statement
        certification.status = Certification.Status.SUBMITTED
        certification.submitted_at = timezone.now()
        certification.save()
    return certification


REVIEW_DECISIONS = {"approve": Certification.Status.APPROVED, "return": Certification.Status.RETURNED,
                    "reject": Certification.Status.REJECTED}


def review_certification(certification: Certification, reviewer: User, decision: str, note: str = "") -> Certification:
    if not reviewer.has_role(User.Role.ADMIN):
        raise NotAllowed("not_reviewer", "仅主管部门可审核")
    if decision not in REVIEW_DECISIONS:
        raise DomainError("invalid_decision", "审核结论须为通过、退回或不通过")
    if decision != "approve" and not note.strip():
        raise DomainError("note_required", "退回或不通过时须填写审核意见")
    with transaction.atomic():
        certification = Certification.objects.select_for_update().get(pk=certification.pk)
        if certification.status != Certification.Status.SUBMITTED:
            raise Conflict("not_pending", "该申报不在待审核状态")
        certification.status = REVIEW_DECISIONS[decision]
        certification.reviewed_by, certification.reviewed_at = reviewer, timezone.now()
        certification.review_note = note.strip()[:500]
        certification.save()
    return certification


def award_certification(certification: Certification, by: User, *, campaign: Campaign | None = None,
                        on: date | None = None) -> Certification:
    """授牌: numbers the certificate (LCC-YYYY-NNNN, in award order within the year)."""
    if not by.has_role(User.Role.ADMIN):
        raise NotAllowed("not_reviewer", "仅主管部门可授牌")
    on = on or local_date(timezone.now())
    with transaction.atomic():
        certification = Certification.objects.select_for_update().get(pk=certification.pk)
        if certification.status != Certification.Status.APPROVED:
            raise Conflict("not_approved", "审核通过后才能授牌")
        prefix = f"LCC-{on.year}-"
        last = (Certification.objects.select_for_update().filter(certificate_no__startswith=prefix)
                .order_by("-certificate_no").values_list("certificate_no", flat=True).first())
        certification.certificate_no = f"{prefix}{int(last[len(prefix):]) + 1 if last else 1:04d}"
        certification.status, certification.awarded_on, certification.campaign = (
            Certification.Status.AWARDED, on, campaign)
        certification.save()
    return certification
