"""Paths, sample data, page helpers and file builders shared by the unit, page and browser tests.

Plain functions and constants only: the pytest fixtures are in conftest.py (tests/ and tests/browser/),
and no test module imports another test module.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
import streamlit as st
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from pipelines.catalogue import config, quarters
from pipelines.ingest import loading

# --- Paths and the sample -------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "sample"
CONFIG_PATH = ROOT / "indicators.yaml"
Q1_2010 = 2010 * 4  # quarter index of 2010/11 Q1


def load_sample(connection: duckdb.DuckDBPyConnection, catalogue: config.Catalogue) -> None:
    """Load the sample's populations, then every quarter, through the real ingest path (as init does)."""
    assert sorted(SAMPLE_DIR.glob("*.csv")), f"no sample files in {SAMPLE_DIR}"
    loading.load_sample(connection, catalogue, SAMPLE_DIR, analyst="init")


def big_file(path: Path, catalogue: config.Catalogue) -> Path:
    """Every indicator and area in scope for 400 quarters, 1900/01 to 1999/00 (before the sample):
    10,800 new rows."""
    lines = ["indicator,area,quarter,value"]
    for qi in range(1900 * 4, 1900 * 4 + 400):
        label = quarters.label(qi)
        for ind in catalogue.indicators:
            for area in catalogue.areas:
                if catalogue.in_scope(ind, area):
                    lines.append(f"{ind.id},{area},{label},{qi % 97 + 0.5}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- Analyst accounts and uploads (the page tests and the browser tests use the same ones) -----------

ANALYST, PASSWORD = "Sam Analyst", "a long enough passphrase"
BAD = b"indicator,area,quarter,value\nNI 20,Hgh Peak,2010/11 Q1,abc\nNI 99,Erewash,2010/11 Q5,1\n"
# Chesterfield's NI 20 count revised from 995 to 1,057 assaults (9.79 to 10.40 per 1,000 of its 101,586
# people), the county's NI 1 unchanged, the county's NI 16 for the next quarter new
REVISION = (b"indicator,area,quarter,value,numerator,reported_status,note\n"
            b"NI 20,Chesterfield,2010/11 Q1,,1057,A,corrected extract\n"
            b"NI 1,Derbyshire,2010/11 Q1,74.1,,A,\n"
            b"NI 16,Derbyshire,2010/11 Q2,9.4,,,\n")


# --- Pages through Streamlit's AppTest ------------------------------------------------------------

APP = str(ROOT / "dashboard" / "app.py")
OVERVIEW, INDICATOR, DISTRICT, DEFINITIONS, UPLOAD, COMPARE = (
    "views/overview.py", "views/indicator.py", "views/district.py", "views/definitions.py", "views/upload.py",
    "views/compare.py")


@contextmanager
def pages_on(monkeypatch: pytest.MonkeyPatch, db: Path, catalogue: Path | None = None) -> Iterator[Path]:
    """The pages pointed at ``db`` (and ``catalogue``) inside, with no cache left from another test
    on the way in or out."""
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("RAGBOARD_DB", str(db))
    if catalogue is None:
        monkeypatch.delenv("RAGBOARD_CONFIG", raising=False)
    else:
        monkeypatch.setenv("RAGBOARD_CONFIG", str(catalogue))
    try:
        yield db
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()


def run(page: str = OVERVIEW, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page != OVERVIEW:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key="sign_in_name").input(ANALYST)
    at.text_input(key="sign_in_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    return at.run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.get("file_uploader")[0].set_value((name, data, "text/csv"))  # type: ignore[attr-defined]
    return at.run()


@dataclass
class Table:
    """One HTML table: its data-testid, the heading above it, and its rows of cell texts."""

    test_id: str
    heading: str
    rows: list[list[str]]


class _Tables(HTMLParser):
    """Tables in document order, as rows of cell texts with whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self._table: Table | None = None
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self._last_heading = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = Table(dict(attrs).get("data-testid") or "", self._last_heading, [])
            self.tables.append(self._table)
        elif tag == "tr" and self._table is not None:
            self._table.rows.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag in ("h1", "h2", "h3") and self._table is None:
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self._last_heading = " ".join("".join(self._heading).split())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)


def tables_in(markup: str) -> list[Table]:
    parser = _Tables()
    parser.feed(markup)
    return parser.tables


def html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def table(at: AppTest, test_id: str) -> list[list[str]]:
    found = {t.test_id: t.rows for t in tables_in(html(at))}
    assert test_id in found, f"no table {test_id!r}; have {list(found)}"
    return found[test_id]


def pack_figures(markup: str) -> dict[str, dict[str, Any]]:
    """The pack's charts, by the id of the element each is drawn in: the plotly figures it embeds."""
    found = re.search(r"var figures = (.*?);\n", markup)
    assert found, "the pack embeds no figures"
    return {f["id"]: f["figure"] for f in json.loads(found.group(1))}


def section_figures(markup: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Each indicator section's figures in the pack: {'NI 32': {'trend': figure, 'spc': figure}}."""
    figures = pack_figures(markup)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for part in markup.split('<div class="indicator">')[1:]:
        indicator = re.match(r"\s*<h3>([^:]+):", part).group(1)  # type: ignore[union-attr]
        ids = re.findall(r'<div class="chart" id="(chart-\d+-(trend|spc))"', part)
        out[indicator] = {kind: figures[chart_id] for chart_id, kind in ids}
    return out


def no_spc(cell: str) -> str:
    """A cell without its SPC icons ('■ RED ∿ [F] ✗ worse' → '■ RED ✗ worse')."""
    return re.sub(r" (∿|[⊕⊖⊙][HL])( \[[PF?]\])?", "", cell)


def without_scripts(markup: str) -> str:
    """The markup with its <script> elements taken out (plotly.js holds strings such as 'href=')."""
    return re.sub(r"<script>.*?</script>", "", markup, flags=re.S)


def table_under(markup: str, heading: str) -> list[list[str]]:
    """The first table after the heading (h1 to h3) with this text, in a page such as the board pack."""
    tables = tables_in(markup)
    found = [t.rows for t in tables if t.heading == heading]
    assert found, f"no table under {heading!r}; have {[t.heading for t in tables]}"
    return found[0]


def row(rows: list[list[str]], start: str) -> list[str]:
    found = [r for r in rows if r and r[0].startswith(start)]
    assert found, f"no row starting {start!r} in {rows}"
    return found[0]


def text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.info] + [e.value for e in at.error]
    parts += [e.value for e in at.warning] + [e.value for e in at.success] + [h.value for h in at.title]
    parts += [h.value for h in at.header] + [h.value for h in at.subheader] + [c.value for c in at.caption]
    return " ".join(("\n".join(parts) + "\n" + re.sub(r"<[^>]+>", " ", html(at))).split())


def counts(at: AppTest) -> dict[str, int]:
    cards = re.findall(r'data-status="(\w+)"><div class="n">(\d+)</div>', html(at))
    return {status: int(n) for status, n in cards}


def markdown_texts(at: AppTest) -> list[str]:
    """Every text Streamlit renders as Markdown: alerts, headings, captions, labels."""
    parts = [m.value for m in at.markdown] + [e.value for e in at.info] + [e.value for e in at.error]
    parts += [e.value for e in at.warning] + [e.value for e in at.success] + [h.value for h in at.title]
    parts += [h.value for h in at.header] + [h.value for h in at.subheader] + [c.value for c in at.caption]
    parts += [b.proto.label for b in at.button] + [e.proto.label for e in at.expander]
    return parts


def live_markdown(at: AppTest) -> list[str]:
    """Markdown texts that could render a link, an image or HTML: an unescaped '[' or '<'
    outside a code span, or a bare address GitHub-flavoured Markdown would turn into a link."""
    found = []
    for md in markdown_texts(at):
        outside = re.sub(r"`[^`]*`", "", md)
        if re.search(r"(?<!\\)[\[<]", outside) or re.search(r"://|www\.|@\w", outside):
            found.append(md)
    return found


@dataclass
class Download:
    file_name: str
    mimetype: str
    data: bytes


Media = tuple[MediaFileManager, MemoryMediaFileStorage]


@contextmanager
def deferred_downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Media]]:
    """Keep the media file manager (and its storage) of every AppTest run, which AppTest makes
    afresh for each run and then forgets, so that a deferred download button's callable can be
    run as a click on the button runs it."""
    made: list[Media] = []

    def manager(storage: MemoryMediaFileStorage) -> MediaFileManager:
        made.append((MediaFileManager(storage), storage))
        return made[-1][0]

    with monkeypatch.context() as patch:
        patch.setattr(app_test_module, "MediaFileManager", manager)
        yield made


