"""Confidence intervals and significance on the pages and in the board pack (issue 10), through
Streamlit's AppTest over real DuckDB files built by the real ingest path: the sample as
``python -m pipelines init`` builds it (NI 16 and NI 20 rates added up from the districts' counts
over their populations, NI 32 a proportion of 55 of 356), and a small catalogue of its own for
the cases the sample lacks (an exact Poisson interval, a county that cannot be added up, an
indicator that is monitored but not rated)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    CONFIG_PATH,
    DEFINITIONS,
    DISTRICT,
    INDICATOR,
    html,
    pages_on,
    row,
    run,
    section_figures,
    table,
    table_under,
    text,
)
from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.report import pack
from pipelines.storage import store

Q1 = 2010 * 4  # 2010/11 Q1


@pytest.fixture(scope="module")
def counted_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with its populations, loaded as ``python -m pipelines init`` loads it."""
    path = tmp_path_factory.mktemp("counted") / "sample.duckdb"
    loading.create_from_sample(path, config.load(CONFIG_PATH))
    return path


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, counted_template: Path) -> Iterator[Path]:
    db = tmp_path / "ragboard.duckdb"
    shutil.copy(counted_template, db)
    with pages_on(monkeypatch, db):
        yield db


def trend_spec(at: Any) -> dict[str, Any]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(s for s in specs if "by quarter" in s["layout"]["title"]["text"])


def compare_spec(at: Any) -> dict[str, Any]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(s for s in specs if "by area" in s["layout"]["title"]["text"])


def status_traces(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in spec["data"] if t.get("name") in ("GREEN", "AMBER", "RED", "GREY", "NA")}


# --- The sample: NI 32, 55 of 356; NI 16 and NI 20 added up from eight districts ----------------

@pytest.mark.usefixtures("counted")
def test_indicator_page_gives_the_interval_and_the_significance_in_words() -> None:
    at = run(INDICATOR, indicator="NI 32", quarter="2010/11 Q1")
    said = text(at)
    assert ("15.45% (95% CI 12.07 to 19.57, 55 of 356): significantly worse than the target of 27, higher is"
            " better: 11.55 worse, 42.8% of the target, beyond the 5% band → RED") in said
    assert "**Confidence interval:** 95%, Wilson score interval" in said


@pytest.mark.usefixtures("counted")
def test_trend_draws_each_interval_as_an_error_bar() -> None:
    spec = trend_spec(run(INDICATOR, indicator="NI 32", quarter="2010/11 Q1"))
    red = status_traces(spec)["RED"]
    assert red["x"][-1] == "2010/11 Q1" and red["y"][-1] == 15.45
    bars = red["error_y"]
    assert bars["visible"] is True and bars["symmetric"] is False and bars["type"] == "data"
    # up to the upper limit, down to the lower: Wilson for 55 of 356 is 12.0658 to 19.5707
    assert bars["array"][-1] == pytest.approx(19.570733128979906 - 15.45)
    assert bars["arrayminus"][-1] == pytest.approx(15.45 - 12.065826814331224)
    assert len(bars["array"]) == len(red["x"])
    # the hover text says the interval and the comparison
    assert "95% CI 12.07 to 19.57, 55 of 356" in red["text"][-1] and "significantly worse" in red["text"][-1]
    # error bars have no legend entry of their own: a legend-only whisker names them
    names = [t.get("name") for t in spec["data"]]
    assert "95% confidence interval" in names


@pytest.mark.usefixtures("counted")
def test_a_trend_without_intervals_draws_no_error_bars() -> None:
    spec = trend_spec(run(INDICATOR, indicator="NI 1", quarter="2010/11 Q1"))
    for trace in status_traces(spec).values():
        assert trace["error_y"]["visible"] is False
        assert all(v is None for v in trace["error_y"]["array"])  # NaN: nothing drawn
    assert not any("confidence interval" in str(t.get("name")) for t in spec["data"])


