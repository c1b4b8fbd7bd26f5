"""The geography as a tree (issue 12): the catalogue's areas, levels, home, benchmark and peer groups,
comparator areas' figures, and each area compared with its parent and the benchmark."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import COMPARE, ROOT, pages_on, run, table, table_under, text
from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.present import words
from pipelines.storage import store

Q1 = 2010 * 4  # 2010/11 Q1

AREAS = [
    {"name": "England", "level": "nation"},
    {"name": "East Midlands", "level": "region", "parent": "England"},
    {"name": "Derbyshire", "level": "county", "parent": "East Midlands"},
    {"name": "Amber Valley", "level": "district", "parent": "Derbyshire"},
    {"name": "Erewash", "level": "district", "parent": "Derbyshire"},
    {"name": "Nottinghamshire", "level": "county", "parent": "East Midlands"},
    {"name": "Mansfield", "level": "district", "parent": "Nottinghamshire"},
]
TREE: dict[str, Any] = {
    "name": "Derbyshire Safer Communities Board",
    "areas": AREAS, "home": "Derbyshire", "benchmark": "England",
    "peer_groups": {"Most similar CSPs to Amber Valley": ["Amber Valley", "Erewash", "Mansfield"]},
    "indicators": [
        {"id": "R", "name": "Crimes per 1,000", "better": "lower", "measure": "rate", "per": 1000,
         "levels": ["county", "district"], "targets": {"2010/11": 10}},
        {"id": "C", "name": "County only", "better": "higher", "targets": {"2010/11": 50}},
    ],
}
# England 50,000 in 5,000,000 (10 per 1,000); East Midlands 4,400 in 400,000 (11); Amber Valley
# 500 in 50,000 (10); Erewash 300 in 20,000 (15); Derbyshire none of its own: added up, 800 in
# 70,000 (11.43); Mansfield, a peer in another county, 90 in 10,000 (9)
ROWS = """indicator,area,quarter,value,numerator,denominator
R,England,2010/11 Q1,,50000,5000000
R,East Midlands,2010/11 Q1,,4400,400000
R,Amber Valley,2010/11 Q1,,500,50000
R,Erewash,2010/11 Q1,,300,20000
R,Mansfield,2010/11 Q1,,90,10000
"""


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(raw)
    return caught.value.problems


def test_a_tree_names_home_benchmark_levels_and_peers() -> None:
    cat = config.parse(TREE)
    assert (cat.home, cat.county, cat.benchmark) == ("Derbyshire", "Derbyshire", "England")
    assert cat.districts == ("Amber Valley", "Erewash")  # the home's children: its pages' districts
    assert cat.areas == ("Derbyshire", "Amber Valley", "Erewash", "England", "East Midlands", "Nottinghamshire",
                         "Mansfield")  # the board's own areas first, then its comparators
    assert cat.under("East Midlands") == ("East Midlands", "Derbyshire", "Amber Valley", "Erewash",
                                          "Nottinghamshire", "Mansfield")
    assert (cat.parent("Derbyshire"), cat.parent("England"), cat.level("Mansfield")) == (
        "East Midlands", None, "district")
    assert cat.peer_groups == {"Most similar CSPs to Amber Valley": ("Amber Valley", "Erewash", "Mansfield")}
    assert cat.indicator("C").levels == ("county",)  # no levels: the home's
    assert cat.name == "Derbyshire Safer Communities Board"


def test_the_shorthand_is_a_two_level_tree() -> None:
    cat = config.parse({"county": "Shire", "districts": ["East", "West"],
                        "indicators": [{"id": "X", "name": "x", "better": "lower"}]})
    assert [(a.name, a.level, a.parent) for a in cat.tree] == [
        ("Shire", "county", None), ("East", "district", "Shire"), ("West", "district", "Shire")]
    assert (cat.home, cat.benchmark, cat.areas) == ("Shire", "Shire", ("Shire", "East", "West"))
    assert cat.name == "Shire Safer Communities Board"


def test_a_tree_without_home_or_benchmark_takes_the_root() -> None:
    cat = config.parse({"areas": AREAS[:2], "indicators": [{"id": "X", "name": "x", "better": "lower",
                                                           "levels": ["region"]}]})
    assert (cat.home, cat.benchmark, cat.districts) == ("England", "England", ("East Midlands",))
    assert cat.name == "England Safer Communities Board"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"areas": [*AREAS, {"name": "Erewash", "level": "district", "parent": "Derbyshire"}]},
         "areas[7] (Erewash).name: 'Erewash' is listed twice"),
        ({"areas": [*AREAS, {"name": "Bolsover", "level": "district", "parent": "Derbyshre"}]},
         "areas[7] (Bolsover).parent: unknown area 'Derbyshre'; did you mean 'Derbyshire'?"),
        ({"areas": [*AREAS, {"name": "Wales", "level": "nation"}]},
         "areas: the tree needs exactly one area without a parent (its root, such as England); England, Wales"
         " have none"),
        ({"areas": [{"name": "A", "level": "x", "parent": "B"}, {"name": "B", "level": "x", "parent": "A"},
                    {"name": "Root", "level": "x"}]},
         "areas[0] (A).parent: 'B' is under 'A'; an area cannot be inside itself"),
        ({"home": "Derbyshir"}, "home: unknown area 'Derbyshir'; did you mean 'Derbyshire'?"),
        ({"benchmark": "Englnd"}, "benchmark: unknown area 'Englnd'; did you mean 'England'?"),
        ({"peer_groups": {"Peers": ["Erewash", "Mansfeld"]}},
         "peer_groups.Peers: unknown area 'Mansfeld'; did you mean 'Mansfield'?"),
        ({"indicators": [{"id": "X", "name": "x", "better": "lower", "levels": ["county", "ward"]}]},
         "indicators[0] (X).levels[1]: must be 'nation', 'region', 'county' or 'district', got 'ward'"),
        ({"indicators": [{"id": "X", "name": "x", "better": "lower", "area_targets": {"Erewash": {"2010/11": 1}}}]},
         "indicators[0] (X).area_targets: 'Erewash' is a district but levels has no district"),
        ({"county": "Derbyshire"}, "areas: give the geography either as areas or as county and districts, not both"),
    ],
)
def test_each_mistake_in_the_tree_is_reported_with_its_path(change: dict[str, Any], expected: str) -> None:
    assert expected in problems({**TREE, **change})


def test_the_shorthand_cannot_name_another_home() -> None:
    assert problems({"county": "Shire", "home": "Elsewhere", "indicators": []}) == [
        "home: with county and districts the home and benchmark are the county; to name others, give the"
        " geography as areas"]


def test_a_tree_catalogue_round_trips_through_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGBOARD_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "tree.yaml"
    path.write_text(yaml.safe_dump(TREE), encoding="utf-8")
    first = config.load(path)
    again = config.load(path)  # from the cache, rebuilt without validating
    assert again == first and again.tree == first.tree and again.areas == first.areas
    assert again.peer_groups == first.peer_groups and again.benchmark == "England"


@pytest.fixture
def tree_db(tmp_path: Path) -> tuple[config.Catalogue, Path]:
    cat = config.parse(TREE)
    db = tmp_path / "tree.duckdb"
    with store.connect(db) as con:
        upload = loading.read_upload(ROWS.encode(), "tree.csv", cat)
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)
    return cat, db


def test_comparator_rows_load_but_the_boards_own_areas_keep_their_levels(tree_db: tuple[Any, Path]) -> None:
    cat, _ = tree_db
    # England and the region are comparators: their rows load although C is not measured at their level
    rows = b"indicator,area,quarter,value\nC,England,2010/11 Q1,40\nC,Amber Valley,2010/11 Q1,4\n"
    upload = loading.read_upload(rows, "c.csv", cat)
    (problem,) = upload.checked.problems
    assert (problem.line, problem.reason) == (3, "C is measured at county level only, not for the district"
                                                  " 'Amber Valley'")
    assert problem.suggestion == "remove the row, or add district to C's levels"


def comparisons(cat: config.Catalogue, db: Path, areas: list[str] | None = None) -> dict[str, dict[str, Any]]:
    columns = ["area", "value", "ci_lower", "ci_upper", "parent", "parent_value", "vs_parent", "benchmark",
               "benchmark_value", "vs_benchmark", "aggregated_from"]
    with store.connect(db, read_only=True) as con:
        _, rows = words.status_table(con, cat, [Q1], areas, ["R"], columns)
    return {r[0]: dict(zip(columns, r, strict=True)) for r in rows}


def test_each_area_is_compared_with_its_parent_and_the_benchmark(tree_db: tuple[config.Catalogue, Path]) -> None:
    """Byar's 95% intervals, by hand: Amber Valley 500 in 50,000: 500 × (1 − 1/4500 − 1.96/(3√500))³ =
    457.13 and 501 × (1 − 1/4509 + 1.96/(3√501))³ = 545.81 events, 9.14 to 10.92 per 1,000. Erewash
    300 in 20,000: 13.35 to 16.80. Derbyshire, added up, 800 in 70,000 = 11.43: 10.65 to 12.25."""
    cat, db = tree_db
    rows = comparisons(cat, db)
    # areas at the indicator's levels only: England (nation) and East Midlands (region) are not rated
    assert set(rows) == {"Derbyshire", "Amber Valley", "Erewash", "Nottinghamshire", "Mansfield"}
    amber, erewash, county = rows["Amber Valley"], rows["Erewash"], rows["Derbyshire"]
    assert (amber["ci_lower"], amber["ci_upper"]) == (pytest.approx(9.1426, abs=1e-3), pytest.approx(10.916, abs=1e-3))
    assert (county["value"], county["aggregated_from"]) == (pytest.approx(800 / 70), 2)
    # 11.43 is above Amber Valley's interval and lower is better: better than its county; England's 10
    # is inside it: similar
    assert (amber["parent"], amber["parent_value"], amber["vs_parent"]) == (
        "Derbyshire", pytest.approx(800 / 70), "better")
    assert (amber["benchmark"], amber["benchmark_value"], amber["vs_benchmark"]) == ("England", 10.0, "similar")
    # Erewash's interval, 13.35 to 16.80, is above both: worse than each
    assert (erewash["vs_parent"], erewash["vs_benchmark"]) == ("worse", "worse")
    # the county against the region's 11.0 (inside 10.65 to 12.25: similar) and England's 10 (below: worse)
    assert (county["parent"], county["parent_value"], county["vs_parent"]) == ("East Midlands", 11.0, "similar")
    assert (county["benchmark_value"], county["vs_benchmark"]) == (10.0, "worse")
    # Nottinghamshire has no row of its own either: added up from Mansfield, its only district, 90 in
    # 10,000 = 9 (Byar: 7.24 to 11.06); the region's 11.0 is just inside, England's 10 too
    notts = rows["Nottinghamshire"]
    assert (notts["value"], notts["aggregated_from"], notts["vs_parent"], notts["vs_benchmark"]) == (
        9.0, 1, "similar", "similar")
    assert rows["Mansfield"]["parent_value"] == 9.0


def load_rows(cat: config.Catalogue, db: Path, text: str) -> None:
    with store.connect(db) as con:
        upload = loading.read_upload(text.encode(), "rows.csv", cat)
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)


def test_parents_are_added_up_at_any_depth(tmp_path: Path) -> None:
    """Without the region's and England's own rows: Derbyshire 800 in 70,000 (from its districts), then
    East Midlands from its counties, 890 in 80,000 = 11.125, then England from its one region."""
    cat = config.parse(TREE)
    db = tmp_path / "deep.duckdb"
    load_rows(cat, db, "\n".join(line for line in ROWS.splitlines() if "England" not in line
                                  and "East Midlands" not in line) + "\n")
    with store.connect(db, read_only=True) as con:
        _, rows = words.status_table(con, cat, [Q1], ["Derbyshire"], ["R"],
                                     ["area", "parent", "parent_value", "benchmark_value"])
    assert rows == [("Derbyshire", "East Midlands", pytest.approx(11.125), pytest.approx(11.125))]


def test_a_parent_missing_a_childs_counts_has_no_figure_and_names_it(tmp_path: Path) -> None:
    cat = config.parse(TREE)
    db = tmp_path / "gap.duckdb"
    load_rows(cat, db, "\n".join(line for line in ROWS.splitlines() if "Erewash" not in line
                                  and "East Midlands" not in line) + "\n")
    columns = ["area", "value", "status", "reason", "parent_value"]
    with store.connect(db, read_only=True) as con:
        _, rows = words.status_table(con, cat, [Q1], ["Derbyshire", "Amber Valley"], ["R"], columns)
    county, amber = (dict(zip(columns, r, strict=True)) for r in rows)
    assert (county["value"], county["status"]) == (None, "NA")
    assert county["reason"] == "no figure: the districts cannot be added up without counts from Erewash"
    # the region cannot be added up either (Derbyshire has no counts): the county's parent has no figure
    assert county["parent_value"] is None and amber["parent_value"] is None


def test_asking_for_one_area_still_compares_it(tree_db: tuple[config.Catalogue, Path]) -> None:
    cat, db = tree_db
    assert comparisons(cat, db, ["Amber Valley"]) == {"Amber Valley": comparisons(cat, db)["Amber Valley"]}
    assert comparisons(cat, db, ["Derbyshire"])["Derbyshire"]["vs_benchmark"] == "worse"


def cli(*args: str, db: Path, catalogue: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGBOARD_DB": str(db), "RAGBOARD_CONFIG": str(catalogue)}
    return subprocess.run([sys.executable, "-m", "pipelines", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=db.parent)


def test_status_under_an_area_and_the_comparison_columns(tree_db: tuple[config.Catalogue, Path]) -> None:
    _, db = tree_db
    catalogue = db.with_suffix(".yaml")
    catalogue.write_text(yaml.safe_dump(TREE), encoding="utf-8")
    under = cli("status", "--under", "Derbyshire", "--indicator", "R", "--format", "csv", db=db, catalogue=catalogue)
    assert under.returncode == 0, under.stderr
    rows = list(csv.DictReader(io.StringIO(under.stdout)))
    assert [r["area"] for r in rows] == ["Derbyshire", "Amber Valley", "Erewash"]
    assert list(rows[0])[-8:-2] == ["parent", "parent_value", "vs_parent", "benchmark", "benchmark_value",
                                    "vs_benchmark"]
    assert [(r["parent"], r["vs_parent"], r["vs_benchmark"]) for r in rows] == [
        ("East Midlands", "similar", "worse"), ("Derbyshire", "better", "similar"), ("Derbyshire", "worse", "worse")]
    region = cli("status", "--under", "East Midlands", "--indicator", "R", "--format", "json", db=db,
                 catalogue=catalogue)
    assert [r["area"] for r in json.loads(region.stdout)] == [
        "Derbyshire", "Amber Valley", "Erewash", "Nottinghamshire", "Mansfield"]
    wrong = cli("status", "--under", "East Midland", db=db, catalogue=catalogue)
    assert wrong.returncode == 2 and "Unknown area 'East Midland'; did you mean 'East Midlands'?" in wrong.stderr
    both = cli("status", "--under", "Derbyshire", "--area", "Erewash", db=db, catalogue=catalogue)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_the_comparisons_in_words() -> None:
    from pipelines.present import explain

    row = {"parent": "Derbyshire", "vs_parent": "better", "benchmark": "England", "vs_benchmark": "similar"}
    assert explain.compared_with(row) == ["✓ better than Derbyshire", "≈ similar to England"]
    # the shorthand's district: parent and benchmark are both the county, said once
    assert explain.compared_with({**row, "benchmark": "Derbyshire", "vs_benchmark": "better"}) == [
        "✓ better than Derbyshire"]
    assert explain.compared_with({"parent": None, "vs_parent": None, "benchmark": "England",
                                  "vs_benchmark": None}) == []
    assert explain.compared_with({**row, "vs_parent": "higher", "vs_benchmark": "lower"}) == [
        "↑ higher than Derbyshire", "↓ lower than England"]


# --- The Compare page ---------------------------------------------------------------------------

def funnel_spec(at: Any) -> dict[str, Any]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(s for s in specs if "against" in s["layout"]["title"]["text"])


@pytest.mark.usefixtures("fresh")
def test_the_compare_page_draws_a_funnel_and_ranks_the_districts() -> None:
    """NI 16 in the sample, 2010/11 Q1: every district against the county (the benchmark of a
    county-and-districts catalogue), 7,359 crimes in 766,605 people = 9.5995 per 1,000."""
    at = run(COMPARE, indicator="NI 16", quarter="2010/11 Q1")
    spec = funnel_spec(at)
    names = [t.get("name") for t in spec["data"]]
    assert "95% limits" in names and "99.8% limits" in names and "Derbyshire (benchmark) 9.6" in names
    points = {t["name"]: t for t in spec["data"] if t.get("mode") == "markers+text"}
    assert "Chesterfield" in points["Significantly worse"]["text"]
    assert "Derbyshire Dales" in points["Significantly better"]["text"]
    ranked = table(at, "ranked")
    assert ranked[0][:2] == ["Rank", "Area"] and len(ranked) == 9  # the 8 districts, lowest first
    assert [r[1] for r in ranked[1:]][0] == "Derbyshire Dales" and ranked[-1][1] == "Chesterfield"
    # Bolsover, 812 in 75,743 = 10.72: Byar's 95% lower limit 9.996 is above 9.5995 (worse); at 99.8%,
    # 812 × (1 − 1/7308 − 3.0902/(3√812))³ = 726.8 events, 9.5955 per 1,000, is below it (similar)
    bolsover = next(r for r in ranked if r[1] == "Bolsover")
    assert bolsover[4:] == ["✗ significantly worse", "≈ not significantly different"]
    assert "The lines are the 95% (dashed) and 99.8% (dotted) control limits" in text(at)


@pytest.mark.usefixtures("fresh")
def test_a_figure_as_given_is_ranked_without_a_funnel() -> None:
    at = run(COMPARE, indicator="NI 1", quarter="2010/11 Q1")
    assert "a funnel plot needs counts" in text(at)
    assert not [c for c in at.get("plotly_chart")]


@pytest.fixture
def tree_pages(tree_db: tuple[config.Catalogue, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The pages on the tree's database and catalogue, with no cache left from another test."""
    _, db = tree_db
    catalogue = db.with_suffix(".yaml")
    catalogue.write_text(yaml.safe_dump(TREE), encoding="utf-8")
    with pages_on(monkeypatch, db, catalogue):
        yield db