def download(at: AppTest, made: list[Media], label: str) -> Download:
    """What the browser receives when the download button ``label`` of the last run is clicked:
    Streamlit's own execute_deferred runs the button's callable and stores the file it returns."""
    (button,) = [b.proto for b in at.get("download_button") if b.proto.label == label]
    assert button.deferred_file_id, f"{label!r} is not a deferred download"
    manager, storage = made[-1]
    url = manager.execute_deferred(button.deferred_file_id)
    stored = storage.get_file(url.rsplit("/", 1)[-1])
    return Download(stored.filename or "", stored.mimetype, stored.content)


# --- Workbooks built by hand, with zipfile and hand-written XML, as an attacker would build them ------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def content_types(*extra: str) -> str:
    overrides = [("/xl/workbook.xml", f"{SPREADSHEET}.sheet.main+xml"),
                 ("/xl/worksheets/sheet1.xml", f"{SPREADSHEET}.worksheet+xml"),
                 ("/xl/sharedStrings.xml", f"{SPREADSHEET}.sharedStrings+xml")]
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
            + "".join(extra) + "</Types>")


def workbook_xml(sheets: int = 1, doctype: str = "") -> str:
    entries = "".join(f'<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, sheets + 1))
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{entries}</sheets></workbook>')


def workbook_rels(kind: str = "worksheet") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/{kind}" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')


def sheet_xml(rows: str, dimension: str = "") -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{dim}'
            f"<sheetData>{rows}</sheetData></worksheet>")


