"""Anomaly rules (night and weekend baseload, jumps, silent meters) and energy cap alerts."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tanhui.core.errors import DomainError
from tanhui.supervision import services
from tanhui.supervision.models import Alert

pytestmark = pytest.mark.django_db

# 2024-06-03 is a Monday; five weeks of hourly data end on Sunday 2024-06-30.
FIRST = date(2024, 5, 27)
LAST = date(2024, 6, 30)
NOW = datetime(2024, 6, 30, 17, 0, tzinfo=UTC)  # 1 July 01:00 in Shanghai, an hour after the last reading


def office_hour(day: date, hour: int, night=0.2, weekend=0.25) -> float:
    """kWh of a tidy office: busy 9–17 on weekdays, quiet otherwise."""
    if day.weekday() >= 5:
        return 10 * weekend
    return 10.0 if 9 <= hour < 17 else 10 * night


def hourly_rows(code, load, first=FIRST, last=LAST):
    rows, day = [], first
    while day <= last:
        for hour in range(24):
            end = datetime(day.year, day.month, day.day, hour) + timedelta(hours=1)
            rows.append((code, end.strftime("%Y-%m-%d %H:%M"), f"{load(day, hour):.3f}"))
        day += timedelta(days=1)
    return rows


@pytest.fixture
def office(make_building, make_meter):
    def make(code="E1", type="office"):
        return make_meter(code=code, building=make_building(code=f"B-{code}", type=type), mode="delta",
                          interval_s=3600)
    return make


def kinds():
    return sorted(Alert.objects.values_list("kind", "meter__code"))


def test_a_tidy_office_raises_nothing(office, send):
    office()
    send(hourly_rows("E1", office_hour), now=NOW)
    assert services.scan(LAST, NOW)["alerts"] == 0


def test_night_baseload(office, send):
    office()
    office("E2", type="hotel")  # hotels run at night: the rule does not apply
    send(hourly_rows("E1", lambda d, h: office_hour(d, h, night=0.7))
         + hourly_rows("E2", lambda d, h: office_hour(d, h, night=0.7)), now=NOW)
    result = services.scan(LAST, NOW)
    assert kinds() == [("night_baseload", "E1")]
    alert = Alert.objects.get()
    assert alert.detail["ratio"] == "0.57"  # nights average (5 × 7 + 2 × 2.5) / 7 kWh against 10 by day
    assert result["by_kind"] == {"night_baseload": 1}
    assert services.scan(LAST - timedelta(days=1), NOW)["alerts"] == 0  # once per meter and week


def test_weekend_baseload(office, send):
    office()
    send(hourly_rows("E1", lambda d, h: office_hour(d, h, weekend=0.8) if not 9 <= h < 17 or d.weekday() >= 5
                     else 10.0), now=NOW)
    services.scan(LAST, NOW)
    assert kinds() == [("weekend_baseload", "E1")]


def test_jump_against_the_same_weekday(office, send):
    office()
    def load(day, hour):
        return 30.0 if day == LAST - timedelta(days=2) and hour == 14 else office_hour(day, hour)
    send(hourly_rows("E1", load), now=NOW)
    services.scan(LAST - timedelta(days=2), NOW)  # Friday 28 June, 14:00–15:00 at 3× its usual
    alert = Alert.objects.get(kind="jump")
    assert alert.detail["hours"] == [{"hour": 14, "value": "30", "usual": "10.000"}]
    # an ordinary day raises nothing; a small absolute change at night does not count either
    assert services.scan(LAST - timedelta(days=3), NOW)["alerts"] == 0


def test_jump_needs_three_weeks_of_history(office, send):
    office()
    send(hourly_rows("E1", lambda d, h: 30.0 if d == date(2024, 6, 10) else office_hour(d, h)), now=NOW)
    services.scan(date(2024, 6, 10), NOW)  # only two earlier Mondays
    assert not Alert.objects.filter(kind="jump").exists()


def test_catch_up_after_a_gap_is_not_a_jump(make_meter, make_building, send):
    make_meter(code="C1", building=make_building(type="hospital"))  # cumulative, every 15 minutes
    rows, register = [], 0.0
    day = FIRST
    while day <= LAST:
        for quarter in range(96):
            register += 1.0
            end = datetime(day.year, day.month, day.day) + timedelta(minutes=15 * (quarter + 1))
            missing = day == LAST and 40 <= quarter < 47  # 10:15–12:00 lost, caught up at 12:00
            if not missing:
                rows.append(("C1", end.strftime("%Y-%m-%d %H:%M"), f"{register:.1f}"))
        day += timedelta(days=1)
    assert send(rows, now=NOW).gaps == 1
    services.scan(LAST, NOW)
    assert not Alert.objects.filter(kind="jump").exists()


def test_silent_meter_alert_and_recovery(make_meter, send):
    make_meter()
    send([("M1", "2024-07-01 00:45", "1"), ("M1", "2024-07-01 01:00", "2")], now=NOW)
    assert services.scan(LAST, NOW)["alerts"] == 0
    later = NOW + timedelta(hours=3)  # four 15-minute intervals, but at least two hours
    assert services.scan(LAST, later)["by_kind"] == {"silent": 1}
    assert services.scan(LAST, later)["alerts"] == 0  # one alert per silence
    send([("M1", "2024-07-01 04:00", "3")], now=later)
    assert services.scan(LAST, later)["resolved"] == 1
    assert Alert.objects.get().status == Alert.Status.RESOLVED


def test_energy_cap_alerts_at_80_and_100_percent(make_building, make_meter, send):
    building = make_building(key_energy_user=True)
    make_meter(building=building, mode="delta", interval_s=86400)
    # 1 tce = 1000 kgce = 8136.7 kWh at 0.1229 kgce/kWh
    services.set_cap(building, 2024, Decimal("1"), today=date(2024, 3, 1))
    send([("M1", "2024-02-01 00:00", "6000")], now=NOW)      # 737 kgce: 74%
    assert not Alert.objects.exists()
    send([("M1", "2024-02-02 00:00", "600")], now=NOW)       # 811 kgce: 81%
    assert kinds() == [("cap_80", None)]
    send([("M1", "2024-02-03 00:00", "1600")], now=NOW)      # 1008 kgce: 101%
    assert kinds() == [("cap_100", None), ("cap_80", None)]
    assert Alert.objects.get(kind="cap_100").detail == {"year": 2024, "used_kgce": 1008, "cap_kgce": 1000}
    send([("M1", "2024-02-04 00:00", "100")], now=NOW)
    assert Alert.objects.count() == 2  # each level once a year


def test_a_lower_cap_raises_at_once_and_only_key_energy_users_have_caps(make_building, make_meter, send):
    building = make_building(key_energy_user=True)
    make_meter(building=building, mode="delta", interval_s=86400)
    send([("M1", "2024-02-01 00:00", "8000")], now=NOW)
    services.set_cap(building, 2024, Decimal("0.9"), today=date(2024, 3, 1))
    assert kinds() == [("cap_100", None), ("cap_80", None)]
    with pytest.raises(DomainError) as error:
        services.set_cap(make_building(code="B2"), 2024, Decimal("1"))
    assert error.value.code == "not_key_energy_user"


def test_owners_handle_their_alerts_only(make_building, make_meter, send, owner_user, other_owner):
    building = make_building(key_energy_user=True)
    make_meter(building=building, mode="delta", interval_s=86400)
    services.set_cap(building, 2024, Decimal("0.1"), today=date(2024, 3, 1))
    send([("M1", "2024-02-01 00:00", "8000")], now=NOW)
    alert = Alert.objects.first()
    with pytest.raises(DomainError):
        services.handle_alert(alert, other_owner, Alert.Status.ACKNOWLEDGED)
    assert services.handle_alert(alert, owner_user, Alert.Status.ACKNOWLEDGED).handled_by == owner_user


def test_the_alert_page_does_not_tell_others_an_alert_exists(make_building, make_meter, send, owner_user,
                                                               other_owner, client):
    building = make_building(key_energy_user=True)
    make_meter(building=building, mode="delta", interval_s=86400)
    services.set_cap(building, 2024, Decimal("0.1"), today=date(2024, 3, 1))
    send([("M1", "2024-02-01 00:00", "8000")], now=NOW)
    alert = Alert.objects.first()
    client.force_login(other_owner)
    for alert_id in (alert.pk, alert.pk + 1000):  # someone else's, and none at all: the same answer
        response = client.post(f"/supervision/alerts/{alert_id}/", {"status": "acknowledged"})
        assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    client.force_login(owner_user)
    assert client.post(f"/supervision/alerts/{alert.pk}/", {"status": "acknowledged"}).status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.handled_by) == (Alert.Status.ACKNOWLEDGED, owner_user)
