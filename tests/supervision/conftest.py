"""Fixtures for supervision tests: buildings, meters, users of each role, and a helper that sends
readings as they would arrive (strings, local times)."""

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from tanhui.people.models import Organisation, User
from tanhui.supervision import services

NOW = datetime(2024, 12, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def make_building(db):
    def make(code="B1", type="office", area=10_000, owner="业主甲", key_energy_user=False, grid_region="east"):
        building, _ = services.upsert_building(code=code, name=f"{code} 大厦", type=type, floor_area_m2=area,
                                               district="长宁区", owner=owner, key_energy_user=key_energy_user,
                                               grid_region=grid_region)
        return building
    return make


@pytest.fixture
def make_meter(make_building):
    def make(code="M1", building=None, kind="electricity", mode="cumulative", interval_s=900, parent=None):
        meter, _ = services.upsert_meter(code=code, building=building or make_building(), kind=kind, mode=mode,
                                         interval_s=interval_s, parent=parent)
        return meter
    return make


@pytest.fixture
def send():
    """send([("M1", "2024-05-01 00:15", "12.5"), …], actor=None) → the batch."""
    def send_rows(rows, actor=None, now=NOW):
        table = pa.table({name: [str(r[i]) for r in rows] for i, name in enumerate(("meter", "ts", "value"))})
        return services.import_readings(table, actor=actor, now=now)
    return send_rows


def _user(username, role, organisation=None):
    return User.objects.create_user(username=username, password="pw-123456!", role=role, organisation=organisation)


@pytest.fixture
def admin_user(db):
    return _user("admin1", User.Role.ADMIN)


@pytest.fixture
def owner_user(make_building):
    """Staff of the organisation that owns building B1."""
    building = make_building()
    return _user("owner1", User.Role.ENTERPRISE, building.owner)


@pytest.fixture
def other_owner(make_building):
    building = make_building(code="B2", owner="业主乙")
    return _user("owner2", User.Role.ENTERPRISE, building.owner)


@pytest.fixture
def reporter(db):
    """A reporter of 区发改委."""
    org, _ = Organisation.objects.get_or_create(kind=Organisation.Kind.GOVERNMENT, name="区发改委")
    return _user("fgw", User.Role.DEPARTMENT, org)


@pytest.fixture
def other_reporter(db):
    org, _ = Organisation.objects.get_or_create(kind=Organisation.Kind.GOVERNMENT, name="区建管委")
    return _user("jgw", User.Role.DEPARTMENT, org)


def quarter_hours(meter_code, start, registers):
    """Rows for consecutive 15-minute cumulative readings from `start` (a local 'YYYY-MM-DD HH:MM')."""
    base = datetime.fromisoformat(start)
    return [(meter_code, (base + timedelta(minutes=15 * i)).strftime("%Y-%m-%d %H:%M"), v)
            for i, v in enumerate(registers)]
