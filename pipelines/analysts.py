"""Analyst accounts: who may load, undo and manage analysts.

Passwords are kept only as argon2 hashes (salted, deliberately slow) in a JSON file
outside the repository: $RAGBOARD_ANALYSTS, else ~/.config/ragboard/analysts.json.
There is no default account. Failed sign-ins for a name are slowed down: after three,
each further attempt must wait twice as long as the last (up to a minute).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 ._'-]{0,63}$")
_hasher = PasswordHasher()


class AccountError(Exception):
    """An account cannot be created or used; the message says why."""


def accounts_path(path: str | Path | None = None) -> Path:
    default = Path.home() / ".config" / "ragboard" / "analysts.json"
    return Path(path or os.environ.get("RAGBOARD_ANALYSTS") or default)


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise AccountError(f"The analysts file {path} cannot be read ({exc}).") from None
    accounts = data.get("analysts") if isinstance(data, dict) else None
    if not isinstance(accounts, dict):
        raise AccountError(f"The analysts file {path} is not in ragboard's format; recreate it with add-analyst.")
    return {str(k): str(v) for k, v in accounts.items()}


def _write(path: Path, accounts: dict[str, str]) -> None:
    """Replace the file atomically, readable by its owner only from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"analysts": accounts}, fh, indent=1)
    tmp.replace(path)


def names(path: str | Path | None = None) -> list[str]:
    return sorted(_read(accounts_path(path)))


def add(name: str, password: str, path: str | Path | None = None, *, replace: bool = True) -> bool:
    """Create an analyst, or (with replace) set a new password; True when one was replaced.
    The dashboard passes replace=False, so one analyst cannot take over another's account."""
    if not _NAME.match(name):
        raise AccountError("An analyst name starts with a letter and has at most 64 letters, digits,"
                           " spaces or . _ ' -.")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password must have at least {MIN_PASSWORD} characters.")
    target = accounts_path(path)
    accounts = _read(target)
    existed = name in accounts
    if existed and not replace:
        raise AccountError(f"There is already an analyst called '{name}'; choose another name.")
    accounts[name] = _hasher.hash(password)
    _write(target, accounts)
    return existed


def remove(name: str, path: str | Path | None = None) -> None:
    target = accounts_path(path)
    accounts = _read(target)
    if name not in accounts:
        raise AccountError(f"There is no analyst called '{name}'.")
    del accounts[name]
    _write(target, accounts)


@dataclass
class Throttle:
    """Failed attempts per name, kept in the process (shared by every browser session)."""

    free_attempts: int = 3
    max_wait: float = 60.0
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_left(self, name: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            count, last = self._failures.get(name.lower(), (0, 0.0))
        if count < self.free_attempts:
            return 0.0
        wait = min(self.max_wait, 2.0 ** (count - self.free_attempts + 1))
        return max(0.0, last + wait - now)

    def failed(self, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            count, _ = self._failures.get(name.lower(), (0, 0.0))
            self._failures[name.lower()] = (count + 1, now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.lower(), None)


def sign_in(name: str, password: str, throttle: Throttle, path: str | Path | None = None) -> str:
    """Return the analyst's name, or raise AccountError with a sentence for the user."""
    wait = throttle.wait_left(name)
    if wait > 0:
        raise AccountError(f"Too many failed attempts; try again in {wait:.0f} seconds.")
    stored = _read(accounts_path(path)).get(name)
    try:
        if stored is None:
            _hasher.hash(password)  # take as long as a real check, so names cannot be probed by timing
            raise VerificationError
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        throttle.failed(name)
        raise AccountError("That name and password do not match an analyst account.") from None
    throttle.succeeded(name)
    return name
