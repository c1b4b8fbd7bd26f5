"""The storage seam on real DuckDB files: which store is chosen, what its errors become (by class),
transactions and the one write lock, the schema derived from one definition, and pages that show
the store's failures as sentences but let a fault in a query raise."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import typing
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from helpers import Q1_2010, ROOT
from pipelines.catalogue import config
from pipelines.ingest import loading, validate
from pipelines.storage import analysts, backend, commentary, schema, store

APP = str(ROOT / "dashboard" / "app.py")
PASSWORD = "a long enough passphrase"
HOLD = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
        " time.sleep(float(sys.argv[2]))")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    with store.connect(path):
        pass
    return path


@pytest.fixture
def holder(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the database's lock (as a CLI load would), for 30 s or until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db), "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()


# --- Which store --------------------------------------------------------------------------------------

def test_the_store_is_chosen_by_configuration_in_one_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGBOARD_DB", str(tmp_path / "env.duckdb"))
    chosen = backend.backend_for()
    assert isinstance(chosen, backend.DuckDBFile) and chosen.path == tmp_path / "env.duckdb"
    given = backend.backend_for(tmp_path / "given.duckdb")  # --db wins over the environment
    assert isinstance(given, backend.DuckDBFile) and given.path == tmp_path / "given.duckdb"
    assert isinstance(backend.backend_for(":memory:"), backend.InMemory)
    monkeypatch.delenv("RAGBOARD_DB")
    default = backend.backend_for()
    assert isinstance(default, backend.DuckDBFile) and default.path == store.DEFAULT_DB
    assert store.db_path() == store.DEFAULT_DB


def test_a_missing_database_is_never_created_by_a_reader(tmp_path: Path) -> None:
    typo = tmp_path / "typo.duckdb"
    for opening in (lambda: store.connect(typo, read_only=True), lambda: store.connect(typo, create=False),
                    lambda: store.connect_to_read(typo)):
        with pytest.raises(store.StoreMissing, match="There is no database at"):
            with opening():
                pass
    assert not typo.exists()


# --- Errors, by class ---------------------------------------------------------------------------------

def test_duckdb_reports_another_process_s_lock_as_an_io_error(db: Path, holder: subprocess.Popen[str]) -> None:
    """Why DuckDBFile.busy reads the message: DuckDB has no class of its own for a lock held by
    another process. If a new DuckDB gives it one, this test fails: map that class instead."""
    with pytest.raises(duckdb.Error) as raised:
        duckdb.connect(str(db))
    assert type(raised.value) is duckdb.IOException
    assert backend.DuckDBFile(db).busy(raised.value)
    with pytest.raises(duckdb.IOException) as other:  # another I/O failure: same class, not busy
        duckdb.connect(str(db.parent / "no such folder" / "x.duckdb"), read_only=True)
    assert not backend.DuckDBFile(db).busy(other.value)


@pytest.mark.parametrize("how", ["write", "read_only", "to_read"])
def test_a_lock_held_by_another_process_is_store_busy_after_the_wait(
        db: Path, holder: subprocess.Popen[str], how: str) -> None:
    opening = {"write": lambda: store.connect(db, wait=0.4), "read_only": lambda: store.connect(db, read_only=True,
               wait=0.4), "to_read": lambda: store.connect_to_read(db, wait=0.4)}[how]
    started = time.monotonic()
    with pytest.raises(store.StoreBusy) as raised:
        with opening():
            pass
    assert time.monotonic() - started >= 0.4  # it waited before giving up
    assert str(raised.value) == (f"The database {db} is busy: another program is writing to it."
                                 " Try again in a moment.")
    assert isinstance(raised.value.__cause__, duckdb.IOException)


def test_a_lock_released_during_the_wait_lets_the_operation_go_ahead(db: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db), "0.8"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        started = time.monotonic()
        with store.connect(db, wait=20) as con:
            assert store.latest_load_id(con) == 0
        assert time.monotonic() - started >= 0.3
    finally:
        proc.kill()
        proc.wait()


def test_a_file_that_is_not_a_database_is_store_error_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-database.duckdb"
    bad.write_bytes(b"indicator,area\n" * 1000)
    started = time.monotonic()
    for opening in (lambda: store.connect(bad, wait=5), lambda: store.connect(bad, read_only=True, wait=5)):
        with pytest.raises(store.StoreError) as raised:
            with opening():
                pass
        assert not isinstance(raised.value, store.StoreMissing | store.StoreReadOnly)
        assert str(raised.value).startswith(f"Cannot open the database {bad}: IO Error:")
    assert time.monotonic() - started < 4  # not mistaken for a lock and waited on


def test_an_io_error_during_an_operation_is_a_sentence(db: Path) -> None:
    nowhere = db.parent / "no such folder" / "out.csv"
    with pytest.raises(store.StoreError) as raised:
        with store.connect(db) as con:
            con.execute("COPY (SELECT 1) TO $path", {"path": str(nowhere)})
    assert isinstance(raised.value.__cause__, duckdb.IOException)
    assert str(raised.value).startswith("The database could not be written (")
    assert str(raised.value).endswith("so nothing was changed. Free some disk space or check the file's"
                                      " permissions, then try again.")
    with pytest.raises(store.StoreError) as read:
        with store.connect_to_read(db) as con:
            con.execute("SELECT * FROM read_parquet($path)", {"path": str(nowhere)}).fetchall()
    assert str(read.value).startswith("The database could not be read (")


FAULTS = {
    "parser": ("SELEC qi FROM observations", duckdb.ParserException),
    "binder": ("SELECT no_such_column FROM observations", duckdb.BinderException),
    "catalog": ("SELECT * FROM no_such_table", duckdb.CatalogException),
    "constraint": ("INSERT INTO loads (load_id, loaded_at, kind, rows_added, rows_revised, rows_unchanged)"
                   " VALUES (NULL, now(), 'load', 0, 0, 0)", duckdb.ConstraintException),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_in_a_query_is_raised_as_it_is(db: Path, fault: str) -> None:
    sql, kind = FAULTS[fault]
    openings = [lambda: store.connect(db)]
    if fault != "constraint":  # a write: only on a connection that may write
        openings += [lambda: store.connect(db, read_only=True), lambda: store.connect_to_read(db)]
    for opening in openings:
        with pytest.raises(kind) as raised:
            with opening() as con:
                con.execute(sql)
        assert type(raised.value) is kind


def test_a_fault_inside_a_transaction_is_raised_and_rolled_back(db: Path) -> None:
    with store.connect(db) as con:
        with pytest.raises(duckdb.BinderException):
            with store.transaction(con):
                con.execute("INSERT INTO commentary_versions VALUES ('NI 20', 'Derbyshire', 8040, 'x', 'sam', now())")
                con.execute("SELECT no_such_column FROM commentary_versions")
        assert con.execute("SELECT count(*) FROM commentary_versions").fetchone() == (0,)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="a full file system is made with a tmpfs mount, which needs root")
def test_a_write_on_a_full_disk_is_store_error_and_changes_nothing(tmp_path: Path, db: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    writer = tmp_path / "writer.py"
    writer.write_text(textwrap.dedent("""\
        import sys
        from pipelines.storage import store
        try:
            with store.connect(sys.argv[1]) as con, store.transaction(con):
                con.execute("INSERT INTO commentary_versions SELECT 'NI 20', 'Derbyshire', i, repeat('x', 200),"
                            " 'sam', now() FROM range(200000) t(i)")
        except store.StoreError as exc:
            print(type(exc).__name__, type(exc.__cause__).__name__, exc, sep="|")
        with store.connect(sys.argv[1], read_only=True) as con:
            print(con.execute("SELECT count(*) FROM commentary_versions").fetchone()[0])
        """), encoding="utf-8")
    script = textwrap.dedent(f"""\
        mount -t tmpfs -o size={db.stat().st_size // 1024 + 512}k tmpfs {disk}
        cp {db} {disk}/r.duckdb
        dd if=/dev/zero of={disk}/filler bs=4k count=100 2>/dev/null
        {sys.executable} {writer} {disk}/r.duckdb
        """)
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in result.stderr, result.stderr
    failure, count = result.stdout.strip().splitlines()
    kind, cause, sentence = failure.split("|")
    assert kind == "StoreError" and cause in ("IOException", "TransactionException")
    assert sentence == ("The database could not be written (No space left on device), so nothing was changed."
                        " Free some disk space or check the file's permissions, then try again.")
    assert count == "0"


# --- Transactions and the one write lock -----------------------------------------------------------------

def test_a_transaction_commits_everything_or_nothing(db: Path) -> None:
    insert = "INSERT INTO commentary_versions VALUES ('NI 20', 'Derbyshire', 8040, ?, 'sam', now())"
    with store.connect(db) as con:
        with store.transaction(con):
            con.execute(insert, ["kept"])
        with store.transaction(con, commit=False):  # a preview: applied, then rolled back
            con.execute(insert, ["previewed"])
        with pytest.raises(RuntimeError):
            with store.transaction(con):
                con.execute(insert, ["abandoned"])
                raise RuntimeError("the caller gave up")
        assert con.execute("SELECT text FROM commentary_versions").fetchall() == [("kept",)]


def test_a_load_takes_the_next_data_version(db: Path, catalogue: config.Catalogue) -> None:
    first = loading.read_upload(b"indicator,area,quarter,value\nNI 20,Derbyshire,2010/11 Q1,7.19\n", "a.csv",
                                catalogue)
    second = loading.read_upload(b"indicator,area,quarter,value\nNI 20,Derbyshire,2010/11 Q1,7.4\n", "b.csv",
                                 catalogue)
    with store.connect(db) as con:
        assert store.latest_load_id(con) == 0
        assert loading.load(con, first).load_id == 1 == store.latest_load_id(con)
        with pytest.raises(loading.LoadRefused, match=r"load 1 was committed meanwhile"):
            loading.load(con, second, expected_version=0)  # previewed before load 1
        assert loading.load(con, second, expected_version=1).load_id == 2
        assert loading.undo(con, 2).load_id == 3 == store.latest_load_id(con)


# --- One definition of the observation columns ------------------------------------------------------------

SQL_TO_PYTHON = {"VARCHAR": str, "INTEGER": int, "DOUBLE": float}


def test_the_observation_tables_derive_from_one_definition(db: Path) -> None:
    with store.connect(db, read_only=True) as con:
        def columns(table: str) -> list[tuple[str, str, bool]]:
            return [(name, kind, nullable == "NO") for name, kind, nullable in con.execute(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
                " WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()]
        defined = [(c.name, c.sql_type, c.required) for c in schema.OBSERVATIONS]
        assert columns("observations") == defined + [("load_id", "INTEGER", True)]
        assert columns("observation_history") == defined + [("load_id", "INTEGER", True),
                                                            ("replaced_by", "INTEGER", True)]
        (key,) = con.execute("SELECT constraint_column_names FROM duckdb_constraints()"
                             " WHERE table_name = 'observations' AND constraint_type = 'PRIMARY KEY'").fetchone()
    assert tuple(key) == schema.OBSERVATION_KEY
    assert store.OBSERVATION_COLUMNS == tuple(c.name for c in schema.OBSERVATIONS)
    assert schema.OBSERVATION_TYPES == {c.name: c.sql_type for c in schema.OBSERVATIONS}
    assert schema.OBSERVATION_VALUES == ("value", "lower", "upper", "numerator", "denominator",
                                         "reported_status", "note")


def test_a_checked_row_has_the_columns_types() -> None:
    assert validate.Row is schema.ObservationRow
    fields = typing.get_args(schema.ObservationRow)
    assert len(fields) == len(schema.OBSERVATIONS)
    for column, field in zip(schema.OBSERVATIONS, fields, strict=True):
        python = SQL_TO_PYTHON[column.sql_type]
        expected = python if column.required else python | None
        assert field == expected, column.name


def test_every_column_of_a_file_arrives_with_its_type(db: Path, catalogue: config.Catalogue) -> None:
    data = (b"indicator,area,quarter,value,lower,upper,numerator,denominator,reported_status,note\n"
            b'NI 32,Derbyshire,2010/11 Q1,15.45,12.1,19.6,55,356,A,"a note, with a comma"\n')
    upload = loading.read_upload(data, "all.csv", catalogue)
    (row,) = upload.checked.rows
    with store.connect(db) as con:
        loading.load(con, upload)
        stored = con.execute(f"SELECT {', '.join(store.OBSERVATION_COLUMNS)} FROM observations").fetchone()
    assert stored == row == ("NI 32", "Derbyshire", "2010/11 Q1", Q1_2010, 15.45, 12.1, 19.6, 55.0, 356.0, "AMBER",
                             "a note, with a comma")


# --- No ordering by rowid ---------------------------------------------------------------------------------

def test_no_query_orders_by_rowid() -> None:
    """rowid is the position a row happens to have in one DuckDB file: not an order to rely on,
    and not one a DuckLake table keeps."""
    sources = [p for folder in ("pipelines", "dashboard") for p in (ROOT / folder).rglob("*") if
               p.suffix in (".py", ".sql", ".j2")]
    assert sources
    assert [str(p.relative_to(ROOT)) for p in sources if re.search(r"\browid\b", p.read_text(encoding="utf-8"),
                                                                   re.IGNORECASE)] == []


class _Clock:
    """datetime for commentary, with a 'now' the test sets (the clock of a server set back)."""

    at = datetime(2026, 1, 5, 9, 30)

    @classmethod
    def now(cls) -> datetime:
        return cls.at


def test_commentary_versions_keep_their_order_when_the_clock_stands_still_or_goes_back(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commentary, "datetime", _Clock)
    with store.connect(db) as con:
        for text in ("first", "second", "third"):  # three saves at the same instant
            commentary.write(con, "NI 20", "Derbyshire", Q1_2010, text, "sam")
        _Clock.at -= timedelta(hours=1)  # the clock is set back
        commentary.write(con, "NI 20", "Derbyshire", Q1_2010, "fourth", "jo")
        versions = commentary.history(con, "NI 20", "Derbyshire", Q1_2010)
        (now,) = commentary.current(con, "NI 20", "Derbyshire", Q1_2010)
    assert [v["text"] for v in versions] == ["fourth", "third", "second", "first"]
    assert (now["text"], now["author"]) == ("fourth", "jo")
    times = [v["written_at"] for v in versions]
    assert times == sorted(set(times), reverse=True)  # distinct and in order
    assert times[-1] == datetime(2026, 1, 5, 9, 30)


# --- Pages: the store's failures are sentences, a fault in a query raises -----------------------------------

@pytest.fixture
def page_db(sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    st.cache_data.clear()
    st.cache_resource.clear()
    accounts = tmp_path / "analysts.json"
    analysts.add("Sam Analyst", PASSWORD, accounts)
    monkeypatch.setenv("RAGBOARD_ANALYSTS", str(accounts))
    monkeypatch.setenv("RAGBOARD_DB", str(sample_db))
    monkeypatch.delenv("RAGBOARD_CONFIG", raising=False)
    yield sample_db
    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    return at.switch_page(page).run()


class Broken:
    """A query function with a fault in its SQL, run against the page's real connection; it keeps
    what DuckDB raised (the page shows a redacted notice, never the error itself)."""

    def __init__(self) -> None:
        self.raised: list[BaseException] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        con = next(a for a in args if isinstance(a, duckdb.DuckDBPyConnection))
        try:
            return con.execute("SELECT no_such_column FROM observations").fetchall()
        except duckdb.Error as exc:
            self.raised.append(exc)
            raise


@pytest.mark.parametrize(("module", "name", "page"), [
    (store, "loaded_quarters", "views/upload.py"),  # dashboard/data.py, for every page
    (commentary, "current", "views/indicator.py"),  # dashboard/notes.py
    (loading, "loads", "views/upload.py"),          # the Upload page's list of loads
])
def test_a_fault_in_a_query_raises_on_the_page(page_db: Path, monkeypatch: pytest.MonkeyPatch, module: Any,
                                               name: str, page: str) -> None:
    at = open_page(page, indicator="NI 39")
    assert not at.exception
    broken = Broken()
    monkeypatch.setattr(module, name, broken)
    st.cache_data.clear()
    at.run()
    assert [type(e) for e in broken.raised] == [duckdb.BinderException]
    assert len(at.exception) == 1, [e.value for e in at.error]
    assert not at.error  # no sentence pretending the database is at fault


def test_a_fault_in_the_load_query_raises_on_the_upload_page(page_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("views/upload.py")
    at.text_input(key="sign_in_name").input("Sam Analyst")
    at.text_input(key="sign_in_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    broken = Broken()
    monkeypatch.setattr(loading, "load", broken)
    at.get("file_uploader")[0].set_value(  # type: ignore[attr-defined]
        ("q.csv", b"indicator,area,quarter,value\nNI 20,Derbyshire,2010/11 Q1,7.2\n", "text/csv"))
    at.run()
    assert [type(e) for e in broken.raised] == [duckdb.BinderException]
    assert len(at.exception) == 1 and not at.error
