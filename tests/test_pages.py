"""Every dashboard page through Streamlit's AppTest, over a real copy of the sample database."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from html import escape
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import ui
from helpers import (
    APP,
    DEFINITIONS,
    DISTRICT,
    INDICATOR,
    OVERVIEW,
    counts,
    html,
    live_markdown,
    markdown_texts,
    row,
    run,
    table,
    text,
)
from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.storage import store

pytestmark = pytest.mark.usefixtures("fresh")


# --- Overview -----------------------------------------------------------------------------

def test_overview_defaults_to_the_latest_quarter_and_mirrors_it_to_the_url() -> None:
    at = run()
    assert at.selectbox(key="sel_quarter").value == "2010/11 Q1"
    assert at.selectbox(key="sel_area").value == "Derbyshire"
    assert at.query_params["quarter"] == "2010/11 Q1"
    assert at.query_params["area"] == "Derbyshire"
    assert counts(at) == {"GREEN": 3, "AMBER": 4, "RED": 3, "GREY": 1, "NA": 0}


def test_overview_status_grid_covers_the_last_four_quarters_and_calls_out_movements() -> None:
    at = run()
    grid = table(at, "status-grid")
    assert grid[0] == ["Indicator", "2009/10 Q2", "2009/10 Q3", "2009/10 Q4", "2010/11 Q1",
                       "Since last quarter"]
    ni49 = row(grid, "NI 49")
    assert ni49[3] == "● GREEN 41.9" and ni49[4] == "■ RED 45" and ni49[5] == "● GREEN → ■ RED"
    assert row(grid, "NI 27")[1:5] == ["■ RED 20%"] * 4
    assert "NI 49 moved ● GREEN → ■ RED" in text(at)
    assert "LI 2 moved ▲ AMBER → ● GREEN" in text(at)


def test_overview_numerical_breakdown_shows_the_arithmetic() -> None:
    at = run()
    rows = table(at, "breakdown")
    ni20 = row(rows, "NI 20")  # added up from the districts' counts, with its interval under it
    assert ni20[1:6] == ["7.19 7 to 7.38", "7.07", "0.12 worse", "1.7% worse", "▲ AMBER ≈ similar"]
    assert ni20[6:8] == ["↗ improving", "↘ worsening"]
    ni18 = row(rows, "NI 18")  # the interval supplied with the figure
    assert ni18[1] == "4.56 -1.48 to 10.6" and ni18[5] == "◆ GREY ≈ similar" and ni18[8] == "▲ AMBER"
    assert row(rows, "NI 1")[1:2] == ["74.1%"] and row(rows, "NI 1")[5] == "▲ AMBER"  # no interval, no comparison
    assert "Note: 55 repeat referrals of 356" in row(rows, "NI 32")[0]


def test_overview_districts_grid_and_links_carry_the_quarter() -> None:
    at = run()
    grid = table(at, "district-grid")
    assert grid[0][1].startswith("NI 16") and grid[0][2].startswith("NI 20")
    assert row(grid, "High Peak")[2] == "■ RED 7.44 ✗ worse"
    assert row(grid, "Chesterfield")[1:] == ["■ RED 15.34 ✗ worse", "▲ AMBER 9.79 ≈ similar"]
    links = {link.proto.label: link for link in at.get("page_link") if link.proto.page.endswith("district")}
    assert list(links) == ["Chesterfield: 1 RED, 1 AMBER", "High Peak: 1 RED, 0 AMBER",
                           "South Derbyshire: 1 RED, 0 AMBER", "Amber Valley: 0 RED, 1 AMBER"]
    target = links["High Peak: 1 RED, 0 AMBER"].proto
    assert target.page.endswith("district")
    assert "area=High+Peak" in target.query_string and "quarter=2010%2F11+Q1" in target.query_string


def test_overview_lists_reported_statuses_that_differ_from_the_computed_ones() -> None:
    at = run()
    rows = table(at, "mismatches")[1:]
    assert [r[0].split()[0] + " " + r[0].split()[1] for r in rows] == ["NI 18", "NI 32", "NI 39"]
    ni39 = row(rows, "NI 39")
    assert ni39[1:4] == ["Derbyshire", "■ RED", "▲ AMBER"]
    assert "86 worse, 4.9% of the target, within the 5% band → AMBER" in ni39[4]


def test_quarter_from_the_url_and_from_the_widget() -> None:
    at = run(quarter="2009/10 Q4")
    assert at.selectbox(key="sel_quarter").value == "2009/10 Q4"
    assert table(at, "status-grid")[0][4] == "2009/10 Q4"
    at.selectbox(key="sel_quarter").set_value("2008/09 Q4").run()
    assert at.query_params["quarter"] == "2008/09 Q4"
    assert "2008/09 Q4: county indicators at a glance" in text(at)
    # the quarter's last day is accepted in a link too
    at = run(quarter="2009-12-31")
    assert at.selectbox(key="sel_quarter").value == "2009/10 Q3"


def test_a_quarter_or_area_not_on_offer_says_what_is_shown_instead() -> None:
    at = run(quarter="2030/31 Q1", area="Atlantis")
    notes = [i.value for i in at.info]
    assert "There is no quarter with figures `2030/31 Q1` to show; showing 2010/11 Q1 instead." in notes
    # the label shown instead comes from the catalogue, so it is escaped: text, never Markdown
    assert "There is no area `Atlantis` to show; showing Derbyshire \\(county\\) instead." in notes
    assert at.query_params["quarter"] == "2010/11 Q1"


PHISH = "[Session expired: sign in again](https://evil.example/login)"


@pytest.mark.parametrize("page,param", [(OVERVIEW, "area"), (OVERVIEW, "quarter"), (INDICATOR, "indicator")])
def test_a_link_in_the_url_is_shown_as_text_never_as_a_link(page: str, param: str) -> None:
    at = run(page, **{param: PHISH + "\n\n![px](http://evil.example/p.png) `x` <b>y</b>"})
    notes = [i.value for i in at.info if "There is no" in i.value]
    assert len(notes) == 1, [i.value for i in at.info]
    # In code formatting, backticks and line breaks gone: nothing in it is a link or an image.
    assert notes[0].startswith(f"There is no {param if param != 'quarter' else 'quarter with figures'} `{PHISH}")
    assert notes[0].count("`") == 2 and "\n" not in notes[0]
    assert not live_markdown(at)


def test_the_first_quarter_loaded_has_no_movements_to_call_out() -> None:
    at = run(quarter="2008/09 Q1")
    assert "No county indicator changed status since 2007/08 Q4." in text(at)
    assert row(table(at, "status-grid"), "NI 1")[1:4] == ["○ NA no data"] * 3


# --- District -----------------------------------------------------------------------------

def test_district_lists_red_before_amber_with_the_county_beside_each() -> None:
    at = run(DISTRICT, area="Chesterfield", quarter="2010/11 Q1")
    rows = table(at, "district-table")[1:]
    assert [(r[0][:5].strip(), r[1].split(" ⚑")[0]) for r in rows] == [("NI 16", "■ RED ✗ worse"),
                                                                      ("NI 20", "▲ AMBER ≈ similar")]
    assert [r[2] for r in rows] == ["15.34 14.58 to 16.12", "9.79 9.2 to 10.42"]  # each with its interval
    # the county's 9.6 and 7.19 lie below Chesterfield's intervals, and lower is better: worse than it
    assert [r[5] for r in rows] == ["9.6 ● GREEN Chesterfield: ✗ worse than Derbyshire",
                                    "7.19 ▲ AMBER Chesterfield: ✗ worse than Derbyshire"]
    assert all(r[1].endswith("⚑ Update due to the tasking group") for r in rows)
    assert "2 indicators AMBER or RED: an update is due to the tasking group (1 RED, 1 AMBER)" in text(at)


def test_district_high_peak_from_the_url() -> None:
    at = run(DISTRICT, area="High Peak", quarter="2010/11 Q1")
    assert at.selectbox(key="sel_area").value == "High Peak"
    rows = table(at, "district-table")[1:]
    assert rows[0][0].startswith("NI 20") and rows[0][1] == "■ RED ✗ worse ⚑ Update due to the tasking group"
    assert rows[0][2:5] == ["7.44 6.89 to 8.02", "6.2", "20.0% worse"]
    assert rows[0][6] == "↘ worsening"
    assert "beyond the 5% band → RED" in rows[0][7]
    assert rows[1][0].startswith("NI 16") and rows[1][1] == "● GREEN ✓ better"
    assert 'src="data:image/svg+xml;base64,' in html(at)  # the sparkline
    link = at.get("page_link")[0].proto
    assert link.label == ui.md_text("NI 20 (RED)") and "indicator=NI+20" in link.query_string


def test_district_page_for_the_county_offers_the_districts() -> None:
    at = run(DISTRICT)
    labels = [link.proto.label for link in at.get("page_link")]
    assert labels == list(config.load().districts)


def test_district_changes_with_the_quarter_widget() -> None:
    at = run(DISTRICT, area="Erewash", quarter="2010/11 Q1")
    assert "No AMBER or RED indicators for Erewash in 2010/11 Q1: no update is due." in text(at)
    statuses = {r[0][:5].strip(): r[1].split(" ⚑")[0].split(" ")[1] for r in table(at, "district-table")[1:]}
    at.selectbox(key="sel_quarter").set_value("2009/10 Q4").run()
    assert at.query_params["quarter"] == "2009/10 Q4"
    assert "Erewash: district view" in text(at) and "2009/10 Q4" in text(at)
    before = {r[0][:5].strip(): r[1].split(" ⚑")[0].split(" ")[1] for r in table(at, "district-table")[1:]}
    assert statuses["NI 20"] == "GREEN" and before["NI 20"] == "AMBER"


# --- Indicator ----------------------------------------------------------------------------

def test_indicator_explains_the_status_and_draws_the_trend() -> None:
    at = run(INDICATOR, indicator="NI 20", quarter="2010/11 Q1")
    assert ("7.19 per 1,000 population (95% CI 7 to 7.38, 5,512 ÷ 766,605 × 1,000, added up from 8 districts):"
            " similar to the target of 7.07, lower is better: 0.12 worse, 1.7% of the target, within the 5% band"
            " → AMBER") in text(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["yaxis"]["title"]["text"] == "per 1,000 population"
    assert spec["layout"]["xaxis"]["title"]["text"] == "Quarter (financial year)"
    traces = {t.get("name"): t for t in spec["data"]}
    assert traces["AMBER"]["marker"]["symbol"] == "triangle-up"
    assert traces["GREEN"]["marker"]["symbol"] == "circle"
    assert traces["AMBER"]["x"][-1] == "2010/11 Q1"
    target = next(t for t in spec["data"] if str(t.get("name", "")).startswith("Target"))
    assert target["fill"] == "tonexty" and target["y"][-1] == 7.07
    assert len(target["x"]) == 9  # every sample quarter


def test_indicator_compares_the_districts() -> None:
    at = run(INDICATOR, indicator="NI 20", quarter="2010/11 Q1")
    rows = table(at, "compare")[1:]
    assert rows[0][:2] == ["Derbyshire (county)", "▲ AMBER"]
    assert [r[0] for r in rows[1:3]] == ["High Peak", "South Derbyshire"]
    assert rows[0][:1] + rows[0][3:5] == ["Derbyshire (county)", "7.19", "7 to 7.38"]
    assert row(rows, "South Derbyshire")[1:7] == ["■ RED", "✗ significantly worse", "7.71", "7.16 to 8.29", "5.8",
                                                  "32.9% worse"]
    targets = table(at, "targets")
    assert targets[0] == ["Targets by financial year", "2008/09", "2009/10", "2010/11"]
    assert row(targets, "High Peak") == ["High Peak", "6.5", "6.3", "6.2"]


def test_indicator_for_a_district_uses_its_own_target() -> None:
    at = run(INDICATOR, indicator="NI 20", area="High Peak")
    assert ("7.44 per 1,000 population (95% CI 6.89 to 8.02, 683 ÷ 91,804 × 1,000): significantly worse than the"
            " target of 6.2, lower is better: 1.24 worse, 20.0% of the target") in text(at)


def test_indicator_widget_updates_the_url_and_mismatch_is_flagged() -> None:
    at = run(INDICATOR, quarter="2010/11 Q1")
    at.selectbox(key="sel_indicator").set_value("NI 39").run()
    assert at.query_params["indicator"] == "NI 39"
    assert "1,839 against a target of 1,753" in text(at)
    assert "Reported as ■ RED , but the board's rule gives ▲ AMBER" in text(at)


def test_county_only_indicator_with_a_district_selected_shows_the_county() -> None:
    at = run(INDICATOR, indicator="NI 49", area="High Peak")
    assert "NI 49 is measured for the county only, so Derbyshire is shown rather than High Peak." in text(at)
    assert "45 against a target of 42.7" in text(at)


# --- Definitions --------------------------------------------------------------------------

def test_definitions_lists_every_indicator_and_the_rule() -> None:
    at = run(DEFINITIONS)
    rows = table(at, "definitions")[1:]
    assert [r[0] for r in rows] == [i.id for i in config.load().indicators]
    ni18 = row(rows, "NI 18")
    assert ni18[3] == "lower is better" and ni18[4] == "as given"
    assert ni18[6] == "5 (in % above the predicted rate)" and ni18[7] == "yes"
    assert row(rows, "NI 16")[4] == "rate: events ÷ population × 1,000, 95% CI; the county added up from its districts"
    assert row(rows, "NI 16")[8] == "2008/09: 12.1 2009/10: 11.7 2010/11: 11.35 (8 areas have their own)"
    assert "worse than target, by no more than the amber band (5% of the target" in text(at)


# --- Data versions, empty and busy databases ----------------------------------------------

def test_a_new_load_shows_at_once(tmp_path: Path, fresh: Path) -> None:
    at = run(DISTRICT, area="High Peak", quarter="2010/11 Q1")
    assert table(at, "district-table")[1][1].startswith("■ RED ✗ worse ⚑")
    csv = tmp_path / "revise.csv"
    csv.write_text("indicator,area,quarter,value,lower,upper,numerator,denominator,reported_status,note\n"
                   "NI 20,High Peak,2010/11 Q1,6.1,,,,,,<b>revised</b> & checked\n")
    cat = config.load()
    with store.connect(fresh) as con:
        loading.load(con, loading.read_file(csv, cat), analyst="test")
    at.run()
    rows = table(at, "district-table")[1:]
    assert row(rows, "NI 20")[1] == "● GREEN"
    assert row(rows, "NI 20")[0].endswith("Note: <b>revised</b> & checked")
    assert "&lt;b&gt;revised&lt;/b&gt; &amp; checked" in html(at)  # notes are escaped


def test_an_empty_database_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    with store.connect(path):
        pass
    monkeypatch.setenv("RAGBOARD_DB", str(path))
    for page in (OVERVIEW, DISTRICT, INDICATOR):
        at = run(page, area="High Peak")
        assert "No figures are loaded yet" in text(at), page


def test_a_missing_database_is_created_from_the_sample(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "new" / "ragboard.duckdb"
    monkeypatch.setenv("RAGBOARD_DB", str(path))
    at = run()
    assert "There was no database ragboard.duckdb, so it was created from the sample figures" in text(at)
    assert str(tmp_path) not in text(at)  # no server path on a page
    assert counts(at)["RED"] == 3 and path.exists()


def test_a_busy_database_is_a_sentence_not_a_traceback(monkeypatch: pytest.MonkeyPatch, fresh: Path) -> None:
    from dashboard import data, ui

    monkeypatch.setattr(data, "READ_WAIT", 0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
         " print('held', flush=True); time.sleep(30)", str(fresh)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        at = AppTest.from_file(APP, default_timeout=30).run()
        assert not at.exception
        assert [e.value for e in at.error] == [ui.md_text(
            f"The database {fresh.name} is busy: another program is writing to it. Try again in a moment.")]
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)


# --- Text from files and analysts is never Markdown ---------------------------------------

NOTE = "see [the portal](https://evil.example/portal) ![px](http://evil.example/p.png) <img src=x> **bold**"


def test_notes_and_commentary_with_markdown_and_html_show_as_text(tmp_path: Path, fresh: Path) -> None:
    from pipelines.storage import commentary

    csv = tmp_path / "note.csv"
    csv.write_text("indicator,area,quarter,value,reported_status,note\n"
                   f'NI 20,High Peak,2010/11 Q1,7.44,,"{NOTE}"\n')
    with store.connect(fresh) as con:
        loading.load(con, loading.read_file(csv, config.load()), analyst="test")
        commentary.write(con, "NI 20", "High Peak", 8040, f"Commentary {NOTE}\n\n# heading", "Sam Analyst")
        commentary.add_action(con, "NI 20", "High Peak", 8040, f"Action {NOTE}", "[owner](https://evil.example/o)",
                              None, "Sam Analyst")
    for page in (INDICATOR, DISTRICT, OVERVIEW):
        at = run(page, indicator="NI 20", area="High Peak", quarter="2010/11 Q1")
        assert not live_markdown(at), page
        assert "<img src=x>" not in html(at) and "https://evil.example" not in " ".join(markdown_texts(at))
        assert page == OVERVIEW or "&lt;img src=x&gt;" in html(at), page
    at = run(INDICATOR, indicator="NI 20", area="High Peak", quarter="2010/11 Q1")
    assert f"Note with the figure: {escape(NOTE)}" in html(at)  # the same words, as text
    assert f"Commentary {escape(NOTE)}" in html(at)
    assert table(at, "actions-indicator")[1][:2] == [f"Action {NOTE}", "[owner](https://evil.example/o)"]


def test_markdown_escaping_keeps_the_words() -> None:
    from dashboard import ui

    assert ui.md_text("a_b *c* [d](http://e.example) 1. x") == (
        "a\\_b \\*c\\* \\[d\\]\\(http:\u2060//e.example\\) 1. x")
    assert ui.md_text("1. first\n\n- second") == "1\\. first - second"
    assert ui.md_text("mail a@b.example or www.b.example") == "mail a@\u2060b.example or www\u2060.b.example"
    assert ui.code("a `b`\n\n# c") == "`a b # c`" and ui.code("") == "(nothing)"
    assert ui.code("x" * 200) == "`" + "x" * 79 + "…`"


# --- District-only indicators and gaps in the trend ----------------------------------------

DISTRICT_ONLY_YAML = """
county: Shire
districts: [East, West]
amber_tolerance: 5%
indicators:
  - id: C 1
    name: County and districts
    unit: "%"
    better: higher
    levels: [county, district]
    targets: {2010/11: 50}
  - id: D 1
    name: Districts only
    unit: "%"
    better: higher
    levels: [district]
    targets: {2010/11: 50}
  - id: C 2
    name: Also county and districts
    unit: "%"
    better: lower
    levels: [county, district]
    targets: {2010/11: 10}
