"""The charts, made once for the pages and the pack: each a plotly figure as plain JSON-ready data
(``{"data": [...], "layout": {...}}``), so the engine builds it without importing plotly. The pages
hand it to ``st.plotly_chart``; the pack embeds it with plotly.js and Chromium draws the same figure
when it prints.

Status is never colour alone: each status has its own marker shape and its word in the legend; each
SPC point type its own shape; hover labels carry the arithmetic in words.
"""

from __future__ import annotations

import html
from typing import Any

from pipelines.catalogue import quarters
from pipelines.present import explain, spc_words, words
from pipelines.present.palette import STATUS_STYLE
from pipelines.rules.codes import Reason

Row = dict[str, Any]
Figure = dict[str, Any]
BAND_FILL = "rgba(230, 159, 0, 0.22)"
ERROR_BAR_COLOUR = "#333"
X_TITLE = "Quarter (financial year)"

# Each SPC point type: (plotly marker, colour, size). Shape and colour both differ, kept apart from
# the statuses' shapes (circle, triangle, square, diamond) and colours; the legend names each.
SPC_STYLE: dict[str, tuple[str, str, int]] = {
    "common_cause": ("circle", "#8a8a8a", 7),
    "special_cause_improvement": ("star", "#0072B2", 15),
    "special_cause_concern": ("x", "#CC79A7", 13),
    "special_cause_neither": ("hourglass", "#8C510A", 13),
}
MEAN_COLOUR = "#222"
LIMIT_COLOUR = "#555"


def plain(text: str) -> str:
    """Catalogue text for plotly, which reads a few HTML tags (links among them) in titles,
    ticks and hover labels: escaped, so it shows as typed."""
    return html.escape(text, quote=False)


def status_name(status: str) -> str:
    """'▲ AMBER': a status's symbol and word, as the legend names it."""
    return f"{STATUS_STYLE[status][0]} {status}"


def _layout(title: str, x: list[str], unit: str | None) -> dict[str, Any]:
    """The time-series charts' common layout: quarters as categories in order, the unit on the y axis."""
    return {
        "title": {"text": plain(title)}, "height": 420, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "legend": {"orientation": "h", "y": -0.25}, "plot_bgcolor": "white",
        "xaxis": {"title": {"text": X_TITLE}, "type": "category", "categoryorder": "array", "categoryarray": x,
                  "showgrid": False, "linecolor": "#888", "automargin": True},
        "yaxis": {"title": {"text": plain(explain.unit_words(unit))}, "gridcolor": "#e5e5e5", "linecolor": "#888",
                  "zeroline": False, "automargin": True},
    }


def trend(rows: list[Row], *, title: str, selected: str | None = None) -> Figure:
    """Value by quarter for one indicator and area, with the target line, the amber band
    shaded and one marker trace per status so the legend names each symbol.

    The x axis has every quarter from the first row to the last: a quarter with no figure
    (not loaded, or a "no data" row) is a gap in the line with no marker, never closed up."""
    first = rows[0]
    by_qi = {r["qi"]: r for r in rows}
    span = range(min(by_qi), max(by_qi) + 1)
    rows = [by_qi.get(q) or _missing(first, q) for q in span]
    x = [quarters.label(q) for q in span]
    data: list[dict[str, Any]] = []
    if any(r["target"] is not None for r in rows):
        # The band's far edge (from the rule): target + width when lower is better, - when higher is.
        data.append({"type": "scatter", "x": x, "y": [r["band_edge"] for r in rows], "mode": "lines",
                     "line": {"width": 0, "shape": "hvh"}, "hoverinfo": "skip", "showlegend": False,
                     "connectgaps": False})
        data.append({"type": "scatter", "x": x, "y": [r["target"] for r in rows], "mode": "lines",
                     "name": f"Target (shaded: amber {_band_words(first)})",
                     "line": {"color": "#222", "dash": "dash", "width": 2, "shape": "hvh"}, "fill": "tonexty",
                     "fillcolor": BAND_FILL, "hovertemplate": "Target %{y}<extra></extra>"})
    data.append({"type": "scatter", "x": x, "y": [r["value"] for r in rows], "mode": "lines", "name": "Value",
                 "line": {"color": "#555", "width": 1.5}, "hoverinfo": "skip", "showlegend": False})
    for status, (_, colour, marker) in STATUS_STYLE.items():
        pts = [r for r in rows if r["status"] == status and r["value"] is not None]
        if not pts:
            continue
        # Plotly draws an open symbol's outline in the marker colour (white for NA, invisible on
        # white): draw the filled symbol instead, white inside a dark outline, as on the chips.
        data.append({
            "type": "scatter", "x": [r["quarter"] for r in pts], "y": [r["value"] for r in pts], "mode": "markers",
            "name": status,  # the legend's own marker already shows the symbol
            "marker": {"symbol": marker.removesuffix("-open"), "size": 13, "color": colour,
                       "line": {"color": "#111", "width": 1.5}},
            "error_y": _error_bars(pts), "text": [_hover(r) for r in pts],
            "hovertemplate": "%{x}: %{y}<br>%{text}<extra>" + status_name(status) + "</extra>"})
    if any(_has_interval(r) for r in rows):
        data.append(_whisker_key(rows, "line-ns-open"))
    layout = _layout(title, x, first["unit"])
    if selected in x:  # the quarter chosen on the page, as a dotted line
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": x.index(selected),
                             "x1": x.index(selected), "y0": 0, "y1": 1,
                             "line": {"color": "#888", "width": 1, "dash": "dot"}}]
    return {"data": data, "layout": layout}


