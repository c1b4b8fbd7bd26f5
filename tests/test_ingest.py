"""Loading, revising, history, undo and atomicity, on an in-memory and a file database."""

from __future__ import annotations

import hashlib
from typing import Any

import duckdb
import pytest

from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.rules import status
from pipelines.storage import store

Q1 = 2010 * 4
FIRST = "indicator,area,quarter,value,note\nNI 20,Derbyshire,2010/11 Q1,7.19,\nNI 20,High Peak,2010/11 Q1,7.44,\n"
REVISED = ("indicator,area,quarter,value,note\nNI 20,Derbyshire,2010/11 Q1,7.19,\n"
           "NI 20,High Peak,2010/11 Q1,6.30,corrected extract\nNI 20,Chesterfield,2010/11 Q1,9.9,\n")


def upload(text: str, catalogue: config.Catalogue, name: str = "q1.csv") -> loading.Upload:
    return loading.read_upload(text.encode(), name, catalogue)


def dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("loads", "observations", "observation_history")}


def test_first_load_adds_rows_and_records_the_load(con, catalogue) -> None:
    up = upload(FIRST, catalogue)
    result = loading.load(con, up, analyst="sam")
    assert (result.load_id, result.added, result.revised, result.unchanged) == (1, 2, 0, 0)
    (load,) = loading.loads(con)
    assert load["file_name"] == "q1.csv"
    assert load["sha256"] == hashlib.sha256(FIRST.encode()).hexdigest()
    assert (load["analyst"], load["rows_added"], load["kind"]) == ("sam", 2, "load")
    assert con.execute("SELECT area, value, load_id FROM observations ORDER BY area").fetchall() == [
        ("Derbyshire", 7.19, 1), ("High Peak", 7.44, 1)]


def test_reload_revises_and_keeps_the_old_value(con, catalogue) -> None:
    loading.load(con, upload(FIRST, catalogue))
    result = loading.load(con, upload(REVISED, catalogue, "q1-revised.csv"), status.rater(catalogue))
    assert (result.added, result.revised, result.unchanged) == (1, 1, 1)
    assert [(r["area"], r["old_value"], r["new_value"], r["new_note"]) for r in result.revisions] == [
        ("High Peak", 7.44, 6.30, "corrected extract")]
    assert [(c["area"], c["before"], c["after"]) for c in result.status_changes] == [
        ("Chesterfield", "NA", "AMBER"), ("High Peak", "RED", "AMBER")]
    assert con.execute("SELECT value FROM observations WHERE area = 'High Peak'").fetchone() == (6.30,)
    assert con.execute("SELECT area, value, load_id, replaced_by FROM observation_history").fetchall() == [
        ("High Peak", 7.44, 1, 2)]


def test_loading_the_same_file_again_changes_nothing(con, catalogue) -> None:
    loading.load(con, upload(FIRST, catalogue))
    before = dump(con)["observations"]
    result = loading.load(con, upload(FIRST, catalogue))
    assert (result.added, result.revised, result.unchanged) == (0, 0, 2)
    assert dump(con)["observations"] == before
    assert len(loading.loads(con)) == 2


def test_dry_run_reports_and_writes_nothing(con, catalogue) -> None:
    loading.load(con, upload(FIRST, catalogue))
    before = dump(con)
    preview = loading.load(con, upload(REVISED, catalogue), status.rater(catalogue), dry_run=True)
    assert (preview.added, preview.revised, preview.unchanged) == (1, 1, 1)
    assert [r["area"] for r in preview.new_rows] == ["Chesterfield"]
    assert dump(con) == before


def test_a_file_with_problems_is_refused_and_changes_nothing(con, catalogue) -> None:
    loading.load(con, upload(FIRST, catalogue))
    before = dump(con)
    bad = upload(REVISED + "NI 20,Nowhere,2010/11 Q1,1\n", catalogue)
    with pytest.raises(loading.LoadRefused, match="1 problem"):
        loading.load(con, bad)
    assert dump(con) == before


def test_a_failure_inside_the_transaction_rolls_everything_back(con, catalogue, monkeypatch) -> None:
    loading.load(con, upload(FIRST, catalogue))
    before = dump(con)
    calls = {"n": 0}
    real_table = status.table

    def fail_after_writing(*args: Any, **kwargs: Any) -> Any:
        # the second status query runs after the rows are written, just before COMMIT
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real_table(*args, **kwargs)

    monkeypatch.setattr(status, "table", fail_after_writing)
    with pytest.raises(RuntimeError, match="disk full"):
        loading.load(con, upload(REVISED, catalogue), status.rater(catalogue))
    assert calls["n"] == 2
    assert dump(con) == before


def test_undo_restores_replaced_values_and_is_recorded(con, catalogue) -> None:
    loading.load(con, upload(FIRST, catalogue))
    original = dump(con)["observations"]
    second = loading.load(con, upload(REVISED, catalogue))
    result = loading.undo(con, second.load_id, analyst="sam")
    assert result.load_id == 3 and result.revised == 1
    assert dump(con)["observations"] == original
    loads = {r["load_id"]: r for r in loading.loads(con)}
    assert loads[2]["undone_by"] == 3
    assert (loads[3]["kind"], loads[3]["undoes"], loads[3]["rows_removed"]) == ("undo", 2, 1)
    with pytest.raises(loading.LoadRefused, match="already undone by load 3"):
        loading.undo(con, 2)
    with pytest.raises(loading.LoadRefused, match="is itself an undo"):
        loading.undo(con, 3)
    with pytest.raises(loading.LoadRefused, match="There is no load 9"):
        loading.undo(con, 9)


def test_undo_of_a_load_revised_later_is_refused(con, catalogue) -> None:
    loading.load(con, upload(FIRST, catalogue))
    loading.load(con, upload(REVISED, catalogue))
    with pytest.raises(loading.LoadRefused, match="load 2 has since revised 1 of its rows. Undo load 2 first"):
        loading.undo(con, 1)
    loading.undo(con, 2)
    loading.undo(con, 1)  # allowed once the later load is undone
    assert store.is_empty(con)


def test_data_version_moves_with_each_load(con, catalogue) -> None:
    assert store.latest_load_id(con) == 0
    loading.load(con, upload(FIRST, catalogue))
    assert store.latest_load_id(con) == 1
    assert store.loaded_quarters(con) == [Q1]
