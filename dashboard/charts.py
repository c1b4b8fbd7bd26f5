"""Plotly trend charts and inline SVG sparklines; status is shape + colour + word."""

from __future__ import annotations

import base64
import html
from typing import Any

import plotly.graph_objects as go

from dashboard import ui
from pipelines.catalogue import quarters
from pipelines.present import explain, spc_words, words
from pipelines.report import svgchart
from pipelines.rules.codes import Reason

Row = dict[str, Any]
BAND_FILL = "rgba(230, 159, 0, 0.22)"
ERROR_BAR_COLOUR = "#333"
X_TITLE = "Quarter (financial year)"


def _plain(text: str) -> str:
    """Catalogue text for plotly, which reads a few HTML tags (links among them) in titles,
    ticks and hover labels: escaped, so it shows as typed."""
    return html.escape(text, quote=False)


def trend(rows: list[Row], *, title: str, selected: str | None = None) -> go.Figure:
    """Value by quarter for one indicator and area, with the target line, the amber band
    shaded and one marker trace per status so the legend names each symbol.

    The x axis has every quarter from the first row to the last: a quarter with no figure
    (not loaded, or a "no data" row) is a gap in the line with no marker, never closed up."""
    first = rows[0]
    unit = _plain(ui.unit_words(first["unit"]))
    by_qi = {r["qi"]: r for r in rows}
    span = range(min(by_qi), max(by_qi) + 1)
    rows = [by_qi.get(q) or _missing(first, q) for q in span]
    x = [quarters.label(q) for q in span]
    fig = go.Figure()
    has_target = any(r["target"] is not None for r in rows)
    if has_target:
        # The band's far edge (from the rule): target + width when lower is better, - when higher is.
        edge = [r["band_edge"] for r in rows]
        fig.add_trace(go.Scatter(x=x, y=edge, mode="lines", line={"width": 0, "shape": "hvh"},
                                 hoverinfo="skip", showlegend=False, connectgaps=False))
        band = _band_words(first)
        fig.add_trace(go.Scatter(
            x=x, y=[r["target"] for r in rows], mode="lines", name=f"Target (shaded: amber {band})",
            line={"color": "#222", "dash": "dash", "width": 2, "shape": "hvh"}, fill="tonexty",
            fillcolor=BAND_FILL, hovertemplate="Target %{y}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=[r["value"] for r in rows], mode="lines", name="Value",
                             line={"color": "#555", "width": 1.5}, hoverinfo="skip", showlegend=False))
    for status in ui.STATUS_STYLE:
        pts = [r for r in rows if r["status"] == status and r["value"] is not None]
        if not pts:
            continue
        symbol, colour, marker = ui.STATUS_STYLE[status]
        # Plotly draws an open symbol's outline in the marker colour (white for NA, invisible on
        # white): draw the filled symbol instead, white inside a dark outline, as on the chips.
        marker = marker.removesuffix("-open")
        fig.add_trace(go.Scatter(
            x=[r["quarter"] for r in pts], y=[r["value"] for r in pts], mode="markers",
            name=status,  # the legend's own marker already shows the symbol
            marker={"symbol": marker, "size": 13, "color": colour, "line": {"color": "#111", "width": 1.5}},
            error_y=_error_bars(pts),
            text=[_hover(r) for r in pts],
            hovertemplate="%{x}: %{y}<br>%{text}<extra>" + ui.status_text(status) + "</extra>"))
    if any(_has_interval(r) for r in rows):
        # error bars have no legend entry of their own: a legend-only whisker names them
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=_interval_name(rows), hoverinfo="skip",
            marker={"symbol": "line-ns-open", "size": 14, "color": ERROR_BAR_COLOUR,
                    "line": {"color": ERROR_BAR_COLOUR, "width": 1.5}}))
    if selected in x:
        fig.add_vline(x=x.index(selected), line={"color": "#888", "width": 1, "dash": "dot"})
    fig.update_layout(
        title={"text": _plain(title)}, height=420, margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": -0.25}, plot_bgcolor="white",
        xaxis={"title": {"text": X_TITLE}, "type": "category", "categoryorder": "array", "categoryarray": x,
               "showgrid": False, "linecolor": "#888"},
        yaxis={"title": {"text": unit}, "gridcolor": "#e5e5e5", "linecolor": "#888", "zeroline": False},
    )
    return fig


