"""Populations: the denominators of the rates whose indicator says ``denominator: population``.

Analysts load them from a file of ``area, year, population`` (ONS mid-year estimates, as a rule)
with ``python -m pipelines load-populations FILE.csv``. A file is read and checked as a quarter's
figures are (any encoding, separator or .xlsx; every problem with its line; a file with problems
loads nothing) and loaded as they are (``loading``): in one transaction, recorded in ``loads`` with
the kind 'populations', each revised population kept in ``population_history``, and undone by
``loading.undo``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.catalogue import quarters
from pipelines.catalogue.config import Catalogue, suggest
from pipelines.ingest import loading
from pipelines.ingest.reader import Table, UnreadableFile, read_bytes
from pipelines.ingest.validate import (
    KEPT_PROBLEMS,
    Findings,
    Problem,
    Problems,
    check_header,
    parse_number,
    plural,
)
from pipelines.storage import store
from pipelines.storage.schema import POPULATION_COLUMNS, POPULATION_TABLES, PopulationRow

COLUMNS = POPULATION_COLUMNS  # area, year, population: every one required
KIND = "populations"  # loads.kind of a load of populations


@dataclass(kw_only=True)
class PopulationUpload(Findings[PopulationRow]):
    """A file of populations read and checked, ready to load."""

    name: str
    sha256: str
    catalogue_source: bytes = b""  # the catalogue's text it was checked against (recorded with the load)

    def summary(self) -> str:
        years = sorted({r[1] for r in self.rows})
        span = quarters.year_label(years[0])
        if len(years) > 1:
            span += f" to {quarters.year_label(years[-1])}"
        areas = len({r[0] for r in self.rows})
        return f"{self.name}: {plural(len(self.rows), 'population')} OK ({plural(areas, 'area')}, {span})."


# The reader's sentences about a file's shape name a quarter's columns; a file of populations has its own
_SHAPE = (("(indicator,area,quarter,value)", f"({','.join(COLUMNS)})"),
          ("one row per figure", "one row per area and year"),
          ("rows of figures; add one row per indicator, area and quarter", "rows; add one row per area and year"))


def _unreadable(exc: UnreadableFile) -> str:
    message = str(exc)
    for quarterly, own in _SHAPE:
        message = message.replace(quarterly, own)
    return message


def read_upload(data: bytes, name: str, catalogue: Catalogue) -> PopulationUpload:
    """Read bytes from any writer and check them; a file-level fault becomes one problem."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        table = read_bytes(data, name)
    except UnreadableFile as exc:
        return PopulationUpload(name=name, sha256=sha, problems=[Problem(0, "", "", _unreadable(exc))])
    rows, problems = check(table, catalogue)
    return PopulationUpload(name=name, sha256=sha, rows=rows, problems=problems, catalogue_source=catalogue.source)


def read_file(path: str | Path, catalogue: Catalogue) -> PopulationUpload:
    path = Path(path)
    data = loading.file_bytes(path)
    if isinstance(data, Problem):
        return PopulationUpload(name=path.name, sha256="", problems=[data])
    return read_upload(data, path.name, catalogue)


def check(table: Table, catalogue: Catalogue) -> tuple[list[PopulationRow], Problems]:
    """The clean rows of ``table`` and every problem in it (the rows count only when there are none)."""
    problems = Problems()
    check_header(table.header, COLUMNS, (), problems)
    if problems:
        return [], problems
    rows: list[PopulationRow] = []
    seen: dict[tuple[str, int], int] = {}
    cell = _Cells(catalogue, table.delimiter, problems)
    width = len(table.header)
    for line, fields in table.records:
        if not _fits(line, fields, width, problems):
            continue
        cells = dict(zip(table.header, (f.strip() for f in fields), strict=False))
        area = cell.area(line, cells["area"])
        year = cell.year(line, cells["year"])
        population = cell.population(line, cells["population"])
        if area is None or year is None or population is None:
            continue
        if (area, year) in seen:
            problems.append(Problem(line, "", "", f"repeats {area}, {quarters.year_label(year)} from line"
                                    f" {seen[(area, year)]}", "keep one row per area and year"))
            continue
        seen[(area, year)] = line
        rows.append((area, year, population))
    return rows, problems


