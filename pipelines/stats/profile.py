"""An area's profile, as Fingertips' spine chart shows it: for each indicator, the area's figure, the
benchmark's, and where the area sits among every area at its level (the lowest, the 25th and 75th
percentiles, the highest), with its comparison with the benchmark.

Percentiles are linear between the sorted figures, the lowest and highest figures being the 0th and
100th (``statistics.quantiles``, method 'inclusive'; Excel's PERCENTILE.INC).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProfileRow:
    indicator: str
    name: str
    unit: str
    better: str
    value: float | None  # the area's figure
    benchmark: float | None
    vs_benchmark: str | None
    areas: int  # how many areas at the level have a figure
    lowest: float
    q1: float
    q3: float
    highest: float

    def position(self, figure: float) -> float:
        """Where ``figure`` sits on the spine: the benchmark at 0, the farthest area from it at 1 or -1,
        better to the right (higher to the right where neither is better)."""
        centre = self.benchmark if self.benchmark is not None else (self.lowest + self.highest) / 2
        reach = max(abs(self.lowest - centre), abs(self.highest - centre)) or 1.0
        side = -1.0 if self.better == "lower" else 1.0
        return side * (figure - centre) / reach


def rows(status_rows: list[dict[str, Any]], area: str) -> list[ProfileRow]:
    """The profile of ``area`` from the status rows of every area at its level, one quarter: an
    indicator where fewer than two areas have a figure, or the area has none, is left out."""
    by_indicator: dict[str, list[dict[str, Any]]] = {}
    for r in status_rows:
        by_indicator.setdefault(r["indicator"], []).append(r)
    out = []
    for indicator, group in by_indicator.items():
        mine = next((r for r in group if r["area"] == area), None)
        figures = sorted(r["value"] for r in group if r["value"] is not None)
        if mine is None or mine["value"] is None or len(figures) < 2:
            continue
        q1, _, q3 = statistics.quantiles(figures, n=4, method="inclusive")
        out.append(ProfileRow(indicator, mine["name"], mine["unit"], mine["better"], mine["value"],
                              mine.get("benchmark_value"), mine.get("vs_benchmark"), len(figures), figures[0], q1,
                              q3, figures[-1]))
    return out
