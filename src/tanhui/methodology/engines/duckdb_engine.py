"""DuckDB: the embedded production engine, vectorised SQL over the Arrow tables, in-process.

One in-memory connection per batch. Settings (environment): TANHUI_DUCKDB_THREADS (default: all
cores), TANHUI_DUCKDB_MEMORY_LIMIT (e.g. "2GB"; default DuckDB's, 80% of RAM) and
TANHUI_DUCKDB_TEMP_DIR, where DuckDB spills what does not fit (default: the system temp dir).
"""

import os
import tempfile
from datetime import datetime

import duckdb
import pyarrow as pa

from tanhui.methodology.engines import EngineContext, sql
from tanhui.methodology.params import VersionedParams


def _config() -> dict:
    config = {
        "threads": int(os.environ.get("TANHUI_DUCKDB_THREADS", os.cpu_count() or 1)),
        "temp_directory": os.environ.get("TANHUI_DUCKDB_TEMP_DIR",
                                         os.path.join(tempfile.gettempdir(), "tanhui-duckdb")),
        "preserve_insertion_order": False,  # the outcome is ordered by seq explicitly
    }
    if limit := os.environ.get("TANHUI_DUCKDB_MEMORY_LIMIT"):
        config["memory_limit"] = limit
    return config


class DuckDBBackend:
    dialect = sql.DUCKDB

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def materialize(self, name: str, query: str) -> int:
        self.con.sql(f"CREATE TEMP TABLE {name} AS {query}")
        return len(self.con.table(name))

    def fetch(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()


def run(scenario: str, kind: str, records: pa.Table, context: EngineContext, versions: list[VersionedParams],
        now: datetime) -> pa.Table:
    with duckdb.connect(config=_config()) as con:
        return sql.run(DuckDBBackend(con), scenario, kind, records, context, versions, now)