@pytest.mark.usefixtures("tree_pages")
def test_the_compare_page_on_a_tree_with_a_peer_group() -> None:
    at = run(COMPARE, indicator="R", quarter="2010/11 Q1", level="district")
    # the districts of the whole tree, lowest first, each against England's 10 per 1,000
    ranked = table(at, "ranked")
    assert [r[1] for r in ranked[1:]] == ["Mansfield", "Amber Valley", "Erewash"]
    assert [r[4] for r in ranked[1:]] == ["≈ not significantly different", "≈ not significantly different",
                                          "✗ significantly worse"]
    peers = table(at, "peers")
    assert [r[0] for r in peers[1:]] == ["Amber Valley", "Erewash", "Mansfield"]
    assert "England (benchmark) 10" in [t.get("name") for t in funnel_spec(at)["data"]]


def test_the_pack_says_how_the_county_and_its_districts_compare(tree_db: tuple[config.Catalogue, Path]) -> None:
    from pipelines.report import pack

    cat, db = tree_db
    with store.connect(db, read_only=True) as con:
        text_html = pack.html(con, cat, Q1)
    tables = table_under(text_html, "How we compare")
    # the county against the region (11.0, inside its interval) and England (10, below it); worked above
    assert tables[0] == ["Indicator", "Derbyshire", "Compared with, allowing for chance"]
    assert tables[1][0] == "R" and tables[1][2] == "≈ similar to East Midlands; ✗ worse than England"
    # the pack covers Derbyshire and its districts only: Nottinghamshire and Mansfield are comparators
    assert "Mansfield" not in text_html and "Nottinghamshire" not in text_html
    overview = table_under(text_html, "1. County overview")
    assert [r[0] for r in overview[1:]] == ["R", "C"]


