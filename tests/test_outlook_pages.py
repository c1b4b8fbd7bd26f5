"""Issue 13 on the pages: the year-end outlook (Overview column, Indicator page fan), the rules that
change over time (the sidebar's toggle, the statuses that would differ, the Definitions page)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import DEFINITIONS, INDICATOR, html, pages_on, row, run, table, text
from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.storage import store


@pytest.mark.usefixtures("fresh")
def test_the_overview_gives_each_county_indicator_its_year_end_outlook() -> None:
    at = run()
    outlook = table(at, "outlook")
    assert outlook[0] == ["Indicator", "Year-end figure", "Forecast", "90% interval", "Target", "Chance of meeting it",
                          "Year-end outlook"]
    # NI 16 at 9.6 against 11.35 after falling all year: on track; NI 1 has too few complete years
    ni16 = row(outlook, "NI 16")
    assert (ni16[1], ni16[4], ni16[6]) == ("the fourth quarter's figure", "11.35", "✓ on track")
    assert row(outlook, "NI 1")[2:] == ["–", "–", "76.8%", "–",
                                       "no forecast: it needs two earlier years with all four quarters"]


@pytest.mark.usefixtures("fresh")
def test_the_indicator_page_draws_the_year_to_its_end() -> None:
    at = run(INDICATOR, indicator="NI 39", quarter="2010/11 Q1", area="Derbyshire")
    said = html(at)
    # the printed projection, 1839, and ragboard's forecast of the year end with its interval
    assert 'data-testid="outlook"' in said and "90% interval" in said
    fan = next(c for c in at.get("plotly_chart") if '"Forecast year end"' in c.proto.spec)
    assert '"Target 1,753"' in fan.proto.spec and '"90% interval of the year end"' in fan.proto.spec


VERSIONED: dict[str, Any] = {
    "county": "Shire", "districts": ["East"],
    "amber_tolerance": [{"from": "2009/10 Q1", "band": "5%"}, {"from": "2010/11 Q3", "band": "10%"}],
    "indicators": [{"id": "X", "name": "Crimes", "better": "lower", "targets": {"2010/11": 100}}],
}


@pytest.fixture
def versioned_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    catalogue = tmp_path / "versioned.yaml"
    catalogue.write_text(yaml.safe_dump(VERSIONED), encoding="utf-8")
    db = tmp_path / "versioned.duckdb"
    with store.connect(db) as con:
        upload = loading.read_upload(b"indicator,area,quarter,value\nX,Shire,2010/11 Q2,108\nX,Shire,2010/11 Q3,108\n",
                                     "x.csv", config.load(catalogue))
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)
    with pages_on(monkeypatch, db, catalogue):
        yield db


@pytest.mark.usefixtures("versioned_pages")
def test_the_pages_say_which_statuses_todays_rules_would_change() -> None:
    # 108 against 100 is 8% over: RED under 2010/11 Q2's 5% band, AMBER under Q3's (today's) 10%
    at = run(quarter="2010/11 Q3")
    assert "Each quarter is judged by the rules in force then. Under today's rules, 1 status shown here would" \
           " differ: X in Shire, 2010/11 Q2: RED → AMBER." in text(at)
    at.toggle(key="rules_toggle").set_value(True).run()
    assert at.query_params["rules"] == "current"
    assert "Every quarter is judged by today's rules. Under the rules in force at the time, 1 status shown here" \
           " would differ: X in Shire, 2010/11 Q2: AMBER → RED." in text(at)
    grid = table(at, "status-grid")
    assert row(grid, "X")[3].startswith("▲ AMBER")  # 2010/11 Q2, now under 10%


@pytest.mark.usefixtures("versioned_pages")
def test_the_indicator_page_notes_a_band_change_within_its_quarters() -> None:
    at = run(INDICATOR, indicator="X", quarter="2010/11 Q3")
    said = text(at).replace("\\", "")  # Markdown's escapes before the brackets
    assert "X: the amber band became 10% of the target from 2010/11 Q3 (it was 5% of the target)." in said


@pytest.mark.usefixtures("versioned_pages")
def test_the_definitions_page_lists_each_band_version() -> None:
    at = run(DEFINITIONS)
    definitions = table(at, "definitions")
    assert row(definitions, "X")[6] == "from 2009/10 Q1: 5% of the target from 2010/11 Q3: 10% of the target"
    assert row(definitions, "X")[9:11] == ["the fourth quarter's figure", "every quarter"]

