"""Statistical process control on the pages (issue 11): the words for the XmR chart's codes
(``pipelines.present.spc_words``), then the Indicator page's SPC view and the Definitions page's
method, through Streamlit's AppTest on the sample database as ``python -m pipelines init`` builds
it. In the sample, NI 32 for the county rises through its 9 quarters to 15.45% in 2010/11 Q1, above
its upper limit of 14.72 (higher is better: an improvement) while its whole band stays below the
target of 27 (it cannot pass without a change); NI 20 in High Peak ends above its upper limit
(lower is better: a concern)."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

import pytest

from helpers import DEFINITIONS, DISTRICT, INDICATOR, html, row, run, table, text
from pipelines.present import explain, palette, spc_words
from pipelines.stats import spc

# --- The words -------------------------------------------------------------------------------------


def _last(variation: str, rule: str = "none", quarter: str = "2010/11 Q1") -> dict[str, Any]:
    return {"quarter": quarter, "variation": variation, "rule": rule}


def test_every_code_has_its_words_and_symbol() -> None:
    assert set(spc_words.VARIATION_WORDS) == set(spc_words.VARIATION_SYMBOLS) == set(spc.VARIATIONS)
    assert set(spc_words.ASSURANCE_WORDS) == set(spc_words.ASSURANCE_SYMBOLS) == set(spc.ASSURANCES)
    assert set(spc_words.POINT_WORDS) == set(spc.POINT_TYPES)
    assert set(spc_words.RULE_WORDS) == {"outside", "trend", "two_in_three", "run"}
    assert spc_words.VARIATION_WORDS["common_cause"] == "common-cause variation: no sign of a real change"
    assert spc_words.VARIATION_WORDS["improvement_high"] == "special cause: improvement (high)"
    assert spc_words.VARIATION_WORDS["concern_low"] == "special cause: concern (low)"
    assert spc_words.ASSURANCE_WORDS == {
        "consistent_pass": "will consistently meet the target",
        "consistent_fail": "will consistently fail the target unless something changes",
        "inconsistent": "will meet and miss the target by chance"}
    assert spc_words.RULE_WORDS["trend"] == "part of 7 or more points rising or falling"
    assert spc_words.RULE_WORDS["run"] == "part of 7 or more points on one side of the mean"


def test_symbols_are_distinct_and_never_a_status_or_significance_symbol() -> None:
    symbols = [*spc_words.VARIATION_SYMBOLS.values(), *spc_words.ASSURANCE_SYMBOLS.values()]
    assert len(set(symbols)) == len(symbols)
    taken = {s for s, _, _ in palette.STATUS_STYLE.values()} | set(explain.SIGNIFICANCE_SYMBOLS.values())
    assert not {ch for s in symbols for ch in s} & taken


def test_variation_and_assurance_in_words() -> None:
    assert spc_words.variation("improvement_high") == "⊕H special cause: improvement (high)"
    assert spc_words.variation(None) == ""
    assert spc_words.assurance("consistent_fail") == "[F] will consistently fail the target unless something changes"
    assert spc_words.assurance(None) == spc_words.NO_ASSURANCE
    assert spc_words.point({"point_type": "special_cause_concern", "rule": "outside"}) == (
        "Special cause: concern: outside the limits")
    assert spc_words.point({"point_type": "common_cause", "rule": "none"}) == "Common cause"


def test_the_reading_joins_the_status_and_the_variation() -> None:
    red, amber, green = {"status": "RED"}, {"status": "AMBER"}, {"status": "GREEN"}
    assert spc_words.reading(red, _last("common_cause")) == (
        "2010/11 Q1: RED, but within common-cause variation: no evidence of a real change this quarter")
    assert spc_words.reading(green, _last("common_cause")) == (
        "2010/11 Q1: GREEN, within common-cause variation: no evidence of a real change this quarter")
    assert spc_words.reading(amber, _last("improvement_low", "run")) == (
        "2010/11 Q1: AMBER, but improving: the latest point is part of 7 or more points on one side of the mean")
    assert spc_words.reading(green, _last("improvement_high", "trend")) == (
        "2010/11 Q1: GREEN and improving: the latest point is part of 7 or more points rising or falling")
    assert spc_words.reading(green, _last("concern_low", "two_in_three")) == (
        "2010/11 Q1: GREEN, but getting worse: the latest point is 2 of 3 points close to a limit")
    assert spc_words.reading(red, _last("concern_high", "outside")) == (
        "2010/11 Q1: RED and getting worse: the latest point is outside the limits")
    assert spc_words.reading(None, _last("neither_high", "outside")) == (
        "2010/11 Q1: No status (NA), and a real change upwards (neither better nor worse): the latest point is"
        " outside the limits")


def test_few_points_and_the_summary() -> None:
    assert spc_words.few_points(9) == (
        "The limits rest on 9 points: with fewer than 12 they are rough, and will move as quarters are added.")
    assert spc_words.few_points(12) == ""
    rows = [{"quarter": q, "period": p, "mean": 5.0, "lower_limit": 1.0, "upper_limit": 9.0, "point_type": t}
            for q, p, t in (("2009/10 Q4", 0, "common_cause"), ("2010/11 Q1", 1, "special_cause_concern"),
                            ("2010/11 Q2", 1, "common_cause"))]
    assert spc_words.summary(rows) == (
        "XmR chart, 2009/10 Q4 to 2009/10 Q4 (1 points): mean 5, limits 1 to 9; 2010/11 Q1 to 2010/11 Q2"
        " (2 points): mean 5, limits 1 to 9; rebased 1 time; 1 of 3 points are special causes (1 concern).")


# --- The pages -------------------------------------------------------------------------------------

on_the_sample = pytest.mark.usefixtures("fresh")


def spc_spec(at: Any) -> dict[str, Any]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(s for s in specs if "XmR chart" in s["layout"]["title"]["text"])


@on_the_sample
def test_indicator_page_shows_the_spc_view_with_its_reading() -> None:
    at = run(INDICATOR, indicator="NI 32", quarter="2010/11 Q1")
    said = text(at)
    assert "SPC view" in [h.value for h in at.header]
    assert ("2010/11 Q1: RED, but improving: the latest point is outside the limits") in said
    assert f"Variation: ⊕H {spc_words.VARIATION_WORDS['improvement_high']}" in said
    assert f"Assurance: [F] {spc_words.ASSURANCE_WORDS['consistent_fail']}" in said
    assert "The limits rest on 9 points" in said
    assert 'data-testid="spc-reading"' in html(at)
    # the text alternative: the chart in words, and its figures in a table
    assert "XmR chart, 2008/09 Q1 to 2010/11 Q1 (9 points): mean 12.97, limits 11.23 to 14.72" in said
    rows = table(at, "spc-table")
    assert rows[0] == ["Quarter", "Value", "Mean", "Lower limit", "Upper limit", "Point"]
    assert rows[-1] == ["2010/11 Q1", "15.45", "12.97", "11.23", "14.72",
                        "Special cause: improvement: outside the limits"]


@on_the_sample
def test_the_xmr_chart_draws_the_mean_the_limits_and_each_point_type() -> None:
    spec = spc_spec(run(INDICATOR, indicator="NI 32", quarter="2010/11 Q1"))
    traces = {t.get("name"): t for t in spec["data"]}
    assert traces["Mean"]["line"].get("dash") in (None, "solid")
    assert traces["Mean"]["y"][0] == pytest.approx(12.97, abs=0.01)
    assert traces["Upper process limit"]["line"]["dash"] == "dash"
    assert traces["Lower process limit"]["line"]["dash"] == "dash"
    assert traces["Target"]["y"][-1] == 27
    improvement = traces["Special cause: improvement"]
    concern = traces["Special cause: concern"]
    # shape and colour both differ, and the legend names each
    assert improvement["marker"]["symbol"] != concern["marker"]["symbol"]
    assert improvement["marker"]["color"] != concern["marker"]["color"]
    assert improvement["x"][-1] == "2010/11 Q1" and concern["x"] == ["2008/09 Q1", "2008/09 Q2"]
    # the hover names the rule: the first two below the lower limit, then a trend of 7 rising
    assert all(t == "Special cause: concern: outside the limits" for t in concern["text"])
    assert improvement["text"][0] == "Special cause: improvement: part of 7 or more points rising or falling"
    assert improvement["text"][-1] == "Special cause: improvement: outside the limits"


@on_the_sample
def test_a_district_series_reads_as_a_concern() -> None:
    at = run(INDICATOR, indicator="NI 20", area="High Peak", quarter="2010/11 Q1")
    said = text(at)
    assert "2010/11 Q1: RED and getting worse: the latest point is outside the limits" in said
    assert f"Variation: ⊖H {spc_words.VARIATION_WORDS['concern_high']}" in said


@on_the_sample
def test_an_earlier_quarter_says_the_reading_is_the_latest() -> None:
    said = text(run(INDICATOR, indicator="NI 32", quarter="2009/10 Q3"))
    assert "its reading is for the latest with a figure, 2010/11 Q1, not the quarter chosen (2009/10 Q3)" in said


@on_the_sample
def test_definitions_page_names_the_method_and_its_icons() -> None:
    at = run(DEFINITIONS)
    said = text(at)
    assert "Making Data Count" in said and "NHSRplotthedots 0.2" in said
    assert "Statistical process control (SPC)" in [h.value for h in at.header]
    variation = table(at, "spc-variation")
    assert ["⊕H", "special cause: improvement (high)"] in variation
    assert len(variation) == 1 + len(spc.VARIATIONS)
    assert ["[?]", "will meet and miss the target by chance"] in table(at, "spc-assurance")


# --- The Overview and District pages (the icons beside each status, the board's SPC summary) ---------

def _icons(variation: str, assurance: str | None) -> str:
    """The icon beside a status: its symbols drawn by the stylesheet, its words in the tooltip and as
    the accessible name a screen reader reads."""
    symbols, said = spc_words.icons({"variation": variation, "assurance": assurance})
    return f'data-spc-icons="{escape(symbols)}" title="{escape(said)}" aria-label="{escape(said)}"'


def _cells(at: Any, test_id: str, start: str) -> list[str]:
    """The markup of each cell of the row of table ``test_id`` whose first cell's text starts so."""
    markup = html(at)
    found = re.search(rf'<table[^>]*data-testid="{test_id}".*?</table>', markup, re.S)
    assert found, f"no table {test_id!r}"
    for tr in re.findall(r"<tr>(.*?)</tr>", found.group(), re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
        if cells and re.sub(r"<[^>]+>", "", cells[0]).strip().startswith(start):
            return cells
    raise AssertionError(f"no row starting {start!r} in {test_id!r}")


def test_the_icons_in_words() -> None:
    reading = {"qi": 2010 * 4, "quarter": "2010/11 Q1", "variation": "improvement_high",
               "assurance": "consistent_fail"}
    assert spc_words.icons(reading) == (
        "⊕H [F]", "SPC: special cause: improvement (high); will consistently fail the target unless something"
                  " changes")
    assert spc_words.icons({**reading, "assurance": None})[0] == "⊕H"
    assert spc_words.icons({**reading, "assurance": None})[1].endswith(spc_words.NO_ASSURANCE)
    assert spc_words.icons(reading, 2010 * 4 + 1)[1].endswith(
        "(as of 2010/11 Q1, the latest quarter with a figure)")
    assert spc_words.icons(None) == ("", "")
    assert [spc_words.kind(c) for c in ("improvement_low", "common_cause", "concern_high", "neither_low", None)] == [
        "improvement", "common", "concern", "neither", None]
    assert list(spc_words.ASSURANCE_COLUMNS) == ["consistent_pass", "inconsistent", "consistent_fail", None]


@on_the_sample
def test_overview_shows_the_spc_summary_matrix() -> None:
    at = run(quarter="2010/11 Q1")
    assert "SPC summary" in [h.value for h in at.header]
    matrix = table(at, "spc-summary-matrix")
    assert matrix[0] == ["Variation / assurance", "[P] Consistent pass", "[?] Inconsistent (hit and miss)",
                         "[F] Consistent fail", "No target"]
    assert [r[0] for r in matrix[1:]] == ["⊕ Improvement (special cause)", "∿ Common cause",
                                          "⊖ Concern (special cause)", "⊙ Neither better nor worse (special cause)"]
    improvement, common, concern, _ = matrix[1:]
    # NI 32 rises above its upper limit, yet its whole band is below the target of 27: improvement, but
    # it will consistently fail without a change; beside its id, its status in a chip with the word
    assert "NI 32 ■ RED" in improvement[3]
    assert "NI 18" in concern[3] and "NI 27" in common[2]
    # every county indicator placed once (each reading in the sample has 8 or 9 points)
    ids = re.findall(r"\b(?:NI|LI) \d+\b", " ".join(" ".join(r[1:]) for r in matrix[1:]))
    county = [r[0].split(" ", 2)[:2] for r in table(at, "breakdown")[1:]]
    assert sorted(ids) == sorted(" ".join(c) for c in county)
    assert f"<caption>{escape(spc_words.SUMMARY_CAPTION)}</caption>" in html(at)


@on_the_sample
def test_overview_puts_the_icons_beside_the_statuses() -> None:
    at = run(quarter="2010/11 Q1")
    # under NI 32's status in the breakdown: improvement, and it will fail without a change
    ni32 = _cells(at, "breakdown", "NI 32")[5]
    assert 'data-status="RED"' in ni32 and _icons("improvement_high", "consistent_fail") in ni32
    assert 'role="img"' in ni32
    grid = table(at, "district-grid")
    ni20 = grid[0].index(next(h for h in grid[0] if h.startswith("NI 20")))
    # High Peak's NI 20 ends above its upper limit (lower is better: a concern); the county's does not
    assert _icons("concern_high", "consistent_fail") in _cells(at, "district-grid", "High Peak")[ni20]
    assert _icons("common_cause", "inconsistent") in _cells(at, "district-grid", "Derbyshire")[ni20]
    # the icons add no text to the cells: the status, figure and significance read as before
    assert row(grid, "High Peak")[ni20] == "■ RED 7.44 ✗ worse"
    assert "SPC icons: ⊕ improvement" in text(at)
    assert ".rb-spc::before {content:attr(data-spc-icons)}" in html(at)


@on_the_sample
def test_district_page_puts_the_icons_beside_the_statuses() -> None:
    at = run(DISTRICT, area="High Peak", quarter="2010/11 Q1")
    assert _icons("concern_high", "consistent_fail") in _cells(at, "district-table", "NI 20")[1]
    assert _icons("improvement_low", "inconsistent") in _cells(at, "district-table", "NI 16")[1]
    assert "SPC icons: ⊕ improvement" in text(at)


def test_the_xmr_chart_draws_each_rebase_and_no_line_crosses_it() -> None:
    """Three points, a rebase before the third: the mean and limits break there, and a dashed line
    between the second and third points names the new period's first quarter."""
    from pipelines.present import charts

    rows = [{"quarter": q, "qi": qi, "period": p, "value": v, "mean": m, "lower_limit": m - 1, "upper_limit": m + 1,
             "point_type": "common_cause", "rule": "none"}
            for q, qi, p, v, m in (("2009/10 Q3", 8038, 0, 4.0, 4.5), ("2009/10 Q4", 8039, 0, 5.0, 4.5),
                                   ("2010/11 Q1", 8040, 1, 9.0, 9.0))]
    figure = charts.spc(rows, title="X", unit=None)
    mean = next(t for t in figure["data"] if t.get("name") == "Mean")
    assert mean["y"] == [4.5, 4.5, None, 9.0]  # a break: the line does not join the two periods
    (line,) = figure["layout"]["shapes"]
    assert (line["x0"], line["x1"], line["line"]["dash"]) == (1.5, 1.5, "dashdot")
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["Rebased from 2010/11 Q1"]
    assert "shapes" not in charts.spc(rows[:2], title="X", unit=None)["layout"]
