"""What may never happen: a reduction in two requests, a request issued twice, overlapping serials,
a retired serial that moves or is retired again, an ETS offset above its share."""

import threading
from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanhui.core.errors import Conflict, DomainError
from tanhui.registry import audit, services
from tanhui.registry.models import IssuanceItem, IssuanceRequest, SerialBlock
from tests.registry.conftest import AFTER, may_days, to_verified


@pytest.fixture
def school_credits(users, orgs, project_credits):
    """530 t on the school's account: (request, account)."""
    request, _ = project_credits()
    return request, services.account_for(orgs.school)


# Double issuance ---------------------------------------------------------------------------------

def test_a_reduction_joins_one_request_only(users, citizens, ingest_trips, prepare):
    ingest_trips(citizens(20), may_days(4, 8))
    first = prepare()
    with pytest.raises(Conflict, match="below_one_tonne"):
        prepare()  # the same period again: only the 65 leftover trips are eligible
    taken = IssuanceItem.objects.filter(request=first).values_list("reduction", flat=True)[0]
    other = IssuanceRequest.objects.create(kind="individual", period_start=date(2026, 5, 1),
                                           period_end=date(2026, 5, 31), vintage=2026, prepared_by=users.admin,
                                           created_at=AFTER, sample_seed="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        IssuanceItem.objects.create(reduction_id=taken, request=other)  # the database refuses it too


def test_a_request_is_issued_once(users, citizens, ingest_trips, prepare):
    ingest_trips(citizens(20), may_days(4, 8))
    request = to_verified(users, prepare())
    services.issue(users.admin, request, now=AFTER)
    with pytest.raises(Conflict, match="invalid_status"):
        services.issue(users.admin, request, now=AFTER)
    with pytest.raises(IntegrityError), transaction.atomic():
        SerialBlock.objects.create(request=request, first=1, last=2, account=services.pool_account())
    assert SerialBlock.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_share_a_reduction(users, citizens, ingest_trips, prepare):
    ingest_trips(citizens(20), may_days(4, 12))  # 1,080 trips: 4 t, enough for one request only at a time
    outcomes, barrier = [], threading.Barrier(2)

    def run():
        barrier.wait()
        try:
            outcomes.append(prepare().records)
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = list(IssuanceItem.objects.values_list("reduction", flat=True))
    assert len(items) == len(set(items))
    assert sorted(outcomes, key=str) == [1069, "below_one_tonne"]  # the second finds only the remainder
    assert audit.verify() == []


# Serials -----------------------------------------------------------------------------------------

def serial_map(request_id: int) -> dict[int, tuple[int, int | None]]:
    """serial → (account, retirement) from the stored blocks; asserts they tile 1..N."""
    blocks = sorted(SerialBlock.objects.filter(request_id=request_id).values_list(
        "first", "last", "account_id", "retirement_id"))
    expected, out = 1, {}
    for first, last, account, retirement in blocks:
        assert first == expected, f"blocks overlap or leave a gap at {first}"
        out.update({s: (account, retirement) for s in range(first, last + 1)})
        expected = last + 1
    return out


operation = st.tuples(st.sampled_from(["transfer", "retire"]), st.integers(0, 2), st.integers(0, 2),
                      st.integers(1, 250), st.one_of(st.none(), st.tuples(st.integers(1, 530), st.integers(0, 80))))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=6))
def test_serial_ranges_never_overlap_and_retired_serials_never_move(users, orgs, school_credits, operations):
    request, school = school_credits
    holders = [(users.school, school), (users.energy, services.account_for(orgs.energy)),
               (users.airline, services.account_for(orgs.airline))]
    with transaction.atomic():
        retired_before: dict[int, tuple] = {}
        for kind, source, target, tonnes, serial in operations:
            actor, account = holders[source]
            serials = (request.pk, serial[0], min(serial[0] + serial[1], 530)) if serial else None
            try:
                if kind == "transfer":
                    services.transfer(actor, account, holders[target][1], tonnes=tonnes, price_fen_per_tonne=3600,
                                      serials=serials, now=AFTER)
                else:
                    services.retire(actor, account, purpose="organisation_neutrality", beneficiary="x",
                                    neutrality_year=2026, tonnes=tonnes, serials=serials, now=AFTER)
            except DomainError as exc:
                assert exc.code in ("insufficient_holdings", "serials_not_held", "serials_retired", "same_account")
            state = serial_map(request.pk)
            assert len(state) == 530
            for s, owner in retired_before.items():
                assert state[s] == owner, f"retired serial {s} moved"
            retired_before = {s: owner for s, owner in state.items() if owner[1] is not None}
        assert audit.verify() == []
        transaction.set_rollback(True)


