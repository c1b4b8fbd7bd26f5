"""Playwright helpers shared by the browser tests: wait for Streamlit to settle, take full-page
screenshots, move between pages, sign in and upload (paths, accounts and files are in helpers.py)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from helpers import ANALYST

TIMEOUT = 20_000


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


def main(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"]')


def go(page: Page, title: str) -> None:
    """Another page through the sidebar: the same session, so the sign-in is kept."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    wait_idle(page)


def sign_in(page: Page, password: str) -> None:
    """Sign in as the server fixture's analyst (helpers.ANALYST)."""
    form = page.locator('[data-testid="stForm"]').filter(has_text="Analyst sign-in")
    form.get_by_label("Name", exact=True).fill(ANALYST)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in").click()
    wait_idle(page)


def upload(page: Page, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(path)
    wait_idle(page)
