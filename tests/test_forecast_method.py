"""The year-end forecast (seasonal ratio projection), against numbers worked out by hand.

Each case is a small series: 3 (or more) earlier complete years and the quarters known this year
(2010/11). The working is in the comments; Student's t quantiles are the table values below, and the
probabilities use the closed forms of Student's t distribution function for 1, 2 and 3 degrees of
freedom (no scipy), so nothing here re-feeds the code's own output.
"""

from __future__ import annotations

import math

import pytest

from pipelines.stats.forecast import (
    LEVEL,
    MAX_YEARS,
    OFF_TRACK,
    ON_TRACK,
    Forecast,
    forecast,
    status_of,
    year_end_figure,
)

# t(0.95, df): the upper quantile of the two-sided 90% interval, from tables
T95 = {1: 6.313752, 2: 2.919986, 3: 2.353363, 4: 2.131847}
SQRT_4_3 = math.sqrt(1 + 1 / 3)  # √(1 + 1/n) with n = 3
Y = 2010  # this year: 2010/11


def t_cdf(x: float, df: int) -> float:
    """Student's t distribution function in closed form for 1, 2 and 3 degrees of freedom."""
    if df == 1:
        return 0.5 + math.atan(x) / math.pi
    if df == 2:
        return 0.5 + x / (2 * math.sqrt(2 + x * x))
    if df == 3:
        return 0.5 + (x / (math.sqrt(3) * (1 + x * x / 3)) + math.atan(x / math.sqrt(3))) / math.pi
    raise ValueError(df)


def qi(year: int, quarter: int) -> int:
    return year * 4 + quarter - 1


def years(figures: dict[int, list[float | None]]) -> dict[int, float]:
    """{start year: [Q1..Q4 figures, None for none]} as {qi: figure}, quarters without a figure absent."""
    return {qi(y, j + 1): v for y, row in figures.items() for j, v in enumerate(row) if v is not None}


def test_t_table_values_match_scipy() -> None:
    from scipy.stats import t

    assert LEVEL == 0.90
    for df, q in T95.items():
        assert t.ppf(0.95, df) == pytest.approx(q, abs=2e-6)
    for df in (1, 2, 3):  # and the closed forms used for the probabilities
        for x in (-2.5, -0.3, 0.0, 0.7, 4.0):
            assert t_cdf(x, df) == pytest.approx(t.cdf(x, df), abs=1e-12)


def test_year_end_figure() -> None:
    assert year_end_figure([1, 2, 3, 6], "sum") == 12
    assert year_end_figure([1, 2, 3, 6], "mean") == 3
    assert year_end_figure([1, 2, 3, 6], "last") == 6
    with pytest.raises(ValueError):
        year_end_figure([1, 2, 3], "sum")


# ---- sum, k = 2 ----------------------------------------------------------------------------------
# 2007: 10 10 10 10   first two 20, year 40, ratio 2
# 2008: 10 10 12 13   20, 45, ratio 2.25
# 2009: 10 10 15 15   20, 50, ratio 2.5
# 2010: 12 13         S = 25
# r = ln 2, ln 2.25, ln 2.5 = 0.693147, 0.810930, 0.916291; m = ln(11.25)/3 = 0.8067894
# forecast = 25 · 11.25^(1/3) = 25 · 2.2407024 = 56.017559
# s = sd(r) = 0.1116294 (deviations -0.113642, 0.004141, 0.109502; sum of squares 0.0249223, /2, √)
# s·√(4/3) = 0.1288985; half width 2.919986 × 0.1288985 = 0.3763818
# lower = 25·exp(0.8067894 - 0.3763818) = 25·exp(0.4304076) = 38.447102
# upper = 25·exp(1.1831712) = 81.617775
# target 55, lower better: z = (ln 55 - ln 25 - m)/0.1288985 = (0.7884574 - 0.8067894)/0.1288985 = -0.1422205
# P = 0.5 + z/(2√(2 + z²)) = 0.5 - 0.1422205/(2 × 1.4213724) = 0.4499698: at risk
SUM_SERIES = years({2007: [10, 10, 10, 10], 2008: [10, 10, 12, 13], 2009: [10, 10, 15, 15], Y: [12, 13, None, None]})


