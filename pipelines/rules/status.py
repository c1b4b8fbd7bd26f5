"""The status rule, in one place: one query built from named steps and the validated catalogue.

Target T is the area's own target for the quarter's financial year, else the indicator's.
shortfall = value - T when lower is better, T - value when higher is better (positive is
worse than target); GREEN when shortfall <= 0, AMBER when it is within the band, RED beyond.
GREY when the indicator asks for it and the confidence interval holds T; NA otherwise. Every row
carries the reason for its status as a code (``codes.Reason``); ``pipelines.present.words`` says
it in words. Differences are rounded to 9 decimal places before they are compared, so figures
given to a few decimals land on the edges exactly (38.43 against 42.7 with a 10% band is
AMBER, not RED through a floating-point remainder).

The query is a chain of named steps (see ``STEPS``), each reading the ones before it:

    catalogue inputs (parameters) → observed → scope → measures → targets_and_bands → gaps
    → rated → earlier → directions → compared → output

A later rule (derived measures, intervals, SPC readings, comparisons) is one more step in the
chain, not an edit of one long template.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import duckdb

from pipelines.catalogue.config import Catalogue
from pipelines.rules import codes, figures, intervals
from pipelines.rules.codes import REASON_STATUS
from pipelines.rules.sql import Column, Step, bound, cases, columns_step, compose, ident

STATUSES = tuple(s.word for s in codes.STATUSES)  # the words the query returns

# ---- the steps -----------------------------------------------------------------------------
# Catalogue and filters arrive as parameters (lists of structs, unnested); nothing from the
# YAML or the user is pasted into the SQL text.

CATALOGUE = (
    Step("catalogue_indicators", "SELECT unnest($indicators, recursive := true)"),
    # one row per target: an indicator's (area '') or an area's own, valid over a range of quarters
    Step("catalogue_targets", "SELECT unnest($targets, recursive := true)"),
    # one row per band: the amber tolerance, valid over a range of quarters
    Step("catalogue_bands", "SELECT unnest($bands, recursive := true)"),
    Step("catalogue_areas", "SELECT unnest($areas, recursive := true)"),
    Step("asked_quarters", "SELECT unnest($quarters) AS qi"),
)

# Every indicator × area it is measured for × quarter asked: a missing row is a row too (no data).
SCOPE = Step("scope", """
SELECT i.*, a.area, a.level, a.area_pos, q.qi
FROM catalogue_indicators i
JOIN catalogue_areas a ON list_contains(i.levels, a.level)
CROSS JOIN asked_quarters q
WHERE ($only_areas IS NULL OR list_contains($only_areas, a.area))
  AND ($only_indicators IS NULL OR list_contains($only_indicators, i.indicator))""")

MEASURES = Step("measures", """
SELECT s.*, f.qi IS NOT NULL AS has_row, f.value, f.lower, f.upper, f.numerator, f.denominator,
    coalesce(f.has_counts, false) AS has_counts, f.aggregated_from, f.missing, f.figure_code,
    f.reported_status, f.note
FROM scope s
LEFT JOIN figures f ON f.indicator = s.indicator AND f.area = s.area AND f.qi = s.qi
WHERE s.qi BETWEEN s.live_from AND s.live_until OR f.qi IS NOT NULL""",
                 "each cell's figure, its interval and counts (outside an indicator's life, only its rows)")

# The interval: computed from counts (intervals.py names the methods), else the one supplied
INTERVAL_METHODS = Step("interval_methods", """
SELECT *, CASE
        WHEN has_counts AND measure = 'proportion' THEN 'wilson'
        WHEN has_counts AND measure = 'rate' AND numerator < """ + str(intervals.BYAR_FROM) + """ THEN 'exact'
        WHEN has_counts AND measure = 'rate' THEN 'byar'
        WHEN lower IS NOT NULL AND upper IS NOT NULL THEN 'supplied'
    END AS ci_method
