"""Roles (issue 15, a first part): reader, district lead (for named areas), analyst, admin, kept with
the accounts, set from the command line, every change in the audit log. An account from before roles
is an analyst."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from helpers import ROOT
from pipelines import cli
from pipelines.storage import analysts

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
LEAD = analysts.Role("district_lead", ("High Peak", "Erewash"))


def test_each_account_keeps_its_role_and_an_old_one_is_an_analyst(tmp_path: Path) -> None:
    path = tmp_path / "analysts.json"
    analysts.add("Sam Analyst", "a long passphrase", path, hasher=FAST)
    analysts.add("Lee Lead", "a long passphrase", path, hasher=FAST, role=LEAD, by="Ann Admin")
    analysts.set_role("Sam Analyst", analysts.Role("admin"), path, by="command line")
    assert analysts.accounts(path) == [("Lee Lead", LEAD), ("Sam Analyst", analysts.Role("admin"))]
    assert analysts.role_of("Lee Lead", path) == LEAD and analysts.role_of("Nobody", path) is None
    # the audit: who gave which role
    said = [(e["name"], e["outcome"], e.get("by")) for e in analysts.audit(path)]
    assert said[:2] == [("Sam Analyst", "role set: admin", "command line"),
                        ("Lee Lead", "role set: district lead for High Peak, Erewash", "Ann Admin")]
    # a password change keeps the role; removing the account removes it
    analysts.add("Lee Lead", "another passphrase", path, hasher=FAST)
    assert analysts.role_of("Lee Lead", path) == LEAD
    analysts.remove("Lee Lead", path)
    assert json.loads(path.read_text())["roles"] == {"Sam Analyst": {"role": "admin", "areas": []}}
    # a file written before roles: every account an analyst, and it still signs in
    old = tmp_path / "old" / "analysts.json"
    analysts.add("Old Hand", "a long passphrase", old, hasher=FAST)
    data = json.loads(old.read_text())
    del data["roles"]
    old.write_text(json.dumps(data))
    assert analysts.accounts(old) == [("Old Hand", analysts.ANALYST)]
    assert analysts.sign_in("Old Hand", "a long passphrase", analysts.Throttle(), old, hasher=FAST) == "Old Hand"


ONLY_LEADS = "A district lead leads named areas (--area), and only a district lead does."


@pytest.mark.parametrize(("role", "message"), [
    (analysts.Role("district_lead"), ONLY_LEADS),
    (analysts.Role("reader", ("High Peak",)), ONLY_LEADS),
    (analysts.Role("boss"), "A role is one of reader, district_lead, analyst, admin; got 'boss'."),
])
def test_a_role_that_cannot_be_is_refused(tmp_path: Path, role: analysts.Role, message: str) -> None:
    path = tmp_path / "analysts.json"
    analysts.add("Sam Analyst", "a long passphrase", path, hasher=FAST)
    with pytest.raises(analysts.AccountError) as caught:
        analysts.set_role("Sam Analyst", role, path)
    assert str(caught.value) == message
    assert analysts.role_of("Sam Analyst", path) == analysts.ANALYST  # nothing changed


def test_the_command_line_manages_roles(tmp_path: Path) -> None:
    assert cli.ROLE_CHOICES == analysts.ROLES
    path = tmp_path / "accounts" / "analysts.json"
    env = {**os.environ, "RAGBOARD_ANALYSTS": str(path), "PYTHONPATH": str(ROOT)}

    def run(*args: str, password: str = "a long passphrase\n") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pipelines", *args], input=password, env=env,
                              capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)

    made = run("add-analyst", "Lee Lead", "--role", "district_lead", "--area", "High Peak")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("'Lee Lead' (district lead for High Peak) can now sign in")
    # refused before any password is asked: a lead without areas, and an area the catalogue lacks
    lost = run("add-analyst", "Al Lead", "--role", "district_lead", password="")
    assert (lost.returncode, lost.stderr.strip()) == (
        2, "error: A district lead leads named areas (--area), and only a district lead does.")
    typo = run("set-role", "Lee Lead", "district_lead", "--area", "Hgh Peak")
    assert typo.returncode == 2 and "did you mean 'High Peak'?" in typo.stderr
    assert run("set-role", "Lee Lead", "admin").stdout.strip() == "'Lee Lead' is now an admin."
    listed = run("accounts").stdout.splitlines()
    assert listed[0].split() == ["name", "role", "areas"] and listed[1].split() == ["Lee", "Lead", "admin"]
