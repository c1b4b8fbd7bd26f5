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
from pipelines.rules import status
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

# Each series' points in order, in its period; $series_from (a relation of indicator, area, qi,
# value, better, rebases, screen, target) is named by the caller.
POINTS = Step("spc_points", """
SELECT *, row_number() OVER (PARTITION BY indicator, area, period ORDER BY qi) AS k
FROM (SELECT s.*, len(list_filter(s.rebases, lambda r: r <= s.qi)) AS period
      FROM spc_series s WHERE s.value IS NOT NULL)""", "each series' points, numbered within their period")

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

# Islands: a new one starts wherever the side (or the step) changes
ISLANDS = Step("spc_islands", """
SELECT *, sum(side_change) OVER w AS side_island, sum(step_change) OVER w AS step_island
FROM (SELECT *,
        CASE WHEN side IS DISTINCT FROM lag(side) OVER w THEN 1 ELSE 0 END AS side_change,
        CASE WHEN step IS DISTINCT FROM lag(step) OVER w THEN 1 ELSE 0 END AS step_change
      FROM spc_sides
      WINDOW w AS (PARTITION BY indicator, area, period ORDER BY qi))
WINDOW w AS (PARTITION BY indicator, area, period ORDER BY qi)""", "runs of one side, runs of one step")

LENGTHS = Step("spc_lengths", """
SELECT *, count(*) OVER (PARTITION BY indicator, area, period, side_island) AS side_length,
    count(*) OVER (PARTITION BY indicator, area, period, step_island) AS step_length
FROM spc_islands""")

# A trend of 7 points is 6 steps the same way: the steps' island and the point before its first step
RULES = Step("spc_rules", f"""
SELECT *,
    side <> 0 AND side_length >= {RUN} AS in_run,
    CASE WHEN step <> 0 AND step_length >= {RUN - 1} THEN step
         WHEN lead(step) OVER w <> 0 AND lead(step_length) OVER w >= {RUN - 1}
              AND lead(step) OVER w IS DISTINCT FROM step THEN lead(step) OVER w
    END AS trend,
    -- each window of three starting here: all on one side, two or more of them close to a limit
    (lead(side, 2) OVER w = 1 AND side = 1 AND lead(side) OVER w = 1
     AND close_high::INTEGER + (lead(close_high) OVER w)::INTEGER + (lead(close_high, 2) OVER w)::INTEGER >= 2)
        AS three_high,
    (lead(side, 2) OVER w = -1 AND side = -1 AND lead(side) OVER w = -1
     AND close_low::INTEGER + (lead(close_low) OVER w)::INTEGER + (lead(close_low, 2) OVER w)::INTEGER >= 2)
        AS three_low
FROM spc_lengths
WINDOW w AS (PARTITION BY indicator, area, period ORDER BY qi)""", "the four rules, each on its own")

TWO_IN_THREE = Step("spc_two_in_three", """
SELECT *,
    CASE WHEN close_high AND (coalesce(three_high, false) OR coalesce(lag(three_high) OVER w, false)
                              OR coalesce(lag(three_high, 2) OVER w, false)) THEN 1
         WHEN close_low AND (coalesce(three_low, false) OR coalesce(lag(three_low) OVER w, false)
                             OR coalesce(lag(three_low, 2) OVER w, false)) THEN -1
    END AS two_in_three
FROM spc_rules
WINDOW w AS (PARTITION BY indicator, area, period ORDER BY qi)""", "the close points of a two-in-three window")

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
      FROM spc_two_in_three)""", "each point's type")

# The readings of the series' last point
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
FROM (SELECT *, qi = max(qi) OVER (PARTITION BY indicator, area) AS last_point FROM spc_causes)""",
                  "the variation and assurance of each series' last point")

STEPS = (POINTS, MOVING, LIMITS, SIDES, ISLANDS, LENGTHS, RULES, TWO_IN_THREE, CAUSES, READINGS)


# ---- asking ---------------------------------------------------------------------------------

# Each indicator's settings, as the catalogue gives them (rebases as quarter indexes)
SETTINGS = Step("spc_settings", "SELECT unnest($spc_settings, recursive := true)")
# The series: every figure of the status query's output, with its polarity, target and settings
SERIES = Step("spc_series", """
SELECT o.indicator, o.area, o.qi, o.quarter, o.value, o.better, o.target, s.rebases, s.screen
FROM output o JOIN spc_settings s USING (indicator)""")

OUTPUT = Step("spc_output", "SELECT *, rule <> 'none' AS special_cause FROM spc_readings")
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


def chart(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, indicator: str, area: str,
          quarter_indexes: list[int]) -> list[dict[str, Any]]:
    """One series' XmR chart over ``quarter_indexes``: a row per quarter with a figure, in order,
    the readings (variation, assurance) on the last."""
    if not quarter_indexes:
        return []
    steps = (*status.steps_for(catalogue, [indicator]), SETTINGS, SERIES, *STEPS, OUTPUT)
    sql = compose(steps, list(COLUMNS), ("qi",))
    params = status.parameters(catalogue, quarter_indexes, [area], [indicator], asked_years_only=True)
    params["spc_settings"] = settings(catalogue, [indicator])
    result = con.execute(sql, bound(sql, params))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