def sheet_row(number: int, *cells: str) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def text_cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def number_cell(ref: str, value: object, style: int | None = None) -> str:
    s = f' s="{style}"' if style is not None else ""
    return f'<c r="{ref}"{s}><v>{value}</v></c>'


HEADER = sheet_row(1, text_cell("A1", "indicator"), text_cell("B1", "area"), text_cell("C1", "quarter"),
                   text_cell("D1", "value"))
DATE_STYLES = (f'<styleSheet xmlns="{MAIN}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
               "</styleSheet>")


def figures(first: int, last: int) -> str:
    return "".join(sheet_row(i, text_cell(f"A{i}", "NI 16"), text_cell(f"B{i}", "Derbyshire"),
                             text_cell(f"C{i}", "2010/11 Q1"), number_cell(f"D{i}", 9.6))
                   for i in range(first, last + 1))


def xlsx(sheet: str, parts: dict[str, str | bytes] | None = None) -> bytes:
    """A minimal workbook laid out as Excel lays it out; ``parts`` adds parts or replaces standard ones."""
    standard: dict[str, str | bytes] = {
        "[Content_Types].xml": content_types(), "xl/workbook.xml": workbook_xml(),
        "xl/_rels/workbook.xml.rels": workbook_rels(), "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}"/>'}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**standard, **(parts or {})}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# --- Command-line output -------------------------------------------------------------------------

def columns(output: str) -> list[dict[str, str]]:
    """The command line's aligned table (one header line of single-word titles, then one line per
    row, each column starting where its title starts) as one dict per row, keyed by title."""
    header, *lines = output.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    titles = header.split()
    assert all(header[s - 2:s] in ("", "  ") for s in starts[1:]), f"titles not two spaces apart: {header!r}"
    found = []
    for line in lines:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        found.append(dict(zip(titles, cells, strict=True)))
    return found


# ---- a real PostgreSQL server for the lake's catalog ---------------------------------------------

@dataclass
class Postgres:
    """A PostgreSQL cluster of Debian's postgresql package, made in ``folder`` and listening on
    127.0.0.1:``port`` (trust authentication: a test server). As root, it runs as the postgres user
    (PostgreSQL refuses to run as root)."""

    folder: Path
    port: int
    bin: Path
    lakes: int = 0

    @staticmethod
    def start() -> Postgres:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            pytest.skip("PostgreSQL is not installed here: apt-get install postgresql")
        # its own folder in /tmp: pytest's are private to this user, and the server's user must reach it
        folder = Path(tempfile.mkdtemp(prefix="ragboard-postgres-"))
        server = Postgres(folder, free_port(), found[-1].parent)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        server._run("initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres")
        server._run("pg_ctl", "-D", str(folder / "data"), "-w", "-l", str(folder / "log"), "-o",
                    f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200", "start")
        return server

    def _run(self, tool: str, *args: str) -> str:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.folder / "log"
            raise RuntimeError(f"{tool} failed: {done.stderr}\n{log.read_text() if log.exists() else ''}")
        return done.stdout

    @property
    def base(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres"

    def new_lake(self) -> str:
        """A new database for one lake's catalog: its ``ducklake:postgres:`` location."""
        self.lakes += 1
        name = f"lake_{os.getpid()}_{self.lakes}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"ducklake:postgres:dbname={name} {self.base}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
