"""The registry's pages without a browser: public registry and exports, the citizen's consent,
the administrator's, verifier's, holder's and project owner's forms (no JavaScript needed).

Pages run on the real clock (late 2026), so notices published here end in the future; where a
test needs the notice over, it moves `services.clock`.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tanhui.methodology.models import MethodologyVersion, Scenario
from tanhui.registry import audit, dashboard, services
from tanhui.registry.models import Exclusion, IssuanceRequest, MonitoringEntry, Project
from tests.registry.conftest import AFTER, may_days


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def retired(users, orgs, issued):
    """The issued 2 t bought by the energy group, 1 t retired for an event."""
    request, _ = issued
    listing = services.create_listing(users.admin, services.pool_account(), tonnes=2, price_fen_per_tonne=4350,
                                      now=AFTER)
    services.buy(users.energy, listing, 2, now=AFTER)
    retirement = services.retire(users.energy, services.account_for(orgs.energy), purpose="event_neutrality",
                                 beneficiary="云澜马拉松组委会", tonnes=1, event_name="2026 云澜国际马拉松",
                                 event_start=AFTER.date(), event_end=AFTER.date(), now=AFTER)
    return request, retirement


def test_public_registry_pages_and_exports(retired, client):
    request, retirement = retired
    for path in ("/registry/", "/registry/holdings/", "/registry/retirements/", "/registry/projects/",
                 f"/registry/issuances/{request.pk}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "王小明" not in response.content.decode()  # no citizen is named anywhere public
    page = client.get(f"/registry/certificates/{retirement.certificate_no}/").content.decode()
    assert "碳普惠减排量注销证明" in page and f"CN-SZ-CGSP-{request.pk}-2026-1-1" in page
    assert client.get(f"/registry/certificates/{retirement.certificate_no}/pdf/")["Content-Type"] == "application/pdf"
    assert client.get(f"/registry/issuances/{request.pk}/report.pdf").content.startswith(b"%PDF")
    assert client.get("/registry/certificates/CN-SZ-CGSP-RET-2026-999999/").status_code == 404

    data = client.get("/registry/export/holdings.json").json()["holdings"]
    assert {(r["holder"], r["active_tonnes"], r["retired_tonnes"]) for r in data} == {
        ("平台登记池", 0, 0), ("云澜能源集团", 1, 1)}
    rows = list(csv.DictReader(io.StringIO(client.get("/registry/export/retirements.csv").content.decode("utf-8-sig"))))
    assert [(r["certificate_no"], r["tonnes"], r["purpose"]) for r in rows] == [
        (retirement.certificate_no, "1", "event_neutrality")]
    issuances = client.get("/registry/export/issuances.json").json()["issuances"]
    assert issuances[0]["serials"] == f"CN-SZ-CGSP-{request.pk}-2026-1-2"
    assert client.get("/registry/export/secrets.json").status_code == 404
    assert [(f["value"], f["unit"]) for f in dashboard.figures()] == [(2, "吨"), (1, "吨"), (0, "项")]


def test_citizen_consent_page(citizens):
    citizen = citizens(1, market=False)[0]
    client = signed_in(citizen.user)
    assert "未同意" in client.get("/registry/me/market-consent/").content.decode()
    response = client.post("/registry/me/market-consent/", {"action": "grant"})
    assert response.status_code == 302 and services.has_market_consent(citizen)
    client.post("/registry/me/market-consent/", {"action": "revoke"})
    assert not services.has_market_consent(citizen)


def test_administrator_prepares_publishes_and_assigns(users, orgs, citizens, ingest_trips):
    ingest_trips(citizens(20), may_days(4, 8))
    client = signed_in(users.admin)
    form = {"action": "individual", "individual-scenarios": [Scenario.objects.get(code="metro").pk],
            "individual-methodology_versions": [MethodologyVersion.objects.get(methodology__code="transit").pk],
            "individual-period_start": "2026-05-01", "individual-period_end": "2026-05-31"}
    response = client.post("/registry/manage/", form)
    request = IssuanceRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/registry/manage/requests/{request.pk}/"
    response = client.post("/registry/manage/", form)
    assert response.status_code == 409 and "不足 1 吨" in response.content.decode()  # refused: a form error
    page = f"/registry/manage/requests/{request.pk}/"
    assert client.post(page, {"action": "notice"}).status_code == 302
    assert client.post(page, {"action": "verifier", "verifier-organisation": orgs.verifier.pk}).status_code == 302
    request.refresh_from_db()
    assert (request.status, request.verifier) == ("notice", orgs.verifier)
    assert "request.verifier_assigned" in client.get(page).content.decode()  # the audit trail on the page


def test_verifier_samples_and_decides(users, orgs, citizens, ingest_trips, prepare, monkeypatch):
    ingest_trips(citizens(20), may_days(4, 8))
    request = prepare()
    services.publish_notice(users.admin, request)
    services.assign_verifier(users.admin, request, orgs.verifier)
    client = signed_in(users.verifier)
    page = f"/registry/verify/requests/{request.pk}/"
    assert client.post(page, {"action": "sample", "sample-size": ""}).status_code == 302
    content = client.get(page).content.decode()
    assert "输入哈希" in content and "因子来源" in content
    response = client.post(page, {"action": "decision", "decision-decision": "approve", "decision-statement": "同意"})
    assert response.status_code == 409 and "公示结束后方可作出结论" in response.content.decode()
    later = services.clock() + timedelta(days=30)
    monkeypatch.setattr(services, "clock", lambda: later)
    response = client.post(page, {"action": "decision", "decision-decision": "approve",
                                  "decision-deduction_tonnes": "1", "decision-statement": "核减 1 吨"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.verified_tonnes) == ("verified", 1)


def test_holder_forms(users, orgs, retired):
    client = signed_in(users.energy)
    assert "CN-SZ-CGSP-" in client.get("/registry/account/").content.decode()
    response = client.post("/registry/account/", {
        "action": "retire", "retire-purpose": "ets_offset", "retire-tonnes": "1", "retire-beneficiary": "云澜能源集团",
        "retire-compliance_year": "2026", "retire-obligation_tonnes": "5"})
    assert response.status_code == 409 and "抵销量不得超过清缴量的 10%" in response.content.decode()
    response = client.post("/registry/account/", {"action": "transfer", "transfer-recipient": orgs.airline.pk,
                                                  "transfer-tonnes": "1", "transfer-price": "50.00"})
    assert response.status_code == 302
    assert services.active_tonnes(services.account_for(orgs.airline)) == 1
    assert audit.verify() == []


def test_project_owner_pages(users):
    client = signed_in(users.school)
    response = client.post("/registry/my-projects/", {"action": "project", "project-name": "屋顶光伏",
                                                      "project-methodology": "分布式光伏", "project-location": "南山区",
                                                      "project-description": "300 kWp"})
    project = Project.objects.get()
    page = f"/registry/my-projects/{project.pk}/"
    assert response["Location"] == page
    assert client.post(page, {"action": "submit"}).status_code == 409  # no documents yet
    upload = SimpleUploadedFile("plan.pdf", b"%PDF-1.4 plan", content_type="application/pdf")
    assert client.post(page, {"action": "document", "document-title": "监测计划", "document-file": upload}
                       ).status_code == 302
    document = project.documents.get()
    assert client.post(page, {"action": "monitoring", "monitoring-period_start": "2026-01-01",
                              "monitoring-period_end": "2026-01-31", "monitoring-quantity": "30000.5",
                              "monitoring-unit": "kWh", "monitoring-factor": "530.6",
                              "monitoring-document": document.pk}).status_code == 302
    assert MonitoringEntry.objects.get().reduction_mg == 15_918_265_300  # 30000.5 × 530.6 × 1000
    assert client.post(page, {"action": "submit"}).status_code == 302
    assert signed_in(users.energy).get(page).status_code == 404  # another organisation's project
    download = f"/registry/projects/{project.pk}/documents/{document.pk}/"
    assert client.get(download).status_code == 200
    assert signed_in(users.energy).get(download).status_code == 404


def test_exclusions_page(users, citizens, ingest_trips):
    batch = ingest_trips(citizens(1), may_days(4, 4))
    client = signed_in(users.admin)
    assert client.post("/registry/manage/exclusions/", {"action": "add", "add-target": "batch", "add-value": batch.pk,
                                                        "add-reason": "ets_covered"}).status_code == 302
    assert client.post("/registry/manage/exclusions/", {"action": "add", "add-target": "batch", "add-value": "999",
                                                        "add-reason": "ets_covered"}).status_code == 400
    exclusion = Exclusion.objects.get()
    assert client.post("/registry/manage/exclusions/", {"action": "lift", "exclusion": exclusion.pk}
                       ).status_code == 302
    exclusion.refresh_from_db()
    assert exclusion.lifted_at is not None


def test_pages_are_chinese_by_default_and_english_on_request(db, client):
    assert "<h1>碳普惠减排量登记簿</h1>" in client.get("/registry/").content.decode()
    assert "<h1>Carbon-inclusion reduction registry</h1>" in client.get("/en/registry/").content.decode()
