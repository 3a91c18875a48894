import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

TRIP_FIELDS = ["record_id", "external_user_id", "started_at", "ended_at", "distance_km"]
POWER_FIELDS = ["record_id", "external_user_id", "date", "kwh"]


def write_records(path: Path, fields: list[str], rows: list[tuple]) -> Path:
    """Writes records as CSV, JSON Lines or Parquet (all text), by the file's extension."""
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(fields)
            writer.writerows(rows)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(dict(zip(fields, row)), ensure_ascii=False) + "\n" for row in rows))
    else:
        pq.write_table(pa.table({f: pa.array([r[i] for r in rows], pa.string()) for i, f in enumerate(fields)}), path)
    return path


@pytest.fixture
def metro_city(make_provider, make_citizen):
    """Two citizens bound to the metro operator: A consents from always, B from 2026-05-02."""
    from datetime import date

    metro = make_provider("metro_op", ["metro", "bus"])
    a = make_citizen("13800138000", "张三", bindings=[(metro, "M1")], consents={"metro": None, "bus": None})
    b = make_citizen("13900139000", "李四", bindings=[(metro, "M2")], consents={"metro": date(2026, 5, 2)})
    return metro, a, b


@pytest.fixture
def ingest(tmp_path):
    """ingest(rows, scenario="metro", provider="metro_op", suffix=".csv") → batch summary dict."""
    from datetime import UTC, datetime

    from tanhui.ingest.pipeline import ingest_file

    counter = iter(range(1000))

    def run(rows, scenario="metro", provider="metro_op", suffix=".csv", engine="duckdb",
            now=datetime(2026, 6, 1, tzinfo=UTC)):
        fields = POWER_FIELDS if scenario == "household_power" else TRIP_FIELDS
        path = write_records(tmp_path / f"batch{next(counter)}{suffix}", fields, rows)
        return ingest_file(path, scenario, provider, engine=engine, now=now).summary()

    return run
