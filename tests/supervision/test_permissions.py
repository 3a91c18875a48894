"""Who may see or change what: a department edits only its own tasks and indicators; building owners
report only their own meters; administrators see all."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tanhui.core.errors import NotAllowed
from tanhui.supervision import services
from tanhui.supervision.demo import FIXTURES
from tanhui.supervision.models import Evidence, Indicator, PlanTask, Reading

pytestmark = pytest.mark.django_db
API = "/api/v1/supervision"


@pytest.fixture
def plan(db):
    result = services.import_plan(FIXTURES / "changning_tasks.csv", "长宁区碳达峰实施方案", starts_on=date(2022, 12, 5),
                                  default_due=date(2025, 12, 31))
    plan = PlanTask.objects.get(number=1).plan
    services.import_indicators(FIXTURES / "changning_indicators.csv", plan)
    assert result["tasks"] == 70
    return plan


def test_a_department_reports_only_on_its_own_tasks(plan, reporter, other_reporter, admin_user):
    own = PlanTask.objects.get(plan=plan, number=1)      # 区发改委
    other = PlanTask.objects.get(plan=plan, number=9)    # 区建管委
    assert services.report_task(own, reporter, as_of=date(2024, 6, 1), progress=40, summary="ok").pk
    for user, task in ((reporter, other), (other_reporter, own), (admin_user, own)):
        with pytest.raises(NotAllowed):
            services.report_task(task, user, as_of=date(2024, 6, 1), progress=40, summary="x")
    shared = PlanTask.objects.get(plan=plan, number=22)  # several departments share it
    assert services.report_task(shared, other_reporter, as_of=date(2024, 6, 1), progress=10, summary="ok")
    assert services.report_task(shared, reporter, as_of=date(2024, 6, 1), progress=10, summary="ok")


def test_a_department_reports_only_its_own_indicators(plan, reporter, other_reporter):
    energy = Indicator.objects.get(code="energy_intensity")  # 区发改委
    assert services.report_indicator(energy, reporter, year=2023, value=95, note="")
    with pytest.raises(NotAllowed):
        services.report_indicator(energy, other_reporter, year=2023, value=95)


def test_api_task_reports(client, plan, reporter, other_reporter):
    client.force_login(reporter)
    url = f"{API}/plans/{plan.pk}/tasks/1/reports"
    response = client.post(url, {"as_of": "2024-06-01", "progress": 40, "summary": "已完成节能审查闭环",
                                 "evidence": [SimpleUploadedFile("验收.pdf", b"%PDF-1.4 ...")]})
    assert response.status_code == 201, response.content
    assert response.json()["evidence"] == 1
    response = client.post(f"{API}/plans/{plan.pk}/tasks/9/reports",
                           {"as_of": "2024-06-01", "progress": 40, "summary": "x"})
    assert response.status_code == 403 and response.json()["code"] == "not_your_task"
    mine = client.get(f"{API}/plans/{plan.pk}/tasks?mine=true").json()
    assert mine and all("区发改委" in t["departments"] and t["mine"] for t in mine)
    assert len(client.get(f"{API}/plans/{plan.pk}/tasks").json()) == 70  # all tasks can be read
    evidence = Evidence.objects.get()
    client.force_login(other_reporter)
    assert client.get(f"/supervision/evidence/{evidence.pk}/").status_code == 403
    client.force_login(reporter)
    assert client.get(f"/supervision/evidence/{evidence.pk}/").status_code == 200


def test_evidence_files_are_checked(plan, reporter):
    task = PlanTask.objects.get(plan=plan, number=1)
    with pytest.raises(Exception) as error:
        services.report_task(task, reporter, as_of=date(2024, 6, 1), progress=1, summary="x",
                             files=[SimpleUploadedFile("run.exe", b"MZ")])
    assert error.value.code == "unsupported_file"
    assert not task.reports.exists()  # nothing half-saved


def test_pages_task_report_form(client, plan, reporter, other_reporter):
    client.force_login(other_reporter)
    url = f"/supervision/plan/tasks/1/?plan={plan.pk}"
    page = client.get(url)
    assert page.status_code == 200 and "报送进展" not in page.content.decode()
    assert client.post(url, {"as_of": "2024-06-01", "progress": 50, "summary": "x"}).status_code == 403
    client.force_login(reporter)
    assert "报送进展" in client.get(url).content.decode()
    response = client.post(url, {"as_of": "2024-06-01", "progress": 50, "summary": "按计划推进"})
    assert response.status_code == 302
    assert PlanTask.objects.get(plan=plan, number=1).reports.get().progress == 50


def test_owners_send_readings_only_for_their_meters(client, make_meter, make_building, owner_user, other_owner):
    make_meter(building=make_building())                 # B1, owner_user's
    make_meter(code="M2", building=make_building(code="B2", owner="业主乙"))
    client.force_login(owner_user)
    body = {"readings": [{"meter": "M1", "ts": "2024-05-01 00:00", "value": "1"},
                         {"meter": "M2", "ts": "2024-05-01 00:00", "value": "1"}]}
    response = client.post(f"{API}/readings", body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["rejected_by_reason"] == {"unknown_meter": 1}  # another owner's meter is not found
    assert list(Reading.objects.values_list("meter__code", flat=True)) == ["M1"]
    assert client.get(f"{API}/buildings/B2").status_code == 404
    assert [b["code"] for b in client.get(f"{API}/buildings").json()] == ["B1"]
    assert client.get("/supervision/buildings/B2/").status_code == 404
    batch_id = response.json()["batch_id"]
    client.force_login(other_owner)
    assert client.get(f"{API}/batches/{batch_id}").status_code == 403


def test_administrators_see_all_others_not(client, make_building, admin_user, owner_user, reporter):
    make_building(code="B2", owner="业主乙")
    client.force_login(admin_user)
    assert len(client.get(f"{API}/buildings").json()) == 2
    assert client.get(f"{API}/benchmark?type=office&start=2024-01-01&end=2024-01-31").status_code == 200
    for user in (owner_user, reporter):
        client.force_login(user)
        assert client.get(f"{API}/benchmark?type=office&start=2024-01-01&end=2024-01-31").status_code == 403
        response = client.put(f"{API}/caps/B1/2024", {"tce": "10"}, content_type="application/json")
        assert response.status_code in (403, 404)
        assert client.get("/supervision/benchmark/").status_code == 403
    client.force_login(reporter)
    assert client.get(f"{API}/buildings").json() == []


def test_anonymous_and_citizens_are_kept_out(client, make_building, plan):
    make_building()
    assert client.get(f"{API}/buildings").status_code == 401
    assert client.get("/supervision/").status_code == 302  # to the login page
    response = client.get(f"{API}/buildings", HTTP_AUTHORIZATION="Basic bm9ib2R5Om5vcGU=")
    assert response.status_code == 401


def test_http_basic_for_gateways(client, make_meter, owner_user):
    import base64
    make_meter()
    token = base64.b64encode(b"owner1:pw-123456!").decode()
    response = client.post(f"{API}/readings", {"readings": [{"meter": "M1", "ts": "2024-05-01 00:00", "value": "1"}]},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200 and response.json()["accepted"] == 1
