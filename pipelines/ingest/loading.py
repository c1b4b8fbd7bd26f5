"""Load checked rows into the database in one transaction, and undo a load.

One path for every writer (CLI and dashboard): ``read`` and ``check`` a file, then
``load`` it. A revised value replaces the old one, which is kept in
``observation_history``; every load and undo is recorded in ``loads``. Populations
(``populations.py``) are staged, written, recorded and undone by the same functions here.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from pipelines.catalogue.config import Catalogue
from pipelines.ingest.reader import MAX_BYTES, Progress, Table, UnreadableFile, read_bytes, too_big
from pipelines.ingest.validate import Checked, Problem, check, plural
from pipelines.storage import store, versions
from pipelines.storage.schema import OBSERVATION_TABLES, POPULATION_TABLES, Versioned


class LoadRefused(Exception):
    """The load or undo cannot go ahead; the message says why and what to do."""


class AlreadyLoaded(LoadRefused):
    """The very file was committed since the preview (a double-click on Commit): nothing to do."""


@dataclass
class Upload:
    """A file read and checked, ready to preview or load."""

    name: str
    sha256: str
    checked: Checked
    catalogue_source: bytes = b""  # the catalogue's text it was checked against (recorded with the load)

    @property
    def ok(self) -> bool:
        return self.checked.ok

    @property
    def problems(self) -> list[Problem]:
        return self.checked.problems


def read_upload(data: bytes, name: str, catalogue: Catalogue, progress: Progress | None = None) -> Upload:
    """Read bytes from any writer and check them; a file-level fault becomes one problem.
    With ``progress``, reports reading (``reader.READING``) and then checking (``validate.CHECKING``)."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        table: Table = read_bytes(data, name, progress=progress)
    except UnreadableFile as exc:
        return Upload(name, sha, Checked(problems=[Problem(0, "", "", str(exc))]))
    return Upload(name, sha, check(table, catalogue, progress=progress), catalogue.source)


