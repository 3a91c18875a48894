"""`tanhui ledger expire|root|verify --json`."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tanhui.ledger import services
from tests.ledger.conftest import credit


def test_expire_reports_what_it_did(accounts, clock, settings, run_json):
    settings.TANHUI_POINTS_EXPIRE_DAYS = 30
    (a,) = accounts(1)
    credit(a, 9, "c")
    clock.advance(days=31)
    result = run_json("expire")
    assert result == {"expire_days": 30, "credited_before": result["credited_before"], "accounts": 1, "points": 9,
                      "reservations_released": 0}
    assert services.balance(a)["points"] == 0


def test_root_writes_the_file_it_names_and_verify_checks_it(accounts, run_json, tmp_path):
    (a,) = accounts(1)
    credit(a, 1, "c")
    out = tmp_path / "kept" / "root.json"
    result = run_json("root", "--out", str(out))

    assert result["path"] == str(out) and result["transfers"] == 1 and result["partitions"] == 1
    kept = json.loads(out.read_text())
    assert kept["root"] == result["root"] and len(kept["heads"]) == 1
    assert run_json("verify", "--root", str(out))["roots"] == 2  # the stored one and the file


def test_verify_refuses_a_file_that_is_not_a_root(db, tmp_path):
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}")
    with pytest.raises(CommandError, match="not a root file"):
        call_command("ledger", "verify", "--root", str(bogus))


def test_a_forged_root_file_is_reported(accounts, run_json, tmp_path):
    (a,) = accounts(1)
    credit(a, 1, "c")
    path = tmp_path / "root.json"
    run_json("root", "--out", str(path))
    forged = json.loads(path.read_text())
    forged["heads"][0][2] = "f" * 64
    path.write_text(json.dumps(forged))
    with pytest.raises(CommandError, match="not the hash of its heads"):
        call_command("ledger", "verify", "--root", str(path))
