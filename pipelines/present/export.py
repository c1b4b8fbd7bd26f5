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

from pipelines.rules.sql import Step, ident

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_rows(out: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(safe_rows(rows))


def safe_rows(rows: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    """``rows`` with ``safe_cell`` applied to every cell.

    Column by column: each column's distinct values are checked once (30,000 status rows hold a
    few hundred names), and only a column holding a formula-like text is rebuilt, by C-level
    ``map`` and ``zip`` rather than a Python call per cell."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows or len(set(map(len, rows))) != 1:  # ragged rows: cell by cell
        return [[safe_cell(v) for v in row] for row in rows]
    by_column = list(zip(*rows, strict=True))
    changed = False
    for i, column in enumerate(by_column):
        if not any(issubclass(t, str) for t in set(map(type, column))):
            continue  # numbers, booleans, empty cells: nothing to check (map and set run in C)
        try:
            distinct = set(column)
        except TypeError:  # an unhashable value: this column cell by cell
            by_column[i] = tuple(map(safe_cell, column))
            changed = True
            continue
        escaped = {v: safe_cell(v) for v in distinct if isinstance(v, str) and v.startswith(FORMULA_START)}
        if escaped:
            by_column[i] = tuple(map(escaped.get, column, column))
            changed = True
    return zip(*by_column, strict=True) if changed else rows


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    write_rows(buffer, columns, rows)
    return buffer.getvalue()


# ---- the same CSV, written by DuckDB -----------------------------------------------------------
# For 30,000 status rows, fetching every cell into Python and checking it costs more than the query.
# The cell below is what write_rows writes for the value Python would get: NULL empty, booleans
# True/False, numbers as Python writes them (DuckDB's text for a DOUBLE is Python's repr, the
# shortest that reads back the same; tests compare the two), text with safe_cell's apostrophe and
# the csv module's quoting. Only columns of type VARCHAR, BOOLEAN, DOUBLE, BIGINT or INTEGER may be
# written this way (a DECIMAL or a date is written otherwise by Python); status has no other.


def _quoted_by_csv() -> tuple[str, ...]:
    """The characters that make Python's csv writer quote a cell (',', '"' and '\\n' on 3.11)."""
    quoted = []
    for char in (",", '"', "\n", "\r"):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(["a" + char, "b"])
        if buffer.getvalue().startswith('"'):
            quoted.append(char)
    return tuple(quoted)


def sql_text(text: str) -> str:
    """One of our constants as a SQL string literal (chr() for control characters)."""
    parts = ["'" + c.replace("'", "''") + "'" if c.isprintable() else f"chr({ord(c)})" for c in text]
    return "(" + " || ".join(parts) + ")" if parts else "''"


def csv_steps(source: str, columns: Sequence[str], keep: Sequence[str]) -> tuple[Step, ...]:
    """Query steps reading the step ``source``; the last, ``csv_lines``, holds ``line`` (the CSV text
    of ``columns``, as write_rows writes the values Python would get for them) and ``keep``.
    In steps, so that each cell's text is made once and then only looked at."""
    kept = "".join(ident(c) + ", " for c in keep)
    n = range(len(columns))
    texts = ", ".join(f"CAST({ident(c)} AS VARCHAR) AS t{i}, typeof({ident(c)}) AS k{i}, {ident(c)} IS NULL AS n{i}"
                      for i, c in enumerate(columns))
    starts = ", ".join(sql_text(c) for c in FORMULA_START)
    apostrophe = sql_text("'")
    safes = ", ".join(f"CASE WHEN k{i} = 'VARCHAR' AND left(t{i}, 1) IN ({starts}) THEN {apostrophe} || t{i}"
                      f" ELSE t{i} END AS s{i}, k{i}, n{i}" for i in n)
    quote, two = sql_text('"'), sql_text('""')
    cells = []
    for i in n:
        needs_quotes = " OR ".join(f"contains(s{i}, {sql_text(c)})" for c in _quoted_by_csv()) or "false"
        cells.append(f"CASE WHEN n{i} THEN ''"
                     f" WHEN k{i} = 'BOOLEAN' THEN CASE WHEN s{i} = 'true' THEN 'True' ELSE 'False' END"
                     f" WHEN k{i} = 'VARCHAR' THEN CASE WHEN {needs_quotes}"
                     f" THEN {quote} || replace(s{i}, {quote}, {two}) || {quote} ELSE s{i} END"
                     f" WHEN s{i} = '-nan' THEN 'nan' ELSE s{i} END")  # Python has no negative NaN
    return (
        Step("csv_text", f"SELECT {kept}{texts} FROM {ident(source)}"),
        Step("csv_safe", f"SELECT {kept}{safes} FROM csv_text"),
        Step("csv_lines", f"SELECT {kept}" + " || ',' || ".join(cells) + " AS line FROM csv_safe"),
    )


def sql_lines_text(columns: Sequence[str], lines: Sequence[tuple[str]]) -> str:
    """The whole CSV from the header ``columns`` and the lines a query of ``sql_line`` gave."""
    if len(columns) < 2:  # csv quotes a lone empty cell (""): sql_line does not
        raise ValueError("a CSV written by DuckDB needs at least two columns")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    if lines:
        buffer.write("\n".join([line for (line,) in lines]))
        buffer.write("\n")
    return buffer.getvalue()
