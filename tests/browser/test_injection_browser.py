"""Text from a URL, a file or an analyst is shown as text in a real browser: never a link,
an image or HTML. Its own server (module scope), so its loads do not disturb other modules."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from browsing import TIMEOUT, go, main, shoot, sign_in, upload, wait_idle
from helpers import ANALYST, PASSWORD

pytestmark = pytest.mark.browser

PHISH = "[Session expired: sign in again](https://evil.example/login)"
NOTE = "see [the portal](https://evil.example/portal) ![px](http://evil.example/p.png) <img src=x> **bold**"


def no_injected_links(page: Page) -> None:
    for selector in ('a[href*="evil.example"]', 'img[src*="evil.example"]', 'img[src="x"]', "strong:text('bold')"):
        expect(main(page).locator(selector)).to_have_count(0)


@pytest.mark.parametrize("path,param", [("/", "area"), ("/indicator", "indicator")])
def test_a_link_in_the_url_is_shown_as_text(page: Page, server: str, artifacts: Path, path: str,
                                             param: str) -> None:
    page.goto(f"{server}{path}?{param}={urllib.parse.quote(PHISH)}")
    wait_idle(page)
    notice = main(page).locator('[data-testid="stAlert"]').filter(has_text="There is no")
    expect(notice).to_contain_text(PHISH, timeout=TIMEOUT)
    expect(notice.locator("code")).to_have_text(PHISH)
    no_injected_links(page)
    if param == "area":
        shoot(page, artifacts / "url-notice-escaped.png")


def test_a_note_commentary_and_file_name_with_markdown_stay_text(
        page: Page, server: str, artifacts: Path, tmp_path: Path) -> None:
    page.goto(server + "/upload")
    wait_idle(page)
    sign_in(page, PASSWORD)
    expect(main(page)).to_contain_text(f"Signed in as {ANALYST}", timeout=TIMEOUT)
    csv = tmp_path / "[Sign in here](evil.example) ![px](p.png).csv"
    csv.write_text(f'indicator,area,quarter,value,note\nNI 20,High Peak,2010/11 Q1,7.44,"{NOTE}"\n',
                   encoding="utf-8")
    upload(page, csv)
    expect(main(page)).to_contain_text("Preview: what committing this file would change", timeout=TIMEOUT)
    expect(main(page).locator("a").filter(has_text="Sign in here")).to_have_count(0)
    page.get_by_role("button", name="Commit [Sign in here]").click()
    wait_idle(page)
    expect(main(page)).to_contain_text("Committed [Sign in here](evil.example)", timeout=TIMEOUT)
    expect(main(page).locator("a").filter(has_text="Sign in here")).to_have_count(0)

    # A new session opened on the indicator, signed in on the Upload page, then back.
    page.goto(f"{server}/indicator?indicator=NI+20&area=High+Peak&quarter=2010/11+Q1")
    wait_idle(page)
    # the page has taken the indicator from the address before we leave it (a busy machine is slow)
    expect(page.get_by_role("heading", name=re.compile("^NI 20"))).to_be_visible(timeout=TIMEOUT)
    go(page, "Upload")
    sign_in(page, PASSWORD)
    expect(main(page)).to_contain_text(f"Signed in as {ANALYST}", timeout=TIMEOUT)
    go(page, "Indicator")
    expect(page.get_by_role("heading", name=re.compile("^NI 20"))).to_be_visible(timeout=TIMEOUT)
    expect(page.locator('[data-testid="figure-note"]')).to_have_text(f"Note with the figure: {NOTE}",
                                                                    timeout=TIMEOUT)
    page.get_by_label("Commentary", exact=True).fill(f"Commentary {NOTE}")
    page.get_by_role("button", name="Save commentary").click()
    wait_idle(page)
    expect(page.locator('[data-testid="commentary"]')).to_have_text(f"Commentary {NOTE}", timeout=TIMEOUT)
    no_injected_links(page)
    shoot(page, artifacts / "indicator-note-escaped.png")