@pytest.mark.usefixtures("counted")
def test_districts_compared_with_their_intervals_and_significance() -> None:
    at = run(INDICATOR, indicator="NI 20", quarter="2010/11 Q1")
    rows = table(at, "compare")
    assert rows[0] == ["Area", "Status", "Significance", "Value", "95% CI", "Target", "% off target",
                       "Since last quarter", "Counts"]
    assert row(rows, "Derbyshire")[1:6] == ["▲ AMBER", "≈ similar", "7.19", "7 to 7.38", "7.07"]
    assert row(rows, "High Peak")[1:6] == ["■ RED", "✗ significantly worse", "7.44", "6.89 to 8.02", "6.2"]
    assert row(rows, "Bolsover")[1:6] == ["● GREEN", "✓ significantly better", "7.51", "6.91 to 8.16", "8.2"]
    assert row(rows, "Derbyshire")[8] == "5,512 ÷ 766,605 × 1,000, added up from 8 districts"
    assert row(rows, "High Peak")[8] == "683 ÷ 91,804 × 1,000"
    # the arithmetic in words is the status's tooltip: the table itself stays one line a district
    assert 'title="NI 20, High Peak, 2010/11 Q1: 7.44 per 1,000 population (95% CI 6.89 to 8.02' in html(at)
    # the symbols carry a tooltip in words, never colour alone
    assert 'title="significantly worse than the target of 6.2 (95% CI 6.89 to 8.02, 683 ÷ 91,804 × 1,000)"' in html(at)
    spec = compare_spec(at)
    red = next(t for t in spec["data"] if t.get("name") == "■ RED")
    assert red["y"] == ["High Peak", "South Derbyshire"] and red["orientation"] == "h"
    assert red["error_x"]["visible"] is True
    assert red["error_x"]["array"][0] == pytest.approx(8.019266250298267 - 7.439762973290924)
    assert red["error_x"]["arrayminus"][0] == pytest.approx(7.439762973290924 - 6.892191709780807)
    assert "95% CI 6.89 to 8.02" in red["customdata"][0] and "significantly worse" in red["customdata"][0]
    assert "whiskers the confidence intervals" in spec["layout"]["title"]["text"]


@pytest.mark.usefixtures("counted")
def test_overview_grids_show_significance_beside_the_status() -> None:
    at = run(quarter="2010/11 Q1")
    grid = table(at, "status-grid")
    assert row(grid, "NI 32")[4] == "■ RED 15.45% ✗ worse"
    assert row(grid, "NI 16")[4] == "● GREEN 9.6 ✓ better"
    assert row(grid, "NI 18")[4] == "◆ GREY 4.56 ≈ similar"
    assert row(grid, "NI 1")[4] == "▲ AMBER 74.1%"  # no interval: not compared, nothing added
    districts = table(at, "district-grid")
    assert row(districts, "South Derbyshire")[1:] == ["● GREEN 8.91 ✓ better", "■ RED 7.71 ✗ worse"]
    assert row(districts, "Erewash")[2] == "● GREEN 7.08 ≈ similar"
    said = text(at)
    assert "✓ better / ✗ worse: significantly better or worse than the target, allowing for chance" in said
    assert 'data-significance="worse"' in html(at)
    breakdown = table(at, "breakdown")
    assert row(breakdown, "NI 32")[1] == "15.45% 12.07 to 19.57"
    assert row(breakdown, "NI 32")[5] == "■ RED ✗ worse"


@pytest.mark.usefixtures("counted")
def test_district_page_shows_the_interval_and_significance() -> None:
    at = run(DISTRICT, area="High Peak", quarter="2010/11 Q1")
    rows = table(at, "district-table")
    assert rows[0][2] == "Value (confidence interval)"
    assert row(rows, "NI 20")[1:3] == ["■ RED ✗ worse ⚑ Update due to the tasking group", "7.44 6.89 to 8.02"]
    assert row(rows, "NI 16")[1:3] == ["● GREEN ✓ better", "7.53 6.98 to 8.11"]
    assert "allowing for chance" in text(at)
    # beside the county's figure, the district against it: the county's 9.60 is above High Peak's
    # interval for NI 16 (lower is better: better than the county); its 7.19 is inside NI 20's (similar)
    assert row(rows, "NI 16")[5].endswith("● GREEN High Peak: ✓ better than Derbyshire")
    assert row(rows, "NI 20")[5].endswith("High Peak: ≈ similar to Derbyshire")