def test_a_pack_for_another_area_of_the_tree(tree_db: tuple[config.Catalogue, Path]) -> None:
    """`report --area Nottinghamshire`: its own pack, its one district, compared with its region."""
    _, db = tree_db
    catalogue = db.with_suffix(".yaml")
    catalogue.write_text(yaml.safe_dump(TREE), encoding="utf-8")
    out = db.parent / "notts.html"
    made = cli("report", "--area", "Nottinghamshire", "--quarter", "2010/11 Q1", "--out", str(out), db=db,
               catalogue=catalogue)
    assert made.returncode == 0, made.stderr
    text_html = out.read_text(encoding="utf-8")
    title = "Derbyshire Safer Communities Board: Nottinghamshire: performance report 2010/11 Q1"
    assert f"<title>{title}</title>" in text_html
    # Nottinghamshire's R is Mansfield's 9 per 1,000 added up; similar to the region's 11 and England's 10
    compared = table_under(text_html, "How we compare")
    assert compared[1][0] == "R" and compared[1][2] == "≈ similar to East Midlands; ≈ similar to England"
    assert "Amber Valley" not in text_html and "Erewash" not in text_html
    wrong = cli("report", "--area", "Notts", "--out", str(out), db=db, catalogue=catalogue)
    assert wrong.returncode == 2 and "Unknown area 'Notts'" in wrong.stderr


