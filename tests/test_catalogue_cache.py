"""The validated-catalogue cache: a hit gives exactly the catalogue the file gives, a changed file
is read again, a corrupt or tampered entry is ignored, and a folder others can write is never used."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
from pathlib import Path

import pytest

from helpers import CONFIG_PATH
from pipelines.catalogue import cache, config

SMALL = """\
county: Shire
districts: [Dale, Vale]
amber_tolerance: 10%
indicators:
  - id: NI 1
    name: One
    better: lower
    levels: [county, district]
    targets: {2010/11: 11.35, 2011/12: 10}
    area_targets: {Dale: {2010/11: 9.5}}
  - id: NI 2
    name: Two
    unit: "%"
    better: higher
    amber_tolerance: 2
    grey_when_not_significant: true
    description: A rate.
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(where))
    return where


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every time a catalogue file is actually parsed (a cache miss)."""
    seen: list[str] = []
    real = config.read_yaml

    def counting(text: str, path: str | Path = "indicators.yaml") -> object:
        seen.append(str(path))
        return real(text, path)

    monkeypatch.setattr(config, "read_yaml", counting)
    return seen


def write(tmp_path: Path, text: str = SMALL, name: str = "indicators.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.exists() else []


def same(a: config.Catalogue, b: config.Catalogue) -> None:
    assert a == b
    # every field but the bytes it was read from (none for a catalogue parsed from a dict)
    assert ({k: v for k, v in dataclasses.asdict(a).items() if k != "source"}
            == {k: v for k, v in dataclasses.asdict(b).items() if k != "source"})
    for x, y in zip(a.indicators, b.indicators, strict=True):
        assert type(x.amber_tolerance) is type(y.amber_tolerance)
        assert [type(getattr(x, f.name)) for f in dataclasses.fields(x)] == [
            type(getattr(y, f.name)) for f in dataclasses.fields(y)]
        assert [type(k) for k in x.targets] == [type(k) for k in y.targets]


@pytest.mark.parametrize("source", ["small", "sample"])
def test_a_second_load_comes_from_the_cache_and_is_the_same_catalogue(
        source: str, tmp_path: Path, folder: Path, parses: list[str]) -> None:
    path = write(tmp_path) if source == "small" else CONFIG_PATH
    first = config.load(path)
    assert len(parses) == 1 and len(entries(folder)) == 1
    second = config.load(path)
    assert len(parses) == 1  # not parsed again
    same(first, second)
    # and both are what validation without any cache gives
    same(config.parse(config.read_yaml(path.read_text(encoding="utf-8"))), second)
    assert second.tolerance(second.indicators[0]) == first.tolerance(first.indicators[0])


def test_the_cached_catalogue_is_the_validated_one_not_the_raw_yaml(tmp_path: Path, folder: Path) -> None:
    config.load(write(tmp_path))
    cat = config.load(write(tmp_path))
    assert cat.name == "Shire Safer Communities Board"  # the default name, filled in by validation
    ind = cat.indicator("NI 1")
    assert ind.targets == {2010: 11.35, 2011: 10.0} and isinstance(ind.targets[2011], float)
    assert ind.area_targets == {"Dale": {2010: 9.5}}
    assert cat.amber_tolerance == config.Tolerance("percent", 10.0)
    assert cat.indicator("NI 2").amber_tolerance == config.Tolerance("absolute", 2.0)
    assert cat.indicator("NI 2").grey_when_not_significant is True
    assert cat.indicator("NI 2").levels == ("county",)


def test_a_changed_file_is_read_again(tmp_path: Path, folder: Path, parses: list[str]) -> None:
    path = write(tmp_path)
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35
    write(tmp_path, SMALL.replace("11.35", "12.5"))
    assert config.load(path).indicator("NI 1").targets[2010] == 12.5
    assert len(parses) == 2 and len(entries(folder)) == 2
    # going back to the first content finds the first entry again
    write(tmp_path)
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35
    assert len(parses) == 2


def test_the_key_is_the_content_not_the_name(tmp_path: Path, folder: Path, parses: list[str]) -> None:
    config.load(write(tmp_path, name="a.yaml"))
    config.load(write(tmp_path, name="b.yaml"))
    assert len(parses) == 1
    assert cache.key(SMALL.encode()) != cache.key((SMALL + " ").encode())


def test_an_invalid_catalogue_is_never_kept(tmp_path: Path, folder: Path) -> None:
    path = write(tmp_path, SMALL.replace("better: lower", "better: down"))
    for _ in range(2):
        with pytest.raises(config.ConfigError) as exc:
            config.load(path)
        assert any("better: must be 'lower', 'higher' or 'neither'" in p for p in exc.value.problems)
    assert entries(folder) == []


def test_duplicate_keys_are_still_refused_after_the_good_file_was_cached(tmp_path: Path, folder: Path) -> None:
    path = write(tmp_path)
    config.load(path)
    write(tmp_path, SMALL.replace("    better: higher\n", "    better: higher\n    better: lower\n"))
    with pytest.raises(config.ConfigError, match="appears twice"):
        config.load(path)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "retyped", "other-file", "bad-json",
                                    "nan-target", "district-is-county", "repeated-id"])
def test_a_corrupt_entry_is_ignored(damage: str, tmp_path: Path, folder: Path, parses: list[str]) -> None:
    path = write(tmp_path)
    good = config.load(path)
    (entry,) = entries(folder)
    head, _, payload = entry.read_bytes().partition(b"\n")
    name = head.split(b" ")[0]
    if damage == "garbage":
        entry.write_bytes(os.urandom(300))
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:-40])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        if damage == "retyped":  # a well-formed entry holding a value of the wrong type
            payload = payload.replace(b"11.35", b'"11.35"')
        elif damage == "other-file":  # a valid entry, but for other bytes
            name = cache.key(b"something else").encode()
        elif damage == "nan-target":  # well typed, but no catalogue has it: json reads NaN
            payload = payload.replace(b"11.35", b"NaN")
        elif damage == "district-is-county":
            payload = payload.replace(b'"districts": ["', b'"districts": ["Shire", "')
        elif damage == "repeated-id":
            payload = payload.replace(b'"id": "NI 2"', b'"id": "NI 1"')
        else:
            payload = payload[:-3]
        entry.write_bytes(name + b" " + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    os.chmod(entry, 0o600)
    same(config.load(path), good)
    assert len(parses) == 2  # read from the file again


def test_an_entry_that_changed_meaning_is_not_believed_without_its_checksum(
        tmp_path: Path, folder: Path) -> None:
    path = write(tmp_path)
    config.load(path)
    (entry,) = entries(folder)
    entry.write_bytes(entry.read_bytes().replace(b"11.35", b"99.99"))  # checksum no longer matches
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35


def plant(folder: Path, path: Path, target: float) -> None:
    """An entry for ``path``'s bytes saying something the file does not."""
    changed = config.parse(config.read_yaml(SMALL.replace("11.35", str(target))))
    body = json.dumps(config._dump(changed)).encode()
    name = cache.key(path.read_bytes())
    (folder / f"{name}.json").write_bytes(f"{name} {hashlib.sha256(body).hexdigest()}\n".encode() + body)
    os.chmod(folder / f"{name}.json", 0o600)


