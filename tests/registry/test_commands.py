"""`tanhui registry demo-data` and `tanhui registry holiday` (`registry verify` is in test_audit)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tanhui.registry import audit
from tanhui.registry.models import CalendarDay, IssuanceRequest, Project, Retirement
from tests.registry.conftest import may_days


def run(*args) -> dict:
    out = StringIO()
    call_command("registry", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_demo_data_tells_the_whole_story(citizens, ingest_trips):
    ingest_trips(citizens(30, market=False), may_days(4, 8))
    result = run("demo-data")
    assert result["market_consents"] == 21  # 7 of every 10 citizens by id
    assert result["issued_tonnes"] >= 2 and result["retired_tonnes"] == 2 and len(result["certificates"]) == 2
    statuses = dict(IssuanceRequest.objects.values_list("kind", "status"))
    assert statuses == {"individual": "issued", "project": "notice"}
    assert Project.objects.get().status == "validated"
    assert set(Retirement.objects.values_list("purpose", flat=True)) == {"event_neutrality", "ets_offset"}
    assert audit.verify() == []
    assert run("demo-data")["skipped"]  # once only


def test_holiday_command(users):
    assert run("holiday", "2026-10-01", "--name", "国庆节", "--as", "admin") == {
        "day": "2026-10-01", "working": False, "name": "国庆节"}
    run("holiday", "2026-10-10", "--working", "--as", "admin")
    assert list(CalendarDay.objects.values_list("working", flat=True)) == [False, True]
    with pytest.raises(CommandError, match="admin_only"):
        run("holiday", "2026-10-02", "--as", "energy")


def test_prepare_command(users, citizens, ingest_trips):
    ingest_trips(citizens(20), may_days(4, 8))
    result = run("prepare", "--scenarios", "metro", "--start", "2026-05-01", "--end", "2026-05-31", "--as", "admin")
    assert (result["records"], result["tonnes"], result["citizens"]) == (535, 2, 20)
    assert IssuanceRequest.objects.get().evidence_sha256 == result["evidence_sha256"]
    with pytest.raises(CommandError, match="below_one_tonne"):
        run("prepare", "--scenarios", "metro", "--start", "2026-05-01", "--end", "2026-05-31", "--as", "admin")
    with pytest.raises(CommandError, match="admin_only"):
        run("prepare", "--scenarios", "metro", "--start", "2026-05-01", "--end", "2026-05-31", "--as", "energy")
