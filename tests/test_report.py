"""Commentary with its history, and the board pack in HTML and PDF."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from helpers import ROOT, load_sample, no_spc, pack_figures, row, table_under, without_scripts
from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.present import charts
from pipelines.report import pack
from pipelines.rules import status
from pipelines.storage import commentary, store

Q1 = 2010 * 4
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")


def test_commentary_keeps_every_version(con, catalogue) -> None:
    commentary.write(con, "NI 20", "Derbyshire", Q1, "First draft", "sam")
    commentary.write(con, "NI 20", "Derbyshire", Q1, "Night-time economy assaults rose", "jo")
    (now,) = commentary.current(con, "NI 20", "Derbyshire", Q1)
    assert (now["text"], now["author"]) == ("Night-time economy assaults rose", "jo")
    assert [(v["text"], v["author"]) for v in commentary.history(con, "NI 20", "Derbyshire", Q1)] == [
        ("Night-time economy assaults rose", "jo"), ("First draft", "sam")]
    commentary.write(con, "NI 20", "Derbyshire", Q1, "", "jo")  # withdrawn
    assert commentary.current(con, "NI 20", "Derbyshire", Q1) == []
    assert len(commentary.history(con, "NI 20", "Derbyshire", Q1)) == 3


def test_commentary_written_before_the_latest_figures_is_marked(con, catalogue) -> None:
    """Each load and each commentary is stamped with an explicit time after the real call (no
    sleeping on the clock): the order of events is the order written here."""
    clock = iter(datetime(2010, 8, 2, 9, 0) + timedelta(minutes=m) for m in range(10))

    def loaded(result: loading.LoadResult) -> None:
        con.execute("UPDATE loads SET loaded_at = ? WHERE load_id = ?", [next(clock), result.load_id])

    def written(text: str) -> None:
        commentary.write(con, "NI 20", "Derbyshire", Q1, text, "sam")
        con.execute("UPDATE commentary_versions SET written_at = ? WHERE text = ?", [next(clock), text])

    first = "indicator,area,quarter,value\nNI 20,Derbyshire,2010/11 Q1,7.19\n"
    loaded(loading.load(con, loading.read_upload(first.encode(), "a.csv", catalogue)))  # 09:00
    written("Up 2% on target")  # 09:01
    assert commentary.current(con)[0]["before_latest_figures"] is False
    revised = first.replace("7.19", "7.40")
    loaded(loading.load(con, loading.read_upload(revised.encode(), "b.csv", catalogue)))  # 09:02, load 2
    assert commentary.current(con)[0]["before_latest_figures"] is True
    # an unchanged reload does not touch the row, so the commentary stays current
    written("Up 5% on target")  # 09:03
    loaded(loading.load(con, loading.read_upload(revised.encode(), "c.csv", catalogue)))  # 09:04, nothing changed
    (now,) = commentary.current(con)
    assert (now["text"], now["before_latest_figures"]) == ("Up 5% on target", False)
    assert now["figures_changed_at"] == datetime(2010, 8, 2, 9, 2)  # load 2's time, not the reload's
    # undoing the revision puts 7.19 back: the commentary about 7.40 is now out of date
    loaded(loading.undo(con, 2))  # 09:05
    assert con.execute("SELECT value FROM observations").fetchone() == (7.19,)
    (now,) = commentary.current(con)
    assert now["before_latest_figures"] is True and now["figures_changed_at"] == datetime(2010, 8, 2, 9, 5)


def test_amber_and_red_without_commentary_are_listed(con, catalogue) -> None:
    load_sample(con, catalogue)
    rows = status.query(con, catalogue, [Q1], areas=["Derbyshire"])
    assert [r["indicator"] for r in commentary.missing(con, rows)] == [
        "NI 1", "NI 20", "NI 27", "NI 32", "NI 39", "NI 47", "NI 49"]
    commentary.write(con, "NI 39", "Derbyshire", Q1, "Projection; monitoring", "sam")
    assert "NI 39" not in [r["indicator"] for r in commentary.missing(con, rows)]


def test_actions_have_owner_due_date_and_history(con) -> None:
    action = commentary.add_action(con, "NI 20", "High Peak", Q1, "Targeted patrols in Buxton", "Insp. Ward",
                                   date(2010, 10, 31), "sam")
    commentary.update_action(con, action, "jo", done=True)
    (now,) = commentary.actions(con, "NI 20")
    assert (now["owner"], now["due"], now["done"], now["author"]) == ("Insp. Ward", date(2010, 10, 31), True, "jo")
    assert [v["done"] for v in commentary.action_history(con, action)] == [True, False]
    with pytest.raises(commentary.CommentaryError, match="needs a description and an owner"):
        commentary.add_action(con, "NI 20", "High Peak", Q1, "x", "", None, "sam")


@pytest.fixture
def pack_db(sample_db: Path) -> Path:
    with store.connect(sample_db) as con:
        commentary.write(con, "NI 20", "Derbyshire", Q1, "Assaults <script>alert(1)</script> rose 3%", "sam")
        commentary.add_action(con, "NI 20", "High Peak", Q1, "Licensed premises checks", "Insp. Ward",
                              date(2010, 9, 30), "sam")
    return sample_db


def test_html_pack_has_every_part(pack_db: Path, catalogue: config.Catalogue) -> None:
    with store.connect(pack_db) as con:
        text = pack.html(con, catalogue, Q1)
    for heading in ("County overview", "Quarterly comparison", "Numerical breakdown", "District exceptions",
                    "Indicators: trend, commentary and actions", "Method"):
        assert heading in text
    assert "Assaults &lt;script&gt;alert(1)&lt;/script&gt; rose 3%" in text  # commentary is text, never markup
    # three scripts: one that reports an error, plotly.js, embedded, and the one that draws the
    # charts; nothing fetched
    assert text.count("<script>") == 3 and "plotly.js v" in text
    own = without_scripts(text)
    assert "src=" not in own and "href=" not in own and "<script" not in own
    # every indicator's trend and XmR chart (each sample series has 2 figures or more), each with its words
    figures = pack_figures(text)
    assert len(figures) == 2 * 11 and text.count('<div class="chart"') == 22
    # each table holds its rows, each value in its own column
    overview = table_under(text, "1. County overview")
    assert overview[0] == ["Indicator", "Description", "Status", "Confidence interval", "SPC reading",
                           "Year-end outlook"]
    # NI 16 at 9.6 against a target of 11.35 after a year falling every quarter: on track, with its
    # interval and its chance of meeting the year's target
    outlook = row(overview, "NI 16")[5]
    assert outlook.startswith("✓ on track: ") and "chance of meeting 11.35" in outlook and "90% interval" in outlook
    # NI 16 falls every quarter from 2008/09 Q2 and its latest figure, 9.6, is below the lower limit
    # (mean 11.13, limits 10.2 to 12.06 from its 9 quarters): an improvement, low; the target 11.35
    # lies between the limits: hit and miss
    assert row(overview, "NI 16")[4] == ("⊕L [?] special cause: improvement (low); will meet and miss the"
                                         " target by chance")
    matrix = table_under(text, "SPC summary")
    assert row(matrix, "⊕ Improvement")[2].startswith("NI 16 ● GREEN")
    # each status with its significance beside it (symbol and word) where the figure has an interval
    assert {r[0]: r[2] for r in overview[1:]} == {
        "NI 1": "▲ AMBER", "NI 16": "● GREEN ✓ better", "NI 18": "◆ GREY ≈ similar", "NI 20": "▲ AMBER ≈ similar",
        "NI 27": "■ RED", "NI 32": "■ RED ✗ worse", "NI 39": "▲ AMBER", "NI 47": "▲ AMBER", "NI 49": "■ RED",
        "LI 1": "● GREEN", "LI 2": "● GREEN"}
    assert row(overview, "NI 20")[1] == "Assault with injury crime rate"
    assert row(overview, "NI 32")[3] == "95% CI 12.07 to 19.57, 55 of 356"
    assert row(overview, "NI 16")[3] == "95% CI 9.38 to 9.82, 7,359 ÷ 766,605 × 1,000, added up from 8 districts"
    assert row(overview, "NI 18")[3] == "CI -1.48 to 10.6" and row(overview, "NI 1")[3] == "–"
    comparison = table_under(text, "2. Quarterly comparison")
    assert comparison[0] == ["Indicator", "2009/10 Q2", "2009/10 Q3", "2009/10 Q4", "2010/11 Q1"]
    # each status with its SPC icons as of that quarter (NI 16's, worked out above, in the last column)
    assert [no_spc(c) for c in row(comparison, "NI 39")[1:]] == ["■ RED", "■ RED", "▲ AMBER", "▲ AMBER printed RED"]
    assert [no_spc(c) for c in row(comparison, "NI 49")[1:]] == ["● GREEN", "● GREEN", "● GREEN", "■ RED"]
    assert row(comparison, "NI 16")[4] == "● GREEN ⊕L [?] ✓ better"
    breakdown = table_under(text, "3. Numerical breakdown")
    assert breakdown[0] == ["Indicator", "Actual (confidence interval)", "Target", "Shortfall", "% off target",
                            "Status", "Since last quarter", "Since a year ago"]
    assert [no_spc(c) for c in row(breakdown, "NI 20 ")[1:]] == [
        "7.19 7 to 7.38", "7.07", "0.12 worse", "1.7% worse", "▲ AMBER ≈ similar", "↗ improving", "↘ worsening"]
    assert [no_spc(c) for c in row(breakdown, "NI 39 ")[1:6]] == ["1,839", "1,753", "86 worse", "4.9% worse", "▲ AMBER"]
    districts = table_under(text, "4. District exceptions")
    assert [(r[0], r[1][:5], r[2], r[3], no_spc(r[5]), r[6]) for r in districts[1:]] == [
        ("Chesterfield", "NI 16", "15.34 14.58 to 16.12", "14.2", "■ RED ✗ worse", "⚑ update due"),
        ("High Peak", "NI 20", "7.44 6.89 to 8.02", "6.2", "■ RED ✗ worse", "⚑ update due"),
        ("South Derbyshire", "NI 20", "7.71 7.16 to 8.29", "5.8", "■ RED ✗ worse", "⚑ update due"),
        ("Amber Valley", "NI 20", "7 6.54 to 7.49", "6.8", "▲ AMBER ≈ similar", "⚑ update due"),
        ("Chesterfield", "NI 20", "9.79 9.2 to 10.42", "9.6", "▲ AMBER ≈ similar", "⚑ update due")]
    # how each district compares with the county, allowing for chance: the county's 9.6 for NI 16 is
    # above High Peak's 6.98 to 8.11 (lower is better: better); its 7.19 for NI 20 inside 6.89 to 8.02
    compared = {(r[0], r[1]): r[3] for r in table_under(text, "How we compare")[1:]}
    assert compared[("NI 16", "High Peak")] == "✓ better than Derbyshire"
    assert compared[("NI 20", "High Peak")] == "≈ similar to Derbyshire"
    assert len(compared) == 16  # the 8 districts, for each of the 2 indicators measured for them
    actions = table_under(text, "NI 20: Assault with injury crime rate ▲ AMBER ≈ similar")
    assert actions[1][:4] == ["Licensed premises checks", "High Peak", "Insp. Ward", "30 Sep 2010"]


def test_exceptions_only_keeps_amber_red_and_grey(pack_db: Path, catalogue: config.Catalogue) -> None:
    with store.connect(pack_db) as con:
        ctx = pack.context(con, catalogue, Q1, exceptions_only=True)
    assert [r["indicator"] for r in ctx["overview"]] == [
        "NI 1", "NI 18", "NI 20", "NI 27", "NI 32", "NI 39", "NI 47", "NI 49"]


def test_a_quarter_without_figures_is_refused(sample_db: Path, catalogue: config.Catalogue) -> None:
    with store.connect(sample_db) as con, pytest.raises(pack.ReportError, match="no county figures for 2011/12 Q1"):
        pack.html(con, catalogue, 2011 * 4)


@needs_chromium
@needs_poppler
def test_pdf_pack_from_the_command_line(pack_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack.pdf"
    env = {**os.environ, "RAGBOARD_DB": str(pack_db), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "pipelines", "report", "--quarter", "2010/11 Q1", "--format",
                             "pdf", "--out", str(out)], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"Board pack for 2010/11 Q1 written to {out}."
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    expected = {"NI 1": "AMBER", "NI 16": "GREEN", "NI 18": "GREY", "NI 20": "AMBER", "NI 27": "RED",
                "NI 32": "RED", "NI 39": "AMBER", "NI 47": "AMBER", "NI 49": "RED", "LI 1": "GREEN",
                "LI 2": "GREEN"}
    for ind, word in expected.items():
        assert any(line.split()[:2] == ind.split() and word in line for line in text.splitlines()), ind
    assert "Assaults <script>alert(1)</script> rose 3%" in text
    assert "Derbyshire Safer Communities Board · performance report 2010/11 Q1 · Page 1 of" in text
    # Chromium drew the charts before printing: their titles, axes and legends are text in the PDF
    assert text.count("XmR chart up to 2010/11 Q1") == 11 and text.count("Upper process limit") == 11
    assert "per 1,000 population" in text and "2010/11 Q1: GREEN and improving" in text
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "595.92 x 842.88 pts (A4)" in info or "595 x 842 pts (A4)" in info
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(out), str(tmp_path / "page")],
                   check=True)
    assert (tmp_path / "page-01.png").stat().st_size > 5000


def test_pack_with_a_district_only_indicator_and_later_actions(tmp_path: Path) -> None:
    cat = config.parse({
        "county": "Shire", "districts": ["Dale", "Vale"],
        "indicators": [
            {"id": "C1", "name": "County measure", "better": "lower", "targets": {"2010/11": 10}},
            {"id": "D1", "name": "District measure", "better": "lower", "levels": ["district"],
             "targets": {"2010/11": 5}},
        ]})
    text = ("indicator,area,quarter,value\nC1,Shire,2010/11 Q1,11\nD1,Dale,2010/11 Q1,6\n"
            "D1,Vale,2010/11 Q1,4\n")
    with store.connect(tmp_path / "d.duckdb") as con:
        loading.load(con, loading.read_upload(text.encode(), "d.csv", cat))
        commentary.add_action(con, "C1", "Shire", Q1 + 1, "Raised next quarter", "Owner", None, "sam")
        commentary.add_action(con, "C1", "Shire", Q1, "Raised this quarter", "Owner", None, "sam")
        ctx = pack.context(con, cat, Q1)
        text_html = pack.html(con, cat, Q1)
    assert [r["indicator"] for r in ctx["overview"]] == ["C1"]
    assert [(r["indicator"], r["area"], r["status"]) for r in ctx["districts"]] == [("D1", "Dale", "RED")]
    assert [a["text"] for a in ctx["sections"][0]["actions"]] == ["Raised this quarter"]
    assert "Raised next quarter" not in text_html


@pytest.mark.parametrize(("name", "board"), [(None, "Shire Safer Communities Board"),
                                              ("Shire Community Safety Partnership",
                                               "Shire Community Safety Partnership")])
def test_pack_names_the_board_from_the_catalogue(tmp_path: Path, name: str | None, board: str) -> None:
    raw = {"county": "Shire", "indicators": [
        {"id": "C1", "name": "County measure", "better": "lower", "targets": {"2010/11": 10}}]}
    cat = config.parse(raw if name is None else {"name": name, **raw})
    with store.connect(tmp_path / "n.duckdb") as con:
        loading.load(con, loading.read_upload(b"indicator,area,quarter,value\nC1,Shire,2010/11 Q1,11\n", "n.csv", cat))
        text = pack.html(con, cat, Q1)
    assert f"<title>{board}: performance report 2010/11 Q1</title>" in text
    assert f'<p class="muted">{board}</p>' in text  # the cover
    assert pack.footer(cat, Q1) == f"{board} · performance report 2010/11 Q1"
    if name is not None:
        assert "Safer Communities Board" not in text


def test_pack_gives_the_reason_for_each_mismatch_in_words(pack_db: Path, catalogue: config.Catalogue) -> None:
    with store.connect(pack_db) as con:
        ctx = pack.context(con, catalogue, Q1)
        text = pack.html(con, catalogue, Q1)
    why = {(r["indicator"], r["area"], r["quarter"]): (r["status"], r["reason_code"], r["reason"])
           for r in ctx["mismatches"]}
    assert why[("NI 39", "Derbyshire", "2010/11 Q1")] == ("AMBER", "within_band", "worse than target, within the band")
    assert why[("NI 32", "Derbyshire", "2010/11 Q1")] == ("RED", "beyond_band", "worse than target, beyond the band")
    assert why[("NI 18", "Derbyshire", "2010/11 Q1")] == (
        "GREY", "not_significant", "not significant: the target is within the confidence interval")
    method = text[text.index("Where a reported status differs"):]
    assert "worse than target, within the band" in method and "within_band" not in method


def test_pack_chart_leaves_a_gap_for_a_missing_quarter(tmp_path: Path, catalogue: config.Catalogue) -> None:
    text = ("indicator,area,quarter,value\nNI 16,Derbyshire,2009/10 Q3,10\nNI 16,Derbyshire,2009/10 Q4,10.5\n"
            "NI 16,Derbyshire,2010/11 Q1,9.6\nNI 16,Derbyshire,2009/10 Q1,11\n")
    with store.connect(tmp_path / "g.duckdb") as con:
        loading.load(con, loading.read_upload(text.encode(), "g.csv", catalogue))
        rows = status.query(con, catalogue, list(range(Q1 - 4, Q1 + 1)), areas=["Derbyshire"], indicators=["NI 16"])
    figure = charts.trend(rows, title="NI 16")
    value = next(t for t in figure["data"] if t.get("name") == "Value")
    # 2009/10 Q1 stands alone (Q2 is missing: no point, a break in the line); Q3, Q4 and 2010/11 Q1 join up
    assert value["x"] == ["2009/10 Q1", "2009/10 Q2", "2009/10 Q3", "2009/10 Q4", "2010/11 Q1"]
    assert value["y"] == [11, None, 10, 10.5, 9.6]
    assert "connectgaps" not in value  # plotly's default: a gap is not bridged


@needs_chromium
def test_a_pack_whose_charts_fail_to_draw_is_refused_in_a_sentence(tmp_path: Path) -> None:
    """In a process of its own: Playwright's sync API will not run inside the browser tests' event loop."""
    page = '<html><body><p>x</p><script>document.body.dataset.drawn = "failed: Plotly is not defined";</script>'
    program = ("import sys\nfrom pipelines.report import pack\ntry:\n    pack.pdf(sys.argv[1], sys.argv[2])\n"
               "except pack.ReportError as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", program, page, str(tmp_path / "broken.pdf")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "The pack's charts could not be drawn (failed: Plotly is not defined)."
    assert not (tmp_path / "broken.pdf").exists()


def test_catalogue_text_cannot_close_the_packs_script(tmp_path: Path) -> None:
    """A hostile county or indicator name reaches the figures' JSON escaped: no '<' at all inside the
    drawing script, and the names still read as typed once the JSON is parsed."""
    evil = "Ev</script><script>alert(1)</script><!--<script>"
    cat = config.parse({"county": evil, "indicators": [{"id": "X", "name": evil, "better": "lower",
                                                         "targets": {"2010/11": 5}}]})
    rows = "indicator,area,quarter,value\n" + "".join(f'X,"{evil}",2010/11 Q{q},{q}\n' for q in (1, 2))
    with store.connect(tmp_path / "e.duckdb") as con:
        loading.load(con, loading.read_upload(rows.encode(), "e.csv", cat))
        text = pack.html(con, cat, Q1 + 1)
    drawing = text[text.index("var figures = "):]
    drawing = drawing[:drawing.index("</script>")]
    assert "<" not in drawing and text.count("<script>") == 3
    titles = [f["layout"]["title"]["text"] for f in pack_figures(text).values()]
    assert "X in Ev&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--&lt;script&gt;, by quarter" in titles