def trend_words(rows: list[Row]) -> str:
    """The trend chart's text alternative (the pages' and the pack's): each quarter's figure and
    status."""
    said = [f"{r['quarter']} {explain.number(r['value'])} {r['status']}" for r in rows if r["value"] is not None]
    return f"Value by quarter against the target: {'; '.join(said)}." if said else "No figures to chart."


def _has_interval(r: Row) -> bool:
    return r["value"] is not None and r.get("ci_lower") is not None and r.get("ci_upper") is not None


def _error_bars(pts: list[Row]) -> dict[str, Any]:
    """Error bars from each point's confidence interval: up to ci_upper, down to ci_lower; a point
    without an interval gets none (null draws nothing)."""
    return {"type": "data", "symmetric": False, "visible": any(_has_interval(r) for r in pts),
            "array": [r["ci_upper"] - r["value"] if _has_interval(r) else None for r in pts],
            "arrayminus": [r["value"] - r["ci_lower"] if _has_interval(r) else None for r in pts],
            "color": ERROR_BAR_COLOUR, "thickness": 1.5, "width": 5}


def _whisker_key(rows: list[Row], symbol: str) -> dict[str, Any]:
    """Error bars have no legend entry of their own: a legend-only whisker names them."""
    return {"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": interval_name(rows),
            "hoverinfo": "skip", "marker": {"symbol": symbol, "size": 14, "color": ERROR_BAR_COLOUR,
                                            "line": {"color": ERROR_BAR_COLOUR, "width": 1.5}}}


def interval_name(rows: list[Row]) -> str:
    """The legend's name for the whiskers: '95% confidence interval', or the level of each kind."""
    made = {explain.ci_heading(r.get("confidence"), r.get("measure")) for r in rows if _has_interval(r)}
    if made == {"Confidence interval"}:
        return "Confidence interval (as supplied)"
    levels = sorted(h.removesuffix(" CI") for h in made if h != "Confidence interval")
    return f"{' or '.join(levels)} confidence interval"


def _hover(r: Row) -> str:
    """The arithmetic in words for a hover label (escaped, lines joined by <br>), with the interval
    and the significance where ``why`` leaves them out."""
    why = explain.why(r)
    lines = [why]
    said = explain.interval(r)
    if said and said not in why:
        lines.append(said)
    if r.get("significance") and explain.significance_words(r["significance"]) not in why:
        lines.append(f"{explain.significance_words(r['significance'])} the target")
    return "<br>".join(plain(line) for line in lines)


