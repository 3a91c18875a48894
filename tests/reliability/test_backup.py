"""`tanhui backup` while a writer posts credits without pause, `tanhui restore` into a fresh installation:
the copy verifies, holds exactly the ledger of the backup's moment (its rows are the source's, its
balances the sums of those rows) and the files that matter; damaged archives and non-empty targets are
refused."""

import io
import json
import subprocess
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.ingest.test_crash import query, tanhui
from tests.reliability.conftest import kill_group, ledger_verifies

pytestmark = pytest.mark.slow


def balances_as_of(env, transfer_ids: set[int]) -> Counter:
    """Each account's points and mg after the given transfers of the installation's ledger."""
    sums = Counter()
    for transfer_id, debit, credit, points, mg in query(
            env, "SELECT id, debit_id, credit_id, points, mg_co2e FROM ledger_transfer"):
        if transfer_id in transfer_ids:
            sums[(debit, "points")] -= points
            sums[(debit, "mg")] -= mg
            sums[(credit, "points")] += points
            sums[(credit, "mg")] += mg
    return +sums + -sums  # without the zeros


def restore(env, archive: Path, *args: str) -> subprocess.CompletedProcess:
    return tanhui(env, "restore", str(archive), "--json", *args, check=False)


def altered(archive: Path, out: Path, member: str) -> Path:
    """A copy of the archive with one byte of `member` changed and the manifest left as it was."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(out, "w:gz") as copy:
        for info in source.getmembers():
            data = source.extractfile(info).read()
            if info.name == member:
                data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]
            copy.addfile(info, io.BytesIO(data))
    return out


def test_an_online_backup_restores_to_a_verified_copy_of_its_moment(city, installations, processes, tmp_path):
    town = city()
    source = town.env
    tanhui(source, "ledger", "root")
    writer = processes([sys.executable, "-m", "tests.reliability.actions", "write_credits", "50"], source,
                       stdout=subprocess.PIPE)
    assert json.loads(writer.stdout.readline()) == {"writing": True}
    archive = tmp_path / "backup.tar.gz"
    made = json.loads(tanhui(source, "backup", "--out", str(archive), "--json").stdout)
    time.sleep(0.5)
    kill_group(writer)
    assert archive.stat().st_mode & 0o777 == 0o600 and "secrets.json" in made["warning"]
    ledger_verifies(source)

    target = installations("restored")
    restored = json.loads(restore(target, archive).stdout)
    assert restored["ok"] and restored["verify"]["ok"] and restored["count_differences"] == []
    assert restored["verify"]["roots"] == 2  # the root exported before, and the manifest's
    source_rows = dict(query(source, "SELECT id, hash FROM ledger_transfer"))
    restored_rows = dict(query(target, "SELECT id, hash FROM ledger_transfer"))
    assert made["ledger"]["transfers"] == len(restored_rows) < len(source_rows)  # the writer went on writing
    assert all(source_rows[i] == h for i, h in restored_rows.items())
    restored_balances = Counter()
    for account, points, mg in query(target, "SELECT id, points, mg_co2e FROM ledger_balance"):
        restored_balances.update({(account, "points"): points, (account, "mg"): mg})
    assert +restored_balances + -restored_balances == balances_as_of(source, set(restored_rows))

    source_home, target_home = Path(source["TANHUI_HOME"]), Path(target["TANHUI_HOME"])
    assert (target_home / "secrets.json").read_bytes() == (source_home / "secrets.json").read_bytes()
    assert (target_home / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (target_home / "roots").iterdir()) == sorted(
        p.name for p in (source_home / "roots").iterdir())
    shown = json.loads(tanhui(target, "account", "show", "13800000000", "--json").stdout)  # phones decrypt
    assert shown["reduction_mg"] >= town.expected_mg[0]

    refused = restore(target, archive)
    assert refused.returncode == 1 and "not empty" in refused.stderr and "--force" in refused.stderr
    forced = restore(target, archive, "--force")
    assert forced.returncode == 0 and json.loads(forced.stdout)["verify"]["ok"], forced.stderr
    assert dict(query(target, "SELECT id, hash FROM ledger_transfer")) == restored_rows


def test_a_damaged_or_altered_archive_is_refused_before_anything_is_touched(installations, tmp_path):
    source = installations("source")
    tanhui(source, "init")
    archive = tmp_path / "backup.tar.gz"
    tanhui(source, "backup", "--out", str(archive))
    member = json.loads(tarfile.open(archive).extractfile("manifest.json").read())["database"]["member"]
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:archive.stat().st_size // 2])

    target = installations("target")
    for bad, reason in [(truncated, "not a complete tanhui backup"),
                        (altered(archive, tmp_path / "altered.tar.gz", member), f"{member}: checksum differs"),
                        (altered(archive, tmp_path / "keys.tar.gz", "secrets.json"), "secrets.json: checksum differs")]:
        refused = restore(target, bad, "--force")
        assert refused.returncode == 1 and reason in refused.stderr, refused.stderr
        assert query(target, "SELECT COUNT(*) FROM " + (
            "pg_tables WHERE schemaname = 'public'" if "TANHUI_DATABASE_URL" in target else "sqlite_master"))[0][0] == 0
    assert restore(target, archive).returncode == 0
