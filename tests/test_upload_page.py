"""The Upload page and commentary through AppTest: sign-in, problems, preview, commit, undo."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import ui
from helpers import (
    INDICATOR,
    OVERVIEW,
    PASSWORD,
    REVISION,
    UPLOAD,
    deferred_downloads,
    download,
    live_markdown,
    no_spc,
    run,
    sign_in,
    table,
    table_under,
    text,
    upload,
)
from pipelines.ingest import loading
from pipelines.storage import analysts, commentary, store

pytestmark = pytest.mark.usefixtures("fresh", "accounts")


def test_sign_in_wrong_then_right(sample_db: Path) -> None:
    at = run(UPLOAD)
    at = sign_in(at, "not the password")
    assert "That name and password do not match an analyst account." in [e.value for e in at.error]
    at = sign_in(at, PASSWORD)
    assert any("Signed in as **Sam Analyst**" in s.value for s in at.success)


def test_removing_an_analyst_signs_their_sessions_out(sample_db: Path, accounts: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    assert any("Signed in as" in s.value for s in at.success)
    analysts.remove("Sam Analyst", accounts)
    at.run()
    assert not any("Signed in as" in s.value for s in at.success)
    assert [b for b in at.button if b.label == "Sign in"]


def test_a_file_with_problems_lists_them_and_cannot_be_committed(sample_db: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    bad = b"indicator,area,quarter,value\nNI 20,Hgh Peak,2010/11 Q1,abc\nNI 99,Erewash,2010/11 Q5,1\n"
    at = upload(at, "bad.csv", bad)
    assert "`bad.csv` has 4 problems, so nothing can be loaded." in text(at)
    problems = table(at, "problems")
    assert problems[1] == ["2", "area", "Hgh Peak", "unknown area 'Hgh Peak'", "did you mean 'High Peak'?"]
    assert problems[2][:4] == ["2", "value", "abc", "'abc' is not a number"]
    assert [p[1] for p in problems[3:]] == ["indicator", "quarter"]
    assert not [b for b in at.button if b.label.startswith("Commit")]


def test_preview_commit_and_undo(sample_db: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    at = upload(at, "revision.csv", REVISION)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"New rows": "1", "Revised rows": "1", "Unchanged rows": "1", "Status changes": "2"}
    assert table(at, "status-changes")[1:] == [["NI 16", "Derbyshire", "2010/11 Q2", "○ NA → ● GREEN"],
                                               ["NI 20", "Chesterfield", "2010/11 Q1", "▲ AMBER → ■ RED"]]
    assert table(at, "revisions")[1] == ["NI 20", "Chesterfield", "2010/11 Q1", "995 counted", "1,057 counted",
                                         "corrected extract"]
    with store.connect(sample_db) as con:  # the preview wrote nothing
        assert con.execute("SELECT numerator FROM observations WHERE area='Chesterfield' AND indicator='NI 20'"
                           " AND qi = 8040").fetchone() == (995,)
    next(b for b in at.button if b.label == "Commit `revision.csv`").click()
    at = at.run()
    assert ("Committed `revision.csv` as load 11: 1 row added, 1 revised, 1 unchanged. Every page now shows it."
            in [s.value for s in at.success])
    loads = table(at, "loads")
    assert loads[1][0] == "11" and loads[1][2:4] == ["Sam Analyst", "revision.csv"] and loads[1][-1] == "applied"
    # every page shows the new figures at once
    at.switch_page(INDICATOR).run()
    at.query_params["area"] = "Chesterfield"
    at.query_params["indicator"] = "NI 20"
    at.run()
    # 1,057 assaults in 101,586 people: 10.40 per 1,000 against Chesterfield's target of 9.6
    assert "10.4 per 1,000 population (95% CI" in text(at) and "the target of 9.6" in text(at)
    at.switch_page(UPLOAD).run()
    at.selectbox(key="undo_choice").select(11)
    next(b for b in at.button if b.label == "Undo load 11").click()
    at = at.run()
    assert "Load 11 undone (recorded as load 12); 1 earlier value restored." in [s.value for s in at.success]
    with store.connect(sample_db) as con:
        assert con.execute("SELECT numerator FROM observations WHERE area='Chesterfield' AND indicator='NI 20'"
                           " AND qi = 8040").fetchone() == (995,)
        assert loading.loads(con)[0]["kind"] == "undo"


def test_nothing_is_read_from_a_file_before_its_sender_signs_in(sample_db: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    reads = []
    real_read = loading.read_upload
    monkeypatch.setattr(loading, "read_upload", lambda *a, **k: reads.append(a[1]) or real_read(*a, **k))
    at = run(UPLOAD)
    assert not at.get("file_uploader")  # no uploader is offered, so no file can be sent
    assert ("Sign in above to upload a file. Files are read and checked only for signed-in analysts."
            in [i.value for i in at.info])
    assert not [b for b in at.button if b.label.startswith(("Commit", "Undo"))] and not reads
    at = sign_in(at, PASSWORD)
    at = upload(at, "bad.csv", b"indicator,area,quarter,value\nNI 20,Hgh Peak,2010/11 Q1,1\n")
    assert table(at, "problems")[1][2] == "Hgh Peak" and reads == ["bad.csv"]
    at = upload(at, "revision.csv", REVISION)
    assert {m.label: m.value for m in at.metric}["New rows"] == "1"
    # signing out takes the uploader away again
    next(b for b in at.button if b.label == "Sign out").click()
    at = at.run()
    assert not at.get("file_uploader") and not at.metric


def test_a_commit_applies_only_the_preview_the_analyst_saw(sample_db: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    at = upload(at, "revision.csv", REVISION)
    assert {m.label: m.value for m in at.metric}["Revised rows"] == "1"
    # Another analyst's load lands between the preview and the click.
    from pipelines.catalogue import config
    other = loading.read_upload(b"indicator,area,quarter,value\nNI 20,Chesterfield,2010/11 Q1,12.5\n",
                               "other.csv", config.load())
    with store.connect(sample_db) as con:
        assert loading.load(con, other, analyst="Someone Else").load_id == 11
    next(b for b in at.button if b.label == "Commit `revision.csv`").click()
    at = at.run()
    assert ("The figures changed since your preview (load 11 was committed meanwhile); nothing was loaded."
            " Check the new preview, then commit again.") in [e.value.replace("\\", "") for e in at.error]
    # the fresh preview is shown: the revision is now against the other load's value
    assert table(at, "revisions")[1][3:5] == ["12.5", "1,057 counted"]
    with store.connect(sample_db) as con:
        newest = loading.loads(con)[0]  # only the other load went in
        assert (newest["load_id"], newest["file_name"]) == (11, "other.csv")
        assert con.execute("SELECT value FROM observations WHERE area='Chesterfield' AND indicator='NI 20'"
                           " AND qi = 8040").fetchone() == (12.5,)
    # committing again, having seen the new preview, goes ahead
    next(b for b in at.button if b.label == "Commit `revision.csv`").click()
    at = at.run()
    assert any(s.value.startswith("Committed `revision.csv` as load 12") for s in at.success)


def add_analyst(at: AppTest, name: str, password: str) -> None:
    next(t for t in at.text_input if t.label == "New analyst's name").input(name)
    next(t for t in at.text_input if t.label.startswith("Their password")).input(password)
    next(b for b in at.button if b.label == "Add analyst").click()


def test_adding_an_analyst_never_replaces_an_existing_password(sample_db: Path, accounts: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    add_analyst(at, "Sam Analyst", "a new password of mine")
    at = at.run()
    assert "There is already an analyst called 'Sam Analyst'; choose another name." in [e.value for e in at.error]
    assert analysts.sign_in("Sam Analyst", PASSWORD, analysts.Throttle(), accounts) == "Sam Analyst"
    with pytest.raises(analysts.AccountError):
        analysts.sign_in("Sam Analyst", "a new password of mine", analysts.Throttle(), accounts)
    add_analyst(at, "Robin Newcomer", "another long passphrase")
    at = at.run()
    assert "Robin Newcomer can now sign in." in [s.value for s in at.success]


def test_a_file_name_with_markdown_is_shown_as_text(sample_db: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    name = "[Sign in here](https://evil.example) ![px](http://evil.example/p.png).csv"
    at = upload(at, name, REVISION)
    assert f"Commit `{name}`" in [b.label for b in at.button]
    assert not live_markdown(at)
    at = upload(at, name, b"indicator,area,quarter,value\nNI 20,Hgh Peak,2010/11 Q1,1\n")
    assert f"`{name}` has 1 problem, so nothing can be loaded." in text(at)
    assert not live_markdown(at)


def test_database_errors_in_commentary_and_loads_are_sentences(sample_db: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """An I/O error is the store's failure, so a sentence (a fault in a query raises instead:
    tests/test_storage.py)."""
    import duckdb

    def broken(*args: object, **kwargs: object) -> None:
        raise duckdb.IOException("IO Error: disk gone")

    monkeypatch.setattr(commentary, "current", broken)
    monkeypatch.setattr(loading, "loads", broken)
    sentence = ui.error_text("The database could not be read (disk gone). Check the file and its permissions,"
                             " then try again.")
    at = run(INDICATOR, indicator="NI 39")
    assert not at.exception
    assert sentence in [e.value for e in at.error]
    at = run(UPLOAD)
    assert not at.exception
    assert sentence in [e.value for e in at.error]


def test_analyst_writes_commentary_and_the_overview_stops_listing_it(sample_db: Path) -> None:
    at = run(OVERVIEW)
    missing = [link.proto.label for link in at.get("page_link") if "commentary missing" in link.proto.label]
    assert ui.md_text("NI 39 (AMBER): commentary missing") in missing
    at = run(UPLOAD)
    at = sign_in(at, PASSWORD)
    at.switch_page(INDICATOR)
    at.query_params["indicator"] = "NI 39"
    at.run()
    at.text_area[0].input("Projection from quarterly data; <b>monitoring</b> the rise.")
    next(b for b in at.button if b.label == "Save commentary").click()
    at = at.run()
    assert "Projection from quarterly data; &lt;b&gt;monitoring&lt;/b&gt; the rise." in "".join(
        h.proto.body for h in at.get("html"))
    with store.connect(sample_db) as con:
        (note,) = commentary.current(con, "NI 39", "Derbyshire", 8040)
    assert note["author"] == "Sam Analyst"
    at.switch_page(OVERVIEW).run()
    missing = [link.proto.label for link in at.get("page_link") if "commentary missing" in link.proto.label]
    assert ui.md_text("NI 39 (AMBER): commentary missing") not in missing and len(missing) == 6


def test_overview_offers_the_board_pack(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pack is made when the button is pressed (a deferred download): run the button's own
    callable, as Streamlit runs it on a click, and read the file it returns."""
    with deferred_downloads(monkeypatch) as made:
        at = run(OVERVIEW, quarter="2009/10 Q4")
        labels = [b.proto.label for b in at.get("download_button")]
        assert "Download the pack (HTML)" in labels
        pack = download(at, made, "Download the pack (HTML)")
        assert (pack.file_name, pack.mimetype) == ("board-pack-2009-10-Q4.html", "text/html")
        html = pack.data.decode("utf-8")
        assert "<title>Derbyshire Safer Communities Board: performance report 2009/10 Q4</title>" in html
        overview = table_under(html, "1. County overview")
        assert overview[0] == ["Indicator", "Description", "Status", "Confidence interval", "SPC reading",
                               "Year-end outlook"]
        assert len(overview) == 12
        # significance beside the status where there are counts: NI 16 and NI 20 are added up from the districts
        assert [r[2] for r in overview if r[0] in ("NI 16", "NI 20", "NI 39")] == [
            "● GREEN ✓ better", "▲ AMBER ≈ similar", "▲ AMBER"]
        breakdown = table_under(html, "3. Numerical breakdown")
        # NI 20 Derbyshire 2009/10 Q4: 7.38 against 7.20, lower is better: 0.18 worse, 2.5% → AMBER (band 5%)
        ni20 = [r for r in breakdown if r[0].startswith("NI 20 ")]
        assert [[*r[1:5], no_spc(r[5])] for r in ni20] == [["7.38 7.19 to 7.58", "7.2", "0.18 worse", "2.5% worse",
                                                            "▲ AMBER ≈ similar"]]

        # the toggle reaches the callable: exceptions only leaves out the GREEN indicators
        at.toggle(key="pack_exceptions").set_value(True).run()
        exceptions = table_under(download(at, made, "Download the pack (HTML)").data.decode("utf-8"),
                                 "1. County overview")
    assert [r[0] for r in exceptions[1:]] == [r[0] for r in overview[1:] if r[2].split()[1] in ("AMBER", "RED",
                                                                                                 "GREY")]
    assert "NI 16" not in [r[0] for r in exceptions]


def test_a_populations_load_is_listed_and_can_be_undone_from_the_page(sample_db: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    loads = table(at, "loads")
    assert loads[-1][0] == "1" and loads[-1][3] == "derbyshire.csv" and loads[-1][-1] == "populations, applied"
    at = at.selectbox(key="undo_choice").select(1).run()
    next(b for b in at.button if b.label == "Undo load 1").click()
    at = at.run()
    assert "Load 1 undone (recorded as load 11); 0 earlier values restored." in [s.value for s in at.success]
    with store.connect(sample_db) as con:
        assert con.execute("SELECT count(*) FROM populations").fetchone() == (0,)
    # without populations the county's NI 16 cannot be worked out from its districts' counts
    at.switch_page(INDICATOR).run()
    at.query_params["indicator"] = "NI 16"
    at.query_params["area"] = "Chesterfield"
    at.run()
    assert "no population for Chesterfield in 2010/11" in text(at)