def _missing(like: Row, qi: int) -> Row:
    """A quarter the caller did not pass: no figure, no target, no status (drawn as a gap)."""
    return {**like, "qi": qi, "quarter": quarters.label(qi), "value": None, "target": None,
            "band_width": None, "band_edge": None, "status": "NA", "reason_code": Reason.NO_DATA,
            "reason": words.reason(Reason.NO_DATA, qi), "note": None, "ci_lower": None, "ci_upper": None,
            "significance": None}


def _band_words(row: Row) -> str:
    if row["band_kind"] == "percent":
        return f"band: within {row['band']:g}% of the target"
    return f"band: within {explain.number(row['band'])} of the target"


def compare(rows: list[Row], *, title: str) -> Figure:
    """Areas side by side for one quarter: bars marked by status, each area's target as a tick."""
    rows = [r for r in rows if r["value"] is not None]
    unit = plain(explain.unit_words(rows[0]["unit"])) if rows else ""
    data: list[dict[str, Any]] = []
    for status, (symbol, colour, _) in STATUS_STYLE.items():
        pts = [r for r in rows if r["status"] == status]
        if not pts:
            continue
        data.append({
            "type": "bar", "y": [plain(r["area"]) for r in pts], "x": [r["value"] for r in pts], "orientation": "h",
            "name": status_name(status), "marker": {"color": colour, "line": {"color": "#111", "width": 1}},
            "text": [f"{symbol} {status}  {explain.number(r['value'])}" for r in pts], "textposition": "inside",
            "insidetextanchor": "start", "textfont": {"color": "#111"}, "cliponaxis": False,
            "error_x": {**_error_bars(pts), "color": "#000", "thickness": 2, "width": 7},
            "customdata": [_compare_hover(r) for r in pts],
            "hovertemplate": "%{y}: %{x}%{customdata}<extra></extra>"})
    if any(_has_interval(r) for r in rows):
        data.append(_whisker_key(rows, "line-ew-open"))
    targets = [r for r in rows if r["target"] is not None]
    if targets:
        data.append({
            "type": "scatter", "y": [plain(r["area"]) for r in targets], "x": [r["target"] for r in targets],
            "mode": "markers", "name": "Target",
            "marker": {"symbol": "line-ns", "size": 22, "line": {"color": "#111", "width": 3}},
            "hovertemplate": "%{y} target: %{x}<extra></extra>"})
    order = [plain(r["area"]) for r in rows]
    return {"data": data, "layout": {
        "title": {"text": plain(title)}, "height": max(260, 44 * len(rows) + 120), "barmode": "overlay",
        "margin": {"l": 10, "r": 40, "t": 50, "b": 10}, "plot_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"title": {"text": unit}, "gridcolor": "#e5e5e5"},
        "yaxis": {"categoryorder": "array", "categoryarray": order[::-1], "automargin": True},
    }}


def _compare_hover(r: Row) -> str:
    """' (95% CI 4.05 to 8.57, 30 ÷ 5,000 × 1,000)<br>similar to the target of 6.2', or ''."""
    parts = []
    if explain.interval(r):
        parts.append(f" ({plain(explain.interval(r))})")
    if r.get("significance"):
        parts.append(f"<br>{plain(explain.significance_words(r['significance']))} the target of"
                     f" {explain.number(r['target'])}")
    return "".join(parts)


def _by_period(rows: list[Row], column: str) -> tuple[list[str], list[float | None]]:
    """One line per period: a None after each period's last point, so that a rebase starts a new
    segment (the mean and limits never cross it)."""
    x: list[str] = []
    y: list[float | None] = []
    for i, r in enumerate(rows):
        x.append(r["quarter"])
        y.append(r[column])
        if i + 1 < len(rows) and rows[i + 1]["period"] != r["period"]:
            x.append(r["quarter"])
            y.append(None)
    return x, y


