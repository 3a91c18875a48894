"""The citizen's pages: account home, statement down to the records, bindings and authorisations
through plain HTML forms (no JavaScript), closure, certificates."""

import sys
import types
from datetime import date

import pytest
from django.test import Client

from tanhui.ingest.models import Reduction
from tanhui.people.models import Binding, Citizen, Consent
from tanhui.portal.queries import today
from tests.portal.conftest import trip

DAY = date(2026, 6, 1)


@pytest.fixture
def client_a(citizen_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen_a.user)
    return client


def post(client, path, data=None):
    """A form submission as the browser makes it: with the CSRF token from the page's cookie."""
    client.get("/me/data/")
    return client.post(path, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_home_shows_balance_today_month_and_the_calendar(client_a, ingest):
    ingest([trip("R1", "M-A", today(), km="10.0"), trip("R2", "M-A", DAY, km="5.0")])

    response = client_a.get("/me/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "0.468" in html  # today: 10 km × 46.8 g/km = 468 g
    assert [today().isoformat(), 468.0] in response.context["calendar"]["days"]
    assert response.context["summary"]["points"] == 468 + 234
    assert 'data-chart="calendar"' in html and "vendor/echarts/echarts.min.js" in html


def test_statement_goes_from_totals_to_days_to_records_with_provenance(client_a, ingest):
    batch = ingest([trip("R1", "M-A", DAY, hour=8), trip("R2", "M-A", DAY, hour=18, km="3.5")])

    totals = client_a.get("/me/statement/").content.decode()
    month = client_a.get("/me/statement/2026/6/").content.decode()
    day = client_a.get("/me/statement/2026/6/1/").content.decode()

    assert "地铁出行" in totals and 'href="/me/statement/2026/6/"' in totals
    assert 'href="/me/statement/2026/6/1/"' in month and "0.632" in month  # 13.5 km × 46.8 g
    for text in ["R1", "R2", "3.5", f"#{batch.pk}", "云澜轨道交通", "v1", "46.8"]:
        assert text in day


def test_statement_of_an_impossible_date_is_not_found(client_a):
    assert client_a.get("/me/statement/2026/2/30/").status_code == 404
    assert client_a.get("/me/statement/2026/13/").status_code == 404


def test_bind_grant_revoke_and_unbind_through_forms(client_a, citizen_a, bike):
    assert post(client_a, "/me/bindings/", {"provider": "bike_op", "external_user_id": " B-7 "}).status_code == 302
    binding = Binding.objects.get(citizen=citizen_a, provider=bike, unbound_at__isnull=True)
    assert binding.external_user_id == "B-7"

    assert post(client_a, "/me/consents/bike/grant/", {"bike-effective_from": ""}).status_code == 302
    consent = Consent.objects.get(citizen=citizen_a, scenario__code="bike", revoked_at__isnull=True)
    assert consent.effective_from == today()

    page = client_a.get("/me/data/").content.decode()
    assert "已授权“共享单车骑行”" in page  # the confirmation message
    assert "授权后，共享单车企业报送您的骑行记录" in page  # what the authorisation means

    assert post(client_a, "/me/consents/bike/revoke/").status_code == 302
    assert not Consent.objects.filter(citizen=citizen_a, scenario__code="bike", revoked_at__isnull=True).exists()
    assert post(client_a, f"/me/bindings/{binding.pk}/unbind/").status_code == 302
    binding.refresh_from_db()
    assert binding.unbound_at is not None


def test_a_grant_cannot_reach_back_before_today(client_a, citizen_a, bike):
    response = post(client_a, "/me/consents/bike/grant/", {"bike-effective_from": "2020-01-01"})

    assert response.status_code == 400
    assert "授权不能追溯到今天以前" in response.content.decode()
    assert not Consent.objects.filter(citizen=citizen_a, scenario__code="bike").exists()


def test_an_account_bound_by_someone_else_is_refused_with_the_reason(client_a, citizen_b):
    response = post(client_a, "/me/bindings/", {"provider": "metro_op", "external_user_id": "M-B"})

    assert response.status_code == 400
    assert "该数据方账户已被其他市民绑定" in response.content.decode()


def test_forms_need_the_csrf_token(client_a):
    response = client_a.post("/me/bindings/", {"provider": "metro_op", "external_user_id": "X"})

    assert response.status_code == 403


def test_closing_needs_confirmation_then_anonymises_and_signs_out(client_a, citizen_a):
    refused = post(client_a, "/me/close/")
    assert refused.status_code == 400
    assert Citizen.objects.get(pk=citizen_a.pk).is_active

    closed = post(client_a, "/me/close/", {"confirm": "on"})

    citizen = Citizen.objects.get(pk=citizen_a.pk)
    assert closed.status_code == 200 and "账户已注销" in closed.content.decode()
    assert citizen.status == Citizen.Status.CLOSED and citizen.phone is None and citizen.name is None
    assert client_a.get("/me/").status_code == 302  # signed out


def test_certificates_come_from_the_apps_that_issue_them(client_a, citizen_a, monkeypatch):
    assert "暂无证书" in client_a.get("/me/certificates/").content.decode()

    issuing = types.ModuleType("tanhui.rewards.certificates")
    issuing.for_citizen = lambda citizen: [{"title": "低碳社区授牌", "number": "DT-2026-001",
                                            "issued_on": date(2026, 6, 5), "url": "/certificates/1.pdf"}]
    monkeypatch.setitem(sys.modules, "tanhui.rewards.certificates", issuing)

    html = client_a.get("/me/certificates/").content.decode()
    assert "低碳社区授牌" in html and "DT-2026-001" in html and 'href="/certificates/1.pdf"' in html


def test_records_show_capped_trips_with_zero_reduction(client_a, ingest):
    ingest([trip(f"R{i}", "M-A", DAY, hour=6 + 2 * i, km="2.0") for i in range(7)])  # metro caps at 6 a day

    day = client_a.get("/me/statement/2026/6/1/").content.decode()

    assert Reduction.objects.filter(capped=True).count() == 1
    assert "超出每日上限，未计减排" in day
