"""DuckDB: the embedded production engine, vectorised SQL in-process.

One in-memory connection per batch (see judgement.py). Settings (environment):
TANHUI_DUCKDB_THREADS (default: all cores), TANHUI_DUCKDB_MEMORY_LIMIT (default "1GB": beyond it
DuckDB spills to disk, so a batch of any size runs in bounded memory) and TANHUI_DUCKDB_TEMP_DIR,
where it spills (default: the system temp dir).
"""
# ruff: noqa: S608 - the SQL is composed from constants and field names; values are parameters

import os
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa

from tanhui.methodology.engines import sql

MEMORY_LIMIT = "1GB"
SOURCES = {
    ".csv": "read_csv(?, all_varchar=true, header=true, null_padding=true, strict_mode=false, quote='\"', escape='\"')",
    # JSON values are read as text so that times and numbers reach the checks exactly as sent.
    ".jsonl": "read_json(?, format='newline_delimited', columns={columns})",
    ".ndjson": "read_json(?, format='newline_delimited', columns={columns})",
    ".parquet": "read_parquet(?)",
}


def connect() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={
        "threads": int(os.environ.get("TANHUI_DUCKDB_THREADS", os.cpu_count() or 1)),
        "memory_limit": os.environ.get("TANHUI_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT),
        "temp_directory": os.environ.get("TANHUI_DUCKDB_TEMP_DIR",
                                         os.path.join(tempfile.gettempdir(), "tanhui-duckdb")),
        "preserve_insertion_order": False,  # results are ordered explicitly where order matters
    })


def load_files(con: duckdb.DuckDBPyConnection, name: str, paths: list[Path], fields: tuple[str, ...]) -> int:
    """Reads CSV, JSON Lines or Parquet files into the table `name`: the fields as text, exactly as
    sent (a missing column is all nulls, judged `malformed` later), and `seq`, the record's position
    across the files in order. Returns the number of records."""
    parts = []
    for i, path in enumerate(paths):
        columns = "{" + ", ".join(f"'{f}': 'VARCHAR'" for f in fields) + "}"
        source = SOURCES[path.suffix.lower()].format(columns=columns)
        present = {row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {source}", params=[str(path)]).fetchall()}
        selected = ", ".join(f'CAST("{f}" AS VARCHAR) AS "{f}"' if f in present else f'CAST(NULL AS VARCHAR) AS "{f}"'
                             for f in fields)
        parts.append((f"SELECT {selected}, {i} AS file, row_number() OVER () AS line FROM {source}", str(path)))
    names = ", ".join(f'"{f}"' for f in fields)
    union = " UNION ALL ".join(query for query, _ in parts) or f"SELECT {names}, 0 AS file, 1 AS line WHERE false"
    seq = "line - 1" if len(parts) == 1 else "row_number() OVER (ORDER BY file, line) - 1"
    # row_number() OVER () follows the file only while insertion order is preserved
    con.sql("SET preserve_insertion_order = true")
    try:
        con.sql(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {names}, CAST({seq} AS BIGINT) AS seq"
                f" FROM ({union})", params=[p for _, p in parts])
    finally:
        con.sql("SET preserve_insertion_order = false")
    return con.sql(f"SELECT COUNT(*) FROM {name}").fetchall()[0][0]


class DuckDBBackend:
    dialect = sql.DUCKDB

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def materialize(self, name: str, query: str) -> int:
        self.con.sql(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")
        return self.con.sql(f"SELECT COUNT(*) FROM {name}").fetchall()[0][0]

    def fetch(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    def drop(self, name: str) -> None:
        self.con.sql(f"DROP TABLE IF EXISTS {name}")
