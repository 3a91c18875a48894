"""Engagement API: campaigns and pledges, check-ins, quiz attempts, leaderboards, memberships, and the
organisers' budget, awarding and venue-token routes. Citizens act on their own objects only; another
citizen's attempt is "not found". Before an attempt is submitted its JSON holds no answer."""

from datetime import date, datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.security import django_auth

from tanhui.core.errors import DomainError, NotAllowed
from tanhui.core.schemas import Ok
from tanhui.engagement import queries, services, tokens
from tanhui.engagement.access import can_display, require_admin
from tanhui.engagement.models import Attempt, Campaign, PledgeTask, QuizEdition, Venue
from tanhui.people.api import current_citizen
from tanhui.people.models import Community

router = Router(tags=["engagement"])


class CampaignOut(Schema):
    code: str
    name: str
    kind: str
    theme: str
    starts_on: date
    ends_on: date
    district: str | None
    bonus_mode: str
    bonus_percent: int
    bonus_points: int
    bonus_cap: int


def _campaign_out(c: Campaign) -> dict:
    return {**{f: getattr(c, f) for f in ("code", "name", "kind", "theme", "starts_on", "ends_on", "bonus_mode",
                                          "bonus_percent", "bonus_points", "bonus_cap")},
            "district": c.district.name if c.district else None}


class PledgeOut(Schema):
    task: int
    title: str
    day: date
    status: str


class CheckInIn(Schema):
    venue: str
    token: str
    latitude: float | None = None
    longitude: float | None = None


class CheckInOut(Schema):
    venue: str
    local_date: date
    points: int


class QuizOut(Schema):
    code: str
    title: str
    opens_at: datetime
    closes_at: datetime
    question_count: int
    time_limit_seconds: int
    attempts_per_day: int
    pass_percent: int


class QuestionOut(Schema):
    id: int
    kind: str
    text: str
    options: list[str]


class ReviewOut(Schema):
    id: int
    answer: list[int]
    chosen: list[int]
    right: bool
    explanation: str


class AttemptOut(Schema):
    id: int
    edition: str
    title: str
    status: str
    started_at: datetime
    deadline: datetime
    seconds_left: int
    questions: list[QuestionOut]
    total: int
    correct: int | None
    duration_ms: int | None
    passed: bool | None
    review: list[ReviewOut] | None


class AnswersIn(Schema):
    answers: dict[str, list[int]]


class RankingRow(Schema):
    rank: int
    name: str
    correct: int
    total: int
    duration_ms: int
    organisation: str | None


class QuizRank(Schema):
    rank: int
    correct: int
    duration_ms: int


class RankingOut(Schema):
    rows: list[RankingRow]
    me: QuizRank | None


class BoardRow(Schema):
    rank: int
    name: str
    points: int
    reduction_mg: int
    members: int | None = None
    me: bool = False


class BoardOut(Schema):
    board: str
    scope: str
    period: str
    label: str
    offset: int
    rows: list[BoardRow]


class PlaceOut(Schema):
    period: str
    rank: int
    points: int
    reduction_mg: int
    members: int | None = None


class CommunityIn(Schema):
    community_id: int


class TeamIn(Schema):
    join_code: str


class MembershipOut(Schema):
    community: str | None
    organisation: str | None


class FundIn(Schema):
    points: int
    memo: str = ""


class BudgetOut(Schema):
    funded: int
    paid: int
    balance: int


class TokenOut(Schema):
    venue: str
    token: str
    changes_at: datetime
    path: str


def _published(model, **lookup):
    return get_object_or_404(model, status="published", **lookup)


# Campaigns and pledges ---------------------------------------------------------------------------

@router.get("/campaigns", response=list[CampaignOut])
def campaigns(request):
    return [_campaign_out(c) for c in Campaign.objects.filter(status=Campaign.Status.PUBLISHED)
            .select_related("district")]


@router.post("/campaigns/{code}/enrol", response=Ok, auth=django_auth)
def enrol(request, code: str):
    services.enrol(_published(Campaign, code=code), current_citizen(request))
    return Ok()


@router.post("/pledges/{task_id}", response=PledgeOut, auth=django_auth)
def pledge(request, task_id: int):
    task = get_object_or_404(PledgeTask, pk=task_id, campaign__status=Campaign.Status.PUBLISHED)
    made = services.pledge(task, current_citizen(request))
    return {"task": task.pk, "title": task.title, "day": task.day, "status": made.status}


@router.post("/checkins", response={201: CheckInOut}, auth=django_auth)
def check_in(request, payload: CheckInIn):
    citizen = current_citizen(request)
    venue = Venue.objects.select_related("campaign").filter(code=payload.venue).first()
    if venue is None:
        raise DomainError("unknown_venue", "场所不存在", status=404)
    made = services.check_in(citizen, venue, payload.token, latitude=payload.latitude, longitude=payload.longitude)
    return Status(201, {"venue": venue.code, "local_date": made.local_date, "points": made.points})


# Quizzes -----------------------------------------------------------------------------------------

