"""Statistical process control as the NHS "Making Data Count" programme defines it, computed the
way NHSRplotthedots 0.2 (the NHS-R community's reference implementation) does: an XmR chart of
each indicator and area, its special-cause points, and the variation and assurance readings.

One query over every series at once (a series: an indicator and an area, its quarters with a
figure in order), as named steps over the status query's figures:

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
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.catalogue.config import Catalogue
from pipelines.rules import figures, status
from pipelines.rules.sql import Step, bound, compose

LIMIT = 2.66  # 3 / d2 as NHSRplotthedots rounds it (d2 = 1.128)
SCREEN = 3.267  # moving ranges not below this many mean moving ranges are dropped
NEAR = 2 * LIMIT / 3  # two in three: beyond two thirds of the way to a limit
RUN = 7  # points in a run or a trend
FEW = 12  # fewer points than this in a period: the limits rest on few points

VARIATIONS = ("common_cause", "improvement_high", "improvement_low", "concern_high", "concern_low",
              "neither_high", "neither_low")
ASSURANCES = ("consistent_pass", "consistent_fail", "inconsistent")
POINT_TYPES = ("common_cause", "special_cause_improvement", "special_cause_concern", "special_cause_neither")

# Each series' points (from ``spc_series``: indicator, area, qi, value, better, rebases, screen)
# with the period each is in: the number of rebases at or before it
POINTS = Step("spc_points", """
SELECT s.*, len(list_filter(s.rebases, lambda r: r <= s.qi)) AS period
FROM spc_series s WHERE s.value IS NOT NULL""", "each series' points and their periods")

MOVING = Step("spc_moving", """
SELECT *, abs(value - lag(value) OVER w) AS mr, avg(value) OVER p AS mean,
    count(*) OVER p AS period_points
FROM spc_points
WINDOW w AS (PARTITION BY indicator, area, period ORDER BY qi), p AS (PARTITION BY indicator, area, period)""",
              "moving ranges and the period's mean")

LIMITS = Step("spc_limits", f"""
SELECT *, mean - {LIMIT} * amr AS lower_limit, mean + {LIMIT} * amr AS upper_limit,
    mean - {NEAR!r} * amr AS near_lower, mean + {NEAR!r} * amr AS near_upper
FROM (SELECT *, avg(CASE WHEN NOT screen OR mr < {SCREEN} * amr_all THEN mr END)
                    OVER (PARTITION BY indicator, area, period) AS amr
      FROM (SELECT *, avg(mr) OVER (PARTITION BY indicator, area, period) AS amr_all FROM spc_moving))""",
              "the natural process limits, moving ranges screened unless the catalogue says not")

# side: 1 above the mean, -1 below, 0 on it; step: 1 higher than the point before, -1 lower, 0 equal
SIDES = Step("spc_sides", """
SELECT *, sign(value - mean)::INTEGER AS side,
    coalesce(sign(value - lag(value) OVER w)::INTEGER, 0) AS step,
    value > upper_limit OR value < lower_limit AS outside,
    value > near_upper AND value <= upper_limit AS close_high,
    value < near_lower AND value >= lower_limit AS close_low
FROM spc_limits
WINDOW w AS (PARTITION BY indicator, area, period ORDER BY qi)""", "which side of the mean, which way it moved")

def _all_back(column: str, value: int, points: int) -> str:
    """SQL: ``column`` equals ``value`` at this point and each of the ``points - 1`` before it
    (shifted copies, which DuckDB makes in one pass over the ordered series)."""
    return " AND ".join([f"{column} = {value}"] + [f"lag({column}, {i}) OVER w = {value}" for i in range(1, points)])


def _any_ahead(column: str, points: int) -> str:
    """SQL: ``column`` is true at this point or at one of the ``points - 1`` after it."""
    return "(" + " OR ".join([f"coalesce({column}, false)"] + [f"coalesce(lead({column}, {i}) OVER w, false)"
                                                                for i in range(1, points)]) + ")"


_WINDOW = "WINDOW w AS (PARTITION BY indicator, area, period ORDER BY qi)"

# Each rule as the points it needs, ending here: 7 on one side of the mean (a run), 6 steps the same
# way (a trend of 7 points), 3 on one side with 2 or more of them close to a limit (two in three)
ENDS = Step("spc_ends", f"""
SELECT *,
    ({_all_back("side", 1, RUN)}) OR ({_all_back("side", -1, RUN)}) AS run_ends,
    {_all_back("step", 1, RUN - 1)} AS rise_ends,
    {_all_back("step", -1, RUN - 1)} AS fall_ends,
    {_all_back("side", 1, 3)} AND close_high::INTEGER + (lag(close_high) OVER w)::INTEGER
        + (lag(close_high, 2) OVER w)::INTEGER >= 2 AS high_ends,
    {_all_back("side", -1, 3)} AND close_low::INTEGER + (lag(close_low) OVER w)::INTEGER
        + (lag(close_low, 2) OVER w)::INTEGER >= 2 AS low_ends
FROM spc_sides
{_WINDOW}""", "the points each rule needs, by the point they end at")

# A point is in a run (or trend, or two in three) when such points end at it or at one of the
# points after it that they reach back over; a trend's 6 steps span 7 points.
RULES = Step("spc_rules", f"""
SELECT *,
    {_any_ahead("run_ends", RUN)} AS in_run,
    CASE WHEN {_any_ahead("rise_ends", RUN)} THEN 1 WHEN {_any_ahead("fall_ends", RUN)} THEN -1 END AS trend,
    CASE WHEN close_high AND {_any_ahead("high_ends", 3)} THEN 1
         WHEN close_low AND {_any_ahead("low_ends", 3)} THEN -1 END AS two_in_three
