"""Monthly reports and the annual assessment (PDF and Excel), and the `tanhui supervision` commands."""

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from tanhui.people.models import District
from tanhui.supervision import reports, services
from tanhui.supervision.demo import FIXTURES
from tanhui.supervision.models import Building, Plan

from .conftest import quarter_hours

pytestmark = pytest.mark.django_db


def run(*args) -> dict:
    out = io.StringIO()
    call_command("supervision", *args, "--json", stdout=out)
    text = out.getvalue()
    assert text.count("\n") == 1  # exactly one JSON object
    return json.loads(text)


@pytest.fixture
def monitored(make_building, make_meter, send):
    building = make_building(key_energy_user=True)
    make_meter(building=building)
    send(quarter_hours("M1", "2024-05-01 00:00", ["100", "101", "103", "106"]))
    services.set_cap(building, 2024, 1, today=date(2024, 5, 2))
    return building


def test_building_and_district_month(monitored):
    report = reports.building_month(monitored, 2024, 5)
    assert report.sections[1].rows[0][:3] == ["M1", "电", "总表"]
    assert report.sections[2].rows[0] == ["2024-05-01", Decimal("6.0"), Decimal("3.3")]  # kWh, kg CO2e
    pdf = reports.to_pdf(report)
    assert pdf.startswith(b"%PDF")
    book = load_workbook(io.BytesIO(reports.to_xlsx(report)))
    assert book.sheetnames == ["概况", "分表用量", "逐日能耗", "本月告警"]
    assert book["逐日能耗"]["B4"].value == 6.0  # kWh, a number in Excel
    district = reports.district_month(District.objects.get(name="长宁区"), 2024, 5)
    assert district.sections[2].rows[0][0] == "B1"
    assert reports.to_pdf(district).startswith(b"%PDF")


def test_assessment(db, reporter):
    services.import_plan(FIXTURES / "changning_tasks.csv", "长宁区碳达峰实施方案", starts_on=date(2022, 12, 5),
                         default_due=date(2025, 12, 31))
    plan = Plan.objects.get()
    services.import_indicators(FIXTURES / "changning_indicators.csv", plan)
    report = reports.assessment(plan, 2024, date(2025, 3, 1))
    assert "评估截至 2024-12-31" in report.sections[0].lines[0]
    assert len(report.sections[3].rows) == 70
    assert reports.to_pdf(report).startswith(b"%PDF")
    assert load_workbook(io.BytesIO(reports.to_xlsx(report))).sheetnames == ["总体情况", "目标指标", "需关注事项",
                                                                              "任务进展"]


def test_commands(tmp_path, db):
    buildings = tmp_path / "buildings.csv"
    buildings.write_text("code,name,type,floor_area_m2,district,owner,key_energy_user\n"
                         "H1,中心医院,hospital,42000,长宁区,中心医院,是\nO1,大厦,office,20000,长宁区,甲公司,0\n")
    assert run("import-buildings", str(buildings)) == {"created": 2, "updated": 0}
    assert Building.objects.get(code="H1").owner.kind == "public_institution"
    meters = tmp_path / "meters.csv"
    meters.write_text("code,building,kind,mode,interval,parent\nH1-E,H1,electricity,cumulative,15min,\n"
                      "H1-E-AC,H1,electricity,cumulative,15min,H1-E\nH1-G,H1,gas,delta,1h,\n")
    assert run("import-meters", str(meters)) == {"created": 3, "updated": 0}
    readings = tmp_path / "readings.csv"
    readings.write_text("meter,ts,value\nH1-E,2024-05-01 00:00,10\nH1-E,2024-05-01 00:15,12\nX,2024-05-01 00:15,1\n")
    summary = run("import-readings", str(readings))
    assert (summary["accepted"], summary["rejected_by_reason"]) == (2, {"unknown_meter": 1})
    assert run("set-cap", "H1", "2024", "2500")["cap_kgce"] == 2_500_000
    assert run("publish-factor", "--kind", "electricity", "--region", "east", "--valid-from", "2024-01-01",
               "--kg-per-unit", "0.5012", "--source", "test")["mg_per_unit"] == 501_200
    assert run("scan", "--day", "2024-05-01")["day"] == "2024-05-01"
    assert run("benchmark", "--type", "hospital", "--start", "2024-05-01", "--end", "2024-05-01")["buildings"][0][
        "eui_kwh_m2"] == "0.02"
    out = tmp_path / "h1.pdf"
    assert run("report", "building", "H1", "--month", "2024-05", "--out", str(out))["bytes"] > 1000
    assert run("report", "district", "长宁区", "--month", "2024-05", "--out", str(tmp_path / "d.xlsx"))["bytes"]
    plan = run("import-plan", str(FIXTURES / "changning_tasks.csv"), "--plan", "长宁区碳达峰实施方案",
               "--starts-on", "2022-12-05")
    assert plan["tasks"] == 70
    assert run("import-indicators", str(FIXTURES / "changning_indicators.csv"), "--plan", "长宁区碳达峰实施方案")[
        "indicators"] == 10
    out = str(tmp_path / "a.pdf")
    assert run("assessment", "--plan", "长宁区碳达峰实施方案", "--year", "2024", "--out", out)["bytes"]


def test_command_errors(db):
    from django.core.management.base import CommandError
    with pytest.raises(CommandError, match="no building"):
        run("set-cap", "NOPE", "2024", "1")
    with pytest.raises(CommandError, match="no_such_file"):
        run("import-readings", "/nonexistent.csv")


def test_demo_data(db):
    result = run("demo-data", "--per-type", "1", "--weeks", "1")
    assert result["buildings"] == 7 and result["plan"]["tasks"] == 70
    assert result["batch"]["rejected_by_reason"]  # the demo shows what bad readings look like
    assert {login["role"] for login in result["logins"]} == {"department", "enterprise"}
    again = run("demo-data", "--per-type", "1", "--weeks", "1")  # idempotent: nothing twice
    assert again["plan"]["created"] == 0 and again["batch"]["accepted"] < result["batch"]["accepted"]