def test_sum_k2() -> None:
    f = forecast(SUM_SERIES, qi(Y, 2), "sum", 55, "lower")
    assert (f.year, f.quarters_known, f.years_used, f.reason, f.target) == (2010, 2, 3, None, 55)
    assert f.forecast == pytest.approx(56.017559, rel=1e-7)
    assert f.lower == pytest.approx(38.447102, rel=1e-6)
    assert f.upper == pytest.approx(81.617775, rel=1e-6)
    assert f.probability == pytest.approx(0.4499698, abs=1e-6)
    assert f.status == "at_risk"


def test_neither_and_no_target_give_no_probability() -> None:
    for target, better in ((55.0, "neither"), (None, "lower"), (None, "neither")):
        f = forecast(SUM_SERIES, qi(Y, 2), "sum", target, better)
        assert f.forecast == pytest.approx(56.017559, rel=1e-7)
        assert f.lower == pytest.approx(38.447102, rel=1e-6)
        assert (f.probability, f.status, f.reason) == (None, None, None)


def test_higher_is_the_complement() -> None:
    f = forecast(SUM_SERIES, qi(Y, 2), "sum", 55, "higher")
    assert f.probability == pytest.approx(1 - 0.4499698, abs=1e-6)
    assert f.status == "at_risk"


def test_log_scale_target_at_or_below_zero() -> None:
    # ln of a target <= 0 does not exist: a positive year-end figure never meets it from above
    lower = forecast(SUM_SERIES, qi(Y, 2), "sum", 0, "lower")
    assert (lower.probability, lower.status) == (0.0, "off_track")
    higher = forecast(SUM_SERIES, qi(Y, 2), "sum", -5, "higher")
    assert (higher.probability, higher.status) == (1.0, "on_track")


def test_figures_after_asof_change_nothing() -> None:
    before = forecast(SUM_SERIES, qi(Y, 2), "sum", 55, "lower")
    later = dict(SUM_SERIES)
    later[qi(Y, 3)] = 1000.0  # this year's Q3 and Q4, and the next year's figures
    later[qi(Y, 4)] = -7.0
    later[qi(Y + 1, 1)] = 0.0
    later[qi(Y + 3, 2)] = 5.0
    after = forecast(later, qi(Y, 2), "sum", 55, "lower")
    assert after == before
    assert after.quarters_known == 2


# ---- mean, k = 3 ---------------------------------------------------------------------------------
# 2007: 10 10 10 14   mean of 3 = 10, of 4 = 11, ratio 1.1
# 2008: 20 20 20 20   ratio 1
# 2009: 10 12 14 16   12, 13, ratio 13/12
# 2010: 30 30 33      S = 31
# r = 0.0953102, 0, 0.0800427; m = 0.0584510; s = 0.0511924; s·√(4/3) = 0.0591119
# forecast = 31·exp(0.0584510) = 32.865983
# half width 2.919986 × 0.0591119 = 0.1726059: lower 31·exp(-0.1141549) = 27.655713, upper 31·exp(0.2310569) = 39.057855
# target 30, higher better: z = (ln 30 - ln 31 - m)/0.0591119 = (-0.0327898 - 0.0584510)/0.0591119 = -1.5435272
# P(YE <= 30) = 0.5 + z/(2√(2 + z²)) = 0.1313413; P(YE >= 30) = 0.8686587: on track


def test_mean_k3() -> None:
    series = years({2007: [10, 10, 10, 14], 2008: [20, 20, 20, 20], 2009: [10, 12, 14, 16], Y: [30, 30, 33, None]})
    f = forecast(series, qi(Y, 3), "mean", 30, "higher")
    assert (f.quarters_known, f.years_used, f.reason) == (3, 3, None)
    assert f.forecast == pytest.approx(32.865983, rel=1e-7)
    assert f.lower == pytest.approx(27.655713, rel=1e-6)
    assert f.upper == pytest.approx(39.057855, rel=1e-6)
    assert f.probability == pytest.approx(0.8686587, abs=1e-6)
    assert f.status == "on_track"


