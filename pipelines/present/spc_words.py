"""The words for an XmR chart's codes (``pipelines.stats.spc``), made once: the variation and
assurance readings, each with a short symbol that reads in print and never relies on colour, the
rule each special-cause point broke, and one sentence joining the RAG status with the reading.

The symbols are kept apart from the statuses' (● ▲ ■ ◆ ○) and the significance's (✓ ✗ ≈ ↑ ↓):
the variation's after the NHS "Making Data Count" icons (⊕ improvement, ⊖ concern, ⊙ neither,
then H for high or L for low; ∿ common cause), the assurance's as a bracketed letter (P pass,
F fail, ? hit and miss).
"""

from __future__ import annotations

import html
from typing import Any

from pipelines.present import explain
from pipelines.stats.spc import FEW, LIMIT, RUN, SCREEN

METHOD = 'XmR chart (NHS England "Making Data Count", computed as NHSRplotthedots 0.2 does)'

VARIATION_WORDS = {
    "common_cause": "common-cause variation: no sign of a real change",
    "improvement_high": "special cause: improvement (high)",
    "improvement_low": "special cause: improvement (low)",
    "concern_high": "special cause: concern (high)",
    "concern_low": "special cause: concern (low)",
    "neither_high": "special cause: neither better nor worse (high)",
    "neither_low": "special cause: neither better nor worse (low)",
}
VARIATION_SYMBOLS = {
    "common_cause": "∿", "improvement_high": "⊕H", "improvement_low": "⊕L", "concern_high": "⊖H",
    "concern_low": "⊖L", "neither_high": "⊙H", "neither_low": "⊙L",
}

ASSURANCE_WORDS = {
    "consistent_pass": "will consistently meet the target",
    "consistent_fail": "will consistently fail the target unless something changes",
    "inconsistent": "will meet and miss the target by chance",
}
ASSURANCE_SYMBOLS = {"consistent_pass": "[P]", "consistent_fail": "[F]", "inconsistent": "[?]"}
NO_ASSURANCE = "no assurance reading: there is no target, or neither higher nor lower is better"

RULE_WORDS = {
    "outside": "outside the limits",
    "trend": f"part of {RUN} or more points rising or falling",
    "two_in_three": "2 of 3 points close to a limit",
    "run": f"part of {RUN} or more points on one side of the mean",
}

# Each point's type, for a chart's legend and hover labels
POINT_WORDS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neither": "Special cause: neither better nor worse",
}


def variation(code: str | None) -> str:
    """'⊕H special cause: improvement (high)'; '' for no reading."""
    if code is None:
        return ""
    return f"{VARIATION_SYMBOLS[code]} {VARIATION_WORDS[code]}"


def assurance(code: str | None) -> str:
    """'[F] will consistently fail the target unless something changes', or why there is none."""
    if code is None:
        return NO_ASSURANCE
    return f"{ASSURANCE_SYMBOLS[code]} {ASSURANCE_WORDS[code]}"


def point(row: dict[str, Any]) -> str:
    """A point in words, for a hover label: 'Special cause: concern: outside the limits'."""
    said = POINT_WORDS[row["point_type"]]
    if row["rule"] == "none":
        return said
    return f"{said}: {RULE_WORDS[row['rule']]}"


def _status(status_row: dict[str, Any] | None) -> str:
    status = status_row["status"] if status_row else None
    if status is None or status == "NA":
        return "No status (NA)"
    return str(status)


def reading(status_row: dict[str, Any] | None, last_spc_row: dict[str, Any]) -> str:
    """The RAG status and the chart's reading of the same quarter in one sentence, e.g.
    '2010/11 Q1: RED, but within common-cause variation: no evidence of a real change this quarter'
    or '2010/11 Q1: AMBER, but improving: the latest point is part of 7 or more points on one side
    of the mean'."""
    status = _status(status_row)
    worse = status in ("RED", "AMBER")
    quarter = last_spc_row["quarter"]
    code = last_spc_row["variation"]
    if code is None or code == "common_cause":
        joined = ", but within" if worse else ", within"
        return f"{quarter}: {status}{joined} common-cause variation: no evidence of a real change this quarter"
    rule = RULE_WORDS[last_spc_row["rule"]]
    kind, side = code.rsplit("_", 1)
    if kind == "improvement":
        said = ", but improving" if worse else " and improving"
    elif kind == "concern":
        said = " and getting worse" if worse or status != "GREEN" else ", but getting worse"
    else:
        said = f", and a real change {'upwards' if side == 'high' else 'downwards'} (neither better nor worse)"
    return f"{quarter}: {status}{said}: the latest point is {rule}"


