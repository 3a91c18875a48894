"""The public big screen and its JSON: aggregates only, panels that exist only with their data."""

import sys
import types
from datetime import date, timedelta

import pytest

from tanhui.dashboard import queries
from tanhui.portal.queries import today
from tests.portal.conftest import PHONE_A, PHONE_B, trip

DAY = date(2026, 6, 1)


@pytest.fixture
def city(citizen_a, citizen_b, ingest):
    ingest([trip("A1", "M-A", DAY), trip("A2", "M-A", today(), km="5.0"), trip("B1", "M-B", DAY, km="20.0")])


def test_data_gives_participants_reductions_by_scenario_trend_and_districts(client, city, monkeypatch):
    monkeypatch.setattr(queries, "MIN_DISTRICT_PARTICIPANTS", 2)

    data = client.get("/dashboard/data.json").json()

    assert (data["participants"], data["authorised"], data["records"]) == (2, 2, 3)
    assert data["reduction_mg"] == (10 + 5 + 20) * 46_800_000 // 1000
    assert data["today_mg"] == 5 * 46_800 and data["month_mg"] >= data["today_mg"]
    assert data["by_scenario"] == [{"code": "metro", "name": "地铁出行", "mg": data["reduction_mg"]}]
    assert data["trend"]["days"][-1] == today().isoformat() and len(data["trend"]["days"]) == 30
    assert sum(data["trend"]["series"][0]["mg"]) == 5 * 46_800
    assert data["districts"] == [{"name": "南山区", "mg": data["reduction_mg"], "participants": 2}]


def test_data_holds_no_personal_data(client, city, citizen_a, citizen_b, monkeypatch):
    monkeypatch.setattr(queries, "MIN_DISTRICT_PARTICIPANTS", 1)

    body = client.get("/dashboard/data.json").content.decode()

    for personal in [PHONE_A, PHONE_B, "张", "李", "M-A", "M-B", "A1", citizen_a.public_id, citizen_b.public_id]:
        assert personal not in body


def test_a_district_with_few_participants_is_not_ranked(client, city):
    assert client.get("/dashboard/data.json").json()["districts"] == []


def test_the_building_panel_is_hidden_while_no_building_is_metered(client, city):
    assert client.get("/dashboard/data.json").json()["buildings"] is None
    assert 'data-panel="buildings" hidden>' in client.get("/dashboard/").content.decode()


def test_campaign_and_registry_panels_come_only_from_installed_apps_that_offer_figures(client, city, monkeypatch):
    offering = types.ModuleType("tanhui.people.dashboard")
    offering.figures = lambda: [{"label": "累计签发", "value": 12, "unit": "吨"}]
    monkeypatch.setitem(sys.modules, "tanhui.people.dashboard", offering)
    monkeypatch.setattr(queries, "EXTENSION_PANELS", {"campaigns": "tanhui.not_installed", "registry": "tanhui.people"})

    data = client.get("/dashboard/data.json").json()
    html = client.get("/dashboard/").content.decode()

    assert "campaigns" not in data and data["registry"] == [{"label": "累计签发", "value": 12, "unit": "吨"}]
    assert 'data-panel="campaigns" hidden>' in html
    assert 'data-panel="registry">' in html and "<dt>累计签发</dt><dd>12 <small>吨</small></dd>" in html


def test_the_screen_shows_the_figures_without_javascript(client, city):
    html = client.get("/dashboard/").content.decode()

    assert 'data-kpi="participants">2<' in html and 'data-kpi="records">3<' in html
    assert '<meta http-equiv="refresh"' in html and "/static/vendor/echarts/echarts.min.js" in html


def test_building_intensity_appears_once_supervision_has_metered_buildings(client, db):
    from tanhui.people.models import District, Organisation
    from tanhui.supervision.models import Building, DailyUsage, Meter

    owner = Organisation.objects.create(kind="public_institution", name="区机关事务管理局")
    building = Building.objects.create(code="b1", name="区政府大楼", type="office", floor_area_m2=10_000,
                                       district=District.objects.create(name="长宁区"), owner=owner)
    meter = Meter.objects.create(building=building, code="m1", kind="electricity")
    DailyUsage.objects.bulk_create([DailyUsage(meter=meter, day=DAY - timedelta(days=i), value_milli=900_000_000,
                                               readings=96, emission_g=100_000) for i in range(365)])

    data = client.get("/dashboard/data.json").json()

    # 365 days × 100 kg over 10,000 m²
    assert data["buildings"] == [{"type": "office", "name": "办公", "kg_per_m2": 3.65, "buildings_m2": 10_000}]
    assert 'data-panel="buildings" hidden' not in client.get("/dashboard/").content.decode()
