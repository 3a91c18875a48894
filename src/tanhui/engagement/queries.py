"""Reads shared by the pages and the API: an attempt as the citizen may see it, leaderboards and
one's own place on them, quiz rankings and participation per unit, team challenge standings."""

from datetime import date

from django.db.models import Count
from django.utils import timezone

from tanhui.core.errors import DomainError
from tanhui.core.pii import mask_name
from tanhui.core.timeutil import local_date
from tanhui.engagement import rollups, services
from tanhui.engagement.models import (
    Attempt,
    GroupScore,
    Membership,
    Question,
    QuizBest,
    QuizEdition,
    Team,
    TeamChallenge,
)
from tanhui.people.models import Citizen

BOARDS = {"citizens": None, "communities": GroupScore.Kind.COMMUNITY,
          "organisations": GroupScore.Kind.ORGANISATION, "districts": GroupScore.Kind.DISTRICT}
MAX_PAGE = 100


def attempt_view(attempt: Attempt, now=None) -> dict:
    """What the citizen sees of an attempt. The correct answers and explanations are only in
    `review`, which exists once the attempt is no longer active."""
    now = now or timezone.now()
    questions = {q.pk: q for q in Question.objects.filter(pk__in=attempt.question_ids)}
    ordered = [questions[qid] for qid in attempt.question_ids if qid in questions]
    view = {
        "id": attempt.pk, "edition": attempt.edition.code, "title": attempt.edition.title, "status": attempt.status,
        "started_at": attempt.started_at, "deadline": attempt.deadline,
        "seconds_left": max(int((attempt.deadline - now).total_seconds()), 0)
        if attempt.status == Attempt.Status.ACTIVE else 0,
        "questions": [{"id": q.pk, "kind": q.kind, "text": q.text, "options": q.options} for q in ordered],
        "total": len(attempt.question_ids), "correct": None, "duration_ms": None, "passed": None, "review": None,
    }
    if attempt.status != Attempt.Status.ACTIVE:
        chosen = attempt.answers or {}
        view.update(correct=attempt.correct, duration_ms=attempt.duration_ms, passed=services.passed(attempt),
                    review=[{"id": q.pk, "answer": q.answer, "chosen": chosen.get(str(q.pk), []),
                             "right": sorted(chosen.get(str(q.pk), [])) == sorted(q.answer),
                             "explanation": q.explanation} for q in ordered])
    return view


def parse_day(text: str | None) -> date:
    if not text:
        return local_date(timezone.now())
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError("invalid_date", "日期须为 YYYY-MM-DD") from exc


def _period(scope: str, day: date) -> str:
    try:
        return rollups.period_of(scope, day)
    except ValueError as exc:
        raise DomainError("invalid_scope", "周期须为 day、week、month 或 all") from exc


def leaderboard(board: str, scope: str = "week", day: date | None = None, *, offset: int = 0, limit: int = 50,
                viewer: Citizen | None = None) -> dict:
    """A page of a board; with `viewer`, their own row (or their group's) is marked `me`."""
    if board not in BOARDS:
        raise DomainError("invalid_board", "榜单须为 citizens、communities、organisations 或 districts")
    period = _period(scope, day or local_date(timezone.now()))
    offset, limit = max(offset, 0), max(1, min(limit, MAX_PAGE))
    kind = BOARDS[board]
    rows = (rollups.citizen_board(period, offset=offset, limit=limit) if kind is None
            else rollups.group_board(kind, period, offset=offset, limit=limit))
    mine = None if viewer is None else viewer.pk if kind is None else my_groups(viewer)[board]
    for row in rows:  # public lists: masked names only, no identifiers
        identifier = row.pop("citizen_id" if kind is None else "group_id")
        row["me"] = mine is not None and identifier == mine
    return {"board": board, "scope": scope, "period": period, "label": rollups.period_label(period),
            "offset": offset, "rows": rows}


def my_groups(citizen: Citizen) -> dict:
    organisation = Membership.objects.filter(citizen=citizen).values_list("organisation_id", flat=True).first()
    return {"communities": services.community_of(citizen), "organisations": organisation,
            "districts": citizen.district_id}


def my_place(board: str, citizen: Citizen, scope: str = "week", day: date | None = None) -> dict | None:
    """The citizen's own rank, or that of their community, unit or district."""
    if board not in BOARDS:
        raise DomainError("invalid_board", "榜单须为 citizens、communities、organisations 或 districts")
    period = _period(scope, day or local_date(timezone.now()))
    kind = BOARDS[board]
    if kind is None:
        place = rollups.citizen_rank(citizen.pk, period)
    else:
        group_id = my_groups(citizen)[board]
        place = rollups.group_rank(kind, group_id, period) if group_id else None
    return {"period": period, **place} if place else None


def quiz_ranking(edition: QuizEdition, *, organisation_id: int | None = None, limit: int = 50) -> list[dict]:
    best = QuizBest.objects.filter(edition=edition)
    if organisation_id:
        best = best.filter(organisation_id=organisation_id)
    rows = list(best.order_by("-correct", "duration_ms", "submitted_at", "citizen_id")
                .select_related("organisation")[:max(1, min(limit, MAX_PAGE))])
    names = dict(Citizen.objects.filter(pk__in=[r.citizen_id for r in rows]).values_list("pk", "name"))
    return [{"rank": i, "name": mask_name(names.get(r.citizen_id) or ""), "correct": r.correct,
             "total": edition.question_count, "duration_ms": r.duration_ms,
             "organisation": r.organisation.name if r.organisation else None, "citizen_id": r.citizen_id}
            for i, r in enumerate(rows, 1)]


def participation(edition: QuizEdition) -> list[dict]:
    """Per unit: staff who submitted at least one attempt, against the unit's headcount."""
    counts = dict(Attempt.objects.filter(edition=edition, status=Attempt.Status.SUBMITTED,
                                         organisation__isnull=False)
                  .values_list("organisation_id").annotate(n=Count("citizen", distinct=True)))
    teams = Team.objects.filter(organisation_id__in=counts).select_related("organisation")
    rows = [{"organisation_id": t.organisation_id, "name": t.organisation.name,
             "participants": counts[t.organisation_id], "headcount": t.headcount,
             "rate": round(100 * counts[t.organisation_id] / t.headcount, 1) if t.headcount else None} for t in teams]
    return sorted(rows, key=lambda r: (-(r["rate"] or 0), -r["participants"], r["name"]))


def challenge_standings(challenge: TeamChallenge) -> list[dict]:
    """Teams by points per head of their staff over the challenge's days, then by total."""
    teams = list(challenge.teams.select_related("organisation"))
    totals = rollups.group_days(GroupScore.Kind.ORGANISATION, [t.organisation_id for t in teams],
                                challenge.starts_on, challenge.ends_on)
    members = dict(Membership.objects.filter(organisation_id__in=[t.organisation_id for t in teams])
                   .values_list("organisation_id").annotate(Count("id")))
    rows = []
    for team in teams:
        total = totals[team.organisation_id]
        rows.append({"name": team.organisation.name, "headcount": team.headcount,
                     "members": members.get(team.organisation_id, 0), **total,
                     "per_head": total["points"] // team.headcount if team.headcount else 0})
    rows.sort(key=lambda r: (-r["per_head"], -r["points"], r["name"]))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows
