"""The database as the rest of the engine sees it: short-lived connections, one transaction for
each write, the store's errors, and the small queries every layer asks.

DuckDB lets one process write a file at a time, so nothing holds a connection open: every
operation opens one, does its work and closes it. A lock held by another process becomes
``StoreBusy`` (a sentence for the user) after a short wait, never a traceback. Which store is
behind a connection, and what its errors mean, is decided in ``pipelines.storage.backend``.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from pipelines.storage import backend
from pipelines.storage.backend import (
    DEFAULT_DB,
    ROOT,
    StoreBusy,
    StoreConflict,
    StoreError,
    StoreMissing,
    StoreReadOnly,
    create_schema,
    db_path,
    io_failure,
    location,
)
from pipelines.storage.schema import OBSERVATION_COLUMNS, SCHEMA

__all__ = [
    "DEFAULT_DB", "OBSERVATION_COLUMNS", "ROOT", "SAMPLE_DIR", "SCHEMA", "WRITE_LOCK", "StoreBusy", "StoreConflict",
    "StoreError", "StoreMissing", "StoreReadOnly", "connect", "connect_to_read", "create_schema", "db_path",
    "file_path", "housekeeping", "io_failure", "is_empty", "is_lake", "label", "latest_load_id", "load_snapshots",
    "loaded_quarters", "location", "next_load_id", "records", "retried", "transaction", "writable",
]

SAMPLE_DIR = ROOT / "data" / "sample"

# Writers in one process (two analysts on the dashboard, a load and a commentary) take turns;
# writers in other processes are kept out by the store itself (DuckDB's file lock, which
# connect waits on). Every write goes through ``transaction``, which takes this lock. Re-entrant,
# so a writer that calls another writer does not wait for itself.
WRITE_LOCK = threading.RLock()


def file_path(where: str | Path | None = None) -> Path | None:
    """The DuckDB file the configuration names, or None for another store (a lake, memory)."""
    chosen = backend.backend_for(where)
    return chosen.path if isinstance(chosen, backend.DuckDBFile) else None


def label(where: str | Path | None = None) -> str:
    """How sentences name the store (a lake's without its password)."""
    return backend.backend_for(where).label


def writable(path: str | Path | None = None) -> bool:
    """Whether this process may write the database."""
    return backend.backend_for(path).writable()


@contextmanager
def connect(
    path: str | Path | None = None, *, read_only: bool = False, wait: float | None = None,
    create: bool = True,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one operation; waits up to ``wait`` seconds (default
    $RAGBOARD_LOCK_WAIT or 10) while another process writes. With ``create=False`` a missing
    database is an error rather than a new empty one (the dashboard never makes one by
    accident); a write connection to a database this process may not write is refused.

    Raises StoreBusy, StoreMissing, StoreReadOnly or StoreError, also for an I/O failure while
    the connection is in use (a full disk at COMMIT); any other DuckDB error (a fault in a query)
    passes through as it is."""
    with backend.connect(backend.backend_for(path), read_only=read_only, writing=not read_only, wait=wait,
                         create=create) as con:
        yield con


@contextmanager
def connect_to_read(
    path: str | Path | None = None, *, wait: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for reading in a process that also writes (the dashboard): read-write, since
    DuckDB refuses a read-only and a read-write connection to one file in one process, unless
    this process may not write the file, when every connection it makes is read-only. Never
    creates a missing database."""
    chosen = backend.backend_for(path)
    with backend.connect(chosen, read_only=not chosen.writable(), writing=False, wait=wait, create=False) as con:
        yield con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, commit: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """One write: everything inside is committed together, or (on any exception, or with
    ``commit=False`` for a preview) nothing is. Writers in this process take turns."""
    with WRITE_LOCK:
        con.execute("BEGIN TRANSACTION")
        _OPEN.add(id(con))
        try:
            yield con
        except BaseException as exc:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                # The error being raised is the one to report; DuckDB has already abandoned a
                # transaction whose statement failed badly (ROLLBACK then says none is active).
                pass
            if _conflict(exc):
                raise StoreConflict(CONFLICT) from exc
            raise
        finally:
            _OPEN.discard(id(con))
        if not commit:
            con.execute("ROLLBACK")
            return
        try:
            con.execute("COMMIT")
        except duckdb.TransactionException as exc:
            if _conflict(exc):
                raise StoreConflict(CONFLICT) from exc
            # A commit the store could not write: DuckDB reports a full disk, or a file the system
            # will not let it write, at COMMIT as a failed transaction, and has rolled it back.
            raise StoreError(io_failure(exc)) from exc


# A lake's writers commit at once; one whose changes meet another's committed meanwhile is refused
# whole (DuckLake retries plain inserts itself). The write is then tried again, whole.
CONFLICT = "Another writer changed the same figures at the same moment; nothing was changed."
RETRIES = 20


def _conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


F = TypeVar("F", bound=Callable[..., Any])


def retried(write: F) -> F:
    """A writer (a function that makes one transaction on the connection it is given) tried again,
    whole, when its commit met another writer's ($RAGBOARD_RETRIES times, default 20, waiting a
    little longer each time), then refused with a sentence."""
    @functools.wraps(write)
    def again(*args: Any, **kwargs: Any) -> Any:
        attempts = max(1, int(os.environ.get("RAGBOARD_RETRIES", RETRIES)))
        for attempt in range(1, attempts + 1):
            try:
                return write(*args, **kwargs)
            except StoreConflict as exc:
                if attempt == attempts:
                    raise StoreConflict(f"{CONFLICT} It was tried {attempts} times; try again in a moment.") from exc
                time.sleep(random.uniform(0.05, 0.25) * min(attempt, 8))  # apart, so they do not meet again
        raise AssertionError("unreachable")
    return again  # type: ignore[return-value]


# The connections inside ``transaction`` now: a reader that needs one snapshot for several queries
# begins its own only outside them (DuckDB aborts an open transaction on a second BEGIN).
_OPEN: set[int] = set()


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    return id(con) in _OPEN


def records(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """A fetched result as dicts keyed by column name (fetched in full: DuckDB 2 results
    stream and hold the connection until they are read)."""
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def latest_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The data version: the id of the last load or undo committed (0 before the first). A new
    load takes the next one, inside its transaction."""
    row = con.execute("SELECT coalesce(max(load_id), 0) FROM loads").fetchone()
    return int(row[0]) if row else 0


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The id of the load (or undo) being written, inside its transaction: the next after the last
    committed. On a lake, whose writers commit at once, every writer also moves its one-row counter,
    so two writers taking the same id conflict and the later one is tried again (store.retried)."""
    if not is_lake(con):
        return latest_load_id(con) + 1
    con.execute("UPDATE load_counter SET last = (SELECT coalesce(max(load_id), 0) FROM loads) + 1")
    load_id = latest_load_id(con) + 1
    # the lake's snapshot of this commit names the load, so 'loads' can show each load's snapshot
    con.execute(f"CALL {backend.LAKE_ALIAS}.set_commit_message('ragboard', 'load {load_id}')")
    return load_id


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection's store is a lake (its tables are the lake's, with its load counter)."""
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
                       " AND table_name = 'load_counter'").fetchone() != (0,)


def load_snapshots(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    """On a lake, each load's snapshot (its commit): {load_id: snapshot_id}; nothing on a file."""
    if not is_lake(con):
        return {}
    rows = con.execute(f"SELECT snapshot_id, commit_message FROM {backend.LAKE_ALIAS}.snapshots()"
                       " WHERE author = 'ragboard' AND commit_message LIKE 'load %'").fetchall()
    return {int(message.split()[1]): int(snapshot) for snapshot, message in rows}


def housekeeping(con: duckdb.DuckDBPyConnection, keep_days: int) -> dict[str, int]:
    """A lake's upkeep: small data files merged, snapshots older than ``keep_days`` expired (undo and
    the audit read the history tables, not old snapshots, so nothing they need goes), the files no
    snapshot needs any more deleted, and files no snapshot ever listed (a killed writer's) removed.
    What each step did, counted. A DuckDB file is checkpointed."""
    if not is_lake(con):
        con.execute("CHECKPOINT")
        return {}
    lake = backend.LAKE_ALIAS
    merged = con.execute(f"CALL ducklake_merge_adjacent_files('{lake}')").fetchall()
    expired = con.execute(f"CALL ducklake_expire_snapshots('{lake}', older_than => now() - INTERVAL"
                          f" '{int(keep_days)} days')").fetchall()
    removed = con.execute(f"CALL ducklake_cleanup_old_files('{lake}', cleanup_all => true)").fetchall()
    orphans = con.execute(f"CALL ducklake_delete_orphaned_files('{lake}', cleanup_all => true)").fetchall()
    return {"tables merged": len(merged), "snapshots expired": len(expired), "old files deleted": len(removed),
            "orphaned files deleted": len(orphans)}


def loaded_quarters(con: duckdb.DuckDBPyConnection) -> list[int]:
    rows = con.execute("SELECT DISTINCT qi FROM observations ORDER BY qi").fetchall()
    return [int(r[0]) for r in rows]


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM observations").fetchone()
    return not row or row[0] == 0
