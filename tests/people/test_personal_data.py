"""No phone number or name in plain text in the database or the logs."""

import csv
import logging
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tanhui.people.models import Citizen

PEOPLE = [("13800138000", "张三丰"), ("13912345678", "欧阳娜娜"), ("15000001111", "Alice Wang")]


@pytest.fixture
def imported(tmp_path, metro):
    path = tmp_path / "citizens.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["phone", "name", "district", "community", "bindings", "consents"])
        for i, (phone, name) in enumerate(PEOPLE):
            writer.writerow([phone, name, "南山区", "粤海街道", f"metro_op:M{i}", "metro"])
    call_command("citizens", "import", str(path), "--json")
    assert Citizen.objects.count() == len(PEOPLE)


def assert_no_personal_data(data: bytes):
    for public_id in Citizen.objects.values_list("public_id", flat=True):
        assert public_id.encode() in data  # the citizens' rows are in these bytes
    for phone, name in PEOPLE:
        assert phone.encode() not in data
        assert name.encode() not in data


@pytest.mark.django_db(transaction=True)
def test_the_sqlite_file_holds_no_phone_or_name(imported, on_postgres):
    if on_postgres:
        pytest.skip("reads the SQLite file")
    database = Path(connection.settings_dict["NAME"])
    files = [p for p in (database, Path(f"{database}-wal")) if p.exists()]
    data = b"".join(p.read_bytes() for p in files)

    assert_no_personal_data(data)


@pytest.mark.postgres_only
def test_postgres_rows_hold_no_phone_or_name(imported):
    with connection.cursor() as cursor:
        text = []
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT CAST(t AS text) FROM "{table}" t')  # noqa: S608 (names from the catalogue)
            text.extend(row[0] for row in cursor.fetchall())
    data = "\n".join(text).encode()

    assert_no_personal_data(data)


def test_sms_login_logs_no_phone(browser, make_citizen, caplog):
    make_citizen("13800138000")
    client = browser()

    with caplog.at_level(logging.DEBUG):
        client.submit("/login/sms/", {"phone": "13800138000"})
        client.submit("/login/sms/", {"phone": "13800138000", "code": "000000"})
        client.submit("/login/sms/", {"phone": "13912345678"})

    assert "138****8000" in caplog.text  # the console sender did log the message
    assert "13800138000" not in caplog.text and "13912345678" not in caplog.text
