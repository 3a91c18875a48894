"""Fixtures shared by every app's tests.

The suite runs on SQLite by default and on PostgreSQL when TANHUI_DATABASE_URL is set (the README's
test command runs both). `postgres_only` tests are skipped on SQLite.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the long load and fault tests (./dev test does)")


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_sqlite = pytest.mark.skip(reason="needs PostgreSQL (set TANHUI_DATABASE_URL)")
    skip_slow = pytest.mark.skip(reason="long-running: opt in with --run-slow")
    run_slow = config.getoption("--run-slow")
    for item in items:
        if "postgres_only" in item.keywords and not on_postgres:
            item.add_marker(skip_sqlite)
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A live-server (or transactional) test's database is reset by pytest-django with DELETE, which the ledger's
    append-only triggers refuse on SQLite (PostgreSQL resets with TRUNCATE). The triggers are lifted
    for the reset and put back at once, so the tests that follow find the ledger as it should be."""
    flushed = {"live_server", "transactional_db"} & set(item.fixturenames)
    blocker = item.funcargs.get("django_db_blocker") if flushed else None
    if blocker is None or connection.vendor != "sqlite":
        yield
        return
    from tanhui.ledger import schema

    editor = SimpleNamespace(connection=connection)
    schema.uninstall(None, editor)
    yield
    with blocker.unblock():
        if "ledger_transfer" in connection.introspection.table_names():  # not after the last test
            schema.install(None, editor)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashers are slow by design; the tests only need passwords to check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def isolated_home(settings, tmp_path):
    """Files a test writes under TANHUI_HOME (uploads, exports, roots) stay in its own folder."""
    settings.HOME = tmp_path / "home"
    settings.MEDIA_ROOT = settings.HOME / "media"
    settings.HOME.mkdir()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def reference_data(db):
    from tanhui.methodology.services import load_shipped_reference_data

    load_shipped_reference_data()


@pytest.fixture
def make_provider(reference_data):
    from tanhui.ingest.services import add_provider

    def make(code="metro_op", scenarios=("metro",), name=None):
        provider, key = add_provider(code, name or f"{code} 运营方", list(scenarios))
        provider.plain_api_key = key
        return provider

    return make


@pytest.fixture
def make_citizen(reference_data):
    """make_citizen("13800138000", bindings=[(provider, "M1")], consents={"metro": None})"""
    from tanhui.methodology.models import Scenario
    from tanhui.people import services

    def make(phone, name="张三", bindings=(), consents=None, password="demo-pass-123"):
        citizen = services.register_citizen(phone, name, "南山区", "粤海街道", password=password)
        for provider, external_id in bindings:
            services.bind(citizen, provider, external_id)
        for code, effective in (consents or {}).items():
            services.grant_consent(citizen, Scenario.objects.get(code=code), effective)
        return citizen

    return make


@pytest.fixture
def clock(monkeypatch):
    """`clock.advance(days=…)` moves `timezone.now()` forward (for services and the ledger alike)."""

    class Clock:
        offset = timedelta()

        def advance(self, **delta):
            self.offset += timedelta(**delta)

        def now(self):
            return real_now() + self.offset

    real_now = timezone.now
    the_clock = Clock()
    monkeypatch.setattr(timezone, "now", the_clock.now)
    return the_clock