"""


@pytest.fixture
def shire(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A small catalogue with a district-only indicator between two county ones, and a database
    with 2010/11 Q1 and Q3 loaded (Q2 missing)."""
    yaml = tmp_path / "shire.yaml"
    yaml.write_text(DISTRICT_ONLY_YAML)
    monkeypatch.setenv("RAGBOARD_CONFIG", str(yaml))
    db = tmp_path / "shire.duckdb"
    monkeypatch.setenv("RAGBOARD_DB", str(db))
    cat = config.load(yaml)
    csv = ("indicator,area,quarter,value\n"
           "C 1,Shire,2010/11 Q1,60\nC 1,East,2010/11 Q1,49\nC 1,West,2010/11 Q1,40\n"
           "D 1,East,2010/11 Q1,55\nD 1,West,2010/11 Q1,30\n"
           "C 2,Shire,2010/11 Q1,9\nC 2,East,2010/11 Q1,12\nC 2,West,2010/11 Q1,8\n"
           "C 1,Shire,2010/11 Q3,61\nD 1,East,2010/11 Q3,56\nC 2,Shire,2010/11 Q3,10.2\n")
    upload = loading.read_upload(csv.encode(), "shire.csv", cat)
    assert upload.ok, upload.checked.problems
    with store.connect(db) as con:
        loading.load(con, upload, analyst="test")
    return db


