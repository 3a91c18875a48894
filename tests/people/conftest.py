import json

import pytest
from django.test import Client

from tests.people import outbox

PHONE_A = "13800138000"
PHONE_B = "13900139000"


class BrowserClient(Client):
    """A test client that checks CSRF like a real browser session: it gets the token from a page
    and sends it back with unsafe requests, as the site's own forms and scripts do."""

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    @property
    def csrf_token(self) -> str:
        if "csrftoken" not in self.cookies:
            self.get("/login/")
        return self.cookies["csrftoken"].value

    def api(self, method: str, path: str, payload=None, csrf: bool = True):
        kwargs = {"headers": {"X-CSRFToken": self.csrf_token}} if csrf else {}
        if payload is not None:
            kwargs.update(data=json.dumps(payload), content_type="application/json")
        return getattr(self, method)(f"/api/v1{path}", **kwargs)

    def submit(self, path: str, data: dict):
        return self.post(path, {**data, "csrfmiddlewaretoken": self.csrf_token})


@pytest.fixture
def browser():
    def make(user=None) -> BrowserClient:
        client = BrowserClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def sms_outbox(settings):
    settings.TANHUI_SMS_BACKEND = "tests.people.outbox.OutboxSender"
    outbox.sent.clear()
    return outbox


@pytest.fixture
def metro(make_provider):
    return make_provider("metro_op", scenarios=("metro",))


@pytest.fixture
def bike(make_provider):
    return make_provider("bike_op", scenarios=("bike",))


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("bureau", password="staff-pass-123", role="admin",
                                                 is_staff=True)
