"""The arithmetic behind a status, in plain words, from a row of ``status.query``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.catalogue import quarters
from pipelines.present.words import row_reason
from pipelines.rules import intervals


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


def polarity(better: str) -> str:
    """'lower is better'; for 'better: neither', that the indicator is monitored, not rated."""
    return "neither higher nor lower is better (not rated)" if better == "neither" else f"{better} is better"


def unit_words(unit: str | None) -> str:
    """The unit as a page or the pack names it; 'no unit given' when the catalogue gives none."""
    return unit or "no unit given"


# Direction of travel: improving / worsening by polarity; higher / lower for an indicator where
# neither is better (monitored, not rated); '–' when there is no earlier figure to compare with.
DIRECTION_WORDS = {"improving": "↗ improving", "worsening": "↘ worsening", "no change": "→ no change",
                   "higher": "↑ higher", "lower": "↓ lower"}


def direction(word: str | None) -> str:
    return DIRECTION_WORDS.get(word or "", "–")


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
# The symbol drawn beside the words, so significance is never colour alone: distinct from each
# other and from the status symbols (● ▲ ■ ◆ ○), and legible in a table cell and in print.
SIGNIFICANCE_SYMBOLS = {"better": "✓", "worse": "✗", "similar": "≈", "higher": "↑", "lower": "↓"}
_SYM = SIGNIFICANCE_SYMBOLS
SIGNIFICANCE_KEY = (f"{_SYM['better']} better / {_SYM['worse']} worse: significantly better or worse than the"
                    " target, allowing for chance (the target lies outside the figure's confidence interval);"
                    f" {_SYM['similar']} similar: the target lies within it. Blank where there is no interval"
                    " to compare.")
METHOD_NAMES = {
    "wilson": "Wilson score interval",
    "byar": "Byar's method",
    "exact": "exact Poisson interval",
    "supplied": "interval as supplied",
}


def significance_words(significance: str | None) -> str:
    """'significantly better than' …; '–' when the figure was not compared."""
    return SIGNIFICANCE_WORDS.get(significance or "", "–")


def significance_parts(significance: str | None, short: bool = True) -> tuple[str, str]:
    """(symbol, word) beside a status: ('✗', 'worse'), or with ``short=False`` ('✗', 'significantly
    worse') for a column headed "Significance"; ('', '') when the figure was not compared."""
    if significance not in SIGNIFICANCE_SYMBOLS:
        return "", ""
    word = significance if short else SIGNIFICANCE_WORDS[significance].rsplit(" ", 1)[0]
    return SIGNIFICANCE_SYMBOLS[significance], word


def significance_short(significance: str | None) -> str:
    """'✗ worse', '≈ similar' beside a status (symbol and word); '' when the figure was not compared."""
    return " ".join(significance_parts(significance)).strip()


_AGAINST = {"better": "better than", "worse": "worse than", "similar": "similar to", "higher": "higher than",
            "lower": "lower than"}


def compared_with(row: dict[str, Any]) -> list[str]:
    """The figure against its parent area's and the benchmark's, allowing for chance:
    ['✓ better than Derbyshire', '≈ similar to England']; one entry where the parent is the benchmark,
    none where nothing was compared."""
    said = []
    for code, area in ((row.get("vs_parent"), row.get("parent")), (row.get("vs_benchmark"), row.get("benchmark"))):
        if code in _AGAINST and area:
            text = f"{SIGNIFICANCE_SYMBOLS[code]} {_AGAINST[code]} {area}"
            if text not in said:
                said.append(text)
    return said


def versus_target(row: dict[str, Any]) -> str:
    """'significantly worse than the target of 6.2'; '' when the figure was not compared."""
    if not row.get("significance"):
        return ""
    return f"{significance_words(row['significance'])} the target of {number(row.get('target'))}"


def figure(row: dict[str, Any]) -> str:
    """'9.6 per 1,000 population' or '15.45%': the figure with its unit."""
    unit = row.get("unit") or ""
    text = number(row["value"], unit)
    return f"{text} {unit}" if unit and unit != "%" and row.get("measure") == "rate" else text


def ci_range(row: dict[str, Any]) -> str:
    """'12.07 to 19.57'; '' when the figure has no interval."""
    if row.get("ci_lower") is None or row.get("ci_upper") is None:
        return ""
    return f"{number(row['ci_lower'])} to {number(row['ci_upper'])}"


def ci_short(row: dict[str, Any]) -> str:
    """'95% CI 12.07 to 19.57' (no level for an interval supplied with the figure); '' for none."""
    if not ci_range(row):
        return ""
    level = f"{row['confidence']:g}% " if row.get("ci_method") != "supplied" and row.get("confidence") else ""
    return f"{level}CI {ci_range(row)}"


def counts(row: dict[str, Any]) -> str:
    """The counts behind a figure and where they came from: '55 of 356', '683 ÷ 91,804 × 1,000',
    '7,359 ÷ 766,605 × 1,000, added up from 8 districts'; '' for a figure given as it is."""
    parts = []
    if row.get("numerator") is not None and row.get("measure") == "proportion":
        parts.append(f"{number(row['numerator'])} of {number(row['denominator'])}")
    elif row.get("numerator") is not None and row.get("measure") == "rate":
        parts.append(f"{number(row['numerator'])} ÷ {number(row['denominator'])} × {number(row['per'])}")
    if row.get("aggregated_from"):
        parts.append(f"added up from {row['aggregated_from']} districts")
    return ", ".join(parts)


def interval(row: dict[str, Any]) -> str:
    """'95% CI 9.3 to 9.9' (with the counts behind it and where they came from), or ''."""
    if not ci_short(row):
        return ""
    return ", ".join(part for part in (ci_short(row), counts(row)) if part)


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
        head = f"{_compared(row)}, {polarity(row['better'])}"
    else:
        head = f"{number(row['value'])} against a target of {number(row['target'])}, {polarity(row['better'])}"
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
    return f"{figure(row)}{f' ({said})' if said else ''}: {versus_target(row)}"


def measure_words(ind: Any) -> str:
    """How an indicator's figure is made, briefly: 'rate: events ÷ population × 1,000, 95% CI; the
    county added up from its districts' (the Definitions page's Methods say how)."""
    window = f", over {ind.window} quarters" if ind.window and ind.window > 1 else ""
    if ind.measure == "value":
        return "as given" + (f", averaged over {ind.window} quarters" if window else "")
    per = number(ind.multiplier)
    if ind.measure == "proportion":
        text = f"proportion: numerator ÷ denominator × {per}{window}"
    else:
        bottom = "population" if ind.denominator == "population" else "denominator"
        text = f"rate: events ÷ {bottom} × {per}{window}"
    text += f", {ind.confidence:g}% CI"
    if "county" in ind.levels and "district" in ind.levels:
        text += "; the county added up from its districts"
    return text


def method_words(ind: Any) -> str:
    """The interval's method for an indicator: "95%, Byar's method (exact Poisson interval below 10
    events)"; for a figure as given, where it comes from."""
    if ind.measure == "proportion":
        return f"{ind.confidence:g}%, {METHOD_NAMES['wilson']}"
    if ind.measure == "rate":
        return (f"{ind.confidence:g}%, {METHOD_NAMES['byar']} ({METHOD_NAMES['exact']} below"
                f" {intervals.BYAR_FROM} events)")
    return "as given with the figure (lower and upper), if any"


def ci_heading(confidence: float | None, measure: str | None) -> str:
    """'95% CI' for intervals computed from counts; 'Confidence interval' when they are supplied."""
    return f"{confidence:g}% CI" if measure in ("rate", "proportion") and confidence else "Confidence interval"


# ---- year-end forecasts (pipelines.stats.forecast) ------------------------------------------------

OUTLOOK_WORDS = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track"}
OUTLOOK_MARKS = {"on_track": "✓", "at_risk": "⚠", "off_track": "✗"}  # never colour alone
NO_FORECAST = {
    "too_few_years": "no forecast: it needs two earlier years with all four quarters",
    "gap_this_year": "no forecast: a quarter of this year so far has no figure",
}
YEAR_END_WORDS = {"sum": "the year's total", "mean": "the mean of the year's quarters",
                  "last": "the fourth quarter's figure"}
OUTLOOK_METHOD = (
    "Year-end forecasts use a seasonal ratio projection: in each of up to five earlier complete years, the"
    " year-end figure (the year's total, the mean of its quarters, or its fourth quarter, as the indicator's"
    " year_end says) is divided by the same summary of the year's first quarters; the year so far is"
    " multiplied by the mean of those ratios (on the log scale). The 90% interval is Student's t prediction"
    " interval for one more year from those ratios (mean ± t × s × √(1 + 1/n)), and the chance of meeting the"
    " target comes from the same distribution: on track at 80% or more, off track under 20%, at risk"
    " between. It learns the seasons from earlier years; a change of trend this year shows only as far as"
    " the quarters so far show it. With fewer than two earlier complete years there is no forecast."
    " benchmarks/forecast.py checks on simulated seasonal series how often the 90% interval holds the year"
    " end (about 90%).")


def outlook(row: dict[str, Any], unit: str = "") -> str:
    """A forecast (``pipelines.stats.forecast.row``) in words: '✓ on track: 8.82 (90% interval 7.99 to
    9.75); 98% chance of meeting 11.35'."""
    if row["forecast"] is None:
        return NO_FORECAST.get(row.get("reason") or "", "no forecast")
    head = f"{number(row['forecast'], unit)} (90% interval {number(row['forecast_lower'], unit)} to" \
           f" {number(row['forecast_upper'], unit)})"
    if row["quarters_known"] == 4:
        head = f"{number(row['forecast'], unit)}, the year's figure"
    status = row["forecast_status"]
    if status is None:
        return head
    chance = f"{row['probability_on_target'] * 100:.0f}% chance of meeting {number(row['target'], unit)}"
    return f"{OUTLOOK_MARKS[status]} {OUTLOOK_WORDS[status]}: {head}; {chance}"


def band_changes(catalogue: Any, ind: Any, first: int, last: int) -> list[str]:
    """A sentence for each change of the indicator's amber band from quarter ``first`` to ``last``:
    'NI 16: the amber band became 10% of the target from 2010/11 Q3 (it was 5% of the target).'"""
    return [f"{ind.id}: the amber band became {new.tolerance.describe(ind.unit)} from {quarters.label(new.start)}"
            f" (it was {old.tolerance.describe(ind.unit)})."
            for old, new in catalogue.band_changes(ind, first, last)]
