"""Posting: balanced transfers, idempotency, refusals that write nothing, the caller's transaction."""

import pytest
from django.db import transaction

from tanhui.core.errors import Conflict, DomainError
from tanhui.ledger import services
from tanhui.ledger.models import Account, Balance, Transfer
from tanhui.ledger.services import Leg, TxSpec
from tests.ledger.conftest import assert_verified, credit, spend


def totals() -> tuple[int, int]:
    points = mg = 0
    for p, m in Balance.objects.values_list("points", "mg_co2e"):
        points += p
        mg += m
    return points, mg


def test_a_credit_mints_points_and_mg_from_the_issuance_shard(accounts):
    (account,) = accounts(1)
    result = credit(account, 12, "ingest:1:1:metro", mg=12_345)

    assert services.balance(account) == {"points": 12, "mg_co2e": 12_345}
    issuer = services.system_account("issuance", services.shard_of(account))
    assert services.balance(issuer) == {"points": -12, "mg_co2e": -12_345}
    assert totals() == (0, 0)
    transfer = Transfer.objects.get(pk=result.tx_id)
    assert (transfer.debit_id, transfer.credit_id, transfer.kind, transfer.scenario, transfer.ref_type,
            transfer.ref_id) == (issuer, account, "credit", "metro", "ingest.batch", "1")
    assert_verified()


def test_a_credit_of_reductions_below_one_point_carries_mg_only(accounts):
    (account,) = accounts(1)
    credit(account, 0, "k", mg=999)
    assert services.balance(account) == {"points": 0, "mg_co2e": 999}


def test_a_replay_returns_the_original_result_and_writes_nothing(accounts):
    (account,) = accounts(1)
    first = credit(account, 5, "ingest:7:1:bus")
    count = Transfer.objects.count()

    again = credit(account, 5, "ingest:7:1:bus")

    assert again.replayed and not first.replayed
    assert again._replace(replayed=False) == first
    assert Transfer.objects.count() == count
    assert services.balance(account)["points"] == 5


def test_a_batch_of_posted_and_new_keys_returns_every_result_in_order(accounts):
    a, b, c = accounts(3)
    earlier = services.post_transactions([credit_spec(b, 2, "b")])[0]

    results = services.post_transactions([credit_spec(a, 1, "a"), credit_spec(b, 2, "b"), credit_spec(c, 3, "c")])

    assert [r.idempotency_key for r in results] == ["a", "b", "c"]
    assert [r.replayed for r in results] == [False, True, False]
    assert results[1] == earlier._replace(replayed=True)
    assert [services.balance(x)["points"] for x in (a, b, c)] == [1, 2, 3]
    assert_verified()


def test_the_same_key_with_another_body_is_a_conflict(accounts):
    (account,) = accounts(1)
    credit(account, 5, "ingest:7:1:bus")
    with pytest.raises(Conflict) as caught:
        credit(account, 6, "ingest:7:1:bus")
    assert caught.value.code == "idempotency_conflict"
    assert services.balance(account)["points"] == 5


def test_a_key_repeated_within_a_batch(accounts):
    (account,) = accounts(1)
    spec = services.mint_credit(account, 3, 3000, idempotency_key="k", scenario="bike", ref_type=None, ref_id=None)
    first, second = services.post_transactions([spec, spec])
    assert second == first._replace(replayed=True)
    assert services.balance(account)["points"] == 3

    other = services.mint_credit(account, 4, 4000, idempotency_key="k2", scenario="bike", ref_type=None, ref_id=None)
    clash = services.mint_credit(account, 5, 5000, idempotency_key="k2", scenario="bike", ref_type=None, ref_id=None)
    with pytest.raises(Conflict):
        services.post_transactions([other, clash])


@pytest.mark.parametrize("legs, code", [
    ((Leg(1, "points", -5), Leg(2, "points", 4)), "unbalanced"),
    ((Leg(1, "points", -5),), "unbalanced"),
    ((), "invalid_legs"),
    ((Leg(1, "points", 0), Leg(2, "points", 0)), "invalid_legs"),
    ((Leg(1, "points", -5), Leg(1, "points", 5)), "invalid_legs"),
    ((Leg(1, "points", -5), Leg(2, "points", 5), Leg(2, "points", 1), Leg(3, "points", -1)), "invalid_legs"),
    ((Leg(1, "gold", -5), Leg(2, "gold", 5)), "invalid_legs"),
    ((Leg(1, "points", -1.5), Leg(2, "points", 1.5)), "invalid_legs"),
])
def test_legs_must_be_integers_one_per_account_and_asset_summing_to_zero(legs, code):
    with pytest.raises(DomainError) as caught:
        TxSpec("k", "transfer", legs)
    assert caught.value.code == code


@pytest.mark.parametrize("changes, code", [
    ({"idempotency_key": ""}, "invalid_key"),
    ({"idempotency_key": "a\x1fb"}, "invalid_key"),
    ({"kind": "gift"}, "invalid_kind"),
    ({"memo": "x" * 201}, "invalid_text"),
    ({"scenario": None}, "invalid_text"),
])
def test_specs_are_checked_when_made(changes, code):
    fields = {"idempotency_key": "k", "kind": "credit", "legs": (Leg(-100, "points", -1), Leg(5, "points", 1)),
              "scenario": "metro", **changes}
    with pytest.raises(DomainError) as caught:
        TxSpec(**fields)
    assert caught.value.code == code