FROM measures""", "how each figure's interval is made")

EXACT_POISSON = Step("exact_poisson", intervals.exact_table_sql(), "exact Poisson limits below 10 events")

INTERVALS = Step("intervals", """
SELECT * EXCLUDE (x, n, z, lower_events, upper_events), CASE ci_method
        WHEN 'wilson' THEN """ + intervals.WILSON_LOWER + """
        WHEN 'byar' THEN """ + intervals.BYAR_LOWER + """
        WHEN 'exact' THEN lower_events / n * per
        WHEN 'supplied' THEN lower
    END AS ci_lower, CASE ci_method
        WHEN 'wilson' THEN """ + intervals.WILSON_UPPER + """
        WHEN 'byar' THEN """ + intervals.BYAR_UPPER + """
        WHEN 'exact' THEN upper_events / n * per
        WHEN 'supplied' THEN upper
    END AS ci_upper
FROM (SELECT m.*, m.numerator AS x, m.denominator AS n, """ + intervals.z_sql("m.confidence") + """ AS z,
        e.lower_events, e.upper_events
      FROM interval_methods m
      LEFT JOIN exact_poisson e ON m.ci_method = 'exact' AND e.confidence = m.confidence
          AND e.events = m.numerator)""", "each figure's confidence interval")

# Targets and bands as period ranges: a row applies to every quarter from valid_from to valid_to,
# so a target or band that changes mid-year is one more row, not a change to the rule.
def target_in_force(name: str, source: str) -> Step:
    """A step adding ``target`` to each row of ``source`` (indicator, area, qi): the area's own
    target for the quarter, else the indicator's. Written once; SPC's assurance reads it too."""
    return Step(name, """
SELECT m.*, coalesce(own.target, dflt.target) AS target
FROM """ + ident(source) + """ m
LEFT JOIN catalogue_targets own
    ON own.indicator = m.indicator AND own.area = m.area AND m.qi BETWEEN own.valid_from AND own.valid_to
LEFT JOIN catalogue_targets dflt
    ON dflt.indicator = m.indicator AND dflt.area = '' AND m.qi BETWEEN dflt.valid_from AND dflt.valid_to""",
                "the target in force (the area's own, else the indicator's)")


TARGETS = target_in_force("targets", "intervals")
TARGETS_AND_BANDS = Step("targets_and_bands", """
SELECT m.*, b.band_kind, b.band, b.band_from
FROM targets m
LEFT JOIN catalogue_bands b
    ON b.indicator = m.indicator AND m.qi BETWEEN b.valid_from AND b.valid_to""", "the band in force")

def versus(compared: str) -> str:
    """Fingertips' comparison of the figure with the one in column ``compared`` (a target, a parent's
    or the benchmark's figure): 'similar' when it lies inside the figure's interval (ends included),
    else better or worse by polarity (higher or lower where neither is better); NULL when either is
    missing or the figure has no interval. Written once, for every comparison."""
    c = ident(compared)
    return ("CASE WHEN ci_lower IS NULL OR ci_upper IS NULL OR " + c + " IS NULL OR value IS NULL THEN NULL"
            " WHEN ci_lower <= " + c + " AND " + c + " <= ci_upper THEN 'similar'"
            " WHEN better = 'neither' THEN CASE WHEN value > " + c + " THEN 'higher' ELSE 'lower' END"
            " WHEN (value < " + c + ") = (better = 'lower') THEN 'better'"
            " ELSE 'worse' END")


SIGNIFICANCE = Step("significance", "SELECT *, " + versus("target") + " AS significance FROM targets_and_bands",
                    "the figure against its target, allowing for chance")

# shortfall > 0 is worse than target; the band is band_width wide, on the worse side of the target
GAPS = Step("gaps", """
SELECT *,
    round(CASE better WHEN 'lower' THEN value - target WHEN 'higher' THEN target - value END, 9) AS shortfall,
    -- no band where neither direction is better: the indicator is monitored, not rated
    CASE WHEN better <> 'neither' THEN
        round(CASE band_kind WHEN 'percent' THEN band * abs(target) / 100 ELSE band END, 9) END AS band_width
