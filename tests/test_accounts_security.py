"""Attacks on the analyst accounts, each reproduced and refused with one sentence, nothing changed:
planted files in a shared folder, concurrent writers, simultaneous guesses, password spraying,
probing names by timing; and the audit trail of every attempt and change."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from helpers import ROOT
from pipelines.storage import analysts
from pipelines.storage.analysts import AccountError, Throttle, Throttled

PASSWORD = "correct horse battery"
GUESS = "wrong guess, wrong guess"


def fast_hasher() -> PasswordHasher:
    """Cheap argon2 settings so tests can make many hashes; the module's default stays the real one."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    """A monotonic clock the test moves by hand, so waits are checked without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingHasher(PasswordHasher):
    """Counts the passwords actually checked; each check is slow, as a real argon2 check is."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.checked = 0
        self._guard = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's name
        with self._guard:
            self.checked += 1
        time.sleep(0.05)
        return super().verify(hash, password)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mode & 0o7777) for p in sorted(folder.iterdir())}


def plant(folder: Path) -> None:
    """What an attacker leaves in a folder they can write to: their own account, and a .tmp file."""
    fake = json.dumps({"analysts": {"Mallory": fast_hasher().hash("mallory's password")}})
    for name in ("analysts.json", "analysts.tmp"):
        (folder / name).write_text(fake, encoding="utf-8")
        os.chmod(folder / name, 0o666)


def every_operation(path: Path) -> list[tuple[str, object]]:
    """Run each public operation; return (operation, error message or result)."""
    calls = {
        "names": lambda: analysts.names(path),
        "add": lambda: analysts.add("Sam", PASSWORD, path, hasher=fast_hasher()),
        "remove": lambda: analysts.remove("Mallory", path),
        "sign_in": lambda: analysts.sign_in("Mallory", "mallory's password", Throttle(), path,
                                            hasher=fast_hasher()),
        "audit": lambda: analysts.audit(path),
    }
    outcomes: list[tuple[str, object]] = []
    for label, call in calls.items():
        try:
            outcomes.append((label, call()))
        except AccountError as exc:
            outcomes.append((label, str(exc)))
    return outcomes


# --- 1. planted files, shared folders, ownership ----------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770])
def test_a_folder_others_can_write_is_refused_and_left_alone(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    plant(folder)
    os.chmod(folder, mode)
    before = snapshot(folder)
    sentence = (f"The folder {folder} holding the analyst accounts can be changed by other users;"
                f" run `chmod 700 {folder}` and try again.")
    assert every_operation(folder / "analysts.json") == [
        ("names", sentence), ("add", sentence), ("remove", sentence), ("sign_in", sentence), ("audit", sentence)]
    assert snapshot(folder) == before


def test_a_planted_tmp_file_never_becomes_the_accounts(tmp_path: Path) -> None:
    # The old code opened analysts.tmp without O_EXCL: the attacker's file, with its mode 0666,
    # was truncated, filled and renamed into place, so the attacker could rewrite it later.
    folder = tmp_path / "own"
    folder.mkdir(mode=0o700)
    (folder / "analysts.tmp").write_text("planted", encoding="utf-8")
    os.chmod(folder / "analysts.tmp", 0o666)
    analysts.add("Sam", PASSWORD, folder / "analysts.json", hasher=fast_hasher())
    assert (folder / "analysts.tmp").read_text(encoding="utf-8") == "planted"
    assert (folder / "analysts.json").stat().st_mode & 0o777 == 0o600
    assert analysts.names(folder / "analysts.json") == ["Sam"]
    assert not list(folder.glob(".analysts.json.*"))  # no temporary file left behind


@pytest.mark.parametrize("victim", ["analysts.json", "analysts.log", "analysts.lock"])
def test_a_file_others_can_write_is_refused_and_left_alone(tmp_path: Path, victim: str) -> None:
    path = tmp_path / "analysts.json"
    analysts.add("Sam", PASSWORD, path, hasher=fast_hasher())
    os.chmod(tmp_path / victim, 0o664)
    before = snapshot(tmp_path)
    with pytest.raises(AccountError) as refused:
        analysts.add("Robin", PASSWORD, path, hasher=fast_hasher())
    assert str(refused.value) == (f"The file {tmp_path / victim} can be changed by other users;"
                                  f" check its contents, then run `chmod 600 {tmp_path / victim}`.")
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_an_accounts_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    plant(tmp_path)
    os.chmod(tmp_path / "analysts.json", 0o600)
    os.chown(tmp_path / "analysts.json", 65534, 65534)  # nobody: the attacker
    before = snapshot(tmp_path)
    sentence = (f"The file {tmp_path / 'analysts.json'} belongs to another user, so it cannot be trusted;"
                " check it, then remove it or give it to the user running ragboard.")
    outcomes = dict(every_operation(tmp_path / "analysts.json"))
    assert [outcomes[k] for k in ("names", "add", "remove", "sign_in")] == [sentence] * 4
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o755)
    os.chown(folder, 65534, 65534)
    with pytest.raises(AccountError, match=r"belongs to another user; keep the accounts in a folder of your own"):
        analysts.add("Sam", PASSWORD, folder / "analysts.json", hasher=fast_hasher())
    assert list(folder.iterdir()) == []


def test_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"analysts": {}}', encoding="utf-8")
    os.chmod(elsewhere, 0o600)
    (tmp_path / "analysts.json").symlink_to(elsewhere)
    with pytest.raises(AccountError) as refused:
        analysts.names(tmp_path / "analysts.json")
    assert str(refused.value) == f"{tmp_path / 'analysts.json'} is a symbolic link; replace it with the file itself."


def test_a_folder_we_create_is_private(tmp_path: Path) -> None:
    path = tmp_path / "config" / "ragboard" / "analysts.json"
    analysts.add("Sam", PASSWORD, path, hasher=fast_hasher())
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()} == {
        "analysts.json": 0o600, "analysts.lock": 0o600, "analysts.log": 0o600}


# --- 2. one lock across threads and processes ---------------------------------------------------------

WORKER = """
import os, sys, time
from pathlib import Path
from argon2 import PasswordHasher
from pipelines.storage import analysts
path, ready, go, worker = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ready.touch()
while not go.exists():
    time.sleep(0.001)