def test_a_profile_places_the_area_among_every_area_at_its_level() -> None:
    from pipelines.stats import profile

    rows = [{"indicator": "X", "name": "x", "unit": "", "better": "lower", "area": a, "value": v,
             "benchmark_value": 3.0, "vs_benchmark": "better" if a == "A" else None}
            for a, v in zip("ABCDE", (1.0, 2.0, 3.0, 4.0, 5.0), strict=True)]
    (p,) = profile.rows(rows + [{**rows[0], "indicator": "Y", "area": "B"}], "A")  # Y: A has no figure
    # five figures 1 to 5: the 25th and 75th percentiles (inclusive) are 2 and 4
    assert (p.value, p.lowest, p.q1, p.q3, p.highest, p.areas, p.vs_benchmark) == (1, 1, 2, 4, 5, 5, "better")
    # lower is better: the lowest figure, 2 below the benchmark of 3, is farthest to the right
    assert (p.position(1.0), p.position(3.0), p.position(5.0), p.position(4.0)) == (1.0, 0.0, -1.0, -0.5)


@pytest.mark.usefixtures("fresh")
def test_the_compare_page_profiles_an_area() -> None:
    at = run(COMPARE, indicator="NI 16", quarter="2010/11 Q1", profile="High Peak")
    got = {r[0].split()[0] + " " + r[0].split()[1]: r for r in table(at, "profile")[1:]}
    # High Peak's NI 16, 7.53, against the county's 9.6 (better), among the 8 districts: 4.77 to 15.34
    assert got["NI 16"][1:4] == ["7.53", "9.6", "✓ significantly better"]
    assert (got["NI 16"][4], got["NI 16"][7], got["NI 16"][8]) == ("4.77", "15.34", "8")
    assert got["NI 20"][1:4] == ["7.44", "7.19", "≈ not significantly different"]
    spine = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                 if "each indicator against" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert [t["name"] for t in spine["data"][:2]] == ["Range of all areas", "25th to 75th percentile"]


