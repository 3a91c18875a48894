"""Spark and DuckDB judge the same messy day identically, row for row, for every scenario."""

from datetime import datetime

import pytest

from tanhui.methodology.engines import evaluate

from .records import SHANGHAI, assert_same, synthetic_day

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark():
    """One local Spark per test run (the engine keeps it for the process)."""
    from tanhui.methodology.engines.spark_engine import session

    return session()


@pytest.mark.parametrize("scenario", ["metro", "bus", "bike", "household_power"])
def test_spark_matches_duckdb(spark, scenario):
    records, ctx, vs = synthetic_day(scenario, 2500, seed=len(scenario))
    now = datetime(2026, 5, 3, 12, tzinfo=SHANGHAI)
    expected = evaluate(scenario, records, ctx, vs, now, "duckdb")
    assert_same(expected, evaluate(scenario, records, ctx, vs, now, "spark"))
    assert expected.column("reduction_mg").to_pylist().count(0) < len(expected)