def few_points(n: int) -> str:
    """The note for limits resting on few points; '' when there are enough."""
    if n >= FEW:
        return ""
    return (f"The limits rest on {n} point{'s' if n != 1 else ''}: with fewer than {FEW} they are rough,"
            " and will move as quarters are added.")


def summary(rows: list[dict[str, Any]]) -> str:
    """The chart in words, its text alternative: the span, each period's mean and limits, and how
    many points are special causes of each type."""
    if not rows:
        return "No figures to chart."
    periods: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        periods.setdefault(r["period"], []).append(r)
    parts = []
    for pts in periods.values():
        first = pts[0]
        parts.append(f"{pts[0]['quarter']} to {pts[-1]['quarter']} ({len(pts)} points): mean"
                     f" {explain.number(first['mean'])}, limits {explain.number(first['lower_limit'])} to"
                     f" {explain.number(first['upper_limit'])}")
    special = [r for r in rows if r["point_type"] != "common_cause"]
    kinds = [f"{sum(r['point_type'] == t for r in special)} {POINT_WORDS[t].removeprefix('Special cause: ')}"
             for t in POINT_WORDS if t != "common_cause" and any(r["point_type"] == t for r in special)]
    specials = (f"{len(special)} of {len(rows)} points are special causes ({', '.join(kinds)})" if special
                else f"all {len(rows)} points are common cause")
    rebased = f"; rebased {len(periods) - 1} time{'s' if len(periods) > 2 else ''}" if len(periods) > 1 else ""
    return f"XmR chart, {'; '.join(parts)}{rebased}; {specials}."


def too_few(n: int) -> str:
    """Why there is no chart: an XmR chart needs two figures for a moving range."""
    return (f"An XmR chart needs at least 2 figures (one moving range); {n} {'is' if n == 1 else 'are'}"
            " loaded for this area.")


def notes(last: dict[str, Any], qi: int, quarter: str, *, every_quarter: bool) -> list[str]:
    """What a reader should know beside a chart's reading: limits on few points, and a reading
    of another quarter than the one chosen (``qi``, ``quarter``): the latest loaded, for a chart
    of ``every_quarter``; the latest with a figure up to the chosen one, for a chart stopping there."""
    said = [few_points(last["period_points"])]
    if last["qi"] != qi:
        other = latest_only if every_quarter else no_figure_then
        said.append(other(last["quarter"], quarter))
    return [n for n in said if n]


def no_figure_then(latest: str, chosen: str) -> str:
    """A chart up to a quarter with no figure of its own: its reading is the latest figure's."""
    return f"There is no figure for {chosen}: the reading is of {latest}, the latest quarter with one."


def latest_only(latest: str, chosen: str) -> str:
    """The chart runs over every loaded quarter, so its reading is the latest's, not the chosen one's."""
    return (f"The chart covers every loaded quarter, so its reading is for the latest with a figure,"
            f" {latest}, not the quarter chosen ({chosen}).")


# --- Icons beside a status, and the board's SPC summary (Overview and District pages) -------------

# The summary's rows (the kind of variation, without high or low) and columns (the assurance; None:
# no target, or neither direction better), in the order an NHS board's SPC summary reads them.
KINDS = {
    "improvement": ("⊕", "Improvement (special cause)"),
    "common": ("∿", "Common cause"),
    "concern": ("⊖", "Concern (special cause)"),
    "neither": ("⊙", "Neither better nor worse (special cause)"),
}
ASSURANCE_COLUMNS: dict[str | None, str] = {
    "consistent_pass": "[P] Consistent pass",
    "inconsistent": "[?] Inconsistent (hit and miss)",
    "consistent_fail": "[F] Consistent fail",
    None: "No target",
}
KEY_IN_PRINT = ("SPC icons: ⊕ improvement, ⊖ concern, ⊙ neither better nor worse (a special cause; H high, L low),"
                " ∿ common-cause variation only; [P] will consistently meet the target, [?] will meet and miss it"
                " by chance, [F] will consistently fail it unless something changes.")
KEY = f"{KEY_IN_PRINT} Hover over an icon for its words."
SUMMARY_CAPTION = ("Each county indicator placed by its XmR chart's latest reading: the row says whether its"
                   " figures show a real change (a special cause) or only common-cause variation, the column"
                   " whether its process limits say it will meet its target every quarter, only by chance, or"
                   " not without a change.")