def file_bytes(path: Path) -> bytes | Problem:
    """The file's bytes, or the problem that it is too big, found before reading a huge file into
    memory; a file that cannot be read at all raises UnreadableFile."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return Problem(0, "", "", too_big(path.name, size, MAX_BYTES))
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"Cannot read {path}: {exc.strerror}.") from None


def read_file(path: str | Path, catalogue: Catalogue, progress: Progress | None = None) -> Upload:
    path = Path(path)
    data = file_bytes(path)
    if isinstance(data, Problem):
        return Upload(path.name, "", Checked(problems=[data]))
    return read_upload(data, path.name, catalogue, progress)


@dataclass
class LoadResult:
    load_id: int
    added: int
    revised: int
    unchanged: int
    revisions: list[dict[str, Any]] = field(default_factory=list)
    status_changes: list[dict[str, Any]] = field(default_factory=list)
    new_rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"load {self.load_id}: {plural(self.added, 'row')} added, {self.revised} revised,"
                f" {self.unchanged} unchanged")


def stage(con: duckdb.DuckDBPyConnection, rows: Iterable[Sequence[Any]], tables: Versioned) -> None:
    """Put checked rows in the temporary table ``staged``, each marked 'added', 'revised' or
    'unchanged' against ``tables.table``. They go through a CSV file: DuckDB's reader is far
    faster than row-by-row inserts, and the rows are already checked."""
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="ragboard-")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        con.execute("DROP TABLE IF EXISTS staging")
        con.execute(
            "CREATE TEMP TABLE staging AS SELECT * FROM read_csv($path, header = false,"
            " auto_detect = false, columns = $columns, quote = '\"', escape = '\"')",
            {"path": tmp, "columns": tables.types},
        )
    finally:
        os.unlink(tmp)
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM s.{c}" for c in tables.values)
    key = ", ".join(tables.key)
    # Compared only with the stored rows in the staged rows' span of the key's last column (the
    # quarter, the year): rows are stored in load order, so DuckDB skips the other row groups.
    last = tables.key[-1]
    span = con.execute(f"SELECT min({last}), max({last}) FROM staging").fetchone()
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE staged AS SELECT s.*, CASE WHEN o.{tables.key[0]} IS NULL THEN 'added'"
        f" WHEN {changed} THEN 'revised' ELSE 'unchanged' END AS change"
        f" FROM staging s LEFT JOIN (SELECT * FROM {tables.table} WHERE {last} BETWEEN $first AND $last) o"
        f" USING ({key})", {"first": span[0] if span else None, "last": span[1] if span else None}
    )


def write_staged(con: duckdb.DuckDBPyConnection, tables: Versioned, load_id: int, revised: bool = True) -> None:
    """Write what ``stage`` marked: each revised row's old version to the history (replaced by
    ``load_id``), then the added and revised rows, as written by ``load_id``. With ``revised``
    False (``staged_counts`` found none), the two joins that move revised rows are skipped."""
    key = ", ".join(tables.key)
    matched = " AND ".join(f"o.{c} = s.{c}" for c in tables.key)
    if revised:
        con.execute(
            f"INSERT INTO {tables.history} SELECT o.*, $id FROM {tables.table} o"
            f" JOIN staged s USING ({key}) WHERE s.change = 'revised'", {"id": load_id})
        con.execute(f"DELETE FROM {tables.table} o USING staged s WHERE s.change = 'revised' AND {matched}")
    con.execute(
        f"INSERT INTO {tables.table} SELECT {', '.join(tables.columns)}, $id FROM staged WHERE change <> 'unchanged'",
        {"id": load_id})


def record_load(con: duckdb.DuckDBPyConnection, load_id: int, kind: str, name: str, sha256: str,
                analyst: str | None, counts: dict[str, int], catalogue_source: bytes = b"") -> None:
    """The load's line in ``loads``; ``counts`` is {change: rows} as ``stage`` marked them. The
    catalogue it was checked against is kept (once) and named."""
    con.execute(
        "INSERT INTO loads (load_id, loaded_at, kind, file_name, sha256, analyst, rows_added,"
        " rows_revised, rows_unchanged, catalogue_sha256)"
        " VALUES ($id, $at, $kind, $name, $sha, $analyst, $a, $r, $u, $catalogue)",
        {"id": load_id, "at": datetime.now(), "kind": kind, "name": name, "sha": sha256,
         "analyst": analyst, "a": counts.get("added", 0), "r": counts.get("revised", 0),
         "u": counts.get("unchanged", 0), "catalogue": versions.remember_catalogue(con, catalogue_source)},
    )


def staged_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """{'added' | 'revised' | 'unchanged': rows} of what ``stage`` marked."""
    return {str(k): int(n) for k, n in con.execute("SELECT change, count(*) FROM staged GROUP BY change").fetchall()}


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE staged")
    con.execute("DROP TABLE staging")


# Status rows for some quarters and indicators, read inside the load's transaction. The rules
# sit above ingest, so the caller passes this in (rules.status.rater) rather than ingest
# importing the rules.
Rater = Callable[[duckdb.DuckDBPyConnection, list[int], list[str]], list[dict[str, Any]]]

# A load's progress is counted in the transaction's steps: staged, compared and rated, revisions
# listed and the load recorded, observations written, rated again, committed.
LOADING = "loading"
LOAD_STEPS = 6


@store.retried
def load(
    con: duckdb.DuckDBPyConnection,
    upload: Upload,
    rate: Rater | None = None,
    *,
    analyst: str | None = None,
    dry_run: bool = False,
    detail_limit: int = 500,
    expected_version: int | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Apply a clean upload in one transaction (or, with dry_run, apply and roll back to
    report what would change). With ``rate``, status changes are reported too. With
    expected_version (the latest load id a preview was made against), the load is refused
    if another load has been committed since, so what is committed is what was previewed.
    With ``progress``, reports (``LOADING``, steps done, steps) as the transaction goes."""
    def step(done: int) -> None:
        if progress:
            progress(LOADING, done, LOAD_STEPS)

    if not upload.ok:
        raise LoadRefused(f"{upload.name} has {plural(upload.checked.problem_count, 'problem')}; nothing was loaded.")
    rows = upload.checked.rows
    with store.transaction(con, commit=not dry_run):
        if expected_version is not None:
            latest = store.latest_load_id(con)
            if latest != expected_version:
                if expected_version >= 0:  # -1: no preview of this file was seen, so nothing to match
                    _refuse_if_already_loaded(con, upload, expected_version)
                raise LoadRefused(
                    f"The figures changed since your preview (load {latest} was committed meanwhile);"
                    " nothing was loaded. Check the new preview, then commit again.")
        step(0)
        stage(con, rows, OBSERVATION_TABLES)
        step(1)
        counts = staged_counts(con)
        load_id = store.next_load_id(con)
        quarters = sorted({r[3] for r in rows}) if rate else []
        indicators = sorted({r[0] for r in rows}) if rate else []
        # the quarter after each loaded one changes its direction, not its status: quarters suffice
        before = rate(con, quarters, indicators) if rate else []
        step(2)
        # the rows revised and added, for a preview to show (none asked for: the queries are skipped)
        revisions = [] if not (detail_limit and counts.get("revised")) else store.records(con.execute(f"""
            SELECT s.indicator, s.area, s.quarter, o.value AS old_value, s.value AS new_value,
                   o.numerator AS old_numerator, s.numerator AS new_numerator,
                   o.denominator AS old_denominator, s.denominator AS new_denominator,
                   o.reported_status AS old_reported_status, s.reported_status AS new_reported_status,
                   o.note AS old_note, s.note AS new_note
            FROM staged s JOIN observations o USING (indicator, area, qi)
            WHERE s.change = 'revised' ORDER BY s.indicator, s.area, s.qi LIMIT {int(detail_limit)}"""))
        new_rows = [] if not (detail_limit and counts.get("added")) else store.records(con.execute(f"""
            SELECT indicator, area, quarter, value, numerator, denominator, reported_status, note FROM staged
            WHERE change = 'added' ORDER BY indicator, area, qi LIMIT {int(detail_limit)}"""))
        record_load(con, load_id, "load", upload.name, upload.sha256, analyst, counts, upload.catalogue_source)
        step(3)
        write_staged(con, OBSERVATION_TABLES, load_id, revised=counts.get("revised", 0) > 0)
        step(4)
        after = rate(con, quarters, indicators) if rate else []
        drop_staged(con)
        step(5)
    step(LOAD_STEPS)  # committed (or, for a dry run, rolled back)
    return LoadResult(
        load_id, counts.get("added", 0), counts.get("revised", 0), counts.get("unchanged", 0),
        revisions, status_changes(before, after), new_rows,
    )