# ---- last, k = 1 ---------------------------------------------------------------------------------
# The year-end figure is Q4, the summary of the year so far is Q1's figure.
# 2007: 10 5 5 12     ratio 1.2
# 2008: 20 1 1 20     ratio 1
# 2009: 10 7 8 15     ratio 1.5
# 2010: 40            S = 40
# r = 0.1823216, 0, 0.4054651; m = 0.1959289; s = 0.2030748; s·√(4/3) = 0.2344905
# forecast = 40·exp(0.1959289) = 48.657616
# half width 2.919986 × 0.2344905 = 0.6847089: lower 40·exp(-0.4887800) = 24.534966, upper 40·exp(0.8806378) = 96.497531
# target 50, lower better: z = (ln 50 - ln 40 - m)/0.2344905 = (0.2231436 - 0.1959289)/0.2344905 = 0.1160587
# P = 0.5 + z/(2√(2 + z²)) = 0.5408955: at risk
LAST_SERIES = years({2007: [10, 5, 5, 12], 2008: [20, 1, 1, 20], 2009: [10, 7, 8, 15], Y: [40, None, None, None]})


def test_last_k1() -> None:
    f = forecast(LAST_SERIES, qi(Y, 1), "last", 50, "lower")
    assert (f.quarters_known, f.years_used, f.reason) == (1, 3, None)
    assert f.forecast == pytest.approx(48.657616, rel=1e-7)
    assert f.lower == pytest.approx(24.534966, rel=1e-6)
    assert f.upper == pytest.approx(96.497531, rel=1e-6)
    assert f.probability == pytest.approx(0.5408955, abs=1e-6)
    assert f.status == "at_risk"


def test_last_needs_only_the_quarter_asked() -> None:
    # Q2 known, Q1 missing: 'last' at k = 2 needs Q2 alone (ratios Q4/Q2: 12/5, 20/1, 15/7)
    series = dict(LAST_SERIES)
    del series[qi(Y, 1)]
    series[qi(Y, 2)] = 6.0
    f = forecast(series, qi(Y, 2), "last", None, "lower")
    assert (f.quarters_known, f.years_used, f.reason) == (1, 3, None)
    # m = (ln 2.4 + ln 20 + ln(15/7))/3 = ln(102.857143)/3; forecast 6 · 102.857143^(1/3) = 6 · 4.6858... = 28.115
    assert f.forecast == pytest.approx(6 * (12 / 5 * 20 * 15 / 7) ** (1 / 3), rel=1e-12)
    # 'sum' at the same quarter needs Q1 too
    gap = forecast(series, qi(Y, 2), "sum", 50, "lower")
    assert gap == Forecast(2010, 1, None, None, None, 50, None, None, "gap_this_year", 0)


# ---- the year known ------------------------------------------------------------------------------


def test_all_four_quarters_known() -> None:
    series = dict(SUM_SERIES)
    series[qi(Y, 3)] = 14.0
    series[qi(Y, 4)] = 15.0  # year = 12 + 13 + 14 + 15 = 54
    f = forecast(series, qi(Y, 4), "sum", 55, "lower")
    assert f == Forecast(2010, 4, 54.0, 54.0, 54.0, 55, 1.0, "on_track", None, 0)
    f = forecast(series, qi(Y, 4), "sum", 53.5, "lower")
    assert (f.probability, f.status) == (0.0, "off_track")
    f = forecast(series, qi(Y, 4), "mean", 13.5, "higher")  # 54 / 4 = 13.5 meets 13.5 (at it)
    assert (f.forecast, f.probability, f.status) == (13.5, 1.0, "on_track")
    f = forecast(series, qi(Y, 4), "last", 10, "neither")
    assert (f.forecast, f.lower, f.upper, f.probability, f.status) == (15.0, 15.0, 15.0, None, None)


