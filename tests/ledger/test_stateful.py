"""Random sequences of credits, spends, reservations (posted, voided, timed out), expiries,
reversals, replays and conflicting replays. After every step: each asset sums to zero, no citizen
is negative, the balances are what a plain model says, replays change nothing, verify passes."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tanhui.core.errors import Conflict
from tanhui.ledger import audit, services
from tanhui.ledger.models import Account, Balance, Transfer
from tests.ledger.conftest import citizen_accounts

CITIZENS = 3
citizen = st.integers(0, CITIZENS - 1)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()  # each run is rolled back in teardown
        self.atomic.__enter__()
        self.accounts = citizen_accounts(CITIZENS, prefix="machine")
        self.points = dict.fromkeys(self.accounts, 0)  # the model: spendable points,
        self.mg = dict.fromkeys(self.accounts, 0)  # credited mg,
        self.held: dict[int, tuple[int, int]] = {}  # and pending reservations: id → (account, points)
        self.posted: list[services.TxSpec] = []  # what a replay may repeat
        self.reversible: list[tuple[int, int, int, int]] = []  # tx id, account, points, mg (signed)
        self.keys = 0
        self.days_ahead = services.expire_days()

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def key(self) -> str:
        self.keys += 1
        return f"machine:{self.keys}"

    def refused(self, post) -> bool:
        """Runs a posting that the model says may be refused; a refusal must change nothing."""
        before = self.snapshot()
        try:
            post()
        except Conflict as exc:
            assert exc.code == "insufficient_balance", exc
            assert self.snapshot() == before
            return True
        return False

    def snapshot(self):
        """Every balance (but the zeros of system accounts created on first use) and the row count."""
        balances = Balance.objects.exclude(points=0, mg_co2e=0).values_list("id", "points", "mg_co2e")
        return sorted(balances), Transfer.objects.count()

    @initialize(amounts=st.lists(st.integers(1, 100), min_size=CITIZENS, max_size=CITIZENS))
    def fund(self, amounts):
        for who, points in enumerate(amounts):
            self.credit(who, points, points * 1000)

    @rule(who=citizen, points=st.integers(0, 100), mg=st.integers(1, 60_000))
    def credit(self, who, points, mg):
        account = self.accounts[who]
        spec = services.mint_credit(account, points, mg, idempotency_key=self.key(), scenario="metro",
                                    ref_type="ingest.batch", ref_id="1")
        (result,) = services.post_transactions([spec])
        self.points[account] += points
        self.mg[account] += mg
        self.posted.append(spec)
        self.reversible.append((result.tx_id, account, points, mg))

    @rule(who=citizen, share=st.integers(1, 5))
    def spend(self, who, share):
        """A quarter to all of what the citizen holds, or 1 more than that (refused)."""
        account = self.accounts[who]
        points = max(1, self.points[account] * share // 4) if share < 5 else self.points[account] + 1
        spec = services.spend_points(account, points, idempotency_key=self.key())
        results = []
        refused = self.refused(lambda: results.extend(services.post_transactions([spec])))
        assert refused == (points > self.points[account])
        if not refused:
            self.points[account] -= points
            self.posted.append(spec)
            self.reversible.append((results[0].tx_id, account, -points, 0))

    @rule(who=citizen, share=st.integers(1, 4))
    def reserve(self, who, share):
        """A quarter to all of what the citizen holds (or 1 point when there is nothing, refused)."""
        account = self.accounts[who]
        points = max(1, self.points[account] * share // 4)
        results = []
        refused = self.refused(lambda: results.append(services.reserve(
            account, points, idempotency_key=self.key(), expires_at=timezone.now() + timedelta(hours=1))))
        assert refused == (points > self.points[account])
        if not refused:
            self.points[account] -= points
            self.held[results[0].tx_id] = (account, points)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), post=st.booleans())
    def settle(self, data, post):
        reservation = data.draw(st.sampled_from(sorted(self.held)))
        account, points = self.held.pop(reservation)
        if post:
            services.post_reservation(reservation)
        else:
            services.void_reservation(reservation, "changed mind")
            self.points[account] += points

    @precondition(lambda self: self.held)
    @rule()
    def time_out_reservations(self):
        assert services.release_expired_reservations(timezone.now() + timedelta(hours=2)) == len(self.held)
        for account, points in self.held.values():
            self.points[account] += points
        self.held.clear()

    @precondition(lambda self: any(self.points.values()) or self.held)
    @rule()
    def expire_everything_credited_so_far(self):
        """Years later: every reservation has timed out and every point credited so far expires."""
        self.days_ahead += 1  # each run a day later than the last
        result = services.expire_points(timezone.now() + timedelta(days=self.days_ahead))
        assert result["reservations_released"] == len(self.held)
        self.held.clear()
        self.points = dict.fromkeys(self.accounts, 0)

    @precondition(lambda self: self.reversible)
    @rule(data=st.data())
    def reverse(self, data):
        tx_id, account, points, mg = data.draw(st.sampled_from(self.reversible))
        if self.refused(lambda: services.reverse_transaction(tx_id, "retracted")):
            assert points > self.points[account] or mg > self.mg[account]
            return
        self.points[account] -= points
        self.mg[account] -= mg
        self.reversible.remove((tx_id, account, points, mg))

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def replay(self, data):
        spec = data.draw(st.sampled_from(self.posted))
        before = self.snapshot()
        (result,) = services.post_transactions([spec])
        assert result.replayed
        assert Transfer.objects.get(pk=result.tx_id).idempotency_key == spec.idempotency_key
        assert self.snapshot() == before

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def replay_with_another_body(self, data):
        spec = data.draw(st.sampled_from(self.posted))
        other = services.move_points(spec.legs[0].account_id, spec.legs[-1].account_id, 1, kind="transfer",
                                     idempotency_key=spec.idempotency_key)
        before = self.snapshot()
        with pytest.raises(Conflict) as caught:
            services.post_transactions([other])
        assert caught.value.code == "idempotency_conflict"
        assert self.snapshot() == before

    @invariant()
    def every_asset_sums_to_zero(self):
        balances = list(Balance.objects.values_list("points", "mg_co2e"))
        assert sum(p for p, _ in balances) == 0 and sum(m for _, m in balances) == 0

    @invariant()
    def citizens_hold_what_the_model_says_and_never_less_than_zero(self):
        for account in self.accounts:
            assert services.balance(account) == {"points": self.points[account], "mg_co2e": self.mg[account]}
        hold = sum(Balance.objects.filter(id__in=Account.objects.filter(kind="hold").values("id"))
                   .values_list("points", flat=True))
        assert hold == sum(points for _, points in self.held.values())

    @invariant()
    def verify_passes(self):
        report = audit.verify()
        assert report.ok, report.problems


@pytest.mark.django_db
def test_the_ledger_keeps_its_invariants_under_random_operations():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]))
