"""A small static trend chart as inline SVG, for the printed board pack.

The dashboard draws with plotly; the pack must be one self-contained file that prints,
and the engine does not import plotly, so its chart is plain SVG: value by quarter, the
target line, the amber band shaded, each point marked by its status symbol and, where the
figure has a confidence interval, a whisker from its lower to its upper limit.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from pipelines.present.explain import number
from pipelines.present.palette import STATUS_STYLE

W, H = 640, 236
LEFT, RIGHT, TOP, BOTTOM = 64, 56, 30, 40


def marker(status: str, x: float, y: float, size: float = 5.0) -> str:
    """A status's point in its own shape (circle, triangle, square, diamond, open circle), as on
    the chips: the pack's charts and the dashboard's sparklines both draw with it."""
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


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """Round-numbered gridlines (1, 2 or 5 times a power of ten) inside [lo, hi]."""
    raw = (hi - lo) / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def trend(rows: list[dict[str, Any]], unit: str) -> str:
    """rows: one indicator and area, oldest quarter first (from status.query)."""
    values = [r["value"] for r in rows if r["value"] is not None]
    bounds = values + [r["target"] for r in rows if r["target"] is not None]
    bounds += [r["band_edge"] for r in rows if r["band_edge"] is not None]
    whiskers = [(i, r["ci_lower"], r["ci_upper"]) for i, r in enumerate(rows) if _has_interval(r)]
    bounds += [v for _, lo_, hi_ in whiskers for v in (lo_, hi_)]
    if not values:
        return '<p class="muted">No figures to chart.</p>'
    lo, hi = min(bounds), max(bounds)
    pad = (hi - lo) * 0.12 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    n = len(rows)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img"'
             f' aria-label="Trend of the value against the target" font-family="sans-serif" font-size="11">']
    for t in _ticks(lo, hi):
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:,.10g}</text>')
    for i, r in enumerate(rows):  # band and target, quarter by quarter (targets change by year)
        if r["target"] is None:
            continue
        x0, x1 = x(i) - plot_w / n / 2, x(i) + plot_w / n / 2
        edge = r["target"] if r["band_edge"] is None else r["band_edge"]
        top, bottom = max(y(r["target"]), y(edge)), min(y(r["target"]), y(edge))
        parts.append(f'<rect x="{x0:.1f}" y="{bottom:.1f}" width="{x1 - x0:.1f}" height="{top - bottom:.1f}"'
                     ' fill="#E69F00" fill-opacity="0.18"/>')
        parts.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y(r["target"]):.1f}" y2="{y(r["target"]):.1f}"'
                     ' stroke="#333" stroke-dasharray="5,3" stroke-width="1.5"/>')
    # one line per run of quarters with figures: a missing quarter shows as a gap, not a bridge
    segments: list[list[tuple[float, float]]] = [[]]
    for i, r in enumerate(rows):
        if r["value"] is None:
            segments.append([])
        else:
            segments[-1].append((x(i), y(r["value"])))
    for points in (s for s in segments if s):
        parts.append('<polyline fill="none" stroke="#0072B2" stroke-width="2" points="'
                     + " ".join(f"{px:.1f},{py:.1f}" for px, py in points) + '"/>')
    for i, lower, upper in whiskers:  # under the markers, so each point stays legible
        parts.append(whisker(x(i), y(lower), y(upper)))
    for i, r in enumerate(rows):
        if r["value"] is not None:
            parts.append(marker(r["status"], x(i), y(r["value"])))
        label = escape(r["quarter"])
        parts.append(f'<text x="{x(i):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{label[:7]}</text>'
                     f'<text x="{x(i):.1f}" y="{H - BOTTOM + 29}" text-anchor="middle">{label[8:]}</text>')
    parts.append(f'<text x="12" y="{TOP + plot_h / 2:.1f}" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})"'
                 f' text-anchor="middle">{escape(unit)}</text>')
    last = next((i for i in range(n - 1, -1, -1) if rows[i]["value"] is not None), None)
    if last is not None:  # the figure the board is reading, written beside its point
        parts.append(f'<text x="{x(last) + 9:.1f}" y="{y(rows[last]["value"]) + 4:.1f}" font-weight="bold">'
                     f'{escape(number(rows[last]["value"], unit))}</text>')
    parts.append(_legend([r["status"] for r in rows if r["value"] is not None],
                         _interval_label([rows[i] for i, _, _ in whiskers])))
    parts.append("</svg>")
    return "".join(parts)


def _has_interval(r: dict[str, Any]) -> bool:
    return r["value"] is not None and r.get("ci_lower") is not None and r.get("ci_upper") is not None


def whisker(x: float, y_lower: float, y_upper: float, cap: float = 4.0) -> str:
    """A confidence interval: a vertical line from the lower to the upper limit, capped at both ends."""
    style = 'stroke="#333" stroke-width="1.3"'
    return (f'<path class="whisker" d="M{x:.1f},{y_lower:.1f} L{x:.1f},{y_upper:.1f}'
            f' M{x - cap:.1f},{y_lower:.1f} L{x + cap:.1f},{y_lower:.1f}'
            f' M{x - cap:.1f},{y_upper:.1f} L{x + cap:.1f},{y_upper:.1f}" fill="none" {style}/>')


def _interval_label(rows: list[dict[str, Any]]) -> str:
    """'95% CI' for intervals from counts at one level; 'CI' otherwise (supplied, or mixed); '' for none."""
    if not rows:
        return ""
    levels = {r.get("confidence") for r in rows if r.get("ci_method") != "supplied"}
    if len(levels) == 1 and all(r.get("ci_method") != "supplied" for r in rows) and None not in levels:
        return f"{levels.pop():g}% CI"
    return "CI"


def _legend(statuses: list[str], interval: str = "") -> str:
    """Drawn, not typed: the target's dashes, the band's shade, the markers that appear and, when
    any point has one, the confidence interval's whisker."""
    y = TOP - 14
    parts = [f'<line x1="{LEFT}" x2="{LEFT + 22}" y1="{y}" y2="{y}" stroke="#333" stroke-dasharray="5,3"'
             ' stroke-width="1.5"/>',
             f'<text x="{LEFT + 27}" y="{y + 4}">target</text>',
             f'<rect x="{LEFT + 72}" y="{y - 6}" width="18" height="12" fill="#E69F00" fill-opacity="0.18"'
             ' stroke="#E69F00" stroke-opacity="0.5"/>',
             f'<text x="{LEFT + 95}" y="{y + 4}">amber band</text>']
    at = LEFT + 175.0
    for status in (s for s in STATUS_STYLE if s in statuses):
        parts.append(marker(status, at, y))
        parts.append(f'<text x="{at + 9}" y="{y + 4}">{status}</text>')
        at += 28 + 7.5 * len(status)
    if interval:
        parts.append(whisker(at, y + 6, y - 6, 3))
        parts.append(f'<text x="{at + 8}" y="{y + 4}">{escape(interval)}</text>')
    return "".join(parts)
