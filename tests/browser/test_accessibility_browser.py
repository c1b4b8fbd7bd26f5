"""Accessibility (issue 15, WCAG 2.2 AA): axe-core, run in the browser by axe-playwright-python on
every page, finds no serious or critical violation; wide tables can be scrolled from the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from browsing import TIMEOUT, shoot, wait_idle

pytestmark = pytest.mark.browser

PAGES = {
    "overview": "/",
    "indicator": "/indicator?indicator=NI+16&area=Derbyshire",
    "indicator-district": "/indicator?indicator=NI+20&area=High+Peak",
    "district": "/district?area=High+Peak",
    "compare": "/compare?indicator=NI+16&level=district",
    "definitions": "/definitions",
    "upload": "/upload",
}


def problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, each with the first nodes it names."""
    found = Axe().run(page).response["violations"]
    return [f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
            for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_or_critical_violation_on_any_page(page: Page, server: str, artifacts: Path, name: str) -> None:
    page.goto(server + PAGES[name])
    wait_idle(page)
    page.wait_for_timeout(1500)  # plotly draws after the rerun
    assert problems(page) == []
    shoot(page, artifacts / f"a11y-{name}.png")


def test_a_wide_table_scrolls_from_the_keyboard(page: Page, server: str) -> None:
    page.set_viewport_size({"width": 900, "height": 900})  # narrower than the definitions table
    page.goto(server + "/definitions")
    wait_idle(page)
    region = page.locator('div.rb-wrap[role="region"]').filter(has=page.locator('table[data-testid="definitions"]'))
    expect(region).to_have_attribute("tabindex", "0", timeout=TIMEOUT)
    assert region.evaluate("e => e.scrollWidth > e.clientWidth")  # it overflows: there is somewhere to scroll
    region.focus()
    expect(region).to_be_focused()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("e => e.scrollLeft > 0", arg=region.element_handle(), timeout=TIMEOUT)