def kind(code: str | None) -> str | None:
    """The summary's row for a variation code: 'improvement_high' → 'improvement'; None for no reading."""
    if code is None:
        return None
    return "common" if code == "common_cause" else code.rsplit("_", 1)[0]


def placed(rows: list[dict[str, Any]], readings: dict[tuple[str, str], dict[str, Any]]
           ) -> dict[tuple[str, str | None], list[dict[str, Any]]]:
    """The SPC summary's cells: (kind, assurance) → the status rows whose reading puts them there (rows
    without a reading are left out)."""
    cells: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for r in rows:
        reading = readings.get((r["indicator"], r["area"]))
        row_kind = kind(reading["variation"]) if reading else None
        if reading is not None and row_kind is not None:
            cells.setdefault((row_kind, reading["assurance"]), []).append(r)
    return cells


def icons(reading: dict[str, Any] | None, qi: int | None = None) -> tuple[str, str]:
    """(symbols, words) for an icon beside a status: ('⊕H [F]', 'SPC: special cause: improvement (high);
    will consistently fail the target unless something changes'); ('', '') for no reading. The words
    name the reading's quarter when it is not the status's quarter ``qi`` (no figure since)."""
    if not reading or reading.get("variation") is None:
        return "", ""
    code = reading["assurance"]
    symbols = VARIATION_SYMBOLS[reading["variation"]] + (f" {ASSURANCE_SYMBOLS[code]}" if code else "")
    said = f"SPC: {VARIATION_WORDS[reading['variation']]}; {ASSURANCE_WORDS[code] if code else NO_ASSURANCE}"
    if qi is not None and reading.get("qi") != qi:
        said += f" (as of {reading['quarter']}, the latest quarter with a figure)"
    return symbols, said


def method_html() -> str:
    """The method in a paragraph and a list (HTML), as the Definitions page and the pack's method page
    print it."""
    outside = html.escape(RULE_WORDS["outside"])
    return (
        "<p>An SPC view is an <b>XmR chart</b> (values and moving ranges) of one indicator"
        " and area over every loaded quarter, read the way NHS England's <b>Making Data Count</b> programme"
        " reads one and computed as <b>NHSRplotthedots 0.2</b> (the NHS-R community's reference"
        " implementation) computes it. It asks whether a change is real (a special cause) or the ordinary"
        " quarter-to-quarter wobble (common cause), which the RAG status alone cannot say.</p><ul>"
        "<li><b>Periods:</b> the whole series, or the parts between the quarters an indicator rebases at"
        " (<code>spc: {rebase: [...]}</code> in the catalogue); nothing crosses a rebase. Quarters with no"
        " figure are left out.</li>"
        "<li><b>Mean</b> of the period's points; <b>moving range</b> |yₖ − yₖ₋₁| inside the period;"
        f" <b>limits</b> mean ± {LIMIT} × the mean moving range. Moving ranges not below {SCREEN} ×"
        " their mean are dropped and the mean recomputed, unless the catalogue says"
        " <code>screen_outliers: false</code> (as the NHS Excel tool, which does not screen).</li>"
        "<li><b>Special cause</b>, one rule a point, in this order: "
        f"{outside} (strictly); a <b>trend</b>, {RUN} or more points in a row each higher"
        " (or lower) than the one before; <b>two in three</b>, 2 of 3 points in a row on one side of the"
        " mean beyond two thirds of the way to a limit; a <b>run</b>,"
        f" {RUN} or more points in a row on one side of the mean (a point on the mean breaks it). Above"
        " or rising is high, below or falling low; with the polarity this makes it an improvement or a"
        " concern (neither, where neither is better).</li>"
        "<li><b>Variation</b> is the last point's reading; <b>assurance</b> compares its period's limits"
        " with the target: the whole band between the limits on the good side passes, on the bad side"
        " fails, otherwise hit and miss; none without a target or where neither is better.</li>"
        f"<li>Limits resting on fewer than {FEW} points in a period are rough, and the chart's notes say so.</li>"
        "<li>On the chart, each point's type is a shape and a colour both, named in the legend: a grey dot"
        " for common cause, a blue star for an improvement, a pink cross for a concern, a brown hourglass"
        " where neither is better; the mean is a solid line, the limits dashed, the target dotted.</li>"
        "</ul>")
