"""The tables, defined once.

An observation's columns are listed here and nowhere else: the CREATE TABLE statements for
``observations`` and ``observation_history``, the staging table a load reads its rows into, the
comparison that tells a revised row from an unchanged one, and the type of a checked row
(``ObservationRow``, used by ``ingest.validate``) all derive from ``OBSERVATIONS``. A population's
columns (``POPULATIONS``) are kept the same way, for ``populations`` and ``population_history``.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Column(NamedTuple):
    name: str
    sql_type: str
    required: bool = False  # NOT NULL
    meaning: str = ""


OBSERVATIONS: tuple[Column, ...] = (
    Column("indicator", "VARCHAR", True),
    Column("area", "VARCHAR", True),
    Column("quarter", "VARCHAR", True, "as written: '2010/11 Q1'"),
    Column("qi", "INTEGER", True, "quarter index: start year * 4 + quarter - 1"),
    Column("value", "DOUBLE", False, "NULL: not available"),
    Column("lower", "DOUBLE"),
    Column("upper", "DOUBLE"),
    Column("numerator", "DOUBLE"),
    Column("denominator", "DOUBLE"),
    Column("reported_status", "VARCHAR"),
    Column("note", "VARCHAR"),
)

OBSERVATION_COLUMNS: tuple[str, ...] = tuple(c.name for c in OBSERVATIONS)
# An observation is identified by these; a load with the same key replaces the row.
OBSERVATION_KEY: tuple[str, ...] = ("indicator", "area", "qi")
# The columns whose change makes a row 'revised' (the quarter's label follows from qi).
OBSERVATION_VALUES: tuple[str, ...] = tuple(c for c in OBSERVATION_COLUMNS
                                            if c not in OBSERVATION_KEY and c != "quarter")
# {name: SQL type}, as read_csv's ``columns`` takes it for the staging table.
OBSERVATION_TYPES: dict[str, str] = {c.name: c.sql_type for c in OBSERVATIONS}

# One checked row, in the order of OBSERVATIONS, as Python holds it: VARCHAR is str, INTEGER int,
# DOUBLE float, and a column that may be NULL may be None. A type cannot be computed for mypy, so
# tests/test_storage.py checks that this tuple and OBSERVATIONS agree column by column.
ObservationRow = tuple[str, str, str, int, float | None, float | None, float | None,
                       float | None, float | None, str | None, str | None]


# A population estimate for an area and financial year (ONS mid-year estimates, as a rule): the
# denominator of the rates whose indicator says ``denominator: population``.
POPULATIONS: tuple[Column, ...] = (
    Column("area", "VARCHAR", True),
    Column("year", "INTEGER", True, "the financial year's start: 2010 for 2010/11"),
    Column("population", "DOUBLE", True),
)
POPULATION_COLUMNS: tuple[str, ...] = tuple(c.name for c in POPULATIONS)
POPULATION_KEY: tuple[str, ...] = ("area", "year")
POPULATION_TYPES: dict[str, str] = {c.name: c.sql_type for c in POPULATIONS}
POPULATION_VALUES: tuple[str, ...] = ("population",)
# One checked population row, in the order of POPULATIONS (tests/test_populations.py checks they agree)
PopulationRow = tuple[str, int, float]


class Versioned(NamedTuple):
    """A table that loads write and undo reverses: each version a load replaces is kept in its
    history table with the load that replaced it (``replaced_by``)."""

    table: str
    history: str
    columns: tuple[str, ...]  # in the table's order, before its load_id
    key: tuple[str, ...]
    values: tuple[str, ...]  # the columns whose change makes a row 'revised'
    types: dict[str, str]  # {name: SQL type}, as read_csv's ``columns`` takes it


OBSERVATION_TABLES = Versioned("observations", "observation_history", OBSERVATION_COLUMNS, OBSERVATION_KEY,
                               OBSERVATION_VALUES, OBSERVATION_TYPES)
POPULATION_TABLES = Versioned("populations", "population_history", POPULATION_COLUMNS, POPULATION_KEY,
                              POPULATION_VALUES, POPULATION_TYPES)


def _columns(extra: str, columns: tuple[Column, ...] = OBSERVATIONS) -> str:
    lines = [f"    {c.name} {c.sql_type}{' NOT NULL' if c.required else ''}," for c in columns]
    return "\n".join(lines) + "\n" + extra


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS loads (
    load_id INTEGER PRIMARY KEY,
    loaded_at TIMESTAMP NOT NULL,
    kind VARCHAR NOT NULL,            -- 'load' (observations), 'populations' or 'undo'
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
{_columns('''    load_id INTEGER NOT NULL,
    PRIMARY KEY (indicator, area, qi)''')}
);
CREATE TABLE IF NOT EXISTS observation_history (
{_columns('''    load_id INTEGER NOT NULL,         -- the load that had written this version
    replaced_by INTEGER NOT NULL      -- the load (or undo) that replaced it''')}
);
-- Added to a database made before them when it is next opened for writing (IF NOT EXISTS)
CREATE TABLE IF NOT EXISTS populations (
{_columns('''    load_id INTEGER NOT NULL,
    PRIMARY KEY (area, year)''', POPULATIONS)}
);
CREATE TABLE IF NOT EXISTS population_history (
{_columns('''    load_id INTEGER NOT NULL,         -- the load that had written this version
    replaced_by INTEGER NOT NULL      -- the load (or undo) that replaced it''', POPULATIONS)}
);
-- Commentary and actions are append-only: every edit is a new version, so the history of
-- who wrote what and when is the table itself. A commentary's versions are ordered by
-- written_at, which each write makes later than the version before it (commentary.write).
CREATE TABLE IF NOT EXISTS commentary_versions (
    indicator VARCHAR NOT NULL,
    area VARCHAR NOT NULL,
    qi INTEGER NOT NULL,
    text VARCHAR NOT NULL,            -- empty: the commentary was withdrawn
    author VARCHAR NOT NULL,
    written_at TIMESTAMP NOT NULL
);
-- Each catalogue text once, by its SHA-256, from the first load or pack that used it; each load
-- and each pack names the catalogue it used, so a pack can be made again as it was published.
CREATE TABLE IF NOT EXISTS catalogue_versions (
    sha256 VARCHAR PRIMARY KEY,
    text BLOB NOT NULL,
    first_used TIMESTAMP NOT NULL
);
ALTER TABLE loads ADD COLUMN IF NOT EXISTS catalogue_sha256 VARCHAR;
CREATE TABLE IF NOT EXISTS packs (
    pack_id INTEGER PRIMARY KEY,
    made_at TIMESTAMP NOT NULL,
    qi INTEGER NOT NULL,              -- the quarter it reports
    area VARCHAR,                     -- report --area; NULL: the catalogue's home
    exceptions_only BOOLEAN NOT NULL,
    format VARCHAR NOT NULL,          -- 'html' or 'pdf'
    file_name VARCHAR,
    load_id INTEGER NOT NULL,         -- the data version it showed: the latest load when it was made
    catalogue_sha256 VARCHAR,
    analyst VARCHAR
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


def without_keys(schema: str) -> str:
    """The schema for a store without primary keys (DuckLake has none): the same tables, their keys
    kept by the code that writes them (a load replaces a row by its key; ids come from the loads
    before them)."""
    schema = re.sub(r",\n\s*PRIMARY KEY \([^)]*\)", "", schema)
    return schema.replace(" PRIMARY KEY", "")


# A lake's writers commit at once: each writer of a load moves this counter (store.next_load_id),
# so two taking the same load id conflict rather than both landing.
LAKE_SCHEMA = without_keys(SCHEMA) + """
CREATE TABLE IF NOT EXISTS load_counter (last INTEGER NOT NULL);
INSERT INTO load_counter SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM load_counter);
"""
