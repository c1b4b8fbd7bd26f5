"""Fixtures shared by the unit, page and browser tests: the catalogue, databases, sample data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from fixtures import CONFIG_PATH, load_sample
from pipelines.catalogue import config
from pipelines.storage import store


@pytest.fixture(scope="session")
def catalogue() -> config.Catalogue:
    return config.load(CONFIG_PATH)


@pytest.fixture(params=["memory", "file"])
def con(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty database with the schema, in memory and in a file: store tests run on both."""
    path = ":memory:" if request.param == "memory" else tmp_path / "test.duckdb"
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