@pytest.mark.usefixtures("tree_pages")
def test_the_pages_follow_the_sidebar_to_another_area_of_the_tree() -> None:
    from helpers import DISTRICT, OVERVIEW

    home = run(OVERVIEW, quarter="2010/11 Q1")
    assert "Derbyshire" in text(home) and "Showing" not in text(home)
    notts = run(OVERVIEW, quarter="2010/11 Q1", area="Nottinghamshire")
    said = text(notts)
    assert "Showing Nottinghamshire and the areas under it" in said
    # Nottinghamshire's own overview: its R, added up from Mansfield (9 per 1,000), compared with its region
    compared = table(notts, "compared")
    assert compared[0] == ["Indicator", "Nottinghamshire", "Compared with, allowing for chance"]
    r = next(line for line in compared if line[0].startswith("R "))
    assert r[1].startswith("9") and r[2] == "≈ similar to East Midlands ≈ similar to England"
    mansfield = run(DISTRICT, quarter="2010/11 Q1", area="Mansfield")
    assert "Mansfield: district view" in text(mansfield)


def test_populations_are_added_up_at_any_depth(tmp_path: Path) -> None:
    """Populations for the districts only (Amber Valley 50,000, Erewash 20,000, Mansfield 10,000): the
    region's own count, 960 crimes, is divided by theirs added up through the counties, 80,000:
    12 per 1,000; Derbyshire, with no row, is added up from its districts, 800 in 70,000."""
    from pipelines.ingest import populations

    tree = {**TREE, "indicators": [{"id": "P", "name": "Per head", "better": "lower", "measure": "rate",
                                    "per": 1000, "denominator": "population", "levels": ["county", "district"],
                                    "targets": {"2010/11": 10}}]}
    cat = config.parse(tree)
    db = tmp_path / "pop.duckdb"
    with store.connect(db) as con:
        people = populations.read_upload(b"area,year,population\nAmber Valley,2010/11,50000\n"
                                         b"Erewash,2010/11,20000\nMansfield,2010/11,10000\n", "pop.csv", cat)
        assert people.ok, people.checked.problems
        populations.load(con, people)
    load_rows(cat, db, "indicator,area,quarter,value,numerator\nP,East Midlands,2010/11 Q1,,960\n"
                       "P,Amber Valley,2010/11 Q1,,500\nP,Erewash,2010/11 Q1,,300\nP,Mansfield,2010/11 Q1,,90\n")
    with store.connect(db, read_only=True) as con:
        _, rows = words.status_table(con, cat, [Q1], ["Derbyshire"], ["P"],
                                     ["area", "value", "parent_value", "benchmark_value"])
    # England has no row: added up from its one region, 960 in 80,000
    assert rows == [("Derbyshire", pytest.approx(800 / 70), pytest.approx(12.0), pytest.approx(12.0))]


