"""Paths and helpers shared by the unit, page and browser tests (the fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.catalogue import config
from pipelines.ingest import loading

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "sample"
CONFIG_PATH = ROOT / "indicators.yaml"
Q1_2010 = 2010 * 4  # quarter index of 2010/11 Q1


def load_sample(connection: duckdb.DuckDBPyConnection, catalogue: config.Catalogue) -> None:
    """Load every sample quarter through the real ingest path."""
    files = sorted(SAMPLE_DIR.glob("*.csv"))
    assert files, f"no sample files in {SAMPLE_DIR}"
    loading.load_files(connection, files, catalogue, analyst="init")
