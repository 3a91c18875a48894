"""The synthetic city: determinism, the import/ingest contracts, and defects counted afresh.

The checks re-derive every defect and expected outcome from the files with their own small
validator (methodology v1 order of checks), independent of the generator's code.
"""

import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tanhui.synth.city import generate_city, summary

ARGS = {"seed": 7, "citizens": 300, "days": 4, "end_date": date(2026, 6, 7), "bad_share": 0.05}
TRANSIT_HEADER = ["record_id", "external_user_id", "started_at", "ended_at", "distance_km"]
POWER_HEADER = ["record_id", "external_user_id", "date", "kwh"]
LIMITS = {"metro": (80, 100, 6), "bus": (50, 60, 6), "bike": (30, 30, 4)}  # max km, max km/h, daily cap
SHANGHAI = timezone(timedelta(hours=8))
PHONE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    calls = []
    manifest = generate_city(out, **ARGS, progress=lambda done, total: calls.append((done, total)))
    return out, manifest, calls


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def digests(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_the_same_bytes_and_another_seed_differs(city, tmp_path):
    out, manifest, _ = city
    again = generate_city(tmp_path / "again", **ARGS)
    assert digests(tmp_path / "again") == digests(out)
    assert again == manifest
    other = generate_city(tmp_path / "other", **{**ARGS, "seed": 8})
    assert other["files"] == manifest["files"]
    changed = digests(tmp_path / "other")
    assert all(changed[name] != digest for name, digest in digests(out).items() if name != "providers.json")


def test_files_and_progress(city):
    out, manifest, calls = city
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(
        [*manifest["files"], "manifest.json"]
    )
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    days = [f"2026-06-0{d}" for d in range(4, 8)]
    assert [e["date"] for e in manifest["behaviour"] if e["scenario"] == "metro"] == days
    assert summary(manifest)["totals"] == manifest["totals"]


def test_regenerating_replaces_the_city_but_a_foreign_folder_is_refused(tmp_path):
    generate_city(tmp_path / "c", citizens=20, days=3)
    generate_city(tmp_path / "c", citizens=20, days=1)
    assert len(list((tmp_path / "c" / "metro").iterdir())) == 2  # csv + parquet of the one day
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError):
        generate_city(tmp_path / "mine", citizens=20, days=1)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_headers_and_parquet_twins(city):
    out, manifest, _ = city
    assert read_csv(out / "citizens.csv")[0] == [
        "phone",
        "name",
        "district",
        "community",
        "bindings",
        "consents",
    ]
    assert read_csv(out / "merchants.csv")[0] == [
        "name",
        "licence_number",
        "category",
        "district",
        "contact_phone",
    ]
    for entry in manifest["behaviour"]:
        rows = read_csv(out / entry["csv"])
        header = POWER_HEADER if entry["scenario"] == "household_power" else TRANSIT_HEADER
        assert rows[0] == header
        assert len(rows) - 1 == entry["rows"] == entry["expected"]["records"]
        table = pq.read_table(out / entry["parquet"])
        assert table.schema == pa.schema([(name, pa.string()) for name in header])
        assert [[v or "" for v in row.values()] for row in table.to_pylist()] == rows[1:]


def validate_citizens(out, providers):
    """(kind of defect or None, row) per data row, re-deriving the importer's checks."""
    scenarios = {s for p in providers.values() for s in p}
    taken = set()
    judged = []
    for row in read_csv(out / "citizens.csv")[1:]:
        phone, name, district, community, bindings, consents = row
        pairs = [b.split(":", 1) for b in bindings.split(";") if b]
        grants = [c.partition("@") for c in consents.split(";") if c]
        kind = None
        if not PHONE.fullmatch(phone):
            kind = "invalid_phone"
        elif any(code not in providers for code, _ in pairs):
            kind = "unknown_provider"
        elif any(code not in scenarios for code, _, _ in grants):
            kind = "unknown_scenario"
        elif any(at and not valid_date(since) for _, at, since in grants):
            kind = "invalid_date"
        elif any(tuple(pair) in taken for pair in pairs):
            kind = "binding_taken"
        else:
            taken.update(tuple(pair) for pair in pairs)
        judged.append((kind, row))
    return judged


