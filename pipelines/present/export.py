"""CSV out of ragboard, safe to open in a spreadsheet.

A text cell that starts with = + - @ (or a tab or carriage return) would run as a formula
in Excel; such cells get a leading apostrophe, which spreadsheets show as plain text.
Numbers are written as numbers, so -1.75 stays a negative number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_rows(out: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([safe_cell(v) for v in row] for row in rows)


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    write_rows(buffer, columns, rows)
    return buffer.getvalue()
