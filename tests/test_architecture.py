"""The engine stays free of the user interface, and the CLI stays light to start."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pipelines
from fixtures import ROOT


def test_engine_modules_import_no_ui_or_heavy_libraries() -> None:
    modules = [f"pipelines.{m.name}" for m in pkgutil.iter_modules(pipelines.__path__) if m.name != "__main__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(' '.join(sorted(n for n in ('streamlit', 'plotly', 'pandas', 'dashboard') if n in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
    assert "pipelines.status" in modules and "pipelines.cli" in modules


def test_import_linter_contract_holds() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
