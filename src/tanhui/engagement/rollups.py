"""Leaderboard rollups, kept up to date incrementally, and the reads that serve the boards.

Each (citizen, local date, reduction mg, award points) that happens is added to four periods: all
time, its month, its ISO week and its day. A citizen's row per period holds the period's reductions,
awards and points (one point per gram of reductions, plus awards); `ScoreLevel` counts the citizens
at each points total and `ScoreBand` those in each band of BAND totals, so a rank is one plus a sum
over the bands above and the levels above within one's band — never a count of citizens;
communities, organisations and districts get the same totals in `GroupScore`.

Upserts return the new totals (`RETURNING`), so the old ones follow without a read and concurrent
writers cannot miscount levels: each row's update is serialised by the row lock, and level changes
are commutative increments.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from tanhui.core.bulk import temp_key_table
from tanhui.core.pii import mask_name
from tanhui.core.timeutil import local_date
from tanhui.core.units import MG_PER_POINT
from tanhui.engagement.models import CitizenScore, GroupScore, RolledBatch, RollupState, ScoreBand, ScoreLevel
from tanhui.ingest.models import Batch, Reduction
from tanhui.people.models import Citizen, Community, District, Organisation

ALL = "all"
SCOPES = ("day", "week", "month", "all")
DAY_RETENTION = 100  # day boards older than this many days are pruned; weeks, months and all time stay
CHUNK = 1000  # rows per multi-row upsert (5 parameters each: within every SQLite's limit)
FEW_CITIZENS = 100  # read by id; more go through a temporary key table (one indexed join)
BAND = 256  # points per band: a rank sums the bands above (max points / BAND) and at most BAND levels

CITIZENS = CitizenScore._meta.db_table
LEVELS = ScoreLevel._meta.db_table
BANDS = ScoreBand._meta.db_table
GROUPS = GroupScore._meta.db_table
Kind = GroupScore.Kind


def periods(day: date) -> tuple[str, str, str, str]:
    week = day.isocalendar()
    return ALL, f"m{day:%Y-%m}", f"w{week.year}-{week.week:02d}", f"d{day.isoformat()}"


def period_of(scope: str, day: date) -> str:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return periods(day)[("all", "month", "week", "day").index(scope)]


def period_label(period: str) -> str:
    if period == ALL:
        return "累计"
    if period[0] == "w":
        year, week = period[1:].split("-")
        return f"{year} 年第 {int(week)} 周"
    return period[1:]


# Writing -----------------------------------------------------------------------------------------

def add(entries: Iterable[tuple[int, date, int, int]]) -> int:
    """Adds (citizen id, local date, reduction mg, award points) to every period of the day; runs
    inside the caller's transaction. Returns the number of citizen-period rows touched."""
    deltas: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for citizen_id, day, mg, award in entries:
        if mg or award:
            for period in periods(day):
                delta = deltas[(period, citizen_id)]
                delta[0] += mg
                delta[1] += award
    if not deltas:
        return 0
    with transaction.atomic():
        keys = sorted(deltas)  # one order for every writer: no deadlocks between concurrent adds
        levels: dict[tuple[str, int], int] = defaultdict(int)
        changed = []  # (period, citizen, points delta, mg delta, new row)
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            for period, citizen_id, points, mg, award in _upsert_citizens([(k, deltas[k]) for k in chunk]):
                d_mg, d_award = deltas[(period, citizen_id)]
                old_mg, old_award = mg - d_mg, award - d_award
                new_row = old_mg == 0 and old_award == 0
                old_points = old_mg // MG_PER_POINT + old_award
                if new_row or old_points != points:
                    levels[(period, points)] += 1
                    if not new_row:
                        levels[(period, old_points)] -= 1
                changed.append((period, citizen_id, points - old_points, d_mg, new_row))
        _upsert_levels(levels)
        _add_to_groups(changed)
    return len(keys)


