"""Fixtures shared by the unit, page and browser tests: the catalogue, databases, sample data, and
the environment a page test runs in (helpers.py holds the plain functions and constants)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import streamlit as st

import helpers
from helpers import ANALYST, CONFIG_PATH, PASSWORD, load_sample
from pipelines.catalogue import config
from pipelines.storage import analysts, backend, store


@pytest.fixture(scope="session")
def catalogue() -> config.Catalogue:
    return config.load(CONFIG_PATH)


@pytest.fixture(scope="session")
def postgres() -> Iterator[helpers.Postgres]:
    """A real PostgreSQL server (Debian's postgresql package) in a temporary folder on a free port,
    for the lake's catalog; stopped after the session."""
    server = helpers.Postgres.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lake(postgres: helpers.Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty lake: its catalog a new PostgreSQL database, its data a folder of this test's.
    The location string, with $RAGBOARD_DATA_PATH set to the folder."""
    location = postgres.new_lake()
    monkeypatch.setenv("RAGBOARD_DATA_PATH", str(tmp_path / "lake-data"))
    try:
        yield location
    finally:
        backend.close_lakes()


@pytest.fixture(params=["memory", "file", "lake"])
def con(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty database with the schema, in memory, in a file and in a lake (PostgreSQL and
    Parquet): store tests run on each."""
    path: str | Path = ":memory:" if request.param == "memory" else tmp_path / "test.duckdb"
    if request.param == "lake":
        path = request.getfixturevalue("lake")
    with store.connect(path) as connection:
        yield connection


@pytest.fixture(scope="session")
def sample_db_template(tmp_path_factory: pytest.TempPathFactory, catalogue: config.Catalogue) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with store.connect(path) as connection:
        load_sample(connection, catalogue)
    return path


@pytest.fixture
def sample_db(tmp_path: Path, sample_db_template: Path) -> Path:
    """A fresh copy of a file database holding every sample quarter."""
    path = tmp_path / "ragboard.duckdb"
    shutil.copy(sample_db_template, path)
    return path


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, sample_db: Path) -> Iterator[Path]:
    """For page tests (``pytestmark = pytest.mark.usefixtures("fresh")``): caches outlive an AppTest
    within one pytest process, so clear them, and give each test its own copy of the sample database."""
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("RAGBOARD_DB", str(sample_db))
    monkeypatch.delenv("RAGBOARD_CONFIG", raising=False)
    yield sample_db
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An accounts file holding one analyst (helpers.ANALYST, helpers.PASSWORD), for the pages to use."""
    path = tmp_path / "analysts.json"
    analysts.add(ANALYST, PASSWORD, path)
    monkeypatch.setenv("RAGBOARD_ANALYSTS", str(path))
    return path


@pytest.fixture(scope="session", autouse=True)
def _catalogue_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Validated catalogues are cached in a folder of the test run's own, never the user's
    ~/.cache (command-line runs inherit it); tests of the cache point it elsewhere themselves."""
    import os

    from pipelines.catalogue import cache

    folder = tmp_path_factory.mktemp("catalogue-cache")
    folder.chmod(0o700)
    before = os.environ.get(cache.ENV)
    os.environ[cache.ENV] = str(folder)
    yield
    if before is None:
        os.environ.pop(cache.ENV, None)
    else:
        os.environ[cache.ENV] = before
