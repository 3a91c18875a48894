"""Rollups and leaderboards: reductions and awards land in the day, week, month and all-time boards
of citizens, communities, units and districts; reruns add nothing; ranks (ties share one) agree with
a brute-force ranking; the watermark never skips a batch still being written; names are masked."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanhui.engagement import queries, rollups, services, tokens
from tanhui.engagement.models import CitizenScore, GroupScore, RollupState, ScoreBand, ScoreLevel, Team
from tanhui.ingest.models import Batch
from tanhui.people.models import Community, District, Organisation

from .conftest import DAY, at, trip

pytestmark = pytest.mark.django_db


def score(citizen, period):
    return CitizenScore.objects.filter(citizen=citizen, period=period).values_list("points", "reduction_mg").first()


def test_periods_of_a_day():
    assert rollups.periods(date(2024, 12, 30)) == ("all", "m2024-12", "w2025-01", "d2024-12-30")
    assert rollups.period_of("week", DAY) == "w2024-20"


def test_ingested_reductions_reach_every_period_once(citizens, ingest):
    a, b = citizens(2)
    ingest([trip("T1", "M-0", DAY), trip("T2", "M-0", DAY + timedelta(days=1)), trip("T3", "M-1", DAY)])
    first = rollups.catch_up(now=at(DAY + timedelta(days=1)))
    assert first["batches"] == 1 and first["citizen_days"] == 3
    assert score(a, "d2024-05-15") == (468, 468_000)
    assert score(a, "w2024-20") == score(a, "all") == (936, 936_000)
    assert rollups.catch_up(now=at(DAY + timedelta(days=1)))["batches"] == 0
    assert score(a, "all") == (936, 936_000)
    district = District.objects.get(name="南山区")
    assert GroupScore.objects.get(kind="district", period="all", group_id=district.pk).members == 2
    assert GroupScore.objects.get(kind="district", period="all", group_id=district.pk).points == 936 + 468


def test_awards_count_on_the_boards(funded, venue, citizens):
    made = funded(100)
    place = venue(made=made)
    (a,) = citizens(1)
    now = at(DAY, 9)
    services.check_in(a, place, tokens.current(place, now)[0], now=now)
    assert score(a, "d2024-05-15") == (10, 0)
    assert queries.my_place("citizens", a, "day", DAY) == {"period": "d2024-05-15", "rank": 1, "points": 10,
                                                           "reduction_mg": 0}


def test_ranks_share_ties_and_the_board_masks_names(citizens):
    people = citizens(4)
    rollups.add([(people[0].pk, DAY, 0, 50), (people[1].pk, DAY, 0, 80), (people[2].pk, DAY, 0, 50),
                 (people[3].pk, DAY, 3_999, 0)])
    board = queries.leaderboard("citizens", "day", DAY)
    assert [(r["rank"], r["points"]) for r in board["rows"]] == [(1, 80), (2, 50), (2, 50), (4, 3)]
    assert board["rows"][0]["name"] == "市**" and "citizen_id" not in board["rows"][0]
    assert queries.my_place("citizens", people[2], "day", DAY)["rank"] == 2
    assert queries.leaderboard("citizens", "day", DAY, offset=2, limit=2)["rows"][0]["rank"] == 2
    assert queries.my_place("citizens", people[0], "day", DAY + timedelta(days=1)) is None
    assert rollups.participants("d2024-05-15") == 4


# The tables are emptied at the start of every example, so the shared fixture is safe.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(0, 3000), st.integers(0, 30)),
                min_size=1, max_size=30))
def test_incremental_ranks_match_a_brute_force_ranking(six_citizens, entries, monkeypatch):
    people = six_citizens
    monkeypatch.setattr(rollups, "BAND", 4)  # many bands, and levels inside them
    for model in (CitizenScore, ScoreLevel, ScoreBand, GroupScore):
        model.objects.all().delete()
    totals: dict[int, list[int]] = {}
    for who, day_offset, mg, award in entries:
        citizen = people[who]
        rollups.add([(citizen.pk, DAY + timedelta(days=day_offset), mg, award)])
        total = totals.setdefault(citizen.pk, [0, 0])
        if mg or award:
            total[0] += mg
            total[1] += award
    points = {c: mg // 1000 + award for c, (mg, award) in totals.items() if mg or award}
    for citizen_id, mine in points.items():
        expected = 1 + sum(1 for other in points.values() if other > mine)
        assert rollups.citizen_rank(citizen_id, "all")["rank"] == expected
    assert rollups.participants("all") == len(points)
    assert ScoreLevel.objects.filter(citizens__lt=0).count() == ScoreBand.objects.filter(citizens__lt=0).count() == 0


@pytest.fixture
def six_citizens(citizens):
    return citizens(6)


def test_community_unit_and_district_boards_follow_membership(citizens):
    a, b, c = citizens(3)
    other = Community.objects.create(district=a.district, name="蛇口街道")
    services.join_community(a, other)
    unit = Organisation.objects.create(kind="public_institution", name="云澜市机关事务管理局")
    team = Team.objects.create(organisation=unit, headcount=10)
    services.join_team(b, team.join_code.lower())
    rollups.add([(a.pk, DAY, 0, 30), (b.pk, DAY, 0, 20), (c.pk, DAY, 0, 5)])
    communities = queries.leaderboard("communities", "month", DAY)["rows"]
    assert [(r["name"], r["points"], r["members"]) for r in communities] == [
        ("南山区·蛇口街道", 30, 1), ("南山区·粤海街道", 25, 2)]
    assert queries.leaderboard("organisations", "all", DAY)["rows"][0]["name"] == "云澜市机关事务管理局"
    assert queries.my_place("organisations", b, "all", DAY)["rank"] == 1
    assert queries.my_place("organisations", c, "all", DAY) is None
    assert queries.my_place("districts", c, "all", DAY)["points"] == 55


def test_the_watermark_waits_for_batches_being_written(citizens, ingest):
    (a,) = citizens(1)
    ingest([trip("T1", "M-0", DAY)])
    writing = Batch.objects.create(provider=Batch.objects.get().provider, scenario=Batch.objects.get().scenario,
                                   source="cli", status=Batch.Status.PROCESSING)
    assert rollups.catch_up(now=at(DAY))["batches"] == 1
    assert RollupState.objects.get().reduction_watermark == 0  # a batch may still commit lower ids
    assert rollups.catch_up(now=at(DAY))["batches"] == 0  # the rolled batch is not added twice
    ingest([trip("T2", "M-0", DAY, hour=18)])
    Batch.objects.filter(pk=writing.pk).update(status=Batch.Status.FAILED)
    assert rollups.catch_up(now=at(DAY))["batches"] == 1
    assert RollupState.objects.get().reduction_watermark > 0
    assert score(a, "all") == (936, 936_000)


def test_old_day_boards_are_pruned(citizens):
    (a,) = citizens(1)
    old = DAY - timedelta(days=rollups.DAY_RETENTION + 1)
    rollups.add([(a.pk, old, 0, 5), (a.pk, DAY, 0, 7)])
    rollups.prune(now=at(DAY))
    assert not CitizenScore.objects.filter(period=f"d{old.isoformat()}").exists()
    assert score(a, "all") == (12, 0)


def test_invalid_board_or_scope(client, db):
    assert client.get("/api/v1/engagement/leaderboards/planets").json()["code"] == "invalid_board"
    assert client.get("/api/v1/engagement/leaderboards/citizens?scope=year").json()["code"] == "invalid_scope"



def test_the_worker_rolls_up_each_batch_it_processes(metro, monkeypatch):
    """Leaderboards follow batches sent through the API without anyone running `engagement rollup`."""
    from django.core.management import call_command

    from tanhui.ingest.models import Batch
    from tanhui.methodology.models import Scenario

    calls = []
    monkeypatch.setattr("tanhui.engagement.rollups.catch_up", lambda: calls.append(1))
    monkeypatch.setattr("tanhui.ingest.management.commands.worker.process_batch",  # as the pipeline ends a batch
                        lambda batch, files: Batch.objects.filter(pk=batch.pk).update(status="done"))
    Batch.objects.create(provider=metro, scenario=Scenario.objects.get(code="metro"), source="records",
                         status="queued")
    call_command("worker", "--once")
    assert calls == [1, 1]  # after the batch, and once more when the queue is found empty


def test_the_idle_worker_rolls_up_batches_it_did_not_process(citizens, ingest):
    """A batch credited by `tanhui ingest` (no worker involved) reaches the boards once the worker finds
    its queue empty."""
    from django.core.management import call_command

    (a,) = citizens(1)
    ingest([trip("T1", "M-0", DAY), trip("T2", "M-0", DAY)])
    assert score(a, "all") is None
    call_command("worker", "--once")
    assert score(a, "all") == (936, 936_000)