def test_a_county_without_districts_listed_yet_still_takes_district_levels(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    raw = {"county": "Shire", "indicators": [{"id": "X", "name": "x", "better": "lower",
                                              "levels": ["county", "district"]}]}
    assert config.parse(raw).indicator("X").levels == ("county", "district")
    monkeypatch.setenv("RAGBOARD_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "shire.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert config.load(path) == config.load(path)  # and again from the cache


def test_an_area_below_a_cycle_is_told_so() -> None:
    areas = [{"name": "Root", "level": "x"}, {"name": "B", "level": "x", "parent": "C"},
             {"name": "C", "level": "x", "parent": "B"}, {"name": "D", "level": "x", "parent": "B"}]
    said = problems({**TREE, "areas": areas, "home": None, "benchmark": None, "peer_groups": {},
                     "indicators": [{"id": "X", "name": "x", "better": "lower", "levels": ["x"]}]})
    assert said == ["areas[1] (B).parent: 'C' is under 'B'; an area cannot be inside itself",
                    "areas[2] (C).parent: 'B' is under 'C'; an area cannot be inside itself"]


def test_a_question_about_one_area_reads_its_comparators_only_in_the_quarters_compared(tmp_path: Path) -> None:
    """The parents and the benchmark are read for the quarters asked and their windows only: over
    two quarters of a two-quarter window, Amber Valley's rows are those of the whole tree's. By hand,
    England's 2010/11 Q2 window is 50,000 + 52,000 in 5,000,000 + 5,000,000 = 10.2 per 1,000."""
    tree = {**TREE, "indicators": [{**TREE["indicators"][0], "window": 2}]}
    cat = config.parse(tree)
    db = tmp_path / "window.duckdb"
    rows = ROWS + "".join(f"R,{area},{q},,{n},{d}\n" for q in ("2009/10 Q4", "2010/11 Q2") for area, n, d in
                          [("England", 52000, 5000000), ("East Midlands", 4000, 400000), ("Amber Valley", 480, 50000),
                           ("Erewash", 310, 20000), ("Mansfield", 95, 10000)])
    load_rows(cat, db, rows)
    columns = ["area", "quarter", "value", "previous_value", "year_ago_value", "parent_value", "vs_parent",
               "benchmark_value", "vs_benchmark", "status", "direction"]
    with store.connect(db, read_only=True) as con:
        _, alone = words.status_table(con, cat, [Q1, Q1 + 1], ["Amber Valley"], ["R"], columns)
        _, everywhere = words.status_table(con, cat, [Q1, Q1 + 1], None, ["R"], columns)
    assert alone == [r for r in everywhere if r[0] == "Amber Valley"]
    q2 = dict(zip(columns, alone[1], strict=True))
    assert q2["benchmark_value"] == pytest.approx(10.2)
    assert q2["parent_value"] == pytest.approx((500 + 300 + 480 + 310) / 140)  # Derbyshire, added up
