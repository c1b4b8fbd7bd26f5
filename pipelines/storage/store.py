"""The DuckDB database: where it is, its tables, and short-lived connections.

DuckDB lets one process write a file at a time, so nothing holds a connection open:
every operation opens one, does its work and closes it. A lock held by another process
becomes ``StoreBusy`` (a sentence for the user) after a short wait, never a traceback.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = ROOT / "data" / "ragboard.duckdb"
SAMPLE_DIR = ROOT / "data" / "sample"

OBSERVATION_COLUMNS = (
    "indicator", "area", "quarter", "qi", "value", "lower", "upper",
    "numerator", "denominator", "reported_status", "note",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS loads (
    load_id INTEGER PRIMARY KEY,
    loaded_at TIMESTAMP NOT NULL,
    kind VARCHAR NOT NULL,            -- 'load' or 'undo'
    file_name VARCHAR,
    sha256 VARCHAR,
    analyst VARCHAR,
    rows_added INTEGER NOT NULL,
    rows_revised INTEGER NOT NULL,
    rows_unchanged INTEGER NOT NULL,
    rows_removed INTEGER NOT NULL DEFAULT 0,
    undoes INTEGER,                   -- for an undo: the load it reversed
    undone_by INTEGER                 -- for a load: the undo that reversed it
);
CREATE TABLE IF NOT EXISTS observations (
    indicator VARCHAR NOT NULL,
    area VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    qi INTEGER NOT NULL,              -- quarter index: start year * 4 + quarter - 1
    value DOUBLE,                     -- NULL: not available
    lower DOUBLE,
    upper DOUBLE,
    numerator DOUBLE,
    denominator DOUBLE,
    reported_status VARCHAR,
    note VARCHAR,
    load_id INTEGER NOT NULL,
    PRIMARY KEY (indicator, area, qi)
);
CREATE TABLE IF NOT EXISTS observation_history (
    indicator VARCHAR NOT NULL,
    area VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    qi INTEGER NOT NULL,
    value DOUBLE,
    lower DOUBLE,
    upper DOUBLE,
    numerator DOUBLE,
    denominator DOUBLE,
    reported_status VARCHAR,
    note VARCHAR,
    load_id INTEGER NOT NULL,         -- the load that had written this version
    replaced_by INTEGER NOT NULL      -- the load (or undo) that replaced it
);
-- Commentary and actions are append-only: every edit is a new version, so the history of
-- who wrote what and when is the table itself.
CREATE TABLE IF NOT EXISTS commentary_versions (
    indicator VARCHAR NOT NULL,
    area VARCHAR NOT NULL,
    qi INTEGER NOT NULL,
    text VARCHAR NOT NULL,            -- empty: the commentary was withdrawn
    author VARCHAR NOT NULL,
    written_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS action_versions (
    action_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    indicator VARCHAR NOT NULL,
    area VARCHAR NOT NULL,
    qi INTEGER NOT NULL,              -- the quarter it was raised in
    text VARCHAR NOT NULL,
    owner VARCHAR NOT NULL,
    due DATE,
    done BOOLEAN NOT NULL,
    author VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (action_id, version)
);
"""


class StoreBusy(Exception):
    """Another program holds the database; the message says to try again."""


class StoreError(Exception):
    """The database file cannot be used; the message says why."""


class StoreMissing(StoreError):
    """There is no database file where one is expected."""


class StoreReadOnly(StoreError):
    """The database can be read but not written (a read-only file, folder or file system)."""


def db_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("RAGBOARD_DB") or DEFAULT_DB)


def writable(path: str | Path | None = None) -> bool:
    """Whether this process may write the database: the file and its folder (DuckDB writes a
    .wal beside the file). os.access also answers no on a read-only file system, even for root."""
    target = db_path(path)
    if str(target) == ":memory:":
        return True
    if target.exists() and not os.access(target, os.W_OK):
        return False
    folder = target.parent
    while not folder.exists() and folder != folder.parent:  # folders connect() would create
        folder = folder.parent
    return os.access(folder, os.W_OK | os.X_OK)


def io_failure(exc: duckdb.Error) -> str:
    """A sentence for an input/output error DuckDB met (a full disk, a file the system refuses):
    the reason the system gave, without DuckDB's wording around it."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else "input/output error"
    reason = text.rsplit(": ", 1)[-1].rstrip(".")
    return (f"The database could not be written ({reason}), so nothing was changed."
            " Free some disk space or check the file's permissions, then try again.")


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Could not set lock" in text or "Conflicting lock" in text)


@contextmanager
def connect(
    path: str | Path | None = None, *, read_only: bool = False, wait: float | None = None,
    create: bool = True,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one operation; waits up to ``wait`` seconds (default
    $RAGBOARD_LOCK_WAIT or 10) while another process writes. With ``create=False`` a missing
    file is an error rather than a new empty database (the dashboard never makes one by
    accident); a write connection to a database this process may not write is refused."""
    target = db_path(path)
    if str(target) != ":memory:":
        if not target.exists() and (read_only or not create):
            raise StoreMissing(f"There is no database at {target}; run 'python -m pipelines init'.")
        if not read_only and not writable(target):
            raise StoreReadOnly(f"The database {target} is read-only on this server, so nothing can be"
                                " written; reading still works. Ask the administrator to make it writable.")
    if wait is None:
        wait = float(os.environ.get("RAGBOARD_LOCK_WAIT", "10"))
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            if str(target) == ":memory:":
                con = duckdb.connect(":memory:")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                con = duckdb.connect(str(target), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise StoreError(f"Cannot open the database {target}: {exc}") from None
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"The database {target} is busy: another program is writing to it."
                    " Try again in a moment."
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    try:
        if not read_only:
            _ensure_schema(con, target)
        yield con
    finally:
        con.close()


@contextmanager
def connect_to_read(
    path: str | Path | None = None, *, wait: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for reading in a process that also writes (the dashboard): read-write, since
    DuckDB refuses a read-only and a read-write connection to one file in one process, unless
    this process may not write the file, when every connection it makes is read-only. Never
    creates a missing database."""
    with connect(path, read_only=not writable(path), wait=wait, create=False) as con:
        yield con


_schema_ready: set[tuple[str, int]] = set()
_schema_lock = threading.Lock()


def _ensure_schema(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Create the tables once per file per process, not on every short-lived connection.
    The file's inode is part of the key, so a file replaced on disk gets its schema again."""
    if str(target) == ":memory:":
        create_schema(con)
        return
    key = (str(target.resolve()), target.stat().st_ino)
    with _schema_lock:
        if key not in _schema_ready:
            create_schema(con)
            _schema_ready.add(key)


def records(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """A fetched result as dicts keyed by column name (fetched in full: DuckDB 2 results
    stream and hold the connection until they are read)."""
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def latest_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The data version: changes whenever a load or an undo is committed."""
    row = con.execute("SELECT coalesce(max(load_id), 0) FROM loads").fetchone()
    return int(row[0]) if row else 0


def loaded_quarters(con: duckdb.DuckDBPyConnection) -> list[int]:
    rows = con.execute("SELECT DISTINCT qi FROM observations ORDER BY qi").fetchall()
    return [int(r[0]) for r in rows]


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM observations").fetchone()
    return not row or row[0] == 0
