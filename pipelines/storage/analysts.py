"""Analyst accounts: who may load, undo and manage analysts.

Files. The accounts are a JSON file outside the repository: $RAGBOARD_ANALYSTS, else
~/.config/ragboard/analysts.json. Beside it (same name, other suffix) are ``analysts.lock``, held while
the accounts change, and ``analysts.log``, the audit trail: one JSON line per sign-in attempt and per
account change (time in UTC, name, outcome; never a password), read back newest first by ``audit()``.
There is no default account. Passwords are kept only as argon2 hashes (salted, deliberately slow).

Trust. Anyone who can write to the folder or a file could plant an account, so every read and write is
refused, with a sentence saying how to fix it, unless the folder belongs to us (or root) and neither it
nor any of the files is group- or world-writable, and each file belongs to us and is a regular file (not
a symbolic link). A folder we create is 0700; every file is 0600 from its first byte.

Changes. Each change reads, modifies and writes the accounts under one lock (a thread lock for this
process plus ``flock`` on analysts.lock for other processes), so concurrent add-analyst commands and
dashboard sessions never lose each other's accounts. The new accounts go to a fresh temporary file
(created exclusively, 0600), are flushed to disk, then renamed over the old file in one step.

Sign-in. A ``Throttle`` (one per server process, shared by all its browser sessions) slows guessing:
- per name: three failures are free, then each attempt waits twice as long as the last (2 s ... 60 s);
- per server: after 20 failures within ten minutes across all names (password spraying), every attempt
  for any name waits, 2 s doubling up to five minutes; a success does not reset this count.
An attempt takes its place (counted as a failure unless it succeeds) before the slow password check, so
simultaneous submissions cannot all slip through one gap. An unknown name is checked against a dummy
hash of the same cost, so it takes as long as a wrong password and names cannot be probed by timing.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import math
import os
import re
import secrets
import stat
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 ._'-]{0,63}$")
_hasher = PasswordHasher()

# Audit outcomes: the three for a sign-in attempt, then the account changes.
SIGNED_IN = "signed in"
MISMATCH = "wrong password or unknown name"
THROTTLED = "throttled"
ADDED = "added"
REPLACED = "password replaced"
REMOVED = "removed"

# Throttled attempts cost the guesser almost nothing, so a flood could fill the disk; past this size the
# log is renamed to analysts.log.1 (replacing the previous one) and a new one started.
AUDIT_MAX_BYTES = 10 * 1024 * 1024
_LOGGED_NAME = 100  # a typed name is recorded up to this many characters (the form does not limit it)
_UNSAFE_MODE = stat.S_IWGRP | stat.S_IWOTH

_MISMATCH_SENTENCE = "That name and password do not match an analyst account."


# Roles (issue 15): readers (board members) read; a district lead writes the updates owed for their
# areas; an analyst loads, undoes and writes commentary; an admin also manages accounts and roles
ROLES = ("reader", "district_lead", "analyst", "admin")
ROLE_WORDS = {"reader": "reader", "district_lead": "district lead", "analyst": "analyst", "admin": "admin"}


@dataclass(frozen=True)
class Role:
    role: str
    areas: tuple[str, ...] = ()  # a district lead's areas

    def words(self) -> str:
        said = ROLE_WORDS[self.role]
        return f"{said} for {', '.join(self.areas)}" if self.areas else said


ANALYST = Role("analyst")


class AccountError(Exception):
    """An account cannot be created or used; the message says why."""


class Throttled(AccountError):
    """A sign-in attempt refused before its password was checked; ``wait`` is in seconds."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


# --- where the files are, and whether they can be trusted -------------------------------------------


def accounts_path(path: str | Path | None = None) -> Path:
    default = Path.home() / ".config" / "ragboard" / "analysts.json"
    return Path(path or os.environ.get("RAGBOARD_ANALYSTS") or default)


def _companions(accounts: Path) -> tuple[Path, Path]:
    """The lock and audit files beside the accounts (analysts.json -> analysts.lock, analysts.log)."""
    if accounts.suffix in (".lock", ".log"):
        raise AccountError(f"The analysts file {accounts} must not end in .lock or .log; ragboard keeps"
                           " its lock and audit files under those names.")
    return accounts.with_suffix(".lock"), accounts.with_suffix(".log")


