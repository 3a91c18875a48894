"""The deterministic synthetic city 云澜市 for the demo, the tests and the benchmarks.

`generate_city(out_dir)` writes::

    citizens.csv                       phone,name,district,community,bindings,consents
    providers.json                     [{code, name, scenarios}] for the four operators
    merchants.csv                      name,licence_number,category,district,contact_phone
    metro|bus|bike/YYYY-MM-DD.csv      record_id,external_user_id,started_at,ended_at,distance_km
    household_power/YYYY-MM-DD.csv     record_id,external_user_id,date,kwh
    …/YYYY-MM-DD.parquet               the same rows, every column a string (see tables.py)
    manifest.json                      parameters, defects per file, expected ingest outcome

The same arguments give byte-identical files. Without `end_date` the period ends on
DEFAULT_END_DATE (not today), so that runs on different days agree.

Progress convention (here and in records.py): `progress` is None or a callable
`progress(done, total)`, called after each step with the steps done so far; here a step is
the city's people (1) and then each day.
"""

import json
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from . import vocab
from .behaviour import (
    POWER_COLUMNS,
    TRANSIT_COLUMNS,
    day_trips,
    power_readings,
    power_records,
    transit_records,
)
from .defects import POWER_DEFECTS, TRANSIT_DEFECTS, PowerSpoiler, TransitSpoiler, expected_outcome
from .population import (
    CITIZEN_COLUMNS,
    CITIZEN_DEFECTS,
    MERCHANT_COLUMNS,
    MODES,
    PROVIDER_FOR,
    PROVIDERS,
    SCENARIOS,
    TRANSIT,
    bad_citizen_rows,
    make_citizens,
    merchant_rows,
)
from .tables import interleave, write_rows

DEFAULT_END_DATE = date(2026, 6, 14)  # a Sunday: the default 14 days are two whole weeks
MANIFEST = "manifest.json"
GENERATOR = "tanhui.synth 1"

Progress = Callable[[int, int], object]


def generate_city(
    out_dir: Path,
    *,
    seed: int = 42,
    citizens: int = 2000,
    days: int = 14,
    end_date: date | None = None,
    bad_share: float = 0.01,
    progress: Progress | None = None,
) -> dict:
    """Writes the city into out_dir (new, empty, or holding an earlier city, which is replaced)
    and returns the manifest, also written to out_dir/manifest.json."""
    if citizens < 1 or days < 1 or not 0 <= bad_share <= 0.5:
        raise ValueError("citizens and days must be at least 1, bad_share between 0 and 0.5")
    out_dir = Path(out_dir)
    _prepare(out_dir)
    end = end_date or DEFAULT_END_DATE
    start = end - timedelta(days=days - 1)
    issued: set[str] = set()  # phones, external ids, licence numbers: all unique
    rng = random.Random(f"{seed}/people")
    people = make_citizens(rng, citizens, issued, start, days)
    bad = bad_citizen_rows(rng, people, round(citizens * bad_share), issued, start, days)
    manifest = {
        "generator": GENERATOR,
        "city": vocab.CITY,
        "params": {
            "seed": seed,
            "citizens": citizens,
            "days": days,
            "end_date": end.isoformat(),
            "bad_share": bad_share,
        },
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "parquet_columns": "string",
        "citizens": _write_citizens(out_dir, people, bad),
        "providers": _write_providers(out_dir),
        "merchants": _write_merchants(out_dir, random.Random(f"{seed}/merchants"), issued),
        "defect_outcomes": {
            "citizens": {kind: kind for kind in CITIZEN_DEFECTS},
            "transit": TRANSIT_DEFECTS,
            "household_power": POWER_DEFECTS,
        },
        "behaviour": [],
    }
    if progress:
        progress(1, days + 1)
    spoilers = {
        s: (TransitSpoiler if s in TRANSIT else PowerSpoiler)(s, bad_share, issued) for s in SCENARIOS
    }
    for offset in range(days):
        day = start + timedelta(days=offset)
        for scenario, records, spare_ids in _day_records(random.Random(f"{seed}/{day}"), people, day):
            defect_rng = random.Random(f"{seed}/{scenario}/{day}")
            records, defects = spoilers[scenario].spoil(defect_rng, day, records, spare_ids)
            manifest["behaviour"].append(_write_day_file(out_dir, scenario, day, records, defects))
        if progress:
            progress(offset + 2, days + 1)
    manifest["totals"] = _totals(manifest["behaviour"])
    manifest["files"] = sorted(
        [manifest[part]["file"] for part in ("citizens", "providers", "merchants")]
        + [entry[fmt] for entry in manifest["behaviour"] for fmt in ("csv", "parquet")]
    )
    _write_json(out_dir / MANIFEST, manifest)
    return manifest


