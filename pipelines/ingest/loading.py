"""Load checked rows into the database in one transaction, and undo a load.

One path for every writer (CLI and dashboard): ``read`` and ``check`` a file, then
``load`` it. A revised value replaces the old one, which is kept in
``observation_history``; every load and undo is recorded in ``loads``.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.catalogue.config import Catalogue
from pipelines.ingest.reader import MAX_BYTES, Progress, Table, UnreadableFile, read_bytes, too_big
from pipelines.ingest.validate import Checked, Problem, Row, check, plural
from pipelines.storage import store
from pipelines.storage.schema import OBSERVATION_COLUMNS, OBSERVATION_TYPES, OBSERVATION_VALUES


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

    @property
    def ok(self) -> bool:
        return self.checked.ok


def read_upload(data: bytes, name: str, catalogue: Catalogue, progress: Progress | None = None) -> Upload:
    """Read bytes from any writer and check them; a file-level fault becomes one problem.
    With ``progress``, reports reading (``reader.READING``) and then checking (``validate.CHECKING``)."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        table: Table = read_bytes(data, name, progress=progress)
    except UnreadableFile as exc:
        return Upload(name, sha, Checked(problems=[Problem(0, "", "", str(exc))]))
    return Upload(name, sha, check(table, catalogue, progress=progress))


def read_file(path: str | Path, catalogue: Catalogue, progress: Progress | None = None) -> Upload:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:  # refuse before reading a huge file into memory
            return Upload(path.name, "", Checked(problems=[Problem(0, "", "", too_big(path.name, size, MAX_BYTES))]))
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"Cannot read {path}: {exc.strerror}.") from None
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


def _stage(con: duckdb.DuckDBPyConnection, rows: list[Row]) -> None:
    """Put the rows in a temporary table through a CSV file: DuckDB's reader is far
    faster than row-by-row inserts, and the rows are already checked."""
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="ragboard-")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        con.execute("DROP TABLE IF EXISTS staging")
        con.execute(
            "CREATE TEMP TABLE staging AS SELECT * FROM read_csv($path, header = false,"
            " auto_detect = false, columns = $columns, quote = '\"', escape = '\"')",
            {"path": tmp, "columns": OBSERVATION_TYPES},
        )
    finally:
        os.unlink(tmp)
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM s.{c}" for c in OBSERVATION_VALUES)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE staged AS SELECT s.*, CASE WHEN o.qi IS NULL THEN 'added'"
        f" WHEN {changed} THEN 'revised' ELSE 'unchanged' END AS change"
        " FROM staging s LEFT JOIN observations o USING (indicator, area, qi)"
    )


# Status rows for some quarters and indicators, read inside the load's transaction. The rules
# sit above ingest, so the caller passes this in (rules.status.rater) rather than ingest
# importing the rules.
Rater = Callable[[duckdb.DuckDBPyConnection, list[int], list[str]], list[dict[str, Any]]]

# A load's progress is counted in the transaction's steps: staged, compared and rated, revisions
# listed and the load recorded, observations written, rated again, committed.
LOADING = "loading"
LOAD_STEPS = 6


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
        _stage(con, rows)
        step(1)
        counts = dict(con.execute("SELECT change, count(*) FROM staged GROUP BY change").fetchall())
        load_id = store.latest_load_id(con) + 1
        quarters = sorted({r[3] for r in rows})
        indicators = sorted({r[0] for r in rows})
        # the quarter after each loaded one changes its direction, not its status: quarters suffice
        before = rate(con, quarters, indicators) if rate else []
        step(2)
        revisions = store.records(con.execute(f"""
            SELECT s.indicator, s.area, s.quarter, o.value AS old_value, s.value AS new_value,
                   o.reported_status AS old_reported_status, s.reported_status AS new_reported_status,
                   o.note AS old_note, s.note AS new_note
            FROM staged s JOIN observations o USING (indicator, area, qi)
            WHERE s.change = 'revised' ORDER BY s.indicator, s.area, s.qi LIMIT {int(detail_limit)}"""))
        new_rows = store.records(con.execute(f"""
            SELECT indicator, area, quarter, value, reported_status, note FROM staged
            WHERE change = 'added' ORDER BY indicator, area, qi LIMIT {int(detail_limit)}"""))
        con.execute(
            "INSERT INTO loads (load_id, loaded_at, kind, file_name, sha256, analyst, rows_added,"
            " rows_revised, rows_unchanged) VALUES ($id, $at, 'load', $name, $sha, $analyst, $a, $r, $u)",
            {"id": load_id, "at": datetime.now(), "name": upload.name, "sha": upload.sha256,
             "analyst": analyst, "a": counts.get("added", 0), "r": counts.get("revised", 0),
             "u": counts.get("unchanged", 0)},
        )
        step(3)
        cols = ", ".join(OBSERVATION_COLUMNS)
        con.execute(
            "INSERT INTO observation_history SELECT o.*, $id FROM observations o"
            " JOIN staged s USING (indicator, area, qi) WHERE s.change = 'revised'", {"id": load_id})
        con.execute(
            "DELETE FROM observations o USING staged s WHERE s.change = 'revised'"
            " AND o.indicator = s.indicator AND o.area = s.area AND o.qi = s.qi")
        con.execute(
            f"INSERT INTO observations SELECT {cols}, $id FROM staged WHERE change <> 'unchanged'",
            {"id": load_id})
        step(4)
        after = rate(con, quarters, indicators) if rate else []
        con.execute("DROP TABLE staged")
        con.execute("DROP TABLE staging")
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