FROM significance""", "the shortfall and the band's width")

# The reason first, in the rule's order; the status follows from the reason (codes.REASON_STATUS).
RATED = Step("rated", """
SELECT *, """ + cases("reason_code", [(r.value, s.word) for r, s in REASON_STATUS.items()]) + """ AS status
FROM (SELECT *,
    CASE
        WHEN NOT has_row THEN 'no_data'
        WHEN figure_code IS NOT NULL THEN figure_code
        WHEN value IS NULL THEN 'not_available'
        WHEN better = 'neither' THEN 'not_rated'
        WHEN target IS NULL THEN 'no_target'
        WHEN grey AND significance = 'similar' THEN 'not_significant'
        WHEN shortfall <= 0 THEN 'on_target'
        WHEN shortfall <= band_width THEN 'within_band'
        ELSE 'beyond_band'
    END AS reason_code
    FROM gaps)""", "the reason code and the status it gives")


def direction(earlier: str) -> str:
    """improving / worsening / no change from the value in column ``earlier`` to ``value``, by
    polarity (higher / lower when neither is better); NULL when either is missing. Written once,
    for every comparison over time."""
    e = ident(earlier)
    return ("CASE WHEN value IS NULL OR " + e + " IS NULL THEN NULL"
            " WHEN round(value - " + e + ", 9) = 0 THEN 'no change'"
            " WHEN better = 'neither' THEN CASE WHEN value > " + e + " THEN 'higher' ELSE 'lower' END"
            " WHEN (better = 'lower') = (value < " + e + ") THEN 'improving'"
            " ELSE 'worsening' END")


# Each comparison over time: its direction column and the column holding the earlier figure.
COMPARISONS = (("direction", "previous_value"), ("direction_year", "year_ago_value"))

# Joined on the quarter (not lag()), so a missing quarter gives no direction rather than a wrong one.
EARLIER = Step("earlier", """
SELECT r.*, p.value AS previous_value, y.value AS year_ago_value
FROM rated r
LEFT JOIN figures p ON p.indicator = r.indicator AND p.area = r.area AND p.qi = r.qi - 1
LEFT JOIN figures y ON y.indicator = r.indicator AND y.area = r.area AND y.qi = r.qi - 4""",
               "the figures a quarter and a year earlier")
DIRECTIONS = Step("directions", "SELECT *, " + ", ".join(
    direction(earlier) + " AS " + ident(name) for name, earlier in COMPARISONS) + " FROM earlier",
                  "direction of travel since each earlier figure")

# Each area against the area it is part of and against the benchmark, the same quarter: nothing to
# compare for the root (no parent) or for the benchmark itself
COMPARED = Step("compared", """
SELECT *, """ + versus("parent_value") + """ AS vs_parent,
    CASE WHEN area <> benchmark THEN """ + versus("benchmark_value") + """ END AS vs_benchmark