def test_overview_with_a_district_only_indicator_keeps_every_cell_under_its_heading(shire: Path) -> None:
    at = run(quarter="2010/11 Q1")
    grid = table(at, "district-grid")
    assert [h.split(" (")[0] for h in grid[0]] == ["District", "C 1 County and districts", "D 1 Districts only",
                                                  "C 2 Also county and districts"]
    assert all(len(r) == 4 for r in grid)
    county = row(grid, "Shire")
    assert county[1].startswith("● GREEN 60") and county[2] == "not measured for the county"
    assert county[3].startswith("● GREEN 9")
    assert row(grid, "West")[1:] == ["■ RED 40%", "■ RED 30%", "● GREEN 8%"]
    # the county sections count and list the county's own indicators only
    assert counts(at) == {"GREEN": 2, "AMBER": 0, "RED": 0, "GREY": 0, "NA": 0}
    assert [r[0].split()[0] + " " + r[0].split()[1] for r in table(at, "status-grid")[1:]] == ["C 1", "C 2"]
    assert [r[0][:3] for r in table(at, "breakdown")[1:]] == ["C 1", "C 2"]


def test_indicator_page_for_a_district_only_indicator_with_the_county_selected(shire: Path) -> None:
    at = run(INDICATOR, indicator="D 1", quarter="2010/11 Q1")
    assert not at.exception
    assert "D 1 is measured for the districts only, not for Shire as a whole" in text(at)
    assert [r[0] for r in table(at, "compare")[1:]] == ["West", "East"]
    at = run(INDICATOR, indicator="D 1", area="East", quarter="2010/11 Q1")
    assert "55 against a target of 50" in text(at)


