"""Rules that change over time (issue 13, part 1): an amber band's dated versions, the catalogue's and an
indicator's own, each quarter judged under the version in force then (or under today's with
``--rules current``); an indicator's first and last quarters; their validation; and the catalogue cache.

Every expected status is worked by hand from the README's rule: shortfall = value - target when lower
is better (target - value when higher is better); GREEN when shortfall <= 0, AMBER when 0 < shortfall
<= the band's width, RED beyond; a percent band's width is band% x |target|.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import ROOT
from pipelines.catalogue import config
from pipelines.catalogue.models import EARLIEST, BandVersion, Tolerance
from pipelines.ingest import loading
from pipelines.present import words
from pipelines.storage import store

# Quarter indexes by hand: start_year * 4 + quarter - 1
Q4_0809 = 2008 * 4 + 3  # 2008/09 Q4
Q1_0910 = 2009 * 4  # 2009/10 Q1
Q4_0910 = 2009 * 4 + 3  # 2009/10 Q4
Q1 = 2010 * 4  # 2010/11 Q1
Q2 = 2010 * 4 + 1  # 2010/11 Q2
Q3 = 2010 * 4 + 2  # 2010/11 Q3

TARGETS = {"2008/09": 100, "2009/10": 100, "2010/11": 100}
CATALOGUE: dict[str, Any] = {
    "county": "Shire",
    "districts": ["Dale", "Vale"],
    # 5% from 2009/10 Q1, then 10% from 2010/11 Q3
    "amber_tolerance": [{"from": "2009/10 Q1", "band": "5%"}, {"from": "2010/11 Q3", "band": "10%"}],
    "indicators": [
        # the catalogue's band
        {"id": "L", "name": "Lower is better", "better": "lower", "levels": ["county", "district"],
         "targets": TARGETS},
        # its own absolute versions: 2 from 2009/10 Q1, then 5 from 2010/11 Q1
        {"id": "A", "name": "Own versions", "better": "lower", "targets": TARGETS,
         "amber_tolerance": [{"from": "2009/10 Q1", "band": 2}, {"from": "2010/11 Q1", "band": 5}]},
        # its own band set once
        {"id": "S", "name": "Own single band", "better": "higher", "amber_tolerance": "20%",
         "targets": {"2010/11": 50}},
        # its own band as a list of one version
        {"id": "V", "name": "One version", "better": "lower", "targets": TARGETS,
         "amber_tolerance": [{"from": "2010/11 Q3", "band": 3}]},
        # retired after 2010/11 Q1
        {"id": "OLD", "name": "Retired", "better": "lower", "until": "2010/11 Q1", "targets": TARGETS},
        # new from 2010/11 Q2
        {"id": "NEW", "name": "New", "better": "lower", "from": "2010/11 Q2", "targets": TARGETS},
    ],
}
UNVERSIONED: dict[str, Any] = {
    "county": "Shire", "amber_tolerance": "5%",
    "indicators": [{"id": "X", "name": "X", "better": "lower", "amber_tolerance": 2.5, "targets": TARGETS}],
}
COLUMNS = ["indicator", "area", "qi", "value", "status", "amber_band", "band_from"]


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(raw)
    return caught.value.problems


def load_rows(cat: config.Catalogue, db: Path, text: str) -> None:
    with store.connect(db) as con:
        upload = loading.read_upload(text.encode(), "rows.csv", cat)
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)


def statuses(cat: config.Catalogue, db: Path, qis: list[int], indicators: list[str],
             areas: list[str] | None = None, columns: list[str] = COLUMNS) -> list[dict[str, Any]]:
    with store.connect(db, read_only=True) as con:
        _, rows = words.status_table(con, cat, qis, areas, indicators, columns)
    return [dict(zip(columns, r, strict=True)) for r in rows]


def by_cell(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    """(indicator, area, qi) -> (status, amber_band, band_from)."""
    return {(r["indicator"], r["area"], r["qi"]): (r["status"], r["amber_band"], r["band_from"]) for r in rows}


def cli(*args: str, db: Path, catalogue: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGBOARD_DB": str(db), "RAGBOARD_CONFIG": str(catalogue)}
    return subprocess.run([sys.executable, "-m", "pipelines", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=db.parent)


# --- 1. The catalogue's versions, at their edges ------------------------------------------------------------

BAND_ROWS = """indicator,area,quarter,value
L,Shire,2008/09 Q4,104
L,Dale,2008/09 Q4,106
L,Shire,2010/11 Q2,108
L,Dale,2010/11 Q2,105
L,Vale,2010/11 Q2,100
L,Shire,2010/11 Q3,108
L,Dale,2010/11 Q3,110
L,Vale,2010/11 Q3,110.5
"""


def test_the_catalogues_band_versions_at_their_edges(tmp_path: Path) -> None:
    cat = config.parse(CATALOGUE)
    db = tmp_path / "bands.duckdb"
    load_rows(cat, db, BAND_ROWS)
    got = by_cell(statuses(cat, db, [Q4_0809, Q2, Q3], ["L"]))
    assert got == {
        # 2008/09 Q4, before the first version's from: the first version (5%) holds. Width 5% x 100 = 5.
        # Shire 104: shortfall 4 <= 5, AMBER; Dale 106: 6 > 5, RED. Vale has no row: NA.
        ("L", "Shire", Q4_0809): ("AMBER", "5%", "2009/10 Q1"),
        ("L", "Dale", Q4_0809): ("RED", "5%", "2009/10 Q1"),
        ("L", "Vale", Q4_0809): ("NA", "5%", "2009/10 Q1"),
        # 2010/11 Q2, the last quarter of 5%: Shire 108, 8 > 5, RED; Dale 105, exactly 5 = the width, AMBER
        # (the edge is amber); Vale 100, shortfall 0, GREEN
        ("L", "Shire", Q2): ("RED", "5%", "2009/10 Q1"),
        ("L", "Dale", Q2): ("AMBER", "5%", "2009/10 Q1"),
        ("L", "Vale", Q2): ("GREEN", "5%", "2009/10 Q1"),
        # 2010/11 Q3, the first quarter of 10%: width 10. Shire 108, 8 <= 10, AMBER; Dale 110, exactly 10,
        # AMBER; Vale 110.5, 10.5 > 10, RED
        ("L", "Shire", Q3): ("AMBER", "10%", "2010/11 Q3"),
        ("L", "Dale", Q3): ("AMBER", "10%", "2010/11 Q3"),
        ("L", "Vale", Q3): ("RED", "10%", "2010/11 Q3"),
    }


def test_the_band_in_force_is_the_catalogues_version_for_that_quarter() -> None:
    cat = config.parse(CATALOGUE)
    five, ten = Tolerance("percent", 5.0), Tolerance("percent", 10.0)
    assert cat.bands(cat.indicator("L")) == (BandVersion(Q1_0910, five), BandVersion(Q3, ten))
    assert cat.amber_tolerance == ten  # today's: the last version
    assert cat.versioned
    # the band changed once between 2009/10 Q4 and 2010/11 Q3 (10% starting in Q3), not up to Q2
    assert cat.band_changes(cat.indicator("L"), Q4_0910, Q3) == [(BandVersion(Q1_0910, five), BandVersion(Q3, ten))]
    assert cat.band_changes(cat.indicator("L"), Q4_0910, Q2) == []


# --- 2. An indicator's own band -----------------------------------------------------------------------------

OWN_ROWS = """indicator,area,quarter,value
A,Shire,2009/10 Q4,103
A,Shire,2010/11 Q1,103
A,Shire,2010/11 Q3,107
S,Shire,2010/11 Q2,42
S,Shire,2010/11 Q3,39
V,Shire,2010/11 Q1,103
V,Shire,2010/11 Q3,104
"""


def test_an_indicators_own_versions_override_the_catalogues(tmp_path: Path) -> None:
    cat = config.parse(CATALOGUE)
    db = tmp_path / "own.duckdb"
    load_rows(cat, db, OWN_ROWS)
    got = by_cell(statuses(cat, db, [Q4_0910, Q1, Q3], ["A"]))
    assert got == {
        # 2009/10 Q4, the last quarter of its band of 2: 103 is 3 over, RED (the catalogue's 5% would be AMBER)
        ("A", "Shire", Q4_0910): ("RED", "2", "2009/10 Q1"),
        # 2010/11 Q1, the first quarter of its band of 5: 3 <= 5, AMBER
        ("A", "Shire", Q1): ("AMBER", "5", "2010/11 Q1"),
        # 2010/11 Q3: still its own 5 (107 is 7 over: RED), not the catalogue's 10% that starts then (AMBER)
        ("A", "Shire", Q3): ("RED", "5", "2010/11 Q1"),
    }


def test_an_indicators_single_band_never_has_a_version_start(tmp_path: Path) -> None:
    cat = config.parse(CATALOGUE)
    db = tmp_path / "single.duckdb"
    load_rows(cat, db, OWN_ROWS)
    got = by_cell(statuses(cat, db, [Q1, Q2, Q3], ["S", "V"]))
    assert got == {
        # S: higher is better, target 50, its own 20% (width 10) in every quarter, though the catalogue's
        # band is versioned. Q2 42: shortfall 8 <= 10, AMBER; Q3 39: 11 > 10, RED; Q1 no row: NA
        ("S", "Shire", Q1): ("NA", "20%", None),
        ("S", "Shire", Q2): ("AMBER", "20%", None),
        ("S", "Shire", Q3): ("RED", "20%", None),
        # V: a list of one version (3 from 2010/11 Q3) holds before its from too, and is one band:
        # Q1 103, 3 <= 3, AMBER; Q3 104, 4 > 3, RED; Q2 no row: NA
        ("V", "Shire", Q1): ("AMBER", "3", None),
        ("V", "Shire", Q2): ("NA", "3", None),
        ("V", "Shire", Q3): ("RED", "3", None),
    }


# --- 3. Today's rules for every quarter ----------------------------------------------------------------------

def test_status_under_the_rules_in_force_and_under_todays(tmp_path: Path) -> None:
    cat = config.parse(CATALOGUE)
    db = tmp_path / "rules.duckdb"
    load_rows(cat, db, BAND_ROWS + "A,Shire,2010/11 Q2,104\n")
    catalogue = tmp_path / "rules.yaml"
    catalogue.write_text(yaml.safe_dump(CATALOGUE), encoding="utf-8")

    def rows(*extra: str) -> dict[tuple[str, str], dict[str, str]]:
        result = cli("status", "--config", str(catalogue), "--db", str(db), "--quarter", "2010/11 Q2",
                     "--format", "csv", *extra, db=db, catalogue=catalogue)
        assert result.returncode == 0, result.stderr
        found = list(csv.DictReader(io.StringIO(result.stdout)))
        assert list(found[0])[-2:] == ["amber_band", "band_from"]
        return {(r["indicator"], r["area"]): r for r in found}

    in_force, current = rows(), rows("--rules", "current")
    assert rows("--rules", "in-force") == in_force  # the default
    # L, Shire, 108 in 2010/11 Q2: in force then 5% (width 5): 8 over, RED; today's 10% (width 10): AMBER,
    # one band for every quarter, so no version start
    shire = in_force[("L", "Shire")]
    assert (shire["status"], shire["amber_band"], shire["band_from"]) == ("RED", "5%", "2009/10 Q1")
    shire = current[("L", "Shire")]
    assert (shire["status"], shire["amber_band"], shire["band_from"]) == ("AMBER", "10%", "")
    # Dale 105 is AMBER under either (5 <= 5 and 5 <= 10); A, 104 (4 over): its band of 5 both times
    assert (in_force[("L", "Dale")]["status"], current[("L", "Dale")]["status"]) == ("AMBER", "AMBER")
    a_then, a_now = in_force[("A", "Shire")], current[("A", "Shire")]
    assert (a_then["status"], a_then["amber_band"], a_then["band_from"]) == ("AMBER", "5", "2010/11 Q1")
    assert (a_now["status"], a_now["amber_band"], a_now["band_from"]) == ("AMBER", "5", "")


def test_current_rules_in_python(tmp_path: Path) -> None:
    plain = config.parse(UNVERSIONED)
    assert plain.current_rules() == plain
    assert plain.current_rules() is plain
    cat = config.parse(CATALOGUE)
    now = cat.current_rules()
    # each band's last version, for every quarter
    assert now.bands(now.indicator("L")) == (BandVersion(EARLIEST, Tolerance("percent", 10.0)),)
    assert now.bands(now.indicator("A")) == (BandVersion(EARLIEST, Tolerance("absolute", 5.0)),)
    assert now.bands(now.indicator("S")) == (BandVersion(EARLIEST, Tolerance("percent", 20.0)),)
    assert not now.versioned
    # nothing else changes, and the catalogue it came from keeps its versions
    assert [dataclasses.replace(i, band_versions=()) for i in cat.indicators] == list(now.indicators)
    assert len(cat.bands(cat.indicator("L"))) == 2
    # 108 in 2010/11 Q2 judged under today's 10%: AMBER, as the CLI says
    db = tmp_path / "now.duckdb"
    load_rows(cat, db, "indicator,area,quarter,value\nL,Shire,2010/11 Q2,108\n")
    assert by_cell(statuses(now, db, [Q2], ["L"], ["Shire"])) == {("L", "Shire", Q2): ("AMBER", "10%", None)}


# --- 4. An indicator's first and last quarters ---------------------------------------------------------------

def test_a_retired_indicator_is_not_expected_after_its_last_quarter(tmp_path: Path) -> None:
    cat = config.parse(CATALOGUE)
    db = tmp_path / "retired.duckdb"
    load_rows(cat, db, "indicator,area,quarter,value\nOLD,Shire,2010/11 Q1,99\n")
    columns = ["indicator", "qi", "value", "status", "reason"]
    # its last quarter shows: 99 against 100, lower is better, GREEN
    assert [(r["qi"], r["value"], r["status"]) for r in statuses(cat, db, [Q1], ["OLD"], columns=columns)] == [
        (Q1, 99.0, "GREEN")]
    # the quarter after: no row at all, not even 'no data'
    assert statuses(cat, db, [Q2], ["OLD"], columns=columns) == []
    assert all(r["indicator"] != "OLD" for r in statuses(cat, db, [Q2], None, columns=columns))
    # its history is still returned when asked with later quarters
    assert [(r["qi"], r["status"]) for r in statuses(cat, db, [Q1, Q2, Q3], ["OLD"], columns=columns)] == [
        (Q1, "GREEN")]


def test_a_new_indicator_is_expected_from_its_first_quarter(tmp_path: Path) -> None:
    cat = config.parse(CATALOGUE)
    db = tmp_path / "new.duckdb"
    load_rows(cat, db, "indicator,area,quarter,value\nL,Shire,2010/11 Q1,100\n")
    columns = ["indicator", "qi", "value", "status", "reason"]
    assert statuses(cat, db, [Q1], ["NEW"], columns=columns) == []  # before its first quarter: nothing
    (row,) = statuses(cat, db, [Q2], ["NEW"], columns=columns)  # its first quarter, no row: no data
    assert (row["qi"], row["value"], row["status"]) == (Q2, None, "NA")
    assert "no data" in row["reason"]


def test_a_row_loaded_outside_an_indicators_quarters_still_shows(tmp_path: Path) -> None:
    cat = config.parse(CATALOGUE)
    db = tmp_path / "outside.duckdb"
    # OLD after its last quarter (2010/11 Q3), NEW before its first (2010/11 Q1)
    load_rows(cat, db, "indicator,area,quarter,value\nOLD,Shire,2010/11 Q3,103\nNEW,Shire,2010/11 Q1,110.5\n")
    rows = statuses(cat, db, [Q1, Q2, Q3], ["OLD", "NEW"], columns=["indicator", "qi", "value", "status"])
    got = {(r["indicator"], r["qi"]): (r["value"], r["status"]) for r in rows}
    assert got == {
        # OLD in Q1 (in its life, no row): no data; Q2 out of its life, no row: nothing; Q3 its row.
        # 103 in 2010/11 Q3, under the catalogue's 10% then (width 10): 3 over, AMBER
        ("OLD", Q1): (None, "NA"),
        ("OLD", Q3): (103.0, "AMBER"),
        # NEW's row in Q1 before its life: 110.5 under 5% (width 5), 10.5 over, RED; Q2 and Q3 in its life,
        # no rows: no data
        ("NEW", Q1): (110.5, "RED"),
        ("NEW", Q2): (None, "NA"),
        ("NEW", Q3): (None, "NA"),
    }


# --- 5. Validation ------------------------------------------------------------------------------------------

BASE: dict[str, Any] = {"county": "Shire",
                        "indicators": [{"id": "X", "name": "X", "better": "lower", "targets": {"2010/11": 100}}]}


def indicator(**extra: Any) -> dict[str, Any]:
    return {**BASE, "indicators": [{**BASE["indicators"][0], **extra}]}


BACKWARDS = [{"from": "2010/11 Q3", "band": "10%"}, {"from": "2009/10 Q1", "band": "5%"}]
SAME = [{"from": "2010/11 Q3", "band": "10%"}, {"from": "2010/11 Q3", "band": "5%"}]


@pytest.mark.parametrize(("raw", "expected"), [
    ({**BASE, "amber_tolerance": BACKWARDS},
     "amber_tolerance: version 2.from: 2009/10 Q1 must come after the version before it (2010/11 Q3); list the"
     " versions oldest first"),
    ({**BASE, "amber_tolerance": SAME},
     "amber_tolerance: version 2.from: 2010/11 Q3 must come after the version before it (2010/11 Q3); list the"
     " versions oldest first"),
    ({**BASE, "amber_tolerance": [{"from": "2009/10 Q1", "band": "five"}]},
     "amber_tolerance: version 1.band: must be a percentage such as '5%' or a plain number, got 'five'"),
    ({**BASE, "amber_tolerance": []},
     "amber_tolerance: must list at least one version, e.g. [{from: 2009/10 Q1, band: 5%}]"),
    (indicator(amber_tolerance=BACKWARDS),
     "indicators[0] (X).amber_tolerance: version 2.from: 2009/10 Q1 must come after the version before it"
     " (2010/11 Q3); list the versions oldest first"),
    (indicator(amber_tolerance=[]),
     "indicators[0] (X).amber_tolerance: must list at least one version, e.g. [{from: 2009/10 Q1, band: 5%}]"),
    (indicator(**{"from": "2010/11 Q2", "until": "2009/10 Q4"}),
     "indicators[0] (X): until: 2009/10 Q4 is before from (2010/11 Q2); an indicator's last quarter cannot come"
     " before its first"),
    (indicator(year_end="total"), "indicators[0] (X).year_end: must be 'sum', 'mean' or 'last', got 'total'"),
], ids=["backwards", "same-quarter", "bad-band", "empty", "indicator-backwards", "indicator-empty", "until-first",
        "year-end"])
def test_each_mistake_in_rules_over_time_is_reported(raw: dict[str, Any], expected: str) -> None:
    assert expected in problems(raw)


def test_from_and_until_may_be_the_same_quarter() -> None:
    ind = config.parse(indicator(**{"from": "2010/11 Q2", "until": "2010/11 Q2"})).indicator("X")
    assert (ind.live_from, ind.live_until) == (Q2, Q2)


# --- 6. The catalogue cache ---------------------------------------------------------------------------------

def test_band_versions_quarters_and_year_end_round_trip_through_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGBOARD_CACHE", str(tmp_path / "cache"))
    raw = {**CATALOGUE, "indicators": [*CATALOGUE["indicators"],
                                       {"id": "Y", "name": "Counted", "better": "lower", "year_end": "sum",
                                        "from": "2009/10 Q4", "until": "2010/11 Q3"}]}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    parses: list[str] = []
    real = config.read_yaml

    def counting(text: str, where: str | Path = "indicators.yaml") -> object:
        parses.append(str(where))
        return real(text, where)

    monkeypatch.setattr(config, "read_yaml", counting)
    first = config.load(path)
    again = config.load(path)  # from the cache, rebuilt without validating
    assert len(parses) == 1 and list((tmp_path / "cache").glob("*.json"))
    assert again == first and dataclasses.asdict(again) == dataclasses.asdict(first)
    assert again == config.parse(raw)
    five, ten = Tolerance("percent", 5.0), Tolerance("percent", 10.0)
    assert again.band_versions == (BandVersion(Q1_0910, five), BandVersion(Q3, ten))
    assert again.amber_tolerance == ten
    assert again.indicator("A").band_versions == (BandVersion(Q1_0910, Tolerance("absolute", 2.0)),
                                                  BandVersion(Q1, Tolerance("absolute", 5.0)))
    assert again.indicator("S").band_versions == () and again.indicator("S").amber_tolerance == Tolerance(
        "percent", 20.0)
    assert (again.indicator("OLD").live_from, again.indicator("OLD").live_until) == (None, Q1)
    assert (again.indicator("NEW").live_from, again.indicator("NEW").live_until) == (Q2, None)
    y = again.indicator("Y")
    assert (y.live_from, y.live_until, y.year_end) == (Q4_0910, Q3, "sum")
    assert again.indicator("L").year_end == "last"  # the default
    for version in (*again.band_versions, *again.indicator("A").band_versions):
        assert type(version.start) is int and type(version.tolerance.amount) is float
    assert type(y.live_from) is int and type(y.live_until) is int
