"""The engine's layers import only downwards and stay free of the user interface."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pipelines
from helpers import ROOT


def engine_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(pipelines.__path__, "pipelines.") if not m.name.endswith("__main__")]


def test_engine_modules_import_no_ui_or_heavy_libraries() -> None:
    modules = engine_modules()
    assert {"pipelines.catalogue.config", "pipelines.rules.status", "pipelines.ingest.loading",
            "pipelines.report.pack", "pipelines.cli"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(' '.join(sorted(n for n in ('streamlit', 'plotly', 'pandas', 'dashboard') if n in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_every_import_linter_contract_is_kept() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert any(c["type"] == "layers" for c in contracts)
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for contract in contracts:
        assert f"{contract['name']} KEPT" in result.stdout, contract["name"]
    assert f"Contracts: {len(contracts)} kept, 0 broken." in result.stdout