FROM (SELECT d.*, a.parent, p.value AS parent_value, $benchmark AS benchmark, b.value AS benchmark_value
      FROM directions d
      JOIN catalogue_areas a ON a.area = d.area
      LEFT JOIN figures p ON p.indicator = d.indicator AND p.area = a.parent AND p.qi = d.qi
      LEFT JOIN figures b ON b.indicator = d.indicator AND b.area = $benchmark AND b.qi = d.qi)""",
                "each figure against its parent's and the benchmark's, allowing for chance")

# What a caller may ask for, in order; the last two only order the rows.
OUTPUT = (
    Column("indicator"), Column("name"), Column("unit"), Column("better"), Column("area"), Column("level"),
    Column("quarter", "printf('%d/%02d Q%d', qi // 4, (qi // 4 + 1) % 100, qi % 4 + 1)"),
    Column("qi"), Column("value"), Column("target"), Column("shortfall"),
    # empty when the target is 0, or so near 0 that the percentage is not a finite number
    Column("percent_off", "CASE WHEN target <> 0 AND isfinite(shortfall / abs(target) * 100)"
                          " THEN round(shortfall / abs(target) * 100, 9) END"),
    Column("status"), Column("reason_code"), Column("direction"), Column("direction_year"),
    Column("reported_status"),
    Column("mismatch", "coalesce(reported_status IS NOT NULL AND reported_status <> status, false)"),
    Column("band_kind"), Column("band"), Column("band_width"),
    # the band that applied, as the catalogue writes it ('5%', '2.5'), and the quarter its version
    # started (empty for a band that never changed)
    Column("amber_band", "CASE WHEN band_kind = 'percent' THEN printf('%g%%', band)"
                         " WHEN band_kind IS NOT NULL THEN printf('%g', band) END"),
    Column("band_from", "CASE WHEN band_from IS NOT NULL THEN " + figures.LABEL.format(qi="band_from") + " END"),
    # the far side of the amber band: where AMBER ends and RED begins (charts shade up to it)
    Column("band_edge", "target + CASE better WHEN 'lower' THEN band_width ELSE -band_width END"), Column("grey"),
    Column("lower"), Column("upper"), Column("numerator"), Column("denominator"), Column("note"),
    Column("previous_value"), Column("year_ago_value"),
    Column("measure"), Column("per"), Column("confidence"), Column("window", "span"),
    Column("ci_lower"), Column("ci_upper"), Column("ci_method"), Column("significance"),
    Column("aggregated_from"), Column("missing"),
    Column("parent"), Column("parent_value"), Column("vs_parent"),
    Column("benchmark"), Column("benchmark_value"), Column("vs_benchmark"),
    Column("ind_pos"), Column("area_pos"),
)
ORDER = ("ind_pos", "area_pos", "qi")
OUTPUT_COLUMNS = tuple(c.name for c in OUTPUT if c.name not in ORDER[:2])

def steps(counted: bool = True, windowed: bool = True, height: int = 1) -> tuple[Step, ...]:
    """The query's steps; without counts or windows among the indicators asked about, the figures
    are the rows as given (``figures.needed``; ``height``: the tree's, for adding up parents). The
    rule's steps are the same either way."""
    return (
        *CATALOGUE, *figures.needed(counted, windowed, height), SCOPE, MEASURES, INTERVAL_METHODS, EXACT_POISSON,
        INTERVALS, TARGETS, TARGETS_AND_BANDS, SIGNIFICANCE, GAPS, RATED, EARLIER, DIRECTIONS, COMPARED,
        columns_step("output", OUTPUT, "compared"),
    )


STEPS: tuple[Step, ...] = steps()


@functools.lru_cache(maxsize=64)
def statement(columns: tuple[str, ...] | None = None, steps: tuple[Step, ...] = STEPS) -> str:
    """The status query; ``columns`` (checked against OUTPUT_COLUMNS) or every output column."""
    if columns is not None:
        unknown = [c for c in columns if c not in OUTPUT_COLUMNS]
        if unknown:
            raise ValueError(f"unknown status columns: {sorted(unknown)}")
    return compose(steps, columns, ORDER, exclude=ORDER[:2])


def needs(catalogue: Catalogue, indicators: list[str] | None = None) -> tuple[bool, bool, int]:
    """Whether any of ``indicators`` (default: all) has counts, whether any has a window, and the
    tree's height (the rounds of adding up parents)."""
    wanted = set(indicators) if indicators else None
    asked = [i for i in catalogue.indicators if wanted is None or i.id in wanted]
    return any(i.counted for i in asked), any((i.window or 1) > 1 for i in asked), catalogue.height


def steps_for(catalogue: Catalogue, indicators: list[str] | None = None) -> tuple[Step, ...]:
    """The steps a question about ``indicators`` (default: all) of ``catalogue`` needs."""
    return steps(*needs(catalogue, indicators))


# ---- the parameters --------------------------------------------------------------------------

def year_span(fy: int) -> tuple[int, int]:
    """The first and last quarter index of the financial year starting in ``fy`` (Q1 … Q4)."""
    return fy * 4, fy * 4 + 3


# A band set once for an indicator holds for every quarter
ALWAYS = (-(2**31), 2**31 - 1)


def parameters(
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
    *,
    asked_years_only: bool = False,
) -> dict[str, Any]:
    inds: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    bands: list[dict[str, Any]] = []
    wanted = set(indicators) if indicators else None
    # Targets are joined to the quarters asked for only: with asked_years_only, the other years'
    # targets are not sent to be unnested for nothing (a national catalogue has ten years, 7,000 rows).
    years = {qi // 4 for qi in quarter_indexes} if asked_years_only else None
    for pos, ind in enumerate(catalogue.indicators):
        if wanted is not None and ind.id not in wanted:
            continue  # sending only what is asked for keeps the query quick to prepare
        inds.append({
            "indicator": ind.id, "name": ind.name, "unit": ind.unit, "better": ind.better,
            "grey": ind.grey_when_not_significant,
            "levels": list(ind.levels),
            "measure": ind.measure, "per": ind.multiplier, "confidence": ind.confidence,
            "span": ind.window or 1, "counted": ind.counted,
            "uses_population": ind.denominator == "population",
            # whether some area may be added up from its children for it
            "aggregable": ind.counted and catalogue.height > 0,
            # the quarters it is expected in: outside them only its rows show, no 'no data'
            "live_from": ind.live_from if ind.live_from is not None else ALWAYS[0],
            "live_until": ind.live_until if ind.live_until is not None else ALWAYS[1],
            "ind_pos": pos,
        })
        # each version of the band from its quarter to the next one's; the first from always
        versions = catalogue.bands(ind)
        for n, version in enumerate(versions):
            bands.append({"indicator": ind.id, "band_kind": version.tolerance.kind, "band": version.tolerance.amount,
                          "valid_from": version.start if n else ALWAYS[0],
                          "valid_to": versions[n + 1].start - 1 if n + 1 < len(versions) else ALWAYS[1],
                          "band_from": version.start if len(versions) > 1 else None})
        for fy, target in ind.targets.items():
            if years is not None and fy not in years:
                continue
            first, last = year_span(fy)
            targets.append({"indicator": ind.id, "area": "", "valid_from": first, "valid_to": last,
                            "target": target})
        for area, targets_by_year in ind.area_targets.items():
            for fy, target in targets_by_year.items():
                if years is not None and fy not in years:
                    continue
                first, last = year_span(fy)
                targets.append({"indicator": ind.id, "area": area, "valid_from": first, "valid_to": last,
                                "target": target})
    # unnest of an empty list has no columns to join on: one row that matches nothing
    if not targets:
        targets.append({"indicator": "", "area": "", "valid_from": -1, "valid_to": -1, "target": 0.0})
    if not bands:
        bands.append({"indicator": "", "band_kind": "absolute", "band": 0.0, "valid_from": -1, "valid_to": -1,
                      "band_from": None})
    # every area, whatever is asked: the county is added up from all its districts. ``role``: the
    # home is the 'county', its children the 'districts' it is added up from
    districts = set(catalogue.districts)
    area_rows = [{"area": a, "level": catalogue.level(a), "parent": catalogue.parent(a), "area_pos": pos,
                  "role": "county" if a == catalogue.county else "district" if a in districts else "",
                  # where it sits (the root at 0) and the levels under it: what it may be added up for
                  "depth": catalogue.depth(a), "levels_below": list(catalogue.levels_below(a)),
                  "children": len(catalogue.children(a))}
                 for pos, a in enumerate(catalogue.areas)]
    first = min(quarter_indexes)
    longest = max((row["span"] for row in inds), default=1)
    return {
        "indicators": inds, "targets": targets, "bands": bands, "areas": area_rows,
        "quarters": list(quarter_indexes), "county": catalogue.county, "benchmark": catalogue.benchmark,
        "first_qi": first, "last_qi": max(quarter_indexes),
        # a year back for the directions, and a window's length further for the earliest window
        "from_qi": first - 4 - (longest - 1),
        "needed_qis": needed_quarters(quarter_indexes, longest),
        "only_areas": list(areas) if areas else None,
        "observed_areas": observed_areas(catalogue, areas, any(row["aggregable"] for row in inds)),
        # the areas read only to be compared with those asked: their rows in the quarters asked (and
        # the windows behind them) are all a comparison reads, not the previous quarter or year's
        "compared_only": compared_only(catalogue, areas),
        "compared_qis": needed_quarters(quarter_indexes, longest, backs=(0,)),
        "only_indicators": list(indicators) if indicators else None,
    }


def needed_quarters(quarter_indexes: list[int], longest: int, backs: tuple[int, ...] = (0, 1, 4)) -> list[int]:
    """Each quarter asked, the quarter and the year before it (the directions; ``backs``), and for
    each of those the quarters a window reaches back over: only these rows are read."""
    ends = {q - back for q in quarter_indexes for back in backs}
    return sorted({end - k for end in ends for k in range(longest)})


def observed_areas(catalogue: Catalogue, areas: list[str] | None, aggregable: bool = True) -> list[str] | None:
    """The areas whose rows a question about ``areas`` reads: theirs, their parents' and the
    benchmark's (each is compared with them), and everything under those when an indicator asked
    about may be added up from its children."""
    if not areas:
        return None
    compared = list(dict.fromkeys([*areas, *(p for a in areas if (p := catalogue.parent(a)) is not None),
                                   catalogue.benchmark]))
    observed = list(dict.fromkeys([*compared, *(b for a in compared for b in catalogue.under(a))])) if aggregable \
        else compared
    return None if len(observed) == len(catalogue.tree) else observed  # every area: no filter to apply


def compared_only(catalogue: Catalogue, areas: list[str] | None) -> list[str]:
    """The areas a question about ``areas`` reads only to compare with (its parents and the
    benchmark, and everything under them), not the areas asked nor anything under those."""
    if not areas:
        return []
    own = {below for a in areas for below in catalogue.under(a)}
    return [a for a in observed_areas(catalogue, areas) or catalogue.areas if a not in own]


# ---- asking ---------------------------------------------------------------------------------

def query(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per indicator x area in scope x quarter, with status, reason code and directions."""
    columns, rows = table(con, catalogue, quarter_indexes, areas, indicators)
    return [dict(zip(columns, row, strict=True)) for row in rows]  # tuples from table(), not a result


def table(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The same rows as plain tuples, optionally only some columns (the CLI prints 30,000 rows)."""
    sql = statement(tuple(columns) if columns else None, steps_for(catalogue, indicators))
    if not quarter_indexes:
        return list(columns or ()), []
    # The caller's connection, not a cursor: a preview asks inside its open transaction.
    result = con.execute(sql, bound(sql, parameters(catalogue, quarter_indexes, areas, indicators,
                                                    asked_years_only=True)))
    return [d[0] for d in result.description], result.fetchall()


# What a load compares before and after (ingest.loading.status_changes): 30,000 rows of these, not
# of every column, are made into dicts twice a load
RATED_COLUMNS = ("indicator", "area", "qi", "quarter", "status")


def rater(catalogue: Catalogue) -> Callable[[duckdb.DuckDBPyConnection, list[int], list[str]], list[dict[str, Any]]]:
    """The status rows a load reports its status changes from (ingest.loading.load's ``rate``)."""
    def rate(con: duckdb.DuckDBPyConnection, quarters: list[int], indicators: list[str]) -> list[dict[str, Any]]:
        columns, rows = table(con, catalogue, quarters, indicators=indicators, columns=RATED_COLUMNS)
        return [dict(zip(columns, row, strict=True)) for row in rows]
    return rate