def _fits(line: int, fields: list[str], width: int, problems: list[Problem]) -> bool:
    """Whether the record has the header's fields (blank extra fields are allowed, as Excel writes them)."""
    if len(fields) > width and any(f.strip() for f in fields[width:]):
        problems.append(Problem(line, "", "", f"has {len(fields)} fields but the header has {width}",
                                "check for an unquoted separator inside a value"))
        return False
    if len(fields) < width:
        problems.append(Problem(line, "", "", f"has {len(fields)} fields but the header has {width}",
                                f"give {', '.join(COLUMNS)} on every row"))
        return False
    return True


class _Cells:
    """Each column's check, with what it needs worked out once per file rather than per row."""

    def __init__(self, catalogue: Catalogue, delimiter: str, problems: Problems) -> None:
        self.areas = set(catalogue.areas)
        self.delimiter = delimiter
        self.problems = problems
        self.years: dict[str, int | str] = {}  # each year as written: its start, or why it is none

    def _hint(self, name: str) -> str:
        # difflib is slow: a file of a million bad rows pays for it only on the problems kept
        if len(self.problems) >= KEPT_PROBLEMS:
            return ""
        close = suggest(name, self.areas) if name else ""
        return close.removeprefix("; ") if close else "use the county or a district named in indicators.yaml"

    def area(self, line: int, text: str) -> str | None:
        if text in self.areas:
            return text
        self.problems.append(Problem(line, "area", text, f"unknown area '{text}'" if text else "area is empty",
                                     self._hint(text)))
        return None

    def year(self, line: int, text: str) -> int | None:
        year = self.years.get(text)
        if year is None:
            try:
                year = quarters.parse_year(text) if text else "year is empty"
            except quarters.QuarterError as exc:
                year = str(exc)
            self.years[text] = year
        if isinstance(year, int):
            return year
        hint = "" if "write" in year or "check" in year else "write the financial year, e.g. '2010/11'"
        self.problems.append(Problem(line, "year", text, year, hint))
        return None

    def population(self, line: int, text: str) -> float | None:
        reason = "population is empty"
        if text:
            try:
                number = parse_number(text, self.delimiter)
            except ValueError as exc:
                number, reason = None, str(exc)
            if number is not None and number > 0:
                return number
            if number is not None:
                reason = f"the population must be above 0, not {text}"
        self.problems.append(Problem(line, "population", text, reason,
                                     "" if "write" in reason or "check" in reason
                                     else "give the area's population for the year"))
        return None


@store.retried
def load(con: duckdb.DuckDBPyConnection, upload: PopulationUpload, analyst: str | None = None) -> loading.LoadResult:
    """Apply a clean file of populations in one transaction: new ones added, revised ones replaced
    (the old kept in population_history), the load recorded in ``loads`` as kind 'populations'."""
    if not upload.ok:
        raise loading.LoadRefused(f"{upload.name} has {plural(upload.problem_count, 'problem')}; nothing was loaded.")
    with store.transaction(con):
        loading.stage(con, upload.rows, POPULATION_TABLES)
        counts = loading.staged_counts(con)
        load_id = store.next_load_id(con)
        revisions = store.records(con.execute(
            "SELECT s.area, s.year, o.population AS old_population, s.population AS new_population"
            " FROM staged s JOIN populations o USING (area, year) WHERE s.change = 'revised'"
            " ORDER BY s.area, s.year"))
        loading.record_load(con, load_id, KIND, upload.name, upload.sha256, analyst, counts, upload.catalogue_source)
        loading.write_staged(con, POPULATION_TABLES, load_id, revised=counts.get("revised", 0) > 0)
        loading.drop_staged(con)
    return loading.LoadResult(load_id, counts.get("added", 0), counts.get("revised", 0),
                              counts.get("unchanged", 0), revisions)


def load_files(con: duckdb.DuckDBPyConnection, paths: list[Path], catalogue: Catalogue,
               analyst: str | None = None) -> list[loading.LoadResult]:
    """Check every file first, then load them in order, one load each."""
    uploads = [read_file(p, catalogue) for p in paths]
    loading.refuse_bad(uploads)
    return [load(con, u, analyst=analyst) for u in uploads]


def loaded(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], float]:
    """Every population loaded, by area and financial year (its start: 2010 for 2010/11)."""
    return {(str(a), int(y)): float(p) for a, y, p in con.execute("SELECT area, year, population FROM populations")
            .fetchall()}