def load_files(con: duckdb.DuckDBPyConnection, paths: list[Path], catalogue: Catalogue,
               analyst: str | None = None) -> list[LoadResult]:
    """Check every file first, then load them in order (``init`` loads data/sample/ so)."""
    uploads = [read_file(p, catalogue) for p in paths]
    bad = [u for u in uploads if not u.ok]
    if bad:
        first = bad[0]
        raise LoadRefused(f"{first.name} does not match the catalogue: {first.checked.problems[0]}"
                          + (f" (and {len(bad) - 1} more file(s) have problems)" if len(bad) > 1 else ""))
    return [load(con, u, analyst=analyst) for u in uploads]


def create_from_sample(path: str | Path, catalogue: Catalogue, sample_dir: Path | None = None,
                       analyst: str = "init") -> list[LoadResult]:
    """Build a new database from data/sample/ beside ``path`` and rename it into place, so
    no reader ever sees a half-built file (the CLI and the dashboard both start this way)."""
    target = Path(path)
    files = sorted((sample_dir or store.SAMPLE_DIR).glob("*.csv"))
    if not files:
        raise LoadRefused(f"There are no sample files in {sample_dir or store.SAMPLE_DIR}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.init")
    try:
        with store.connect(tmp) as con:
            results = load_files(con, files, catalogue, analyst=analyst)
        os.replace(tmp, target)
    finally:
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return results


def loads(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return store.records(con.execute("SELECT * FROM loads ORDER BY load_id DESC"))


def undo(con: duckdb.DuckDBPyConnection, load_id: int, *, analyst: str | None = None) -> LoadResult:
    """Reverse a load: remove what it added and restore the values it replaced."""
    with store.transaction(con):
        row = con.execute("SELECT kind, undone_by FROM loads WHERE load_id = ?", [load_id]).fetchone()
        if row is None:
            raise LoadRefused(f"There is no load {load_id}; 'python -m pipelines loads' lists them.")
        if row[0] != "load":
            raise LoadRefused(f"Load {load_id} is itself an undo and cannot be undone.")
        if row[1] is not None:
            raise LoadRefused(f"Load {load_id} was already undone by load {row[1]}.")
        later = con.execute(
            """SELECT min(h.replaced_by), count(*) FROM observation_history h
               WHERE h.load_id = $id AND h.replaced_by > $id
                 AND h.replaced_by NOT IN (SELECT load_id FROM loads WHERE undone_by IS NOT NULL)""",
            {"id": load_id}).fetchone()
        if later and later[1]:
            raise LoadRefused(
                f"Load {load_id} cannot be undone: load {later[0]} has since revised {later[1]}"
                f" of its rows. Undo load {later[0]} first.")
        undo_id = store.latest_load_id(con) + 1
        removed = con.execute("SELECT count(*) FROM observations WHERE load_id = ?", [load_id]).fetchone()
        restored = con.execute("SELECT count(*) FROM observation_history WHERE replaced_by = ?",
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
        con.execute("INSERT INTO observation_history SELECT *, $u FROM observations WHERE load_id = $id",
                    {"u": undo_id, "id": load_id})
        con.execute("DELETE FROM observations WHERE load_id = ?", [load_id])
        cols = ", ".join(OBSERVATION_COLUMNS)
        con.execute(f"INSERT INTO observations SELECT {cols}, load_id FROM observation_history"
                    " WHERE replaced_by = ?", [load_id])
        con.execute("UPDATE loads SET undone_by = $u WHERE load_id = $id", {"u": undo_id, "id": load_id})
    return LoadResult(undo_id, 0, n_restored, 0)


