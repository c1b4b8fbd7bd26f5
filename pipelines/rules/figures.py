"""Each area's figure for each quarter: as given, from its counts, added up from the districts, or
summed over a window. Steps of the status query (``status.STEPS``), read by its later steps.

- ``measure: value``: the figure as given; ``window: N`` averages the N quarters' figures.
- ``measure: rate | proportion``: numerator ÷ denominator × per, unless the row gives the figure
  itself (validation has checked the two agree). With ``denominator: population`` the
  denominator is the area's population for the quarter's financial year.
- A parent with no figure of its own for a quarter (no row, or a row with neither a figure nor
  counts) gets the sums of its children's numerators and denominators, when every child has both
  (its own, or added up from its own children: at any depth); otherwise no figure, and ``missing``
  names the children without. A figure given for the parent wins. The shorthand's county is added
  up from its districts this way.
- ``window: N`` sums numerators and denominators over the N quarters ending at the quarter; a
  population counts a quarter of itself per quarter, so a window of 4 divides by one year's
  population and a window of 12 by three years' (person-years, as Fingertips pools years).
  With a quarter missing there is no figure, and ``missing`` names the quarters.

``figure_code`` carries why a row that exists has no figure (``codes.Reason``), for the rule.
"""

from __future__ import annotations

from pipelines.rules.sql import Step

# The quarter as a board writes it, from its index (quarters.label)
LABEL = "printf('%d/%02d Q%d', {qi} // 4, ({qi} // 4 + 1) % 100, {qi} % 4 + 1)"

NEEDED_QUARTERS = Step("needed_quarters", "SELECT unnest($needed_qis) AS qi",
                       "the quarters asked, those compared with them and those their windows reach back to")

# Only the rows that can be asked for or add up to them: these indicators, the areas asked (and,
# for the county, its districts), the quarters needed; of the areas read only to be compared with
# (the parents, the benchmark, what they are added up from), the quarters compared.
OBSERVED = Step("observed", """
SELECT * FROM observations
WHERE ($only_indicators IS NULL OR list_contains($only_indicators, indicator))
  AND ($observed_areas IS NULL OR list_contains($observed_areas, area))
  AND qi BETWEEN $from_qi AND $last_qi AND list_contains($needed_qis, qi)
  AND (NOT list_contains($compared_only, area) OR list_contains($compared_qis, qi))""",
                "the observations that can be asked for")

# Each area's population by financial year: as loaded, else (for a parent) its children's summed,
# when every child has one, at any depth, deepest first: so a parent's own count has its denominator.
def _population_rounds(height: int) -> tuple[Step, ...]:
    steps: list[Step] = []
    known = "populations"
    for depth in range(height - 1, -1, -1):
        steps.append(Step(f"population_sums_{depth}", f"""
SELECT c.parent AS area, k.year, sum(k.population) AS population
FROM catalogue_areas c
JOIN catalogue_areas p ON p.area = c.parent AND p.depth = {depth}
JOIN {known} k ON k.area = c.area
WHERE NOT EXISTS (SELECT 1 FROM populations own WHERE own.area = c.parent AND own.year = k.year)
GROUP BY c.parent, k.year
HAVING count(*) = any_value(p.children)""", "the children's populations added up for each parent without one"))
        steps.append(Step(f"populations_{depth}", f"""
SELECT area, year, population FROM {known} UNION ALL SELECT area, year, population FROM population_sums_{depth}"""))
        known = f"populations_{depth}"
    steps.append(Step("area_populations", f"SELECT area, year, population FROM {known}",
                      "each area's population, a parent's added up from its children's if not loaded"))
    return tuple(steps)


# Each row's counts: the denominator from the populations table when the indicator says so
OWN = Step("own", """
SELECT o.indicator, o.area, o.qi, o.value AS given_value, o.lower, o.upper, o.numerator,
    CASE WHEN i.uses_population THEN p.population ELSE o.denominator END AS denominator,
    o.reported_status, o.note, i.counted, i.aggregable, i.per,
    i.uses_population AND p.population IS NULL AS lacks_population
FROM observed o
JOIN catalogue_indicators i USING (indicator)
LEFT JOIN area_populations p ON i.uses_population AND p.area = o.area AND p.year = o.qi // 4""",
           "each row's counts, with populations as denominators where the catalogue says so")

FIGURED = Step("figured", """
SELECT *, coalesce(given_value, CASE WHEN has_counts THEN numerator / denominator * per END) AS value,
    given_value IS NOT NULL OR has_counts AS has_figure
FROM (SELECT *, counted AND numerator IS NOT NULL AND denominator > 0 AS has_counts FROM own)""",
               "each row's figure: as given, or numerator ÷ denominator × per")

