"""CSRF: every state-changing API operation refuses a cookie-authenticated call without the token
(and an API key call needs no cookie at all), and no page is exempt from Django's CSRF check."""

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tanhui.api import api
from tests.people.conftest import PHONE_A

UNSAFE = {"post", "put", "patch", "delete"}


def unsafe_operations():
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in UNSAFE:
                yield path, method, operation


def filled(path: str) -> str:
    """Path parameters filled in: the CSRF check comes before any look-up."""
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize(("path", "method", "operation"), list(unsafe_operations()),
                         ids=lambda value: value if isinstance(value, str) else "")
def test_a_cookie_session_without_the_token_is_refused(browser, make_citizen, path, method, operation):
    """Signed in as a citizen (a session cookie), without the CSRF token: refused before anything runs.
    Operations that only accept an API key answer 401 (a cookie never authenticates them)."""
    citizen = make_citizen(PHONE_A)
    client = browser(citizen.user)

    body = json.dumps({"phone": PHONE_A, "code": "000000"})  # a valid body for the login endpoints
    response = getattr(client, method)(filled(path), data=body, content_type="application/json")

    key_only = operation.get("security") == [{"ProviderKey": []}]
    assert response.status_code == (401 if key_only else 403), (path, response.content[:200])
    if not key_only:
        assert response.json()["code"] == "csrf_failed"


def views(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from views(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_no_page_is_exempt_from_csrf():
    exempt = sorted(path for path, view in views() if getattr(view, "csrf_exempt", False)
                    and not path.startswith("api/v1/"))

    assert exempt == []


@pytest.mark.parametrize("path", ["/login/", "/login/sms/", "/me/close/", "/me/export/", "/me/consents/metro/revoke/"])
def test_page_forms_refuse_a_post_without_the_token(browser, make_citizen, path):
    client = browser(make_citizen(PHONE_A).user)

    assert client.post(path, {"phone": PHONE_A, "confirm": "on"}).status_code == 403
