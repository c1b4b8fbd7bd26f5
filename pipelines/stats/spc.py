"""Statistical process control as the NHS "Making Data Count" programme defines it, computed the
way NHSRplotthedots 0.2 (the NHS-R community's reference implementation) does: an XmR chart of
each indicator and area, its special-cause points, and the variation and assurance readings.

Every series at once (a series: an indicator and an area, its quarters with a figure in order):

- A **period** is the whole series, or the part from one rebase quarter to the next
  (``spc: {rebase: [...]}``); nothing crosses a rebase. Quarters with no figure are left out: the
  figures either side of a gap are consecutive points for moving ranges, runs and trends.
- **Mean** of the period's points; **moving range** |yₖ − yₖ₋₁| inside the period; with screening
  (the default), every moving range not below 3.267 × their mean is dropped and the mean moving
  range recomputed; **limits** mean ± 2.66 × mean moving range.
- **Special cause**, by precedence, one type per point: outside the limits (strictly); a trend
  (7 or more points in a row each strictly higher, or lower, than the one before); two in three
  (3 points in a row on one side of the mean, 2 or more of them beyond mean ± 2 × 2.66 / 3 × mean
  moving range but inside the limits: those are flagged); a run (7 or more in a row on one side of
  the mean; a point on the mean breaks it).
- Its **direction** (high or low) with the polarity gives improvement or concern (``neither``
  for an indicator where neither is better); the last point's gives the **variation** icon.
- **Assurance**: the last point's period limits against its target: ``consistent_pass`` when the
  whole range between the limits is on the good side of the target (strictly),
  ``consistent_fail`` when it is on the bad side, ``inconsistent`` otherwise; empty without a
  target or when neither direction is better.

How: SQL does what is cheap and shared with the status query (the figures, each point's period
from the rebases, the target in force at each series' last point) and hands over plain arrays, one
row per point sorted once by series and quarter; numpy does the per-point work for every series at
once. The rules were first written as a chain of DuckDB window steps, but each window layer over a
national history (30,000 series x 40 quarters, 1.2 million points) costs 0.2 to 0.4 s, and the
chain needed about ten: 2 s. Over arrays already in order, every step is one vectorised pass: sums
per period by ``bincount``, "the k points ending here" and "one of the k points from here" as a few
shifted copies of boolean arrays (SQL's ``lag`` and ``lead``). The strings (indicator, area,
polarity) travel once per series, not per point: turning 1.2 million strings into Python objects
alone would cost more than the rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from pipelines.catalogue import quarters
from pipelines.catalogue.config import Catalogue
from pipelines.rules import figures, status
from pipelines.rules.sql import Step, bound, compose
from pipelines.storage import store

LIMIT = 2.66  # 3 / d2 as NHSRplotthedots rounds it (d2 = 1.128)
SCREEN = 3.267  # moving ranges not below this many mean moving ranges are dropped
NEAR = 2 * LIMIT / 3  # two in three: beyond two thirds of the way to a limit
RUN = 7  # points in a run or a trend
FEW = 12  # fewer points than this in a period: the limits rest on few points

VARIATIONS = ("common_cause", "improvement_high", "improvement_low", "concern_high", "concern_low",
              "neither_high", "neither_low")
ASSURANCES = ("consistent_pass", "consistent_fail", "inconsistent")
POINT_TYPES = ("common_cause", "special_cause_improvement", "special_cause_concern", "special_cause_neither")
RULES = ("none", "outside", "trend", "two_in_three", "run")  # by precedence after 'none'

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Codes = npt.NDArray[np.int8]  # small codes: a rule, a direction, a point type

# ---- asking -----------------------------------------------------------------------------------

# Each indicator's settings, as the catalogue gives them (rebases as quarter indexes)
SETTINGS = Step("spc_settings", "SELECT unnest($spc_settings, recursive := true)")
# The series: every figure (as given, from counts, added up, windowed) of the areas asked, with the
# indicator's polarity and settings. The figures alone, not the status rule's output: a national
# history is 1.2 million of them.
SERIES = Step("spc_series", """
SELECT f.indicator, f.area, f.qi, f.value, i.better, s.rebases, s.screen
FROM figures f
JOIN catalogue_indicators i USING (indicator)
JOIN spc_settings s USING (indicator)
WHERE ($only_areas IS NULL OR list_contains($only_areas, f.area)) AND f.qi <= $last_qi""")

# Each series' points with the period each is in: the number of rebases at or before it
POINTS = Step("spc_points", """
SELECT s.indicator, s.area, s.qi, s.value, s.better, s.screen,
    len(list_filter(s.rebases, lambda r: r <= s.qi)) AS period
