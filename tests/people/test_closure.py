"""Closing an account (PIPL): personal data anonymised, processing stopped, ledger references kept."""

from datetime import date

import pytest
from django.db import connection

from tanhui.ingest.models import Batch, Reduction
from tanhui.methodology.models import FactorVersion, MethodologyVersion, Scenario
from tanhui.people import services
from tanhui.people.models import Citizen, LoginCode
from tests.people.conftest import PHONE_A


@pytest.fixture
def citizen(make_citizen, metro):
    return make_citizen(PHONE_A, "张三", bindings=[(metro, "M1")],
                        consents={"metro": None, "bus": date(2024, 1, 1)})


def make_reduction(citizen, provider) -> Reduction:
    """A credited record pointing at the citizen, as the pipeline would leave it."""
    scenario = Scenario.objects.get(code="metro")
    batch = Batch.objects.create(provider=provider, scenario=scenario, source=Batch.Source.CLI)
    return Reduction.objects.create(
        batch=batch, provider=provider, record_id="R1", citizen=citizen, scenario=scenario,
        local_date=date(2024, 5, 1), quantity="12.5", reduction_mg=1_000_000,
        methodology_version=MethodologyVersion.objects.get(methodology=scenario.methodology),
        factor_version=FactorVersion.objects.get(factor=scenario.factor), input_hash="0" * 64)


def test_closing_anonymises_and_stops_processing(citizen, metro):
    reduction = make_reduction(citizen, metro)
    public_id = citizen.public_id

    services.close_account(citizen)

    closed = Citizen.objects.get(public_id=public_id)
    assert (closed.phone, closed.name, closed.phone_hash) == (None, None, None)
    assert closed.status == Citizen.Status.CLOSED and closed.closed_at is not None
    assert not closed.user.is_active and not closed.user.has_usable_password()
    assert not closed.bindings.filter(unbound_at__isnull=True).exists()
    assert not closed.consents.filter(revoked_at__isnull=True).exists()
    assert Reduction.objects.get(pk=reduction.pk).citizen == closed
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, name, phone_hash FROM people_citizen WHERE public_id = %s", [public_id])
        assert cursor.fetchone() == (None, None, None)


def test_a_closed_account_cannot_log_in(browser, citizen, sms_outbox):
    services.request_login_code(PHONE_A)
    services.close_account(citizen)

    client = browser()
    assert not client.login(username=PHONE_A, password="demo-pass-123")
    assert services.verify_login_code(PHONE_A, sms_outbox.last_code()) is None
    assert not LoginCode.objects.exists()


def test_a_signed_in_session_ends_with_the_account(browser, citizen):
    client = browser(citizen.user)

    assert client.api("post", "/me/close").status_code == 200

    assert client.api("get", "/me").status_code == 401


def test_the_phone_can_register_again_as_a_new_citizen(citizen):
    services.close_account(citizen)

    again = services.register_citizen(PHONE_A, "张三")

    assert again.public_id != citizen.public_id
    assert services.find_citizen_by_phone(PHONE_A) == again
