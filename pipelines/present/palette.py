"""How a status looks, wherever it is drawn: its word, a distinct symbol and an Okabe-Ito
colour that colour-blind readers can tell apart (and that prints in black and white
through the symbol and the word)."""

from __future__ import annotations

# status -> (symbol, colour, plotly marker name)
STATUS_STYLE: dict[str, tuple[str, str, str]] = {
    "GREEN": ("●", "#009E73", "circle"),
    "AMBER": ("▲", "#E69F00", "triangle-up"),
    "RED": ("■", "#D55E00", "square"),
    "GREY": ("◆", "#A6A6A6", "diamond"),
    "NA": ("○", "#FFFFFF", "circle-open"),
}
# RED first, then AMBER: the order a district lead or the tasking group works through.
SEVERITY = {"RED": 0, "AMBER": 1, "GREY": 2, "NA": 3, "GREEN": 4}
NEEDS_UPDATE = ("RED", "AMBER")
STATUS_MEANING = {
    "GREEN": "on or better than target",
    "AMBER": "worse than target, within the band",
    "RED": "worse than target, beyond the band",
    "GREY": "difference from target not statistically significant",
    "NA": "no status: figure or target not available",
}
