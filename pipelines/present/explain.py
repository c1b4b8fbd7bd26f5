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


def given(value: float | None, numerator: float | None = None, denominator: float | None = None) -> str:
    """What a row gives: its figure, else its counts ('55 of 356', '995 counted'), else '–'."""
    if value is not None:
        return number(value)
    if numerator is not None and denominator is not None:
        return f"{number(numerator)} of {number(denominator)}"
    if numerator is not None:
        return f"{number(numerator)} counted"
    return "–"


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


SIGNIFICANCE_WORDS = {
    "better": "significantly better than",
    "worse": "significantly worse than",
    "similar": "similar to",
    "higher": "significantly higher than",
    "lower": "significantly lower than",
}
# The symbol drawn beside the words, so significance is never colour alone
SIGNIFICANCE_SYMBOLS = {"better": "▼▲", "worse": "▲▼", "similar": "≈", "higher": "↑", "lower": "↓"}
METHOD_NAMES = {
    "wilson": "Wilson score interval",
    "byar": "Byar's method",
    "exact": "exact Poisson interval",
    "supplied": "interval as supplied",
}


def significance_words(significance: str | None) -> str:
    """'significantly better than' …; '–' when the figure was not compared."""
    return SIGNIFICANCE_WORDS.get(significance or "", "–")


def figure(row: dict[str, Any]) -> str:
    """'9.6 per 1,000 population' or '15.45%': the figure with its unit."""
    unit = row.get("unit") or ""
    text = number(row["value"], unit)
    return f"{text} {unit}" if unit and unit != "%" and row.get("measure") == "rate" else text


def interval(row: dict[str, Any]) -> str:
    """'95% CI 9.3 to 9.9' (with the counts behind it and where they came from), or ''."""
    if row.get("ci_lower") is None or row.get("ci_upper") is None:
        return ""
    level = f"{row['confidence']:g}% " if row.get("ci_method") != "supplied" and row.get("confidence") else ""
    parts = [f"{level}CI {number(row['ci_lower'])} to {number(row['ci_upper'])}"]
    if row.get("numerator") is not None and row.get("measure") == "proportion":
        parts.append(f"{number(row['numerator'])} of {number(row['denominator'])}")
    elif row.get("numerator") is not None and row.get("measure") == "rate":
        parts.append(f"{number(row['numerator'])} ÷ {number(row['denominator'])} × {number(row['per'])}")
    if row.get("aggregated_from"):
        parts.append(f"added up from {row['aggregated_from']} districts")
    return ", ".join(parts)


def why(row: dict[str, Any]) -> str:
    """e.g. '7.19 against a target of 7.07, lower is better: 0.12 worse, 1.7% of the
    target, within the 5% band → AMBER'; with an interval, '9.6 per 1,000 population (95% CI
    9.3 to 9.9): significantly better than the target of 11.35, lower is better: 1.75 better,
    15.4% of the target → GREEN'."""
    status = row["status"]
    if status == "NA":
        compared = _compared(row) if row.get("significance") else ""
        return f"No status: {row_reason(row)}{'; ' + compared if compared else ''} → NA"
    if row.get("ci_lower") is not None and row.get("significance"):
        head = f"{_compared(row)}, {row['better']} is better"
    else:
        head = f"{number(row['value'])} against a target of {number(row['target'])}, {row['better']} is better"
    if status == "GREY":
        if row.get("significance"):
            return f"{head}; the interval contains the target, so the difference is not significant → GREY"
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


def _compared(row: dict[str, Any]) -> str:
    """'9.6 per 1,000 population (95% CI 9.3 to 9.9): significantly better than the target of 11.35'."""
    said = interval(row)
    return (f"{figure(row)}{f' ({said})' if said else ''}: {significance_words(row['significance'])}"
            f" the target of {number(row['target'])}")
