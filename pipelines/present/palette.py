"""How a status looks, wherever it is drawn: its word, a distinct symbol and an Okabe-Ito
colour that colour-blind readers can tell apart (and that prints in black and white
through the symbol and the word).

The names the pages and the pack use, all derived from the one definition of each status in
``pipelines.rules.codes``.
"""

from __future__ import annotations

from pipelines.rules.codes import STATUSES, Status

__all__ = ["NEEDS_UPDATE", "SEVERITY", "STATUSES", "STATUS_MEANING", "STATUS_STYLE", "Status"]

# status -> (symbol, colour, plotly marker name), in drawing order (GREEN, AMBER, RED, GREY, NA)
STATUS_STYLE: dict[str, tuple[str, str, str]] = {s.word: (s.symbol, s.colour, s.marker) for s in STATUSES}
# RED first, then AMBER: the order a district lead or the tasking group works through.
SEVERITY: dict[str, int] = {s.word: s.severity for s in STATUSES}
NEEDS_UPDATE: tuple[str, ...] = tuple(s.word for s in sorted(STATUSES, key=lambda s: s.severity) if s.owes_update)
STATUS_MEANING: dict[str, str] = {s.word: s.meaning for s in STATUSES}