# ---- no forecast ---------------------------------------------------------------------------------


def test_too_few_years() -> None:
    # 2008 lacks Q3, so only 2009 is complete: n = 1
    series = years({2008: [10, 10, None, 10], 2009: [10, 10, 15, 15], Y: [12, 13, None, None]})
    f = forecast(series, qi(Y, 2), "sum", 55, "lower")
    assert f == Forecast(2010, 2, None, None, None, 55, None, None, "too_few_years", 1)
    none = forecast({qi(Y, 1): 5.0}, qi(Y, 1), "last", None, "lower")
    assert none == Forecast(2010, 1, None, None, None, None, None, None, "too_few_years", 0)


def test_gap_this_year() -> None:
    series = dict(SUM_SERIES)
    del series[qi(Y, 1)]
    f = forecast(series, qi(Y, 2), "mean", 55, "lower")
    assert f == Forecast(2010, 1, None, None, None, 55, None, None, "gap_this_year", 0)
    series = dict(LAST_SERIES)
    del series[qi(Y, 1)]  # nothing known this year
    f = forecast(series, qi(Y, 1), "last", 50, "lower")
    assert (f.quarters_known, f.reason, f.forecast) == (0, "gap_this_year", None)


# ---- additive fallback ---------------------------------------------------------------------------
# sum, k = 2 with a zero: 2007's first half is 0, so no ratio: differences (year - first half)
# 2007: 0 0 5 5    first half 0, year 10, d = 10
# 2008: 2 3 4 1    5, 10, d = 5
# 2009: 1 1 6 6    2, 14, d = 12
# 2010: 3 4        S = 7
# mean d = 9; deviations 1, -4, 3: sum of squares 26, /2 = 13, s = √13 = 3.6055513; s·√(4/3) = 4.1633320
# forecast 7 + 9 = 16; half width 2.919986 × 4.1633320 = 12.1568712: 3.8431288 to 28.1568712
# target 20, lower better: z = (20 - 16)/4.1633320 = 0.9607689; P = 0.5 + z/(2√(2 + z²)) = 0.7809757: at risk
ADDITIVE_SERIES = years({2007: [0, 0, 5, 5], 2008: [2, 3, 4, 1], 2009: [1, 1, 6, 6], Y: [3, 4, None, None]})


def test_additive_when_a_figure_is_zero() -> None:
    f = forecast(ADDITIVE_SERIES, qi(Y, 2), "sum", 20, "lower")
    assert (f.quarters_known, f.years_used, f.reason) == (2, 3, None)
    assert f.forecast == pytest.approx(16.0, rel=1e-12)
    assert f.lower == pytest.approx(3.8431288, rel=1e-6)
    assert f.upper == pytest.approx(28.1568712, rel=1e-6)
    assert f.probability == pytest.approx(0.7809757, abs=1e-6)
    assert f.status == "at_risk"


def test_additive_target_at_the_centre_is_even() -> None:
    f = forecast(ADDITIVE_SERIES, qi(Y, 2), "sum", 16, "lower")  # z = 0 exactly
    assert f.probability == 0.5
    assert f.status == "at_risk"


