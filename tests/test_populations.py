"""Populations: checked with every problem on its line, loaded in one transaction as a load of its own
kind, revised with the old value kept, undone exactly, and all of it from the command line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import duckdb
import pytest

from helpers import ROOT, columns, number_cell, sheet_row, sheet_xml, text_cell, xlsx
from pipelines.catalogue import config
from pipelines.ingest import loading, populations
from pipelines.storage import schema, store

FIRST = "area,year,population\nDerbyshire,2009/10,760200\nDerbyshire,2010/11,763700\nHigh Peak,2010/11,91300\n"
REVISED = "area,year,population\nDerbyshire,2009/10,760200\nDerbyshire,2010/11,764100\nErewash,2010/11,112400\n"
QUARTER = "indicator,area,quarter,value\nNI 1,Derbyshire,2010/11 Q1,74.1\n"


def upload(text: str | bytes, catalogue: config.Catalogue, name: str = "pops.csv") -> populations.PopulationUpload:
    return populations.read_upload(text.encode() if isinstance(text, str) else text, name, catalogue)


def problems(text: str | bytes, catalogue: config.Catalogue, name: str = "pops.csv") -> list[str]:
    return [str(p) if p.line else p.reason for p in upload(text, catalogue, name).problems]


def dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("loads", "observations", "observation_history", "populations", "population_history")}


def stored(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT area, year, population, load_id FROM populations ORDER BY area, year").fetchall()


# --- The tables ----------------------------------------------------------------------------------------

def test_the_population_tables_derive_from_one_definition(con: duckdb.DuckDBPyConnection) -> None:
    def described(table: str) -> list[tuple[str, str, bool]]:
        return [(name, kind, nullable == "NO") for name, kind, nullable in con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()]

    assert described("populations") == [("area", "VARCHAR", True), ("year", "INTEGER", True),
                                         ("population", "DOUBLE", True), ("load_id", "INTEGER", True)]
    assert described("population_history") == described("populations") + [("replaced_by", "INTEGER", True)]
    keys = con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = 'populations'"
                       " AND constraint_type = 'PRIMARY KEY' AND database_name = current_database()").fetchall()
    assert schema.POPULATION_KEY == ("area", "year")
    # a lake has no keys (DuckLake refuses them): a load replaces a row by its key in code
    lake = con.execute("SELECT current_database()").fetchone() == ("lake",)
    assert [tuple(k[0]) for k in keys] == ([] if lake else [schema.POPULATION_KEY])
    python = {"VARCHAR": str, "INTEGER": int, "DOUBLE": float}
    assert typing.get_args(schema.PopulationRow) == tuple(python[c.sql_type] for c in schema.POPULATIONS)


def test_a_database_made_before_populations_gains_their_tables(tmp_path: Path, catalogue) -> None:
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as raw:  # the tables as they were before populations
        raw.execute(schema.SCHEMA.split("-- Added to a database made before them")[0])
        raw.execute("INSERT INTO loads VALUES (1, now(), 'load', 'q.csv', 'x', NULL, 1, 0, 0, 0, NULL, NULL)")
        assert raw.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'populations'").fetchone() == (0,)
    with store.connect(old) as con:
        assert con.execute("SELECT count(*) FROM population_history").fetchone() == (0,)
        assert populations.load(con, upload(FIRST, catalogue)).load_id == 2
        assert len(populations.loaded(con)) == 3


# --- Loading, revising, reloading, undoing ----------------------------------------------------------------

def test_a_first_load_adds_the_populations_and_records_the_load(con, catalogue) -> None:
    up = upload(FIRST, catalogue)
    assert up.ok and up.summary() == "pops.csv: 3 populations OK (2 areas, 2009/10 to 2010/11)."
    result = populations.load(con, up, analyst="sam")
    assert (result.load_id, result.added, result.revised, result.unchanged) == (1, 3, 0, 0)
    assert result.summary() == "load 1: 3 rows added, 0 revised, 0 unchanged"
    assert stored(con) == [("Derbyshire", 2009, 760200.0, 1), ("Derbyshire", 2010, 763700.0, 1),
                           ("High Peak", 2010, 91300.0, 1)]
    (load,) = loading.loads(con)
    assert {k: load[k] for k in ("load_id", "kind", "file_name", "sha256", "analyst", "rows_added", "rows_revised",
                                 "rows_unchanged", "rows_removed", "undoes", "undone_by")} == {
        "load_id": 1, "kind": "populations", "file_name": "pops.csv",
        "sha256": hashlib.sha256(FIRST.encode()).hexdigest(), "analyst": "sam", "rows_added": 3,
        "rows_revised": 0, "rows_unchanged": 0, "rows_removed": 0, "undoes": None, "undone_by": None}
    assert populations.loaded(con) == {("Derbyshire", 2009): 760200.0, ("Derbyshire", 2010): 763700.0,
                                       ("High Peak", 2010): 91300.0}
    assert store.is_empty(con)  # no observations were touched


def test_a_revision_keeps_the_old_population(con, catalogue) -> None:
    populations.load(con, upload(FIRST, catalogue))
    result = populations.load(con, upload(REVISED, catalogue, "pops-2.csv"))
    assert (result.load_id, result.added, result.revised, result.unchanged) == (2, 1, 1, 1)
    assert result.revisions == [{"area": "Derbyshire", "year": 2010, "old_population": 763700.0,
                                 "new_population": 764100.0}]
    assert stored(con) == [("Derbyshire", 2009, 760200.0, 1), ("Derbyshire", 2010, 764100.0, 2),
                           ("Erewash", 2010, 112400.0, 2), ("High Peak", 2010, 91300.0, 1)]
    assert con.execute("SELECT * FROM population_history").fetchall() == [("Derbyshire", 2010, 763700.0, 1, 2)]


def test_loading_the_same_file_again_changes_nothing(con, catalogue) -> None:
    populations.load(con, upload(FIRST, catalogue))
    before = stored(con)
    result = populations.load(con, upload(FIRST, catalogue))
    assert result.summary() == "load 2: 0 rows added, 0 revised, 3 unchanged"
    assert stored(con) == before
    assert con.execute("SELECT count(*) FROM population_history").fetchone() == (0,)


def test_undo_restores_the_replaced_populations_and_removes_the_added(con, catalogue) -> None:
    populations.load(con, upload(FIRST, catalogue))
    original = dump(con)["populations"]
    populations.load(con, upload(REVISED, catalogue))
    result = loading.undo(con, 2, analyst="sam")
    assert (result.load_id, result.revised) == (3, 1)
    assert dump(con)["populations"] == original
    loads = {r["load_id"]: r for r in loading.loads(con)}
    assert loads[2]["undone_by"] == 3
    assert (loads[3]["kind"], loads[3]["undoes"], loads[3]["rows_revised"], loads[3]["rows_removed"],
            loads[3]["analyst"]) == ("undo", 2, 1, 1, "sam")
    # the undone load's own versions are kept, replaced by the undo
    assert con.execute("SELECT area, population, load_id, replaced_by FROM population_history"
                       " WHERE replaced_by = 3 ORDER BY area").fetchall() == [
        ("Derbyshire", 764100.0, 2, 3), ("Erewash", 112400.0, 2, 3)]
    with pytest.raises(loading.LoadRefused, match="already undone by load 3"):
        loading.undo(con, 2)
    with pytest.raises(loading.LoadRefused, match="is itself an undo"):
        loading.undo(con, 3)
    loading.undo(con, 1)
    assert stored(con) == []


def test_undo_of_populations_revised_later_is_refused(con, catalogue) -> None:
    populations.load(con, upload(FIRST, catalogue))
    populations.load(con, upload(REVISED, catalogue))
    with pytest.raises(loading.LoadRefused, match="load 2 has since revised 1 of its rows. Undo load 2 first"):
        loading.undo(con, 1)
    loading.undo(con, 2)
    loading.undo(con, 1)  # allowed once the later load is undone
    assert stored(con) == []


def test_figures_and_populations_are_undone_apart(con, catalogue) -> None:
    """A load of figures between two loads of populations neither blocks nor is touched by their undo."""
    populations.load(con, upload(FIRST, catalogue))
    loading.load(con, loading.read_upload(QUARTER.encode(), "q.csv", catalogue))
    observations = dump(con)["observations"]
    populations.load(con, upload(REVISED, catalogue))
    loading.undo(con, 3)
    loading.undo(con, 1)
    assert stored(con) == [] and dump(con)["observations"] == observations
    loading.undo(con, 2)
    assert store.is_empty(con)


def test_a_failure_inside_the_transaction_changes_nothing(con, catalogue, monkeypatch) -> None:
    populations.load(con, upload(FIRST, catalogue))
    before = dump(con)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(loading, "write_staged", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        populations.load(con, upload(REVISED, catalogue))
    assert dump(con) == before


# --- Refused files -------------------------------------------------------------------------------------

def test_every_problem_is_listed_with_its_line(catalogue) -> None:
    text = ("area,year,population\n"
            "Derbyshire,2010/11,763700\n"      # line 2: fine
            "Hgh Peak,2010/11,91300\n"          # line 3: unknown area
            "Erewash,2010,112400\n"             # line 4: a calendar year
            "Erewash,2010/12,112400\n"          # line 5: not a financial year
            "Bolsover,2010/11,0\n"              # line 6: not positive
            "Bolsover,2009/10,-75000\n"         # line 7: negative
            "Chesterfield,2010/11,lots\n"       # line 8: not a number
            "Derbyshire,2010/11,763800\n"       # line 9: repeats line 2
            "Erewash,,\n"                       # line 10: empty year and population
            ",2010/11,1\n"                      # line 11: empty area
            "Erewash,1850/51,1\n"               # line 12: out of range
            "High Peak,2010/11,\"91,300\"\n"    # line 13: fine: a thousands separator, quoted
            "Amber Valley,2010/11,122512,x\n")  # line 14: an extra field
    assert problems(text, catalogue) == [
        "line 3, column area: unknown area 'Hgh Peak' (did you mean 'High Peak'?)",
        "line 4, column year: '2010' is not a financial year; write it as '2010/11'",
        "line 5, column year: '2010/12' is not a financial year; write it as '2010/11'",
        "line 6, column population: the population must be above 0, not 0 (give the area's population for the year)",
        "line 7, column population: the population must be above 0, not -75000"
        " (give the area's population for the year)",
        "line 8, column population: 'lots' is not a number (give the area's population for the year)",
        "line 9: repeats Derbyshire, 2010/11 from line 2 (keep one row per area and year)",
        "line 10, column year: year is empty (write the financial year, e.g. '2010/11')",
        "line 10, column population: population is empty (give the area's population for the year)",
        "line 11, column area: area is empty (use the county or a district named in indicators.yaml)",
        "line 12, column year: '1850/51' is outside the financial years ragboard accepts (1900/01 to 2100/01);"
        " check the year",
        "line 14: has 4 fields but the header has 3 (check for an unquoted separator inside a value)",
    ]


def test_columns_are_checked_before_rows(catalogue) -> None:
    assert problems("area,year,populaton,year\nDerbyshire,2010/11,1,2010/11\n", catalogue) == [
        "line 1, column populaton: unknown column (the columns are area, year, population; did you mean"
        " 'population'?)",
        "line 1, column year: column appears 2 times (keep one)",
        "line 1, column population: missing required column 'population' (the header must include area, year,"
        " population)"]
    assert problems(b"", catalogue) == [
        "pops.csv is empty; it needs a header line (area,year,population) and one row per area and year."]


def test_a_bad_file_loads_nothing(con, catalogue, tmp_path: Path) -> None:
    populations.load(con, upload(FIRST, catalogue))
    before = dump(con)
    bad_text = "area,year,population\nDerbyshire,2010/11,900000\nDerbyshire,2010/11,900001\n"
    bad = upload(bad_text, catalogue)
    assert bad.problem_count == 1
    with pytest.raises(loading.LoadRefused, match="pops.csv has 1 problem; nothing was loaded"):
        populations.load(con, bad)
    # every file is checked before any is loaded: the good one first in line is not loaded either
    paths = [write(tmp_path, "good.csv", REVISED), write(tmp_path, "bad.csv", bad_text)]
    with pytest.raises(loading.LoadRefused, match="bad.csv does not match the catalogue: line 3: repeats"):
        populations.load_files(con, paths, catalogue)
    assert dump(con) == before


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_files_from_excel_are_read_as_figures_are(catalogue) -> None:
    semicolons = "\ufeffarea;year;population\r\nDerbyshire;2010/11;763 700\r\nHigh Peak;2010/11;91300\r\n"
    assert upload(semicolons.encode("utf-8"), catalogue).rows == [("Derbyshire", 2010, 763700.0),
                                                                  ("High Peak", 2010, 91300.0)]
    sheet = sheet_xml(sheet_row(1, text_cell("A1", "area"), text_cell("B1", "year"), text_cell("C1", "population"))
                      + sheet_row(2, text_cell("A2", "Derbyshire"), text_cell("B2", "2010/11"),
                                  number_cell("C2", 763700)))
    assert upload(xlsx(sheet), catalogue, "pops.xlsx").rows == [("Derbyshire", 2010, 763700.0)]


# --- The sample ------------------------------------------------------------------------------------------

def test_the_sample_loads_its_populations_first(tmp_path: Path, catalogue) -> None:
    sample = tmp_path / "sample"
    (sample / "populations").mkdir(parents=True)
    write(sample / "populations", "shire.csv", FIRST)
    write(sample, "2010-11-Q1.csv", QUARTER)
    assert loading.sample_files(sample) == [sample / "populations" / "shire.csv", sample / "2010-11-Q1.csv"]
    db = tmp_path / "sample.duckdb"
    results = loading.create_from_sample(db, catalogue, sample)
    assert [(r.load_id, r.added) for r in results] == [(1, 3), (2, 1)]
    with store.connect(db, read_only=True) as con:
        assert [(r["load_id"], r["kind"], r["file_name"]) for r in loading.loads(con)] == [
            (2, "load", "2010-11-Q1.csv"), (1, "populations", "shire.csv")]
        assert len(populations.loaded(con)) == 3


def test_a_sample_without_populations_loads_only_its_quarters(tmp_path: Path, catalogue) -> None:
    write(tmp_path, "2010-11-Q1.csv", QUARTER)
    with store.connect(tmp_path / "db.duckdb") as con:
        results = loading.load_sample(con, catalogue, tmp_path)
        assert [r.added for r in results] == [1] and populations.loaded(con) == {}


def test_a_bad_population_file_in_the_sample_loads_nothing(tmp_path: Path, catalogue) -> None:
    (tmp_path / "populations").mkdir()
    write(tmp_path / "populations", "shire.csv", "area,year,population\nShire,2010/11,1\n")
    write(tmp_path, "2010-11-Q1.csv", QUARTER)
    db = tmp_path / "db.duckdb"
    with pytest.raises(loading.LoadRefused, match="shire.csv does not match the catalogue: line 2, column area:"
                                                  " unknown area 'Shire'"):
        loading.create_from_sample(db, catalogue, tmp_path)
    assert not db.exists()


# --- The command line ------------------------------------------------------------------------------------

def run(*args: str, db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "RAGBOARD_DB": str(db), "PYTHONPATH": str(ROOT)}
    environ.pop("RAGBOARD_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120)


def populations_in(db: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT area, year, population, load_id FROM populations ORDER BY ALL").fetchall()


def test_load_populations_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    pops = write(tmp_path, "pops.csv", FIRST)
    first = run("load-populations", str(pops), "--analyst", "sam", db=db, cwd=tmp_path)
    assert (first.returncode, first.stdout.strip()) == (0, "pops.csv: load 1: 3 rows added, 0 revised, 0 unchanged.")
    again = run("load-populations", str(pops), db=db, cwd=tmp_path)
    assert again.stdout.strip() == "pops.csv: load 2: 0 rows added, 0 revised, 3 unchanged."
    pops.write_text(REVISED, encoding="utf-8")
    revised = run("load-populations", str(pops), db=db, cwd=tmp_path)
    assert revised.stdout.strip() == "pops.csv: load 3: 1 row added, 1 revised, 1 unchanged."
    assert ("Derbyshire", 2010, 764100.0, 3) in populations_in(db)
    undone = run("undo", "3", db=db, cwd=tmp_path)
    assert (undone.returncode, undone.stdout.strip()) == (
        0, "Load 3 undone (recorded as load 4): 1 earlier value restored.")
    assert populations_in(db) == [("Derbyshire", 2009, 760200.0, 1), ("Derbyshire", 2010, 763700.0, 1),
                                  ("High Peak", 2010, 91300.0, 1)]
    listing = columns(run("loads", db=db, cwd=tmp_path).stdout)
    assert [(r["load_id"], r["kind"], r["file_name"], r["analyst"], r["rows_added"], r["rows_revised"],
             r["rows_unchanged"], r["undoes"], r["undone_by"]) for r in listing] == [
        ("4", "undo", "pops.csv", "", "0", "1", "0", "3", ""),
        ("3", "populations", "pops.csv", "", "1", "1", "1", "", "4"),
        ("2", "populations", "pops.csv", "", "0", "0", "3", "", ""),
        ("1", "populations", "pops.csv", "sam", "3", "0", "0", "", "")]


def test_a_bad_file_is_listed_and_nothing_is_written(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    run("load-populations", str(write(tmp_path, "pops.csv", FIRST)), db=db, cwd=tmp_path)
    before = populations_in(db)
    bad = write(tmp_path, "bad.csv", "area,year,population\nDerbyshre,2010/11,1\nErewash,2010,2\n")
    result = run("load-populations", str(bad), db=db, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "bad.csv: 2 problem(s); nothing was written.",
        "  line 2, column area: unknown area 'Derbyshre' (did you mean 'Derbyshire'?)",
        "  line 3, column year: '2010' is not a financial year; write it as '2010/11'"]
    assert populations_in(db) == before
    missing = run("load-populations", str(tmp_path / "none.csv"), db=db, cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.startswith("error: Cannot read")
    assert "Traceback" not in missing.stderr


def test_init_loads_the_sample_populations_first(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    result = run("init", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    files = loading.sample_files()
    named = [line.split(": load ")[0] for line in result.stdout.splitlines()[:-1]]
    assert named == [str(f.relative_to(store.SAMPLE_DIR)) for f in files]
    with duckdb.connect(str(db), read_only=True) as con:
        kinds = [k for (k,) in con.execute("SELECT kind FROM loads ORDER BY load_id").fetchall()]
        count = con.execute("SELECT count(*) FROM populations").fetchone()
    people = [f for f in files if f.parent.name == "populations"]
    assert kinds == ["populations"] * len(people) + ["load"] * (len(files) - len(people))
    assert bool(count and count[0]) == bool(people)
