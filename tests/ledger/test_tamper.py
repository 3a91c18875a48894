"""What the database refuses, and what `tanhui ledger verify` catches when someone with full
access to the database (who can switch the guards off) edits it anyway — on SQLite and PostgreSQL."""

import io
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from tanhui.ledger import audit
from tanhui.ledger.chain import GENESIS, as_utc, microseconds, transfer_hash
from tanhui.ledger.models import Transfer
from tests.ledger.conftest import assert_verified, credit, spend


def refused(sql: str) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    except DatabaseError:
        return True
    return False


def as_superuser(*statements: str) -> None:
    """Runs the statements with the append-only guards switched off (undone with the test's
    transaction)."""
    with connection.cursor() as cursor:
        for table in ("ledger_transfer", "ledger_root"):
            if connection.vendor == "sqlite":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            else:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_refuse")
        for sql in statements:
            cursor.execute(sql)


def verify_fails(*args: str) -> tuple[dict, str]:
    """Runs `tanhui ledger verify --json`; returns its JSON and the failure it exits with."""
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("ledger", "verify", "--json", *args, stdout=out)
    assert caught.value.returncode == 1
    return json.loads(out.getvalue()), str(caught.value)


@pytest.fixture
def ledger(accounts):
    a, b = accounts(2)
    credit(a, 10, "first")
    credit(b, 20, "second")
    spend(a, 3, "third")
    credit(a, 5, "fourth")
    assert_verified()
    return a, b


def test_the_database_refuses_edits_and_deletes_of_transfers(ledger):
    audit.export_root()
    assert refused("UPDATE ledger_transfer SET points = points + 1")
    assert refused("UPDATE ledger_transfer SET memo = 'x'")
    assert refused("DELETE FROM ledger_transfer")
    assert refused("UPDATE ledger_root SET root = 'x'")
    assert refused("DELETE FROM ledger_account")
    assert refused("DELETE FROM ledger_balance")
    assert_verified()


def test_the_database_refuses_overdrafts_and_unknown_accounts(ledger):
    a, _ = ledger
    row = ("INSERT INTO ledger_transfer (id, idempotency_key, part, kind, memo, created_at, partition, hash, "
           "debit_id, credit_id, points, mg_co2e) VALUES (900000, 'raw', 0, 'spend', '', '2030-01-01', 0, 'x', "
           "{debit}, {credit}, {points}, 0)")
    assert refused(row.format(debit=a, credit=-200, points=13))  # a holds 12
    assert refused(row.format(debit=a, credit=10**9, points=1))
    assert refused(row.format(debit=a, credit=a, points=1))
    assert refused(row.format(debit=a, credit=-200, points=0))
    assert_verified()


def test_an_edited_amount_is_caught(ledger):
    a, _ = ledger
    third = Transfer.objects.get(idempotency_key="third")
    as_superuser(f"UPDATE ledger_transfer SET points = 1 WHERE id = {third.pk}")

    result, failure = verify_fails()

    assert not result["ok"]
    assert f"transfer #{third.pk}" in failure and "altered" in failure
    assert any(f"account #{a}" in problem for problem in result["problems"])


def test_an_edited_reference_is_caught(ledger):
    second = Transfer.objects.get(idempotency_key="second")
    as_superuser(f"UPDATE ledger_transfer SET scenario = 'bus' WHERE id = {second.pk}")
    result, failure = verify_fails()
    assert result["problem_count"] == 1 and f"transfer #{second.pk}" in failure


def test_a_deleted_transfer_is_caught(ledger):
    third = Transfer.objects.get(idempotency_key="third")
    as_superuser(f"DELETE FROM ledger_transfer WHERE id = {third.pk}")
    _, failure = verify_fails()
    assert "transfer #" in failure or "chain" in failure


def test_an_edited_balance_is_caught(ledger):
    a, _ = ledger
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_balance SET points = points + 100 WHERE id = %s", [a])
    _, failure = verify_fails()
    assert f"account #{a}" in failure


def test_history_rewritten_consistently_is_caught_by_a_root_kept_elsewhere(ledger, tmp_path):
    kept = audit.export_root(tmp_path / "root.json")
    first = Transfer.objects.get(idempotency_key="first")
    forge(first.pk, points=1000)
    assert not audit.verify().ok  # the root stored in the ledger still disagrees

    as_superuser("DELETE FROM ledger_root")  # a thorough forger removes it too
    assert_verified()  # now only a root kept elsewhere can tell
    _, failure = verify_fails("--root", kept["path"])
    assert "history was rewritten" in failure and "root file 1" in failure


