"""Year-end forecasts for quarterly, seasonal figures: "will we hit the year-end target?".

Method: **seasonal ratio projection**. Whatever the year-end figure is (the year's total, its mean
quarter, or its fourth quarter), it is compared with the same summary of the quarters known so far.
In earlier complete years (all four quarters present) the ratio of the year-end figure to that
summary of their first k quarters holds the seasonal pattern: a service that is busy in summer ends
the year with a smaller multiple of its April-to-September total than one that is busy in winter.
The ratios of the most recent ``MAX_YEARS`` complete years before the year asked are taken as a
normal sample on the log scale (r = ln ratio); the year so far is projected with their mean,
forecast = S · exp(mean r), and the 90% prediction interval is the usual one for one new observation
from a normal sample of n with unknown variance, mean ± t(0.95, n − 1) · s · √(1 + 1/n), turned back
with exp. When any of the figures involved is zero or negative the logarithm is meaningless and the
same is done additively on the differences (year-end − year so far).

The probability of meeting the target (at or below it when lower is better, at or above when higher
is) comes from the same Student's t predictive distribution. It is read against two thresholds:

- ``ON_TRACK`` = 0.8: a probability of 0.8 or more is ``on_track``;
- ``OFF_TRACK`` = 0.2: a probability under 0.2 is ``off_track``;
- anything between is ``at_risk``.

What it does not model: a change of trend inside the year (a step or a drift this year that earlier
years did not have is carried into the year end only as far as it shows in the quarters known so
far, and the interval does not widen for it); a seasonal pattern that changes from year to year beyond
the spread the earlier years showed; anything about the quarters still to come beyond their past
ratios. With fewer than 2 earlier complete years there is no spread to learn from and so no
forecast (``too_few_years``); a missing figure among the quarters needed this year gives none either
(``gap_this_year``). Pure functions: no database, no user interface.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import duckdb
import numpy as np

from pipelines.catalogue.models import Catalogue, Indicator, YearEnd
from pipelines.rules import figures, status
from pipelines.rules.sql import Step, bound, compose

YEAR_ENDS: tuple[YearEnd, ...] = ("sum", "mean", "last")
BETTERS = ("lower", "higher", "neither")

ON_TRACK, OFF_TRACK = 0.8, 0.2  # probability of meeting the target: on track at or above, off track below
LEVEL = 0.90  # the two-sided prediction interval
MAX_YEARS = 5  # earlier complete years used (the most recent ones before the year asked)

GAP_THIS_YEAR = "gap_this_year"
TOO_FEW_YEARS = "too_few_years"


@dataclass(frozen=True)
class Forecast:
    """A financial year's year-end figure as forecast from its quarters up to the one asked."""

    year: int  # the financial year's start (2010 for 2010/11)
    quarters_known: int  # quarters of that year with a figure up to the quarter asked (0-4)
    forecast: float | None  # the year-end figure forecast (the actual when all 4 are known)
    lower: float | None  # the LEVEL prediction interval
    upper: float | None
    target: float | None
    probability: float | None  # of the year-end figure meeting the target (at or better than it)
    status: str | None  # 'on_track', 'at_risk', 'off_track'; None without a target or probability
    reason: str | None  # why there is no forecast ('gap_this_year', 'too_few_years'); None when there is
    years_used: int  # earlier complete years the forecast learnt from


def summary(values: Sequence[float], year_end: YearEnd) -> float:
    """The figures' summary as the year-end figure is defined: their total, mean or the last one."""
    if not values:
        raise ValueError("no figures to summarise")
    if year_end == "sum":
        return float(math.fsum(values))
    if year_end == "mean":
        return float(math.fsum(values)) / len(values)
    if year_end == "last":
        return float(values[-1])
    raise ValueError(f"unknown year_end {year_end!r}: expected one of {YEAR_ENDS}")


def year_end_figure(values: Sequence[float], year_end: YearEnd) -> float:
    """The year-end figure of a year's 4 quarters: their total, their mean or the 4th quarter's figure."""
    if len(values) != 4:
        raise ValueError(f"a year has 4 quarters, got {len(values)} figures")
    return summary(values, year_end)


def meets(value: float, target: float, better: str) -> bool:
    """Whether a figure meets the target: at or below it when lower is better, at or above when higher."""
    if better == "lower":
        return value <= target
    if better == "higher":
        return value >= target
    raise ValueError(f"meeting a target needs better 'lower' or 'higher', got {better!r}")


