"""Bulk writes (tanhui.core.bulk), on SQLite and PostgreSQL: every row arrives once and in order, a
failed insert leaves nothing behind once its transaction is undone, and they refuse to run outside
a transaction, where a half-done insert could not be undone."""

import gc

import pyarrow as pa
import pytest
from django.db import IntegrityError, connection, transaction

from tanhui.core.bulk import SQLITE_ROWS, insert_arrow, insert_rows

pytestmark = pytest.mark.django_db

TABLE = "test_bulk_rows"


@pytest.fixture
def table():
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TABLE} (n bigint PRIMARY KEY, label varchar(20), flag boolean)")
    yield TABLE
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")


def stored():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, label, flag FROM {TABLE} ORDER BY n")
        return [(n, label, bool(flag)) for n, label, flag in cursor.fetchall()]


def chunk(first: int, count: int) -> pa.Table:
    numbers = list(range(first, first + count))
    return pa.table({"n": numbers, "label": [f"第{n}条" for n in numbers], "flag": [n % 3 == 0 for n in numbers]})


def test_a_stream_of_arrow_chunks_arrives_whole(table):
    # sizes around the rows per statement, so full statements and remainders both occur
    sizes = [SQLITE_ROWS * 3 + 7, 1, SQLITE_ROWS, 0, 2 * SQLITE_ROWS - 1]
    chunks, first = [], 0
    for size in sizes:
        chunks.append(chunk(first, size))
        first += size
    with transaction.atomic():
        assert insert_arrow(TABLE, ["n", "label", "flag"], iter(chunks)) == sum(sizes)
    assert stored() == [(n, f"第{n}条", n % 3 == 0) for n in range(sum(sizes))]


def test_rows_one_by_one_and_a_single_table(table):
    with transaction.atomic():
        assert insert_rows(TABLE, ["n", "label", "flag"], ((n, str(n), False) for n in range(250))) == 250
        assert insert_arrow(TABLE, ["n", "label", "flag"], chunk(250, 5)) == 5
    assert [n for n, _, _ in stored()] == list(range(255))


def test_a_failed_insert_leaves_nothing_once_undone(table):
    with transaction.atomic():
        insert_arrow(TABLE, ["n", "label", "flag"], chunk(0, 10))
        with pytest.raises(IntegrityError), transaction.atomic():
            # the duplicate key comes after rows that went in within the same statement
            insert_arrow(TABLE, ["n", "label", "flag"], pa.concat_tables([chunk(100, 50), chunk(5, 1)]))
    assert [n for n, _, _ in stored()] == list(range(10))


def test_an_error_while_making_the_chunks_reaches_the_caller(table):
    def chunks():
        yield chunk(0, 10)
        raise ValueError("the source broke")

    with pytest.raises(ValueError, match="the source broke"), transaction.atomic():
        insert_arrow(TABLE, ["n", "label", "flag"], chunks())
    assert stored() == []
    assert gc.isenabled()


@pytest.mark.django_db(transaction=True)  # the other tests run inside the transaction pytest-django opens
def test_refused_outside_a_transaction(table):
    with pytest.raises(RuntimeError, match="transaction.atomic"):
        insert_arrow(TABLE, ["n", "label", "flag"], chunk(0, 1))
    with pytest.raises(RuntimeError, match="transaction.atomic"):
        insert_rows(TABLE, ["n", "label", "flag"], [(1, "a", True)])
    assert stored() == []