@router.get("/quizzes", response=list[QuizOut])
def quizzes(request):
    return list(QuizEdition.objects.filter(status=QuizEdition.Status.PUBLISHED))


@router.post("/quizzes/{code}/attempts", response={201: AttemptOut}, auth=django_auth)
def start_attempt(request, code: str):
    attempt = services.start_attempt(_published(QuizEdition, code=code), current_citizen(request))
    return Status(201, queries.attempt_view(attempt))


def _own_attempt(request, attempt_id: int) -> Attempt:
    return get_object_or_404(Attempt.objects.select_related("edition"), pk=attempt_id,
                             citizen=current_citizen(request))


@router.get("/attempts/{attempt_id}", response=AttemptOut, auth=django_auth)
def attempt(request, attempt_id: int):
    return queries.attempt_view(_own_attempt(request, attempt_id))


@router.post("/attempts/{attempt_id}/submit", response=AttemptOut, auth=django_auth)
def submit(request, attempt_id: int, payload: AnswersIn):
    return queries.attempt_view(services.submit_attempt(_own_attempt(request, attempt_id), payload.answers))


def _viewer(request):
    """The signed-in citizen, if any (public routes)."""
    citizen = getattr(request.user, "citizen", None) if request.user.is_authenticated else None
    return citizen if citizen is not None and citizen.is_active else None


@router.get("/quizzes/{code}/ranking", response=RankingOut)
def ranking(request, code: str, organisation: int | None = None, limit: int = 50):
    edition = _published(QuizEdition, code=code)
    citizen = _viewer(request)
    return {"rows": queries.quiz_ranking(edition, organisation_id=organisation, limit=limit),
            "me": services.quiz_rank(edition, citizen) if citizen else None}


# Leaderboards and membership ---------------------------------------------------------------------

@router.get("/leaderboards/{board}", response=BoardOut)
def leaderboard(request, board: str, scope: str = "week", day: str | None = None, offset: int = 0,
                limit: int = 50):
    """`scope`: day, week, month or all; `day` (YYYY-MM-DD, default today) picks the period. Names are
    masked; a signed-in citizen's own row (or their group's) has `me`."""
    return queries.leaderboard(board, scope, queries.parse_day(day), offset=offset, limit=limit,
                               viewer=_viewer(request))


@router.get("/leaderboards/{board}/me", response={200: PlaceOut, 204: None}, auth=django_auth)
def my_place(request, board: str, scope: str = "week", day: str | None = None):
    """The signed-in citizen's rank (or their community's, unit's or district's); 204 when not ranked."""
    place = queries.my_place(board, current_citizen(request), scope, queries.parse_day(day))
    return Status(200, place) if place else Status(204, None)


def _membership_out(citizen) -> dict:
    groups = queries.my_groups(citizen)
    community = Community.objects.filter(pk=groups["communities"]).first()
    membership = getattr(citizen, "engagement", None)
    return {"community": str(community) if community else None,
            "organisation": membership.organisation.name if membership and membership.organisation else None}


@router.get("/me/membership", response=MembershipOut, auth=django_auth)
def membership(request):
    return _membership_out(current_citizen(request))


@router.post("/me/community", response=MembershipOut, auth=django_auth)
def join_community(request, payload: CommunityIn):
    citizen = current_citizen(request)
    services.join_community(citizen, get_object_or_404(Community, pk=payload.community_id))
    citizen.refresh_from_db()
    return _membership_out(citizen)


@router.post("/me/team", response=MembershipOut, auth=django_auth)
def join_team(request, payload: TeamIn):
    citizen = current_citizen(request)
    services.join_team(citizen, payload.join_code)
    citizen.refresh_from_db()
    return _membership_out(citizen)


# Organisers --------------------------------------------------------------------------------------

@router.get("/campaigns/{code}/budget", response=BudgetOut, auth=django_auth)
def budget(request, code: str):
    require_admin(request.user)
    return services.budget(get_object_or_404(Campaign, code=code))


@router.post("/campaigns/{code}/fund", response=BudgetOut, auth=django_auth)
def fund(request, code: str, payload: FundIn):
    require_admin(request.user)
    campaign = get_object_or_404(Campaign, code=code)
    services.fund_campaign(campaign, payload.points, by=request.user, memo=payload.memo)
    return services.budget(campaign)


@router.post("/campaigns/{code}/award-bonuses", response=dict, auth=django_auth)
def award_bonuses(request, code: str):
    require_admin(request.user)
    return services.award_bonuses(get_object_or_404(Campaign, code=code))


@router.get("/venues/{code}/token", response=TokenOut, auth=django_auth)
def venue_token(request, code: str):
    """For the screen at the venue: the current token and when it changes."""
    venue = get_object_or_404(Venue.objects.select_related("unit"), code=code, active=True)
    if not can_display(request.user, venue):
        raise NotAllowed("forbidden", "仅限主管部门或承办单位")
    token, changes_at = tokens.current(venue)
    return {"venue": venue.code, "token": token, "changes_at": changes_at,
            "path": tokens.checkin_path(venue, token)}