def spc(rows: list[Row], *, title: str, unit: str | None, targets: dict[int, float | None] | None = None) -> Figure:
    """An XmR chart: the values joined by a line, each period's mean (solid) and process limits
    (dashed), the target where there is one (dotted), and each point marked by its type, shape and
    colour both, with the rule it broke in its hover label. Only quarters with a figure are points."""
    x = [r["quarter"] for r in rows]
    data: list[dict[str, Any]] = [
        {"type": "scatter", "x": x, "y": [r["value"] for r in rows], "mode": "lines", "name": "Value",
         "line": {"color": "#777", "width": 1.5}, "hoverinfo": "skip", "showlegend": False}]
    lines = (("mean", "Mean", {"color": MEAN_COLOUR, "width": 2}),
             ("upper_limit", "Upper process limit", {"color": LIMIT_COLOUR, "width": 1.5, "dash": "dash"}),
             ("lower_limit", "Lower process limit", {"color": LIMIT_COLOUR, "width": 1.5, "dash": "dash"}))
    for column, name, line in lines:
        lx, ly = _by_period(rows, column)
        data.append({"type": "scatter", "x": lx, "y": ly, "mode": "lines", "name": name, "line": line,
                     "connectgaps": False, "hovertemplate": f"{name} %{{y:.4g}}<extra></extra>"})
    if targets and any(targets.get(r["qi"]) is not None for r in rows):
        data.append({"type": "scatter", "x": x, "y": [targets.get(r["qi"]) for r in rows], "mode": "lines",
                     "name": "Target", "line": {"color": "#000", "width": 1.5, "dash": "dot", "shape": "hvh"},
                     "connectgaps": False, "hovertemplate": "Target %{y}<extra></extra>"})
    for kind, (marker, colour, size) in SPC_STYLE.items():
        pts = [r for r in rows if r["point_type"] == kind]
        if not pts:
            continue
        data.append({
            "type": "scatter", "x": [r["quarter"] for r in pts], "y": [r["value"] for r in pts], "mode": "markers",
            "name": spc_words.POINT_WORDS[kind],
            "marker": {"symbol": marker, "size": size, "color": colour, "line": {"color": "#111", "width": 1}},
            "text": [plain(spc_words.point(r)) for r in pts],
            "hovertemplate": "%{x}: %{y}<br>%{text}<extra></extra>"})
    layout = _layout(title, x, unit)
    rebases = [i for i in range(1, len(rows)) if rows[i]["period"] != rows[i - 1]["period"]]
    if rebases:  # a dashed line before each new period's first point, named at the top
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": i - 0.5, "x1": i - 0.5, "y0": 0,
                             "y1": 1, "line": {"color": "#0072B2", "width": 1.5, "dash": "dashdot"}}
                            for i in rebases]
        layout["annotations"] = [{"xref": "x", "yref": "paper", "x": i - 0.5, "y": 1, "yanchor": "bottom",
                                  "text": f"Rebased from {plain(rows[i]['quarter'])}", "showarrow": False,
                                  "font": {"color": "#0072B2", "size": 11}} for i in rebases]
    return {"data": data, "layout": layout}


def for_print(figure: Figure, *, width: int, height: int) -> Figure:
    """The figure at a fixed size for a printed page (a page does not resize as a window does), its
    type a little smaller; the quarters' axis needs no title on paper, which leaves the legend room."""
    layout = {**figure["layout"], "width": width, "height": height, "font": {"size": 11},
              "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
              "legend": {"orientation": "h", "yanchor": "top", "y": -0.12}}
    layout["title"] = {**layout["title"], "font": {"size": 13}}
    if layout["xaxis"].get("title", {}).get("text") == X_TITLE:
        layout["xaxis"] = {**layout["xaxis"], "title": {"text": ""}}
    return {"data": figure["data"], "layout": layout}


# Each comparison with the benchmark on a funnel plot: (marker, colour), shape and colour both
VERSUS_STYLE: dict[str, tuple[str, str]] = {
    "better": ("triangle-down", "#0072B2"), "similar": ("circle", "#BBBBBB"), "worse": ("triangle-up", "#D55E00"),
    "higher": ("triangle-up", "#8C510A"), "lower": ("triangle-down", "#8C510A"),
}
VERSUS_WORDS = {"better": "Significantly better", "similar": "Not significantly different",
                "worse": "Significantly worse", "higher": "Significantly higher", "lower": "Significantly lower"}


