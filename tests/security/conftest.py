import pytest

from tanhui.core import ratelimit
from tests.people.conftest import browser, sms_outbox, staff_user  # noqa: F401 — shared fixtures

PASSWORD = "demo-pass-123"


@pytest.fixture(autouse=True)
def fresh_limits(settings, db):
    """Each test counts from zero: the shared counts live in the (rolled back) counter table, the
    per-process part in `ratelimit._local`."""
    ratelimit._local.clear()
    yield settings.TANHUI_RATE_LIMITS
    ratelimit._local.clear()


@pytest.fixture
def limits(settings):
    """limits(login_ip="3/m") sets some scopes' limits for the test."""

    def set_limits(**scopes):
        settings.TANHUI_RATE_LIMITS = {**settings.TANHUI_RATE_LIMITS, **scopes}

    return set_limits
