"""The ingest pipeline end to end: file → checks → reductions → ledger, across batches."""

from datetime import date

import pytest

from tanhui.core.errors import DomainError
from tanhui.ingest.models import Batch, Reduction, RejectedRecord
from tanhui.ledger.services import citizen_summary

CONTRACT_KEYS = ["batch_id", "scenario", "records", "accepted", "duplicates", "rejected", "capped",
                 "rejected_by_reason", "reduction_mg", "points", "accounts_credited"]


def trip(record_id, user="M1", start="2026-05-03 08:00:00", end="2026-05-03 08:30:00", km="10"):
    return (record_id, user, start, end, km)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_each_file_format_gives_the_same_summary(metro_city, ingest, suffix):
    summary = ingest([trip("r1"), trip("r2", km="0.00125"), trip("r3", user="nobody")], suffix=suffix)
    assert list(summary) == CONTRACT_KEYS
    assert summary["records"] == 3
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (2, 0, 1)
    # 10 km × 46.8 g = 468 g; 0.00125 km × 46.8 g = 58.5 mg → 59 mg (half up)
    assert summary["reduction_mg"] == 468_000 + 59
    assert summary["points"] == 468
    assert summary["accounts_credited"] == 1
    assert summary["rejected_by_reason"] == {"unknown_user": 1}


def test_reduction_rows_keep_their_provenance(metro_city, ingest):
    summary = ingest([trip("r1", km="12.5")])
    row = Reduction.objects.get(record_id="r1")
    assert row.batch_id == summary["batch_id"]
    assert row.reduction_mg == 585_000
    assert row.quantity == "12.5"
    assert row.local_date == date(2026, 5, 3)
    assert row.methodology_version.methodology.code == "transit"
    assert row.factor_version.factor.code == "metro_pkm_reduction"
    assert len(row.input_hash) == 64


def test_duplicates_in_file_and_across_batches_are_never_credited_twice(metro_city, ingest):
    first = ingest([trip("r1"), trip("r1"), trip("r2")])
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    again = ingest([trip("r1"), trip("r2"), trip("r3")])
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (1, 2, 0)
    assert again["records"] == again["accepted"] + again["duplicates"] + again["rejected"]
    _, a, _ = metro_city
    assert citizen_summary(a.pk)["reduction_mg"] == 3 * 468_000


def test_a_record_id_is_unique_per_provider_across_scenarios(metro_city, ingest):
    ingest([trip("r1")], scenario="metro")
    bus = ingest([trip("r1")], scenario="bus")
    assert bus["duplicates"] == 1


def test_a_rejected_record_sent_again_is_judged_afresh(metro_city, ingest):
    first = ingest([trip("r1", user="M2", start="2026-05-01 08:00:00", end="2026-05-01 08:30:00")])
    assert first["rejected_by_reason"] == {"no_consent": 1}
    # B's consent takes effect on 2026-05-02; the corrected record is accepted, not a duplicate.
    fixed = ingest([trip("r1", user="M2", start="2026-05-02 08:00:00", end="2026-05-02 08:30:00")])
    assert (fixed["accepted"], fixed["duplicates"]) == (1, 0)


def test_consent_is_judged_on_the_local_date_of_the_trip(metro_city, ingest):
    # 2026-05-01T16:30Z is 2026-05-02 00:30 in Shanghai: B has consented from that local date.
    summary = ingest([trip("r1", user="M2", start="2026-05-01T16:30:00Z", end="2026-05-01T17:00:00Z")])
    assert summary["accepted"] == 1


def test_revoked_consent_and_unbinding_stop_processing(metro_city, ingest):
    from tanhui.methodology.models import Scenario
    from tanhui.people.services import revoke_consent, unbind

    metro, a, b = metro_city
    revoke_consent(a, Scenario.objects.get(code="metro"))
    assert ingest([trip("r1")])["rejected_by_reason"] == {"no_consent": 1}
    unbind(b.bindings.get())
    assert ingest([trip("r2", user="M2")])["rejected_by_reason"] == {"unknown_user": 1}


def test_daily_cap_counts_trips_credited_in_earlier_batches(metro_city, ingest):
    first = ingest([trip(f"a{i}", start=f"2026-05-03 0{i}:00:00", end=f"2026-05-03 0{i}:20:00") for i in range(5)])
    assert (first["accepted"], first["capped"]) == (5, 0)
    # Three more that day: one is credited (the earliest), two are capped with zero reduction.
    second = ingest([trip("b2", start="2026-05-03 20:00:00", end="2026-05-03 20:20:00"),
                     trip("b1", start="2026-05-03 19:00:00", end="2026-05-03 19:20:00"),
                     trip("b3", start="2026-05-03 21:00:00", end="2026-05-03 21:20:00")])
    assert (second["accepted"], second["capped"], second["reduction_mg"]) == (3, 2, 468_000)
    assert Reduction.objects.get(record_id="b1").capped is False
    assert set(Reduction.objects.filter(capped=True).values_list("record_id", flat=True)) == {"b2", "b3"}


