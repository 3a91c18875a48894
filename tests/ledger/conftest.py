"""Ledger fixtures: citizens with accounts made in bulk, a clock to move, and a strict verify.

`postgres_only` tests (real concurrency: threads with their own connections) are skipped on
SQLite by tests/conftest.py.
"""

import json

import pytest
from django.core.management import call_command

from tanhui.ledger import audit, services
from tanhui.people.models import Citizen, User


def make_citizens(count: int, prefix: str = "ledger") -> list[Citizen]:
    users = User.objects.bulk_create([User(username=f"{prefix}{i}") for i in range(count)])
    return Citizen.objects.bulk_create([Citizen(user=user) for user in users])


def citizen_accounts(count: int, prefix: str = "ledger") -> list[int]:
    citizens = make_citizens(count, prefix)
    accounts = services.citizen_accounts(c.pk for c in citizens)
    return [accounts[c.pk] for c in citizens]


def assert_verified() -> None:
    report = audit.verify()
    assert report.ok, report.problems


def credit(account: int, points: int, key: str, mg: int | None = None, scenario: str = "metro", batch: int = 1):
    spec = services.mint_credit(account, points, points * 1000 + 7 if mg is None else mg, idempotency_key=key,
                                scenario=scenario, ref_type="ingest.batch", ref_id=str(batch))
    return services.post_transactions([spec])[0]


def spend(account: int, points: int, key: str):
    return services.post_transactions([services.spend_points(account, points, idempotency_key=key)])[0]


@pytest.fixture
def accounts(db):
    return citizen_accounts


@pytest.fixture
def run_json(capsys):
    """Runs `tanhui ledger …  --json`; returns the one JSON object it printed."""

    def run(*args) -> dict:
        capsys.readouterr()
        call_command("ledger", *args, "--json")
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1, lines
        return json.loads(lines[0])

    return run
