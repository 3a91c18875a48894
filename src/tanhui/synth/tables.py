"""Writing string tables as CSV or Parquet, chosen by the file extension.

Every column is a string, in both formats, so that malformed values (``abc`` as a distance,
an unparsable time) survive in Parquet exactly as in CSV. An empty CSV field is a null in
Parquet. CSV is UTF-8 without BOM, ``\\n`` line ends, no quoting (no generated value needs it;
the writer raises if one ever does).
"""

from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FORMATS = (".csv", ".parquet")


class TableWriter:
    """Appends chunks of string columns to a CSV or Parquet file; use as a context manager."""

    def __init__(self, path: Path, columns: Sequence[str]):
        self.schema = pa.schema([(name, pa.string()) for name in columns])
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv":
            options = pa_csv.WriteOptions(quoting_style="none", quoting_header="none")
            self._writer = pa_csv.CSVWriter(str(path), self.schema, write_options=options)
        elif path.suffix == ".parquet":
            self._writer = pq.ParquetWriter(str(path), self.schema)
        else:
            raise ValueError(f"{path.name}: the extension must be one of {', '.join(FORMATS)}")

    def write(self, columns: Sequence[pa.Array | list[str | None]]) -> None:
        self._writer.write_table(pa.Table.from_arrays(list(columns), schema=self.schema))

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def write_rows(path: Path, columns: Sequence[str], rows: Iterable[Sequence[str | None]]) -> None:
    """Writes rows (sequences of strings or None) in one go; empty strings become nulls."""
    cells = [[value or None for value in column] for column in zip(*rows, strict=True)]
    with TableWriter(path, columns) as out:
        out.write(cells or [[] for _ in columns])


def interleave(rows: Sequence, extras: Iterable[tuple[int, object]]) -> list:
    """rows with each extra `(after, item)` placed right after rows[after] (-1: before all);
    extras for the same place keep their order."""
    keyed = [((i, 0, 0), row) for i, row in enumerate(rows)]
    keyed += [((after, 1, k), item) for k, (after, item) in enumerate(extras)]
    keyed.sort(key=lambda pair: pair[0])
    return [item for _, item in keyed]
