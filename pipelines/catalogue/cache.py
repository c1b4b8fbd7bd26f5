"""Validated catalogues kept between runs, so that a start does not parse and validate the YAML again.

An entry is found by its key: the SHA-256 of the catalogue file's bytes together with ragboard's
version and the source of the code that reads and validates a catalogue (``config.py``,
``quarters.py``, ``models.py`` and ``validation.py``), so a changed file, a new release or a
changed rule never finds an old entry.
An entry holds the validated catalogue as JSON (never a pickle: reading it runs no code) and the
SHA-256 of that JSON; one that does not match, cannot be read or is not what ``config`` expects is
ignored, and the file is read and validated as if there were no cache.

The folder is ``$RAGBOARD_CACHE`` (``off`` for none), else ``$XDG_CACHE_HOME/ragboard`` or
``~/.cache/ragboard``. Whoever can write to the folder could change what a catalogue means, so a
folder, or an entry, that is not the user's own or that others can write to is not used at all;
entries are opened without following symbolic links and written whole (a temporary file renamed
into place).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

ENV = "RAGBOARD_CACHE"
# The layout of an entry; raise it when the JSON that config writes changes shape.
FORMAT = 7
VERSION = "0.1.0"  # ragboard's version (pyproject.toml): a new release starts a new cache
# An entry is far smaller than the 5 MB a catalogue may be; more than this is not one of ours.
MAX_ENTRY_BYTES = 16 * 1024 * 1024
_UNSAFE_MODE = stat.S_IWGRP | stat.S_IWOTH
_HERE = Path(__file__).resolve().parent
_CODE = (_HERE / "config.py", _HERE / "quarters.py", _HERE / "models.py", _HERE / "validation.py")
_code_digest: str | None = None


def folder() -> Path | None:
    """Where entries are kept, or None when caching is switched off (``RAGBOARD_CACHE=off``)."""
    setting = os.environ.get(ENV, "")
    if setting.strip().lower() in ("off", "0", "no", "false", "none"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory for this user (a bare service account): no cache
            return None
    return Path(base) / "ragboard"


def _code() -> str:
    global _code_digest
    if _code_digest is None:
        digest = hashlib.sha256()
        for source in _CODE:
            digest.update(source.read_bytes())
        _code_digest = digest.hexdigest()
    return _code_digest


def key(data: bytes) -> str:
    """The entry's name for a catalogue file whose bytes are ``data``."""
    digest = hashlib.sha256(f"ragboard {VERSION} cache {FORMAT} code {_code()}\n".encode())
    digest.update(data)
    return digest.hexdigest()


def usable(where: Path) -> bool:
    """True when ``where`` is a real folder (not a link to one) of this user that others cannot write."""
    try:
        info = os.lstat(where)
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & _UNSAFE_MODE)


def lookup(data: bytes) -> str | None:
    """The JSON kept for a catalogue file with these bytes, or None (no entry, or one not to trust)."""
    try:
        where = folder()
        if where is None or not usable(where):
            return None
        name = key(data)
        fd = os.open(where / (name + ".json"), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & _UNSAFE_MODE
                    or info.st_size > MAX_ENTRY_BYTES):
                return None
            entry = file.read(MAX_ENTRY_BYTES + 1)
        head, sep, payload = entry.partition(b"\n")
        if not sep or head.decode("ascii") != name + " " + hashlib.sha256(payload).hexdigest():
            return None  # another file's entry, cut short or changed
        return payload.decode("utf-8")
    except (OSError, ValueError):
        return None


def store(data: bytes, payload: str) -> None:
    """Keep ``payload`` (config's JSON for the catalogue in ``data``); a failure only means no entry."""
    try:
        where = folder()
        if where is None:
            return
        if not where.exists():
            where.mkdir(mode=0o700, parents=True, exist_ok=True)  # parents such as ~/.cache keep their mode
        if not usable(where):
            return
        body = payload.encode("utf-8")
        name = key(data)
        fd, temporary = tempfile.mkstemp(dir=where, prefix=".entry-", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(f"{name} {hashlib.sha256(body).hexdigest()}\n".encode("ascii") + body)
            os.replace(temporary, where / (name + ".json"))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError:
        return