def valid_date(text):
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None


def load_providers(out):
    return {
        p["code"]: p["scenarios"] for p in json.loads((out / "providers.json").read_text(encoding="utf-8"))
    }


def test_providers(city):
    out, _, _ = city
    providers = load_providers(out)
    assert providers == {
        "metro_op": ["metro"],
        "bus_op": ["bus"],
        "bike_op": ["bike"],
        "power_grid": ["household_power"],
    }
    assert all(
        re.search(r"[\u4e00-\u9fff]", p["name"]) for p in json.loads((out / "providers.json").read_text())
    )


def test_citizens_follow_the_import_contract(city):
    out, manifest, _ = city
    judged = validate_citizens(out, load_providers(out))
    good = [row for kind, row in judged if kind is None]
    assert len(good) == ARGS["citizens"] == manifest["citizens"]["valid"]
    phones = [row[0] for row in good]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", row[1]) for row in good)
    districts = defaultdict(set)
    for row in good:
        districts[row[2]].add(row[3])
    assert 6 <= len(districts) <= 8 and all(len(c) >= 3 for c in districts.values())
    start, end = date.fromisoformat(manifest["start_date"]), date.fromisoformat(manifest["end_date"])
    dated = [date.fromisoformat(c.split("@")[1]) for row in good for c in row[5].split(";") if "@" in c]
    assert any(d < start for d in dated) and any(start < d <= end for d in dated)
    scenario_of = {code: scenarios[0] for code, scenarios in load_providers(out).items()}
    assert any(
        {scenario_of[b.split(":")[0]] for b in row[4].split(";") if b}
        - {c.split("@")[0] for c in row[5].split(";")}
        for row in good
    ), "some citizens bind a provider without authorising its scenario"
    assert any(not row[4] for row in good) and any(row[4].count(";") == 3 for row in good)
    ids = {"metro_op": r"M\d{8}", "bus_op": r"3104\d{12}", "bike_op": r"U\d{10}", "power_grid": r"SG\d{10}"}
    assert all(
        re.fullmatch(ids[code], ext)
        for row in good
        for code, ext in (b.split(":") for b in row[4].split(";") if b)
    )


def test_bad_citizen_rows_are_counted_and_located(city):
    out, manifest, _ = city
    found = defaultdict(list)
    for line, (kind, _) in enumerate(validate_citizens(out, load_providers(out)), start=2):
        if kind:
            found[kind].append(line)
    assert {k: len(v) for k, v in found.items()} == {
        k: n for k, n in manifest["citizens"]["defects"].items() if n
    }
    assert dict(found) == {k: v for k, v in manifest["citizens"]["defect_lines"].items() if v}
    assert sum(manifest["citizens"]["defects"].values()) == round(ARGS["citizens"] * ARGS["bad_share"])


def test_merchants(city):
    out, manifest, _ = city
    rows = read_csv(out / "merchants.csv")[1:]
    assert len(rows) == manifest["merchants"]["count"] == 36
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    for name, licence, category, _district, phone in rows:
        assert len(licence) == 18
        check = 31 - sum(alphabet.index(c) * w for c, w in zip(licence, weights, strict=False)) % 31
        assert alphabet[check % 31] == licence[-1]
        assert category in "衣食住行用" and PHONE.fullmatch(phone) and name
    assert len({row[0] for row in rows}) == len({row[1] for row in rows}) == len(rows)


def parse_time(text):
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def parse_number(text):
    try:
        return float(text)
    except ValueError:
        return None


