"""Bulk writes and key look-ups that the ORM would do one row at a time.

SQLite gets `executemany` of multi-row INSERTs; PostgreSQL gets COPY. Both run on Django's
connection inside the caller's `transaction.atomic()`, which is what undoes a failed insert.
"""

import gc
import io
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import chain, islice

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection

SQLITE_ROWS = 100  # rows per INSERT statement on SQLite (at most 32,766 parameters)
SQLITE_BATCH = 50_000  # rows per executemany when rows come one by one

ArrowRows = pa.Table | pa.RecordBatch


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Inserts rows (tuples in `columns` order) into `table`; returns how many."""
    if connection.vendor == "postgresql":
        count = 0
        with _copy(table, columns, "") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    return _sqlite_insert(table, columns, _flat_chunks(iter(rows)))


def _flat_chunks(rows: Iterator[Sequence]) -> Iterator[list]:
    while values := list(chain.from_iterable(islice(rows, SQLITE_BATCH))):
        yield values


def insert_arrow(table: str, columns: Sequence[str], data: ArrowRows | Iterable[ArrowRows]) -> int:
    """Inserts Arrow rows (fields in `columns` order), one table or a stream of them, into `table`;
    returns how many. No Python object is made per row: PostgreSQL gets CSV rendered by Arrow, SQLite
    the columns interleaved into one flat list of values; in a stream, the next chunk's is made by a
    second thread while SQLite writes this one (it lets go of the GIL while it steps)."""
    single = isinstance(data, ArrowRows)
    chunks = [data] if single else data
    if connection.vendor == "postgresql":
        count = 0
        with _copy(table, columns, " (FORMAT csv)") as copy:
            for chunk in chunks:
                buffer = io.BytesIO()
                pacsv.write_csv(chunk, buffer, pacsv.WriteOptions(include_header=False))
                copy.write(buffer.getbuffer())
                count += chunk.num_rows
        return count
    flat_chunks = (_flat_values(chunk) for chunk in chunks)
    return _sqlite_insert(table, columns, flat_chunks if single else _made_ahead(flat_chunks))


def _flat_values(chunk: ArrowRows) -> list:
    width = chunk.num_columns
    values = [None] * (chunk.num_rows * width)
    for i, column in enumerate(chunk.columns):
        values[i::width] = column.to_pylist()
    return values


def _made_ahead(items: Iterator[list]) -> Iterator[list]:
    """Yields `items`, making the next one in a background thread while the caller uses this one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk") as pool:
        upcoming = pool.submit(next, items, None)
        while (item := upcoming.result()) is not None:
            upcoming = pool.submit(next, items, None)
            yield item


@contextmanager
def _copy(table: str, columns: Sequence[str], options: str):
    """COPY … FROM STDIN on the raw psycopg cursor, its errors mapped to Django's (IntegrityError, …)."""
    _check_atomic()
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN{options}") as copy:
        yield copy


def _sqlite_insert(table: str, columns: Sequence[str], flat_chunks: Iterable[list]) -> int:
    """Multi-row INSERTs of SQLITE_ROWS rows each, which costs about half as much per row as one-row
    statements; the remainder of a chunk goes in one last statement. Each chunk is a flat list of
    values, row after row. `OR FAIL` spares SQLite the statement journal, a copy of every page each
    statement changes (an index filled in random key order changes a different page for almost
    every row); the enclosing transaction undoes a failure."""
    _check_atomic()
    width = len(columns)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    row = "(" + ", ".join(["%s"] * width) + ")"
    head = f"INSERT OR FAIL INTO {connection.ops.quote_name(table)} ({quoted}) VALUES "  # noqa: S608 - quoted names
    full, step, count = head + ", ".join([row] * SQLITE_ROWS), SQLITE_ROWS * width, 0
    with _no_cyclic_gc(), connection.cursor() as cursor:
        for values in flat_chunks:
            whole = len(values) // step * step
            if whole:
                cursor.executemany(full, (values[i:i + step] for i in range(0, whole, step)))
            if whole < len(values):
                cursor.execute(head + ", ".join([row] * ((len(values) - whole) // width)), values[whole:])
            count += len(values) // width
    return count


@contextmanager
def _no_cyclic_gc():
    """Millions of values pass through here, in lists that the cycle collector would walk again and
    again; they hold no reference cycles, so it waits until the insert is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_atomic() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("bulk inserts run inside transaction.atomic(): a failed one is undone by it")


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