def status_of(probability: float) -> str:
    """'on_track' (p >= ON_TRACK), 'off_track' (p < OFF_TRACK), else 'at_risk'."""
    if probability >= ON_TRACK:
        return "on_track"
    if probability < OFF_TRACK:
        return "off_track"
    return "at_risk"


@lru_cache(maxsize=64)
def t_quantile(df: int) -> float:
    """The upper quantile of Student's t with df degrees of freedom for the two-sided LEVEL interval."""
    from scipy.stats import t  # imported here: only a forecast needs it

    return float(t.ppf(1 - (1 - LEVEL) / 2, df))


def _t_cdf(x: float, df: int) -> float:
    from scipy.stats import t

    return float(t.cdf(x, df))


def _figure(series: Mapping[int, float], qi: int) -> float | None:
    value = series.get(qi)
    if value is None or not math.isfinite(value):
        return None  # a NaN or infinite figure counts as no figure
    return float(value)


def _with_probability(base: Forecast, p: float | None) -> Forecast:
    return Forecast(base.year, base.quarters_known, base.forecast, base.lower, base.upper, base.target, p,
                    None if p is None else status_of(p), base.reason, base.years_used)


def forecast(series: Mapping[int, float], asof: int, year_end: YearEnd, target: float | None,
             better: str) -> Forecast:
    """Forecast the year-end figure of asof's financial year from the figures of quarters <= asof.

    ``series`` maps a quarter index (start year × 4 + quarter − 1) to its figure; quarters without a
    figure are absent. Entries after ``asof`` are ignored. ``better`` is 'lower', 'higher' or 'neither'
    (no probability then).
    """
    if year_end not in YEAR_ENDS:
        raise ValueError(f"unknown year_end {year_end!r}: expected one of {YEAR_ENDS}")
    if better not in BETTERS:
        raise ValueError(f"unknown better {better!r}: expected one of {BETTERS}")
    year, k = asof // 4, asof % 4 + 1
    known = {qi: v for qi in range(year * 4, asof + 1) if (v := _figure(series, qi)) is not None}
    quarters_known = len(known)
    judged = target is not None and better != "neither"

    def none(reason: str, years_used: int) -> Forecast:
        return Forecast(year, quarters_known, None, None, None, target, None, None, reason, years_used)

    needed = [asof] if year_end == "last" else list(range(year * 4, asof + 1))
    if any(qi not in known for qi in needed):
        return none(GAP_THIS_YEAR, 0)
    s_now = summary([known[qi] for qi in needed], year_end)

    if k == 4:
        actual = s_now  # the year-end figure itself: the summary of all 4 (for 'last', the 4th alone)
        base = Forecast(year, quarters_known, actual, actual, actual, target, None, None, None, 0)
        p = (1.0 if meets(actual, target, better) else 0.0) if judged and target is not None else None
        return _with_probability(base, p)

    # Earlier complete years, the most recent MAX_YEARS of them (only quarters before this year: all <= asof)
    earlier = [qi // 4 for qi in series if qi < year * 4]
    pairs: list[tuple[float, float]] = []  # (S_y, YE_y)
    for y in range(year - 1, min(earlier, default=year) - 1, -1):
        quarters = [_figure(series, y * 4 + j) for j in range(4)]
        if any(v is None for v in quarters):
            continue
        full = [v for v in quarters if v is not None]
        first = full[:k]
        pairs.append((summary(first, year_end), year_end_figure(full, year_end)))
        if len(pairs) == MAX_YEARS:
            break
    n = len(pairs)
    if n < 2:
        return none(TOO_FEW_YEARS, n)

    s_years = np.array([p[0] for p in pairs])
    ye_years = np.array([p[1] for p in pairs])
    log_scale = s_now > 0 and bool(np.all(s_years > 0)) and bool(np.all(ye_years > 0))
    steps = np.log(ye_years / s_years) if log_scale else ye_years - s_years
    m = float(np.mean(steps))
    sd = 0.0 if bool(np.all(steps == steps[0])) else float(np.std(steps, ddof=1))  # identical: exactly 0
    q = t_quantile(n - 1)
    half = q * sd * math.sqrt(1 + 1 / n)
    centre = (math.log(s_now) if log_scale else s_now) + m  # the forecast on the model's scale

    def project(step: float) -> float:  # the year so far carried to the year end by a step on the model's scale
        return s_now * math.exp(step) if log_scale else s_now + step

    point = project(m)
    lower, upper = (point, point) if sd == 0 else (project(m - half), project(m + half))
    base = Forecast(year, quarters_known, point, lower, upper, target, None, None, None, n)
    if not judged or target is None:
        return base

    if sd == 0:
        return _with_probability(base, 1.0 if meets(point, target, better) else 0.0)
    if log_scale and target <= 0:
        p_below = 0.0
    else:
        g = math.log(target) if log_scale else target
        p_below = _t_cdf((g - centre) / (sd * math.sqrt(1 + 1 / n)), n - 1)
    return _with_probability(base, p_below if better == "lower" else 1.0 - p_below)


# ---- asking: every series' figures up to a quarter, each forecast --------------------------------

# The forecast's columns, as the command line prints them (a contract)
COLUMNS = ("indicator", "area", "year", "quarters_known", "forecast", "forecast_lower", "forecast_upper", "target",
           "probability_on_target", "forecast_status")

# Every figure (as given, from counts, added up, windowed: the status rule's own figures) of the
# areas asked from the first year a forecast learns from to the quarter asked, by places not names
FIGURES = Step("forecast_figures", """
SELECT i.ind_pos, a.area_pos, f.qi, f.value
FROM figures f JOIN catalogue_indicators i USING (indicator) JOIN catalogue_areas a USING (area)
WHERE ($only_areas IS NULL OR list_contains($only_areas, f.area)) AND f.qi BETWEEN $first_qi AND $last_qi
  AND f.value IS NOT NULL AND isfinite(f.value)""")


@dataclass(frozen=True)
class Outlook:
    """One indicator and area's year-end forecast as of a quarter."""

    indicator: str
    area: str
    year_end: YearEnd
    forecast: Forecast


def target_for(ind: Indicator, area: str, year: int) -> float | None:
    """The financial year's target: the area's own, else the indicator's (the status rule's choice)."""
    own = ind.area_targets.get(area, {})
    return own[year] if year in own else ind.targets.get(year)


def expected(ind: Indicator, qi: int) -> bool:
    """Whether the indicator is expected in quarter ``qi`` (between its from and until)."""
    return (ind.live_from is None or qi >= ind.live_from) and (ind.live_until is None or qi <= ind.live_until)


def _series(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, asof: int, areas: list[str] | None,
            indicators: list[str] | None) -> dict[tuple[int, int], dict[int, float]]:
    first = (asof // 4 - MAX_YEARS) * 4
    params = status.parameters(catalogue, list(range(first, asof + 1)), areas, indicators)
    # nothing is compared: only the areas asked and those they are added up from are read
    params["observed_areas"] = None if areas is None else list(
        dict.fromkeys(below for a in areas for below in catalogue.under(a)))
    params["compared_only"] = []
    sql = compose((*status.CATALOGUE, *figures.needed(*status.needs(catalogue, indicators)), FIGURES),
                  ["ind_pos", "area_pos", "qi", "value"], ("ind_pos", "area_pos", "qi"))
    out: dict[tuple[int, int], dict[int, float]] = {}
    for ind_pos, area_pos, qi, value in con.execute(sql, bound(sql, params)).fetchall():
        out.setdefault((ind_pos, area_pos), {})[qi] = value
    return out


def outlooks(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, asof: int, areas: list[str] | None = None,
             indicators: list[str] | None = None) -> list[Outlook]:
    """Each indicator (expected in quarter ``asof``) and area at its levels: the year-end forecast of
    asof's financial year from the figures up to ``asof`` only, in the catalogue's order."""
    wanted = set(indicators) if indicators else None
    asked = set(areas) if areas else None
    series = _series(con, catalogue, asof, areas, indicators)
    places = {a: n for n, a in enumerate(catalogue.areas)}
    out = []
    for pos, ind in enumerate(catalogue.indicators):
        if (wanted is not None and ind.id not in wanted) or not expected(ind, asof):
            continue
        for area in catalogue.areas:
            if (asked is not None and area not in asked) or not catalogue.in_scope(ind, area):
                continue
            got = forecast(series.get((pos, places[area]), {}), asof, ind.year_end,
                           target_for(ind, area, asof // 4), ind.better)
            out.append(Outlook(ind.id, area, ind.year_end, got))
    return out


def row(outlook: Outlook) -> dict[str, Any]:
    """The forecast as COLUMNS name them (the year as a board writes it)."""
    f = outlook.forecast
    return {"indicator": outlook.indicator, "area": outlook.area, "year": f"{f.year}/{(f.year + 1) % 100:02d}",
            "quarters_known": f.quarters_known, "forecast": f.forecast, "forecast_lower": f.lower,
            "forecast_upper": f.upper, "target": f.target, "probability_on_target": f.probability,
            "forecast_status": f.status, "reason": f.reason, "year_end": outlook.year_end}
