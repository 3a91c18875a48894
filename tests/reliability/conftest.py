"""Fault tests: real processes (gunicorn, `tanhui worker`, a private PostgreSQL), real signals and small
file systems. Each test runs against installations of its own (TANHUI_HOME and, when the suite runs on
PostgreSQL, a database), kills every process it started when it ends, and listens on free loopback ports."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from itertools import count
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.ingest.test_crash import installation_env, make_city, tanhui

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def action(env: dict, step: str, *args: str) -> dict:
    """One step of tests/reliability/actions.py inside the installation of `env`."""
    result = subprocess.run([sys.executable, "-m", "tests.reliability.actions", step, *args], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"actions {step} failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.splitlines()[-1])


def ledger_verifies(env: dict) -> dict:
    report = json.loads(tanhui(env, "ledger", "verify", "--json").stdout)
    assert report["ok"] and report["problem_count"] == 0
    return report


@pytest.fixture
def installations(tmp_path):
    """installations(name) → the environment of a fresh, empty installation."""
    with ExitStack() as stack:
        yield lambda name="home": stack.enter_context(installation_env(tmp_path / name))


@pytest.fixture
def city(installations, tmp_path):
    """city(credited=True, env=None): an initialised installation (a fresh one unless `env` is given) with
    the synthetic city of tests.ingest.test_crash (400 citizens bound to metro_op); `credited` ingests its
    60,000 trips through `tanhui ingest`."""

    def make(credited=True, env=None):
        env = env or installations()
        citizens, trips, records, expected_mg = make_city(tmp_path)
        tanhui(env, "init")
        api_key = json.loads(tanhui(env, "providers", "add", "metro_op", "--name", "地铁", "--scenarios", "metro",
                                    "--json").stdout)["api_key"]
        tanhui(env, "citizens", "import", str(citizens))
        if credited:
            tanhui(env, "ingest", str(trips), "--scenario", "metro", "--provider", "metro_op")
        return SimpleNamespace(env=env, trips=trips, records=records, expected_mg=expected_mg, api_key=api_key)

    return make


@pytest.fixture
def processes():
    """start(args, env, **popen) → a Popen in a process group of its own; at the end of the test the whole
    group is killed (a gunicorn master's workers too, even after the master died)."""
    started = []

    def start(args, env, **popen):
        proc = subprocess.Popen(args, env=env, start_new_session=True, cwd=REPO, **popen)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        kill_group(proc)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class Server:
    """gunicorn serving tanhui with 2 workers on a free loopback port."""

    def __init__(self, env: dict, processes, log: Path):
        self.env, self.processes, self.log, self.proc = env, processes, log, None

    def start(self) -> "Server":
        self.url = f"http://127.0.0.1:{free_port()}"
        with self.log.open("a") as log:
            self.proc = self.processes([sys.executable, "-m", "gunicorn", "tanhui.wsgi", "-w", "2", "-b",
                                        self.url.removeprefix("http://"), "--timeout", "120"],
                                       self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"gunicorn exited: {self.log.read_text()[-2000:]}"
            try:
                if requests.get(f"{self.url}/api/v1/rewards/charity", timeout=30).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not answer within 120 s")

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once: nothing gets to finish or clean up."""
        kill_group(self.proc)


class Citizen:
    """A signed-in citizen talking to the API (session cookie plus the CSRF double-submit token)."""

    CSRF = "a" * 32

    def __init__(self, url: str, session: str):
        self.url = url
        self.http = requests.Session()
        self.http.cookies.update({"sessionid": session, "csrftoken": self.CSRF})
        self.http.headers.update({"X-CSRFToken": self.CSRF})

    def donate(self, project: str, request_key: str, points: int = 1) -> requests.Response:
        return self.http.post(f"{self.url}/api/v1/rewards/charity/{project}/donations", timeout=30,
                              json={"points": points, "request_key": request_key})


@contextmanager
def donating(url: str, sessions: list[str], record):
    """Each session's citizen donates 1 point to the project `trees`, one request after another under the keys
    `d<i>-<n>`, until the block ends; record(i, key, sent_at, response or None if unanswered) for each."""
    stop = threading.Event()

    def donor(i: int) -> None:
        citizen = Citizen(url, sessions[i])
        for n in count():
            if stop.is_set():
                return
            sent = time.monotonic()
            try:
                response = citizen.donate("trees", f"d{i}-{n}")
            except requests.RequestException:
                response = None
            record(i, f"d{i}-{n}", sent, response)

    threads = [threading.Thread(target=donor, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join()


@pytest.fixture
def small_disk():
    """small_disk(folder, size) mounts a tmpfs of `size` (e.g. "1m") on the folder; small_disk.resize(folder,
    size) changes it. Needs root; unmounted at the end of the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mounted = []

    def mount(folder: Path, size: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    def resize(folder: Path, size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)

    mount.resize = resize
    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "--lazy", str(folder)], check=True)
