"""Bulk writes and key look-ups that the ORM would do one row at a time.

SQLite gets `executemany` of multi-row INSERTs inside the caller's transaction; PostgreSQL gets
COPY. Both run on Django's connection, so they take part in the surrounding `transaction.atomic()`.
"""

import io
from collections.abc import Iterable, Sequence
from itertools import chain, islice

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection

SQLITE_ROWS = 100  # rows per INSERT statement on SQLite (at most 32,766 parameters)
SQLITE_CHUNK = 500  # statements per executemany


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Inserts rows (tuples in `columns` order) into `table`; returns how many."""
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            count = 0
            # COPY runs on the raw psycopg cursor: map its errors to Django's (IntegrityError, …).
            with connection.wrap_database_errors, cursor.cursor.copy(
                    f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        return _sqlite_insert(cursor, table, quoted, len(columns), rows)


def _sqlite_insert(cursor, table: str, quoted: str, width: int, rows: Iterable[Sequence]) -> int:
    """Multi-row INSERTs of SQLITE_ROWS rows each, which costs about half as much per row as one-row
    statements; the remainder goes in one last statement."""
    row = "(" + ", ".join(["%s"] * width) + ")"
    head = f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES "  # noqa: S608 - quoted names
    full = head + ", ".join([row] * SQLITE_ROWS)
    rows, count = iter(rows), 0
    while True:
        values = list(chain.from_iterable(islice(rows, SQLITE_ROWS * SQLITE_CHUNK)))
        whole = len(values) // (SQLITE_ROWS * width) * SQLITE_ROWS * width
        if whole:
            step = SQLITE_ROWS * width
            cursor.executemany(full, (values[i:i + step] for i in range(0, whole, step)))
        if whole < len(values):
            cursor.execute(head + ", ".join([row] * ((len(values) - whole) // width)), values[whole:])
        count += len(values) // width
        if len(values) < SQLITE_ROWS * SQLITE_CHUNK * width:
            return count


def insert_arrow(table: str, columns: Sequence[str], data: pa.Table | pa.RecordBatch) -> int:
    """Inserts Arrow rows (fields in `columns` order) into `table`; returns how many. PostgreSQL:
    COPY from CSV rendered by Arrow, with no per-row Python work."""
    if connection.vendor == "postgresql":
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        buffer = io.BytesIO()
        pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
        with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(
                f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getbuffer())
        return data.num_rows
    return insert_rows(table, columns, zip(*(column.to_pylist() for column in data.columns), strict=True))


def temp_key_table(name: str, values: Iterable[str | int] | pa.Array | pa.ChunkedArray, *,
                   integer: bool = False) -> str:
    """Loads distinct keys into a temporary table `name(k)` (dropped at the end of the transaction on
    PostgreSQL, replaced on reuse) so that large look-ups become one indexed join."""
    kind = "bigint" if integer else "text"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMP TABLE {name} (k {kind} PRIMARY KEY) ON COMMIT DROP")
        else:
            cursor.execute(f"CREATE TEMP TABLE {name} (k {kind} PRIMARY KEY) WITHOUT ROWID")
    if isinstance(values, pa.Array | pa.ChunkedArray):
        keys = pc.unique(values.drop_null())  # sorted: the index is built in key order
        insert_arrow(name, ["k"], pa.table({"k": keys.take(pc.sort_indices(keys))}))
    else:
        insert_rows(name, ["k"], ((v,) for v in set(values)))
    if connection.vendor == "postgresql":  # autovacuum never sees temporary tables: without statistics
        with connection.cursor() as cursor:  # the planner may scan the big table of the join instead
            cursor.execute(f"ANALYZE {name}")
    return name
