"""Reading tables that administrators keep in Excel or CSV: a list of rows of stripped strings."""

import csv
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openpyxl import load_workbook

from tanhui.core.errors import DomainError


def read_rows(path: Path) -> list[list[str]]:
    """The first sheet of an .xlsx, or a .csv in UTF-8 (with or without BOM) or GB18030 (what Excel
    writes on Chinese Windows). Merged cells read as blank except their first cell."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        return [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    if suffix != ".csv":
        raise DomainError("unsupported_file", f"{path.name}: use .xlsx or .csv")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DomainError("unreadable_file", f"{path.name}: neither UTF-8 nor GB18030")
    return [[_text(v) for v in row] for row in csv.reader(io.StringIO(text))]


def records(rows: list[list[str]], required: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows under a header row of column names (a simple table) as dicts."""
    rows = [r for r in rows if any(r)]
    if not rows:
        raise DomainError("empty_file", "the table is empty")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise DomainError("missing_columns", f"missing column(s): {', '.join(missing)}")
    return [dict(zip(header, row + [""] * (len(header) - len(row)), strict=False)) for row in rows[1:]]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@contextmanager
def saved_upload(upload) -> Iterator[Path]:
    """An uploaded file as a temporary file with the same suffix (the readers go by the suffix)."""
    with tempfile.NamedTemporaryFile(suffix=Path(upload.name).suffix.lower()) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        handle.flush()
        yield Path(handle.name)