def test_a_planted_entry_in_a_private_folder_is_read(tmp_path: Path, folder: Path) -> None:
    """The control for the tests below: planting works when the folder is trusted."""
    path = write(tmp_path)
    folder.mkdir(mode=0o700)
    plant(folder, path, 42.0)
    assert config.load(path).indicator("NI 1").targets[2010] == 42.0


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722, 0o1777])
def test_a_folder_others_can_write_is_not_used(mode: int, tmp_path: Path, folder: Path,
                                              parses: list[str]) -> None:
    path = write(tmp_path)
    folder.mkdir()
    os.chmod(folder, mode)
    plant(folder, path, 42.0)
    parses.clear()
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35
    assert len(parses) == 2  # nothing kept there, nothing read from there
    assert len(entries(folder)) == 1  # only the planted one


def test_an_entry_others_can_write_is_not_used(tmp_path: Path, folder: Path) -> None:
    path = write(tmp_path)
    folder.mkdir(mode=0o700)
    plant(folder, path, 42.0)
    (entry,) = entries(folder)
    os.chmod(entry, 0o666)
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35


def test_a_folder_that_is_a_link_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.setenv(cache.ENV, str(link))
    path = write(tmp_path)
    plant(real, path, 42.0)
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35


def test_an_entry_that_is_a_link_is_not_used(tmp_path: Path, folder: Path) -> None:
    path = write(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    plant(elsewhere, path, 42.0)
    folder.mkdir(mode=0o700)
    (planted,) = entries(elsewhere)
    (folder / planted.name).symlink_to(planted)
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_of_another_user_is_not_used(tmp_path: Path, folder: Path) -> None:
    path = write(tmp_path)
    folder.mkdir(mode=0o700)
    plant(folder, path, 42.0)
    os.chown(folder, 12345, 12345)
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35


def test_a_new_folder_is_private(tmp_path: Path, folder: Path) -> None:
    config.load(write(tmp_path))
    assert folder.stat().st_mode & 0o777 == 0o700
    (entry,) = entries(folder)
    assert entry.stat().st_mode & 0o777 == 0o600
    assert not list(folder.glob(".entry-*"))  # no temporary file left behind


def test_the_cache_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    monkeypatch.setenv(cache.ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = write(tmp_path)
    config.load(path)
    config.load(path)
    assert len(parses) == 2
    assert not (tmp_path / "xdg").exists()


def test_the_default_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.folder() == tmp_path / "xdg" / "ragboard"


def test_a_folder_that_cannot_be_made_only_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.ENV, str(blocker / "cache"))
    path = write(tmp_path)
    assert config.load(path).indicator("NI 1").targets[2010] == 11.35


def test_the_cache_version_is_ragboards() -> None:
    assert cache.VERSION == importlib.metadata.version("ragboard")


def test_no_home_directory_only_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert cache.folder() is None
    assert config.load(write(tmp_path)).indicator("NI 1").targets[2010] == 11.35