def test_the_trend_shows_a_missing_quarter_as_a_gap(shire: Path) -> None:
    at = run(INDICATOR, indicator="C 1", quarter="2010/11 Q3")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["xaxis"]["categoryarray"] == ["2010/11 Q1", "2010/11 Q2", "2010/11 Q3"]
    value = next(t for t in spec["data"] if t.get("name") == "Value")
    assert value["x"] == ["2010/11 Q1", "2010/11 Q2", "2010/11 Q3"] and value["y"] == [60, None, 61]
    assert not value.get("connectgaps")
    markers = [x for t in spec["data"] if t.get("mode") == "markers" for x in t["x"]]
    assert sorted(markers) == ["2010/11 Q1", "2010/11 Q3"]  # no point where there is no figure


def test_overview_title_names_the_board_after_the_county_by_default() -> None:
    assert [t.value for t in run().title] == ["Derbyshire Safer Communities Board: overview"]


def test_overview_title_is_the_board_name_from_the_catalogue(shire: Path, tmp_path: Path) -> None:
    (tmp_path / "shire.yaml").write_text("name: Shire Community Safety Partnership\n" + DISTRICT_ONLY_YAML)
    at = run(quarter="2010/11 Q1")
    assert [t.value for t in at.title] == ["Shire Community Safety Partnership: overview"]
    assert "Safer Communities Board" not in text(at)