def _upsert_citizens(rows: list[tuple[tuple[str, int], list[int]]]) -> list[tuple]:
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params = []
    for (period, citizen_id), (mg, award) in rows:
        params += [period, citizen_id, mg // MG_PER_POINT + award, mg, award]
    sql = f"""INSERT INTO {CITIZENS} (period, citizen_id, points, reduction_mg, award_points) VALUES {values}
              ON CONFLICT (period, citizen_id) DO UPDATE SET
                reduction_mg = {CITIZENS}.reduction_mg + excluded.reduction_mg,
                award_points = {CITIZENS}.award_points + excluded.award_points,
                points = ({CITIZENS}.reduction_mg + excluded.reduction_mg) / {MG_PER_POINT}
                         + {CITIZENS}.award_points + excluded.award_points
              RETURNING period, citizen_id, points, reduction_mg, award_points"""  # noqa: S608 - fixed names
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _upsert_levels(levels: dict[tuple[str, int], int]) -> None:
    bands: dict[tuple[str, int], int] = defaultdict(int)
    for (period, points), n in levels.items():
        bands[(period, points // BAND)] += n
    for table, column, counts in ((LEVELS, "points", levels), (BANDS, "band", bands)):
        rows = sorted((key, n) for key, n in counts.items() if n)
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params = [x for (period, value), n in chunk for x in (period, value, n)]
            with connection.cursor() as cursor:
                cursor.execute(f"""INSERT INTO {table} (period, {column}, citizens) VALUES {values}
                                   ON CONFLICT (period, {column}) DO UPDATE
                                   SET citizens = {table}.citizens + excluded.citizens""", params)  # noqa: S608


def _add_to_groups(changed: list[tuple[str, int, int, int, bool]]) -> None:
    groups = _groups_of({citizen_id for _, citizen_id, *_ in changed})
    totals: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for period, citizen_id, d_points, d_mg, new_row in changed:
        for kind, group_id in zip((Kind.COMMUNITY, Kind.ORGANISATION, Kind.DISTRICT), groups.get(citizen_id, ()),
                                  strict=False):
            if group_id is not None:
                total = totals[(kind, period, group_id)]
                total[0] += d_points
                total[1] += d_mg
                total[2] += new_row
    rows = sorted(totals.items())
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
        params = [x for key, total in chunk for x in (*key, *total)]
        with connection.cursor() as cursor:
            cursor.execute(f"""INSERT INTO {GROUPS} (kind, period, group_id, points, reduction_mg, members)
                               VALUES {values} ON CONFLICT (kind, period, group_id) DO UPDATE SET
                               points = {GROUPS}.points + excluded.points,
                               reduction_mg = {GROUPS}.reduction_mg + excluded.reduction_mg,
                               members = {GROUPS}.members + excluded.members""", params)  # noqa: S608


def _groups_of(citizen_ids: set[int]) -> dict[int, tuple[int | None, int | None, int | None]]:
    """(community, organisation, district) per citizen: the community joined on the platform, else the
    residential one. A few citizens (a quiz reward) are read by id; many (a batch) through a key table."""
    columns = "c.id, COALESCE(m.community_id, c.community_id), m.organisation_id, c.district_id"
    membership = "LEFT JOIN engagement_membership m ON m.citizen_id = c.id"
    with connection.cursor() as cursor:
        if len(citizen_ids) <= FEW_CITIZENS:
            cursor.execute(f"SELECT {columns} FROM people_citizen c {membership} "  # noqa: S608 - fixed names
                           f"WHERE c.id IN ({', '.join(['%s'] * len(citizen_ids))})", sorted(citizen_ids))
        else:
            keys = temp_key_table("engagement_citizen_keys", citizen_ids, integer=True)
            cursor.execute(f"SELECT {columns} FROM {keys} k JOIN people_citizen c ON c.id = k.k {membership}")  # noqa: S608
        return {row[0]: row[1:] for row in cursor.fetchall()}


def catch_up(now=None) -> dict:
    """Adds the reductions of every ingest batch not yet rolled up. Batches are found above a
    watermark of reduction ids; the watermark moves only when no batch was being written, so a batch
    that commits late (with lower ids than one that committed earlier) is never skipped."""
    with transaction.atomic():
        RollupState.objects.get_or_create(pk=1)
        state = RollupState.objects.select_for_update().get(pk=1)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Reduction._meta.db_table}")  # noqa: S608
            highest = cursor.fetchone()[0]
        in_flight = Batch.objects.filter(status=Batch.Status.PROCESSING).exists()  # read after `highest`
        with connection.cursor() as cursor:
            cursor.execute(f"""SELECT batch_id, citizen_id, local_date, SUM(reduction_mg)
                                 FROM {Reduction._meta.db_table}
                                WHERE id > %s AND batch_id NOT IN (SELECT batch_id FROM {RolledBatch._meta.db_table})
                                GROUP BY batch_id, citizen_id, local_date""",  # noqa: S608 - fixed names
                           [state.reduction_watermark])
            rows = cursor.fetchall()
        batches = {row[0] for row in rows}
        touched = add((citizen_id, as_date(day), int(mg), 0) for _, citizen_id, day, mg in rows)
        RolledBatch.objects.bulk_create([RolledBatch(batch_id=b) for b in batches], ignore_conflicts=True)
        if not in_flight:
            RolledBatch.objects.filter(batch_id__in=_batches_at_or_below(highest)).delete()
            state.reduction_watermark = highest
        state.save()
        pruned = prune(now)
    return {"batches": len(batches), "citizen_days": len(rows), "rows": touched,
            "watermark": state.reduction_watermark, "pruned": pruned}


def _batches_at_or_below(highest: int) -> list[int]:
    """Rolled batches whose every reduction is at or below `highest` (the watermark now covers them)."""
    rolled = list(RolledBatch.objects.values_list("batch_id", flat=True))
    if not rolled:
        return []
    above = set(Reduction.objects.filter(id__gt=highest, batch_id__in=rolled).values_list("batch_id", flat=True)
                .distinct())
    return [b for b in rolled if b not in above]


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def prune(now=None) -> int:
    """Drops day boards older than DAY_RETENTION days and empty levels."""
    cutoff = f"d{(local_date(now or timezone.now()) - timedelta(days=DAY_RETENTION)).isoformat()}"
    old = dict(period__startswith="d", period__lt=cutoff)
    deleted = CitizenScore.objects.filter(**old).delete()[0]
    for model in (ScoreLevel, ScoreBand, GroupScore):
        model.objects.filter(**old).delete()
    ScoreLevel.objects.filter(citizens=0).delete()
    ScoreBand.objects.filter(citizens=0).delete()
    return deleted


# Reading -----------------------------------------------------------------------------------------

def _rank_above(period: str, points: int) -> int:
    """How many citizens have more than `points` in `period`."""
    band = points // BAND
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT (SELECT COALESCE(SUM(citizens), 0) FROM {BANDS} WHERE period = %s AND band > %s)
                                + (SELECT COALESCE(SUM(citizens), 0) FROM {LEVELS}
                                    WHERE period = %s AND points > %s AND points < %s)""",  # noqa: S608
                       [period, band, period, points, (band + 1) * BAND])
        return int(cursor.fetchone()[0])


def citizen_board(period: str, *, offset: int = 0, limit: int = 50) -> list[dict]:
    """A page of the citizen board: rank (ties share one), masked name, points, reductions."""
    rows = list(CitizenScore.objects.filter(period=period).order_by("-points", "citizen_id")
                .values_list("citizen_id", "points", "reduction_mg")[offset:offset + limit])
    if not rows:
        return []
    people = {c.pk: c for c in Citizen.objects.filter(pk__in=[r[0] for r in rows]).only("pk", "name", "public_id")}
    board, rank, previous = [], None, None
    for position, (citizen_id, points, mg) in enumerate(rows):
        if points != previous:
            rank = _rank_above(period, points) + 1 if rank is None else offset + position + 1
            previous = points
        citizen = people.get(citizen_id)
        board.append({"rank": rank, "citizen_id": citizen_id, "name": mask_name(citizen.name or "") if citizen else "*",
                      "points": points, "reduction_mg": mg})
    return board


def citizen_rank(citizen_id: int, period: str) -> dict | None:
    """The citizen's own place: None when they have nothing in the period."""
    row = (CitizenScore.objects.filter(period=period, citizen_id=citizen_id)
           .values_list("points", "reduction_mg").first())
    if row is None:
        return None
    return {"rank": _rank_above(period, row[0]) + 1, "points": row[0], "reduction_mg": row[1]}


def participants(period: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(citizens), 0) FROM {BANDS} WHERE period = %s", [period])  # noqa: S608
        return int(cursor.fetchone()[0])


GROUP_MODELS = {Kind.COMMUNITY: Community, Kind.ORGANISATION: Organisation, Kind.DISTRICT: District}


def group_board(kind: str, period: str, *, offset: int = 0, limit: int = 50) -> list[dict]:
    rows = list(GroupScore.objects.filter(kind=kind, period=period).order_by("-points", "group_id")
                .values_list("group_id", "points", "reduction_mg", "members")[offset:offset + limit])
    groups = GROUP_MODELS[kind].objects.filter(pk__in=[r[0] for r in rows])
    names = {g.pk: str(g) for g in (groups.select_related("district") if kind == Kind.COMMUNITY else groups)}
    board, rank, previous = [], 0, None
    for position, (group_id, points, mg, members) in enumerate(rows):
        if points != previous:
            rank = (GroupScore.objects.filter(kind=kind, period=period, points__gt=points).count() + 1
                    if previous is None else offset + position + 1)
            previous = points
        board.append({"rank": rank, "group_id": group_id, "name": names.get(group_id, "—"), "points": points,
                      "reduction_mg": mg, "members": members})
    return board


def group_rank(kind: str, group_id: int, period: str) -> dict | None:
    row = GroupScore.objects.filter(kind=kind, period=period, group_id=group_id).values_list(
        "points", "reduction_mg", "members").first()
    if row is None:
        return None
    better = GroupScore.objects.filter(kind=kind, period=period, points__gt=row[0]).count()
    return {"rank": better + 1, "points": row[0], "reduction_mg": row[1], "members": row[2]}


def group_days(kind: str, group_ids: list[int], first: date, last: date) -> dict[int, dict]:
    """Points and reductions per group summed over the day boards first..last (team challenges)."""
    days = [f"d{(first + timedelta(days=i)).isoformat()}" for i in range((last - first).days + 1)]
    totals = {g: {"points": 0, "reduction_mg": 0} for g in group_ids}
    for group_id, points, mg in GroupScore.objects.filter(kind=kind, group_id__in=group_ids, period__in=days) \
            .values_list("group_id", "points", "reduction_mg"):
        totals[group_id]["points"] += points
        totals[group_id]["reduction_mg"] += mg
    return totals