FROM spc_ends
{_WINDOW}""", "the four rules, each on its own")


# One rule per point, by precedence, and the way it points: 1 high (above, rising), -1 low
CAUSES = Step("spc_causes", """
SELECT *, CASE WHEN rule = 'none' THEN 'common_cause'
               WHEN better = 'neither' THEN 'special_cause_neither'
               WHEN (direction = 1) = (better = 'higher') THEN 'special_cause_improvement'
               ELSE 'special_cause_concern' END AS point_type
FROM (SELECT *,
        CASE WHEN outside THEN 'outside' WHEN trend IS NOT NULL THEN 'trend'
             WHEN two_in_three IS NOT NULL THEN 'two_in_three' WHEN in_run THEN 'run' ELSE 'none' END AS rule,
        CASE WHEN outside THEN sign(value - mean)::INTEGER WHEN trend IS NOT NULL THEN trend
             WHEN two_in_three IS NOT NULL THEN two_in_three WHEN in_run THEN side END AS direction
      FROM spc_rules)""", "each point's type")

# Each series' last point, with the target in force then (the rule's own choice of target)
LAST = Step("spc_last", """
SELECT *, qi = max(qi) OVER (PARTITION BY indicator, area) AS last_point FROM spc_causes""")
ENDS_OF_SERIES = Step("spc_ends_of_series", "SELECT indicator, area, qi FROM spc_last WHERE last_point")
LAST_TARGETS = status.target_in_force("spc_last_targets", "spc_ends_of_series")

READINGS = Step("spc_readings", """
SELECT *,
    CASE WHEN NOT last_point THEN NULL
         WHEN point_type = 'common_cause' THEN 'common_cause'
         ELSE CASE point_type WHEN 'special_cause_improvement' THEN 'improvement'
                              WHEN 'special_cause_concern' THEN 'concern' ELSE 'neither' END
              || CASE WHEN direction = 1 THEN '_high' ELSE '_low' END
    END AS variation,
    CASE WHEN NOT last_point OR target IS NULL OR better = 'neither' THEN NULL
         WHEN better = 'higher' AND lower_limit > target THEN 'consistent_pass'
         WHEN better = 'higher' AND upper_limit < target THEN 'consistent_fail'
         WHEN better = 'lower' AND upper_limit < target THEN 'consistent_pass'
         WHEN better = 'lower' AND lower_limit > target THEN 'consistent_fail'
         ELSE 'inconsistent'
    END AS assurance
FROM (SELECT c.*, t.target FROM spc_last c
      LEFT JOIN spc_last_targets t ON t.indicator = c.indicator AND t.area = c.area AND t.qi = c.qi)""",
                  "the variation and assurance of each series' last point")

STEPS = (POINTS, MOVING, LIMITS, SIDES, ENDS, RULES, CAUSES, LAST, ENDS_OF_SERIES, LAST_TARGETS, READINGS)


# ---- asking ---------------------------------------------------------------------------------

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

OUTPUT = Step("spc_output", "SELECT *, rule <> 'none' AS special_cause, " + figures.LABEL.format(qi="qi")
              + " AS quarter FROM spc_readings")
COLUMNS = ("indicator", "area", "quarter", "qi", "value", "mean", "lower_limit", "upper_limit", "special_cause",
           "point_type", "rule", "period", "period_points", "variation", "assurance")


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
    """The status query's figures (the same steps, chosen the same way), then the chart's."""
    return (*status.CATALOGUE, *figures.needed(*status.needs(catalogue, indicators)), SETTINGS, SERIES, *STEPS,
            OUTPUT)


def _run(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, sql: str, upto: int,
         areas: list[str] | None, indicators: list[str] | None) -> list[dict[str, Any]]:
    # every quarter from the first loaded up to ``upto``: a chart's points, a reading's history
    first = con.execute("SELECT min(qi) FROM observations").fetchone()
    start = min(first[0], upto) if first and first[0] is not None else upto
    params = status.parameters(catalogue, list(range(start, upto + 1)), areas, indicators)
    params["spc_settings"] = settings(catalogue, indicators)
    result = con.execute(sql, bound(sql, params))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def chart(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, indicator: str, area: str,
          quarter_indexes: list[int]) -> list[dict[str, Any]]:
    """One series' XmR chart up to the last of ``quarter_indexes``: a row per quarter with a
    figure, in order, the readings (variation, assurance) on the last."""
    if not quarter_indexes:
        return []
    sql = compose(_steps(catalogue, [indicator]), list(COLUMNS), ("qi",))
    return _run(con, catalogue, sql, max(quarter_indexes), [area], [indicator])


READING_COLUMNS = ("indicator", "area", "qi", "quarter", "point_type", "rule", "period_points", "variation",
                   "assurance")


def readings(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, upto: int,
             areas: list[str] | None = None, indicators: list[str] | None = None) -> list[dict[str, Any]]:
    """Each series' reading as of quarter ``upto``: its last point with a figure up to then."""
    steps = (*_steps(catalogue, indicators), Step("spc_last_points", "SELECT * FROM spc_output WHERE last_point"))
    sql = compose(steps, list(READING_COLUMNS))
    return _run(con, catalogue, sql, upto, areas, indicators)
