"""The running server as an outsider meets it: the launcher's settings hold outside the repository,
its headers forbid framing, and no file is taken before its sender has signed in."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from browsing import TIMEOUT, main, shoot, sign_in, wait_idle
from helpers import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/", "/upload", "/_stcore/health"])
def test_every_response_forbids_framing_and_sniffing(server: str, path: str) -> None:
    with urllib.request.urlopen(server + path, timeout=10) as resp:
        headers = resp.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_no_file_can_be_chosen_before_sign_in_and_the_limit_is_the_projects(
        page: Page, server: str, artifacts: Path) -> None:
    page.goto(server + "/upload")
    wait_idle(page)
    expect(main(page)).to_contain_text("Sign in above to upload a file.", timeout=TIMEOUT)
    expect(page.locator('input[type="file"]')).to_have_count(0)
    shoot(page, artifacts / "upload-before-sign-in.png")
    sign_in(page, PASSWORD)
    dropzone = page.locator('[data-testid="stFileUploaderDropzone"]')
    expect(dropzone).to_be_visible(timeout=TIMEOUT)
    # The server was started outside the repository, yet the limit is ragboard's 50 MB, not
    # Streamlit's default 200 MB.
    expect(dropzone).to_contain_text("50MB")
    expect(page.locator('input[type="file"]')).to_have_count(1)


def test_a_double_click_on_commit_commits_once_and_says_so(page: Page, server: str, tmp_path: Path) -> None:
    page.goto(server + "/upload")
    wait_idle(page)
    sign_in(page, PASSWORD)
    revision = tmp_path / "double.csv"
    revision.write_text("indicator,area,quarter,value\nNI 20,Erewash,2010/11 Q1,6.61\n", encoding="utf-8")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(revision)
    wait_idle(page)
    commit = page.get_by_role("button", name="Commit double.csv")
    expect(commit).to_be_visible(timeout=TIMEOUT)
    commit.dblclick()
    wait_idle(page)
    expect(main(page)).to_contain_text(re.compile(r"(Committed double\.csv as load \d+|double\.csv was already"
                                                  r" committed as load \d+)"), timeout=TIMEOUT)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    loads = page.locator('table[data-testid="loads"] tbody tr').filter(has_text="double.csv")
    expect(loads).to_have_count(1)