@pytest.mark.usefixtures("counted")
def test_definitions_name_each_method_and_its_source() -> None:
    at = run(DEFINITIONS)
    said = unescape(text(at))
    for words in ("Wilson score interval", "Byar's method", "Exact Poisson interval (from the chi-square distribution)",
                  "rates with fewer than 10 events", "rates with 10 events or more", "1.959963984540054",
                  "3.090232306167813", "Fingertips' default comparison", "when the target lies within the interval,"
                  " ends included", "numerators and denominators are added up", "only when every district has both",
                  "person-years", "PHEindicatormethods", "OHID Fingertips", "not rated", "a window lacks one of its"
                  " quarters", "population for the year has not been loaded"):
        assert words in said, words
    methods = table(at, "methods-table")
    assert [r[0] for r in methods[1:]] == ["Wilson score interval", "Exact Poisson interval (from the chi-square"
                                           " distribution)", "Byar's method", "Interval as supplied"]
    assert row(methods, "Wilson")[2] == "Wilson (1927); PHEindicatormethods phe_proportion"
    assert row(table(at, "definitions"), "NI 32")[4] == "proportion: numerator ÷ denominator × 100, 95% CI"


def test_pack_gives_the_interval_and_significance_and_draws_whiskers(counted: Path) -> None:
    catalogue = config.load(CONFIG_PATH)
    with store.connect(counted) as con:
        text_html = pack.html(con, catalogue, Q1)
    overview = table_under(text_html, "1. County overview")
    assert row(overview, "NI 32")[2:4] == ["■ RED ✗ worse", "95% CI 12.07 to 19.57, 55 of 356"]
    breakdown = table_under(text_html, "3. Numerical breakdown")
    assert row(breakdown, "NI 32 ")[1] == "15.45 12.07 to 19.57"
    comparison = table_under(text_html, "2. Quarterly comparison")
    assert row(comparison, "NI 32")[4].startswith("■ RED") and "✗ worse" in row(comparison, "NI 32")[4]
    # one section per indicator: NI 32's trend has a whisker for each of its 8 quarters, from its
    # interval's lower limit to its upper (15.45 in 2010/11 Q1: 12.07 to 19.57), named in the legend;
    # NI 1 (no interval) has none
    figures = section_figures(text_html)
    points = [t for t in figures["NI 32"]["trend"]["data"] if t.get("error_y")]
    assert sum(len(t["x"]) for t in points) == 8
    latest = next(t for t in points if "2010/11 Q1" in t["x"])
    at = latest["x"].index("2010/11 Q1")
    assert latest["y"][at] == pytest.approx(15.45, abs=0.005)
    assert latest["y"][at] - latest["error_y"]["arrayminus"][at] == pytest.approx(12.07, abs=0.005)
    assert latest["y"][at] + latest["error_y"]["array"][at] == pytest.approx(19.57, abs=0.005)
    assert "95% confidence interval" in [t.get("name") for t in figures["NI 32"]["trend"]["data"]]
    assert not any(t.get("error_y", {}).get("visible") for t in figures["NI 1"]["trend"]["data"])
    assert "Wilson score interval for proportions" in text_html  # the method page


# --- A catalogue of its own: exact Poisson, a county that cannot be added up, not rated ------------

SHIRE = """
county: Shire
districts: [East, West]
amber_tolerance: 5%
indicators:
  - id: R 1
    name: Burglary rate
    unit: per 1,000 households
    better: lower
    levels: [county, district]
    measure: rate
    per: 1000
    targets: {2009/10: 11.35, 2010/11: 11.35}
  - id: M 1
    name: Referrals monitored
    unit: "%"
    better: neither
    measure: proportion
    targets: {2009/10: 20, 2010/11: 20}
"""
SHIRE_FIGURES = ("indicator,area,quarter,value,numerator,denominator\n"
                 "R 1,East,2009/10 Q4,,5,1000\nR 1,West,2009/10 Q4,,40,3000\n"
                 "R 1,East,2010/11 Q1,,30,5000\nR 1,West,2010/11 Q1,,25,2000\n"
                 "R 1,East,2010/11 Q2,,28,5000\nR 1,West,2010/11 Q2,12.1,,\n"
                 "M 1,Shire,2009/10 Q4,,25,100\nM 1,Shire,2010/11 Q1,,30,100\nM 1,Shire,2010/11 Q2,,21,100\n")


