"""PostgreSQL restarts while citizens keep donating through gunicorn: during the outage requests fail
cleanly (a JSON 503, nothing half-written), the site reconnects by itself as soon as the database is
back (CONN_HEALTH_CHECKS), every failed request succeeds once retried, and the ledger verifies.

The restarted server is a private cluster (initdb in a temporary folder, on a free port, run as the
`postgres` user): restarting the machine's shared cluster would break whatever else is using it."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import requests

from tests.ingest.test_crash import query
from tests.reliability.conftest import Citizen, Server, action, donating, free_port, ledger_verifies

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DONORS = 4


class Cluster:
    def __init__(self, data: Path, port: int):
        self.data, self.port = data, port

    def ctl(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w",
                        "-l", str(self.data / "server.log"), "-o", f"-p {self.port} -k {self.data} "
                        "-c listen_addresses=127.0.0.1 -c fsync=off", *args], check=True, capture_output=True)


@pytest.fixture
def private_postgres():
    if os.geteuid() != 0 or shutil.which("runuser") is None or not (PG_BIN / "initdb").exists():
        pytest.skip("needs root (to run a private PostgreSQL 15 cluster as the postgres user)")
    data = Path(tempfile.mkdtemp(prefix="tanhui-pg-"))
    shutil.chown(data, "postgres", "postgres")
    subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "postgres", "--no-sync"], check=True, capture_output=True)
    cluster = Cluster(data, free_port())
    cluster.ctl("start")
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE tanhui")
        yield cluster
    finally:
        cluster.ctl("-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)


def test_the_site_survives_a_postgresql_restart_and_reconnects_by_itself(private_postgres, city, processes,
                                                                          tmp_path):
    env = {**os.environ, "TANHUI_HOME": str(tmp_path / "home"),
           "TANHUI_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{private_postgres.port}/tanhui"}
    city(env=env)
    action(env, "charity", "trees")
    sessions = action(env, "sessions", str(DONORS))["sessions"]
    server = Server(env, processes, tmp_path / "gunicorn.log").start()

    outcomes: list[tuple[float, int, str, requests.Response]] = []  # (sent at, donor, key, response)
    with donating(server.url, sessions, lambda i, key, sent, response: outcomes.append((sent, i, key, response))):
        time.sleep(1.5)
        private_postgres.ctl("-m", "fast", "stop")
        time.sleep(2)
        private_postgres.ctl("start")
        back = time.monotonic()
        time.sleep(2)

    failed = [(i, key, r) for _, i, key, r in outcomes if r.status_code != 201]
    assert failed, "the outage was not seen"
    assert all(r.status_code == 503 and r.json()["code"] == "database_unavailable" for _, _, r in failed), {
        (r.status_code, r.text[:200]) for _, _, r in failed}
    after = [r.status_code for sent, _, _, r in outcomes if sent > back]
    assert after and set(after) == {201}  # no request fails once the database is back
    assert not {key for _, key, _ in failed} & {row[0] for row in query(env, "SELECT request_key FROM "
                                                                             "rewards_donation")}

    citizens = [Citizen(server.url, s) for s in sessions]
    for i, key, _ in failed:
        assert citizens[i].donate("trees", key).status_code == 201
    keys = sorted(key for _, _, key, _ in outcomes)
    assert sorted(row[0] for row in query(env, "SELECT request_key FROM rewards_donation")) == keys
    assert query(env, "SELECT COUNT(*), SUM(points) FROM ledger_transfer WHERE kind = 'donate'")[0] == (
        len(keys), len(keys))
    ledger_verifies(env)