class Judge:
    """A tiny ingester for the synthetic files, given in date order: names the defect each
    record carries (from its content alone) and the outcome methodology v1 gives it."""

    def __init__(self, citizens):
        self.owner = {}  # (provider, external id) -> {scenario: "" (always) or effective date}
        for _, row in (j for j in citizens if j[0] is None):
            grants = dict(c.partition("@")[::2] for c in row[5].split(";") if c)
            for binding in filter(None, row[4].split(";")):
                self.owner[tuple(binding.split(":", 1))] = grants
        self.seen_ids = defaultdict(set)  # provider -> record ids of earlier files
        self.accepted = defaultdict(set)  # provider -> accepted record ids
        self.rides = Counter()  # (provider, external id, local date) -> credited or capped rides
        self.readings = set()  # (external id, date) with an accepted reading

    def judge_file(self, scenario, provider, rows):
        """Defect kinds, outcomes and number of capped rides of one file."""
        defects, outcomes, capped = Counter(), Counter(), 0
        earlier, lines, plain_readings = set(self.seen_ids[provider]), set(), set()
        for row in rows:
            fields = self.parse(scenario, row)
            defects[self.defect(scenario, provider, row, fields, earlier, lines, plain_readings)] += 1
            outcome = self.outcome(scenario, provider, row, fields)
            if outcome == "capped":
                capped += 1
                outcome = "accepted"
            outcomes[outcome] += 1
            lines.add(tuple(row))
            self.seen_ids[provider].add(row[0])
            if outcome == "accepted":
                self.accepted[provider].add(row[0])
        return defects, outcomes, capped

    @staticmethod
    def parse(scenario, row):
        """The record's numbers and times, or the name of the first malformed field."""
        if scenario == "household_power":
            kwh = parse_number(row[3])
            if not row[3]:
                return "missing_kwh"
            return "bad_kwh" if kwh is None else (kwh, row[2]) if valid_date(row[2]) else "bad_date"
        km = parse_number(row[4])
        if not row[4]:
            return "missing_distance"
        if km is None:
            return "bad_distance"
        try:
            return km, parse_time(row[2]), parse_time(row[3])
        except ValueError:
            return "bad_time"

    def defect(self, scenario, provider, row, fields, earlier, lines, plain_readings):
        if row[0] in earlier:
            return "resent_record"
        if tuple(row) in lines:
            return "duplicate_row"
        if isinstance(fields, str):
            return fields
        if (provider, row[1]) not in self.owner:
            return "unknown_user"
        if scenario == "household_power":
            kwh, day = fields
            if kwh < 0 or kwh > 200:
                return "negative_kwh" if kwh < 0 else "excessive_kwh"
            if (row[1], day) in plain_readings:
                return "second_reading"
            plain_readings.add((row[1], day))
            return None
        km, start, end = fields
        max_km, max_kmh, _ = LIMITS[scenario]
        if end <= start:
            return "ended_not_after_started"
        if km <= 0 or km > max_km:
            return "implausible_distance"
        if km / ((end - start).total_seconds() / 3600) > max_kmh:
            return "implausible_speed"
        return None

    def outcome(self, scenario, provider, row, fields):
        if isinstance(fields, str):
            return "malformed"
        if row[0] in self.accepted[provider]:
            return "duplicate"
        if (provider, row[1]) not in self.owner:
            return "unknown_user"
        if scenario == "household_power":
            kwh, day = fields
            local_day = date.fromisoformat(day)
        else:
            km, start, end = fields
            local_day = start.astimezone(SHANGHAI).date()
        since = self.owner[(provider, row[1])].get(scenario)
        if since is None or (since and date.fromisoformat(since) > local_day):
            return "no_consent"
        if scenario == "household_power":
            if kwh < 0 or kwh > 200:
                return "implausible_reading"
            if (row[1], day) in self.readings:
                return "duplicate_period"
            self.readings.add((row[1], day))
            return "accepted"
        max_km, max_kmh, cap = LIMITS[scenario]
        if end <= start:
            return "invalid_time"
        if km <= 0 or km > max_km:
            return "implausible_distance"
        if km / ((end - start).total_seconds() / 3600) > max_kmh:
            return "implausible_speed"
        self.rides[(provider, row[1], local_day)] += 1
        return "capped" if self.rides[(provider, row[1], local_day)] > cap else "accepted"


