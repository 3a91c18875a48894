"""Online backup and restore of an installation: one .tar.gz holding a consistent snapshot of the
database, taken while the site and the worker keep writing, and the files of TANHUI_HOME that matter.

Members: `database/tanhui.sqlite3` (SQLite's online backup API: one step, one WAL snapshot) or
`database/tanhui.pgdump` (`pg_dump --format=custom` under a snapshot exported from the same
transaction that read the manifest's facts); `secrets.json`; `home/uploads/…` of the batches not yet
processed in that snapshot; `home/roots/…` and `home/media/…`; last, `manifest.json` with the
format, the vendor, the ledger's chain heads and root, some row counts and the sha256 of every member.

The archive holds secrets.json — the keys without which encrypted personal data cannot be read — so
it is created with mode 0600 and must be kept like the keys themselves.
"""

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import closing, contextmanager
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tanhui.core.errors import Conflict, DomainError
from tanhui.ledger.chain import root_hash

FORMAT = 1
MANIFEST = "manifest.json"
SECRETS_MEMBER = "secrets.json"
DATABASE_MEMBERS = {"sqlite": "database/tanhui.sqlite3", "postgresql": "database/tanhui.pgdump"}
HOME_DIRS = ("uploads", "roots", "media")  # restored as a whole: what was there before is replaced
COUNTED_TABLES = ("ledger_account", "ledger_transfer", "people_citizen", "ingest_batch", "ingest_reduction")
# The upload folders still needed: batches not yet processed (ingest.Batch.Status).
PENDING_UPLOADS = ("SELECT p.code, b.id FROM ingest_batch b JOIN ingest_provider p ON p.id = b.provider_id "
                   "WHERE b.status IN ('receiving', 'queued', 'processing')")


def secrets_path() -> Path:
    return Path(os.environ.get("TANHUI_SECRETS_FILE", Path(settings.HOME) / "secrets.json"))


def default_archive_path(now: datetime | None = None) -> Path:
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    return Path(settings.HOME) / "backups" / f"tanhui-{stamp}.tar.gz"