FROM spc_series s WHERE s.value IS NOT NULL""", "each series' points and their periods")

# Each point by its indicator's and area's places in the catalogue, in that order: the points
# carry numbers, not strings (turning 1.2 million strings into Python objects would cost more than
# the rules)
PLACED = Step("spc_placed", """
SELECT i.ind_pos, a.area_pos, p.qi, p.value, p.period
FROM spc_points p JOIN catalogue_indicators i USING (indicator) JOIN catalogue_areas a USING (area)""",
              "each point by its indicator's and area's places")
POINT_COLUMNS = ("ind_pos", "area_pos", "qi", "value", "period")
# The target in force at each series' last point (the rule's own choice of target), for the series
# registered as ENDS
ENDS = "ragboard_spc_ends"
LAST_TARGETS = status.target_in_force("spc_last_targets", "spc_ends")

COLUMNS = ("indicator", "area", "quarter", "qi", "value", "mean", "lower_limit", "upper_limit", "special_cause",
           "point_type", "rule", "period", "period_points", "variation", "assurance")
READING_COLUMNS = ("indicator", "area", "qi", "quarter", "point_type", "rule", "period_points", "variation",
                   "assurance")


def settings(catalogue: Catalogue, indicators: list[str] | None = None) -> list[dict[str, Any]]:
    """Each indicator's rebases (quarter indexes) and screening, as the query's parameter."""
    wanted = set(indicators) if indicators else None
    out = []
    for ind in catalogue.indicators:
        if wanted is None or ind.id in wanted:
            spc = catalogue.spc_for(ind)
            out.append({"indicator": ind.id, "rebases": list(spc.rebase or ()),
                        "screen": bool(spc.screen_outliers)})
    return out


def _steps(catalogue: Catalogue, indicators: list[str] | None) -> tuple[Step, ...]:
    """The status query's figures (the same steps, chosen the same way), then the points'."""
    return (*status.CATALOGUE, *figures.needed(*status.needs(catalogue, indicators)), SETTINGS, SERIES, POINTS,
            PLACED)


@dataclass(frozen=True)
class _Series:
    """A series: its indicator and area, and what its chart needs of them."""

    indicator: str
    area: str
    better: str
    screen: bool
    qi: int  # its last point's quarter
    points: int
    target: float | None  # in force at its last point


@dataclass(frozen=True)
class _Fetched:
    """What SQL hands over: each series once (in the catalogue's order of indicators, then areas)
    and each point as arrays sorted by series and quarter."""

    series: list[_Series]
    sid: Ints
    qi: Ints
    value: Floats
    period: Ints


def _fetch(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, upto: int,
           areas: list[str] | None, indicators: list[str] | None) -> _Fetched:
    # every quarter from the first loaded up to ``upto``: a chart's points, a reading's history
    first = con.execute("SELECT min(qi) FROM observations").fetchone()
    start = min(first[0], upto) if first and first[0] is not None else upto
    params = status.parameters(catalogue, list(range(start, upto + 1)), areas, indicators)
    params["spc_settings"] = settings(catalogue, indicators)
    # a chart compares nothing: only the areas asked and those they are added up from are read
    params["observed_areas"] = None if areas is None else list(
        dict.fromkeys(below for a in areas for below in catalogue.under(a)))
    params["compared_only"] = []
    # One long query of numbers only, which fetchnumpy turns into arrays without Python objects;
    # the series' names come from the catalogue by their places, and their targets from a short
    # second query. One transaction, so both read the same snapshot (a caller's own, if open).
    with _snapshot(con):
        sql = compose(_steps(catalogue, indicators), list(POINT_COLUMNS), ("ind_pos", "area_pos", "qi"))
        got = con.execute(sql, bound(sql, params)).fetchnumpy()
        ind_pos, area_pos = (np.asarray(got[c], dtype=np.int64) for c in ("ind_pos", "area_pos"))
        qi = np.asarray(got["qi"], dtype=np.int64)
        starts = np.ones(len(qi), dtype=np.bool_)
        starts[1:] = (ind_pos[1:] != ind_pos[:-1]) | (area_pos[1:] != area_pos[:-1])
        first_points = np.flatnonzero(starts)
        points = np.diff(np.append(first_points, len(qi)))
        ends = first_points + points - 1
        names = [(catalogue.indicators[i].id, catalogue.areas[a])
                 for i, a in zip(ind_pos[first_points].tolist(), area_pos[first_points].tolist(), strict=True)]
        targets = _targets(con, catalogue, params, names, qi[ends].tolist())
    screens = {row["indicator"]: row["screen"] for row in params["spc_settings"]}
    series = [_Series(ind, area, catalogue.indicator(ind).better, screens[ind], last, n, target)
              for (ind, area), last, n, target in zip(names, qi[ends].tolist(), points.tolist(), targets, strict=True)]
    return _Fetched(series, np.cumsum(starts) - 1, qi, np.asarray(got["value"], dtype=np.float64),
                    np.asarray(got["period"], dtype=np.int64))


def _targets(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, params: dict[str, Any],
             names: list[tuple[str, str]], last: list[int]) -> list[float | None]:
    """The target in force at each series' last point, in the series' order."""
    if not names:
        return []
    con.register(ENDS, {"indicator": np.array([n[0] for n in names], dtype=object),
                        "area": np.array([n[1] for n in names], dtype=object),
                        "qi": np.array(last, dtype=np.int64), "position": np.arange(len(names))})
    try:
        sql = compose((*status.CATALOGUE, Step("spc_ends", f"SELECT * FROM {ENDS}"), LAST_TARGETS), ["target"],
                      ("position",))
        return [row[0] for row in con.execute(sql, bound(sql, params)).fetchall()]
    finally:
        con.unregister(ENDS)


@contextmanager
def _snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Inside a transaction: the caller's, or one begun here and rolled back (nothing is written)."""
    if store.in_transaction(con):  # the caller's snapshot serves (a second BEGIN would abort it)
        yield
        return
    con.begin()
    try:
        yield
    finally:
        con.rollback()


# ---- the chart, in arrays -------------------------------------------------------------------


def _all_back(flag: Bools, points: int, position: Ints) -> Bools:
    """``flag`` holds at each point and at the ``points - 1`` before it in its period (as SQL's
    ``lag`` inside the period sees them: none before the period's first point). ``position`` is
    each point's place in its period, from 0. Shifted copies: a few passes over bytes."""
    out = flag & (position >= points - 1)
    for back in range(1, points):
        out[back:] &= flag[:-back]
    return out


def _any_ahead(flag: Bools, points: int) -> Bools:
    """``flag`` holds at the point or at one of the ``points - 1`` after it. No period check
    needed: what ``flag`` marks (where a rule's points end) reaches back over its own period only."""
    out = flag.copy()
    for ahead in range(1, points):
        out[:-ahead] |= flag[ahead:]
    return out


def _two_back(flag: Bools) -> Bools:
    """``flag`` holds at 2 or more of the point and the 2 before it (whether they are in its
    period is for the caller, who asks that all 3 are on one side of the mean)."""
    one, two = np.zeros_like(flag), np.zeros_like(flag)
    one[1:], two[2:] = flag[:-1], flag[:-2]
    return (flag & one) | (flag & two) | (one & two)


def _per_period(values: Floats, counted: Bools | None, group: Ints, first: Ints) -> Floats:
    """The mean of ``values`` (where ``counted``, else all) over each period (``group``: each
    point's, the periods starting at ``first``); NaN (SQL's NULL) for a period without any.

    Summed point by point in quarter order, as DuckDB's ``avg`` mostly did: whether a point is on
    the mean can turn on the last bit of the sum. Pairwise sums (``np.add.reduceat``) moved 25 of
    the benchmark's 1.2 million points across the mean; these match the SQL's rule on every one."""
    if counted is None:
        count: Ints = np.diff(np.append(first, len(values)))
    else:
        values = np.where(counted, values, 0.0)
        count = np.add.reduceat(counted.astype(np.int64), first)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(group, weights=values, minlength=len(first)) / count


@dataclass(frozen=True)
class _Chart:
    """Each point's chart, in arrays in the order fetched. Limits are NaN where SQL had NULL (a
    period of one point; every moving range screened out, as when all its figures are equal)."""

    mean: Floats
    lower: Floats
    upper: Floats
    period_points: Ints
    rule: Codes  # index in RULES
    direction: Codes  # 1 high, -1 low, 0 none
    point_type: Codes  # index in POINT_TYPES


def _chart(sid: Ints, value: Floats, period: Ints, screen: Bools, better: Codes, points: Ints) -> _Chart:
    """Every series' chart at once: ``sid``, ``value``, ``period`` per point, sorted by series and
    quarter; ``screen``, ``better`` (1 higher, -1 lower, 0 neither) and ``points`` per series."""
    n = len(value)
    # the periods: a new one at each series' first point and at each rebase. Per-period values
    # reach the points by np.repeat (the points are in period order), cheaper than indexing.
    starts = np.ones(n, dtype=np.bool_)
    starts[1:] = (sid[1:] != sid[:-1]) | (period[1:] != period[:-1])
    first = np.flatnonzero(starts)
    group = np.cumsum(starts) - 1
    sizes = np.diff(np.append(first, n))
    position = np.arange(n) - np.repeat(first, sizes)
    mean = np.repeat(_per_period(value, None, group, first), sizes)

    # moving ranges inside the period (none at its first point); screened unless the catalogue says not
    moving = ~starts
    ranges = np.abs(np.diff(value, prepend=value[:1]))
    mean_range_all = _per_period(ranges, moving, group, first)
    screened = np.repeat(screen, points)[first]
    threshold = np.where(screened, SCREEN * mean_range_all, np.inf)
    kept = moving & (ranges < np.repeat(threshold, sizes))
    mean_range = np.repeat(_per_period(ranges, kept, group, first), sizes)
    lower, upper = mean - LIMIT * mean_range, mean + LIMIT * mean_range
    near_lower, near_upper = mean - NEAR * mean_range, mean + NEAR * mean_range

    # side: 1 above the mean, -1 below, 0 on it; step: 1 higher than the point before, -1 lower,
    # 0 equal or the period's first point (NaN limits compare false, as SQL's NULL is not true)
    side = np.sign(value - mean).astype(np.int8)
    step = np.sign(value - np.concatenate((value[:1], value[:-1]))).astype(np.int8)
    step[starts] = 0
    outside = (value > upper) | (value < lower)
    close_high = (value > near_upper) & (value <= upper)
    close_low = (value < near_lower) & (value >= lower)

    # Each rule as the points it needs, ending here: 7 on one side of the mean (a run), 6 steps the
    # same way (a trend of 7 points), 3 on one side with 2 or more of them close to a limit (two in
    # three). A point is in a run (or trend, or two in three) when such points end at it or at one
    # of the points after it that they reach back over.
    above, below = side == 1, side == -1
    in_run = _any_ahead(_all_back(above, RUN, position) | _all_back(below, RUN, position), RUN)
    rising = _any_ahead(_all_back(step == 1, RUN - 1, position), RUN)
    falling = _any_ahead(_all_back(step == -1, RUN - 1, position), RUN)
    high = close_high & _any_ahead(_all_back(above, 3, position) & _two_back(close_high), 3)
    low = close_low & _any_ahead(_all_back(below, 3, position) & _two_back(close_low), 3)
    trend = rising.astype(np.int8) - (falling & ~rising)  # a peak ends a rise and starts a fall
    two_in_three = high.astype(np.int8) - (low & ~high)

    # one rule per point, by precedence, and the way it points: 1 high (above, rising), -1 low
    found = [outside, trend != 0, two_in_three != 0, in_run]
    rule = np.select(found, [np.int8(1), np.int8(2), np.int8(3), np.int8(4)], np.int8(0))
    direction = np.select(found, [side, trend, two_in_three, side], np.int8(0))
    # 1 improvement (the way the polarity points), 2 concern, 3 neither; 0 common cause
    polarity = np.repeat(better, points)
    point_type = np.where(direction == polarity, np.int8(1), np.int8(2))
    point_type[polarity == 0] = 3
    point_type[rule == 0] = 0
    return _Chart(mean, lower, upper, np.repeat(sizes, sizes), rule, direction, point_type)


def _variation(point_type: int, direction: int) -> str:
    if point_type == 0:
        return "common_cause"
    return ("improvement", "concern", "neither")[point_type - 1] + ("_high" if direction == 1 else "_low")


def _assurance(better: str, lower: float, upper: float, target: float | None) -> str | None:
    # NaN limits (no moving range left) compare false, as SQL's NULL: inconsistent
    if target is None or better == "neither":
        return None
    good_above = better == "higher"
    if lower > target:
        return "consistent_pass" if good_above else "consistent_fail"
    if upper < target:
        return "consistent_fail" if good_above else "consistent_pass"
    return "inconsistent"


def _limit(x: float) -> float | None:
    return None if x != x else x  # NaN: SQL's NULL


_POLARITY = {"higher": 1, "lower": -1, "neither": 0}


def _compute(fetched: _Fetched) -> tuple[_Chart, Ints]:
    """The chart of every point fetched, and each series' last point (its index)."""
    series = fetched.series
    screen = np.array([s.screen for s in series], dtype=np.bool_)
    better = np.array([_POLARITY[s.better] for s in series], dtype=np.int8)
    points = np.array([s.points for s in series], dtype=np.int64)
    return _chart(fetched.sid, fetched.value, fetched.period, screen, better, points), np.cumsum(points) - 1


def _reading(series: _Series, result: _Chart, last: int) -> tuple[str, str | None]:
    """The variation and assurance of a series' last point."""
    return (_variation(int(result.point_type[last]), int(result.direction[last])),
            _assurance(series.better, float(result.lower[last]), float(result.upper[last]), series.target))


def chart(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, indicator: str, area: str,
          quarter_indexes: list[int]) -> list[dict[str, Any]]:
    """One series' XmR chart up to the last of ``quarter_indexes``: a row per quarter with a
    figure, in order, the readings (variation, assurance) on the last."""
    if not quarter_indexes:
        return []
    return charts(con, catalogue, area, max(quarter_indexes), [indicator]).get(indicator, [])


def charts(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, area: str, upto: int,
           indicators: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every series of one area up to quarter ``upto`` (or of ``indicators``), by indicator: each
    ``chart``'s rows, from one reading of the figures (a pack draws one per indicator)."""
    fetched = _fetch(con, catalogue, upto, [area], indicators)
    if not fetched.series:
        return {}
    result, ends = _compute(fetched)
    out: dict[str, list[dict[str, Any]]] = {}
    start = 0
    for series, end in zip(fetched.series, ends.tolist(), strict=True):
        variation, assurance = _reading(series, result, end)
        rows = out.setdefault(series.indicator, [])
        for i in range(start, end + 1):
            rule, point_type = int(result.rule[i]), int(result.point_type[i])
            qi = int(fetched.qi[i])
            rows.append({"indicator": series.indicator, "area": series.area, "quarter": quarters.label(qi), "qi": qi,
                         "value": float(fetched.value[i]), "mean": float(result.mean[i]),
                         "lower_limit": _limit(float(result.lower[i])), "upper_limit": _limit(float(result.upper[i])),
                         "special_cause": rule != 0, "point_type": POINT_TYPES[point_type], "rule": RULES[rule],
                         "period": int(fetched.period[i]), "period_points": int(result.period_points[i]),
                         "variation": variation if i == end else None, "assurance": assurance if i == end else None})
        start = end + 1
    return out


def readings(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, upto: int,
             areas: list[str] | None = None, indicators: list[str] | None = None) -> list[dict[str, Any]]:
    """Each series' reading as of quarter ``upto``: its last point with a figure up to then, in the
    catalogue's order of indicators, then of areas."""
    fetched = _fetch(con, catalogue, upto, areas, indicators)
    if not fetched.series:
        return []
    result, ends = _compute(fetched)
    labels = {qi: quarters.label(qi) for qi in {s.qi for s in fetched.series}}
    rows = []
    for series, rule, point_type, direction, period_points, lower, upper in zip(
            fetched.series, result.rule[ends].tolist(), result.point_type[ends].tolist(),
            result.direction[ends].tolist(), result.period_points[ends].tolist(), result.lower[ends].tolist(),
            result.upper[ends].tolist(), strict=True):
        rows.append({"indicator": series.indicator, "area": series.area, "qi": series.qi, "quarter": labels[series.qi],
                     "point_type": POINT_TYPES[point_type], "rule": RULES[rule], "period_points": period_points,
                     "variation": _variation(point_type, direction),
                     "assurance": _assurance(series.better, lower, upper, series.target)})
    return rows
