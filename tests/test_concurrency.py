"""Writers at the same moment, one write lock in a process, a CLI load under a running reader, a page
whose write meets another process's lock, and a killed load."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from helpers import Q1_2010, ROOT, big_file
from pipelines.catalogue import config, quarters
from pipelines.ingest import loading
from pipelines.rules import status
from pipelines.storage import analysts, commentary, store

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"


def quarter_file(path: Path, qi: int, value: float) -> Path:
    path.write_text(f"indicator,area,quarter,value\nNI 16,Derbyshire,{quarters.label(qi)},{value}\n"
                    f"NI 20,Derbyshire,{quarters.label(qi)},{value / 2}\n", encoding="utf-8")
    return path


def snapshot(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT * EXCLUDE ({'loaded_at' if t == 'loads' else 'load_id'}) FROM {t}"
                               " ORDER BY ALL").fetchall()
                for t in ("loads", "observations", "observation_history")}


def test_two_analysts_commit_at_the_same_moment(sample_db: Path, catalogue: config.Catalogue, tmp_path: Path) -> None:
    uploads = [loading.read_file(quarter_file(tmp_path / f"{n}.csv", 2010 * 4 + n, 9 + n), catalogue) for n in (1, 2)]
    start = threading.Barrier(2)
    results: list[object] = []

    def commit(upload: loading.Upload) -> None:
        start.wait()
        with store.connect(sample_db) as con:
            results.append(loading.load(con, upload, analyst="analyst"))

    threads = [threading.Thread(target=commit, args=(u,)) for u in uploads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2 and all(isinstance(r, loading.LoadResult) for r in results)
    with store.connect(sample_db) as con:
        assert sorted(r["load_id"] for r in loading.loads(con))[-2:] == [11, 12]
        assert store.loaded_quarters(con)[-2:] == [2010 * 4 + 1, 2010 * 4 + 2]


def test_loads_and_commentary_take_turns_on_one_write_lock(sample_db: Path, catalogue: config.Catalogue) -> None:
    """Two connections to one file in one process could write at once (DuckDB's MVCC); a load, a
    commentary and an action wait for a transaction in progress only because ingest and
    commentary share storage's one write lock."""
    upload = loading.read_upload(b"indicator,area,quarter,value\nNI 16,Derbyshire,2010/11 Q2,9.4\n", "q.csv",
                                 catalogue)
    writers = {
        "load": lambda con: loading.load(con, upload, analyst="sam"),
        "commentary": lambda con: commentary.write(con, "NI 20", "Derbyshire", Q1_2010, "Rising", "sam"),
        "action": lambda con: commentary.add_action(con, "NI 20", "Derbyshire", Q1_2010, "Ask", "sam", None, "sam"),
    }
    done: list[str] = []
    errors: list[BaseException] = []

    def run(name: str, write: Any) -> None:
        try:
            with store.connect(sample_db) as own:
                write(own)
            done.append(name)
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    with store.connect(sample_db) as con, store.transaction(con):
        con.execute("INSERT INTO commentary_versions VALUES ('NI 1', 'Derbyshire', ?, 'first', 'jo', now())",
                    [Q1_2010])
        threads = [threading.Thread(target=run, args=item) for item in writers.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(0.5)
        assert done == [] and not errors  # every writer waits for this transaction
    for t in threads:
        t.join(60)
    assert sorted(done) == ["action", "commentary", "load"] and not errors
    with store.connect(sample_db) as con:
        assert store.latest_load_id(con) == 11
        assert [c["indicator"] for c in commentary.current(con, area="Derbyshire", qi=Q1_2010)] == ["NI 1", "NI 20"]
        assert len(commentary.actions(con)) == 1


def test_a_page_write_meeting_another_process_s_lock_is_a_sentence(sample_db: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Mark done on the Indicator page while another process (a CLI load) holds the database: a real
    lock, taken between the page's reads and its write, so the write waits and gives up with a
    sentence, and the action stays open."""
    from dashboard import notes, ui

    with store.connect(sample_db) as con:
        commentary.add_action(con, "NI 39", "Derbyshire", 8040, "Ask the PCT", "Analyst", None, "Sam Analyst")
    accounts = tmp_path / "analysts.json"
    analysts.add("Sam Analyst", "a long enough passphrase", accounts)
    monkeypatch.setenv("RAGBOARD_ANALYSTS", str(accounts))
    monkeypatch.setenv("RAGBOARD_DB", str(sample_db))
    monkeypatch.delenv("RAGBOARD_CONFIG", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60)
    at.switch_page("views/upload.py").run()
    at.text_input(key="sign_in_name").input("Sam Analyst")
    at.text_input(key="sign_in_password").input("a long enough passphrase")
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    at.switch_page("views/indicator.py")
    at.query_params["indicator"] = "NI 39"
    at.run()
    assert not at.exception

    holders: list[subprocess.Popen[str]] = []
    real_connect = store.connect

    def connect_after_another_process_takes_the_lock(*args: Any, **kwargs: Any) -> Any:
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(sample_db)], stdout=subprocess.PIPE, text=True)
        holders.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(notes.store, "connect", connect_after_another_process_takes_the_lock)
    try:
        next(b for b in at.button if b.label == "Mark done").click()
        at.run()
    finally:
        for proc in holders:
            proc.kill()
            proc.wait()
        st.cache_data.clear()
        st.cache_resource.clear()
    assert len(holders) == 1 and not at.exception
    assert [e.value for e in at.error] == [ui.error_text(
        f"The database {sample_db} is busy: another program is writing to it. Try again in a moment.")]
    assert [b for b in at.button if b.label == "Mark done"]  # still offered
    with real_connect(sample_db) as con:
        assert [a["done"] for a in commentary.actions(con)] == [False]


def test_two_processes_load_at_once(sample_db: Path, tmp_path: Path) -> None:
    env = {**os.environ, "RAGBOARD_DB": str(sample_db), "PYTHONPATH": str(ROOT)}
    files = [quarter_file(tmp_path / f"p{n}.csv", 2010 * 4 + n, 9 + n) for n in (1, 2)]
    procs = [subprocess.Popen([sys.executable, "-m", "pipelines", "load", str(f)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "2 rows added" in out
    assert len(snapshot(sample_db)["loads"]) == 12


def test_cli_load_while_a_dashboard_keeps_reading(sample_db: Path, catalogue: config.Catalogue,
                                                  tmp_path: Path) -> None:
    """The dashboard opens a short-lived connection per query; a CLI load gets in between."""
    stop = threading.Event()
    reads: list[int] = []
    errors: list[BaseException] = []

    def dashboard() -> None:
        while not stop.is_set():
            try:
                with store.connect(sample_db) as con:
                    reads.append(len(status.query(con, catalogue, store.loaded_quarters(con)[-1:])))
            except BaseException as exc:  # noqa: BLE001 - the test reports any failure
                errors.append(exc)
            time.sleep(0.01)

    reader = threading.Thread(target=dashboard)
    reader.start()
    try:
        time.sleep(0.3)
        env = {**os.environ, "RAGBOARD_DB": str(sample_db), "PYTHONPATH": str(ROOT)}
        result = subprocess.run([sys.executable, "-m", "pipelines", "load",
                                 str(quarter_file(tmp_path / "q2.csv", 2010 * 4 + 1, 9.3))],
                                env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        time.sleep(0.3)
    finally:
        stop.set()
        reader.join(30)
    assert result.returncode == 0, result.stderr
    assert "load 11: 2 rows added" in result.stdout
    assert not errors
    assert reads and reads[-1] == 27


KILL_SCRIPT = """
import sys, time
from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.rules import status
from pipelines.storage import store
cat = config.load()
upload = loading.read_file(sys.argv[1], cat)
assert upload.ok, upload.checked.problems[:3]
rate = status.rater(cat)
if sys.argv[2] == "pause":
    # the load asks for statuses before and after writing the rows; the second time, every
    # row is written and COMMIT has not run: say so and wait to be killed there.
    calls = []
    def paused(con, quarters, indicators):
        calls.append(1)
        rows = status.rater(cat)(con, quarters, indicators)
        if len(calls) == 2:
            print("in transaction", flush=True)
            time.sleep(120)
        return rows
    rate = paused
print("ready", flush=True)
with store.connect() as con:
    loading.load(con, upload, rate)
print("committed", flush=True)
"""


def start_loader(db: Path, data: Path, mode: str) -> subprocess.Popen[str]:
    """A separate process loading ``data``; it prints "ready" just before it connects."""
    env = {**os.environ, "RAGBOARD_DB": str(db), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(data), mode], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_load_killed_before_commit_leaves_the_database_as_it_was(sample_db: Path, catalogue: config.Catalogue,
                                                                  tmp_path: Path) -> None:
    before = snapshot(sample_db)
    proc = start_loader(sample_db, big_file(tmp_path / "big.csv", catalogue), "pause")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "in transaction"  # all 10,800 rows written, not committed
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert snapshot(sample_db) == before


@pytest.mark.parametrize("attempt", range(3))
def test_a_load_killed_at_any_moment_is_all_or_nothing(sample_db: Path, catalogue: config.Catalogue,
                                                       tmp_path: Path, attempt: int) -> None:
    before = snapshot(sample_db)
    proc = start_loader(sample_db, big_file(tmp_path / "big.csv", catalogue), "run")
    time.sleep(random.Random(attempt).uniform(0.05, 0.4))  # before, during or after the commit
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    after = snapshot(sample_db)  # opening the file replays or discards its write-ahead log
    # the kill may land after COMMIT but before "committed" is printed: judge by the data
    if len(after["observations"]) != len(before["observations"]):
        assert len(after["observations"]) == len(before["observations"]) + 10800
        assert len(after["loads"]) == len(before["loads"]) + 1
    else:
        assert after == before
