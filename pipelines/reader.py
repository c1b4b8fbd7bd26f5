"""Turn an uploaded file into a header and numbered records, whatever wrote it.

Handles what Excel and other tools produce: a UTF-8 byte-order mark, Windows-1252
text, ``;`` or tab separators, quoted fields, trailing empty columns, and .xlsx
workbooks. Anything it cannot read for certain is refused with a sentence that says
what to change; nothing is guessed silently.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time

MAX_BYTES = 50 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message says what to do."""


@dataclass
class Table:
    header: list[str]
    records: list[tuple[int, list[str]]]  # (line number in the file, fields)
    delimiter: str = ","


def too_big(name: str, size: int, limit: int) -> str:
    return (
        f"{name} is {size / 1048576:.1f} MB, over the {limit / 1048576:.0f} MB limit;"
        " split it into one file per quarter."
    )


def read_bytes(data: bytes, name: str = "upload.csv", max_bytes: int = MAX_BYTES) -> Table:
    if len(data) > max_bytes:
        raise UnreadableFile(too_big(name, len(data), max_bytes))
    if not data.strip(b"\r\n\t \xef\xbb\xbf"):
        raise UnreadableFile(
            f"{name} is empty; it needs a header line (indicator,area,quarter,value) and one row per figure."
        )
    if data.startswith(XLSX_MAGIC) or name.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, name)
    return _read_text(_decode(data, name), name)


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise UnreadableFile(
            f"{name} is not a text file (it contains binary data); save it from Excel as"
            " 'CSV UTF-8' or upload the .xlsx workbook itself."
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Excel's "CSV" on Windows writes Windows-1252 (a £ is byte 0xA3).
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{name} is neither UTF-8 nor Windows-1252 text (byte {exc.start});"
            " save it from Excel as 'CSV UTF-8'."
        ) from None


def _read_text(text: str, name: str) -> Table:
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    if first.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        for fields in reader:
            if header is None:
                header = fields
                continue
            if not any(f.strip() for f in fields):
                continue  # blank line, or a row of empty cells left by a spreadsheet
            records.append((reader.line_num, fields))
    except csv.Error as exc:
        raise UnreadableFile(
            f"{name}, line {reader.line_num}: the CSV is malformed ({exc}); check the quotes on that line."
        ) from None
    return _finish(header or [], records, name, delimiter)


def _read_xlsx(data: bytes, name: str) -> Table:
    try:
        from openpyxl import load_workbook  # imported here: only uploads of workbooks need it

        values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:
        raise UnreadableFile(
            f"{name} cannot be opened as an Excel workbook; save it again as .xlsx or as 'CSV UTF-8'."
        ) from None
    header: list[str] = []
    records = []
    unsaved, percent = [], []
    value_rows = values.worksheets[0].iter_rows()
    formula_rows = formulas.worksheets[0].iter_rows(values_only=True)
    for number, (row, raw) in enumerate(zip(value_rows, formula_rows, strict=False), start=1):
        fields = []
        for cell, source in zip(row, raw, strict=False):
            value = getattr(cell, "value", None)
            where = f"{getattr(cell, 'column_letter', '?')}{number}"
            if value is None and isinstance(source, str) and source.startswith("="):
                unsaved.append(where)  # a formula whose result was never saved (written by a program)
            if isinstance(value, int | float) and "%" in (getattr(cell, "number_format", "") or ""):
                percent.append(where)  # Excel stores 74.1% as 0.741
            fields.append(_cell(value))
        if number == 1:
            header = fields
        elif any(f.strip() for f in fields):
            records.append((number, fields))
    values.close()
    formulas.close()
    if unsaved:
        raise UnreadableFile(
            f"{name}: {_cells(unsaved)} {'holds a formula' if len(unsaved) == 1 else 'hold formulas'} with no"
            " saved result; open the workbook in Excel and"
            " save it (or paste the figures as values), then upload it again.")
    if percent:
        raise UnreadableFile(
            f"{name}: {_cells(percent)} {'is' if len(percent) == 1 else 'are'} formatted as a percentage, so"
            " 74.1% is stored as 0.741; format"
            " those cells as plain numbers (74.1), save, and upload again.")
    return _finish(header, records, name, ",")


def _cells(refs: list[str]) -> str:
    return ("cell " if len(refs) == 1 else "cells ") + ", ".join(refs[:5]) + (" and more" if len(refs) > 5 else "")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _finish(header: list[str], records: list[tuple[int, list[str]]], name: str, delimiter: str) -> Table:
    header = [h.strip().lstrip("\ufeff").strip().lower() for h in header]
    # Spreadsheets leave empty columns at the right; drop them when they hold nothing.
    while header and header[-1] == "" and all(
        len(f) < len(header) or not f[len(header) - 1].strip() for _, f in records
    ):
        header.pop()
    if not any(header):
        raise UnreadableFile(
            f"{name} has no header line; the first line must name the columns (indicator,area,quarter,value)."
        )
    if not records:
        raise UnreadableFile(
            f"{name} has a header but no rows of figures; add one row per indicator, area and quarter."
        )
    return Table(header, records, delimiter)
