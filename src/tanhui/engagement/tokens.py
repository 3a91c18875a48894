"""Rotating check-in tokens and the optional geofence.

A venue's QR code carries HMAC-SHA256(venue secret, "code:step") where step = unix time // STEP_SECONDS.
A token is accepted during its own step and the next one, so a photo of the code goes stale within
two minutes at most, while a citizen who scans just before the code changes still gets in.
"""

import base64
import hashlib
import hmac
import math
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

STEP_SECONDS = 60
EARTH_RADIUS_M = 6_371_000


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def token_for(venue, step: int) -> str:
    digest = hmac.new(venue.secret.encode(), f"{venue.code}:{step}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode()  # 16 characters, easy to type from a screen


def current(venue, now: datetime | None = None) -> tuple[str, datetime]:
    """The token to show now and when the code next changes."""
    now = now or timezone.now()
    step = step_at(now)
    changes_at = datetime.fromtimestamp((step + 1) * STEP_SECONDS, tz=now.tzinfo or timezone.get_current_timezone())
    return token_for(venue, step), changes_at


def is_valid(venue, token: str, now: datetime | None = None) -> bool:
    step = step_at(now or timezone.now())
    given = (token or "").strip().upper().encode()
    # Both candidates are compared, so the timing does not tell which step matched.
    matches = [hmac.compare_digest(given, token_for(venue, s).encode()) for s in (step, step - 1)]
    return any(matches)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def checkin_path(venue, token: str) -> str:
    """What the QR code encodes (after the site's address): the check-in page with the token."""
    return f"{reverse('engagement:checkin', args=[venue.code])}?t={token}"
