"""`tanhui providers add/rotate-key --json` and `tanhui init --json`."""

import hashlib
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tanhui.ingest.models import Provider
from tanhui.ingest.services import api_key_for


@pytest.fixture
def run_json(capsys):
    """Runs a command with --json and returns the one JSON object it printed on stdout."""

    def run(*args) -> dict:
        capsys.readouterr()
        call_command(*args, "--json")
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1, lines
        return json.loads(lines[0])

    return run


def provider_row_text(code: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM ingest_provider WHERE code = %s", [code])
        return " ".join(map(str, cursor.fetchone()))


def test_providers_add_prints_the_key_once_and_stores_only_its_hash(run_json, reference_data):
    result = run_json("providers", "add", "metro_op", "--name", "深圳地铁", "--scenarios", "metro,bus")

    assert set(result) == {"code", "api_key"}
    assert result["code"] == "metro_op"
    provider = Provider.objects.get(code="metro_op")
    assert provider.api_keys.get().key_hash == hashlib.sha256(result["api_key"].encode()).hexdigest()
    assert result["api_key"] not in provider_row_text("metro_op")
    assert sorted(provider.scenarios.values_list("code", flat=True)) == ["bus", "metro"]
    assert api_key_for(result["api_key"]).provider == provider


def test_rotating_a_key_invalidates_the_old_one(run_json, reference_data):
    old = run_json("providers", "add", "metro_op", "--name", "深圳地铁", "--scenarios", "metro")["api_key"]

    new = run_json("providers", "rotate-key", "metro_op")["api_key"]

    assert new != old
    assert api_key_for(old) is None
    assert api_key_for(new).provider.code == "metro_op"


@pytest.mark.parametrize("args", [
    ("metro_op", "--name", "again", "--scenarios", "metro"),  # the code exists
    ("bus_op", "--name", "公交", "--scenarios", "bus,flying"),
])
def test_providers_add_refuses_bad_input(run_json, make_provider, args):
    make_provider("metro_op")

    with pytest.raises(CommandError):
        call_command("providers", "add", *args, "--json")
    assert Provider.objects.count() == 1


def test_init_is_idempotent(run_json, db):
    first = run_json("init")
    second = run_json("init")

    assert first["created"] > 0
    assert second == {**first, "created": 0}
