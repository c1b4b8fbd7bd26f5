"""The dashboard in headless Chromium against a real ``streamlit run`` server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from browsing import TIMEOUT, shoot, wait_idle

pytestmark = pytest.mark.browser


def statuses(page: Page, test_id: str) -> list[tuple[str, str]]:
    """(indicator id, status) for each body row of a table, top to bottom."""
    rows = page.locator(f'table[data-testid="{test_id}"] tbody tr')
    expect(rows.first).to_be_visible(timeout=TIMEOUT)
    out = []
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        out.append((cells.nth(0).locator("b").inner_text(), cells.nth(1).locator(".rag").inner_text().split()[-1]))
    return out


def test_overview_to_district_red_first_then_switch_quarter_and_back(
        page: Page, server: str, artifacts: Path) -> None:
    page.goto(server + "/")
    wait_idle(page)
    expect(page.get_by_role("heading", name="2010/11 Q1: county indicators at a glance")).to_be_visible(
        timeout=TIMEOUT)
    cards = page.locator(".rb-card")
    expect(cards).to_have_count(5)
    assert [" ".join(c.split()) for c in cards.all_inner_texts()] == [
        "3 ● GREEN", "4 ▲ AMBER", "3 ■ RED", "1 ◆ GREY", "0 ○ NA"]
    expect(page.locator('table[data-testid="mismatches"]')).to_contain_text("NI 39")
    shoot(page, artifacts / "overview.png")

    page.get_by_role("link", name="Chesterfield: 1 RED, 1 AMBER").click()
    expect(page).to_have_url(re.compile(r"/district\?.*area=Chesterfield"), timeout=TIMEOUT)
    expect(page.get_by_role("heading", name="Chesterfield: district view")).to_be_visible(timeout=TIMEOUT)
    wait_idle(page)
    assert "quarter=2010%2F11+Q1" in page.url
    assert statuses(page, "district-table") == [("NI 16", "RED"), ("NI 20", "AMBER")]
    expect(page.locator('table[data-testid="district-table"]')).to_contain_text(
        "Update due to the tasking group")
    shoot(page, artifacts / "district-chesterfield.png")

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Quarter").click()
    page.get_by_role("option", name="2009/10 Q4").click()
    expect(page).to_have_url(re.compile(r"quarter=2009%2F10\+Q4"), timeout=TIMEOUT)
    expect(page.get_by_role("heading", name="2009/10 Q4", exact=True)).to_be_visible(timeout=TIMEOUT)
    wait_idle(page)
    assert "area=Chesterfield" in page.url
    # Chesterfield 2009/10 Q4 (lower is better, band 5% of the target): NI 16 15.48 against 14.6 is
    # 0.88 worse, 6.0% > 5% → RED; NI 20 10.15 against 9.8 is 0.35 worse, 3.6% ≤ 5% → AMBER. Under each
    # figure, its 95% confidence interval (Byar's method, from the crimes and the population).
    assert statuses(page, "district-table") == [("NI 16", "RED"), ("NI 20", "AMBER")]
    figures = page.locator('table[data-testid="district-table"] tbody tr')
    expect(figures.nth(0).locator("td").nth(2)).to_have_text(re.compile(r"^15\.48\s*14\.72 to 16\.26$"))
    expect(figures.nth(1).locator("td").nth(2)).to_have_text(re.compile(r"^10\.15\s*9\.54 to 10\.79$"))
    shoot(page, artifacts / "district-chesterfield-2009-10-Q4.png")

    page.go_back()
    expect(page.get_by_role("heading", name="2010/11 Q1", exact=True)).to_be_visible(timeout=TIMEOUT)
    wait_idle(page)
    assert statuses(page, "district-table") == [("NI 16", "RED"), ("NI 20", "AMBER")]


def test_a_link_opens_exactly_that_view(page: Page, server: str, artifacts: Path) -> None:
    page.goto(server + "/district?area=High+Peak&quarter=2010/11+Q1")
    expect(page.get_by_role("heading", name="High Peak: district view")).to_be_visible(timeout=TIMEOUT)
    wait_idle(page)
    assert statuses(page, "district-table") == [("NI 20", "RED"), ("NI 16", "GREEN")]
    # the sparkline is an image, so it survives st.html's sanitiser
    expect(page.locator('table[data-testid="district-table"] img').first).to_be_visible()
    shoot(page, artifacts / "district-high-peak.png")

    page.get_by_role("link", name="NI 20 (RED)").click()
    expect(page).to_have_url(re.compile(r"/indicator\?.*indicator=NI\+20"), timeout=TIMEOUT)
    expect(page.locator(".rb-why").first).to_contain_text(
        "7.44 per 1,000 population (95% CI 6.89 to 8.02, 683 ÷ 91,804 × 1,000): significantly worse than the"
        " target of 6.2, lower is better: 1.24 worse, 20.0% of the target, beyond the 5% band → RED",
        timeout=TIMEOUT)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(".js-plotly-plot").first).to_contain_text("per 1,000 population")
    wait_idle(page)
    shoot(page, artifacts / "indicator-ni20-high-peak.png")

    page.goto(server + "/definitions")
    expect(page.locator('table[data-testid="definitions"]')).to_contain_text("LI 2", timeout=TIMEOUT)
    wait_idle(page)
    shoot(page, artifacts / "definitions.png")


def test_indicator_with_intervals_draws_error_bars(page: Page, server: str, artifacts: Path) -> None:
    """NI 32 is a proportion of counts (55 of 356 in 2010/11 Q1): each quarter's Wilson interval is an
    error bar on the trend; NI 1, a figure as given with no interval, has none."""
    page.goto(server + "/indicator?indicator=NI+32&quarter=2010/11+Q1")
    expect(page.locator(".rb-why").first).to_contain_text(
        "(95% CI 12.07 to 19.57, 55 of 356): significantly worse than the target of 27", timeout=TIMEOUT)
    # beside it, the SPC reading of the same quarter in one sentence
    expect(page.get_by_test_id("spc-reading")).to_contain_text("2010/11 Q1: RED, but improving", timeout=TIMEOUT)
    trend = page.locator(".js-plotly-plot").first
    expect(trend).to_be_visible(timeout=TIMEOUT)
    expect(trend).to_contain_text("95% confidence interval")  # the legend names the whiskers
    bars = trend.locator("g.errorbar path.yerror")
    expect(bars).to_have_count(9, timeout=TIMEOUT)  # one for each sample quarter
    assert all((bars.nth(i).get_attribute("d") or "").startswith("M") for i in range(bars.count()))
    wait_idle(page)
    shoot(page, artifacts / "indicator-ni32-intervals.png")

    page.goto(server + "/indicator?indicator=NI+1&quarter=2010/11+Q1")
    expect(page.locator(".rb-why").first).to_contain_text("74.1 against a target of 76.8", timeout=TIMEOUT)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=TIMEOUT)
    wait_idle(page)
    expect(page.locator(".js-plotly-plot").first.locator("g.errorbar path.yerror")).to_have_count(0)