def test_callers_cannot_post_lifecycle_kinds_or_links(accounts):
    a, b = accounts(2)
    for spec in (TxSpec("k", "expire", (Leg(a, "points", -1), Leg(b, "points", 1))),
                 TxSpec("k", "transfer", (Leg(a, "points", -1), Leg(b, "points", 1)), reverses=1)):
        with pytest.raises(DomainError) as caught:
            services.post_transactions([spec])
        assert caught.value.code == "invalid_kind"


def test_legs_among_several_accounts_pair_into_transfers(accounts):
    a, b, c = accounts(3)
    credit(a, 10, "fund-a")
    credit(b, 10, "fund-b")
    spec = TxSpec("split", "transfer", (Leg(a, "points", -7), Leg(b, "points", -3), Leg(c, "points", 6),
                                        Leg(services.system_account("registry"), "points", 4)))
    result = services.post_transactions([spec])[0]

    parts = list(Transfer.objects.filter(idempotency_key="split").order_by("part"))
    assert [t.part for t in parts] == [0, 1, 2]
    assert parts[0].pk == result.tx_id and parts[-1].hash == result.hash
    assert {(t.debit_id, t.credit_id, t.points) for t in parts} == {
        (a, services.system_account("registry"), 4), (a, c, 3), (b, c, 3)}
    assert services.balance(c)["points"] == 6
    assert services.post_transactions([spec])[0].replayed
    assert_verified()


def test_an_overdraft_is_refused_before_anything_is_written(accounts):
    a, b = accounts(2)
    credit(a, 10, "fund")
    count = Transfer.objects.count()
    with pytest.raises(Conflict) as caught:
        services.post_transactions([credit_spec(b, 1, "ok"), services.spend_points(a, 11, idempotency_key="over")])
    assert caught.value.code == "insufficient_balance"
    assert Transfer.objects.count() == count
    assert services.balance(b)["points"] == 0


def test_within_a_batch_a_credit_can_fund_a_later_spend_but_not_an_earlier_one(accounts):
    (a,) = accounts(1)
    services.post_transactions([credit_spec(a, 5, "c1"), services.spend_points(a, 5, idempotency_key="s1")])
    assert services.balance(a)["points"] == 0
    with pytest.raises(Conflict):
        services.post_transactions([services.spend_points(a, 5, idempotency_key="s2"), credit_spec(a, 5, "c2")])


def test_an_unknown_account_is_refused(accounts):
    (a,) = accounts(1)
    with pytest.raises(DomainError) as caught:
        services.post_transactions([services.move_points(a, 10**9, 1, kind="transfer", idempotency_key="k")])
    assert caught.value.code == "unknown_account"


def credit_spec(account: int, points: int, key: str) -> TxSpec:
    return services.mint_credit(account, points, points * 1000, idempotency_key=key, scenario="metro",
                                ref_type=None, ref_id=None)


def test_posting_joins_the_callers_transaction(accounts):
    (a,) = accounts(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        credit(a, 5, "inside")
        raise RuntimeError("the batch failed after posting")
    assert services.balance(a)["points"] == 0
    assert not Transfer.objects.filter(idempotency_key="inside").exists()
    assert_verified()


def test_a_refusal_leaves_the_callers_transaction_usable(accounts):
    (a,) = accounts(1)
    with transaction.atomic():
        credit(a, 5, "first")
        with pytest.raises(Conflict):
            spend(a, 6, "too-much")
        spend(a, 5, "fine")
    assert services.balance(a)["points"] == 0
    assert_verified()


def test_a_database_refusal_halfway_marks_the_callers_transaction_for_rollback(accounts, monkeypatch):
    (a,) = accounts(1)
    with transaction.atomic():
        credit(a, 5, "doomed")
        monkeypatch.setattr(services, "_replays", lambda specs: {})  # as if a concurrent writer won the key
        with pytest.raises(Conflict) as caught:
            credit(a, 5, "doomed")
        assert caught.value.code == "idempotency_conflict"
        assert transaction.get_rollback()
    assert not Transfer.objects.filter(idempotency_key="doomed").exists()


def test_citizen_accounts_are_created_once(db):
    from tests.ledger.conftest import make_citizens

    citizens = make_citizens(3)
    first = services.citizen_accounts(c.pk for c in citizens)
    again = services.citizen_accounts([citizens[0].pk, citizens[0].pk, citizens[2].pk])
    assert again == {c: first[c] for c in (citizens[0].pk, citizens[2].pk)}
    assert Account.objects.filter(kind="citizen").count() == 3


def test_named_accounts(db):
    charity = services.named_account("charity", "tree-planting")
    assert services.named_account("charity", "tree-planting") == charity
    with pytest.raises(DomainError):
        services.named_account("issuance", "x")
