"""The arithmetic behind a status, in plain words, from a row of ``status.query``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.present.words import row_reason


def number(x: float | None, unit: str = "") -> str:
    """Figures as a board reads them: thousands separated, at most two decimals."""
    if x is None:
        return "–"
    if 0 < abs(x) < 0.01:
        return f"{x:.2g}"  # 0.001 worse must not read as "0 worse"
    text = f"{x:,.0f}" if float(x).is_integer() and abs(x) >= 100 else f"{x:,.2f}".rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return f"{text}{unit}" if unit == "%" else text


def percent(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}%"


def _worse_or_better(x: float | None, size: Callable[[float], str]) -> str:
    """'0.12 worse' / '1.75 better': a minus sign is easily missed or misread."""
    if x is None:
        return "–"
    if round(x, 9) == 0:
        return "on target"
    return f"{size(abs(x))} {'worse' if x > 0 else 'better'}"


def shortfall_words(x: float | None) -> str:
    """'0.12 worse' / '1.75 better' than the target; '–' when there is none."""
    return _worse_or_better(x, number)


def percent_words(x: float | None) -> str:
    """'1.7% worse' / '15.4% better' against the target; '–' when there is none."""
    return _worse_or_better(x, percent)


def band(row: dict[str, Any]) -> str:
    if row["band_kind"] == "percent":
        return f"{row['band']:g}% band"
    return f"band of {number(row['band'])}"


def why(row: dict[str, Any]) -> str:
    """e.g. '7.19 against a target of 7.07, lower is better: 0.12 worse, 1.7% of the
    target, within the 5% band → AMBER'."""
    status = row["status"]
    if status == "NA":
        return f"No status: {row_reason(row)} → NA"
    head = f"{number(row['value'])} against a target of {number(row['target'])}, {row['better']} is better"
    if status == "GREY":
        return (f"{head}; the confidence interval {number(row['lower'])} to {number(row['upper'])}"
                " contains the target, so the difference is not significant → GREY")
    shortfall = row["shortfall"]
    pct = row["percent_off"]
    share = f", {percent(abs(pct))} of the target" if pct is not None else ""
    if shortfall < 0:
        return f"{head}: {number(-shortfall)} better{share} → GREEN"
    if shortfall == 0:
        return f"{head}: exactly on target → GREEN"
    where = "within" if status == "AMBER" else "beyond"
    return f"{head}: {number(shortfall)} worse{share}, {where} the {band(row)} → {status}"