def test_each_reason_code_is_reported(metro_city, ingest):
    summary = ingest([
        ("", "M1", "2026-05-03 08:00:00", "2026-05-03 08:30:00", "1"),  # malformed: no record id
        trip("r2", user="ghost"),
        trip("r3", user="M2", start="2026-05-01 08:00:00", end="2026-05-01 08:30:00"),
        trip("r4", start="2026-05-03 08:30:00", end="2026-05-03 08:00:00"),
        trip("r5", km="81"),
        trip("r6", end="2026-05-03 08:05:00", km="10"),  # 120 km/h
        trip("r7", start="2026-07-01 08:00:00", end="2026-07-01 08:30:00"),  # after `now`
    ])
    assert summary["rejected_by_reason"] == {"malformed": 1, "unknown_user": 1, "no_consent": 1,
                                             "invalid_time": 2, "implausible_distance": 1,
                                             "implausible_speed": 1}
    assert summary["accepted"] == 0


def test_household_power_baseline_window_and_vacancy_across_batches(make_provider, make_citizen, ingest):
    grid = make_provider("power_grid", ["household_power"])
    make_citizen("13800138000", bindings=[(grid, "SG1")], consents={"household_power": None})
    # May baseline is 9.0 kWh/day: 7 days at 10 kWh earn nothing against the baseline or a window.
    week = ingest([(f"d{d}", "SG1", f"2026-05-{d:02d}", "10") for d in range(1, 8)],
                  scenario="household_power", provider="power_grid")
    assert (week["accepted"], week["reduction_mg"]) == (7, 0)
    # 9.5 kWh on 05-08 is above the baseline but 0.5 below the mean of the 7 preceding days (10).
    # 0.5 on 05-09 is a vacant home (accepted, zero); 250 is implausible; 05-08 again is duplicate_period.
    later = ingest([("e1", "SG1", "2026-05-08", "9.5"), ("e2", "SG1", "2026-05-09", "0.5"),
                    ("e3", "SG1", "2026-05-10", "250"), ("e4", "SG1", "2026-05-08", "3")],
                   scenario="household_power", provider="power_grid")
    assert later["rejected_by_reason"] == {"implausible_reading": 1, "duplicate_period": 1}
    assert later["reduction_mg"] == 265_300  # 0.5 kWh × 530.6 g
    assert Batch.objects.get(pk=later["batch_id"]).vacant == 1


def test_rejects_keep_the_raw_record_except_for_unknown_users(metro_city, ingest):
    summary = ingest([trip("r1", user="ghost"), trip("r2", km="999")])
    rejects = {r.record_id: r for r in RejectedRecord.objects.filter(batch_id=summary["batch_id"])}
    assert rejects["r1"].reason == "unknown_user" and rejects["r1"].raw is None
    assert rejects["r2"].raw["distance_km"] == "999"


def test_a_provider_may_only_send_its_registered_scenarios(metro_city, ingest):
    with pytest.raises(DomainError) as err:
        ingest([trip("r1")], scenario="bike")
    assert err.value.code == "scenario_not_allowed"


def test_a_failed_batch_credits_nothing(metro_city, ingest, monkeypatch):
    from tanhui.ingest import pipeline

    def explode(*args, **kwargs):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(pipeline.ledger, "post_transactions", explode)
    with pytest.raises(RuntimeError):
        ingest([trip("r1"), trip("r2")])
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.FAILED and "ledger unavailable" in batch.error
    assert not Reduction.objects.exists() and not RejectedRecord.objects.exists()
    monkeypatch.undo()
    assert ingest([trip("r1"), trip("r2")])["accepted"] == 2


def test_account_show_contract(metro_city, ingest):
    import json
    from io import StringIO

    from django.core.management import call_command

    ingest([trip("r1")])
    ingest([trip("b1", start="2026-05-04 08:00:00", end="2026-05-04 08:30:00")], scenario="bus")
    out = StringIO()
    call_command("account", "show", "13800138000", "--json", stdout=out)
    shown = json.loads(out.getvalue())
    _, a, _ = metro_city
    assert shown == {"citizen_id": a.public_id, "points": 468 + 269, "reduction_mg": 737_000,
                     "by_scenario": {"metro": {"reduction_mg": 468_000, "points": 468},
                                     "bus": {"reduction_mg": 269_000, "points": 269}}}


@pytest.mark.spark
def test_the_spark_engine_credits_the_same(metro_city, ingest):
    rows = [trip("r1"), trip("r2", km="0.00125"), trip("r3", user="nobody"), trip("r1")]
    spark = ingest(rows, engine="spark")
    assert (spark["accepted"], spark["duplicates"], spark["rejected"], spark["reduction_mg"]) == (2, 1, 1, 468_059)


def test_an_impossible_date_is_malformed_not_a_crash(make_provider, make_citizen, ingest):
    grid = make_provider("power_grid", ["household_power"])
    make_citizen("13800138000", bindings=[(grid, "SG1")], consents={"household_power": None})
    summary = ingest([("x1", "SG1", "2026-13-04", "5"), ("x2", "SG1", "2026-05-04", "5")],
                     scenario="household_power", provider="power_grid")
    assert summary["rejected_by_reason"] == {"malformed": 1} and summary["accepted"] == 1
