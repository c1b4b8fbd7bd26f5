"""Time and peak memory of three .xlsx readers on a normal workbook and on three attacks.

Readers:
- ``openpyxl+bounds``: ragboard's own ``pipelines.reader.read_bytes`` (a streaming scan
  with limits, then openpyxl in read-only mode);
- ``python-calamine`` and ``fastexcel`` (both Rust, on PyPI; install them into the
  virtualenv to measure them: ``.venv/bin/pip install python-calamine fastexcel``).

Files, built by hand in a temporary folder:
(a) a normal 3,000-row, 8-column workbook written by openpyxl (shared strings, styles);
(b) 1,000 rows declaring ``<dimension ref="A1:XFD1048576"/>`` (openpyxl pads every row
    to 16,384 columns);
(c) 20 million empty shared strings, 1.3 MB zipped;
(d) a single cell at XFD1048576.

Each read runs in its own process, under a 4 GB address-space limit and a time limit, and
reports its own peak resident memory, imports included: VmHWM from /proc/self/status, not
ru_maxrss, which on Linux keeps the parent's peak when the child is started by vfork/exec.
``openpyxl alone`` is how ragboard read workbooks before the bounds (read-only, no scan).

Usage: .venv/bin/python benchmarks/xlsx_readers.py [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
MEMORY_LIMIT = 4 * 1024**3

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEET}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SPREADSHEET}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SPREADSHEET}.sharedStrings+xml"/></Types>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?>'
             '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?>'
                 '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                 f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
STRINGS = ("indicator", "area", "quarter", "value", "NI 16", "Derbyshire", "2010/11 Q1")
SMALL_STRINGS = f'<sst xmlns="{MAIN}">' + "".join(f"<si><t>{s}</t></si>" for s in STRINGS) + "</sst>"


def _row(number: int, strings: tuple[int, ...], value: float | None) -> str:
    cells = "".join(f'<c r="{c}{number}" t="s"><v>{s}</v></c>' for c, s in zip("ABCD", strings, strict=False))
    if value is not None:
        cells += f'<c r="D{number}"><v>{value}</v></c>'
    return f'<row r="{number}">{cells}</row>'


def _sheet(rows: str, dimension: str = "") -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<worksheet xmlns="{MAIN}">{dim}<sheetData>{rows}</sheetData></worksheet>'


def _write(path: Path, sheet: str, strings: str = SMALL_STRINGS) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                           ("xl/workbook.xml", WORKBOOK), ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
                           ("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", strings)):
            archive.writestr(name, text)


def normal(path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["indicator", "area", "quarter", "value", "lower", "upper", "reported_status", "note"])
    for i in range(3000):
        sheet.append([f"NI {i % 100}", f"Area {i % 30}", "2010/11 Q1", 9.6 + i % 7, 8.1, 11.2, "G", f"note {i}"])
    book.save(path)


def dimension(path: Path) -> None:
    rows = _row(1, (0, 1, 2, 3), None) + "".join(_row(i, (4, 5, 6), 9.6) for i in range(2, 1002))
    _write(path, _sheet(rows, "A1:XFD1048576"))


def shared_strings(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                           ("xl/workbook.xml", WORKBOOK), ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
                           ("xl/worksheets/sheet1.xml", _sheet(_row(1, (0, 1, 2, 3), None)))):
            archive.writestr(name, text)
        with archive.open("xl/sharedStrings.xml", "w") as part:  # streamed: 260 MB never sits in memory
            part.write(f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>indicator</t></si>" * 4)
            block = b"<si><t/></si>" * 100_000
            for _ in range(200):
                part.write(block)
            part.write(b"</sst>")


def corner(path: Path) -> None:
    _write(path, _sheet('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))


FILES = {"(a) normal, 3,000 rows": ("normal.xlsx", normal),
         "(b) 1,000 rows, dimension A1:XFD1048576": ("dimension.xlsx", dimension),
         "(c) 20 million shared strings": ("strings.xlsx", shared_strings),
         "(d) one cell at XFD1048576": ("corner.xlsx", corner)}

READERS = {
    "openpyxl alone": """
from openpyxl import load_workbook
rows = width = 0
for row in load_workbook(path, read_only=True, data_only=True).worksheets[0].iter_rows(values_only=True):
    rows, width = rows + 1, max(width, len([str(value) for value in row]))  # each cell visited, as a reader must
outcome = f"{rows} rows x {width} columns"
""",
    "openpyxl+bounds": """
from pipelines.ingest import reader
try:
    table = reader.read_bytes(open(path, "rb").read(), path.rsplit("/", 1)[-1])
    outcome = f"{len(table.records)} rows x {len(table.header)} columns"
except reader.UnreadableFile as exc:
    outcome = "refused: " + str(exc).split(";")[0]
""",
    "python-calamine": """
from python_calamine import CalamineWorkbook
rows = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python(skip_empty_area=False)
outcome = f"{len(rows)} rows x {max(map(len, rows), default=0)} columns"
""",
    "fastexcel": """
import fastexcel
table = fastexcel.read_excel(path).load_sheet(0, header_row=None).to_arrow()
outcome = f"{table.num_rows} rows x {table.num_columns} columns"
""",
}

CHILD = """
import json, re, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
path = sys.argv[1]
start = time.perf_counter()
try:
{body}
except MemoryError:
    outcome = "MemoryError"
except BaseException as exc:  # python-calamine's Rust panics are BaseExceptions
    outcome = f"{{type(exc).__name__}}: {{str(exc)[:60]}}"
seconds = time.perf_counter() - start
peak = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
print(json.dumps({{"seconds": seconds, "outcome": outcome, "peak_mb": peak}}))
"""


def measure(body: str, path: Path, timeout: float) -> tuple[str, str, str]:
    """(seconds, peak MB, outcome) of one read in a fresh process."""
    code = CHILD.format(limit=MEMORY_LIMIT, body="\n".join("    " + line for line in body.strip().splitlines()))
    try:
        done = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f}", "?", "still running: killed"
    if done.returncode != 0 or not done.stdout.strip():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return "?", "?", f"crashed (exit {done.returncode}): {last[:60]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return f"{result['seconds']:.2f}", f"{result['peak_mb']:.0f}", result["outcome"]


def available(reader: str) -> bool:
    module = {"python-calamine": "python_calamine", "fastexcel": "fastexcel"}.get(reader, "openpyxl")
    found = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return found.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a read is killed")
    args = parser.parse_args()
    readers = {name: body for name, body in READERS.items() if available(name)}
    missing = sorted(set(READERS) - set(readers))
    with tempfile.TemporaryDirectory() as folder:
        print("| file | size | reader | seconds | peak MB | outcome |\n|---|---|---|---|---|---|")
        for label, (file_name, build) in FILES.items():
            path = Path(folder) / file_name
            build(path)
            size = f"{path.stat().st_size / 1024:,.1f} KB"
            for reader, body in readers.items():
                seconds, peak, outcome = measure(body, path, args.timeout)
                print(f"| {label} | {size} | {reader} | {seconds} | {peak} | {outcome} |", flush=True)
    if missing:
        print(f"\nnot installed, not measured: {', '.join(missing)}")


if __name__ == "__main__":
    main()
