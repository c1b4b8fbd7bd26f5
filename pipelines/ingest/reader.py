"""Turn an uploaded file into a header and numbered records, whatever wrote it.

Handles what Excel and other tools produce: a UTF-8 byte-order mark, Windows-1252
text, ``;`` or tab separators, quoted fields, trailing empty columns, and .xlsx
workbooks. Anything it cannot read for certain is refused with a sentence that says
what to change; nothing is guessed silently.

Nothing in an upload is trusted: not its size, nor the sizes, counts and dimensions an
.xlsx declares about itself. Each cost a file can impose (bytes, rows, cells, XML
elements, seconds) is bounded by a named limit below, checked before and while reading.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import posixpath
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from time import monotonic
from typing import Any
from xml.parsers import expat

log = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024  # any upload; a 30,000-row quarter of national figures is about 2 MB of CSV
# Rows of figures in one text upload: a national history (300 areas x 100 indicators x 40
# quarters) is 1.2 million rows in about 40 MB; 50 MB of one-letter rows would be 25 million
# rows and 5 GB of lists. Workbooks cost more per row and have a lower limit.
MAX_ROWS = 1_500_000
XLSX_MAX_ROWS = 250_000
# Progress on long work: a caller may pass ``progress(stage, done, total)``; the engine calls it
# at each stage's start and end and every PROGRESS_EVERY rows in between (never per row, so a
# million-row file is not slowed). The engine draws nothing: the CLI and the pages do.
Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 5000
READING = "reading the file"

# An .xlsx is a zip of XML parts written by whoever sent it. Measured here on workbooks
# written by openpyxl: 200,000 rows x 8 columns is 6.8 MB zipped, 81 MB unpacked, 4.4
# million XML elements, read in 27 s and 195 MB; x 20 columns is 14 MB, 172 MB, 9.2
# million, 55 s and 375 MB. The limits admit the latter with some room, and no more.
XLSX_MAX_BYTES = 20 * 1024 * 1024  # the zipped file
XLSX_MAX_UNPACKED = 256 * 1024 * 1024  # all parts as they inflate, counted, not as declared (zip bombs)
XLSX_MAX_MEMBERS = 1_000  # parts in the zip: Excel writes 10 to 30
XLSX_MAX_SHEETS = 50
XLSX_MAX_COLUMNS = 32  # A to AF; the upload format has 8 columns, a national file ~20
XLSX_MAX_CELLS = 4_500_000  # cells written in the first sheet, empty ones included (200,000 x 20 and room)
XLSX_MAX_SHARED_STRINGS = 500_000  # openpyxl holds every one in memory from the start...
XLSX_MAX_STRINGS_BYTES = 64 * 1024 * 1024  # ...and all their text: 200,000 notes of 200 letters is 45 MB
XLSX_MAX_ELEMENTS = 12_000_000  # XML elements in the parts openpyxl parses: bounds its work
XLSX_MAX_PART_ELEMENTS = 250_000  # in a part openpyxl builds as one tree (styles, workbook, ...)
XLSX_MAX_ROW_ELEMENTS = 10_000  # in one row or one shared string, which openpyxl builds at once
XLSX_MAX_SECONDS = 120.0  # wall clock for reading one workbook, checked as it goes

# Why openpyxl, after the scan below, and not a Rust reader. benchmarks/xlsx_readers.py,
# each read in its own process (seconds / peak MB, imports included):
#                                 openpyxl+bounds   python-calamine      fastexcel
#   (a) normal, 3,000 rows        0.50 / 42         0.02 / 15            0.16 / 59
#   (b) A1:XFD1048576 dimension   0.24 / 41         0.00 / 13            0.14 / 59
#   (c) 20 million shared strings refused 0.67 / 17 read 3.85 / 470      read 3.48 / 475
#   (d) one cell at XFD1048576    refused 0.24 / 40 Rust panic (a BaseException) 0.15 / 58
# python-calamine is far faster on good files, but it is not bounded (memory grows with the
# shared strings a file declares), it panics on (d), and neither it nor fastexcel returns
# number formats or formulas: they cannot tell a cell formatted as a percentage (0.741 for
# 74.1%) nor a formula with no saved result, both of which must be refused (_read_xlsx).
# defusedxml is not used either: the scan refuses any DOCTYPE before openpyxl parses a
# part, and with defusedxml installed openpyxl reads a workbook about 30% slower.

# Invisible characters a cell must not carry into the database: C0 controls other than tab and
# line breaks, DEL, and the bidirectional overrides that can make text display as other text.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

XLSX_MAGIC = b"PK\x03\x04"
_CHUNK = 64 * 1024
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
# openpyxl looks for the workbook part under these content types, in this order.
_WORKBOOK_TYPES = (
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_STYLES_PART = "xl/styles.xml"  # openpyxl reads styles from this name, whatever the manifest says
_PROPERTY_PARTS = ("docProps/core.xml", "docProps/custom.xml")  # openpyxl parses these by name too
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d+)")


def _tag(namespace: str, local: str) -> str:
    return f"{namespace} {local}"  # how expat names an element with namespace_separator=" "


_ROW, _C, _V, _F, _IS = (_tag(_MAIN, t) for t in ("row", "c", "v", "f", "is"))
_SI = _tag(_MAIN, "si")


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message says what to do."""


