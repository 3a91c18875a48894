"""A full disk under the uploads folder, the SQLite database and the backup target: each failure is a
clear error, nothing half-written is credited or left for restore to accept, and once space is freed the
same step succeeds, exactly once."""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from tests.ingest.conftest import TRIP_FIELDS, write_records
from tests.ingest.test_crash import query, tanhui
from tests.reliability.conftest import ledger_verifies

pytestmark = pytest.mark.slow

TRIPS = 20_000  # about 1.4 MB of CSV


def fill(folder: Path, leave_bytes: int) -> Path:
    """A file taking all the free space of the folder's file system but `leave_bytes`."""
    stats = os.statvfs(folder)
    filler = folder / "filler"
    filler.write_bytes(b"\0" * max(stats.f_bavail * stats.f_frsize - leave_bytes, 0))
    return filler


def test_an_upload_that_fills_the_disk_fails_cleanly_and_succeeds_once_space_is_freed(
        small_disk, make_provider, make_citizen, tmp_path):
    from tanhui.ingest.models import Batch, Reduction

    metro = make_provider("metro_op", ["metro"])
    make_citizen("13800138000", bindings=[(metro, "M1")], consents={"metro": None})
    uploads = small_disk(Path(settings.HOME) / "uploads", "1m")
    trips = write_records(tmp_path / "trips.csv", TRIP_FIELDS, [
        (f"r{i}", "M1", f"2026-04-{1 + i % 28:02d} 08:{i % 60:02d}:00", f"2026-04-{1 + i % 28:02d} 09:{i % 60:02d}:00",
         "3.5") for i in range(TRIPS)])
    client = Client(headers={"Authorization": f"Bearer {metro.plain_api_key}"})
    client.post("/api/v1/batches", {"key": "april", "scenario": "metro"}, content_type="application/json")

    def upload():
        with trips.open("rb") as f:
            return client.post("/api/v1/batches/april/file", {"file": f})

    full = upload()
    assert full.status_code == 507 and full.json()["code"] == "storage_full"
    assert [p.name for p in uploads.rglob("*") if p.is_file()] == []  # no half file for the worker to credit

    small_disk.resize(uploads, "8m")
    assert upload().status_code == 200
    assert client.post("/api/v1/batches/april/close").json()["status"] == "queued"
    call_command("worker", "--once")
    batch = Batch.objects.get(key="april")
    assert (batch.status, batch.records, batch.accepted) == ("done", TRIPS, TRIPS)
    assert Reduction.objects.filter(batch=batch).count() == TRIPS
    call_command("ledger", "verify")


def test_an_ingest_that_fills_the_sqlite_disk_credits_nothing_and_runs_once_space_is_freed(
        on_postgres, small_disk, city, installations, tmp_path):
    if on_postgres:
        pytest.skip("the PostgreSQL server's disk is not the test's to fill")
    home = small_disk(tmp_path / "small", "128m")  # room for the WAL: SQLite checkpoints every 10,000 pages
    town = city(credited=False, env=installations("small"))
    assert Path(town.env["TANHUI_HOME"]) == home
    filler = fill(home, 256 * 1024)

    failed = tanhui(town.env, "ingest", str(town.trips), "--scenario", "metro", "--provider", "metro_op", check=False)
    assert failed.returncode != 0 and "database or disk is full" in failed.stderr
    assert query(town.env, "SELECT COUNT(*) FROM ingest_reduction")[0][0] == 0
    assert query(town.env, "SELECT COUNT(*) FROM ledger_transfer")[0][0] == 0
    ledger_verifies(town.env)

    filler.unlink()
    summary = json.loads(tanhui(town.env, "ingest", str(town.trips), "--scenario", "metro", "--provider", "metro_op",
                                "--json").stdout)
    assert (summary["records"], summary["accepted"], summary["duplicates"]) == (town.records, town.records, 0)
    assert query(town.env, "SELECT SUM(reduction_mg) FROM ingest_reduction")[0][0] == sum(town.expected_mg)
    ledger_verifies(town.env)


def test_a_backup_to_a_full_disk_fails_cleanly_and_leaves_no_archive(small_disk, installations, tmp_path):
    source = installations()
    tanhui(source, "init")
    target = small_disk(tmp_path / "backups", "64k")
    archive = target / "tanhui.tar.gz"

    failed = tanhui(source, "backup", "--out", str(archive), check=False)
    assert failed.returncode == 1 and "nothing was written" in failed.stderr
    assert "No space left" in failed.stderr or "disk is full" in failed.stderr  # pg_dump's words, or SQLite's
    assert list(target.iterdir()) == []  # no archive, no partial file, no staging folder

    small_disk.resize(target, "32m")
    assert json.loads(tanhui(source, "backup", "--out", str(archive), "--json").stdout)["archive"] == str(archive)
    restored = installations("restored")
    assert json.loads(tanhui(restored, "restore", str(archive), "--json").stdout)["verify"]["ok"]