# Parents are added up from their children, deepest first, one round per depth of the tree: a
# parent's children are known by then (their own figures, or their own children's sums). A parent
# is added up for a rate or proportion measured at some level below it (the shorthand's county
# from its districts; a region from its counties; the nation from its regions).
def _sums(depth: int, known: str) -> Step:
    """Every parent at ``depth``, indicator and quarter needed: its children's counts added up
    from ``known``, with how many there are, how many have counts, and the names of those without."""
    # Only the parents without a figure of their own are added up: a national history's counties
    # mostly have theirs, and joining every district to them cost most of the query.
    return Step(f"sums_{depth}", f"""
SELECT w.indicator, w.qi, w.area, count(*) AS parts,
    count(*) FILTER (WHERE coalesce(k.has_counts, false)) AS counted_parts, bool_or(k.indicator IS NOT NULL) AS any_row,
    sum(k.numerator) FILTER (WHERE k.has_counts) AS numerator,
    sum(k.denominator) FILTER (WHERE k.has_counts) AS denominator,
    string_agg(c.area, ', ' ORDER BY c.area_pos) FILTER (WHERE NOT coalesce(k.has_counts, false)) AS missing
FROM (SELECT i.indicator, p.area, q.qi
      FROM catalogue_indicators i
      JOIN catalogue_areas p ON p.depth = {depth} AND i.counted AND len(list_intersect(i.levels, p.levels_below)) > 0
      CROSS JOIN needed_quarters q
      WHERE ($observed_areas IS NULL OR list_contains($observed_areas, p.area))
        AND (NOT list_contains($compared_only, p.area) OR list_contains($compared_qis, q.qi))
        AND NOT EXISTS (SELECT 1 FROM figured own WHERE own.indicator = i.indicator AND own.area = p.area
                        AND own.qi = q.qi AND own.has_figure)) w
JOIN catalogue_areas c ON c.parent = w.area
LEFT JOIN {known} k ON k.indicator = w.indicator AND k.area = c.area AND k.qi = w.qi
GROUP BY w.indicator, w.qi, w.area""", "the children's counts added up for each parent without a figure")


def _added(depth: int) -> Step:
    """The parents at ``depth`` that take their children's sums: those without a figure of their own
    that have a row, or a child with one."""
    return Step(f"added_{depth}", f"""
SELECT g.indicator, g.area, g.qi, g.parts, g.counted_parts = g.parts AS complete, g.numerator, g.denominator,
    g.missing
FROM sums_{depth} g
LEFT JOIN figured own ON own.indicator = g.indicator AND own.area = g.area AND own.qi = g.qi
WHERE coalesce(NOT own.has_figure, true) AND (g.any_row OR own.indicator IS NOT NULL)""")


def _known(depth: int, below: str) -> Step:
    """What the next round up reads: the figures known so far, the parents at ``depth`` now with
    their sums (complete or not) in place of their own rows."""
    return Step(f"known_{depth}", f"""
SELECT k.indicator, k.area, k.qi, k.has_counts, k.numerator, k.denominator FROM {below} k
WHERE NOT EXISTS (SELECT 1 FROM added_{depth} a WHERE a.indicator = k.indicator AND a.area = k.area AND a.qi = k.qi)
UNION ALL
SELECT indicator, area, qi, complete AS has_counts, CASE WHEN complete THEN numerator END,
    CASE WHEN complete THEN denominator END
FROM added_{depth}""")


def adding_up(height: int) -> tuple[Step, ...]:
    """The rounds for a tree ``height`` deep (1 for a county and its districts), then every parent's
    sums in one step, ``added``."""
    steps: list[Step] = []
    known = "figured"
    for depth in range(height - 1, -1, -1):
        steps += [_sums(depth, known), _added(depth)]
        if depth:
            steps.append(_known(depth, known))
            known = f"known_{depth}"
    rounds = " UNION ALL ".join(f"SELECT * FROM added_{d}" for d in range(height))
    if not rounds:  # one area, no parent: an empty table of the same shape
        rounds = ("SELECT NULL::VARCHAR AS indicator, NULL::VARCHAR AS area, NULL::INTEGER AS qi, 0 AS parts,"
                  " false AS complete, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator,"
                  " NULL::VARCHAR AS missing WHERE false")
    return (*steps, Step("added", rounds, "every parent added up from its children"))


# One row per indicator, area and quarter that has anything: the rows as given, except a parent's
# row with no figure where its children are added up instead (keeping its note and printed status)
BASE = Step("base", """
SELECT indicator, area, qi, value, numerator, denominator, lower, upper, reported_status, note,
    has_counts, NULL::INTEGER AS aggregated_from, NULL::VARCHAR AS missing,
    CASE WHEN lacks_population AND given_value IS NULL THEN 'no_population' END AS figure_code
FROM figured f
WHERE NOT EXISTS (SELECT 1 FROM added a WHERE a.indicator = f.indicator AND a.area = f.area AND a.qi = f.qi)
UNION ALL
SELECT g.indicator, g.area, g.qi,
    CASE WHEN complete THEN g.numerator / g.denominator * i.per END AS value,
    CASE WHEN complete THEN g.numerator END AS numerator,
    CASE WHEN complete THEN g.denominator END AS denominator,
    NULL AS lower, NULL AS upper, own.reported_status, own.note, complete AS has_counts,
    CASE WHEN complete THEN g.parts END AS aggregated_from,
    CASE WHEN NOT complete THEN g.missing END AS missing,
    CASE WHEN NOT complete THEN 'incomplete_aggregate' END AS figure_code
FROM added g
JOIN catalogue_indicators i USING (indicator)
LEFT JOIN figured own ON own.indicator = g.indicator AND own.area = g.area AND own.qi = g.qi""",
            "each row's figure, a parent's added up from its children where it has none")