def summary(manifest: dict) -> dict:
    """The manifest without its per-file and per-line detail."""
    citizens = {key: value for key, value in manifest["citizens"].items() if key != "defect_lines"}
    return {
        **manifest["params"],
        "start_date": manifest["start_date"],
        "files": len(manifest["files"]),
        "citizen_rows": citizens,
        "merchants": manifest["merchants"]["count"],
        "totals": manifest["totals"],
    }


def _prepare(out_dir: Path) -> None:
    """Creates out_dir, or removes the files of the city generated there before. A directory
    holding anything else is refused, so nothing but generated files is ever deleted."""
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        root = out_dir.resolve()
        for name in json.loads(manifest.read_text(encoding="utf-8")).get("files", []):
            path = (out_dir / name).resolve()
            if root in path.parents:
                path.unlink(missing_ok=True)
        manifest.unlink()
        for scenario in SCENARIOS:
            folder = out_dir / scenario
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty and holds no synthetic city")
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_citizens(out_dir: Path, people, bad) -> dict:
    """citizens.csv with the bad rows among the valid ones; notes the line of each bad row."""
    rows = interleave([(c.row(), None) for c in people], [(after, (row, kind)) for kind, after, row in bad])
    write_rows(out_dir / "citizens.csv", CITIZEN_COLUMNS, [row for row, _ in rows])
    lines = {kind: [] for kind in CITIZEN_DEFECTS}
    for line, (_, kind) in enumerate(rows, start=2):  # line 1 is the header
        if kind:
            lines[kind].append(line)
    return {
        "file": "citizens.csv",
        "rows": len(rows),
        "valid": len(people),
        "defects": {kind: len(found) for kind, found in lines.items()},
        "defect_lines": lines,
    }


def _write_providers(out_dir: Path) -> dict:
    _write_json(
        out_dir / "providers.json",
        [{"code": p.code, "name": p.name, "scenarios": [p.scenario]} for p in PROVIDERS],
    )
    return {"file": "providers.json", "count": len(PROVIDERS)}


def _write_merchants(out_dir: Path, rng: random.Random, issued: set[str]) -> dict:
    rows = merchant_rows(rng, issued)
    write_rows(out_dir / "merchants.csv", MERCHANT_COLUMNS, rows)
    return {"file": "merchants.csv", "count": len(rows)}


def _day_records(rng: random.Random, people, day: date):
    """(scenario, clean records, spare accounts) for each scenario of the day."""
    trips = day_trips(rng, people, day)
    for scenario in TRANSIT:
        yield scenario, transit_records(rng, scenario, trips, day), []
    readings = power_readings(rng, people, day)
    read = {citizen for citizen, _ in readings}
    spare_ids = [
        c.external_id("household_power")
        for c in people
        if c not in read and c.external_id("household_power") and c.consents_on("household_power", day)
    ]
    yield "household_power", power_records(readings, day), spare_ids


def _write_day_file(out_dir: Path, scenario: str, day: date, records, defects: dict[str, int]) -> dict:
    columns = POWER_COLUMNS if scenario == "household_power" else TRANSIT_COLUMNS
    entry = {"scenario": scenario, "provider": PROVIDER_FOR[scenario].code, "date": day.isoformat()}
    for fmt in ("csv", "parquet"):
        entry[fmt] = f"{scenario}/{day.isoformat()}.{fmt}"
        write_rows(out_dir / entry[fmt], columns, [r.values for r in records])
    cap = MODES[scenario].daily_cap if scenario in MODES else None
    return {**entry, "rows": len(records), "defects": defects, "expected": expected_outcome(records, cap)}


def _totals(entries: list[dict]) -> dict:
    """Per scenario: files, rows, defects and expected outcome summed over the days."""
    totals: dict[str, dict] = {}
    for entry in entries:
        part = {"files": 1, "rows": entry["rows"], "defects": entry["defects"], "expected": entry["expected"]}
        _add(totals.setdefault(entry["scenario"], {}), part)
    return totals


def _add(total: dict, part: dict) -> None:
    """Adds the counts of part into total, nested dicts included."""
    for key, value in part.items():
        if isinstance(value, dict):
            _add(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value
