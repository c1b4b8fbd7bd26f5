"""A real ``streamlit run`` server on a free port, and Debian's Chromium for Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from helpers import ANALYST, PASSWORD, ROOT
from pipelines.storage import analysts

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """The dashboard (the production launcher) on a free port with ``env`` added to this process's,
    started in ``folder``; its URL once it answers, its log printed if it never does."""
    port = _free_port()
    log_path = folder / f"streamlit-{port}.log"
    with log_path.open("w") as log:
        # The production launcher, started outside the repository: its protective settings must
        # hold wherever it is started from (Streamlit reads config.toml only from the start folder).
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "--port", str(port), "--address", "127.0.0.1"],
            cwd=folder, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit never answered on {url}; its log:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def accounts_file(folder: Path) -> Path:
    """An accounts file holding the tests' analyst (helpers.ANALYST, helpers.PASSWORD)."""
    path = folder / "analysts.json"
    analysts.add(ANALYST, PASSWORD, path)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sample_db_template: Path) -> Iterator[str]:
    """The dashboard served on a free port over a fresh copy of the sample database, with one
    analyst account (helpers.ANALYST, helpers.PASSWORD) in a temporary accounts file."""
    tmp = tmp_path_factory.mktemp("server")
    db = tmp / "ragboard.duckdb"
    shutil.copy(sample_db_template, db)
    with serving(tmp, {"RAGBOARD_DB": str(db), "RAGBOARD_ANALYSTS": str(accounts_file(tmp))}) as url:
        yield url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch, pointed at Debian's Chromium (browser downloads are impossible)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