@dataclass
class Table:
    header: list[str]
    records: list[tuple[int, list[str]]]  # (line number in the file, fields)
    delimiter: str = ","
    # False when the text was searched whole and holds no invisible control character, so the
    # checks need not search row by row (CONTROL); True when it may (a workbook)
    may_hold_controls: bool = True


def too_big(name: str, size: int, limit: int) -> str:
    return (
        f"{name} is {size / 1048576:.1f} MB, over the {limit / 1048576:.0f} MB limit;"
        " split it into one file per quarter."
    )


def read_bytes(data: bytes, name: str = "upload.csv", max_bytes: int = MAX_BYTES,
               progress: Progress | None = None) -> Table:
    """With ``progress``, reports (``READING``, bytes read, bytes): a CSV as it goes, a workbook
    at its start and end."""
    if progress:
        progress(READING, 0, len(data))
    table = _read_bytes(data, name, max_bytes, progress)
    if progress:
        progress(READING, len(data), len(data))
    return table


def _read_bytes(data: bytes, name: str, max_bytes: int, progress: Progress | None) -> Table:
    if len(data) > max_bytes:
        raise UnreadableFile(too_big(name, len(data), max_bytes))
    if not data.strip(b"\r\n\t \xef\xbb\xbf"):
        raise UnreadableFile(
            f"{name} is empty; it needs a header line (indicator,area,quarter,value) and one row per figure."
        )
    if data.startswith(XLSX_MAGIC) or name.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, name)
    return _read_text(_decode(data, name), name, progress, len(data))


# --- text ------------------------------------------------------------------------------

# A well-formed UTF-8 sequence of two to four bytes. Windows-1252 text almost never holds
# one by chance (it would take, say, "Ã" followed by "©"), so finding one in a file that
# is not UTF-8 throughout means two encodings were mixed, not that it is Windows-1252.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(data: bytes, name: str) -> str:
    nul = data.find(b"\x00")  # anywhere: csv stops a field at a NUL, so a late one would cut data silently
    if nul >= 0:
        raise UnreadableFile(
            f"{name} is not a text file (line {_line_of(data, nul)} holds a NUL byte, as binary data does);"
            " save it from Excel as 'CSV UTF-8' or upload the .xlsx workbook itself."
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
    if _UTF8_SEQUENCE.search(data):
        raise UnreadableFile(
            f"{name}, line {_line_of(data, bad)}: byte 0x{data[bad]:02X} is not UTF-8 although other letters in"
            " the file are, so it mixes two encodings and would be garbled; open it in Excel and save it again"
            " as 'CSV UTF-8'."
        )
    try:
        # Excel's "CSV" on Windows writes Windows-1252 (a £ is byte 0xA3).
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{name} is neither UTF-8 nor Windows-1252 text (byte {exc.start});"
            " save it from Excel as 'CSV UTF-8'."
        ) from None