def test_retiring_twice_is_refused(users, orgs, school_credits):
    request, school = school_credits
    services.retire(users.school, school, purpose="organisation_neutrality", beneficiary="云澜第一中学",
                    neutrality_year=2026, serials=(request.pk, 101, 110), now=AFTER)
    with pytest.raises(Conflict, match="serials_retired"):
        services.retire(users.school, school, purpose="organisation_neutrality", beneficiary="云澜第一中学",
                        neutrality_year=2026, serials=(request.pk, 105, 120), now=AFTER)
    services.retire(users.school, school, purpose="organisation_neutrality", beneficiary="云澜第一中学",
                    neutrality_year=2026, tonnes=520, now=AFTER)  # everything else
    with pytest.raises(Conflict, match="insufficient_holdings"):
        services.retire(users.school, school, purpose="organisation_neutrality", beneficiary="云澜第一中学",
                        neutrality_year=2026, tonnes=1, now=AFTER)
    assert services.active_tonnes(school) == 0 and audit.verify() == []


def test_retired_credits_cannot_be_transferred(users, orgs, school_credits):
    request, school = school_credits
    energy = services.account_for(orgs.energy)
    services.retire(users.school, school, purpose="organisation_neutrality", beneficiary="云澜第一中学",
                    neutrality_year=2026, serials=(request.pk, 1, 500), now=AFTER)
    with pytest.raises(Conflict, match="serials_retired"):
        services.transfer(users.school, school, energy, price_fen_per_tonne=0, serials=(request.pk, 1, 1), now=AFTER)
    with pytest.raises(Conflict, match="insufficient_holdings"):
        services.transfer(users.school, school, energy, tonnes=31, price_fen_per_tonne=0, now=AFTER)
    services.transfer(users.school, school, energy, tonnes=30, price_fen_per_tonne=3600, now=AFTER)
    assert [(b.first, b.last) for b in SerialBlock.objects.filter(account=energy)] == [(501, 530)]
    assert SerialBlock.objects.get(retirement__isnull=False).account == school  # retired serials stay
    assert audit.verify() == []


def test_transfers_split_blocks_and_record_the_price(users, orgs, school_credits):
    request, school = school_credits
    energy, airline = services.account_for(orgs.energy), services.account_for(orgs.airline)
    sale = services.transfer(users.school, school, energy, price_fen_per_tonne=4350, serials=(request.pk, 201, 250),
                             now=AFTER)
    assert (sale.tonnes, sale.total_fen) == (50, 217_500)
    services.transfer(users.energy, energy, airline, tonnes=20, price_fen_per_tonne=5000, now=AFTER)
    assert serial_map(request.pk)[220] == (airline.pk, None) and serial_map(request.pk)[221] == (energy.pk, None)
    assert sorted(SerialBlock.objects.values_list("first", "last", "account")) == [
        (1, 200, school.pk), (201, 220, airline.pk), (221, 250, energy.pk), (251, 530, school.pk)]
    assert [(r.first, r.last) for r in sale.ranges.all()] == [(201, 250)]


def test_listed_tonnes_are_kept_for_buyers(users, orgs, school_credits):
    _, school = school_credits
    listing = services.create_listing(users.school, school, tonnes=500, price_fen_per_tonne=3600, now=AFTER)
    with pytest.raises(Conflict, match="insufficient_holdings"):
        services.transfer(users.school, school, services.account_for(orgs.airline), tonnes=31, price_fen_per_tonne=1,
                          now=AFTER)
    services.buy(users.energy, listing, 500, now=AFTER)
    listing.refresh_from_db()
    assert (listing.remaining, listing.status) == (0, "closed")
    with pytest.raises(Conflict, match="listing_unavailable"):
        services.buy(users.airline, listing, 1, now=AFTER)


# ETS offsets -------------------------------------------------------------------------------------

def offset(users, account, tonnes, obligation=500, year=2026):
    return services.retire(users.school, account, purpose="ets_offset", beneficiary="云澜第一中学", tonnes=tonnes,
                           compliance_year=year, obligation_tonnes=obligation, now=AFTER)


def test_offsets_are_capped_at_the_share_of_the_obligation(users, school_credits):
    _, school = school_credits
    offset(users, school, 30)  # limit: 10% of 500 t = 50 t
    with pytest.raises(Conflict, match="offset_limit"):
        offset(users, school, 21)
    offset(users, school, 20)
    with pytest.raises(Conflict, match="offset_limit"):
        offset(users, school, 1)
    with pytest.raises(Conflict, match="obligation_mismatch"):
        offset(users, school, 1, obligation=5000)
    offset(users, school, 1, year=2027)  # another compliance year has its own obligation
    assert services.active_tonnes(school) == 530 - 51


def test_the_offset_share_is_configurable(users, school_credits, settings):
    settings.TANHUI_REGISTRY_OFFSET_SHARE_PERCENT = 5
    _, school = school_credits
    with pytest.raises(Conflict, match="offset_limit"):
        offset(users, school, 26)
    assert offset(users, school, 25).obligation.share_percent == 5
