"""SIGKILL of gunicorn (master and workers) while citizens donate points and a provider sends batches:
after a restart the ledger verifies, every request that was answered 2xx is in the database, and
retrying every request — answered or not — succeeds and takes effect exactly once."""

import threading
import time

import pytest
import requests

from tests.ingest.test_crash import query, tanhui
from tests.reliability.conftest import Citizen, Server, action, donating, ledger_verifies

pytestmark = pytest.mark.slow

DONORS = 8
BATCH_CITIZENS = 100  # one trip each per batch, on a day of its own: nothing is capped
MAX_BATCHES = 25


def batch_records(n: int) -> list[dict]:
    return [{"record_id": f"api-{n}-{i}", "external_user_id": f"M{i}", "started_at": f"2026-05-{n + 1:02d} 09:00:00",
             "ended_at": f"2026-05-{n + 1:02d} 09:40:00", "distance_km": "12.5"} for i in range(BATCH_CITIZENS)]


def send_batch(url: str, api_key: str, n: int) -> bool:
    """Opens batch `b<n>` and, unless an earlier attempt closed it already, fills and closes it (what a
    provider's client does, and does again when it got no answer); True if every step was answered 2xx."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {api_key}"
    base = f"{url}/api/v1/batches"
    try:
        opened = http.post(base, json={"key": f"b{n}", "scenario": "metro"}, timeout=30)
        if not opened.ok or opened.json()["status"] != "receiving":
            return opened.ok
        return (http.put(f"{base}/b{n}/chunks/1", json={"records": batch_records(n)}, timeout=30).ok
                and http.post(f"{base}/b{n}/close", timeout=30).ok)
    except requests.RequestException:
        return False


def donation_rows(env) -> dict[str, int]:
    return dict(query(env, "SELECT request_key, COUNT(*) FROM rewards_donation GROUP BY request_key"))


def test_killing_the_server_mid_request_loses_nothing_answered_and_credits_nothing_twice(city, processes, tmp_path):
    town = city()
    env = town.env
    project = action(env, "charity", "trees")
    sessions = action(env, "sessions", str(DONORS))["sessions"]
    points_before = dict(query(env, "SELECT c.citizen_id, b.points FROM ledger_account c JOIN ledger_balance b "
                                    "ON b.id = c.id WHERE c.citizen_id IS NOT NULL"))
    server = Server(env, processes, tmp_path / "gunicorn.log").start()

    answered: dict[tuple[int, str], bool] = {}  # (donor, request key) → answered 2xx
    batches: dict[int, bool] = {}
    stop = threading.Event()

    def provider() -> None:
        for n in range(MAX_BATCHES):
            if stop.is_set():
                return
            batches[n] = send_batch(server.url, town.api_key, n)

    def record(i, key, sent, response):
        answered[(i, key)] = response is not None and response.status_code == 201

    sending = threading.Thread(target=provider)
    with donating(server.url, sessions, record):
        sending.start()
        deadline = time.monotonic() + 120
        while (sum(answered.values()) < 40 or sum(batches.values()) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()  # requests of every thread are in flight
        stop.set()
    sending.join()
    assert sum(answered.values()) >= 40 and sum(batches.values()) >= 2
    assert not all(answered.values())  # some requests were cut off by the kill

    ledger_verifies(env)
    stored = donation_rows(env)
    assert {key for (_, key), ok in answered.items() if ok} <= set(stored)  # every 2xx is in the database

    server.start()
    citizens = [Citizen(server.url, s) for s in sessions]
    for (i, key), ok in answered.items():  # a client retries what was not answered; a retry of the rest is harmless
        assert citizens[i].donate("trees", key).status_code == 201
    for n in batches:
        assert send_batch(server.url, town.api_key, n)

    stored = donation_rows(env)
    assert stored == {key: 1 for _, key in answered}
    donated = query(env, "SELECT COUNT(*), SUM(points) FROM ledger_transfer WHERE kind = 'donate'")[0]
    assert tuple(donated) == (len(answered), len(answered))
    assert query(env, f"SELECT points FROM ledger_balance WHERE id = {project['account_id']}")[0][0] == len(answered)
    points_after = dict(query(env, "SELECT c.citizen_id, b.points FROM ledger_account c JOIN ledger_balance b "
                                   "ON b.id = c.id WHERE c.citizen_id IS NOT NULL"))
    by_donor = {i: sum(1 for d, _ in answered if d == i) for i in range(DONORS)}
    donor_ids = [row[0] for row in query(env, "SELECT id FROM people_citizen ORDER BY id")[:DONORS]]
    assert [points_before[c] - points_after[c] for c in donor_ids] == [by_donor[i] for i in range(DONORS)]

    tanhui(env, "worker", "--once")
    done = query(env, "SELECT key, status, records FROM ingest_batch WHERE key IS NOT NULL ORDER BY id")
    assert sorted(done) == sorted((f"b{n}", "done", BATCH_CITIZENS) for n in batches)
    assert query(env, "SELECT COUNT(*), COUNT(DISTINCT record_id) FROM ingest_reduction")[0] == (
        town.records + len(batches) * BATCH_CITIZENS,) * 2
    ledger_verifies(env)
