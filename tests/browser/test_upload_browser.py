"""The Upload page, commentary and the board pack in headless Chromium, with real files on disk.

One server for the module (its own copy of the sample database and accounts file); each test
is a fresh browser session, so each signs in on its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from browsing import TIMEOUT, go, main, shoot, sign_in, upload, wait_idle
from helpers import ANALYST, BAD, PASSWORD, REVISION

pytestmark = pytest.mark.browser

def row(page: Page, test_id: str, *has: str) -> Locator:
    found = page.locator(f'table[data-testid="{test_id}"] tbody tr')
    for text in has:
        found = found.filter(has_text=text)
    return found


def test_sign_in_check_preview_commit_see_it_everywhere_and_undo(
        page: Page, server: str, artifacts: Path, tmp_path: Path) -> None:
    page.goto(server + "/upload")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Upload a quarter's figures")).to_be_visible(timeout=TIMEOUT)
    expect(row(page, "loads").first).to_be_visible(timeout=TIMEOUT)
    shoot(page, artifacts / "upload-signed-out.png")

    sign_in(page, "not the password")
    expect(main(page)).to_contain_text("That name and password do not match an analyst account.",
                                       timeout=TIMEOUT)
    sign_in(page, PASSWORD)
    expect(main(page)).to_contain_text(f"Signed in as {ANALYST}", timeout=TIMEOUT)

    bad = tmp_path / "bad.csv"
    bad.write_bytes(BAD)
    upload(page, bad)
    expect(main(page)).to_contain_text("bad.csv has 4 problems, so nothing can be loaded.", timeout=TIMEOUT)
    expect(row(page, "problems", "Hgh Peak")).to_contain_text("did you mean 'High Peak'?")
    expect(row(page, "problems")).to_have_count(4)
    expect(page.get_by_role("button", name=re.compile("^Commit"))).to_have_count(0)

    revision = tmp_path / "revision.csv"
    revision.write_bytes(REVISION)
    upload(page, revision)
    changed = row(page, "status-changes", "NI 20", "Chesterfield")
    expect(changed).to_contain_text(re.compile(r"AMBER\s*→\s*\S*\s*RED"), timeout=TIMEOUT)
    revised = row(page, "revisions", "NI 20", "Chesterfield").locator("td")
    expect(revised.nth(3)).to_have_text("995 counted")
    expect(revised.nth(4)).to_have_text("1,057 counted")
    shoot(page, artifacts / "upload-preview.png")

    page.get_by_role("button", name="Commit revision.csv").click()
    wait_idle(page)
    expect(main(page)).to_contain_text(re.compile(r"Committed revision\.csv as load 11: 1 rows? added, 1 revised,"
                                                  r" 1 unchanged"), timeout=TIMEOUT)
    latest = row(page, "loads").first
    expect(latest).to_contain_text("revision.csv")
    expect(latest).to_contain_text(ANALYST)
    expect(latest.locator("td").first).to_have_text("11")
    # the undo offers the load just made, and its button says so
    expect(page.get_by_role("combobox", name="Load to undo")).to_have_value(
        re.compile(f"^Load 11: revision.csv, by {ANALYST}"))
    expect(page.get_by_role("button", name="Undo load 11")).to_be_visible()
    shoot(page, artifacts / "upload-committed.png")

    # The new figure on the Overview's district grid, then on Chesterfield's own page.
    go(page, "Overview")
    chesterfield = row(page, "district-grid", "Chesterfield")
    expect(chesterfield).to_contain_text("10.4", timeout=TIMEOUT)
    page.get_by_role("link", name="Chesterfield: 2 RED, 0 AMBER").click()
    expect(page.get_by_role("heading", name="Chesterfield: district view")).to_be_visible(timeout=TIMEOUT)
    wait_idle(page)
    ni20 = row(page, "district-table", "NI 20")
    expect(ni20.locator("td").nth(1)).to_contain_text("RED")
    expect(ni20.locator("td").nth(2)).to_contain_text("10.4")

    go(page, "Upload")
    expect(main(page)).to_contain_text(f"Signed in as {ANALYST}", timeout=TIMEOUT)
    page.get_by_role("button", name="Undo load 11").click()
    wait_idle(page)
    expect(main(page)).to_contain_text("Load 11 undone (recorded as load 12); 1 earlier value",
                                       timeout=TIMEOUT)
    expect(row(page, "loads").first.locator("td").first).to_have_text("12")

    go(page, "Overview")
    expect(row(page, "district-grid", "Chesterfield")).to_contain_text("9.79", timeout=TIMEOUT)


def test_analyst_writes_commentary_and_an_action(page: Page, server: str, artifacts: Path) -> None:
    page.goto(server + "/upload")
    wait_idle(page)
    sign_in(page, PASSWORD)
    expect(main(page)).to_contain_text(f"Signed in as {ANALYST}", timeout=TIMEOUT)
    go(page, "Overview")
    page.get_by_role("link", name="NI 39 (AMBER): commentary missing").click()
    expect(page.get_by_role("heading", name=re.compile("^NI 39"))).to_be_visible(timeout=TIMEOUT)
    wait_idle(page)

    text = ("Alcohol-related admissions rose for the third quarter running, mostly in over-65s."
            " The projection is from quarterly data, so the year-end figure may move.")
    page.get_by_label("Commentary", exact=True).fill(text)
    page.get_by_role("button", name="Save commentary").click()
    wait_idle(page)
    expect(page.locator('[data-testid="commentary"]')).to_have_text(text, timeout=TIMEOUT)
    expect(main(page)).to_contain_text(ANALYST)

    page.get_by_label("What will be done", exact=True).fill("Ask the hospital trust for admissions by age band")
    page.get_by_label("Owner", exact=True).fill("Public health lead")
    page.get_by_role("button", name="Add action").click()
    wait_idle(page)
    actions = page.locator('table[data-testid^="actions-"] tbody tr')
    expect(actions.filter(has_text="admissions by age band")).to_contain_text("Public health lead",
                                                                              timeout=TIMEOUT)
    shoot(page, artifacts / "indicator-commentary.png")


def test_board_pack_downloads_and_opens(page: Page, server: str, artifacts: Path, tmp_path: Path) -> None:
    page.goto(server + "/")
    wait_idle(page)
    button = page.get_by_role("button", name="Download the pack (HTML)")
    expect(button).to_be_visible(timeout=TIMEOUT)
    with page.expect_download(timeout=TIMEOUT) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "board-pack-2010-11-Q1.html"
    pack = tmp_path / download.suggested_filename
    download.save_as(pack)

    page.goto(pack.as_uri())
    expect(page).to_have_title(re.compile("performance report 2010/11 Q1"))
    expect(page.get_by_role("heading", name="County overview")).to_be_visible()
    expect(page.get_by_role("heading", name="Method")).to_be_visible()
    expect(page.locator("svg").first).to_be_visible()  # the charts are embedded, not fetched
    page.screenshot(path=str(artifacts / "board-pack.png"), full_page=True)
