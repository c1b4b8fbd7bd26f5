"""Two dashboard servers on one lake (issue 14): a load committed through one shows on the other's
next rerun. A real PostgreSQL (the lake's catalog), two real ``streamlit run`` servers, Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import accounts_file, serving
from playwright.sync_api import Browser, expect

from browsing import TIMEOUT, go, main, sign_in, upload, wait_idle
from helpers import PASSWORD, REVISION, ROOT

pytestmark = pytest.mark.browser


def test_a_load_through_one_server_shows_on_the_others_next_rerun(browser: Browser, lake: str, tmp_path: Path) -> None:
    env = {"RAGBOARD_STORE": lake, "RAGBOARD_DATA_PATH": os.environ["RAGBOARD_DATA_PATH"],
           "RAGBOARD_ANALYSTS": str(accounts_file(tmp_path))}
    init = subprocess.run([sys.executable, "-m", "pipelines", "init"], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300, check=False)
    assert init.returncode == 0, init.stderr
    revision = tmp_path / "revision.csv"
    revision.write_bytes(REVISION)
    with serving(tmp_path, env) as first, serving(tmp_path, env) as second:
        reader = browser.new_page()
        reader.goto(second)
        wait_idle(reader)
        chesterfield = reader.locator('table[data-testid="district-grid"] tbody tr').filter(has_text="Chesterfield")
        expect(chesterfield).to_contain_text("9.79", timeout=TIMEOUT)

        writer = browser.new_page()
        writer.goto(first + "/upload")
        wait_idle(writer)
        sign_in(writer, PASSWORD)
        upload(writer, revision)
        writer.get_by_role("button", name="Commit revision.csv").click()
        wait_idle(writer)
        expect(main(writer)).to_contain_text(re.compile(r"Committed revision\.csv as load 11"), timeout=TIMEOUT)

        go(reader, "Overview")  # the other server's next rerun
        expect(chesterfield).to_contain_text("10.4", timeout=TIMEOUT)
        expect(reader.locator('[data-testid="stSidebar"]')).to_contain_text("Data version 11")
