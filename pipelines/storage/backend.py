"""The storage seam: which store holds the tables, how a connection to it is opened, and what
its failures mean for a user.

Everything above storage opens connections through ``store.connect`` / ``store.connect_to_read``
and writes inside ``store.transaction``; only this module knows what kind of store is behind
them. Today that is a DuckDB file (``DuckDBFile``), or a database in memory for tests
(``InMemory``); a DuckLake backend (issue 14) is one more ``Backend``, chosen in ``backend_for``.

A store's failures become these exceptions, told apart by the class of DuckDB's exception:
``StoreBusy`` (another program holds it: try again), ``StoreMissing``, ``StoreReadOnly`` and
``StoreError`` (it cannot be read or written: a full disk, a damaged file). Anything else DuckDB
raises (a parser, binder or catalog error, a broken constraint) is a fault in the code or a rule
the code relies on, and passes through unchanged so that tests see it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.storage.schema import LAKE_SCHEMA, SCHEMA

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = ROOT / "data" / "ragboard.duckdb"
MEMORY = ":memory:"


class StoreBusy(Exception):
    """Another program holds the database; the message says to try again."""


class StoreError(Exception):
    """The database cannot be used; the message says why."""


class StoreMissing(StoreError):
    """There is no database where one is expected."""


class StoreReadOnly(StoreError):
    """The database can be read but not written (a read-only file, folder or file system)."""


def io_failure(exc: BaseException, *, writing: bool = True) -> str:
    """A sentence for an input/output error DuckDB met (a full disk, a file the system refuses):
    the reason the system gave, without DuckDB's wording around it."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else "input/output error"
    reason = text.rsplit(": ", 1)[-1].rstrip(".")
    if not writing:
        return (f"The database could not be read ({reason})."
                " Check the file and its permissions, then try again.")
    return (f"The database could not be written ({reason}), so nothing was changed."
            " Free some disk space or check the file's permissions, then try again.")


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


# Tables added by later versions, each with an empty stand-in: a file made before them and opened
# read-only (where they cannot be created) reads as if they were empty, rather than failing.
LATER_TABLES = {
    "populations": "SELECT NULL::VARCHAR AS area, NULL::INTEGER AS year, NULL::DOUBLE AS population,"
                   " NULL::INTEGER AS load_id WHERE false",
}


def stand_in_for_new_tables(con: duckdb.DuckDBPyConnection) -> None:
    present = {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    for name, empty in LATER_TABLES.items():
        if name not in present:
            con.execute(f"CREATE TEMP VIEW {name} AS {empty}")


class Backend(ABC):
    """One kind of store. A backend opens DuckDB connections to it and says what DuckDB's
    errors mean there; ``connect`` below does the rest (waiting while it is busy, creating the
    tables, turning errors into the store's exceptions) the same way for every backend."""

    #: how sentences for the user name the store
    label: str

    @abstractmethod
    def exists(self) -> bool:
        """Whether the store has been created."""

    @abstractmethod
    def writable(self) -> bool:
        """Whether this process may write the store."""

    @abstractmethod
    def open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A new connection; raises DuckDB's own exceptions, which ``failure`` translates."""

    def ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the tables that are missing (called on every connection that may write)."""
        create_schema(con)

    def busy(self, exc: duckdb.Error) -> bool:
        """Whether ``exc`` means another program holds the store, so waiting may help."""
        return False

    def failure(self, exc: duckdb.Error, *, writing: bool, opening: bool = False) -> Exception | None:
        """The store's exception for an error DuckDB raised, or None when the error is not about the
        store (a fault in a query: the caller re-raises it as it is). By class: an IOException is
        the store's (busy, or a failure of the disk or the file); a commit the store could not write
        is mapped where the COMMIT runs (store.transaction)."""
        if self.busy(exc):
            return StoreBusy(f"The database {self.label} is busy: another program is writing to it."
                             " Try again in a moment.")
        if isinstance(exc, duckdb.IOException):
            if opening and "newer version of DuckDB" in str(exc):
                return StoreError(
                    f"The database {self.label} was written by a newer DuckDB than this ragboard's"
                    f" {duckdb.__version__} (the long-term-support line its lake extensions need). Rebuild it:"
                    " 'python -m pipelines init' into a new file, then load your quarters' files again.")
            if opening:
                return StoreError(f"Cannot open the database {self.label}: {exc}")
            return StoreError(io_failure(exc, writing=writing))
        return None


class DuckDBFile(Backend):
    """A DuckDB database file: one process may write it at a time, and DuckDB locks the file
    to make sure of it; every other process waits (see ``connect``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)

    def exists(self) -> bool:
        return self.path.exists()

    def writable(self) -> bool:
        """The file and its folder (DuckDB writes a .wal beside the file). os.access also answers
        no on a read-only file system, even for root."""
        if self.path.exists() and not os.access(self.path, os.W_OK):
            return False
        folder = self.path.parent
        while not folder.exists() and folder != folder.parent:  # folders open() would create
            folder = folder.parent
        return os.access(folder, os.W_OK | os.X_OK)

    def open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(self.path), read_only=read_only)

    def ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        """Once per file per process, not on every short-lived connection. The file's inode is
        part of the key, so a file replaced on disk gets its schema again."""
        key = (str(self.path.resolve()), self.path.stat().st_ino)
        with _schema_lock:
            if key not in _schema_ready:
                create_schema(con)
                _schema_ready.add(key)

    def busy(self, exc: duckdb.Error) -> bool:
        # DuckDB (checked with 2.0.1) raises the same class, IOException, for a lock another
        # process holds and for every other I/O failure (a missing folder, a damaged file), and
        # the exception carries nothing but its message. So this one check reads the message:
        # 'IO Error: Could not set lock on file "...": Conflicting lock is held in ... (PID n)'.
        return isinstance(exc, duckdb.IOException) and "Could not set lock on file" in str(exc)


