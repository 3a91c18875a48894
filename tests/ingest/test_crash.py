"""A real SIGKILL of `tanhui ingest` at different points of a batch: nothing is half-credited, and
running the same command again credits every record exactly once.

Runs the `tanhui` command in subprocesses against its own TANHUI_HOME (SQLite) or, when the suite
runs on PostgreSQL, against a fresh database of its own.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.conf import settings

from tests.ingest.conftest import TRIP_FIELDS, write_records

CITIZENS = 400
TRIPS_PER_CITIZEN_DAY = 5  # under the daily cap of 6, so every record earns its full reduction
DAYS = 30
KILL_AFTER_SECONDS = [0.0, 0.3, 0.8, 1.5]


@contextmanager
def installation_env(home: Path):
    """The environment of `tanhui` subprocesses for an installation of their own: TANHUI_HOME=home and, when
    the suite runs on PostgreSQL, a fresh database (dropped afterwards)."""
    env = {**os.environ, "TANHUI_HOME": str(home)}
    env.pop("TANHUI_DATABASE_URL", None)
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        import psycopg

        name = f"tanhui_crash_{uuid.uuid4().hex[:8]}"
        base = os.environ["TANHUI_DATABASE_URL"].rsplit("/", 1)[0]
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        env["TANHUI_DATABASE_URL"] = f"{base}/{name}"
        yield env
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
    else:
        yield env


@pytest.fixture
def database_env(tmp_path):
    with installation_env(tmp_path / "home") as env:
        yield env


def tanhui(env, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "tanhui", *args], env=env, capture_output=True, text=True,
                            timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"tanhui {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result


def query(env, sql):
    url = env.get("TANHUI_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()
    with sqlite3.connect(f"{env['TANHUI_HOME']}/tanhui.sqlite3", timeout=30) as conn:
        return conn.execute(sql).fetchall()


def make_city(tmp_path):
    citizens = tmp_path / "citizens.csv"
    citizens.write_text("phone,name,district,community,bindings,consents\n" + "".join(
        f"138{i:08d},市民{i},南山区,粤海街道,metro_op:M{i},metro\n" for i in range(CITIZENS)))
    rows, expected_mg = [], [0] * CITIZENS
    for i in range(CITIZENS):
        for day in range(1, DAYS + 1):
            for t in range(TRIPS_PER_CITIZEN_DAY):
                km = Decimal(1 + (i * 7 + day * 3 + t) % 40) + Decimal("0.125")
                rows.append((f"r{i}-{day}-{t}", f"M{i}", f"2026-04-{day:02d} {8 + t * 2:02d}:00:00",
                             f"2026-04-{day:02d} {8 + t * 2:02d}:45:00", str(km)))
                expected_mg[i] += int((km * Decimal("46.8") * 1000).quantize(Decimal(1), ROUND_HALF_UP))
    return citizens, write_records(tmp_path / "trips.csv", TRIP_FIELDS, rows), len(rows), expected_mg


def start_ingest(env, trips):
    return subprocess.Popen([sys.executable, "-m", "tanhui", "ingest", str(trips), "--scenario", "metro",
                             "--provider", "metro_op", "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)


def wait_until_processing(env, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if query(env, "SELECT 1 FROM ingest_batch WHERE status = 'processing'"):
                return
        except Exception:  # the tables may not be readable for a moment while the writer starts
            pass
        time.sleep(0.02)


def test_sigkill_at_any_point_then_rerun_credits_exactly_once(database_env, tmp_path):
    env = database_env
    citizens, trips, records, expected_mg = make_city(tmp_path)
    tanhui(env, "init")
    tanhui(env, "providers", "add", "metro_op", "--name", "地铁", "--scenarios", "metro")
    tanhui(env, "citizens", "import", str(citizens))

    for delay in KILL_AFTER_SECONDS:
        proc = start_ingest(env, trips)
        wait_until_processing(env, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Whatever the moment of the kill, only a finished batch has reductions, and the ledger is sound.
        unfinished = query(env, "SELECT COUNT(*) FROM ingest_reduction r JOIN ingest_batch b ON b.id = r.batch_id "
                                "WHERE b.status <> 'done'")[0][0]
        assert unfinished == 0
        tanhui(env, "ledger", "verify")

    # The kills did interrupt batches (left `processing`, with nothing of theirs committed).
    assert query(env, "SELECT COUNT(*) FROM ingest_batch WHERE status = 'processing'")[0][0] >= 1
    summary = json.loads(tanhui(env, "ingest", str(trips), "--scenario", "metro", "--provider", "metro_op",
                                "--json").stdout)
    assert summary["records"] == records
    assert summary["accepted"] + summary["duplicates"] == records and summary["rejected"] == 0
    assert tuple(query(env, "SELECT COUNT(*), SUM(reduction_mg) FROM ingest_reduction")[0]) == (records,
                                                                                              sum(expected_mg))
    for i in (0, CITIZENS // 2, CITIZENS - 1):
        shown = json.loads(tanhui(env, "account", "show", f"138{i:08d}", "--json").stdout)
        assert shown["reduction_mg"] == expected_mg[i]
        assert shown["points"] == sum(m // 1000 for m in [expected_mg[i]])
    tanhui(env, "ledger", "verify")
