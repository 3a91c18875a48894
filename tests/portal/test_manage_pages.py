"""Administrator views: methodology versions with factors and sources, batch monitoring, and the
audited support look-up by phone."""

from datetime import date

import pytest
from django.test import Client

from tanhui.core.pii import lookup_hash
from tanhui.portal.models import AuditEvent
from tests.portal.conftest import PHONE_A, trip


@pytest.fixture
def admin_user(staff):
    return staff("admin", username="bureau")


@pytest.fixture
def admin_client(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get("/manage/lookup/")
    return client


def lookup(client, phone):
    return client.post("/manage/lookup/", {"phone": phone, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_methodology_page_lists_versions_factors_values_and_sources(admin_client, citizen_a, ingest):
    ingest([trip("R1", "M-A", date(2026, 6, 1))])

    html = admin_client.get("/manage/methodologies/").content.decode()

    assert "transit" in html and "max_km=80" in html
    assert "metro_pkm_reduction" in html and "46.8" in html and "深圳市生态环境局" in html
    assert "已用于核算" in html


def test_batch_monitoring_filters_by_status(admin_client, metro, citizen_a, ingest):
    batch = ingest([trip("R1", "M-A", date(2026, 6, 1))])

    done = admin_client.get("/manage/batches/?status=done").content.decode()
    failed = admin_client.get("/manage/batches/?status=failed").content.decode()

    assert f'href="/batches/{batch.pk}/"' in done and f'href="/batches/{batch.pk}/"' not in failed


def test_a_lookup_is_audited_with_who_whom_and_when(admin_client, admin_user, citizen_a):
    response = lookup(admin_client, PHONE_A)

    html = response.content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.CITIZEN_LOOKUP)
    assert (event.actor, event.citizen, event.action) == (admin_user, citizen_a, "citizen_lookup")
    assert event.query_hash == lookup_hash(PHONE_A)
    assert citizen_a.public_id in html and "138****8000" in html and "张*" in html
    assert PHONE_A not in html and "张三" not in html  # support sees masked data only
    assert "bureau" in html  # the log of recent look-ups


def test_a_lookup_that_finds_nobody_is_audited_without_storing_the_number(admin_client):
    response = lookup(admin_client, "13700137000")

    event = AuditEvent.objects.get()
    assert "没有使用该手机号的在册市民" in response.content.decode()
    assert event.citizen is None and event.query_hash == lookup_hash("13700137000")


def test_an_invalid_number_is_refused_and_not_audited(admin_client):
    response = lookup(admin_client, "12345")

    assert response.status_code == 400 and not AuditEvent.objects.exists()


def test_the_audit_log_cannot_be_edited_in_the_admin(admin_client, admin_user):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()

    assert admin_client.get("/admin/portal/auditevent/").status_code == 200
    assert admin_client.get("/admin/portal/auditevent/add/").status_code == 403
