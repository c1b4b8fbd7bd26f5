"""Helpers shared by the browser tests: wait for Streamlit to settle, take full-page screenshots."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

TIMEOUT = 20_000
ANALYST, PASSWORD = "Sam Analyst", "a long enough passphrase"  # the server fixture's account


def wait_idle(page: Page) -> None:
    """Until Streamlit has finished the rerun (its running-man widget is gone)."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=TIMEOUT)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=TIMEOUT)


def shoot(page: Page, path: Path) -> None:
    """A full-page screenshot: Streamlit scrolls inside its main block, so grow the viewport."""
    height = page.evaluate(
        "() => Math.max(document.querySelector('[data-testid=\"stMain\"]').scrollHeight, 900)")
    page.set_viewport_size({"width": 1440, "height": int(height)})
    page.wait_for_timeout(800)  # plotly re-lays out on resize
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})
