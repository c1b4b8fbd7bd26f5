"""The status rule, in one place: SQL built from the validated catalogue.

Target T is the area's own target for the quarter's financial year, else the indicator's.
shortfall = value - T when lower is better, T - value when higher is better (positive is
worse than target); GREEN when shortfall <= 0, AMBER when it is within the band, RED beyond.
GREY when the indicator asks for it and the confidence interval holds T; NA otherwise, with
a reason. Differences are rounded to 9 decimal places before they are compared, so figures
given to a few decimals land on the edges exactly (38.43 against 42.7 with a 10% band is
AMBER, not RED through a floating-point remainder).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb

from pipelines.catalogue.config import Catalogue

STATUSES = ("GREEN", "AMBER", "RED", "GREY", "NA")
CLI_COLUMNS = (
    "indicator", "area", "quarter", "value", "target", "shortfall", "percent_off", "status",
    "reason", "direction", "direction_year", "reported_status", "mismatch",
)

# Catalogue and filters arrive as parameters (lists of structs, unnested); nothing from the
# YAML or the user is pasted into the SQL text.
STATUS_SQL = """
WITH
ind AS (SELECT unnest($indicators, recursive := true)),
tgt AS (SELECT unnest($targets, recursive := true)),
area AS (SELECT unnest($areas, recursive := true)),
qs AS (SELECT unnest($quarters) AS qi),
-- only the rows that can be asked for (these indicators and areas, these quarters and the
-- ones a year before), so a narrow question does not join every row three times
obs AS (
    SELECT * FROM observations
    WHERE ($only_indicators IS NULL OR list_contains($only_indicators, indicator))
      AND ($only_areas IS NULL OR list_contains($only_areas, area))
      AND qi BETWEEN $first_qi - 4 AND $last_qi
),
scope AS (
    SELECT ind.*, area.area, area.level, area.area_pos, qs.qi
    FROM ind
    JOIN area ON (area.level = 'county' AND ind.at_county) OR (area.level = 'district' AND ind.at_district)
    CROSS JOIN qs
    WHERE ($only_areas IS NULL OR list_contains($only_areas, area.area))
      AND ($only_indicators IS NULL OR list_contains($only_indicators, ind.indicator))
),
joined AS (
    SELECT s.*,
        o.qi IS NOT NULL AS has_row,
        o.value, o.lower, o.upper, o.numerator, o.denominator, o.reported_status, o.note,
        coalesce(own.target, dflt.target) AS target,
        p.value AS previous_value,
        y.value AS year_ago_value
    FROM scope s
    LEFT JOIN obs o ON o.indicator = s.indicator AND o.area = s.area AND o.qi = s.qi
    LEFT JOIN tgt own ON own.indicator = s.indicator AND own.area = s.area AND own.fy = s.qi // 4
    LEFT JOIN tgt dflt ON dflt.indicator = s.indicator AND dflt.area = '' AND dflt.fy = s.qi // 4
    LEFT JOIN obs p ON p.indicator = s.indicator AND p.area = s.area AND p.qi = s.qi - 1
    LEFT JOIN obs y ON y.indicator = s.indicator AND y.area = s.area AND y.qi = s.qi - 4
),
measured AS (
    SELECT *,
        round(CASE better WHEN 'lower' THEN value - target ELSE target - value END, 9) AS shortfall,
        round(CASE band_kind WHEN 'percent' THEN band * abs(target) / 100 ELSE band END, 9) AS band_width
    FROM joined
),
rated AS (
    SELECT *,
        CASE
            WHEN NOT has_row OR value IS NULL OR target IS NULL THEN 'NA'
            WHEN grey AND lower <= target AND target <= upper THEN 'GREY'
            WHEN shortfall <= 0 THEN 'GREEN'
            WHEN shortfall <= band_width THEN 'AMBER'
            ELSE 'RED'
        END AS status
    FROM measured
)
SELECT {columns}
FROM (SELECT
    indicator, name, unit, better, area, level,
    printf('%d/%02d Q%d', qi // 4, (qi // 4 + 1) % 100, qi % 4 + 1) AS quarter,
    qi, value, target, shortfall,
    -- empty when the target is 0, or so near 0 that the percentage is not a finite number
    CASE WHEN target <> 0 AND isfinite(shortfall / abs(target) * 100)
         THEN round(shortfall / abs(target) * 100, 9) END AS percent_off,
    status,
    CASE
        WHEN NOT has_row THEN 'no data'
        WHEN value IS NULL THEN 'not available'
        WHEN target IS NULL THEN printf('no target for %d/%02d', qi // 4, (qi // 4 + 1) % 100)
        WHEN status = 'GREY' THEN 'not significant: the target is within the confidence interval'
        WHEN status = 'GREEN' THEN 'on or better than target'
        WHEN status = 'AMBER' THEN 'worse than target, within the band'
        ELSE 'worse than target, beyond the band'
    END AS reason,
    CASE
        WHEN value IS NULL OR previous_value IS NULL THEN NULL
        WHEN round(value - previous_value, 9) = 0 THEN 'no change'
        WHEN (better = 'lower') = (value < previous_value) THEN 'improving'
        ELSE 'worsening'
    END AS direction,
    CASE
        WHEN value IS NULL OR year_ago_value IS NULL THEN NULL
        WHEN round(value - year_ago_value, 9) = 0 THEN 'no change'
        WHEN (better = 'lower') = (value < year_ago_value) THEN 'improving'
        ELSE 'worsening'
    END AS direction_year,
    reported_status,
    coalesce(reported_status IS NOT NULL AND reported_status <> status, false) AS mismatch,
    band_kind, band, band_width, grey, lower, upper, numerator, denominator, note,
    previous_value, year_ago_value, ind_pos, area_pos
FROM rated)
ORDER BY ind_pos, area_pos, qi
"""
ALL_COLUMNS = "* EXCLUDE (ind_pos, area_pos)"
OUTPUT_COLUMNS = frozenset(CLI_COLUMNS) | {
    "name", "unit", "better", "level", "qi", "band_kind", "band", "band_width", "grey", "lower", "upper",
    "numerator", "denominator", "note", "previous_value", "year_ago_value"}


def parameters(
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
) -> dict[str, Any]:
    inds, targets = [], []
    wanted = set(indicators) if indicators else None
    for pos, ind in enumerate(catalogue.indicators):
        if wanted is not None and ind.id not in wanted:
            continue  # sending only what is asked for keeps the query quick to prepare
        tol = catalogue.tolerance(ind)
        inds.append({
            "indicator": ind.id, "name": ind.name, "unit": ind.unit, "better": ind.better,
            "band_kind": tol.kind, "band": tol.amount, "grey": ind.grey_when_not_significant,
            "at_county": "county" in ind.levels, "at_district": "district" in ind.levels,
            "ind_pos": pos,
        })
        for fy, target in ind.targets.items():
            targets.append({"indicator": ind.id, "area": "", "fy": fy, "target": target})
        for area, years in ind.area_targets.items():
            for fy, target in years.items():
                targets.append({"indicator": ind.id, "area": area, "fy": fy, "target": target})
    if not targets:  # unnest of an empty list has no columns to join on
        targets.append({"indicator": "", "area": "", "fy": -1, "target": 0.0})
    area_rows = [
        {"area": a, "level": catalogue.level(a), "area_pos": pos}
        for pos, a in enumerate(catalogue.areas) if not areas or a in areas
    ]
    return {
        "indicators": inds, "targets": targets, "areas": area_rows,
        "quarters": list(quarter_indexes),
        "first_qi": min(quarter_indexes), "last_qi": max(quarter_indexes),
        "only_areas": list(areas) if areas else None,
        "only_indicators": list(indicators) if indicators else None,
    }


def query(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per indicator x area in scope x quarter, with status, reason and directions."""
    columns, rows = table(con, catalogue, quarter_indexes, areas, indicators)
    return [dict(zip(columns, row, strict=True)) for row in rows]  # tuples from table(), not a result


def table(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
    columns: tuple[str, ...] | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The same rows as plain tuples, optionally only some columns (the CLI prints 30,000 rows)."""
    if not quarter_indexes:
        return list(columns or ()), []
    if columns and not OUTPUT_COLUMNS.issuperset(columns):
        raise ValueError(f"unknown status columns: {sorted(set(columns) - OUTPUT_COLUMNS)}")
    select = ", ".join(columns) if columns else ALL_COLUMNS
    # The caller's connection, not a cursor: a preview asks inside its open transaction.
    result = con.execute(STATUS_SQL.format(columns=select),
                         parameters(catalogue, quarter_indexes, areas, indicators))
    return [d[0] for d in result.description], result.fetchall()


def rater(catalogue: Catalogue) -> Callable[[duckdb.DuckDBPyConnection, list[int], list[str]], list[dict[str, Any]]]:
    """The status rows a load reports its status changes from (ingest.loading.load's ``rate``)."""
    return lambda con, quarters, indicators: query(con, catalogue, quarters, indicators=indicators)