@pytest.fixture
def shire(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    yaml = tmp_path / "shire.yaml"
    yaml.write_text(SHIRE)
    db = tmp_path / "shire.duckdb"
    upload = loading.read_upload(SHIRE_FIGURES.encode(), "shire.csv", config.load(yaml))
    assert upload.ok, upload.checked.problems
    with store.connect(db) as con:
        loading.load(con, upload, analyst="test")
    with pages_on(monkeypatch, db, yaml):
        yield db


@pytest.mark.usefixtures("shire")
def test_a_small_count_gets_the_exact_poisson_interval() -> None:
    at = run(INDICATOR, indicator="R 1", area="East", quarter="2009/10 Q4")
    assert ("5 per 1,000 households (95% CI 1.62 to 11.67, 5 ÷ 1,000 × 1,000): similar to the target of 11.35,"
            " lower is better: 6.35 better, 55.9% of the target → GREEN") in text(at)
    spec = trend_spec(at)
    green = status_traces(spec)["GREEN"]
    assert green["x"] == ["2009/10 Q4", "2010/11 Q1", "2010/11 Q2"]
    assert green["error_y"]["array"][0] == pytest.approx(11.66833207932267 - 5)
    assert green["error_y"]["arrayminus"][0] == pytest.approx(5 - 1.623486390118421)


@pytest.mark.usefixtures("shire")
def test_a_figure_without_counts_has_no_error_bar_beside_those_with_them() -> None:
    spec = trend_spec(run(INDICATOR, indicator="R 1", area="West", quarter="2010/11 Q2"))
    points = [(x, a) for t in status_traces(spec).values() for x, a in zip(t["x"], t["error_y"]["array"],
                                                                             strict=True)]
    by_quarter = dict(points)
    assert by_quarter["2010/11 Q2"] is None  # 12.1 given without counts: nothing drawn
    assert by_quarter["2010/11 Q1"] == pytest.approx(18.45322534609268 - 12.5)


@pytest.mark.usefixtures("shire")
def test_the_county_added_up_from_its_districts_and_where_it_cannot_be() -> None:
    at = run(INDICATOR, indicator="R 1", quarter="2010/11 Q1")
    assert ("7.86 per 1,000 households (95% CI 5.92 to 10.23, 55 ÷ 7,000 × 1,000, added up from 2 districts):"
            " significantly better than the target of 11.35") in text(at)
    at = run(INDICATOR, indicator="R 1", quarter="2010/11 Q2")
    assert "No status: no figure: the districts cannot be added up without counts from West → NA" in text(at)
    grid = table(run(quarter="2010/11 Q2"), "district-grid")
    assert row(grid, "Shire")[1] == "○ NA no figure: the districts cannot be added up without counts from West"


@pytest.mark.usefixtures("shire")
def test_an_indicator_not_rated_says_higher_or_lower_never_improving() -> None:
    at = run(quarter="2010/11 Q1")
    breakdown = table(at, "breakdown")
    m1 = row(breakdown, "M 1")
    assert m1[0].endswith("%, neither higher nor lower is better (not rated)")
    assert m1[5] == "○ NA ↑ higher" and m1[6:8] == ["↑ higher", "–"]
    assert row(table(at, "status-grid"), "M 1")[3:5] == ["○ NA 25% ≈ similar", "○ NA 30% ↑ higher"]
    later = row(table(run(quarter="2010/11 Q2"), "breakdown"), "M 1")
    assert later[5] == "○ NA ≈ similar" and later[6] == "↓ lower"
    at = run(INDICATOR, indicator="M 1", quarter="2010/11 Q1")
    assert ("No status: not rated: monitored, neither higher nor lower is better; 30% (95% CI 21.89 to 39.58, 30 of"
            " 100): significantly higher than the target of 20 → NA") in text(at)
    assert "neither higher nor lower is better (not rated)" in text(at)


def test_pack_for_an_indicator_not_rated_and_a_county_not_added_up(shire: Path, tmp_path: Path) -> None:
    catalogue = config.load(tmp_path / "shire.yaml")
    with store.connect(shire) as con:
        text_html = pack.html(con, catalogue, Q1 + 1)
    breakdown = table_under(text_html, "3. Numerical breakdown")
    m1 = row(breakdown, "M 1 ")
    assert "neither higher nor lower is better (not rated)" in m1[0]
    # not rated, yet still charted: its XmR reading (∿ common cause) has no assurance without a polarity
    assert m1[5:] == ["○ NA ∿ ≈ similar", "↓ lower", "–"]
    assert row(breakdown, "R 1 ")[1:2] == ["–"]  # no figure: the county could not be added up