def test_a_quarter_with_no_row_is_told_apart_by_its_reason_code(shire: Path) -> None:
    """2010/11 Q4 holds one district figure only: every county row and every West row has the
    reason code no_data, and each page says so rather than showing empty statuses."""
    cat = config.load(Path(str(shire).replace(".duckdb", ".yaml")))
    upload = loading.read_upload(b"indicator,area,quarter,value\nD 1,East,2010/11 Q4,56\n", "q4.csv", cat)
    with store.connect(shire) as con:
        loading.load(con, upload, analyst="test")
    overview = text(run(quarter="2010/11 Q4"))
    assert "There are no county figures for 2010/11 Q4. Choose another quarter" in overview
    assert "There are no county figures for 2010/11 Q4, so there is no board pack to make." in overview
    assert "There are no figures for West in 2010/11 Q4" in text(run(DISTRICT, quarter="2010/11 Q4", area="West"))
    indicator = text(run(INDICATOR, quarter="2010/11 Q4", indicator="C 1"))
    assert "There is no figure for C 1 in Shire for 2010/11 Q4" in indicator
    # East has a figure for D 1: its district page shows it
    assert "There are no figures for East" not in text(run(DISTRICT, quarter="2010/11 Q4", area="East"))


def test_na_markers_have_a_dark_outline_on_the_white_plot() -> None:
    from dashboard import charts

    base = {"indicator": "X", "name": "x", "area": "A", "unit": "", "better": "lower", "target": None,
            "band_width": None, "band_kind": "percent", "band": 5.0, "status": "NA", "reason_code": "no_target",
            "shortfall": None, "percent_off": None, "note": None}
    rows = [{**base, "qi": 8040 + i, "quarter": f"2010/11 Q{i + 1}", "value": 1.0 + i} for i in (0, 2)]
    fig = charts.trend(rows, title="t")
    na = next(t for t in fig.data if t.name == "NA")
    assert na.marker.symbol == "circle" and na.marker.color == "#FFFFFF" and na.marker.line.color == "#111"
    assert list(fig.layout.xaxis.categoryarray) == ["2010/11 Q1", "2010/11 Q2", "2010/11 Q3"]


def test_the_trend_chart_has_its_text_alternative() -> None:
    at = run(INDICATOR, indicator="NI 16", area="Derbyshire", quarter="2010/11 Q1")
    said = html(at)
    # each quarter's figure and status, as the chart draws them (the county's, added up from its districts)
    assert 'data-testid="trend-words"' in said
    assert "Value by quarter against the target: 2008/09 Q1 " in said and "2010/11 Q1 9.6 GREEN." in said
