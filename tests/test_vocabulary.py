"""One definition of each status and reason: what the pages, the pack and the CLI draw from."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from pipelines.present import palette, words
from pipelines.rules import codes
from pipelines.rules.codes import Reason


def test_palette_names_are_derived_from_the_one_definition() -> None:
    assert palette.STATUS_STYLE == {
        "GREEN": ("●", "#009E73", "circle"), "AMBER": ("▲", "#E69F00", "triangle-up"),
        "RED": ("■", "#D55E00", "square"), "GREY": ("◆", "#A6A6A6", "diamond"),
        "NA": ("○", "#FFFFFF", "circle-open")}
    assert list(palette.STATUS_STYLE) == ["GREEN", "AMBER", "RED", "GREY", "NA"]  # drawing order
    assert palette.SEVERITY == {"RED": 0, "AMBER": 1, "GREY": 2, "NA": 3, "GREEN": 4}
    assert palette.NEEDS_UPDATE == ("RED", "AMBER")
    assert palette.STATUS_MEANING["GREY"] == "difference from target not statistically significant"
    for s in codes.STATUSES:
        assert palette.STATUS_STYLE[s.word] == (s.symbol, s.colour, s.marker)
        assert codes.status(s.word) is s and str(s) == s.word


def test_a_status_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        codes.RED.colour = "#FF0000"  # type: ignore[misc]


def test_reason_codes_compare_with_the_text_the_query_returns() -> None:
    assert Reason.NO_DATA == "no_data" and "within_band" == Reason.WITHIN_BAND
    assert codes.UNRATED == {r for r, s in codes.REASON_STATUS.items() if s is codes.NA}
    with pytest.raises(ValueError):
        words.reason("no data", 8040)  # words are not codes


# A comparison with a reason's words (``r["reason"] == "no data"``, ``reason != 'no data'``): the
# pages and the pack compare codes instead.
_TEXT_COMPARISON = re.compile(
    r"""(reason["']\]|\.reason)\s*(==|!=|in\b)|\breason\s*(==|!=)|(==|!=)\s*["'](no data|not available)""")


def _page_and_pack_files() -> list[Path]:
    files = sorted((ROOT / "dashboard").rglob("*.py")) + sorted((ROOT / "pipelines" / "report").rglob("*.py"))
    return files + sorted((ROOT / "pipelines" / "report" / "templates").glob("*.j2"))


def test_no_page_or_template_compares_display_text() -> None:
    files = _page_and_pack_files()
    assert len(files) > 10
    found = [f"{f.relative_to(ROOT)}:{n}: {line.strip()}" for f in files
             for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
             if _TEXT_COMPARISON.search(line)]
    assert found == []


def test_the_pattern_finds_what_it_is_meant_to_find() -> None:
    for line in ('if r["reason"] == "no data":', "if prev['reason'] != 'no data'", "{% if r.reason == 'x' %}",
                 'x == "not available"', 'if before["reason"] in ("no data", "not available"):'):
        assert _TEXT_COMPARISON.search(line), line
    assert not _TEXT_COMPARISON.search('if r["reason_code"] == Reason.NO_DATA:')
    assert not _TEXT_COMPARISON.search('"""Status rows, each with its reason in words"""')


def test_the_boards_name_is_written_only_in_the_catalogue() -> None:
    written = [str(f.relative_to(ROOT)) for f in _page_and_pack_files()
               if "Safer Communities Board" in f.read_text(encoding="utf-8")]
    assert written == []


def test_the_command_lines_reason_column_keeps_its_words(sample_db: Path) -> None:
    """`status --format json` end to end: the reason beside each status, in today's words."""
    env = {**os.environ, "RAGBOARD_DB": str(sample_db), "PYTHONPATH": str(ROOT)}
    env.pop("RAGBOARD_CONFIG", None)
    result = subprocess.run([sys.executable, "-m", "pipelines", "status", "--quarter", "2010/11 Q1", "--area",
                             "Derbyshire", "--format", "json"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    rows = {r["indicator"]: r for r in json.loads(result.stdout)}
    assert {i: (r["status"], r["reason"]) for i, r in rows.items()} == {
        "NI 1": ("AMBER", "worse than target, within the band"),
        "NI 16": ("GREEN", "on or better than target"),
        "NI 18": ("GREY", "not significant: the target is within the confidence interval"),
        "NI 20": ("AMBER", "worse than target, within the band"),
        "NI 27": ("RED", "worse than target, beyond the band"),
        "NI 32": ("RED", "worse than target, beyond the band"),
        "NI 39": ("AMBER", "worse than target, within the band"),
        "NI 47": ("AMBER", "worse than target, within the band"),
        "NI 49": ("RED", "worse than target, beyond the band"),
        "LI 1": ("GREEN", "on or better than target"),
        "LI 2": ("GREEN", "on or better than target")}
    assert list(rows["NI 1"]) == list(words.CLI_COLUMNS)