def _read_text(text: str, name: str, progress: Progress | None = None, size: int = 0) -> Table:
    end = text.find("\n")
    first = text if end < 0 else text[:end]  # not split(): that would copy the whole rest of the file
    delimiter = max((",", ";", "\t"), key=first.count)
    if first.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    # One comparison per row serves both the row limit and progress: ``mark`` is the next count
    # at which either applies.
    lines = text.count("\n") + 1 if progress else 0
    mark = min(PROGRESS_EVERY, MAX_ROWS) if progress else MAX_ROWS
    try:
        for fields in reader:
            if header is None:
                header = fields
                continue
            if not "".join(fields).strip():  # as any(f.strip() for f in fields), without a call per field
                continue  # blank line, or a row of empty cells left by a spreadsheet
            records.append((reader.line_num, fields))
            if len(records) > mark:
                if len(records) > MAX_ROWS:
                    raise UnreadableFile(_too_many_rows(name, MAX_ROWS))
                if progress:
                    progress(READING, size * min(reader.line_num, lines) // lines, size)  # bytes, pro rata
                    mark = min(mark + PROGRESS_EVERY, MAX_ROWS)
    except csv.Error as exc:
        raise UnreadableFile(
            f"{name}, line {reader.line_num}: the CSV is malformed ({exc}); check the quotes on that line."
        ) from None
    table = _finish(header or [], records, name, delimiter)
    table.may_hold_controls = CONTROL.search(text) is not None  # one search of the whole text
    return table


def _too_many_rows(name: str, limit: int) -> str:
    return (f"{name} has more than {limit:,} rows of figures, the limit for one upload;"
            " split it into one file per quarter.")


# --- .xlsx: messages ----------------------------------------------------------------------


def _not_a_workbook(name: str) -> str:
    return f"{name} cannot be opened as an Excel workbook; save it again as .xlsx or as 'CSV UTF-8'."


def _damaged(name: str, what: str) -> str:
    return f"{name} is damaged ({what}); open it in Excel, save it again, and upload the new file."


def _too_complex(name: str, what: str) -> str:
    return (
        f"{name} {what}, far more than a file of figures needs; copy the figures into a new workbook"
        " (Paste Special, Values) or save them as 'CSV UTF-8', and upload that."
    )


def _too_slow(name: str) -> str:
    return (
        f"{name} took longer than {XLSX_MAX_SECONDS:.0f} seconds to read, the limit for a workbook; save the"
        " figures as 'CSV UTF-8' (much quicker to read) or split them into one file per quarter."
    )


def _letters(column: int) -> str:
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- .xlsx: what the whole workbook may cost ------------------------------------------------


@dataclass
class _Budget:
    """What reading one workbook has cost so far; every part's scan charges it."""

    name: str
    deadline: float
    unpacked: int = 0
    elements: int = 0

    def charge_bytes(self, size: int) -> None:
        self.unpacked += size
        if self.unpacked > XLSX_MAX_UNPACKED:
            raise UnreadableFile(_too_complex(self.name, f"unpacks to more than {XLSX_MAX_UNPACKED >> 20} MB"))
        self.check_time()

    def charge_element(self) -> None:
        self.elements += 1
        if self.elements > XLSX_MAX_ELEMENTS:
            raise UnreadableFile(_too_complex(self.name, f"holds more than {XLSX_MAX_ELEMENTS:,} XML elements"))
        if not self.elements & 0xFFF:
            self.check_time()

    def check_time(self) -> None:
        if monotonic() > self.deadline:
            raise UnreadableFile(_too_slow(self.name))


def _check_directory(data: bytes, name: str) -> None:
    """Refuse a zip whose table of contents is too long before zipfile builds it in memory."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))  # where zipfile looks for it
    if end < 0 or end + 22 > len(data):
        raise UnreadableFile(_not_a_workbook(name))
    entries, directory_size = struct.unpack_from("<HI", data, end + 10)
    # A ZIP64 locator would make zipfile read other counts; no workbook under 20 MB needs one.
    zip64 = end >= 20 and data[end - 20 : end - 16] == b"PK\x06\x07"
    if zip64 or entries > XLSX_MAX_MEMBERS or directory_size > XLSX_MAX_MEMBERS * 1024:
        raise UnreadableFile(_too_complex(name, f"is a zip of more than {XLSX_MAX_MEMBERS:,} parts"))


def _open_archive(data: bytes, name: str) -> zipfile.ZipFile:
    _check_directory(data, name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error):
        raise UnreadableFile(_not_a_workbook(name)) from None
    infos = archive.infolist()
    if len(infos) > XLSX_MAX_MEMBERS:
        raise UnreadableFile(_too_complex(name, f"is a zip of more than {XLSX_MAX_MEMBERS:,} parts"))
    if sum(info.file_size for info in infos) > XLSX_MAX_UNPACKED:  # declared: a cheap early no, never a yes
        raise UnreadableFile(_too_complex(name, f"unpacks to more than {XLSX_MAX_UNPACKED >> 20} MB"))
    return archive


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> Iterator[bytes]:
    """A part's bytes as they inflate, each chunk charged before anyone sees it."""
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                budget.charge_bytes(len(chunk))
                yield chunk
    except UnreadableFile:
        raise
    except Exception:
        # zipfile and zlib raise many kinds on a damaged archive (BadZipFile for a bad CRC,
        # zlib.error, EOFError, NotImplementedError for an unknown compression, RuntimeError
        # for encryption...): each is the file's fault, so it becomes one sentence.
        log.warning("cannot unpack part %s of upload %s", info.filename, budget.name, exc_info=True)
        raise UnreadableFile(_damaged(budget.name, f"its part {info.filename} cannot be unpacked")) from None


# --- .xlsx: scanning the parts openpyxl will parse -----------------------------------------


class _Part:
    """Counts one XML part's elements as expat streams it; subclasses note what they need.

    XLSX_MAX_PART_ELEMENTS bounds the elements openpyxl would build into one tree in
    memory; it does not apply to the parts openpyxl streams (``streamed``: worksheets,
    shared strings), which other limits bound.
    """

    wants_end = False
    wants_text = False
    max_bytes: int | None = None  # of this part alone, beyond the workbook's XLSX_MAX_UNPACKED

    def __init__(self, budget: _Budget, part: str, streamed: bool = False) -> None:
        self.budget = budget
        self.part = part
        self.streamed = streamed
        self.elements = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.budget.charge_element()
        self.count_tree()
        self.element(tag, attrs)

    def count_tree(self) -> None:
        self.elements += 1
        if self.elements > XLSX_MAX_PART_ELEMENTS and not self.streamed:
            raise UnreadableFile(
                _too_complex(self.budget.name, f"has more than {XLSX_MAX_PART_ELEMENTS:,} XML elements in {self.part}")
            )

    def element(self, tag: str, attrs: dict[str, str]) -> None:
        pass

    def end(self, tag: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass

    def doctype(self, *_: object) -> None:
        # Spreadsheet programs never write a DOCTYPE; entities declared in one can expand
        # a few bytes into gigabytes ("billion laughs") or fetch files from the server.
        raise UnreadableFile(
            f"{self.budget.name}: its part {self.part} declares a DOCTYPE, which spreadsheet programs never"
            " write; save the workbook again from Excel and upload the new file."
        )

    def position(self) -> str:
        return f"its part {self.part} is not well-formed XML"


def _parse(archive: zipfile.ZipFile, info: zipfile.ZipInfo, part: _Part) -> None:
    """Stream one part through expat: nothing is held but what ``part`` keeps."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = part.doctype
    parser.EntityDeclHandler = part.doctype
    parser.StartElementHandler = part.start
    if part.wants_end:
        parser.EndElementHandler = part.end
    if part.wants_text:
        parser.buffer_text = True
        parser.CharacterDataHandler = part.text
    size = 0
    try:
        for chunk in _inflate(archive, info, part.budget):
            size += len(chunk)
            if part.max_bytes is not None and size > part.max_bytes:
                raise UnreadableFile(_too_complex(
                    part.budget.name, f"unpacks to more than {part.max_bytes >> 20} MB in its part {part.part}"))
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        reason = f"{expat.ErrorString(exc.code)} at line {exc.lineno}"
        raise UnreadableFile(_damaged(part.budget.name, f"{part.position()}: {reason}")) from None


class _ContentTypes(_Part):
    """[Content_Types].xml: where openpyxl will find the workbook and its shared strings."""

    def __init__(self, budget: _Budget) -> None:
        super().__init__(budget, "[Content_Types].xml")
        self.overrides: list[tuple[str, str]] = []
        self.defaults: set[str] = set()

    def element(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == _tag(_TYPES, "Override"):
            self.overrides.append((attrs.get("PartName", ""), attrs.get("ContentType", "")))
        elif tag == _tag(_TYPES, "Default"):
            self.defaults.add(attrs.get("ContentType", ""))

    def find(self, content_type: str) -> str | None:
        return next((part[1:] for part, kind in self.overrides if kind == content_type and part), None)

    def workbook(self) -> str | None:
        for kind in _WORKBOOK_TYPES:
            if found := self.find(kind):
                return found
        return "xl/workbook.xml" if self.defaults & set(_WORKBOOK_TYPES) else None


class _Workbook(_Part):
    """workbook.xml: its sheets in order, and the date system."""

    def __init__(self, budget: _Budget, part: str) -> None:
        super().__init__(budget, part)
        self.sheets: list[str] = []  # relationship ids
        self.date1904 = False

    def element(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == _tag(_MAIN, "sheet"):
            self.sheets.append(attrs.get(_tag(_REL, "id"), ""))
            if len(self.sheets) > XLSX_MAX_SHEETS:
                raise UnreadableFile(_too_complex(self.budget.name, f"has more than {XLSX_MAX_SHEETS} sheets"))
        elif tag == _tag(_MAIN, "workbookPr"):
            self.date1904 = attrs.get("date1904", "").lower() in ("1", "true")


def _rels_path(part: str) -> str:
    folder, file = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{file}.rels")


class _Relationships(_Part):
    """A .rels part: relationship id to (type, part), resolved as openpyxl resolves them."""

    def __init__(self, budget: _Budget, part: str) -> None:
        super().__init__(budget, part)
        self.parent = posixpath.split(posixpath.dirname(part))[0]
        self.targets: dict[str, tuple[str, str]] = {}

    def element(self, tag: str, attrs: dict[str, str]) -> None:
        if tag != _tag(_PACKAGE_REL, "Relationship") or attrs.get("TargetMode") == "External":
            return
        target = attrs.get("Target", "")
        target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(self.parent, target))
        self.targets[attrs.get("Id", "")] = (attrs.get("Type", ""), target)


class _Strings(_Part):
    """sharedStrings.xml: openpyxl keeps every string, so their number and size are what cost."""

    wants_end = True
    max_bytes = XLSX_MAX_STRINGS_BYTES

    def __init__(self, budget: _Budget, part: str) -> None:
        super().__init__(budget, part, streamed=True)
        self.count = 0
        self.open = 0  # elements in the string being read; 0 between strings

    def element(self, tag: str, attrs: dict[str, str]) -> None:
        if self.open:
            self.open += 1
            if self.open > XLSX_MAX_ROW_ELEMENTS:
                raise UnreadableFile(_too_complex(self.budget.name, f"has a shared string {self.count} made of"
                                                                    f" more than {XLSX_MAX_ROW_ELEMENTS:,} parts"))
        elif tag == _SI:
            self.count += 1
            self.open = 1
            if self.count > XLSX_MAX_SHARED_STRINGS:
                raise UnreadableFile(_too_complex(
                    self.budget.name, f"holds more than {XLSX_MAX_SHARED_STRINGS:,} different texts (shared strings)"))

    def end(self, tag: str) -> None:
        if tag == _SI:
            self.open = 0


class _Styles(_Part):
    """styles.xml: the number format of each cell style, to know which cells openpyxl makes dates."""

    wants_end = True

    def __init__(self, budget: _Budget) -> None:
        super().__init__(budget, _STYLES_PART)
        self.custom: dict[int, str] = {}
        self.formats: list[int] = []  # number format id of each cell style
        self.in_cell_styles = False

    def element(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == _tag(_MAIN, "numFmt"):
            self.custom[_int(attrs.get("numFmtId"), -1)] = attrs.get("formatCode", "")
        elif tag == _tag(_MAIN, "cellXfs"):
            self.in_cell_styles = True
        elif tag == _tag(_MAIN, "xf") and self.in_cell_styles:
            self.formats.append(_int(attrs.get("numFmtId"), 0))

    def end(self, tag: str) -> None:
        if tag == _tag(_MAIN, "cellXfs"):
            self.in_cell_styles = False

    def kinds(self) -> tuple[set[int], set[int]]:
        """Styles openpyxl turns into dates and into durations (its own rule, Stylesheet._normalise_numbers)."""
        from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format

        codes = [self.custom[f] if f in self.custom else builtin_format_code(f) for f in self.formats]
        return ({i for i, c in enumerate(codes) if is_date_format(c)},
                {i for i, c in enumerate(codes) if is_timedelta_format(c)})


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default


def _whole(text: str) -> int:
    """A row number as openpyxl reads it ("7" or "7.0"); 0 if it is none."""
    try:
        number = float(text)
    except ValueError:
        return 0
    return int(number) if number.is_integer() and number >= 1 else 0


def _number(text: str) -> float:
    # openpyxl's rule (worksheet/_reader.py, _cast_number): a '.', 'E' or 'e' makes a float, else an int
    number = float(text) if "." in text or "E" in text or "e" in text else int(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return number


class _Sheet(_Part):
    """The first worksheet: how far its cells reach, and what in them openpyxl would choke on.

    The sheet's own <dimension> is ignored: the extent is that of the cells that hold
    something, and only that extent is ever handed to openpyxl.
    """

    wants_end = True
    wants_text = True

    def __init__(self, budget: _Budget, part: str, strings: int, styles: _Styles | None, date1904: bool) -> None:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH

        super().__init__(budget, part)  # the tree limit counts what lies outside the rows
        self.strings = strings
        self.styles = len(styles.formats) if styles and styles.formats else 1
        self.dates, self.durations = styles.kinds() if styles else (set(), set())
        self.epoch = CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH
        self.rows = self.cells = self.row = self.column = self.row_elements = 0
        self.last_row = self.last_column = 0  # extent of the cells that hold something
        self.unsaved: list[str] = []  # formulas with no saved result (the first six)
        self.in_row = self.in_cell = self.in_value = self.formula = self.inline = False
        self.kind, self.style = "n", 0
        self.value: list[str] | None = None  # text of the cell's <v>, None before one

    def start(self, tag: str, attrs: dict[str, str]) -> None:  # the hot path: one call per element
        self.budget.charge_element()
        if not self.in_row:
            if tag == _ROW:
                self.open_row(attrs)
            else:
                self.count_tree()
            return
        self.row_elements += 1
        if self.row_elements > XLSX_MAX_ROW_ELEMENTS:
            raise UnreadableFile(_too_complex(self.budget.name, f"has more than {XLSX_MAX_ROW_ELEMENTS:,} XML"
                                                                f" elements in row {self.row}"))
        if tag == _C:
            self.open_cell(attrs)
        elif tag == _V and self.in_cell and self.value is None:
            self.value, self.in_value = [], True  # openpyxl reads the first <v> of a cell
        elif tag == _F:
            self.formula = True
        elif tag == _IS:
            self.inline = True

    def end(self, tag: str) -> None:
        if tag == _V:
            self.in_value = False
        elif tag == _C and self.in_cell:
            self.close_cell()
        elif tag == _ROW:
            self.in_row = self.in_cell = False

    def text(self, data: str) -> None:
        if self.in_value and self.value is not None:
            self.value.append(data)

    def open_row(self, attrs: dict[str, str]) -> None:
        self.rows += 1
        if self.rows > XLSX_MAX_ROWS:
            raise UnreadableFile(_too_many_rows(self.budget.name, XLSX_MAX_ROWS))
        written = attrs.get("r")
        self.row = self.row + 1 if written is None else _whole(written)
        if self.row < 1:
            raise UnreadableFile(_damaged(self.budget.name, f"a row of the first sheet is numbered '{written}'"))
        self.in_row, self.row_elements, self.column = True, 1, 0

    def open_cell(self, attrs: dict[str, str]) -> None:
        self.cells += 1
        if self.cells > XLSX_MAX_CELLS:
            raise UnreadableFile(_too_complex(self.budget.name, f"has more than {XLSX_MAX_CELLS:,} cells"))
        ref = attrs.get("r")
        match = _CELL_REF.fullmatch(ref) if ref else None
        if ref and not match:
            raise UnreadableFile(_damaged(self.budget.name, f"a cell in row {self.row} is named '{ref[:20]}'"))
        self.column = _column(match.group(1)) if match else self.column + 1
        style = attrs.get("s")
        self.style = _int(style, -1) if style else 0
        if self.style < 0:
            raise UnreadableFile(_damaged(self.budget.name, f"cell {self.where()} has the style '{style}'"))
        self.kind = attrs.get("t", "n")
        self.in_cell, self.value, self.formula, self.inline = True, None, False, False

    def where(self) -> str:
        return f"{_letters(self.column)}{self.row}"

    def close_cell(self) -> None:
        self.in_cell = False
        text = "".join(self.value or ())
        if not (text or self.formula or self.inline):
            return  # an empty cell (perhaps formatted) reaches nothing openpyxl is asked for
        if self.column > XLSX_MAX_COLUMNS:
            raise UnreadableFile(
                f"{self.budget.name}: cell {self.where()} is beyond column {_letters(XLSX_MAX_COLUMNS)}, the limit"
                " for one upload; delete the columns to the right of your figures, save, and upload again.")
        if self.row > XLSX_MAX_ROWS:
            raise UnreadableFile(
                f"{self.budget.name}: cell {self.where()} is below row {XLSX_MAX_ROWS:,}, the limit for one upload;"
                " delete the rows below your figures (or split the file into one per quarter) and upload again.")
        self.last_row, self.last_column = max(self.last_row, self.row), max(self.last_column, self.column)
        if self.style >= self.styles:
            raise UnreadableFile(_damaged(self.budget.name, f"cell {self.where()} has a style the workbook lacks"))
        if self.formula and not text and not self.inline:
            if len(self.unsaved) < 6:
                self.unsaved.append(self.where())  # written by a program that does not calculate
        elif text and self.kind != "inlineStr":
            self.check_value(text)

    def check_value(self, text: str) -> None:
        """Refuse, naming the cell, each value openpyxl would fail on or turn silently into an error."""
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        shown = text if len(text) <= 30 else text[:27] + "..."
        try:
            if self.kind == "s":
                index = int(text)
                if not 0 <= index < self.strings:
                    raise ValueError(text)
            elif self.kind == "b":
                int(text)
            elif self.kind == "d":
                from_ISO8601(text)
            elif self.kind == "n":
                number = _number(text)
                if self.style in self.dates:
                    self.check_date(number, shown, from_excel)
        except (ValueError, OverflowError):
            problem = {"s": f"points to shared text {shown}, but the workbook holds {self.strings}",
                       "b": f"holds '{shown}' as true or false",
                       "d": f"is marked as a date but holds '{shown}'"}.get(self.kind, f"holds '{shown}' as a number")
            raise UnreadableFile(_damaged(self.budget.name, f"cell {self.where()} {problem}")) from None

    def check_date(self, number: float, shown: str, from_excel: Any) -> None:
        try:
            from_excel(number, self.epoch, timedelta=self.style in self.durations)
        except (ValueError, OverflowError):
            raise UnreadableFile(
                f"{self.budget.name}: cell {self.where()} is formatted as a date but holds {shown}, which is no"
                " date (Excel shows it as ####); type the date again (e.g. 2010-06-30) or format the cell as a"
                " number, save, and upload again.") from None

    def position(self) -> str:
        place = f" after row {self.row}" if self.row else ""
        return f"the first sheet's XML breaks off{place}"


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


class _Scanner:
    """Parts of one archive, each streamed once: the ones openpyxl parses through expat, the rest only counted."""

    def __init__(self, archive: zipfile.ZipFile, budget: _Budget) -> None:
        self.archive = archive
        self.budget = budget
        self.names = set(archive.namelist())
        self.done: set[int] = set()

    def scan(self, part: _Part) -> bool:
        if part.part not in self.names:
            return False
        info = self.archive.getinfo(part.part)  # the last of any duplicates, as openpyxl reads
        if id(info) not in self.done:
            self.done.add(id(info))
            _parse(self.archive, info, part)
        return True

    def rest(self) -> None:
        for info in self.archive.infolist():
            if id(info) not in self.done:
                for _ in _inflate(self.archive, info, self.budget):
                    pass  # inflated and counted: a zip bomb is stopped even in a part nobody reads


def _sheet_parts(book: _Workbook, rels: _Relationships, names: set[str], name: str) -> list[str]:
    """The sheets openpyxl will open, in its order (it skips those whose part is missing)."""
    parts = []
    for rid in book.sheets:
        kind, target = rels.targets.get(rid, ("", ""))
        if not rid or target not in names:
            continue
        if "chartsheet" in kind:
            # openpyxl opens a chart sheet's charts and decodes its pictures at load, which
            # nothing above can bound; a file of figures has no need of one.
            raise UnreadableFile(
                f"{name} holds a chart sheet, which an upload cannot contain; delete the chart sheet (or save"
                " the figures as 'CSV UTF-8'), and upload again.")
        parts.append(target)
    if not parts:
        raise UnreadableFile(f"{name} has no worksheet; put the figures on the first sheet and upload it again.")
    return parts


def _scan_workbook(archive: zipfile.ZipFile, budget: _Budget) -> _Sheet:
    """Stream every part once, bounding what openpyxl will meet; return the first sheet's findings."""
    scanner = _Scanner(archive, budget)
    types = _ContentTypes(budget)
    book_part = types.workbook() if scanner.scan(types) else None
    book = _Workbook(budget, book_part or "")
    if not book_part or not scanner.scan(book):
        raise UnreadableFile(_not_a_workbook(budget.name))
    rels = _Relationships(budget, _rels_path(book_part))
    scanner.scan(rels)
    sheets = _sheet_parts(book, rels, scanner.names, budget.name)
    strings = _Strings(budget, types.find(_STRINGS_TYPE) or "")
    scanner.scan(strings)
    styles = _Styles(budget)
    has_styles = scanner.scan(styles)
    for path in _PROPERTY_PARTS:
        scanner.scan(_Part(budget, path))
    first = _Sheet(budget, sheets[0], strings.count, styles if has_styles else None, book.date1904)
    scanner.scan(first)
    for path in sheets[1:]:  # openpyxl reads each sheet at load, looking for its <dimension>
        scanner.scan(_Part(budget, path, streamed=True))
    for path in sheets:
        scanner.scan(_Part(budget, _rels_path(path)))
    scanner.rest()
    return first


# --- .xlsx: reading ---------------------------------------------------------------------------


def _read_xlsx(data: bytes, name: str) -> Table:
    budget = _Budget(name, monotonic() + XLSX_MAX_SECONDS)
    if len(data) > XLSX_MAX_BYTES:
        raise UnreadableFile(too_big(name, len(data), XLSX_MAX_BYTES))
    with _open_archive(data, name) as archive:
        sheet = _scan_workbook(archive, budget)
    if sheet.unsaved:
        raise UnreadableFile(
            f"{name}: {_cells(sheet.unsaved)} {'holds a formula' if len(sheet.unsaved) == 1 else 'hold formulas'}"
            " with no saved result; open the workbook in Excel and"
            " save it (or paste the figures as values), then upload it again.")
    if not sheet.last_row:
        return _finish([], [], name, ",")  # nothing written: say there is no header
    return _read_sheet(data, sheet, budget)


def _read_sheet(data: bytes, scan: _Sheet, budget: _Budget) -> Table:
    from openpyxl import load_workbook  # imported here: only uploads of workbooks need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception:
        # openpyxl raises whatever its parsing meets (KeyError, TypeError, ValueError,
        # ParseError...); the scan bounded the file, so any fault left is the file's.
        log.warning("openpyxl cannot open upload %s", budget.name, exc_info=True)
        raise UnreadableFile(_not_a_workbook(budget.name)) from None
    try:
        return _collect(book, scan, budget)
    finally:
        book.close()


def _collect(book: Any, scan: _Sheet, budget: _Budget) -> Table:
    name = budget.name
    header: list[str] = []
    records = []
    percent: list[str] = []
    for number, fields in _rows(book, scan, budget, percent):
        if number == 1:
            header = fields
        elif any(f.strip() for f in fields):
            records.append((number, fields))
    if percent:
        raise UnreadableFile(
            f"{name}: {_cells(percent)} {'is' if len(percent) == 1 else 'are'} formatted as a percentage, so"
            " 74.1% is stored as 0.741; format"
            " those cells as plain numbers (74.1), save, and upload again.")
    return _finish(header, records, name, ",")


def _rows(book: Any, scan: _Sheet, budget: _Budget, percent: list[str]) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows as text, within the scanned extent; openpyxl's faults become one sentence."""
    number = 0
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # never pad rows to a declared <dimension> (A1:XFD1048576 took hours)
        rows = sheet.iter_rows(max_row=scan.last_row, max_col=scan.last_column)
        for number in range(1, scan.last_row + 1):
            budget.check_time()
            row = next(rows, None)
            if row is None:
                return
            yield number, _fields(row, number, percent)
    except UnreadableFile:
        raise
    except Exception:
        # openpyxl raises IndexError, ValueError, ParseError... on a sheet damaged in a way
        # the scan did not foresee: name the row for the user, keep the details for the admin.
        log.warning("openpyxl failed on row %d of upload %s", number, budget.name, exc_info=True)
        raise UnreadableFile(_damaged(budget.name, f"row {number or 1} of the first sheet cannot be read")) from None


def _fields(row: tuple[Any, ...], number: int, percent: list[str]) -> list[str]:
    fields = []
    for cell in row:
        value = cell.value
        if isinstance(value, int | float) and "%" in (cell.number_format or "") and len(percent) < 6:
            percent.append(f"{cell.column_letter}{number}")  # Excel stores 74.1% as 0.741
        fields.append(_cell(value))
    return fields


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


# --- both ---------------------------------------------------------------------------------


def _used_width(header: list[str], records: list[tuple[int, list[str]]]) -> int:
    """Columns up to the last one with a name or a value; one pass over the cells."""
    used = max((i + 1 for i, h in enumerate(header) if h), default=0)
    if used == len(header):
        return used  # the last column has a name: no cell can widen the table past it
    for _, fields in records:
        for i in range(min(len(fields), len(header)) - 1, used - 1, -1):
            if fields[i].strip():
                used = i + 1
                break
    return used


def _finish(header: list[str], records: list[tuple[int, list[str]]], name: str, delimiter: str) -> Table:
    header = [h.strip().lstrip("\ufeff").strip().lower() for h in header]
    # Spreadsheets leave empty columns at the right; drop them when they hold nothing.
    del header[_used_width(header, records):]
    if not any(header):
        raise UnreadableFile(
            f"{name} has no header line; the first line must name the columns (indicator,area,quarter,value)."
        )
    if not records:
        raise UnreadableFile(
            f"{name} has a header but no rows of figures; add one row per indicator, area and quarter."
        )
    return Table(header, records, delimiter)
