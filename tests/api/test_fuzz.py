"""The whole API fuzzed from its own OpenAPI schema (schemathesis): for every operation, generated
requests sent as the roles that may call it must never get a 5xx and must get only the statuses,
content types and bodies the schema declares. Bounded (12 requests an operation) and derandomized,
so a run is repeatable; it takes about two minutes, so it runs with --run-slow."""

from collections import defaultdict

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from ninja import Schema
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tanhui.api import api
from tests.api.world import client_for

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = WSGIHandler()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CSRF_TOKEN = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"  # the cookie's secret, echoed in the header
SESSION_ROLES = ("cit", "pstf", "mer", "adm", "dep", "own", "ver", "ent")


@pytest.fixture
def wsgi_requests_keep_the_test_transaction():
    """Django closes the connection at the end of each request it serves, which would end the test's
    transaction; its test client switches that off in the same way."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def credentials(world, db, settings):
    """Per role: the headers and cookies to send (a session with its CSRF token, or an API key)."""
    settings.TANHUI_RATE_LIMITS = dict.fromkeys(settings.TANHUI_RATE_LIMITS)  # limits have their own tests
    sent = {"anon": ({}, {})}
    for role in SESSION_ROLES:
        session = client_for(world, role).cookies[django_settings.SESSION_COOKIE_NAME].value
        sent[role] = ({"X-CSRFToken": CSRF_TOKEN}, {django_settings.SESSION_COOKIE_NAME: session,
                                                     django_settings.CSRF_COOKIE_NAME: CSRF_TOKEN})
    sent["key"] = ({"Authorization": f"Bearer {world.keys['key']}"}, {})
    return sent


def test_no_two_schemas_share_a_name():
    """The OpenAPI components are named by class: a second `BatchOut` elsewhere would silently replace
    the first in the schema, and the routes using it would be documented with the wrong body."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    modules = defaultdict(set)
    for cls in subclasses(Schema):
        if cls.__module__.startswith("tanhui.") and cls.__name__ != "Ok":
            modules[cls.__name__].add(cls.__module__)
    assert {name: found for name, found in modules.items() if len(found) > 1} == {}


def roles_for(operation_security) -> list[str]:
    if not operation_security:
        return ["anon"]
    if "ProviderKey" in {name for requirement in operation_security for name in requirement}:
        return ["anon", "key"]
    return ["anon", *SESSION_ROLES]


@pytest.mark.slow
@schema.parametrize()
@schema.given(pick=st.integers(min_value=0, max_value=len(SESSION_ROLES)))
@hypothesis_settings(max_examples=12, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, pick, credentials, wsgi_requests_keep_the_test_transaction):
    """Each generated request goes out as one of the roles that may call the operation (or anonymous)."""
    roles = roles_for(case.operation.definition.raw.get("security"))
    headers, cookies = credentials[roles[pick % len(roles)]]
    with transaction.atomic():
        case.call_and_validate(headers=headers, cookies=cookies, checks=CHECKS)
        transaction.set_rollback(True)


def test_numbers_too_large_for_the_database_are_invalid_requests(db, django_user_model):
    """Found by the fuzz: a twenty-digit id in a list went to the database and came back as a server error."""
    client = Client()
    client.force_login(django_user_model.objects.create_user("fuzz-admin", role="admin"))

    response = client.post("/api/v1/registry/requests", content_type="application/json", data={
        "scenarios": ["metro"], "methodology_versions": [123456789012345678901234],
        "period_start": "2026-05-01", "period_end": "2026-05-31"})

    # SQLite's driver refuses the number (OverflowError: invalid request); PostgreSQL's lookup drops it,
    # leaving a methodology version that does not exist.
    assert (response.status_code, response.json()["code"]) in {(422, "invalid_request"), (400, "unknown_reference")}