# Windows: for each row of a windowed indicator, its own quarter and the N - 1 before it
WINDOWED = Step("windowed", """
SELECT a.indicator, a.area, a.qi, any_value(a.reported_status) AS reported_status, any_value(a.note) AS note,
    any_value(i.span) AS span, any_value(i.counted) AS counted, any_value(i.per) AS per,
    any_value(a.figure_code) AS anchor_code, any_value(a.missing) AS anchor_missing,
    any_value(a.aggregated_from) AS aggregated_from,
    list(b.qi) FILTER (WHERE CASE WHEN i.counted THEN b.has_counts ELSE b.value IS NOT NULL END) AS usable,
    sum(b.numerator) FILTER (WHERE b.has_counts) AS numerator,
    sum(b.denominator * CASE WHEN i.uses_population THEN 0.25 ELSE 1 END) FILTER (WHERE b.has_counts)
        AS denominator,
    avg(b.value) AS mean_value
FROM base a
JOIN catalogue_indicators i ON i.indicator = a.indicator AND i.span > 1
LEFT JOIN base b ON b.indicator = a.indicator AND b.area = a.area AND b.qi BETWEEN a.qi - i.span + 1 AND a.qi
WHERE a.qi >= $first_qi - 4
GROUP BY a.indicator, a.area, a.qi""", "each window's quarters gathered")

WINDOW_FIGURES = Step("window_figures", """
SELECT indicator, area, qi,
    CASE WHEN NOT complete THEN NULL WHEN counted THEN numerator / denominator * per ELSE mean_value END AS value,
    CASE WHEN complete AND counted THEN numerator END AS numerator,
    CASE WHEN complete AND counted THEN denominator END AS denominator,
    NULL AS lower, NULL AS upper, reported_status, note, complete AND counted AS has_counts,
    CASE WHEN complete THEN aggregated_from END AS aggregated_from,
    coalesce(anchor_missing, CASE WHEN NOT complete THEN array_to_string(list_transform(
        list_filter(range(qi - span + 1, qi + 1), lambda q: NOT list_contains(coalesce(usable, []), q)),
        lambda q: """ + LABEL.format(qi="q") + """), ', ') END) AS missing,
    coalesce(anchor_code, CASE WHEN NOT complete THEN 'incomplete_window' END) AS figure_code
FROM (SELECT *, len(coalesce(usable, [])) = span AS complete FROM windowed)""",
                        "each window's figure: counts summed, or figures averaged")

FIGURES = Step("figures", """
SELECT b.* FROM base b JOIN catalogue_indicators i USING (indicator) WHERE i.span <= 1
UNION ALL BY NAME
SELECT * FROM window_figures""", "every figure, windowed where the catalogue says so")

# Without a windowed indicator asked about, every figure is its quarter's own
UNWINDOWED = Step("figures", "SELECT * FROM base", "every figure, none windowed")


def counted_steps(height: int = 1, windowed: bool = True) -> tuple[Step, ...]:
    """The steps for a tree ``height`` deep when an indicator asked about has counts or a window."""
    windows = (WINDOWED, WINDOW_FIGURES, FIGURES) if windowed else (UNWINDOWED,)
    return (NEEDED_QUARTERS, OBSERVED, *_population_rounds(height), OWN, FIGURED, *adding_up(height), BASE,
            *windows)


STEPS = counted_steps()

# When no indicator asked about has counts or a window, every figure is the row's own: the same
# columns, without the steps that would find nothing to add up (a national catalogue of values
# would otherwise pay for them on every question).
AS_GIVEN = Step("figures", """
SELECT indicator, area, qi, value, lower, upper, numerator, denominator, reported_status, note,
    false AS has_counts, NULL::INTEGER AS aggregated_from, NULL::VARCHAR AS missing,
    NULL::VARCHAR AS figure_code
FROM observed""", "every figure, as given")
PLAIN_STEPS = (OBSERVED, AS_GIVEN)


def needed(counted: bool, windowed: bool, height: int = 1) -> tuple[Step, ...]:
    """The steps for indicators with counts or windows (parents added up over a tree ``height``
    deep), or the plain ones when none has either."""
    return counted_steps(height, windowed) if counted or windowed else PLAIN_STEPS
