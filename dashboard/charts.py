"""The pages' charts: the figures ``pipelines.present.charts`` builds (the same the pack prints),
made plotly objects here; and small inline SVG sparklines. Status is shape + colour + word."""

from __future__ import annotations

import base64
from typing import Any

import plotly.graph_objects as go

from dashboard import ui
from pipelines.present import charts as figures
from pipelines.present import explain
from pipelines.present.palette import STATUS_STYLE

Row = dict[str, Any]


def trend(rows: list[Row], *, title: str, selected: str | None = None) -> go.Figure:
    return go.Figure(figures.trend(rows, title=title, selected=selected))


def compare(rows: list[Row], *, title: str) -> go.Figure:
    return go.Figure(figures.compare(rows, title=title))


def spc(rows: list[Row], *, title: str, unit: str | None, targets: dict[int, float | None] | None = None) -> go.Figure:
    return go.Figure(figures.spc(rows, title=title, unit=unit, targets=targets))


def funnel(rows: list[Row], limits: list[Any], **kwargs: Any) -> go.Figure:
    return go.Figure(figures.funnel(rows, limits, **kwargs))


def spine(profile: list[Any], **kwargs: Any) -> go.Figure:
    return go.Figure(figures.spine(profile, **kwargs))


def marker(status: str, x: float, y: float, size: float = 5.0) -> str:
    """A status's point in its own shape (circle, triangle, square, diamond, open circle), as on
    the chips."""
    colour = "#fff" if status == "NA" else STATUS_STYLE[status][1]
    style = f'fill="{colour}" stroke="#222" stroke-width="1"'
    s, d = size, size * 1.2

    def path(*points: tuple[float, float]) -> str:
        return "<path d=\"M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in points) + f' Z" {style}/>'

    if status == "AMBER":
        return path((x, y - d), (x + d, y + s), (x - d, y + s))
    if status == "RED":
        return f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" height="{2 * s:.1f}" {style}/>'
    if status == "GREY":
        return path((x, y - d), (x + d, y), (x, y + d), (x - d, y))
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{s:.1f}" {style}/>'


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
           f"{marker(last['status'], cx, cy, 4)}</svg>")
    data = base64.b64encode(svg.encode()).decode()
    return ui.Html(
        f'<img src="data:image/svg+xml;base64,{data}" width="{width}" height="{height}"'
        f' alt="{ui.esc(words)}" title="{ui.esc(words)}">'
    )


def outlook(year_rows: list[Row], forecast: Row, *, title: str, unit: str | None) -> go.Figure:
    return go.Figure(figures.outlook(year_rows, forecast, title=title, unit=unit))
