import csv
from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache

from tanhui.core.timeutil import SHANGHAI

PHONE_A = "13800138000"
PHONE_B = "13900139000"
PASSWORD = "demo-pass-123"
TRIP_FIELDS = ["record_id", "external_user_id", "started_at", "ended_at", "distance_km"]


@pytest.fixture(autouse=True)
def fresh_dashboard_cache(db):
    """The dashboard caches its snapshot (in the database cache); every test starts from its own data."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def metro(make_provider):
    return make_provider("metro_op", scenarios=("metro",), name="云澜轨道交通")


@pytest.fixture
def bike(make_provider):
    return make_provider("bike_op", scenarios=("bike",), name="青骑单车")


@pytest.fixture
def citizen_a(make_citizen, metro):
    return make_citizen(PHONE_A, "张三", bindings=[(metro, "M-A")], consents={"metro": None})


@pytest.fixture
def citizen_b(make_citizen, metro):
    return make_citizen(PHONE_B, "李四", bindings=[(metro, "M-B")], consents={"metro": None})


@pytest.fixture
def staff(django_user_model):
    """staff("provider", organisation=…) or staff("admin") → a signed-in-able user (password PASSWORD)."""
    def make(role, organisation=None, username=None):
        return django_user_model.objects.create_user(username or f"{role}-{organisation.pk if organisation else 0}",
                                                     password=PASSWORD, role=role, organisation=organisation)

    return make


def trip(record_id, user, day, hour=8, km="10.0"):
    """One trip of `km` km starting at `hour`:00 Shanghai time on `day`, taking 30 minutes."""
    start = datetime.combine(day, time(hour), tzinfo=SHANGHAI)
    return (record_id, user, start.isoformat(), (start + timedelta(minutes=30)).isoformat(), km)


@pytest.fixture
def ingest(tmp_path):
    """ingest(rows, scenario="metro", provider="metro_op") → the processed Batch. `now` is the end of
    the last trip's day, so trips of today are not "in the future"."""
    from tanhui.ingest.pipeline import ingest_file

    counter = iter(range(1000))

    def run(rows, scenario="metro", provider="metro_op"):
        path = tmp_path / f"batch{next(counter)}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(TRIP_FIELDS)
            writer.writerows(rows)
        last_day = max(datetime.fromisoformat(row[2]) for row in rows).astimezone(SHANGHAI).date()
        now = datetime.combine(last_day, time(23, 59), tzinfo=SHANGHAI)
        return ingest_file(path, scenario, provider, now=now)

    return run