def funnel(rows: list[Row], limits: list[Any], *, title: str, benchmark: float, benchmark_name: str,
           unit: str | None, x_title: str) -> Figure:
    """A funnel plot: each area's figure against its denominator, marked by how it compares with the
    benchmark (shape and colour, named in the legend), the benchmark as a line, and the 95% and
    99.8% control limits around it (``stats.funnel``)."""
    data: list[dict[str, Any]] = []
    dashes = {95.0: "dash", 99.8: "dot"}
    for limit in limits:
        for side, points in (("lower", limit.lower), ("upper", limit.upper)):
            data.append({"type": "scatter", "mode": "lines", "x": [p[0] for p in points], "y": [p[1] for p in points],
                         "name": f"{limit.confidence:g}% limits", "legendgroup": f"{limit.confidence:g}",
                         "showlegend": side == "lower", "hoverinfo": "skip",
                         "line": {"color": "#444", "width": 1.5, "dash": dashes.get(limit.confidence, "solid")}})
    largest = max((r["denominator"] for r in rows), default=1)
    data.append({"type": "scatter", "mode": "lines", "x": [0, largest * 1.1], "y": [benchmark, benchmark],
                 "name": plain(f"{benchmark_name} (benchmark) {explain.number(benchmark)}"), "hoverinfo": "skip",
                 "line": {"color": "#000", "width": 2}})
    for code, (marker, colour) in VERSUS_STYLE.items():
        pts = [r for r in rows if r.get("vs_benchmark") == code]
        if pts:
            data.append({
                "type": "scatter", "mode": "markers+text", "x": [r["denominator"] for r in pts],
                "y": [r["value"] for r in pts], "name": VERSUS_WORDS[code], "text": [plain(r["area"]) for r in pts],
                "textposition": "top center", "textfont": {"size": 10},
                "marker": {"symbol": marker, "size": 12, "color": colour, "line": {"color": "#111", "width": 1}},
                "hovertemplate": "%{text}: %{y:.4g} (denominator %{x:,})<extra>" + VERSUS_WORDS[code] + "</extra>"})
    # the limits soar for the smallest sizes: show the areas and some room around them, not the lines' ends
    spread = max((abs(r["value"] - benchmark) for r in rows), default=0) or abs(benchmark) * 0.1 or 1.0
    shown = [max(benchmark - 2 * spread, 0) if benchmark >= 0 else benchmark - 2 * spread, benchmark + 2 * spread]
    return {"data": data, "layout": {
        "title": {"text": plain(title)}, "height": 480, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "legend": {"orientation": "h", "y": -0.2}, "plot_bgcolor": "white",
        "xaxis": {"title": {"text": plain(x_title)}, "gridcolor": "#eee", "rangemode": "tozero", "automargin": True},
        "yaxis": {"title": {"text": plain(explain.unit_words(unit))}, "gridcolor": "#e5e5e5", "automargin": True,
                  "range": shown},
    }}


def spine(profile: list[Any], *, title: str, area: str, benchmark_name: str) -> Figure:
    """An area profile (Fingertips' spine chart): a row per indicator, the benchmark at the centre,
    the range of every area at the level (light) and its middle half (darker) around it, better to
    the right, and the area's figure marked by its comparison with the benchmark."""
    names = [plain(p.indicator) for p in profile]

    def span(a: float, b: float, p: Any) -> tuple[float, float]:
        left, right = sorted((p.position(a), p.position(b)))
        return left, right - left

    data: list[dict[str, Any]] = []
    for label, colour, ends in (("Range of all areas", "#DDDDDD", lambda p: span(p.lowest, p.highest, p)),
                                ("25th to 75th percentile", "#9E9E9E", lambda p: span(p.q1, p.q3, p))):
        widths = [ends(p) for p in profile]
        data.append({"type": "bar", "orientation": "h", "y": names, "base": [w[0] for w in widths],
                     "x": [w[1] for w in widths], "name": label, "marker": {"color": colour},
                     "hoverinfo": "skip", "width": 0.5})
    for code, (marker, colour) in {**VERSUS_STYLE, "none": ("diamond", "#FFFFFF")}.items():
        pts = [p for p in profile if (p.vs_benchmark or "none") == code]
        if pts:
            data.append({
                "type": "scatter", "mode": "markers", "y": [plain(p.indicator) for p in pts],
                "x": [p.position(p.value) for p in pts],
                "name": plain(f"{area}: {VERSUS_WORDS[code].lower()}") if code != "none" else plain(
                    f"{area}: not compared"),
                "marker": {"symbol": marker, "size": 13, "color": colour, "line": {"color": "#111", "width": 1}},
                "text": [plain(f"{p.name}: {explain.number(p.value)} against {explain.number(p.benchmark)}")
                         for p in pts],
                "hovertemplate": "%{text}<extra></extra>"})
    return {"data": data, "layout": {
        "title": {"text": plain(title)}, "height": max(260, 40 * len(profile) + 140), "barmode": "overlay",
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "plot_bgcolor": "white", "legend": {"orientation": "h",
                                                                                             "y": -0.15},
        "xaxis": {"range": [-1.1, 1.1], "zeroline": True, "zerolinecolor": "#000", "zerolinewidth": 2,
                  "tickvals": [-1, 0, 1], "ticktext": ["worse", plain(benchmark_name), "better"], "automargin": True},
        "yaxis": {"categoryorder": "array", "categoryarray": names[::-1], "automargin": True},
    }}


