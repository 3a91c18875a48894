"""The reductions' references are checked in bulk by `tanhui ledger verify` (the database does not
hold them as constraints, see `Reduction`)."""

import pytest
from django.db import connection

from tanhui.ingest import audit
from tanhui.ingest.models import Reduction
from tanhui.methodology.models import Scenario

TRIPS = [("T1", "M1", "2026-05-01T08:00:00+08:00", "2026-05-01T08:30:00+08:00", "10"),
         ("T2", "M2", "2026-05-03T08:00:00+08:00", "2026-05-03T08:30:00+08:00", "12")]


@pytest.fixture
def credited(metro_city, ingest):
    assert ingest(TRIPS)["accepted"] == 2
    return Reduction.objects.order_by("pk")


def update_as_superuser(sql: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_intact_reductions_pass(credited):
    assert audit.verify() == []


def test_a_reduction_of_a_citizen_who_does_not_exist_is_named(credited):
    first = credited.first()
    update_as_superuser("UPDATE ingest_reduction SET citizen_id = 999999 WHERE id = %s", first.pk)

    problems = audit.verify()

    assert problems == [f"reduction #{first.pk} (provider {first.provider_id}, record T1) "
                        "refers to a citizen that does not exist"]


def test_a_reduction_moved_to_another_scenario_than_its_batch_is_named(credited):
    last = credited.last()
    bus = Scenario.objects.get(code="bus")
    update_as_superuser("UPDATE ingest_reduction SET scenario_id = %s WHERE id = %s", bus.pk, last.pk)

    assert audit.verify() == [f"reduction #{last.pk} (provider {last.provider_id}, record T2) "
                              "has another scenario than its batch"]


def test_ledger_verify_runs_the_check(credited):
    from django.core.management import CommandError, call_command

    update_as_superuser("UPDATE ingest_reduction SET batch_id = 999999")

    with pytest.raises(CommandError, match="refers to a batch that does not exist"):
        call_command("ledger", "verify", "--json")
