"""The registry's audit trail: every change is an event on one hash chain; `registry.audit.verify`
(and `tanhui registry verify`) finds an altered event, a missing one, and registry rows changed
behind the services' back."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tanhui.registry import audit, services
from tanhui.registry.models import Event, EventChain, IssuanceItem, Retirement, SerialBlock
from tests.registry.conftest import AFTER


@pytest.fixture
def history(users, orgs, project_credits):
    request, _ = project_credits()
    school = services.account_for(orgs.school)
    services.transfer(users.school, school, services.account_for(orgs.energy), tonnes=100, price_fen_per_tonne=3600,
                      now=AFTER)
    services.retire(users.school, school, purpose="organisation_neutrality", beneficiary="云澜第一中学",
                    neutrality_year=2026, tonnes=10, now=AFTER)
    assert audit.verify() == []
    return request


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_every_change_is_an_event(history):
    kinds = list(Event.objects.values_list("kind", flat=True))
    assert kinds[:3] == ["project.registered", "project.document", "project.monitoring"]
    assert kinds[-4:] == ["request.verified", "request.issued", "credits.transferred", "credits.retired"]
    assert EventChain.objects.get().length == len(kinds)


def test_tampering_with_an_event_row_is_detected(history):
    event = Event.objects.get(kind="credits.transferred")
    data = {**event.data, "price_fen_per_tonne": 1}
    sql("UPDATE registry_event SET data = %s WHERE id = %s", [json.dumps(data), event.pk])
    problems = audit.verify_event_chain()
    assert problems == [f"registry event #{event.seq} (credits.transferred {event.subject}): its contents do not "
                        f"match its hash — it was altered"]


def test_a_removed_event_is_detected(history):
    last = Event.objects.order_by("-seq").first()
    sql("DELETE FROM registry_event WHERE id = %s", [last.pk])
    assert "is not the end of its events" in audit.verify_event_chain()[0]
    first = Event.objects.order_by("seq").first()
    sql("DELETE FROM registry_event WHERE id = %s", [first.pk])
    assert "an event is missing or was moved" in audit.verify_event_chain()[0]


def test_blocks_changed_behind_the_services_are_detected(history, orgs):
    block = SerialBlock.objects.filter(retirement__isnull=True, account=services.account_for(orgs.energy)).get()
    sql("UPDATE registry_serialblock SET account_id = %s WHERE id = %s",
        [services.account_for(orgs.airline).pk, block.pk])
    assert audit.verify_event_chain() == []  # the chain itself is intact …
    assert audit.verify() == [f"request #{history.pk}: its serial blocks differ from what the events record"]
    sql("UPDATE registry_serialblock SET account_id = %s, last = last + 5 WHERE id = %s",
        [services.account_for(orgs.energy).pk, block.pk])
    assert f"request #{history.pk}: serial blocks overlap at serial {block.last + 1}" in audit.verify()


def test_items_changed_behind_the_services_are_detected(users, citizens, ingest_trips, prepare):
    from tests.registry.conftest import may_days

    ingest_trips(citizens(20), may_days(4, 8))
    request = prepare()
    sql("DELETE FROM registry_issuanceitem WHERE reduction_id = %s",
        [IssuanceItem.objects.filter(request=request).values_list("reduction", flat=True)[0]])
    assert audit.verify() == [f"request #{request.pk}: the records it holds differ from those recorded when it was "
                              f"prepared"]


def test_the_verify_command(history):
    out = StringIO()
    call_command("registry", "verify", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"ok": True, "problems": []}
    sql("UPDATE registry_retirement SET tonnes = 11")
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("registry", "verify", "--json", stdout=out)
    assert caught.value.returncode == 1
    pk = Retirement.objects.get().pk
    assert json.loads(out.getvalue())["problems"] == [f"retirement #{pk}: its blocks hold 10 t, it retired 11 t"]
    assert f"registry verify failed (1 problems): retirement #{pk}" in str(caught.value)
