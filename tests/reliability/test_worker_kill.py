"""SIGKILL of `tanhui worker` while it processes a large batch sent through the API: restarted with its
defaults (as a service manager would), the worker takes the batch up again at once and credits every
record exactly once."""

import subprocess
import sys
import time

import pytest

from tests.ingest.test_crash import query
from tests.reliability.conftest import action, kill_group, ledger_verifies

pytestmark = pytest.mark.slow

KILL_AFTER_SECONDS = [0.05, 0.5]


def batch_state(env, batch_id: int) -> tuple:
    return tuple(query(env, f"SELECT status, started_at FROM ingest_batch WHERE id = {batch_id}")[0])


def start_worker(env, processes, log):
    return processes([sys.executable, "-m", "tanhui", "worker", "--poll", "0.2"], env, stdout=log,
                     stderr=subprocess.STDOUT)


def wait_for(condition, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def test_a_worker_killed_mid_batch_takes_it_up_again_when_restarted(city, processes, tmp_path):
    town = city(credited=False)
    env = town.env
    batch_id = action(env, "queue_upload", str(town.trips))["batch_id"]
    log = (tmp_path / "worker.log").open("a")

    started_before = None
    for delay in KILL_AFTER_SECONDS:
        worker = start_worker(env, processes, log)
        wait_for(lambda: (state := batch_state(env, batch_id))[0] == "processing" and state[1] != started_before,
                 "the worker claims the batch")
        started_before = batch_state(env, batch_id)[1]
        time.sleep(delay)
        kill_group(worker)
        assert batch_state(env, batch_id)[0] == "processing"  # interrupted, not finished
        assert query(env, "SELECT COUNT(*) FROM ingest_reduction")[0][0] == 0
        ledger_verifies(env)

    start_worker(env, processes, log)
    wait_for(lambda: batch_state(env, batch_id)[0] in ("done", "failed"), "the restarted worker finishes the batch")
    log.close()
    assert query(env, f"SELECT status, records, accepted, duplicates FROM ingest_batch WHERE id = {batch_id}")[0] == (
        "done", town.records, town.records, 0), (tmp_path / "worker.log").read_text()[-3000:]
    assert tuple(query(env, "SELECT COUNT(*), COUNT(DISTINCT record_id), SUM(reduction_mg) FROM ingest_reduction")[
        0]) == (town.records, town.records, sum(town.expected_mg))
    credited = dict(query(env, "SELECT c.citizen_id, b.mg_co2e FROM ledger_account c JOIN ledger_balance b "
                               "ON b.id = c.id WHERE c.citizen_id IS NOT NULL"))
    assert sorted(credited.values()) == sorted(town.expected_mg)
    ledger_verifies(env)