def _has_interval(r: Row) -> bool:
    return r["value"] is not None and r.get("ci_lower") is not None and r.get("ci_upper") is not None


def _error_bars(pts: list[Row]) -> dict[str, Any]:
    """Plotly error bars from each point's confidence interval: up to ci_upper, down to ci_lower;
    a point without an interval gets none (NaN draws nothing)."""
    nan = float("nan")
    return {"type": "data", "symmetric": False, "visible": any(_has_interval(r) for r in pts),
            "array": [r["ci_upper"] - r["value"] if _has_interval(r) else nan for r in pts],
            "arrayminus": [r["value"] - r["ci_lower"] if _has_interval(r) else nan for r in pts],
            "color": ERROR_BAR_COLOUR, "thickness": 1.5, "width": 5}


def _interval_name(rows: list[Row]) -> str:
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
    return "<br>".join(_plain(line) for line in lines)


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


def compare(rows: list[Row], *, title: str) -> go.Figure:
    """Areas side by side for one quarter: bars marked by status, each area's target as a tick."""
    rows = [r for r in rows if r["value"] is not None]
    unit = _plain(ui.unit_words(rows[0]["unit"])) if rows else ""
    fig = go.Figure()
    for status in ui.STATUS_STYLE:
        pts = [r for r in rows if r["status"] == status]
        if not pts:
            continue
        symbol, colour, _ = ui.STATUS_STYLE[status]
        fig.add_trace(go.Bar(
            y=[_plain(r["area"]) for r in pts], x=[r["value"] for r in pts], orientation="h",
            name=ui.status_text(status), marker={"color": colour, "line": {"color": "#111", "width": 1}},
            text=[f"{symbol} {status}  {explain.number(r['value'])}" for r in pts], textposition="inside",
            insidetextanchor="start", textfont={"color": "#111"}, cliponaxis=False,
            error_x={**_error_bars(pts), "color": "#000", "thickness": 2, "width": 7},
            customdata=[_compare_hover(r) for r in pts],
            hovertemplate="%{y}: %{x}%{customdata}<extra></extra>"))
    if any(_has_interval(r) for r in rows):
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=_interval_name(rows), hoverinfo="skip",
            marker={"symbol": "line-ew-open", "size": 14, "color": ERROR_BAR_COLOUR,
                    "line": {"color": ERROR_BAR_COLOUR, "width": 1.5}}))
    targets = [r for r in rows if r["target"] is not None]
    if targets:
        fig.add_trace(go.Scatter(
            y=[_plain(r["area"]) for r in targets], x=[r["target"] for r in targets], mode="markers",
            name="Target", marker={"symbol": "line-ns", "size": 22, "line": {"color": "#111", "width": 3}},
            hovertemplate="%{y} target: %{x}<extra></extra>"))
    order = [_plain(r["area"]) for r in rows]
    fig.update_layout(
        title={"text": _plain(title)}, height=max(260, 44 * len(rows) + 120), barmode="overlay",
        margin={"l": 10, "r": 40, "t": 50, "b": 10}, plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.2},
        xaxis={"title": {"text": unit}, "gridcolor": "#e5e5e5"},
        yaxis={"categoryorder": "array", "categoryarray": order[::-1], "automargin": True},
    )
    return fig


def _compare_hover(r: Row) -> str:
    """' (95% CI 4.05 to 8.57, 30 ÷ 5,000 × 1,000)<br>similar to the target of 6.2', or ''."""
    parts = []
    if explain.interval(r):
        parts.append(f" ({_plain(explain.interval(r))})")
    if r.get("significance"):
        parts.append(f"<br>{_plain(explain.significance_words(r['significance']))} the target of"
                     f" {explain.number(r['target'])}")
    return "".join(parts)


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


