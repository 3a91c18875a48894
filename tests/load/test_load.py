"""The load run of issue 10, short: the API mix under gunicorn (benchmarks/bench_load.py) on the database
the suite runs on, then what must hold exactly whatever the load: no request failed, the ledger verifies,
every coupon the clients were given exists once with its reservation and took one unit of stock, quiz
rewards were paid once per citizen who passed, and every record the providers sent was credited once
(re-sent records only as duplicates). No timing is asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_health_answers_without_a_login(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _database() -> str:
    """A database of its own beside the suite's: the run's server and worker write to it outside the
    test's transaction."""
    if connection.vendor != "postgresql":
        return "sqlite"
    return os.environ["TANHUI_DATABASE_URL"].rsplit("/", 1)[0] + "/tanhui_load_test"


@pytest.mark.slow
def test_a_short_load_run_fails_nothing_and_keeps_every_value_exact(tmp_path):
    home, database = tmp_path / "home", _database()
    run = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "benchmarks" / "bench_load.py"), "--seconds", "20", "--health-seconds", "5",
         "--users", "12", "--citizens", "1000", "--database", database, "--home", str(home), "--json"],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])

    mix = {row["name"]: row for row in result["mix"]["endpoints"]}
    assert result["errors"] == 0, [row for row in mix.values() if row["failures"]]
    for name in ("GET /me/ledger", "GET /me/ledger/history", "POST /rewards/offers/{id}/claim",
                 "POST /engagement/attempts/{id}/submit", "PUT /batches/{key}/chunks/{n}", "GET /batches/{key}"):
        assert mix[name]["requests"] > 0, name

    effects = result["effects"]
    assert effects["ledger_verify_ok"]
    assert effects["coupons_claimed_seen"] > 0
    assert (effects["coupons_in_database"] == effects["coupons_claimed_seen"] == effects["coupons_with_reservation"]
            == effects["offers_taken"] == effects["stock_decrease"])
    assert effects["quiz_submitted_in_database"] == effects["quiz_submitted_seen"] > 0
    assert effects["quiz_pass_awards"] == effects["quiz_pass_awards_citizens"] == effects["quiz_passers"] > 0
    assert effects["batches_done"] == effects["batches_sent_seen"] > 0
    assert effects["records"] == effects["records_sent_seen"]
    assert effects["records_rejected"] == 0
    assert effects["records_duplicates"] == effects["records_resent_seen"] > 0
    assert effects["records_accepted"] == effects["reductions"] == effects["records"] - effects["records_resent_seen"]
    assert effects["points_credited_for_batches"] == effects["points_in_batches"] > 0

    env = {**os.environ, "TANHUI_HOME": str(home)}
    env.pop("TANHUI_DATABASE_URL", None)
    if database != "sqlite":
        env["TANHUI_DATABASE_URL"] = database
    verify = subprocess.run([str(Path(sys.executable).parent / "tanhui"), "ledger", "verify", "--json"],  # noqa: S603
                            capture_output=True, text=True, env=env, timeout=300)
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["ok"] is True
