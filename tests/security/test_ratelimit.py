"""Rate limits: counted in a store every worker process shares (the database's counter table, or Redis),
atomically, cheap for the API's large limits, and refused with 429, the API's error shape and Retry-After."""

import json
import subprocess
import sys
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from tanhui.core import ratelimit
from tanhui.core.models import RateCounter
from tanhui.core.pii import lookup_hash
from tanhui.core.ratelimit import Rate
from tests.concurrency import run_together
from tests.people.conftest import PHONE_A, PHONE_B


@pytest.mark.parametrize(("text", "rate"), [("5/m", Rate(5, 60)), ("60/10m", Rate(60, 600)), ("1/d", Rate(1, 86400)),
                                            ("100 / 2h", Rate(100, 7200))])
def test_rates_read_count_per_period(text, rate):
    assert Rate.parse(text) == rate


def test_a_malformed_rate_is_refused():
    with pytest.raises(ValueError):
        Rate.parse("5 per minute")


def test_the_cache_is_redis_when_configured_and_otherwise_each_process_memory(tmp_path):
    """Without Redis the counts are in the database, not in the (per-process) cache."""
    script = "from django.conf import settings; import json; print(json.dumps(settings.CACHES['default']['BACKEND']))"

    def backend(**env):
        return json.loads(subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {script}"], check=True, capture_output=True,
            text=True, env={"DJANGO_SETTINGS_MODULE": "tanhui.settings", "TANHUI_HOME": str(tmp_path), **env},
        ).stdout)

    assert backend() == "django.core.cache.backends.locmem.LocMemCache"
    assert backend(TANHUI_CACHE_URL="redis://127.0.0.1:6379/0") == ratelimit.REDIS_BACKEND


def test_counts_are_kept_in_the_database_until_their_window_ends(limits, clock):
    limits(login_ip="5/m")
    for _ in range(3):
        ratelimit.hit("login_ip", "10.0.0.1")

    counter = RateCounter.objects.get()
    assert counter.count == 3
    assert counter.expires % 60 == 0 and 0 < counter.expires - clock.now().timestamp() <= 60
    assert ratelimit.purge_expired(counter.expires - 1) == 0
    assert ratelimit.purge_expired(counter.expires) == 1


def test_with_a_shared_cache_configured_counts_go_to_the_cache(limits, monkeypatch):
    """Redis stands in as the local-memory cache (same incr/add), which the test process shares."""
    monkeypatch.setattr(ratelimit, "REDIS_BACKEND", "django.core.cache.backends.locmem.LocMemCache")
    limits(login_ip="2/m")
    cache.clear()

    assert [ratelimit.hit("login_ip", "10.0.0.1") for _ in range(2)] == [None, None]
    assert ratelimit.hit("login_ip", "10.0.0.1") is not None
    assert not RateCounter.objects.exists()
    window = int(timezone.now().timestamp() // 60)
    assert cache.get(f"rl:login_ip:{window}:{lookup_hash('10.0.0.1')[:32]}") == 3
    cache.clear()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_of_one_identity_are_all_counted(limits):
    limits(login_ip="1000/m")
    outcomes = run_together(8, lambda i: [ratelimit._add_to_shared("rl:test:1:k", 1, 2**40) for _ in range(25)])

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert RateCounter.objects.get(key="rl:test:1:k").count == 200
    assert sorted(n for counts in outcomes for n in counts) == list(range(1, 201))


def test_worker_processes_share_one_count(limits, monkeypatch):
    """Each worker process has its own memory; the limit holds over all of them together."""
    limits(login_ip="4/m")
    workers = [{}, {}]
    answers = []
    for turn in range(6):
        monkeypatch.setattr(ratelimit, "_local", workers[turn % 2])
        answers.append(ratelimit.hit("login_ip", "10.0.0.1"))

    assert answers[:4] == [None] * 4
    assert all(isinstance(wait, int) and 1 <= wait <= 60 for wait in answers[4:])


def test_identities_and_scopes_are_counted_apart(limits):
    limits(login_ip="1/m", sms_send_ip="1/m")

    assert ratelimit.hit("login_ip", "10.0.0.1") is None
    assert ratelimit.hit("login_ip", "10.0.0.2") is None
    assert ratelimit.hit("sms_send_ip", "10.0.0.1") is None
    assert ratelimit.hit("login_ip", "10.0.0.1") is not None


def test_a_scope_without_a_limit_is_not_counted(limits):
    limits(login_ip=None)

    with mock.patch.object(ratelimit, "_add_to_shared") as add:
        assert all(ratelimit.hit("login_ip", "10.0.0.1") is None for _ in range(100))
    add.assert_not_called()


def test_large_limits_touch_the_shared_store_for_a_small_share_of_requests(limits):
    limits(api_user="5000/m")

    with mock.patch.object(ratelimit, "_add_to_shared", wraps=ratelimit._add_to_shared) as add:
        for _ in range(1000):
            assert ratelimit.hit("api_user", "42") is None

    assert add.call_count == 1000 // Rate.parse("5000/m").sync_every
    assert RateCounter.objects.get().count == 1000


def test_identities_are_kept_in_the_store_only_as_keyed_hashes(limits):
    limits(sms_send_phone="5/h")
    ratelimit.hit("sms_send_phone", PHONE_A)

    keys = list(RateCounter.objects.values_list("key", flat=True))
    assert keys and not any(PHONE_A in key or PHONE_B in key for key in keys)


def test_the_client_ip_ignores_forwarded_for_unless_proxies_are_trusted(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")

    settings.TANHUI_PROXY_COUNT = 0
    assert ratelimit.client_ip(request) == "10.0.0.9"
    settings.TANHUI_PROXY_COUNT = 1
    assert ratelimit.client_ip(request) == "203.0.113.7"