class InMemory(Backend):
    """A database that lives as long as its connection (tests, and ``--db :memory:``)."""

    label = MEMORY

    def exists(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(MEMORY)  # read_only has no meaning for a new, empty database


# ---- DuckLake: the catalog in PostgreSQL, the data as Parquet in a folder or on S3 ---------------

LAKE = "ducklake:"
LAKE_ALIAS = "lake"
# The extensions a lake needs, from their PyPI packages (duckdb-extension-<name>, pinned with DuckDB):
# nothing is downloaded at run time. Installed once into this folder from the wheels' files.
LAKE_EXTENSIONS = ("ducklake", "postgres", "httpfs")
EXTENSION_DIR = ROOT / ".duckdb_extensions"
_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def redacted(text: str) -> str:
    """Text that may hold a connection string, with any password in it replaced: secrets never
    reach a log, a page or an error message."""
    return _PASSWORD.sub(r"\1***", text)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckLake(Backend):
    """A DuckLake (``ducklake:postgres:<libpq connection string>``): many processes write and read
    it at once, each commit a snapshot. One DuckDB instance per process attaches it (attaching
    costs about 0.4 s); each operation gets a cursor of that instance, as a file's gets a connection."""

    def __init__(self, location: str, data_path: str | None) -> None:
        self.location = location
        self.data_path = data_path
        self.label = redacted(location)

    def exists(self) -> bool:
        return True  # attaching a new catalog creates the lake

    def writable(self) -> bool:
        return True

    def open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        cursor = _lake_root(self).cursor()
        cursor.execute(f"USE {LAKE_ALIAS}")
        return cursor

    def ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        with _schema_lock:
            if (self.location, "lake") not in _lake_schema_ready:
                con.execute(LAKE_SCHEMA)
                _lake_schema_ready.add((self.location, "lake"))

    def failure(self, exc: duckdb.Error, *, writing: bool, opening: bool = False) -> Exception | None:
        if isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower():
            return StoreConflict(f"Another writer changed the lake {self.label} at the same moment; nothing"
                                 " was changed. Try again.")
        if isinstance(exc, duckdb.IOException | duckdb.ConnectionException | duckdb.HTTPException):
            return StoreError(f"Cannot use the lake {self.label}: {redacted(str(exc).splitlines()[0])}")
        return None


class StoreConflict(StoreBusy):
    """Another writer committed a change that conflicts with this one (a lake); the whole write may
    be tried again."""


_lake_roots: dict[tuple[str, str | None], duckdb.DuckDBPyConnection] = {}
_lake_schema_ready: set[tuple[str, str]] = set()


def _install_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Install the lake's extensions from their packages' files (once per folder: INSTALL copies
    the file in; DuckDB then loads it when ATTACH needs it)."""
    import importlib.util

    for name in LAKE_EXTENSIONS:
        spec = importlib.util.find_spec(f"duckdb_extension_{name}")
        if spec is None or spec.origin is None:
            raise StoreError(f"The {name} extension is not installed: pip install"
                             f" duckdb-extension-{name}=={duckdb.__version__}")
        found = sorted(Path(spec.origin).parent.glob(f"extensions/v*/{name}.duckdb_extension"))
        if not found:
            raise StoreError(f"The package duckdb-extension-{name} holds no extension file.")
        con.execute(f"INSTALL {_literal(str(found[-1]))}")


def _s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """A secret for S3 from the usual AWS variables, when they are set (DuckDB's own secrets
    serve otherwise). The endpoint (AWS_ENDPOINT_URL) makes it any S3-compatible store."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return
    parts = [f"KEY_ID {_literal(key)}", f"SECRET {_literal(secret)}"]
    if region := os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        parts.append(f"REGION {_literal(region)}")
    if endpoint := os.environ.get("AWS_ENDPOINT_URL"):
        scheme, _, host = endpoint.partition("://")
        parts += [f"ENDPOINT {_literal(host or scheme)}", "URL_STYLE 'path'",
                  f"USE_SSL {'true' if scheme == 'https' else 'false'}"]
    con.execute(f"CREATE OR REPLACE SECRET ragboard_s3 (TYPE s3, {', '.join(parts)})")


def _lake_root(lake: DuckLake) -> duckdb.DuckDBPyConnection:
    key = (lake.location, lake.data_path)
    with _schema_lock:
        root = _lake_roots.get(key)
        if root is None:
            folder = Path(os.environ.get("RAGBOARD_EXTENSIONS") or EXTENSION_DIR)
            folder.mkdir(parents=True, exist_ok=True)
            root = duckdb.connect(config={"autoinstall_known_extensions": "false",
                                          "autoload_known_extensions": "true",
                                          "extension_directory": str(folder)})
            try:
                _install_extensions(root)
                _s3_secret(root)
                options = f" (DATA_PATH {_literal(lake.data_path)})" if lake.data_path else ""
                root.execute(f"ATTACH {_literal(lake.location)} AS {LAKE_ALIAS}{options}")
            except BaseException:
                root.close()
                raise
            _lake_roots[key] = root
        return root


def close_lakes() -> None:
    """Detach every lake this process attached (tests, and a server shutting down)."""
    with _schema_lock:
        for root in _lake_roots.values():
            root.close()
        _lake_roots.clear()
        _lake_schema_ready.clear()


_schema_ready: set[tuple[str, int]] = set()
_schema_lock = threading.RLock()


def db_path(path: str | Path | None = None) -> Path:
    """The database file: ``--db`` (``path``), else $RAGBOARD_DB, else data/ragboard.duckdb."""
    return Path(path or os.environ.get("RAGBOARD_DB") or DEFAULT_DB)


def location(where: str | Path | None = None) -> str:
    """The store, as text: ``where`` (a command's ``--store`` or ``--db``), else $RAGBOARD_STORE,
    else $RAGBOARD_DB, else the default file. A lake's location is its ``ducklake:`` string."""
    if where is not None:
        return str(where)
    return os.environ.get("RAGBOARD_STORE") or str(db_path())


def backend_for(where: str | Path | None = None) -> Backend:
    """The store the configuration names; the one place a store is chosen. ``where`` is a
    command's ``--db`` or ``--store`` (None: $RAGBOARD_STORE, else $RAGBOARD_DB, else the default
    file). A ``ducklake:`` location is a lake, its data path from $RAGBOARD_DATA_PATH."""
    where = location(where)
    if where.startswith(LAKE):
        return DuckLake(where, os.environ.get("RAGBOARD_DATA_PATH") or None)
    if where == MEMORY:
        return InMemory()
    return DuckDBFile(Path(where))


def _open(backend: Backend, *, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    """Open a connection, waiting up to ``wait`` seconds while another program holds the store."""
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return backend.open(read_only=read_only)
        except duckdb.Error as exc:
            if backend.busy(exc) and time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            failure = backend.failure(exc, writing=not read_only, opening=True)
            if failure is None:
                raise
            raise failure from exc


@contextmanager
def connect(
    backend: Backend, *, read_only: bool, writing: bool, wait: float | None, create: bool,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one operation, closed after it. Errors about the store, opening or
    during the operation, become the store's exceptions; others pass through."""
    if not backend.exists() and (read_only or not create):
        raise StoreMissing(f"There is no database at {backend.label}; run 'python -m pipelines init'.")
    if not read_only and not backend.writable():
        raise StoreReadOnly(f"The database {backend.label} is read-only on this server, so nothing can be"
                            " written; reading still works. Ask the administrator to make it writable.")
    if wait is None:
        wait = float(os.environ.get("RAGBOARD_LOCK_WAIT", "10"))
    con = _open(backend, read_only=read_only, wait=wait)
    try:
        try:
            if not read_only:
                backend.ensure_schema(con)
            else:
                stand_in_for_new_tables(con)
            yield con
        finally:
            con.close()
    except duckdb.Error as exc:
        failure = backend.failure(exc, writing=writing)
        if failure is None:
            raise
        raise failure from exc
