"""The streaming metro record writer for the ingest benchmark."""

import csv
import hashlib
import math
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from tanhui.synth.city import generate_city
from tanhui.synth.records import city_external_ids, write_metro_records

USERS = [f"M{i:08d}" for i in range(1000)]
START = date(2026, 7, 1)
HEADER = ["record_id", "external_user_id", "started_at", "ended_at", "distance_km"]


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_strings(path):
    if path.suffix == ".parquet":
        return pq.read_table(path)
    options = pa_csv.ConvertOptions(column_types=dict.fromkeys(HEADER, pa.string()))
    return pa_csv.read_csv(path, convert_options=options)


def test_streams_exactly_n_valid_records_in_chunks(tmp_path):
    n, chunk = 300_000, 50_000
    calls = []
    path = write_metro_records(
        tmp_path / "m.parquet",
        n,
        seed=5,
        external_user_ids=USERS,
        start_date=START,
        chunk_size=chunk,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(done, n) for done in range(chunk, n + 1, chunk)]
    meta = pq.read_metadata(path)
    assert (meta.num_rows, meta.num_row_groups) == (n, n // chunk)
    table = pq.read_table(path)
    assert table.schema == pa.schema([(name, pa.string()) for name in HEADER])
    assert pc.count_distinct(table["record_id"]).as_py() == n
    assert pc.all(pc.is_in(table["external_user_id"], pa.array(USERS))).as_py()

    started = pc.strptime(table["started_at"], format="%Y-%m-%dT%H:%M:%S", unit="s")
    ended = pc.strptime(table["ended_at"], format="%Y-%m-%dT%H:%M:%S", unit="s")
    km = pc.cast(table["distance_km"], pa.float64())
    hours = pc.divide(pc.cast(pc.subtract(ended, started), pa.int64()), 3600.0)
    assert pc.all(pc.greater(hours, 0)).as_py()
    assert pc.all(pc.and_(pc.greater(km, 0), pc.less_equal(km, 80))).as_py()
    assert pc.max(pc.divide(km, hours)).as_py() <= 100
    assert 8 < pc.mean(km).as_py() < 10

    days = pc.cast(started, pa.date32())
    last = START + timedelta(days=math.ceil(n / (2 * len(USERS))) - 1)
    assert (pc.min(days).as_py(), pc.max(days).as_py()) == (START, last)
    assert pc.all(pc.greater_equal(days[1:], days[:-1])).as_py(), "dates follow each other through the file"


def test_csv_and_parquet_hold_the_same_records_deterministically(tmp_path):
    kwargs = {"seed": 9, "external_user_ids": USERS[:50], "start_date": START, "chunk_size": 7_000}
    csv_path = write_metro_records(tmp_path / "a.csv", 20_000, **kwargs)
    parquet_path = write_metro_records(tmp_path / "a.parquet", 20_000, **kwargs)
    with open(csv_path, encoding="utf-8") as file:
        assert next(csv.reader(file)) == HEADER
    assert read_strings(csv_path).equals(read_strings(parquet_path))
    again = write_metro_records(tmp_path / "b.csv", 20_000, **kwargs)
    other = write_metro_records(tmp_path / "c.csv", 20_000, **{**kwargs, "seed": 10})
    assert sha256(again) == sha256(csv_path) != sha256(other)


def test_memory_depends_on_the_chunk_not_on_the_number_of_records(tmp_path):
    def peak(n):
        default = pa.default_memory_pool()
        pool = pa.proxy_memory_pool(default)
        pa.set_memory_pool(pool)
        try:
            write_metro_records(
                tmp_path / f"{n}.csv", n, seed=1, external_user_ids=USERS, start_date=START, chunk_size=10_000
            )
        finally:
            pa.set_memory_pool(default)
        return pool.max_memory()

    small, large = peak(30_000), peak(300_000)
    assert large < 1.2 * small
    assert large < 16 * 2**20


def test_no_records_still_gives_a_header(tmp_path):
    path = write_metro_records(tmp_path / "empty.csv", 0, seed=1, external_user_ids=USERS, start_date=START)
    assert path.read_text() == ",".join(HEADER) + "\n"


@pytest.mark.parametrize("bad", [{"n": -1}, {"external_user_ids": []}, {"chunk_size": 0}, {"days": 0}])
def test_rejects_bad_arguments(tmp_path, bad):
    kwargs = {"n": 10, "seed": 1, "external_user_ids": USERS, "start_date": START, **bad}
    with pytest.raises(ValueError):
        write_metro_records(tmp_path / "x.csv", **kwargs)
    with pytest.raises(ValueError):
        write_metro_records(tmp_path / "x.json", 10, seed=1, external_user_ids=USERS, start_date=START)


def test_city_external_ids_are_bound_and_authorised_from_always(tmp_path):
    city = tmp_path / "city"
    manifest = generate_city(city, seed=4, citizens=200, days=2, bad_share=0.05)
    bad = {line for lines in manifest["citizens"]["defect_lines"].values() for line in lines}
    with open(city / "citizens.csv", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    expected = [
        binding.split(":")[1]
        for line, row in enumerate(rows, start=2)
        if line not in bad and "metro" in row["consents"].split(";")
        for binding in row["bindings"].split(";")
        if binding.startswith("metro_op:")
    ]
    ids = city_external_ids(city)
    assert ids == expected and len(ids) > 50
    assert len(set(ids)) == len(ids)
    assert city_external_ids(city, "household_power")[0].startswith("SG")