def outlook(year_rows: list[Row], forecast: Row, *, title: str, unit: str | None) -> Figure:
    """The year so far and its forecast as a fan to the year end: the running figure the year end is
    made of (the total so far for ``year_end: sum``, the mean so far for ``mean``, each quarter's figure
    for ``last``), then a shaded 90% interval widening from the last known quarter to the fourth, the
    forecast on a dashed line, and the year's target."""
    year = forecast["year"]
    start = quarters.parse(f"{year} Q1")
    x = [quarters.label(start + k) for k in range(4)]
    known = sorted((r for r in year_rows if r["value"] is not None and start <= r["qi"] < start + 4),
                   key=lambda r: r["qi"])
    so_far: list[float] = []
    for n, r in enumerate(known, start=1):
        total = sum(k["value"] for k in known[:n])
        so_far.append(total if forecast["year_end"] == "sum" else total / n if forecast["year_end"] == "mean"
                      else float(r["value"]))
    xs = [quarters.label(r["qi"]) for r in known]
    said = {"sum": "total so far", "mean": "mean so far", "last": "figure"}[forecast["year_end"]]
    data: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines+markers", "x": xs, "y": so_far, "name": f"Year's {said}",
        "line": {"color": "#222"}, "marker": {"symbol": "circle", "size": 8, "color": "#222"}}]
    if forecast["forecast"] is not None and known and forecast["quarters_known"] < 4:
        last_x, last_y = xs[-1], so_far[-1]
        data += [
            {"type": "scatter", "mode": "lines", "x": [last_x, x[3], x[3], last_x],
             "y": [last_y, forecast["forecast_upper"], forecast["forecast_lower"], last_y], "fill": "toself",
             "fillcolor": "rgba(0, 114, 178, 0.18)", "line": {"width": 0}, "name": "90% interval of the year end",
             "hoverinfo": "skip"},
            {"type": "scatter", "mode": "lines+markers", "x": [last_x, x[3]], "y": [last_y, forecast["forecast"]],
             "line": {"color": "#0072B2", "dash": "dash"}, "marker": {"symbol": "diamond-open", "size": 10},
             "name": "Forecast year end",
             "hovertemplate": plain(f"forecast {explain.number(forecast['forecast'])} (90% interval"
                                    f" {explain.number(forecast['forecast_lower'])} to"
                                    f" {explain.number(forecast['forecast_upper'])})") + "<extra></extra>"},
        ]
    if forecast["target"] is not None:
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": [forecast["target"]] * 4,
                     "line": {"color": "#555", "dash": "dot"}, "name": f"Target {explain.number(forecast['target'])}"})
    layout = _layout(title, x, unit)
    made_of = explain.YEAR_END_WORDS[forecast["year_end"]]
    layout["yaxis"]["title"] = {"text": plain(f"{explain.unit_words(unit)} ({made_of})")}
    return {"data": data, "layout": layout}
