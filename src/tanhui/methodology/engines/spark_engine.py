"""Spark (PySpark): the same SQL as the DuckDB engine, for batches beyond one machine.

The session is created once per process (TANHUI_SPARK_MASTER, default local[2]); each batch runs
in its own child session so that its temporary views are private. Nothing needs the network: the
driver binds to 127.0.0.1 and the UI is off.
"""

import functools
import logging
import os
from datetime import datetime

import pyarrow as pa

from tanhui.methodology.engines import EngineContext, sql
from tanhui.methodology.params import VersionedParams

CONFIG = {
    "spark.sql.session.timeZone": "Asia/Shanghai",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.ansi.enabled": "true",  # overflow is an error, never a silent NULL
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


@functools.cache
def session():
    from pyspark.sql import SparkSession

    logging.getLogger("py4j").setLevel(logging.WARNING)  # its INFO chatter outlives pytest's log capture

    builder = SparkSession.builder.master(os.environ.get("TANHUI_SPARK_MASTER", "local[2]")).appName("tanhui")
    for key, value in CONFIG.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkBackend:
    dialect = sql.SPARK

    def __init__(self, spark):
        self.spark = spark

    def register(self, name: str, table: pa.Table) -> None:
        frame = self.spark.createDataFrame(table)
        if name == "raw":  # an Arrow table arrives as one partition: spread the records over the cores
            frame = frame.repartition(self.spark.sparkContext.defaultParallelism)
        frame.createOrReplaceTempView(name)

    def materialize(self, name: str, query: str) -> int:
        # a local checkpoint also cuts the lineage: later steps do not re-plan the earlier ones
        frame = self.spark.sql(query).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        return frame.count()

    def fetch(self, query: str) -> pa.Table:
        return self.spark.sql(query).toArrow()

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)


def run(scenario: str, kind: str, records: pa.Table, context: EngineContext, versions: list[VersionedParams],
        now: datetime) -> pa.Table:
    return sql.run(SparkBackend(session().newSession()), scenario, kind, records, context, versions, now)
