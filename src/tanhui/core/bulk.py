"""Bulk writes and key look-ups that the ORM would do one row at a time.

SQLite gets `executemany` inside the caller's transaction; PostgreSQL gets COPY. Both run on
Django's connection, so they take part in the surrounding `transaction.atomic()`.
"""

from collections.abc import Iterable, Sequence

from django.db import connection

SQLITE_CHUNK = 50_000


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Inserts rows (tuples in `columns` order) into `table`; returns how many."""
    count = 0
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY runs on the raw psycopg cursor: map its errors to Django's (IntegrityError, …).
            with connection.wrap_database_errors, cursor.cursor.copy(
                    f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})"
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == SQLITE_CHUNK:
                cursor.executemany(sql, chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)
            count += len(chunk)
    return count


def temp_key_table(name: str, values: Iterable[str | int], *, integer: bool = False) -> str:
    """Loads distinct keys into a temporary table `name(k)` (dropped at the end of the transaction on
    PostgreSQL, replaced on reuse) so that large look-ups become one indexed join."""
    kind = "bigint" if integer else "text"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMP TABLE {name} (k {kind} PRIMARY KEY) ON COMMIT DROP")
        else:
            cursor.execute(f"CREATE TEMP TABLE {name} (k {kind} PRIMARY KEY) WITHOUT ROWID")
    insert_rows(name, ["k"], ((v,) for v in set(values)))
    return name