def _refuse_if_already_loaded(con: duckdb.DuckDBPyConnection, upload: Upload, since: int) -> None:
    """Raise AlreadyLoaded when a load since ``since`` committed these very bytes and stands."""
    row = con.execute(
        "SELECT load_id, analyst, loaded_at FROM loads WHERE load_id > $since AND kind = 'load'"
        " AND sha256 = $sha AND undone_by IS NULL ORDER BY load_id DESC LIMIT 1",
        {"since": since, "sha": upload.sha256}).fetchone()
    if row is not None:
        by = f" by {row[1]}" if row[1] else ""
        raise AlreadyLoaded(f"{upload.name} was already committed as load {row[0]}{by} at {row[2]:%H:%M:%S};"
                            " nothing more was loaded.")


def status_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose status differs, e.g. NI 20, Chesterfield, 2010/11 Q1: AMBER -> RED."""
    old = {(r["indicator"], r["area"], r["qi"]): r["status"] for r in before}
    changes = []
    for r in after:
        was = old.get((r["indicator"], r["area"], r["qi"]))
        if was is not None and was != r["status"]:
            changes.append({"indicator": r["indicator"], "area": r["area"], "quarter": r["quarter"],
                            "before": was, "after": r["status"]})
    return changes


class Checkable(Protocol):
    """A file read and checked: an Upload of quarterly figures, or a populations.PopulationUpload."""

    @property
    def name(self) -> str: ...

    @property
    def ok(self) -> bool: ...

    @property
    def problems(self) -> list[Problem]: ...


def refuse_bad(uploads: Sequence[Checkable]) -> None:
    """Raise LoadRefused naming the first file with problems, and its first problem."""
    bad = [u for u in uploads if not u.ok]
    if bad:
        first = bad[0]
        raise LoadRefused(f"{first.name} does not match the catalogue: {first.problems[0]}"
                          + (f" (and {len(bad) - 1} more file(s) have problems)" if len(bad) > 1 else ""))


def load_files(con: duckdb.DuckDBPyConnection, paths: list[Path], catalogue: Catalogue,
               analyst: str | None = None) -> list[LoadResult]:
    """Check every file first, then load them in order."""
    uploads = [read_file(p, catalogue) for p in paths]
    refuse_bad(uploads)
    return [load(con, u, analyst=analyst) for u in uploads]


# The sample's populations, in a folder of their own beside the quarters
POPULATIONS_FOLDER = "populations"


def sample_files(sample_dir: Path | None = None) -> list[Path]:
    """The sample's files in the order ``load_sample`` loads them: the populations first (a rate per
    population needs them; the folder may be missing), then the quarters."""
    folder = sample_dir or store.SAMPLE_DIR
    return sorted((folder / POPULATIONS_FOLDER).glob("*.csv")) + sorted(folder.glob("*.csv"))


def load_sample(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, sample_dir: Path | None = None,
                analyst: str = "init") -> list[LoadResult]:
    """Load the sample's files, one load each in the order of ``sample_files``, after checking
    them all: a mistake in the last file loads nothing."""
    from pipelines.ingest import populations  # populations builds on this module, so it comes here

    folder = sample_dir or store.SAMPLE_DIR
    quarterly = sorted(folder.glob("*.csv"))
    if not quarterly:
        raise LoadRefused(f"There are no sample files in {folder}.")
    counts = [populations.read_file(p, catalogue) for p in sorted((folder / POPULATIONS_FOLDER).glob("*.csv"))]
    figures = [read_file(p, catalogue) for p in quarterly]
    refuse_bad([*counts, *figures])
    return ([populations.load(con, u, analyst=analyst) for u in counts]
            + [load(con, u, analyst=analyst) for u in figures])


def create_from_sample(path: str | Path, catalogue: Catalogue, sample_dir: Path | None = None,
                       analyst: str = "init") -> list[LoadResult]:
    """Build a new database from data/sample/ beside ``path`` (``load_sample``) and rename it into
    place, so no reader ever sees a half-built file (the CLI and the dashboard both start this way)."""
    target = Path(path)
    folder = sample_dir or store.SAMPLE_DIR
    if not any(folder.glob("*.csv")):  # before making anything
        raise LoadRefused(f"There are no sample files in {folder}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.init")
    try:
        with store.connect(tmp) as con:
            results = load_sample(con, catalogue, folder, analyst=analyst)
        os.replace(tmp, target)
    finally:
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return results


def loads(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return store.records(con.execute("SELECT * FROM loads ORDER BY load_id DESC"))


# What each kind of load writes, and so what undoing it restores (loads.kind; 'undo' is neither)
WRITES: dict[str, Versioned] = {"load": OBSERVATION_TABLES, "populations": POPULATION_TABLES}


@store.retried
def undo(con: duckdb.DuckDBPyConnection, load_id: int, *, analyst: str | None = None) -> LoadResult:
    """Reverse a load of figures or of populations: remove what it added and restore the values it
    replaced."""
    with store.transaction(con):
        tables = _undoable(con, load_id)
        undo_id = store.next_load_id(con)
        removed = con.execute(f"SELECT count(*) FROM {tables.table} WHERE load_id = ?", [load_id]).fetchone()
        restored = con.execute(f"SELECT count(*) FROM {tables.history} WHERE replaced_by = ?",
                               [load_id]).fetchone()
        n_removed = int(removed[0]) if removed else 0
        n_restored = int(restored[0]) if restored else 0
        con.execute(
            "INSERT INTO loads (load_id, loaded_at, kind, file_name, sha256, analyst, rows_added,"
            " rows_revised, rows_unchanged, rows_removed, undoes)"
            " SELECT $u, $at, 'undo', file_name, sha256, $analyst, 0, $restored, 0, $removed, $id"
            " FROM loads WHERE load_id = $id",
            {"u": undo_id, "at": datetime.now(), "analyst": analyst, "restored": n_restored,
             "removed": n_removed - n_restored, "id": load_id})
        con.execute(f"INSERT INTO {tables.history} SELECT *, $u FROM {tables.table} WHERE load_id = $id",
                    {"u": undo_id, "id": load_id})
        con.execute(f"DELETE FROM {tables.table} WHERE load_id = ?", [load_id])
        con.execute(f"INSERT INTO {tables.table} SELECT {', '.join(tables.columns)}, load_id FROM {tables.history}"
                    " WHERE replaced_by = ?", [load_id])
        con.execute("UPDATE loads SET undone_by = $u WHERE load_id = $id", {"u": undo_id, "id": load_id})
    return LoadResult(undo_id, 0, n_restored, 0)


def _undoable(con: duckdb.DuckDBPyConnection, load_id: int) -> Versioned:
    """The tables load ``load_id`` wrote, or LoadRefused saying why it cannot be undone."""
    row = con.execute("SELECT kind, undone_by FROM loads WHERE load_id = ?", [load_id]).fetchone()
    if row is None:
        raise LoadRefused(f"There is no load {load_id}; 'python -m pipelines loads' lists them.")
    tables = WRITES.get(row[0])
    if tables is None:
        raise LoadRefused(f"Load {load_id} is itself an undo and cannot be undone.")
    if row[1] is not None:
        raise LoadRefused(f"Load {load_id} was already undone by load {row[1]}.")
    # a later load that replaced this one's rows and still stands: undoing this one first would
    # bring back values older than those the later load replaced
    later = con.execute(
        f"""SELECT min(h.replaced_by), count(*) FROM {tables.history} h
            WHERE h.load_id = $id AND h.replaced_by > $id
              AND h.replaced_by NOT IN (SELECT load_id FROM loads WHERE undone_by IS NOT NULL)""",
        {"id": load_id}).fetchone()
    if later and later[1]:
        raise LoadRefused(
            f"Load {load_id} cannot be undone: load {later[0]} has since revised {later[1]}"
            f" of its rows. Undo load {later[0]} first.")
    return tables