for i in range(30):
    analysts.add(f"Analyst {worker}-{i}", "a long passphrase", path, hasher=fast)
"""


def test_four_processes_adding_at_once_lose_no_account(tmp_path: Path) -> None:
    path, go = tmp_path / "analysts.json", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(tmp_path / f"ready{w}"), str(go), str(w)],
                                env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for w in range(4)]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{w}").exists() for w in range(4)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # all four start adding at the same moment
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    assert len(analysts.names(path)) == 120
    assert [e["outcome"] for e in analysts.audit(path, limit=1000)] == ["added"] * 120


def test_threads_adding_at_once_lose_no_account(tmp_path: Path) -> None:
    path, start = tmp_path / "analysts.json", threading.Barrier(8)

    def worker(w: int) -> None:
        start.wait()
        for i in range(10):
            analysts.add(f"Analyst {w}-{i}", PASSWORD, path, hasher=fast_hasher())

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(analysts.names(path)) == 80


# --- 3. simultaneous guesses --------------------------------------------------------------------------


def guess_together(path: Path, throttle: Throttle, hasher: PasswordHasher, sessions: int = 10) -> list[str]:
    """``sessions`` browser sessions submitting a wrong password for Sam at the same instant."""
    start, answers, guard = threading.Barrier(sessions), [], threading.Lock()

    def session() -> None:
        start.wait()
        try:
            analysts.sign_in("Sam", GUESS, throttle, path, hasher=hasher)
        except AccountError as exc:
            with guard:
                answers.append(type(exc).__name__)

    threads = [threading.Thread(target=session) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(answers)


def test_sessions_guessing_together_after_the_wait_get_one_guess(tmp_path: Path) -> None:
    path, clock = tmp_path / "analysts.json", Clock()
    analysts.add("Sam", PASSWORD, path, hasher=fast_hasher())
    throttle = Throttle(clock=clock)
    for _ in range(3):
        with pytest.raises(AccountError, match="do not match"):
            analysts.sign_in("Sam", GUESS, throttle, path, hasher=fast_hasher())
    clock.now += 2.5  # the wait after three failures (2 s) is over
    counting = CountingHasher()
    answers = guess_together(path, throttle, counting)
    assert counting.checked == 1
    assert answers == ["AccountError"] + ["Throttled"] * 9
    assert [e["outcome"] for e in analysts.audit(path, limit=10)].count("throttled") == 9


def test_sessions_guessing_together_for_a_fresh_name_get_the_free_guesses(tmp_path: Path) -> None:
    path = tmp_path / "analysts.json"
    analysts.add("Sam", PASSWORD, path, hasher=fast_hasher())
    counting = CountingHasher()
    guess_together(path, Throttle(clock=Clock()), counting)
    assert counting.checked == 3


# --- 4. limits per name and across names ---------------------------------------------------------------


def waits(throttle: Throttle, clock: Clock, name: str, attempts: int) -> list[float]:
    """Fail ``attempts`` times, each as soon as allowed; the wait seen before each attempt."""
    seen = []
    for _ in range(attempts):
        wait = throttle.wait_left(name)
        seen.append(wait)
        clock.now += wait
        throttle.reserve(name)
    return seen


def test_per_name_waits_double_up_to_a_minute_and_a_success_resets_them() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    assert waits(throttle, clock, "Sam", 10) == [0, 0, 0, 2, 4, 8, 16, 32, 60, 60]
    with pytest.raises(Throttled) as refused:
        throttle.reserve("sam")  # names are throttled without regard to case
    assert str(refused.value) == "Too many failed attempts; try again in 60 seconds."
    clock.now += 60
    throttle.succeeded("Sam", throttle.reserve("Sam"))
    assert throttle.wait_left("Sam") == 0


def test_spraying_one_guess_at_many_names_is_slowed_for_every_name(tmp_path: Path) -> None:
    path, clock = tmp_path / "analysts.json", Clock()
    analysts.add("Sam", PASSWORD, path, hasher=fast_hasher())
    throttle = Throttle(clock=clock)
    for i in range(20):
        with pytest.raises(AccountError, match="do not match"):
            analysts.sign_in(f"User {i}", GUESS, throttle, path, hasher=fast_hasher())
    # Even the right password for a name never guessed at must wait.
    with pytest.raises(Throttled) as refused:
        analysts.sign_in("Sam", PASSWORD, throttle, path, hasher=fast_hasher())
    assert str(refused.value) == "Too many failed sign-ins on this server; try again in 2 seconds."
    clock.now += 2
    assert analysts.sign_in("Sam", PASSWORD, throttle, path, hasher=fast_hasher()) == "Sam"


def test_server_waits_grow_to_five_minutes_and_end_with_the_ten_minute_window() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    seen = [waits(throttle, clock, f"User {i}", 1)[0] for i in range(29)]
    assert seen == [0] * 20 + [2, 4, 8, 16, 32, 64, 128, 256, 300]
    # 810 s after the first twenty failures, they have left the ten-minute window; the nine since
    # then are fewer than twenty, so there is no wait.
    assert throttle.wait_left("anyone") == 0
    longer = Throttle(clock=clock, server_window=3600)
    assert [waits(longer, clock, f"User {i}", 1)[0] for i in range(31)][-4:] == [256, 300, 300, 300]


def test_a_success_does_not_reset_the_count_across_names() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    for i in range(19):
        throttle.reserve(f"User {i}")
    throttle.succeeded("Sam", throttle.reserve("Sam"))  # not a failure, and forgets nothing else
    assert throttle.wait_left("anyone") == 0
    throttle.reserve("User 19")
    assert throttle.wait_left("anyone") == 2


# --- 5. names cannot be probed by timing ---------------------------------------------------------------


def test_an_unknown_name_takes_as_long_as_a_wrong_password(tmp_path: Path) -> None:
    path = tmp_path / "analysts.json"
    analysts.add("Sam", PASSWORD, path)  # the real, slow argon2 setting

    def seconds(name: str) -> float:
        started = time.perf_counter()
        with pytest.raises(AccountError, match="do not match"):
            analysts.sign_in(name, GUESS, Throttle(), path)
        return time.perf_counter() - started

    seconds("Nobody")  # the dummy hash is made on first use, once
    made = analysts._dummy_hash.cache_info().misses
    wrong = statistics.median(seconds("Sam") for _ in range(3))
    unknown = statistics.median(seconds("Nobody") for _ in range(3))
    assert analysts._dummy_hash.cache_info().misses == made
    assert 0.5 < unknown / wrong < 2, (unknown, wrong)


# --- 6. the audit trail ----------------------------------------------------------------------------------


def test_every_attempt_and_change_is_recorded_newest_first_without_passwords(tmp_path: Path) -> None:
    path, clock = tmp_path / "analysts.json", Clock()
    throttle = Throttle(clock=clock)
    analysts.add("Sam", PASSWORD, path, hasher=fast_hasher())
    analysts.add("Robin", "robin's first passphrase", path, by="Sam", hasher=fast_hasher())
    assert analysts.sign_in("Sam", PASSWORD, throttle, path, hasher=fast_hasher()) == "Sam"
    for name in ("Sam", "Sam", "Nobody", "Sam"):
        with pytest.raises(AccountError):
            analysts.sign_in(name, GUESS, throttle, path, hasher=fast_hasher())
    with pytest.raises(Throttled):
        analysts.sign_in("Sam", PASSWORD, throttle, path, hasher=fast_hasher())
    analysts.add("Robin", "robin's second passphrase", path, hasher=fast_hasher())
    analysts.remove("Robin", path, by="Sam")

    entries = analysts.audit(path)
    assert [(e["name"], e["outcome"], e.get("by")) for e in entries] == [
        ("Robin", "removed", "Sam"), ("Robin", "password replaced", None), ("Sam", "throttled", None),
        ("Sam", "wrong password or unknown name", None), ("Nobody", "wrong password or unknown name", None),
        ("Sam", "wrong password or unknown name", None), ("Sam", "wrong password or unknown name", None),
        ("Sam", "signed in", None), ("Robin", "added", "Sam"), ("Sam", "added", None)]
    assert all(datetime.fromisoformat(e["time"]).utcoffset().total_seconds() == 0 for e in entries)
    assert [e["outcome"] for e in analysts.audit(path, limit=2)] == ["removed", "password replaced"]
    log = tmp_path / "analysts.log"
    assert log.stat().st_mode & 0o777 == 0o600
    text = log.read_text(encoding="utf-8")
    assert not any(secret in text for secret in (PASSWORD, GUESS, "robin's first", "robin's second"))


def test_the_audit_trail_is_kept_across_a_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "analysts.json"
    monkeypatch.setattr(analysts, "AUDIT_MAX_BYTES", 300)  # about three lines
    for i in range(12):
        analysts.add(f"Analyst {i}", PASSWORD, path, hasher=fast_hasher())
    assert (tmp_path / "analysts.log.1").exists()
    newest = [e["name"] for e in analysts.audit(path, limit=5)]
    assert newest == [f"Analyst {i}" for i in range(11, 6, -1)]


def test_a_long_typed_name_is_recorded_shortened(tmp_path: Path) -> None:
    path = tmp_path / "analysts.json"
    with pytest.raises(AccountError):
        analysts.sign_in("x" * 10_000, GUESS, Throttle(), path, hasher=fast_hasher())
    assert analysts.audit(path)[0]["name"] == "x" * 100 + "…"


def test_no_audit_trail_before_any_account(tmp_path: Path) -> None:
    assert analysts.audit(tmp_path / "missing" / "analysts.json") == []
    assert not (tmp_path / "missing").exists()


def test_spraying_from_one_address_does_not_lock_out_analysts_elsewhere() -> None:
    now = [0.0]
    throttle = analysts.Throttle(clock=lambda: now[0])
    for i in range(20):  # one guess each for twenty names, all from one address
        throttle.reserve(f"guess {i}", client="203.0.113.9")
        now[0] += 1
    with pytest.raises(analysts.Throttled, match="Too many failed sign-ins on this server"):
        throttle.reserve("Sam Analyst", client="203.0.113.9")
    # the analyst at the office is not held up by the stranger's guesses
    reserved = throttle.reserve("Sam Analyst", client="192.0.2.10")
    throttle.succeeded("Sam Analyst", reserved, client="192.0.2.10")
    assert throttle.wait_left("Sam Analyst", client="192.0.2.10") == 0.0
    assert throttle.wait_left("Sam Analyst", client="203.0.113.9") > 0
