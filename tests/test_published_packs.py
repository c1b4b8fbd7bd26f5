"""Packs made again as they were published (issue 13): every load and pack records the catalogue's
text (kept once by its SHA-256) and a pack its data version, so ``report --as-published N`` makes
pack N with the figures and the rules it had, after both have changed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from helpers import ROOT, row, table_under

SAMPLE_CATALOGUE = ROOT / "indicators.yaml"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines", *args, "--config", "cat.yaml", "--db", "packs.duckdb"],
                          capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    shutil.copy(SAMPLE_CATALOGUE, tmp_path / "cat.yaml")
    assert cli("init", cwd=tmp_path).returncode == 0
    return tmp_path


def overview(path: Path) -> list[list[str]]:
    return table_under(path.read_text(encoding="utf-8"), "1. County overview")


def test_a_pack_made_again_as_published_has_the_figures_and_rules_it_had(folder: Path) -> None:
    made = cli("report", "--out", "first.html", "--analyst", "Sam", cwd=folder)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0].startswith("Board pack for 2010/11 Q1 written to")
    assert made.stdout.splitlines()[1] == ("Recorded as pack 1: 'report --as-published 1' makes it again as"
                                           " published.")
    # then the rules change (the catalogue's 5% band becomes 1%) and a figure is revised (NI 1, 74.1%
    # against its 76.8 target, becomes 90): NI 39's 1839 against 1753 is 4.9% over, AMBER under 5%,
    # RED under 1%; NI 1 turns GREEN
    catalogue = folder / "cat.yaml"
    catalogue.write_text(catalogue.read_text(encoding="utf-8").replace("amber_tolerance: 5%", "amber_tolerance: 1%"),
                         encoding="utf-8")
    (folder / "revised.csv").write_text("indicator,area,quarter,value\nNI 1,Derbyshire,2010/11 Q1,90\n",
                                        encoding="utf-8")
    assert cli("load", "revised.csv", cwd=folder).returncode == 0
    assert cli("report", "--out", "second.html", cwd=folder).returncode == 0
    again = cli("report", "--as-published", "1", "--out", "again.html", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert "Board pack 1 for 2010/11 Q1, as published on" in again.stdout

    first, second, remade = (overview(folder / name) for name in ("first.html", "second.html", "again.html"))
    assert remade == first
    assert row(first, "NI 39")[2].startswith("▲ AMBER") and row(second, "NI 39")[2].startswith("■ RED")
    assert not row(first, "NI 1")[2].startswith("● GREEN") and row(second, "NI 1")[2].startswith("● GREEN")
    text = (folder / "again.html").read_text(encoding="utf-8")
    assert "as pack 1 was published: the figures and the catalogue it had then" in text
    assert "The band in force in 2010/11 Q1 is 5% of the target" in text

    with duckdb.connect(str(folder / "packs.duckdb"), read_only=True) as con:
        # two catalogue texts, each kept once; every load and pack names one
        assert con.execute("SELECT count(*) FROM catalogue_versions").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM loads WHERE catalogue_sha256 IS NULL").fetchone() == (0,)
        assert con.execute("SELECT pack_id, analyst, load_id FROM packs ORDER BY pack_id").fetchall() == [
            (1, "Sam", 10), (2, None, 11)]  # init made loads 1 to 10; the revision is 11


def test_packs_are_listed_and_mistakes_told(folder: Path) -> None:
    assert cli("report", "--out", "first.html", cwd=folder).returncode == 0
    listed = cli("packs", cwd=folder)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["pack_id", "made_at", "quarter"]
    assert lines[1].split()[0] == "1" and "2010/11 Q1" in lines[1] and "first.html" in lines[1]
    missing = cli("report", "--as-published", "7", "--out", "x.html", cwd=folder)
    assert (missing.returncode, missing.stderr.strip()) == (2, "error: There is no pack 7; 'python -m pipelines"
                                                              " packs' lists them.")
    mixed = cli("report", "--as-published", "1", "--quarter", "2009/10 Q4", "--out", "x.html", cwd=folder)
    assert mixed.returncode == 2 and "leave out --quarter, --area and --exceptions-only" in mixed.stderr
    assert not (folder / "x.html").exists()


def test_a_pack_made_again_does_not_see_an_undone_load_it_showed_undone(folder: Path) -> None:
    (folder / "extra.csv").write_text("indicator,area,quarter,value\nNI 1,Derbyshire,2010/11 Q1,90\n",
                                      encoding="utf-8")
    assert cli("load", "extra.csv", cwd=folder).returncode == 0  # load 11
    assert cli("report", "--out", "with.html", cwd=folder).returncode == 0  # pack 1 shows NI 1 at 90
    assert cli("undo", "11", cwd=folder).returncode == 0  # load 12 restores the sample's figure
    assert cli("report", "--out", "without.html", cwd=folder).returncode == 0
    assert cli("report", "--as-published", "1", "--out", "again.html", cwd=folder).returncode == 0
    assert row(overview(folder / "again.html"), "NI 1") == row(overview(folder / "with.html"), "NI 1")
    assert row(overview(folder / "with.html"), "NI 1") != row(overview(folder / "without.html"), "NI 1")


def test_the_database_as_it_stood_at_each_load(tmp_path: Path) -> None:
    """Load 1 writes X = 1; load 2 revises it to 2 and adds Y; load 3 undoes load 2 (X back to 1, Y
    gone); load 4 revises X to 4. As of each load, by hand: X 1, 2, 1, 4; Y none, 5, none, none."""
    from datetime import datetime

    from pipelines.catalogue import config
    from pipelines.ingest import loading
    from pipelines.storage import store, versions

    cat = config.parse({"county": "Shire", "indicators": [{"id": "X", "name": "x", "better": "lower"},
                                                          {"id": "Y", "name": "y", "better": "lower"}]})
    db = tmp_path / "asof.duckdb"
    with store.connect(db) as con:
        for text in ("X,Shire,2010/11 Q1,1\n", "X,Shire,2010/11 Q1,2\nY,Shire,2010/11 Q1,5\n"):
            loading.load(con, loading.read_upload(f"indicator,area,quarter,value\n{text}".encode(), "f.csv", cat))
        loading.undo(con, 2)
        loading.load(con, loading.read_upload(b"indicator,area,quarter,value\nX,Shire,2010/11 Q1,4\n", "f.csv", cat))
    with store.connect(db, read_only=True) as con:
        seen = {}
        for n in (1, 2, 3, 4):
            with versions.as_of(con, n, datetime.now()):
                seen[n] = dict(con.execute("SELECT indicator, value FROM observations ORDER BY indicator").fetchall())
        assert con.execute("SELECT count(*) FROM observations").fetchone() == (1,)  # the views are gone
    assert seen == {1: {"X": 1.0}, 2: {"X": 2.0, "Y": 5.0}, 3: {"X": 1.0}, 4: {"X": 4.0}}
