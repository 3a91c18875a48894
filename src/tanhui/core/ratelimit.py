"""Rate limits that hold across every worker process: requests are counted per scope (login, SMS
codes, the API…) and identity (a client IP, a user, an API key, a phone's keyed hash) in fixed
windows, in a store all processes share: the database's counter table (`core.RateCounter`, one
atomic upsert per increment) by default, Redis when settings.CACHES names it (TANHUI_CACHE_URL).

A limit is read from `settings.TANHUI_RATE_LIMITS[scope]`, "count/period" with period `s`, `m`,
`h` or `d` optionally preceded by a number ("5/h", "60/10m"); None switches the scope off.

Cost: a process adds its own requests to the shared count only every `count // SYNC_FRACTION`
requests of an identity (every request for small limits such as login), so the API-wide limits
cost a round trip to the store for a small fraction of requests. A limit can therefore be exceeded
by less than 1/SYNC_FRACTION of it per worker process. The login lockout, which must be exact, is
counted in the database (`people.lockout`).
"""

import functools
import math
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tanhui.core.errors import DomainError
from tanhui.core.models import RateCounter
from tanhui.core.pii import lookup_hash

SYNC_FRACTION = 50
LOCAL_ENTRIES_MAX = 20_000
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
# SQLite ≥ 3.35 and PostgreSQL: the count after the increment, in one statement.
_UPSERT = ("INSERT INTO core_ratecounter (key, count, expires) VALUES (%s, %s, %s) "
           "ON CONFLICT (key) DO UPDATE SET count = core_ratecounter.count + excluded.count RETURNING count")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    @functools.cache
    def parse(cls, text: str) -> "Rate":
        match = _RATE.match(text.replace(" ", ""))
        if not match:
            raise ValueError(f"rate {text!r} is not count/period, e.g. 5/m or 60/10m")
        count, multiple, unit = match.groups()
        return cls(int(count), int(multiple or 1) * _UNIT_SECONDS[unit])

    @property
    def sync_every(self) -> int:
        return max(1, self.count // SYNC_FRACTION)


class RateLimited(DomainError):
    """Over a limit: HTTP 429 with Retry-After; pages show `message`."""

    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__("rate_limited", message or str(_("请求过于频繁，请稍后再试")), status=429)
        self.retry_after = retry_after


def rate_of(scope: str) -> Rate | None:
    text = settings.TANHUI_RATE_LIMITS.get(scope)
    return Rate.parse(text) if text else None


# (scope, identity) → [window number, requests not yet added to the shared count, shared count seen]
_local: dict[tuple[str, str], list[int]] = {}


def hit(scope: str, identity: str, rate: Rate | None = None) -> int | None:
    """Counts one request of `identity` in `scope` (at `rate`, by default the scope's setting). None
    when it is within the limit, otherwise the seconds until the window ends (the Retry-After)."""
    rate = rate or rate_of(scope)
    if rate is None:
        return None
    now = timezone.now().timestamp()  # the project's clock, which tests can move
    window = int(now // rate.seconds)
    entry = _local.get((scope, identity))
    if entry is None or entry[0] != window:
        if len(_local) >= LOCAL_ENTRIES_MAX:
            _local.clear()
        entry = _local[(scope, identity)] = [window, 0, 0]
    entry[1] += 1
    if entry[1] >= rate.sync_every:
        entry[2] = _add_to_shared(f"rl:{scope}:{window}:{lookup_hash(identity)[:32]}", entry[1],
                                  (window + 1) * rate.seconds)
        entry[1] = 0
    if entry[2] + entry[1] <= rate.count:
        return None
    return max(1, math.ceil((window + 1) * rate.seconds - now))


def _add_to_shared(key: str, delta: int, expires: int) -> int:
    """The shared count after adding `delta`; the count is kept until `expires` (Unix seconds, the
    window's end)."""
    if settings.CACHES["default"]["BACKEND"] == REDIS_BACKEND:
        try:
            return cache.incr(key, delta)
        except ValueError:  # the first request of the window
            if cache.add(key, delta, timeout=max(1, expires - int(timezone.now().timestamp()))):
                return delta
            return cache.incr(key, delta)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, delta, expires])
        return cursor.fetchone()[0]


def purge_expired(now: float | None = None) -> int:
    """Deletes the database's counts of ended windows; returns how many."""
    return RateCounter.objects.filter(expires__lte=now or timezone.now().timestamp()).delete()[0]


def enforce(scope: str, identity: str, message: str | None = None) -> None:
    """Raises RateLimited when this request of `identity` is over the scope's limit."""
    if (retry_after := hit(scope, identity)) is not None:
        raise RateLimited(retry_after, message)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind TANHUI_PROXY_COUNT trusted reverse proxies the
    address the outermost of them saw (X-Forwarded-For is otherwise ignored: clients can forge it)."""
    proxies = settings.TANHUI_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")
