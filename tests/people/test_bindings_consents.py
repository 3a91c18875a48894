"""Bindings to provider accounts and scenario consents (场景授权), through the service functions."""

from datetime import date

import pytest
from django.db.models.query import QuerySet

from tanhui.core.errors import Conflict, DomainError
from tanhui.methodology.models import Scenario
from tanhui.people import services
from tanhui.people.models import Binding, Consent


@pytest.fixture
def metro_scenario(reference_data):
    return Scenario.objects.get(code="metro")


def test_grant_with_an_effective_date(make_citizen, metro_scenario):
    citizen = make_citizen("13800138000")

    consent = services.grant_consent(citizen, metro_scenario, date(2024, 3, 1))

    assert consent.effective_from == date(2024, 3, 1)
    assert consent.revoked_at is None


def test_granting_the_same_date_again_changes_nothing(make_citizen, metro_scenario):
    citizen = make_citizen("13800138000")
    first = services.grant_consent(citizen, metro_scenario, None)

    assert services.grant_consent(citizen, metro_scenario, None) == first
    assert Consent.objects.count() == 1


def test_regrant_with_a_new_date_revokes_the_old_consent(make_citizen, metro_scenario):
    citizen = make_citizen("13800138000")
    old = services.grant_consent(citizen, metro_scenario, date(2024, 3, 1))

    new = services.grant_consent(citizen, metro_scenario, date(2024, 6, 1))

    old.refresh_from_db()
    assert old.revoked_at is not None
    assert new.effective_from == date(2024, 6, 1) and new.revoked_at is None
    assert citizen.consents.filter(revoked_at__isnull=True).get() == new


def test_revoke_sets_revoked_at_and_a_later_grant_starts_afresh(make_citizen, metro_scenario):
    citizen = make_citizen("13800138000", consents={"metro": None})

    services.revoke_consent(citizen, metro_scenario)

    revoked = citizen.consents.get()
    assert revoked.revoked_at is not None
    again = services.grant_consent(citizen, metro_scenario, date(2025, 1, 1))
    assert again.pk != revoked.pk and again.revoked_at is None


def test_revoke_touches_only_that_citizens_consent(make_citizen, metro_scenario):
    a = make_citizen("13800138000", consents={"metro": None})
    b = make_citizen("13900139000", consents={"metro": None})

    services.revoke_consent(a, metro_scenario)

    assert b.consents.get().revoked_at is None


def test_unbind_keeps_the_history_and_frees_the_account(make_citizen, metro):
    a = make_citizen("13800138000", bindings=[(metro, "M1")])
    b = make_citizen("13900139000")

    services.unbind(a.bindings.get())

    assert a.bindings.get().unbound_at is not None
    rebound = services.bind(b, metro, "M1")
    assert rebound.citizen == b
    assert Binding.objects.filter(provider=metro, external_user_id="M1").count() == 2


def test_binding_an_account_bound_to_another_citizen_is_refused(make_citizen, metro):
    make_citizen("13800138000", bindings=[(metro, "M1")])
    b = make_citizen("13900139000")

    with pytest.raises(Conflict) as exc:
        services.bind(b, metro, "M1")
    assert exc.value.code == "binding_taken"


def test_binding_ones_own_account_again_is_harmless(make_citizen, metro):
    a = make_citizen("13800138000", bindings=[(metro, "M1")])

    assert services.bind(a, metro, "M1") == a.bindings.get()


def test_an_empty_external_user_id_is_refused(make_citizen, metro):
    with pytest.raises(DomainError) as exc:
        services.bind(make_citizen("13800138000"), metro, "")
    assert exc.value.code == "malformed"


def test_losing_a_binding_race_is_binding_taken(make_citizen, metro, monkeypatch):
    """Two citizens bind one account at once: both pass the look-up, the database refuses the second."""
    make_citizen("13800138000", bindings=[(metro, "M1")])
    b = make_citizen("13900139000")
    real_first = QuerySet.first
    monkeypatch.setattr(QuerySet, "first", lambda qs: None if qs.model is Binding else real_first(qs))

    with pytest.raises(Conflict) as exc:
        services.bind(b, metro, "M1")

    assert exc.value.code == "binding_taken"
    assert b.bindings.count() == 0  # and the surrounding transaction is still usable


def test_a_closed_account_cannot_bind_or_consent(make_citizen, metro, metro_scenario):
    citizen = make_citizen("13800138000")
    services.close_account(citizen)

    for action in (lambda: services.bind(citizen, metro, "M9"),
                   lambda: services.grant_consent(citizen, metro_scenario)):
        with pytest.raises(DomainError) as exc:
            action()
        assert exc.value.code == "account_closed"