def test_additive_with_negative_figures() -> None:
    # last, k = 1 over 4 earlier years (n = 4, 3 degrees of freedom): Q4 - Q1
    # 2006: -2 0 0 1   d = 3
    # 2007:  1 0 0 5   d = 4
    # 2008: -1 0 0 1   d = 2
    # 2009:  0 0 0 3   d = 3
    # 2010: -3         S = -3
    # mean d = 3; deviations 0, 1, -1, 0: sum of squares 2, /3, s = 0.8164966; s·√(1 + 1/4) = 0.9128709
    # forecast 0; half width 2.353363 × 0.9128709 = 2.1483167
    # target 1, higher better: z = 1/0.9128709 = 1.0954451
    # P(YE <= 1) = 0.5 + (z/(√3(1 + z²/3)) + atan(z/√3))/π = 0.8233063; P(YE >= 1) = 0.1766937: off track
    series = years({2006: [-2, 0, 0, 1], 2007: [1, 0, 0, 5], 2008: [-1, 0, 0, 1], 2009: [0, 0, 0, 3], Y: [-3]})
    f = forecast(series, qi(Y, 1), "last", 1, "higher")
    assert (f.years_used, f.reason) == (4, None)
    assert f.forecast == pytest.approx(0.0, abs=1e-12)
    assert f.lower == pytest.approx(-2.1483167, rel=1e-6)
    assert f.upper == pytest.approx(2.1483167, rel=1e-6)
    assert f.probability == pytest.approx(0.1766937, abs=1e-6)
    assert f.status == "off_track"


# ---- which years -------------------------------------------------------------------------------


def test_only_the_most_recent_complete_years() -> None:
    # last, k = 1. Ratios Q4/Q1: 2001-2003 ratio 10 (too old to count), 2004 incomplete (skipped),
    # 2005-2009 ratios 1, 1, 1, 1, 2. MAX_YEARS = 5 of them: r = 0, 0, 0, 0, ln 2
    # m = ln 2 / 5 = 0.1386294; forecast 10 · 2^(1/5) = 11.486984
    # s = ln 2 · sd(0, 0, 0, 0, 1) = 0.6931472 × √(0.8/4) = 0.3099848; s·√(1 + 1/5) = 0.3395714
    # half width t(0.95, 4) = 2.131847 × 0.3395714 = 0.7239143: lower 10·exp(-0.5852849) = 5.569472, upper 23.691794
    assert MAX_YEARS == 5
    rows: dict[int, list[float | None]] = {y: [1, 1, 1, 10] for y in (2001, 2002, 2003)}
    rows[2004] = [1, 1, None, 1]
    rows.update({y: [3, 1, 1, 3] for y in (2005, 2006, 2007, 2008)})
    rows[2009] = [4, 1, 1, 8]
    rows[Y] = [10]
    f = forecast(years(rows), qi(Y, 1), "last", None, "lower")
    assert (f.years_used, f.reason) == (5, None)
    assert f.forecast == pytest.approx(10 * 2 ** 0.2, rel=1e-12)
    assert f.lower == pytest.approx(5.569472, rel=1e-6)
    assert f.upper == pytest.approx(23.691794, rel=1e-6)


def test_identical_ratios_collapse_the_interval() -> None:
    # sum, k = 2: every year's total is twice its first half; this year's first half 25 -> 50 exactly
    series = years({2007: [10, 10, 10, 10], 2008: [5, 15, 12, 8], 2009: [20, 20, 30, 10], Y: [12, 13, None, None]})
    f = forecast(series, qi(Y, 2), "sum", 50, "lower")
    assert f.forecast == pytest.approx(50.0, rel=1e-12)
    assert f.lower == f.upper == f.forecast
    assert (f.probability, f.status, f.years_used) == (1.0, "on_track", 3)
    f = forecast(series, qi(Y, 2), "sum", 49, "lower")
    assert (f.probability, f.status) == (0.0, "off_track")
    f = forecast(series, qi(Y, 2), "sum", 49, "higher")
    assert (f.probability, f.status) == (1.0, "on_track")


# ---- status --------------------------------------------------------------------------------------


def test_status_thresholds_at_their_edges() -> None:
    assert (ON_TRACK, OFF_TRACK) == (0.8, 0.2)
    assert status_of(0.8) == "on_track"
    assert status_of(1.0) == "on_track"
    assert status_of(0.7999999) == "at_risk"
    assert status_of(0.2) == "at_risk"
    assert status_of(0.1999999) == "off_track"
    assert status_of(0.0) == "off_track"


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        forecast(SUM_SERIES, qi(Y, 2), "total", 55, "lower")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        forecast(SUM_SERIES, qi(Y, 2), "sum", 55, "up")
