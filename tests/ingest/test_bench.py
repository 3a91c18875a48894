"""`tanhui bench ingest` (a contract of DESIGN.md) and the baselines benchmarks/bench_ingest.py sets
beside it: each runs the real path on the configured database and leaves nothing of its own
tables behind."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from tanhui.ingest import bench
from tanhui.ingest.models import Batch, Reduction

pytestmark = pytest.mark.django_db


def test_bench_ingest_runs_the_full_path_and_prints_the_contract():
    call_command("init", stdout=io.StringIO())
    out = io.StringIO()
    call_command("bench", "ingest", "--records", "3000", "--json", stdout=out, stderr=io.StringIO())
    result = json.loads(out.getvalue())
    assert set(result) == {"records", "seconds", "records_per_s"}
    assert result["records"] == 3000 and result["seconds"] > 0
    batch = Batch.objects.get()
    assert (batch.status, batch.accepted) == ("done", 3000)  # synthetic records are all valid
    assert Reduction.objects.filter(batch=batch).count() == 3000


def test_the_baselines_judge_and_insert_the_same_file_and_keep_nothing(tmp_path):
    call_command("init", stdout=io.StringIO())
    code, path = bench.prepare(tmp_path, 2000)
    assert bench.time_engine_only(path, code) > 0
    assert bench.time_raw_insert(path) > 0
    assert not Reduction.objects.exists()
    assert "bench_raw_insert" not in connection.introspection.table_names()
