"""Analyst accounts: hashed passwords outside the repository, no default, slowed retries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from pipelines.storage import analysts


def test_password_is_stored_only_as_an_argon2_hash(tmp_path: Path) -> None:
    path = tmp_path / "analysts.json"
    analysts.add("Sam Analyst", "correct horse battery", path)
    stored = json.loads(path.read_text())["analysts"]["Sam Analyst"]
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert analysts.sign_in("Sam Analyst", "correct horse battery", analysts.Throttle(), path) == "Sam Analyst"


def test_wrong_password_and_unknown_name_get_the_same_answer(tmp_path: Path) -> None:
    path = tmp_path / "analysts.json"
    analysts.add("sam", "correct horse battery", path)
    for name, password in [("sam", "wrong password!"), ("nobody", "correct horse battery")]:
        with pytest.raises(analysts.AccountError, match="do not match an analyst account"):
            analysts.sign_in(name, password, analysts.Throttle(), path)


def test_repeated_failures_are_slowed_down(tmp_path: Path) -> None:
    path = tmp_path / "analysts.json"
    analysts.add("sam", "correct horse battery", path)
    throttle = analysts.Throttle()
    for _ in range(3):
        with pytest.raises(analysts.AccountError, match="do not match"):
            analysts.sign_in("sam", "guess guess guess", throttle, path)
    # the fourth attempt, even with the right password, must wait
    with pytest.raises(analysts.AccountError, match=r"Too many failed attempts; try again in \d+ seconds"):
        analysts.sign_in("sam", "correct horse battery", throttle, path)
    assert 0 < throttle.wait_left("sam") <= 2
    later = throttle.wait_left("sam", now=10**9)
    assert later == 0


def test_no_account_exists_until_one_is_added(tmp_path: Path) -> None:
    assert analysts.names(tmp_path / "none.json") == []
    with pytest.raises(analysts.AccountError, match="at least 10 characters"):
        analysts.add("sam", "short", tmp_path / "a.json")


def test_add_analyst_command_reads_the_password(tmp_path: Path) -> None:
    path = tmp_path / "accounts" / "analysts.json"
    env = {**os.environ, "RAGBOARD_ANALYSTS": str(path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "pipelines", "add-analyst", "Jo Bloggs"],
                            input="a long passphrase\n", env=env, capture_output=True, text=True, cwd=tmp_path,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Analyst 'Jo Bloggs' can now sign in" in result.stdout
    assert analysts.sign_in("Jo Bloggs", "a long passphrase", analysts.Throttle(), path) == "Jo Bloggs"
    assert [e["outcome"] for e in analysts.audit(path)] == ["signed in", "added"]
    assert path.parent.stat().st_mode & 0o777 == 0o700  # the command created the folder, private
    short = subprocess.run([sys.executable, "-m", "pipelines", "add-analyst", "Al"], input="short\n",
                           env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert short.returncode == 1 and short.stderr.startswith("error: The password must have at least 10")


def test_the_accounts_live_outside_the_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without RAGBOARD_ANALYSTS the accounts go to the user's own configuration folder, an absolute
    path that does not depend on where a command is started, so never into a checkout."""
    monkeypatch.delenv("RAGBOARD_ANALYSTS", raising=False)
    monkeypatch.chdir(ROOT)
    default = analysts.accounts_path()
    assert default.is_absolute() and not default.resolve().is_relative_to(ROOT), default
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert analysts.accounts_path() == tmp_path / "home" / ".config" / "ragboard" / "analysts.json"


def test_the_repository_holds_no_accounts() -> None:
    """No accounts, lock or audit file and no Streamlit secrets anywhere in the working tree (git or
    not), and the secrets file a developer may keep locally is ignored by git."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in (".git", ".venv")]
        for name in files:
            path = Path(folder, name).relative_to(ROOT)
            if (name in ("analysts.json", "analysts.lock", "analysts.log")
                    or name == "secrets.toml" and path.parent != Path(".streamlit")):
                found.append(path)
    assert not found
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    if shutil.which("git") and (ROOT / ".git").exists():  # the checkout's own record, as well
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.split()
        assert not [f for f in tracked if "analysts.json" in f or f.endswith("secrets.toml")]
