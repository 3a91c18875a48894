"""The pages and the API, end to end on the demo data, for each kind of user."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tanhui.core.timeutil import local_date
from tanhui.people.models import District, User
from tanhui.supervision import demo
from tanhui.supervision.models import Alert, Building, IndicatorValue, Plan, ReadingBatch

pytestmark = pytest.mark.django_db
API = "/api/v1/supervision"


@pytest.fixture
def city(db):
    result = demo.run(per_type=1, weeks=1)
    admin = User.objects.create_user("boss", password="pw-123456!", role=User.Role.ADMIN)
    return {"result": result, "admin": admin, "plan": Plan.objects.get(),
            "fgw": User.objects.get(username="fgw"), "owner": User.objects.get(username="owner-demo")}


def ok(client, url, *needles):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    text = response.content.decode()
    for needle in needles:
        assert needle in text, (url, needle)
    return text


def test_administrator_pages(client, city):
    client.force_login(city["admin"])
    plan = city["plan"]
    month = f"{local_date(timezone.now()) - timedelta(days=1):%Y-%m}"
    ok(client, "/supervision/", "建筑能耗与碳排放监管", "<svg", "区级月报")
    ok(client, "/supervision/buildings/?type=office", "CN-OFF-01")
    ok(client, "/supervision/buildings/CN-HOS-01/", "能耗双控", "设置限额", "<svg", "CN-HOS-01-H")
    ok(client, "/supervision/benchmark/?type=hospital&start=2024-01-01&end=2024-01-31", "能效对标")
    ok(client, "/supervision/alerts/?status=open", "能耗")
    ok(client, f"/supervision/batches/{ReadingBatch.objects.first().pk}/", "unknown_meter")
    ok(client, f"/supervision/plan/?plan={plan.pk}", "目标指标", "年度评估报告")
    ok(client, f"/supervision/plan/tasks/?plan={plan.pk}&mine=0", "坚决遏制高耗能")
    ok(client, f"/supervision/plan/indicators/charging_piles/?plan={plan.pk}", "充电桩")
    for url in (f"/supervision/buildings/CN-OFF-01/report/{month}.pdf",
                f"/supervision/districts/{District.objects.get(name='长宁区').pk}/report/{month}.xlsx",
                f"/supervision/plan/assessment/2024.pdf?plan={plan.pk}"):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment"), url
    assert client.get(f"/supervision/buildings/CN-OFF-01/report/{month}.doc").status_code == 404
    response = client.post("/supervision/buildings/CN-COM-01/cap/", {"year": 2030, "tce": "99.5"})
    assert response.status_code == 302 and Building.objects.get(code="CN-COM-01").caps.filter(year=2030).exists()


def test_plan_import_page(client, city, tmp_path):
    client.force_login(city["admin"])
    table = "重点任务,,序号,具体任务,责任部门\n(一) 行动,1. 分项,1,到2027年完成。,区发改委\n"
    response = client.post("/supervision/plan/import/", {
        "name": "新方案", "district": "长宁区", "starts_on": "2024-01-01", "default_due": "2025-12-31",
        "tasks": SimpleUploadedFile("t.csv", table.encode())})
    assert response.status_code == 302
    assert Plan.objects.get(name="新方案").tasks.get().due.year == 2027


def test_owner_uploads_and_handles_alerts(client, city):
    client.force_login(city["owner"])
    ok(client, "/supervision/", "建筑能耗与碳排放监管")
    text = ok(client, "/supervision/buildings/", "CN-OFF-01")
    assert "CN-HOS-01" not in text  # not theirs
    assert client.get("/supervision/buildings/CN-HOS-01/").status_code == 404
    ok(client, "/supervision/readings/", "CN-OFF-01-E")
    csv = b"meter,ts,value\nCN-OFF-01-W,2001-01-02 00:00,1.5\nCN-HOS-01-W,2001-01-02 00:00,1\n"
    response = client.post("/supervision/readings/", {"file": SimpleUploadedFile("r.csv", csv)})
    assert response.status_code == 302
    ok(client, response.url, "unknown_meter", "CN-HOS-01-W")
    alert = Alert.objects.create(key="test", kind=Alert.Kind.JUMP, building=Building.objects.get(code="CN-OFF-01"),
                                 day=local_date(timezone.now()), message="用量突增")
    response = client.post(f"/supervision/alerts/{alert.pk}/",
                           {"status": "acknowledged", "next": "https://evil.example/"})
    assert response.url == "/supervision/alerts/"  # no open redirect
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    other = Alert.objects.exclude(building__owner=city["owner"].organisation).first()
    assert client.post(f"/supervision/alerts/{other.pk}/", {"status": "resolved"}).status_code == 404
    assert client.get(f"/supervision/plan/?plan={city['plan'].pk}").status_code == 403


def test_reporter_pages(client, city):
    client.force_login(city["fgw"])
    plan = city["plan"]
    text = ok(client, "/supervision/", "本部门任务")
    ok(client, f"/supervision/plan/tasks/?plan={plan.pk}", "区发改委")
    url = f"/supervision/plan/indicators/energy_intensity/?plan={plan.pk}"
    assert "报送数据" in ok(client, url)
    response = client.post(url, {"year": 2024, "value": "88.9", "note": "统计局快报",
                                 "evidence": [SimpleUploadedFile("快报.pdf", b"%PDF-1.4")]})
    assert response.status_code == 302
    value = IndicatorValue.objects.filter(indicator__code="energy_intensity", year=2024).latest("id")
    assert value.evidence.get().name == "快报.pdf"
    assert "报送数据" not in ok(client, f"/supervision/plan/indicators/green_trip_share/?plan={plan.pk}")
    assert client.get("/supervision/buildings/").status_code == 200 and "CN-" not in text.split("本部门任务")[0]
    assert client.get(f"/supervision/plan/assessment/2024.pdf?plan={plan.pk}").status_code == 403


def test_api(client, city):
    client.force_login(city["admin"])
    detail = client.get(f"{API}/buildings/CN-HOS-01").json()
    assert {m["code"] for m in detail["meters"]} == {"CN-HOS-01-E", "CN-HOS-01-G", "CN-HOS-01-H", "CN-HOS-01-W"}
    assert detail["figures"]["kwh"] and detail["figures"]["eui_kwh_m2"]
    end = local_date(timezone.now())
    days = client.get(f"{API}/buildings/CN-HOS-01/daily?start={end - timedelta(days=6)}&end={end}").json()
    assert len(days) == 7 and days[0]["kwh"]
    gaps = client.get(f"{API}/meters/CN-HOT-01-E/gaps?start={end - timedelta(days=7)}&end={end}")
    assert gaps.status_code == 200
    cap = client.put(f"{API}/caps/CN-HOS-01/{end.year}", {"tce": "500"}, content_type="application/json").json()
    assert cap["cap_tce"] == "500" and float(cap["share_percent"]) > 0
    alerts = client.get(f"{API}/alerts?status=open").json()
    assert alerts and client.post(f"{API}/alerts/{alerts[0]['id']}", {"status": "resolved"},
                                  content_type="application/json").json()["status"] == "resolved"
    assert client.post(f"{API}/alerts/{alerts[0]['id']}", {"status": "open"},
                       content_type="application/json").status_code == 400
    indicators = client.get(f"{API}/plans/{city['plan'].pk}/indicators").json()
    assert {i["code"] for i in indicators} >= {"charging_piles", "pv_capacity", "green_trip_share"}
    upload = client.post(f"{API}/readings/file", {"file": SimpleUploadedFile("r.txt", b"x")})
    assert upload.status_code == 400 and upload.json()["code"] == "unsupported_file"