def backup(out: Path, progress) -> dict:
    """Writes the archive to `out` (through a temporary file renamed at the end, so a failure — a
    full disk — leaves nothing at `out`). `progress(total, desc, unit)` makes a tqdm-like bar."""
    out = out.resolve()
    if out.exists():
        raise Conflict("archive_exists", f"{out} exists already")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tanhui-backup-", dir=out.parent))
    partial = out.with_name(out.name + ".part")
    try:
        with progress(None, "database", "B"):
            database, facts, pending = _dump_database(staging)
        manifest = {"format": FORMAT, "tanhui_version": version("tanhui"), "created_at": timezone.now().isoformat(),
                    "database": {"vendor": connection.vendor, "member": database[0]}, **facts,
                    "warning": "holds secrets.json: the keys that decrypt personal data. Keep it like the keys."}
        members = [database, *_home_members(pending)]
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, progress(sum(p.stat().st_size for _, p in members), "archive", "B") as bar:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                manifest["members"] = {name: _add(tar, name, path, bar) for name, path in members}
                _add_manifest(tar, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(out)
    except (OSError, sqlite3.Error, DomainError) as exc:
        reason = exc.message if isinstance(exc, DomainError) else exc
        raise DomainError("backup_failed", f"backup to {out} failed, nothing was written: {reason}") from exc
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return {"archive": str(out), "bytes": out.stat().st_size, "database": connection.vendor,
            "members": len(manifest["members"]), **{k: manifest[k] for k in ("ledger", "counts")},
            "warning": manifest["warning"]}


def _dump_database(staging: Path) -> tuple[tuple[str, Path], dict, list[str]]:
    """The database member, the facts of the same snapshot, and the upload folders still needed."""
    member = DATABASE_MEMBERS[connection.vendor]
    target = staging / Path(member).name
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        with closing(sqlite3.connect(target)) as copy:
            connection.connection.backup(copy)  # all pages in one step: one consistent WAL snapshot
            facts, pending = _facts(copy.cursor())
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            facts, pending = _facts(cursor)
            _run_client("pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={target}")
    return (member, target), facts, pending


def _facts(cursor) -> tuple[dict, list[str]]:
    cursor.execute("SELECT partition, length, head FROM ledger_chain WHERE length > 0 ORDER BY partition")
    heads = [list(row) for row in cursor.fetchall()]
    counts = {}
    for table in COUNTED_TABLES:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed table names
        counts[table] = cursor.fetchone()[0]
    cursor.execute(PENDING_UPLOADS)
    pending = [f"{code}/{batch_id}" for code, batch_id in cursor.fetchall()]
    ledger = {"root": root_hash(heads), "heads": heads, "transfers": sum(length for _, length, _ in heads)}
    return {"ledger": ledger, "counts": counts}, pending


def _home_members(pending_uploads: list[str]) -> list[tuple[str, Path]]:
    home = Path(settings.HOME)
    members = [(SECRETS_MEMBER, secrets_path())]
    folders = [home / "uploads" / p for p in pending_uploads] + [home / "roots", home / "media"]
    for folder in folders:
        members += [(f"home/{p.relative_to(home).as_posix()}", p) for p in sorted(folder.rglob("*"))
                    if p.is_file() and p.suffix != ".part"]
    return members


def _add(tar: tarfile.TarFile, name: str, path: Path, bar) -> dict:
    with path.open("rb") as f:
        info = tar.gettarinfo(arcname=name, fileobj=f)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        reader = _HashingReader(f, bar)
        tar.addfile(info, reader)
    return {"sha256": reader.sha256.hexdigest(), "bytes": info.size}


def _add_manifest(tar: tarfile.TarFile, data: bytes) -> None:
    info = tarfile.TarInfo(MANIFEST)
    info.size, info.mode, info.mtime = len(data), 0o600, int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


class _HashingReader:
    """Reads a file into the archive, hashing and counting what passes."""

    def __init__(self, f, bar):
        self.f, self.bar, self.sha256 = f, bar, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.sha256.update(data)
        self.bar.update(len(data))
        return data


def restore(archive: Path, *, force: bool, progress) -> dict:
    """Checks the archive, then restores the database and the files into this installation (refusing a
    non-empty one unless `force`). Returns the manifest's facts; the caller runs the ledger verification."""
    home = Path(settings.HOME)
    staging = Path(tempfile.mkdtemp(prefix=".tanhui-restore-", dir=home))
    try:
        manifest = _unpack(archive, staging, progress)
        vendor = manifest["database"]["vendor"]
        if vendor != connection.vendor:
            raise DomainError("wrong_database", f"the archive holds a {vendor} database; this installation uses "
                                                f"{connection.vendor}")
        if not force and (found := _existing_content(home)):
            raise Conflict("not_empty", f"this installation is not empty ({found}); use --force to replace it")
        with progress(None, "database", "B"):
            _restore_database(staging / manifest["database"]["member"], force)
        _replace_file(staging / SECRETS_MEMBER, secrets_path())
        for name in HOME_DIRS:
            shutil.rmtree(home / name, ignore_errors=True)
            if (staging / "home" / name).exists():
                (staging / "home" / name).replace(home / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _unpack(archive: Path, staging: Path, progress) -> dict:
    """Extracts the archive and checks every member against the manifest (a damaged, truncated or
    altered archive is refused before anything is touched)."""
    try:
        with tarfile.open(archive, "r:gz") as tar, progress(archive.stat().st_size, "checking", "B") as bar:
            tar.extractall(staging, filter="data")
            bar.update(archive.stat().st_size)
        manifest = json.loads((staging / MANIFEST).read_text())
    except (OSError, EOFError, tarfile.TarError, ValueError) as exc:
        raise DomainError("archive_damaged", f"{archive}: not a complete tanhui backup ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise DomainError("archive_format", f"{archive}: backup format {manifest.get('format')!r}, expected {FORMAT}")
    found = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()} - {MANIFEST}
    listed = set(manifest["members"])
    problems = [f"{name}: missing" for name in sorted(listed - found)]
    problems += [f"{name}: not in the manifest" for name in sorted(found - listed)]
    problems += [f"{name}: checksum differs" for name in sorted(found & listed)
                 if _sha256(staging / name) != manifest["members"][name]["sha256"]]
    if problems:
        raise DomainError("archive_damaged", f"{archive}: refused, the archive was altered or damaged: "
                                             f"{'; '.join(problems[:5])}")
    return manifest


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _existing_content(home: Path) -> str:
    """What makes the installation non-empty ("" if nothing): tables in its database, or files."""
    tables = connection.introspection.table_names()
    if tables:
        return f"its database has {len(tables)} tables"
    files = [name for name in HOME_DIRS if (home / name).exists() and any((home / name).rglob("*"))]
    return f"files in {', '.join(files)}" if files else ""


def _restore_database(member: Path, force: bool) -> None:
    connection.close()
    if connection.vendor == "sqlite":
        target = Path(settings.DATABASES["default"]["NAME"])
        for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)  # another database's WAL must never meet the restored file
        _replace_file(member, target)
    else:
        _run_client("pg_restore", "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
                    *(["--clean", "--if-exists"] if force else []), str(member), dbname=True)


def _replace_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(source, 0o600)
    shutil.move(source, target)


def _run_client(program: str, *args: str, dbname: bool = False) -> None:
    """Runs pg_dump or pg_restore on the configured database (connection details in the libpq variables,
    so no password appears on a command line); the client must not be older than the server."""
    db = settings.DATABASES["default"]
    env = {**os.environ, "PGHOST": str(db.get("HOST") or ""), "PGPORT": str(db.get("PORT") or ""),
           "PGUSER": str(db.get("USER") or ""), "PGPASSWORD": str(db.get("PASSWORD") or ""),
           "PGDATABASE": str(db["NAME"])}
    if sslmode := db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = sslmode
    connection.ensure_connection()
    server_major = connection.pg_version // 10000
    try:
        shown = subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DomainError("no_pg_client", f"{program} is needed (the postgresql-client package): {exc}") from exc
    client_major = int(re.search(r"\)\s+(\d+)", shown).group(1))
    if client_major < server_major:
        raise DomainError("pg_client_too_old", f"{program} {client_major} cannot handle the server's version "
                                               f"{server_major}; install postgresql-client-{server_major}")
    command = [program, *args, *([f"--dbname={db['NAME']}"] if dbname else [])]
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603 - our own arguments
    if result.returncode != 0:
        raise DomainError(f"{program.replace('_', '')}_failed", f"{program} failed: {result.stderr.strip()[-2000:]}")


@contextmanager
def root_file(manifest: dict):
    """The manifest's ledger root as a file for `tanhui ledger verify --root`."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump({"root": manifest["ledger"]["root"], "heads": manifest["ledger"]["heads"]}, f)
        f.flush()
        yield Path(f.name)


def restored_counts(manifest: dict) -> list[str]:
    """Differences between the restored database's row counts and the manifest's."""
    problems = []
    with connection.cursor() as cursor:
        for table in COUNTED_TABLES:
            expected = manifest["counts"].get(table)
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed table names
            if (found := cursor.fetchone()[0]) != expected:
                problems.append(f"{table}: {found} rows restored, {expected} at backup time")
    return problems
