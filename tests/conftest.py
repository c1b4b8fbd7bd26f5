"""Fixtures shared by the unit, page and browser tests: the catalogue, databases, sample data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines import config, ingest, store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "sample"
CONFIG_PATH = ROOT / "indicators.yaml"
Q1_2010 = 2010 * 4  # quarter index of 2010/11 Q1


@pytest.fixture(scope="session")
def catalogue() -> config.Catalogue:
    return config.load(CONFIG_PATH)


@pytest.fixture(params=["memory", "file"])
def con(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty database with the schema, in memory and in a file: store tests run on both."""
    path = ":memory:" if request.param == "memory" else tmp_path / "test.duckdb"
    with store.connect(path) as connection:
        yield connection


def load_sample(connection: duckdb.DuckDBPyConnection, catalogue: config.Catalogue) -> None:
    for path in sorted(SAMPLE_DIR.glob("*.csv")):
        upload = ingest.read_file(path, catalogue)
        assert upload.ok, upload.checked.problems
        ingest.load(connection, upload, analyst="init")


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


def write_csv(tmp_path: Path, text: str, name: str = "upload.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path
