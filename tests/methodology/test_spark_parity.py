"""Spark and DuckDB judge the same messy day identically, row for row, for every scenario."""

from datetime import datetime

import pytest

from tanhui.methodology.engines import evaluate

from .records import SHANGHAI, synthetic_day
from .test_engines import assert_same

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark():
    from tanhui.methodology.engines.spark_engine import session

    yield session()
    session().stop()
    session.cache_clear()


@pytest.mark.parametrize("scenario", ["metro", "bus", "bike", "household_power"])
def test_spark_matches_duckdb(spark, scenario):
    records, ctx, vs = synthetic_day(scenario, 2500, seed=len(scenario))
    now = datetime(2026, 5, 3, 12, tzinfo=SHANGHAI)
    expected = evaluate(scenario, records, ctx, vs, now, "duckdb")
    assert_same(expected, evaluate(scenario, records, ctx, vs, now, "spark"))
    assert expected.column("reduction_mg").to_pylist().count(0) < len(expected)