def test_behaviour_defects_and_expected_outcomes_match_the_files(city):
    out, manifest, _ = city
    judge = Judge(validate_citizens(out, load_providers(out)))
    for entry in manifest["behaviour"]:  # date order within each scenario
        rows = read_csv(out / entry["csv"])[1:]
        defects, outcomes, capped = judge.judge_file(entry["scenario"], entry["provider"], rows)
        assert defects.pop(None) == entry["rows"] - sum(entry["defects"].values()), entry["csv"]
        assert dict(defects) == {k: n for k, n in entry["defects"].items() if n}, entry["csv"]
        expected = entry["expected"]
        assert outcomes.pop("accepted", 0) == expected["accepted"], entry["csv"]
        assert outcomes.pop("duplicate", 0) == expected["duplicates"], entry["csv"]
        assert dict(outcomes) == expected["rejected_by_reason"], entry["csv"]
        assert capped == expected["capped"], entry["csv"]
    for scenario, total in manifest["totals"].items():
        kinds = {k for k, n in total["defects"].items() if n}
        assert kinds == set(total["defects"]), f"{scenario}: every defect kind occurs over the period"
    assert manifest["totals"]["metro"]["expected"]["capped"] > 0


def share_in_peaks(hours):
    return sum(7 <= h < 9 or 17 <= h < 19.5 for h in hours) / len(hours)


def test_behaviour_looks_like_a_city(city):
    out, manifest, _ = city
    starts = defaultdict(list)
    styles, crossing, km = Counter(), 0, defaultdict(list)
    for entry in manifest["behaviour"]:
        if entry["scenario"] == "household_power":
            continue
        day = date.fromisoformat(entry["date"])
        for row in read_csv(out / entry["csv"])[1:]:
            try:
                start, end = parse_time(row[2]), parse_time(row[3])
                km[entry["scenario"]].append(float(row[4]))
            except ValueError:
                continue
            styles["Z" if row[2].endswith("Z") else "+08:00" if row[2].endswith("+08:00") else "local"] += 1
            local = start.astimezone(SHANGHAI)
            assert local.date() in (day, day - timedelta(days=1))  # yesterday's: re-sent records
            crossing += end.astimezone(SHANGHAI).date() > local.date()
            starts[(entry["scenario"], local.weekday() >= 5)].append(local.hour + local.minute / 60)
    weekday, weekend = starts[("metro", False)], starts[("metro", True)]
    assert share_in_peaks(weekday) > 0.6 > share_in_peaks(weekend)
    assert len(weekday) > 1.3 * len(weekend)  # two weekdays and two weekend days
    for scenario, (low, high) in {"metro": (7, 11), "bus": (4, 6.5), "bike": (1.5, 2.6)}.items():
        plausible = [v for v in km[scenario] if 0 < v <= LIMITS[scenario][0]]
        assert low < sum(plausible) / len(plausible) < high, scenario
    assert styles["local"] > styles["+08:00"] > styles["Z"] > 0
    assert crossing > 0

    readings = defaultdict(set)
    kwh = []
    for entry in manifest["behaviour"]:
        if entry["scenario"] == "household_power":
            for row in read_csv(out / entry["csv"])[1:]:
                readings[row[2]].add(row[1])
                kwh.append(parse_number(row[3]))
    kwh = [v for v in kwh if v is not None and 0 <= v <= 200]
    assert any(v < 1 for v in kwh), "vacant homes"
    assert 6 < sum(kwh) / len(kwh) < 14
    bound = {
        b.split(":")[1]
        for kind, row in validate_citizens(out, load_providers(out))
        if not kind
        for b in row[4].split(";")
        if b.startswith("power_grid:")
    }
    assert all(bound - readings[day] for day in (e["date"] for e in manifest["behaviour"])), (
        "meters miss days"
    )


def test_without_bad_share_everything_is_clean(tmp_path):
    manifest = generate_city(tmp_path / "city", seed=3, citizens=60, days=2, bad_share=0)
    assert not any(manifest["citizens"]["defects"].values())
    for total in manifest["totals"].values():
        assert not any(total["defects"].values())
        assert set(total["expected"]["rejected_by_reason"]) <= {"no_consent"}


@pytest.mark.parametrize("bad", [{"citizens": 0}, {"days": 0}, {"bad_share": 0.9}])
def test_rejects_bad_arguments(tmp_path, bad):
    with pytest.raises(ValueError):
        generate_city(tmp_path / "city", **bad)