def test_history_cut_short_is_caught_by_a_root_kept_elsewhere(ledger, tmp_path):
    kept = audit.export_root(tmp_path / "root.json")
    last = Transfer.objects.get(idempotency_key="fourth")
    before = Transfer.objects.filter(partition=last.partition, id__lt=last.pk).order_by("-id").first()
    as_superuser(f"DELETE FROM ledger_transfer WHERE id = {last.pk}", "DELETE FROM ledger_root")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_chain SET length = length - 1, head = %s WHERE partition = %s",
                       [before.hash, last.partition])
    assert_balances_follow_transfers()
    assert_verified()

    _, failure = verify_fails("--root", kept["path"])
    assert "root file 1" in failure and "history was removed" in failure


def forge(transfer_id: int, **changes) -> None:
    """What a careful forger would do: change a transfer, rehash its partition from there on, move
    the chain head and the balances along."""
    target = Transfer.objects.get(pk=transfer_id)
    as_superuser(*(f"UPDATE ledger_transfer SET {field} = {value} WHERE id = {transfer_id}"
                   for field, value in changes.items()))
    prev = GENESIS
    with connection.cursor() as cursor:
        for t in Transfer.objects.filter(partition=target.partition).order_by("id"):
            prev = transfer_hash(prev, t.pk, t.partition, t.idempotency_key, t.part, t.kind, t.scenario, t.ref_type,
                                 t.ref_id, t.memo, microseconds(as_utc(t.created_at)), t.debit_id, t.credit_id,
                                 t.points, t.mg_co2e, t.reverses_id, t.settles_id, microseconds(t.expires_at))
            cursor.execute("UPDATE ledger_transfer SET hash = %s WHERE id = %s", [prev, t.pk])
        cursor.execute("UPDATE ledger_chain SET head = %s WHERE partition = %s", [prev, target.partition])
    assert_balances_follow_transfers()


def assert_balances_follow_transfers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("""UPDATE ledger_balance SET
            points = (SELECT coalesce(sum(CASE WHEN credit_id = ledger_balance.id THEN points ELSE -points END), 0)
                        FROM ledger_transfer WHERE ledger_balance.id IN (debit_id, credit_id)),
            mg_co2e = (SELECT coalesce(sum(CASE WHEN credit_id = ledger_balance.id THEN mg_co2e ELSE -mg_co2e END), 0)
                         FROM ledger_transfer WHERE ledger_balance.id IN (debit_id, credit_id))""")


def test_verify_passes_on_an_intact_ledger(ledger, run_json):
    audit.export_root()
    result = run_json("verify")
    assert result["ok"] and result["problems"] == []
    assert (result["transfers"], result["roots"]) == (4, 1)


@pytest.mark.skipif("os.environ.get('TANHUI_DATABASE_URL')")
def test_the_command_exits_1_naming_the_first_broken_transfer(tmp_path):
    """End to end on SQLite: a real `tanhui` process, a database file edited behind the ledger's back."""
    env = {**os.environ, "TANHUI_HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", POST_THREE_AND_VERIFY], env=env, check=True)
    with sqlite3.connect(tmp_path / "tanhui.sqlite3") as db:
        db.execute("DROP TRIGGER ledger_transfer_no_update")
        db.execute("UPDATE ledger_transfer SET memo = 'edited' WHERE idempotency_key = 'two'")
        (edited,) = db.execute("SELECT id FROM ledger_transfer WHERE idempotency_key = 'two'").fetchone()

    broken = subprocess.run([sys.executable, "-m", "tanhui", "ledger", "verify", "--json"], env=env,
                            capture_output=True, text=True)

    assert broken.returncode == 1
    assert json.loads(broken.stdout)["ok"] is False
    assert f"transfer #{edited} " in broken.stderr and "'two'" in broken.stderr


POST_THREE_AND_VERIFY = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tanhui.settings")
django.setup()
from django.core.management import call_command
from tanhui.ledger import services
from tanhui.people.models import Citizen, User
call_command("migrate", verbosity=0)
citizen = Citizen.objects.create(user=User.objects.create(username="c"))
account = services.citizen_accounts([citizen.pk])[citizen.pk]
for key in ("one", "two", "three"):
    services.post_transactions([services.mint_credit(account, 5, 5000, idempotency_key=key, scenario="metro",
                                                     ref_type="ingest.batch", ref_id="1")])
call_command("ledger", "verify")
"""


def test_verify_also_runs_the_checks_other_apps_declare(db, monkeypatch):
    """The registry's event log (and any app's hash-chained log) is audited by the same command."""
    from django.apps import apps

    monkeypatch.setattr(apps.get_app_config("registry"), "ledger_verifiers",
                        ["tests.ledger.test_tamper.a_broken_log"], raising=False)
    with pytest.raises(CommandError, match="registry event 7 altered"):
        call_command("ledger", "verify", stdout=io.StringIO())


def a_broken_log() -> list[str]:
    return ["registry event 7 altered"]