def _by_period(rows: list[Row], column: str) -> tuple[list[str], list[float | None]]:
    """One line per period for a plotly trace: a None after each period's last point, so that a
    rebase starts a new segment (the mean and limits never cross it)."""
    x: list[str] = []
    y: list[float | None] = []
    for i, r in enumerate(rows):
        x.append(r["quarter"])
        y.append(r[column])
        if i + 1 < len(rows) and rows[i + 1]["period"] != r["period"]:
            x.append(r["quarter"])
            y.append(None)
    return x, y


def spc(rows: list[Row], *, title: str, unit: str | None, targets: dict[int, float | None] | None = None) -> go.Figure:
    """An XmR chart: the values joined by a line, each period's mean (solid) and process limits
    (dashed), the target where there is one (dotted), and each point marked by its type, shape and
    colour both, with the rule it broke in its hover label. Only quarters with a figure are points."""
    x = [r["quarter"] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[r["value"] for r in rows], mode="lines", name="Value",
                             line={"color": "#777", "width": 1.5}, hoverinfo="skip", showlegend=False))
    lines = (("mean", "Mean", {"color": MEAN_COLOUR, "width": 2}),
             ("upper_limit", "Upper process limit", {"color": LIMIT_COLOUR, "width": 1.5, "dash": "dash"}),
             ("lower_limit", "Lower process limit", {"color": LIMIT_COLOUR, "width": 1.5, "dash": "dash"}))
    for column, name, line in lines:
        lx, ly = _by_period(rows, column)
        fig.add_trace(go.Scatter(x=lx, y=ly, mode="lines", name=name, line=line, connectgaps=False,
                                 hovertemplate=f"{name} %{{y:.4g}}<extra></extra>"))
    if targets and any(targets.get(r["qi"]) is not None for r in rows):
        fig.add_trace(go.Scatter(
            x=x, y=[targets.get(r["qi"]) for r in rows], mode="lines", name="Target",
            line={"color": "#000", "width": 1.5, "dash": "dot", "shape": "hvh"}, connectgaps=False,
            hovertemplate="Target %{y}<extra></extra>"))
    for kind, (marker, colour, size) in SPC_STYLE.items():
        pts = [r for r in rows if r["point_type"] == kind]
        if not pts:
            continue
        fig.add_trace(go.Scatter(
            x=[r["quarter"] for r in pts], y=[r["value"] for r in pts], mode="markers",
            name=spc_words.POINT_WORDS[kind],
            marker={"symbol": marker, "size": size, "color": colour, "line": {"color": "#111", "width": 1}},
            text=[_plain(spc_words.point(r)) for r in pts],
            hovertemplate="%{x}: %{y}<br>%{text}<extra></extra>"))
    fig.update_layout(
        title={"text": _plain(title)}, height=420, margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": -0.25}, plot_bgcolor="white",
        xaxis={"title": {"text": X_TITLE}, "type": "category", "categoryorder": "array", "categoryarray": x,
               "showgrid": False, "linecolor": "#888"},
        yaxis={"title": {"text": _plain(ui.unit_words(unit))}, "gridcolor": "#e5e5e5", "linecolor": "#888",
               "zeroline": False},
    )
    return fig


def sparkline(rows: list[Row], width: int = 130, height: int = 30) -> ui.Html:
    """A small inline SVG of the values, the last point shaped and coloured by its status."""
    pts = [(i, r) for i, r in enumerate(rows) if r["value"] is not None]
    if len(pts) < 2:
        return ui.Html('<span class="sub">too few quarters</span>')
    values = [r["value"] for _, r in pts]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    pad = 6
    n = max(len(rows) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return (pad + i * (width - 2 * pad) / n, pad + (hi - v) * (height - 2 * pad) / span)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, r["value"]) for i, r in pts))
    i, last = pts[-1]
    cx, cy = xy(i, last["value"])
    words = ", ".join(f"{r['quarter']} {explain.number(r['value'])}" for _, r in pts)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
           f'<polyline points="{line}" fill="none" stroke="#444" stroke-width="1.5"/>'
           f"{svgchart.marker(last['status'], cx, cy, 4)}</svg>")
    data = base64.b64encode(svg.encode()).decode()
    return ui.Html(
        f'<img src="data:image/svg+xml;base64,{data}" width="{width}" height="{height}"'
        f' alt="{ui.esc(words)}" title="{ui.esc(words)}">'
    )