def _check_folder(folder: Path) -> bool:
    """Refuse a folder others could write to (they could plant files in it); False when it is missing."""
    try:
        info = folder.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AccountError(f"The folder {folder} holding the analyst accounts cannot be read"
                           f" ({exc.strerror}).") from None
    if info.st_uid not in (os.geteuid(), 0):
        raise AccountError(f"The folder {folder} holding the analyst accounts belongs to another user;"
                           " keep the accounts in a folder of your own (set RAGBOARD_ANALYSTS).")
    if info.st_mode & _UNSAFE_MODE:
        raise AccountError(f"The folder {folder} holding the analyst accounts can be changed by other"
                           f" users; run `chmod 700 {folder}` and try again.")
    return True


def _ensure_folder(folder: Path) -> None:
    if not folder.exists():
        try:
            # Only the last part gets mode 0700; parents such as ~/.config keep the usual mode.
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise AccountError(f"The folder {folder} for the analyst accounts cannot be created"
                               f" ({exc.strerror}).") from None
    _check_folder(folder)


def _check_file(fd: int, path: Path) -> None:
    """Check the file actually opened (not the name, which could change between a check and the open)."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise AccountError(f"{path} is not a regular file; remove it and try again.")
    if info.st_uid != os.geteuid():
        raise AccountError(f"The file {path} belongs to another user, so it cannot be trusted; check it,"
                           " then remove it or give it to the user running ragboard.")
    if info.st_mode & _UNSAFE_MODE:
        raise AccountError(f"The file {path} can be changed by other users; check its contents,"
                           f" then run `chmod 600 {path}`.")


def _open_checked(path: Path, flags: int) -> int:
    """Open a file of ours, never through a symbolic link (and never blocking on a FIFO)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AccountError(f"{path} is a symbolic link; replace it with the file itself.") from None
        raise AccountError(f"The file {path} cannot be opened ({exc.strerror}).") from None
    try:
        _check_file(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


# --- reading and writing the accounts ---------------------------------------------------------------


def _read_text(path: Path) -> str | None:
    """The text of a trusted file in a trusted folder, or None when either is missing."""
    if not _check_folder(path.parent):
        return None
    try:
        fd = _open_checked(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        with os.fdopen(fd, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, ValueError) as exc:
        raise AccountError(f"The file {path} cannot be read ({exc}).") from None


def _read(path: Path) -> dict[str, str]:
    return _read_all(path)[0]


def _read_all(path: Path) -> tuple[dict[str, str], dict[str, Role]]:
    """The accounts ({name: argon2 hash}) and their roles; an account without one (every account of a
    file written before roles) is an analyst."""
    text = _read_text(path)
    if text is None:
        return {}, {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AccountError(f"The analysts file {path} cannot be read ({exc}).") from None
    accounts = data.get("analysts") if isinstance(data, dict) else None
    if not isinstance(accounts, dict):
        raise AccountError(f"The analysts file {path} is not in ragboard's format; recreate it with add-analyst.")
    roles: dict[str, Role] = {}
    for name, given in (data.get("roles") or {}).items():
        if (not isinstance(given, dict) or given.get("role") not in ROLES
                or not isinstance(given.get("areas", []), list)):
            raise AccountError(f"The analysts file {path} has a role for '{name}' that is not ragboard's;"
                               " set it again with set-role.")
        roles[str(name)] = Role(given["role"], tuple(str(a) for a in given.get("areas", [])))
    return {str(k): str(v) for k, v in accounts.items()}, roles


def _write(path: Path, accounts: dict[str, str], roles: dict[str, Role] | None = None) -> None:
    """Replace the file in one step; call under ``_locked``.

    The temporary file is new (mkstemp: O_EXCL, 0600, random name), so nothing planted in the folder
    can become the accounts, and it is on disk before the rename, so a crash leaves old or new."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise AccountError(f"The analysts file {path} cannot be written ({exc.strerror}).") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            kept = {n: {"role": r.role, "areas": list(r.areas)} for n, r in (roles or {}).items() if n in accounts}
            json.dump({"analysts": accounts, "roles": kept}, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(tmp)
        raise AccountError(f"The analysts file {path} cannot be written ({exc.strerror}).") from None
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; some file systems cannot sync a folder, which is harmless."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(lock_path: Path) -> threading.Lock:
    # flock alone is not enough inside one process: where it is emulated with fcntl locks (NFS),
    # the lock belongs to the process and its threads would not exclude each other.
    key = os.path.realpath(lock_path)
    with _process_locks_guard:
        return _process_locks.setdefault(key, threading.Lock())


@contextmanager
def _lock(accounts: Path) -> Iterator[None]:
    """Hold the accounts' lock, against other threads and other processes."""
    lock_path, _ = _companions(accounts)
    _ensure_folder(accounts.parent)
    _trust(accounts)  # an untrusted accounts file is refused before anything is created beside it
    with _process_lock(lock_path):
        lock_fd = _open_checked(lock_path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)  # released when lock_fd is closed
            yield
        finally:
            os.close(lock_fd)


@contextmanager
def _locked(accounts: Path) -> Iterator[TextIO]:
    """Hold the accounts' lock; yields the audit log, open for appending.

    The log is opened (and checked) before anything changes, so a log that cannot be trusted stops
    the change instead of leaving it unrecorded."""
    _, log_path = _companions(accounts)
    with _lock(accounts):
        _rotate(log_path)
        log_fd = _open_checked(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        with os.fdopen(log_fd, "a", encoding="utf-8") as log:
            yield log


def _trust(path: Path) -> None:
    with suppress(FileNotFoundError):
        os.close(_open_checked(path, os.O_RDONLY))


# --- the audit trail --------------------------------------------------------------------------------


def _rotate(log_path: Path) -> None:
    with suppress(FileNotFoundError):
        if log_path.lstat().st_size > AUDIT_MAX_BYTES:
            os.replace(log_path, _older_log(log_path))


def _older_log(log_path: Path) -> Path:
    return log_path.with_name(log_path.name + ".1")


def _record(log: TextIO, name: str, outcome: str, by: str | None = None) -> None:
    """Append one JSON line; call under ``_locked``. The password is never passed in."""
    shown = name if len(name) <= _LOGGED_NAME else name[:_LOGGED_NAME] + "…"
    entry: dict[str, str] = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                             "name": shown, "outcome": outcome}
    if by is not None:
        entry["by"] = by
    log.write(json.dumps(entry, ensure_ascii=False) + "\n")
    log.flush()


def _log(accounts: Path, name: str, outcome: str) -> None:
    with _locked(accounts) as log:
        _record(log, name, outcome)


def audit(path: str | Path | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` audit entries, newest first: time (UTC ISO), name, outcome and, for
    changes made through the dashboard, by. A line that is not JSON (cut short by a crash) is skipped."""
    target = accounts_path(path)
    _, log_path = _companions(target)
    if limit <= 0 or not _check_folder(target.parent):
        return []
    entries: list[dict[str, Any]] = []
    with _lock(target):  # so a rotation cannot happen between reading the two files
        for source in (log_path, _older_log(log_path)):
            text = _read_text(source) or ""
            for line in reversed(text.splitlines()):
                with suppress(ValueError):
                    entry = json.loads(line)
                    if isinstance(entry, dict):
                        entries.append(entry)
                if len(entries) >= limit:
                    return entries
    return entries


# --- accounts -----------------------------------------------------------------------------------------


def names(path: str | Path | None = None) -> list[str]:
    return sorted(_read(accounts_path(path)))


def add(name: str, password: str, path: str | Path | None = None, *, replace: bool = True,
        by: str | None = None, hasher: PasswordHasher | None = None, role: Role | None = None) -> bool:
    """Create an analyst, or (with replace) set a new password; True when one was replaced.
    The dashboard passes replace=False, so one analyst cannot take over another's account, and
    ``by`` (the signed-in analyst) for the audit trail. ``hasher`` is for tests only."""
    if not _NAME.match(name):
        raise AccountError("An analyst name starts with a letter and has at most 64 letters, digits,"
                           " spaces or . _ ' -.")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password must have at least {MIN_PASSWORD} characters.")
    hashed = (hasher or _hasher).hash(password)  # slow, so done before taking the lock
    target = accounts_path(path)
    with _locked(target) as log:
        accounts, roles = _read_all(target)
        existed = name in accounts
        if existed and not replace:
            raise AccountError(f"There is already an analyst called '{name}'; choose another name.")
        accounts[name] = hashed
        if role is not None:
            roles[name] = check_role(role)
        _write(target, accounts, roles)
        _record(log, name, REPLACED if existed else ADDED, by)
        if role is not None:
            _record(log, name, f"role set: {role.words()}", by)
    return existed


def check_role(role: Role) -> Role:
    if role.role not in ROLES:
        raise AccountError(f"A role is one of {', '.join(ROLES)}; got '{role.role}'.")
    if (role.role == "district_lead") != bool(role.areas):
        raise AccountError("A district lead leads named areas (--area), and only a district lead does.")
    return role


def role_of(name: str, path: str | Path | None = None) -> Role | None:
    """The account's role (an account from before roles is an analyst); None for no such account."""
    accounts, roles = _read_all(accounts_path(path))
    return roles.get(name, ANALYST) if name in accounts else None


def accounts(path: str | Path | None = None) -> list[tuple[str, Role]]:
    """Every account and its role, by name."""
    names_, roles = _read_all(accounts_path(path))
    return [(n, roles.get(n, ANALYST)) for n in sorted(names_)]


def set_role(name: str, role: Role, path: str | Path | None = None, *, by: str | None = None) -> None:
    """Give an account a role (recorded in the audit log with who did it)."""
    check_role(role)
    target = accounts_path(path)
    with _locked(target) as log:
        names_, roles = _read_all(target)
        if name not in names_:
            raise AccountError(f"There is no account called '{name}'.")
        roles[name] = role
        _write(target, names_, roles)
        _record(log, name, f"role set: {role.words()}", by)


def remove(name: str, path: str | Path | None = None, *, by: str | None = None) -> None:
    target = accounts_path(path)
    with _locked(target) as log:
        accounts_, roles = _read_all(target)
        if name not in accounts_:
            raise AccountError(f"There is no analyst called '{name}'.")
        del accounts_[name]
        roles.pop(name, None)
        _write(target, accounts_, roles)
        _record(log, name, REMOVED, by)


# --- sign-in ------------------------------------------------------------------------------------------


def _seconds(wait: float) -> str:
    whole = max(1, math.ceil(wait))  # never "try again in 0 seconds"
    return "1 second" if whole == 1 else f"{whole} seconds"


def _backoff(failures: int, free: int, cap: float, last: float, now: float) -> float:
    """Seconds left before the next attempt: none for the free failures, then 2, 4, 8 ... up to cap."""
    if failures < free:
        return 0.0
    wait = min(cap, 2.0 ** min(failures - free + 1, 32))
    return max(0.0, last + wait - now)


@dataclass
class Throttle:
    """Failed sign-ins kept in the process, shared by every browser session of one server.

    Per name: ``free_attempts`` failures, then doubling waits up to ``max_wait``. Per client across
    names (password spraying): after ``server_free_attempts`` failures (any names) from one client
    address within ``server_window`` seconds, that client waits, doubling up to ``server_max_wait``.
    Keyed by client, so a stranger spraying names cannot lock every analyst out; attempts whose
    client is unknown share one key. ``clock`` gives seconds (monotonic); tests pass their own."""

    free_attempts: int = 3
    max_wait: float = 60.0
    server_free_attempts: int = 20
    server_window: float = 600.0
    server_max_wait: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _names: dict[str, tuple[int, float]] = field(default_factory=dict, repr=False)
    _server: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wait_left(self, name: str, now: float | None = None, client: str | None = None) -> float:
        """Seconds before ``name`` may try again (the longer of its own wait and its client's)."""
        now = self.clock() if now is None else now
        with self._lock:
            return max(self._name_wait(name.lower(), now), self._server_wait(now, client or ""))

    def reserve(self, name: str, now: float | None = None, client: str | None = None) -> float:
        """Take the next attempt for ``name``, counted as failed until ``succeeded``; returns its time.

        Checking the wait and counting the attempt are one step under the lock: otherwise sessions
        submitting together would all see no wait and all have their guesses checked."""
        now = self.clock() if now is None else now
        key, source = name.lower(), client or ""
        with self._lock:
            self._forget(now)
            server, own = self._server_wait(now, source), self._name_wait(key, now)
            if server > 0 and server >= own:
                raise Throttled(f"Too many failed sign-ins on this server; try again in {_seconds(server)}.",
                                server)
            if own > 0:
                raise Throttled(f"Too many failed attempts; try again in {_seconds(own)}.", own)
            failures, _ = self._names.get(key, (0, 0.0))
            self._names[key] = (failures + 1, now)
            self._server.setdefault(source, deque()).append(now)
        return now

    def succeeded(self, name: str, reserved: float | None = None, client: str | None = None) -> None:
        """The attempt reserved at ``reserved`` was right: forget the name's failures and take back
        that one attempt from the server's count, but not the other failures (a success for one name
        must not let a guesser spraying other names start again)."""
        with self._lock:
            self._names.pop(name.lower(), None)
            if reserved is not None:
                with suppress(ValueError):
                    self._server.get(client or "", deque()).remove(reserved)

    def _name_wait(self, key: str, now: float) -> float:
        failures, last = self._names.get(key, (0, 0.0))
        return _backoff(failures, self.free_attempts, self.max_wait, last, now)

    def _server_wait(self, now: float, client: str) -> float:
        recent = [t for t in self._server.get(client, ()) if t > now - self.server_window]
        if not recent:
            return 0.0
        return _backoff(len(recent), self.server_free_attempts, self.server_max_wait, recent[-1], now)

    def _forget(self, now: float) -> None:
        # Keeps memory bounded against a guesser trying endless names; a name idle this long has
        # no wait left, and starting it again at three free attempts is slower for a guesser than
        # one attempt per max_wait.
        for source in list(self._server):
            times = self._server[source]
            while times and times[0] <= now - self.server_window:
                times.popleft()
            if not times:
                del self._server[source]
        idle = max(self.server_window, self.max_wait)
        for key in [k for k, (_, last) in self._names.items() if last <= now - idle]:
            del self._names[key]


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int, hash_len: int, salt_len: int,
                kind: Type) -> str:
    """A hash of a random secret with the same cost as real ones, made once per setting."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism,
                            hash_len=hash_len, salt_len=salt_len, type=kind)
    return hasher.hash(secrets.token_urlsafe(32))


def _matches(stored: str | None, password: str, hasher: PasswordHasher) -> bool:
    # An unknown name is checked against the dummy hash, so it costs the same as a wrong password.
    reference = stored if stored is not None else _dummy_hash(
        hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len, hasher.type)
    try:
        hasher.verify(reference, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def sign_in(name: str, password: str, throttle: Throttle, path: str | Path | None = None, *,
            hasher: PasswordHasher | None = None, client: str | None = None) -> str:
    """Return the analyst's name, or raise AccountError with a sentence for the user.
    Every attempt is recorded in the audit log. ``hasher`` is for tests only."""
    target = accounts_path(path)
    stored = _read(target).get(name)  # an untrusted file stops here, before any attempt is counted
    try:
        reserved = throttle.reserve(name, client=client)
    except Throttled:
        _log(target, name, THROTTLED)
        raise
    if not _matches(stored, password, hasher or _hasher):
        _log(target, name, MISMATCH)
        raise AccountError(_MISMATCH_SENTENCE)
    _log(target, name, SIGNED_IN)  # before forgetting the failures: no sign-in goes unrecorded
    throttle.succeeded(name, reserved, client=client)
    return name
