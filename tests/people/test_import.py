"""`tanhui citizens import FILE --json`: the contract's output, each reason code, idempotency."""

import csv
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tanhui.people.models import Binding, Citizen, Consent
from tanhui.people.services import find_citizen_by_phone

COLUMNS = ["phone", "name", "district", "community", "bindings", "consents"]


@pytest.fixture
def import_csv(tmp_path, capsys):
    """Writes rows to a CSV file, imports it and returns the one JSON object printed on stdout."""

    def run(rows: list[dict], name="citizens.csv") -> dict:
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        capsys.readouterr()
        call_command("citizens", "import", str(path), "--json")
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1, lines
        return json.loads(lines[0])

    return run


def row(phone, name="王五", bindings="", consents="", district="福田区", community="莲花街道"):
    return {"phone": phone, "name": name, "district": district, "community": community,
            "bindings": bindings, "consents": consents}


def test_import_prints_the_contract_and_creates_citizens(import_csv, metro, bike):
    result = import_csv([
        row("13800138000", "张三", "metro_op:M1;bike_op:B1", "metro;bike@2024-03-01"),
        row("+86 139-0013-9000", "李四", "", "bus"),
    ])

    assert result == {"created": 2, "updated": 0, "rejected": 0, "rejected_by_reason": {}}
    zhang = find_citizen_by_phone("13800138000")
    assert zhang.name == "张三" and zhang.district.name == "福田区" and zhang.community.name == "莲花街道"
    assert {(b.provider.code, b.external_user_id) for b in zhang.bindings.all()} == {("metro_op", "M1"),
                                                                                     ("bike_op", "B1")}
    assert find_citizen_by_phone("13900139000").name == "李四"


def test_consent_dates_are_stored_and_no_date_means_always(import_csv, metro):
    import_csv([row("13800138000", consents="metro@2024-03-01;bus")])

    consents = {c.scenario.code: c.effective_from for c in Consent.objects.filter(revoked_at__isnull=True)}
    assert consents == {"metro": date(2024, 3, 1), "bus": None}


@pytest.mark.parametrize(("bad_row", "reason"), [
    (row("12345"), "invalid_phone"),
    (row("23800138000"), "invalid_phone"),
    (row("138001380001"), "invalid_phone"),
    (row("13700137000", bindings="tram_op:T1"), "unknown_provider"),
    (row("13700137000", consents="metro;flying"), "unknown_scenario"),
    (row("13700137000", bindings="metro_op:M1"), "binding_taken"),
    (row("13700137000", consents="metro@2024-13-01"), "invalid_date"),
    (row("13700137000", consents="metro@20240301"), "invalid_date"),
    (row("13700137000", consents="metro@"), "invalid_date"),
])
def test_a_bad_row_is_rejected_with_its_reason_and_the_import_goes_on(import_csv, metro, make_citizen,
                                                                        bad_row, reason):
    make_citizen("13600136000", bindings=[(metro, "M1")])

    result = import_csv([row("13500135000"), bad_row, row("13400134000")])

    assert result == {"created": 2, "updated": 0, "rejected": 1, "rejected_by_reason": {reason: 1}}
    assert find_citizen_by_phone("13700137000") is None  # a rejected row leaves nothing behind
    assert Citizen.objects.count() == 3


def test_two_rows_of_one_file_claiming_one_provider_account(import_csv, metro):
    result = import_csv([row("13800138000", bindings="metro_op:M1"),
                         row("13900139000", bindings="metro_op:M1")])

    assert result == {"created": 1, "updated": 0, "rejected": 1, "rejected_by_reason": {"binding_taken": 1}}
    assert Binding.objects.get().citizen == find_citizen_by_phone("13800138000")
    assert find_citizen_by_phone("13900139000") is None


def test_reimport_is_idempotent(import_csv, metro, bike):
    rows = [row("13800138000", "张三", "metro_op:M1", "metro@2024-03-01;bus"),
            row("13900139000", "李四", "bike_op:B1", "bike")]
    import_csv(rows)
    public_ids = set(Citizen.objects.values_list("public_id", flat=True))

    result = import_csv(rows)

    assert result == {"created": 0, "updated": 2, "rejected": 0, "rejected_by_reason": {}}
    assert set(Citizen.objects.values_list("public_id", flat=True)) == public_ids
    assert Binding.objects.count() == 2
    assert Consent.objects.count() == 3
    assert not Consent.objects.filter(revoked_at__isnull=False).exists()


def test_reimport_updates_the_profile_and_a_new_consent_date(import_csv, metro):
    import_csv([row("13800138000", "张三", consents="metro@2024-03-01")])

    result = import_csv([row("13800138000", "张三丰", district="南山区", community="",
                             consents="metro@2024-05-01")])

    assert result["updated"] == 1
    citizen = find_citizen_by_phone("13800138000")
    assert (citizen.name, citizen.district.name, citizen.community) == ("张三丰", "南山区", None)
    assert citizen.consents.get(revoked_at__isnull=True).effective_from == date(2024, 5, 1)
    assert citizen.consents.get(revoked_at__isnull=False).effective_from == date(2024, 3, 1)


def test_a_short_row_is_imported_with_blanks(tmp_path, capsys, reference_data):
    path = tmp_path / "short.csv"
    path.write_text(",".join(COLUMNS) + "\n13800138000\n", encoding="utf-8")

    call_command("citizens", "import", str(path), "--json")

    assert json.loads(capsys.readouterr().out)["created"] == 1


def test_missing_columns_fail_the_command(tmp_path, reference_data):
    path = tmp_path / "wrong.csv"
    path.write_text("phone,name\n13800138000,张三\n", encoding="utf-8")

    with pytest.raises(CommandError, match="missing CSV columns"):
        call_command("citizens", "import", str(path), "--json")
    assert not Citizen.objects.exists()


def test_rejected_rows_are_reported_on_stderr_without_personal_data(tmp_path, capsys, reference_data):
    path = tmp_path / "bad.csv"
    path.write_text(",".join(COLUMNS) + "\n1380013800,欧阳娜娜,,,,\n", encoding="utf-8")

    call_command("citizens", "import", str(path), "--json")

    err = capsys.readouterr().err
    assert "line 2: invalid_phone" in err
    assert "1380013800" not in err and "欧阳" not in err
