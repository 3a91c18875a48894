"""No phone number or name in the logs: a realistic run — a synthetic city imported and ingested,
citizens signing in by password and SMS code (through the console sender), failed logins and locks,
API calls, a support look-up, exports, a closure — with every logger at DEBUG and SQL logged too,
then every citizen's phone and name is looked for in what was logged and printed."""

import csv
import io
import json
import logging

import pytest
from django.core.management import call_command
from django.db import connection

from tanhui.ingest.pipeline import ingest_file
from tanhui.ingest.services import add_provider
from tanhui.people.services import find_citizen_by_phone
from tanhui.synth.city import generate_city


@pytest.fixture
def everything_logged(settings):
    """A handler on the root logger, every logger at DEBUG and propagating, SQL statements logged."""
    settings.TANHUI_SMS_BACKEND = "tanhui.people.sms.ConsoleSender"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.propagate, logger.disabled = True, False
    root.addHandler(handler)
    connection.force_debug_cursor = True
    yield stream
    connection.force_debug_cursor = False
    root.removeHandler(handler)
    for logger, level, propagate, disabled in saved:
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


def test_no_phone_number_or_name_is_ever_logged(everything_logged, reference_data, tmp_path, browser, capsys,
                                                  django_user_model, settings):
    settings.TANHUI_LOGIN_LOCKOUT = {"failures": 2, "window": 600, "lock": 600}
    city = tmp_path / "city"
    manifest = generate_city(city, citizens=40, days=2, bad_share=0.1)
    for spec in json.loads((city / "providers.json").read_text()):
        add_provider(spec["code"], spec["name"], spec["scenarios"])
    call_command("citizens", "import", str(city / "citizens.csv"), "--json")
    for entry in sorted(manifest["behaviour"], key=lambda e: (e["date"], e["scenario"])):
        ingest_file(city / entry["csv"], entry["scenario"], entry["provider"])
    with (city / "citizens.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    phones = [row["phone"] for row in rows if len(row["phone"]) >= 11]
    names = [row["name"] for row in rows if len(row["name"]) >= 2]
    registered = [phone for phone in phones if find_citizen_by_phone(phone)]
    admin = django_user_model.objects.create_user("bureau", password="staff-pass-123", role="admin",
                                                  is_staff=True, is_superuser=True)

    for phone in registered[:3]:
        citizen = find_citizen_by_phone(phone)
        citizen.user.set_password("demo-pass-123")
        citizen.user.save()
        client = browser()
        for _ in range(3):  # wrong passwords, then the lock
            client.submit("/login/", {"username": phone, "password": "wrong-pass"})
        client.submit("/login/sms/", {"phone": phone})
        client.submit("/login/sms/", {"phone": phone, "code": "000000"})
        client.api("post", "/auth/sms-code", {"phone": phone})
        client.api("post", "/auth/sms-login", {"phone": phone, "code": "000000"})
        client = browser(citizen.user)
        for path in ("/api/v1/me", "/api/v1/me/bindings", "/api/v1/me/export", "/me/", "/me/statement/"):
            client.get(path)
        client.submit("/me/export/", {})
    staff = browser(admin)
    for phone in [*registered[:2], "13700137000", "12345"]:
        staff.submit("/manage/lookup/", {"phone": phone})
        staff.get("/admin/people/citizen/", {"q": phone})
    closing = find_citizen_by_phone(registered[3])
    browser(closing.user).submit("/me/close/", {"confirm": "on"})
    call_command("citizens", "import", str(city / "citizens.csv"))  # rejected rows are reported

    printed = capsys.readouterr()
    logged = everything_logged.getvalue()
    assert "SMS to" in logged and "SELECT" in logged  # the sender and the SQL were captured
    text = logged + printed.out + printed.err
    assert len(registered) >= 20
    leaked = [text[max(0, text.index(value) - 300):text.index(value) + 50]
              for value in [*phones, *names] if value in text]
    assert leaked == []
