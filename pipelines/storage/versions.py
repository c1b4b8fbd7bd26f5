"""What a published pack used, kept so it can be made again: each catalogue text once by its
SHA-256 (``catalogue_versions``), each pack's quarter, options, data version and catalogue
(``packs``), and the database as it stood at a load (``as_of``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import duckdb

from pipelines.storage import store
from pipelines.storage.schema import OBSERVATION_COLUMNS, OBSERVATION_KEY, POPULATION_COLUMNS, POPULATION_KEY


def remember_catalogue(con: duckdb.DuckDBPyConnection, source: bytes) -> str | None:
    """Store the catalogue's text if it is new; its SHA-256, or None for a catalogue with no text
    (one built in code). Call inside the writer's transaction."""
    if not source:
        return None
    sha = hashlib.sha256(source).hexdigest()
    # by its absence, not a key: a lake has no keys to conflict on
    con.execute("INSERT INTO catalogue_versions SELECT $sha, $text, $at"
                " WHERE NOT EXISTS (SELECT 1 FROM catalogue_versions WHERE sha256 = $sha)",
                {"sha": sha, "text": source, "at": datetime.now()})
    return sha


def catalogue_text(con: duckdb.DuckDBPyConnection, sha256: str) -> bytes | None:
    found = con.execute("SELECT text FROM catalogue_versions WHERE sha256 = ?", [sha256]).fetchone()
    return bytes(found[0]) if found else None


@dataclass(frozen=True)
class Pack:
    """A pack as it was made: what ``report --as-published`` makes again."""

    pack_id: int
    made_at: datetime
    qi: int
    area: str | None
    exceptions_only: bool
    format: str
    file_name: str | None
    load_id: int
    catalogue_sha256: str | None
    analyst: str | None


@store.retried
def record_pack(con: duckdb.DuckDBPyConnection, *, made_at: datetime, qi: int, area: str | None,
                exceptions_only: bool, fmt: str, file_name: str, load_id: int, source: bytes,
                analyst: str | None) -> int:
    """Record a pack just made (with the data version it showed); its number."""
    with store.transaction(con):
        if store.is_lake(con):  # two packs recorded at once take the same number: make them conflict
            con.execute("UPDATE load_counter SET last = last")
        sha = remember_catalogue(con, source)
        pack_id = int(con.execute("SELECT coalesce(max(pack_id), 0) + 1 FROM packs").fetchone()[0])  # type: ignore[index]
        con.execute("INSERT INTO packs VALUES ($id, $at, $qi, $area, $ex, $fmt, $file, $load, $sha, $who)",
                    {"id": pack_id, "at": made_at, "qi": qi, "area": area, "ex": exceptions_only, "fmt": fmt,
                     "file": file_name, "load": load_id, "sha": sha, "who": analyst})
    return pack_id


def packs(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[Pack]:
    """The packs recorded, newest first."""
    rows = con.execute("SELECT * FROM packs ORDER BY pack_id DESC LIMIT ?", [limit]).fetchall()
    return [Pack(*row) for row in rows]


def pack(con: duckdb.DuckDBPyConnection, pack_id: int) -> Pack | None:
    row = con.execute("SELECT * FROM packs WHERE pack_id = ?", [pack_id]).fetchone()
    return Pack(*row) if row else None


# What a view as of a load reads: each versioned table's rows written by then and not yet replaced
# (the history keeps every version a later load or undo replaced, with the load that replaced it)
_VERSIONED = (("observations", "observation_history", OBSERVATION_COLUMNS, OBSERVATION_KEY),
              ("populations", "population_history", POPULATION_COLUMNS, POPULATION_KEY))


def _as_of(db: str, table: str, history: str, columns: tuple[str, ...], key: tuple[str, ...], n: int) -> str:
    """A table's rows as they stood after load ``n``. Each version (a row as a load wrote it) is
    written at its load and hidden from the load that replaced it until the undo of that load (which
    restored it), if any: a version an undo restored is in the table and in the history both."""
    cols = ", ".join(columns)
    same = " AND ".join(f"h.{k} = v.{k}" for k in key)
    return f"""
SELECT {cols}, load_id FROM (
    SELECT {cols}, load_id FROM "{db}".main.{table} UNION SELECT {cols}, load_id FROM "{db}".main.{history}) v
WHERE v.load_id <= {n} AND NOT EXISTS (
    SELECT 1 FROM "{db}".main.{history} h LEFT JOIN "{db}".main.loads l ON l.load_id = h.replaced_by
    WHERE {same} AND h.load_id = v.load_id AND {n} >= h.replaced_by AND {n} < coalesce(l.undone_by, 2147483647))"""
# and the append-only tables' versions written by the time the pack was made
_WRITTEN = (("commentary_versions", "written_at"), ("action_versions", "changed_at"))


@contextmanager
def as_of(con: duckdb.DuckDBPyConnection, load_id: int, made_at: datetime) -> Iterator[None]:
    """Inside, the connection's queries read the database as it stood at load ``load_id`` and time
    ``made_at``: temporary views of the same names stand in for the tables (a read-only connection
    may make them), dropped after."""
    db = str(con.execute("SELECT current_database()").fetchone()[0]).replace('"', '""')  # type: ignore[index]
    made: list[str] = []
    try:
        for table, history, columns, key in _VERSIONED:
            con.execute(f"CREATE TEMP VIEW {table} AS {_as_of(db, table, history, columns, key, int(load_id))}")
            made.append(table)
        for table, stamp in _WRITTEN:
            # a view takes no parameters: the time as a literal, from the database's own timestamp
            con.execute(f'CREATE TEMP VIEW {table} AS SELECT * FROM "{db}".main.{table}'
                        f" WHERE {stamp} <= TIMESTAMP '{made_at.isoformat(sep=' ')}'")
            made.append(table)
        con.execute(f'CREATE TEMP VIEW loads AS SELECT * FROM "{db}".main.loads WHERE load_id <= {int(load_id)}')
        made.append("loads")
        yield
    finally:
        for table in made:
            con.execute(f"DROP VIEW IF EXISTS temp.{table}")
