"""Checks of pipelines/rules/intervals.py against numbers worked out without it.

Every expected number here comes from somewhere other than the code under test:

- scipy's quantiles (``norm.ppf``, ``chi2.ppf``) for z and the exact Poisson table;
- the Poisson distribution summed by hand (e^-mu mu^k / k!) and solved for its tail probabilities
  with a root finder, a route to the exact limits that never touches the chi-square relation;
- the formulas worked by hand in 40-digit decimal arithmetic, with the intermediate numbers
  written out as literals;
- the Wilson interval found as the two roots of the score test |p^ - p| = z sqrt(p(1 - p) / n),
  by root finding rather than the closed form;
- values published in the tests of PHStatsMethods, DHSC's Python port of PHEindicatormethods
  (the R package's own expected values sit in .xlsx files that could not be read);
- the PHE "Technical Guide: Confidence Intervals" (Public Health Data Science, 25 May 2018), which
  says Byar's method is within 0.2% of the exact limits for 10 or more events at 95%.
"""

from __future__ import annotations

import math
from decimal import Context, Decimal, localcontext

import pytest
from scipy.optimize import brentq
from scipy.stats import chi2, norm, poisson

from pipelines.rules import intervals

LEVELS = (95.0, 99.8)


def alpha(confidence: float) -> float:
    return 1 - confidence / 100


# ---- z ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("confidence", "tail"), [(95.0, 0.975), (99.8, 0.999)])
def test_z_is_the_exact_normal_quantile(confidence: float, tail: float) -> None:
    assert intervals.Z[confidence] == pytest.approx(norm.ppf(tail), rel=1e-12, abs=0)


def test_z_is_not_the_rounded_textbook_value() -> None:
    # 1.96 and 3.09 are the rounded values the module says it does not use
    assert abs(intervals.Z[95.0] - 1.96) > 3e-5
    assert abs(intervals.Z[99.8] - 3.09) > 2e-4
    assert set(intervals.Z) == set(LEVELS)


# ---- the exact Poisson table -----------------------------------------------------------------

def poisson_cdf_by_hand(x: int, mu: float) -> float:
    """P(X <= x) for X ~ Poisson(mu), summed term by term (no gamma or chi-square functions)."""
    return sum(math.exp(-mu) * mu**k / math.factorial(k) for k in range(x + 1))


@pytest.mark.parametrize("confidence", LEVELS)
def test_exact_table_is_every_count_below_byar_in_order(confidence: float) -> None:
    assert intervals.BYAR_FROM == 10
    assert [row[0] for row in intervals.EXACT_POISSON[confidence]] == list(range(10))


@pytest.mark.parametrize("confidence", LEVELS)
@pytest.mark.parametrize("x", range(10))
def test_exact_table_against_scipy_chi2(confidence: float, x: int) -> None:
    a = alpha(confidence)
    _, lower, upper = intervals.EXACT_POISSON[confidence][x]
    if x == 0:
        assert lower == 0.0  # exactly: no events, no lower limit
    else:
        assert lower == pytest.approx(chi2.ppf(a / 2, 2 * x) / 2, rel=1e-12, abs=0)
    assert upper == pytest.approx(chi2.ppf(1 - a / 2, 2 * x + 2) / 2, rel=1e-12, abs=0)


@pytest.mark.parametrize("confidence", LEVELS)
def test_exact_table_closed_forms_at_0_and_1_events(confidence: float) -> None:
    a = alpha(confidence)
    # 0 events: P(X <= 0 | U) = exp(-U) = a / 2, so U = ln(2 / a): ln 40 at 95%, ln 1000 at 99.8%
    assert intervals.EXACT_POISSON[confidence][0][2] == pytest.approx(math.log(2 / a), rel=1e-12, abs=0)
    # 1 event: P(X >= 1 | L) = 1 - exp(-L) = a / 2, so L = -ln(1 - a / 2)
    assert intervals.EXACT_POISSON[confidence][1][1] == pytest.approx(-math.log(1 - a / 2), rel=1e-12, abs=0)
    assert math.log(2 / 0.05) == pytest.approx(3.6888794541139363, rel=1e-15)
    assert math.log(2 / 0.002) == pytest.approx(6.907755278982137, rel=1e-12)


@pytest.mark.parametrize("confidence", LEVELS)
@pytest.mark.parametrize("x", range(10))
def test_exact_table_by_root_finding_on_the_poisson_tails(confidence: float, x: int) -> None:
    """The exact limits are defined by their tails: P(X >= x | L) = a/2 and P(X <= x | U) = a/2.
    Solve those with a root finder on the Poisson sum, not the chi-square relation."""
    a = alpha(confidence)
    _, lower, upper = intervals.EXACT_POISSON[confidence][x]
    solved_upper = brentq(lambda mu: poisson_cdf_by_hand(x, mu) - a / 2, 1e-9, 100.0, xtol=1e-14, rtol=1e-15)
    assert upper == pytest.approx(solved_upper, rel=1e-10, abs=0)
    assert poisson.cdf(x, upper) == pytest.approx(a / 2, rel=1e-9, abs=0)
    if x > 0:
        solved_lower = brentq(lambda mu: (1 - poisson_cdf_by_hand(x - 1, mu)) - a / 2, 1e-12, 100.0,
                              xtol=1e-16, rtol=1e-15)
        assert lower == pytest.approx(solved_lower, rel=1e-9, abs=0)
        assert poisson.sf(x - 1, lower) == pytest.approx(a / 2, rel=1e-9, abs=0)


@pytest.mark.parametrize("confidence", LEVELS)
@pytest.mark.parametrize("x", range(10))
def test_exact_poisson_divides_by_n_and_scales_by_per(confidence: float, x: int) -> None:
    a = alpha(confidence)
    n, per = 48_213.0, 100_000.0
    lower, upper = intervals.exact_poisson(x, n, per, confidence)
    expected_lower = 0.0 if x == 0 else chi2.ppf(a / 2, 2 * x) / 2 / n * per
    assert lower == pytest.approx(expected_lower, rel=1e-12, abs=0)
    assert upper == pytest.approx(chi2.ppf(1 - a / 2, 2 * x + 2) / 2 / n * per, rel=1e-12, abs=0)


# ---- Byar's -----------------------------------------------------------------------------------

def byar_by_hand(x: int, z: str) -> tuple[Decimal, Decimal]:
    """Byar's limits on the count, in 40-digit decimals, from the formula as the PHE guide prints it:
    lower = x (1 - 1/(9x) - z/(3 sqrt x))^3, upper = (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3."""
    with localcontext(Context(prec=40)):  # 40 digits, without touching the global context
        zd, xd = Decimal(z), Decimal(x)
        lower = xd * (1 - 1 / (9 * xd) - zd / (3 * xd.sqrt())) ** 3
        x1 = xd + 1
        upper = x1 * (1 - 1 / (9 * x1) + zd / (3 * x1.sqrt())) ** 3
        return lower, upper


Z95, Z998 = "1.959963984540054", "3.090232306167813"  # norm.ppf(0.975), norm.ppf(0.999): checked above


def test_byar_lower_published_by_phstatsmethods() -> None:
    # DataS-DHSC/PHStatsMethods, ph_statistical_methods/archive/tests_old.py:
    #   byars_lower(100) == 81.36210549052788
    #   phe_rate(100, 10000, 100000) == (1000.0, 813.6210549052789, 1216.2458755509265)
    assert intervals.byar(100, 1, 1)[0] == pytest.approx(81.36210549052788, rel=1e-12, abs=0)
    assert intervals.byar(100, 10_000, 100_000)[0] == pytest.approx(813.6210549052789, rel=1e-12, abs=0)


def test_byar_upper_is_not_the_typo_in_that_published_upper() -> None:
    # The same file's upper, byars_upper(100) == 121.62458755509265, was made by a typo in the
    # code it tested (ph_statistical_methods/confidence_intervals.py at that commit wrote
    # 1 / (9 * value + 1) for 1 / (9 * (value + 1))); PHStatsMethods/confidence_intervals.py later
    # has the correct formula. Worked by hand: 101 (1 - 1/909 + z / (3 sqrt 101))^3 = 121.62793757920...
    typo = 101 * (1 - 1 / (9 * 100 + 1) + float(Z95) / (3 * math.sqrt(101))) ** 3
    assert typo == pytest.approx(121.62458755509265, rel=1e-12)  # the published number is the typo's
    upper = intervals.byar(100, 1, 1)[1]
    assert upper == pytest.approx(121.6279375792065, rel=1e-12, abs=0)
    assert abs(upper - 121.62458755509265) > 3e-3


@pytest.mark.parametrize(("x", "z", "lower", "upper"), [
    # x, z, then the limits on the count worked in 40-digit decimals by byar_by_hand
    (10, Z95, "4.787449913967563", "18.39145860575648"),
    (55, Z95, "41.43082602707467", "71.59141966762412"),
    (100, Z95, "81.36210549052787", "121.6279375792065"),
    (10, Z998, "2.916318374695686", "24.19372492788053"),
    (55, Z998, "34.87143839506557", "82.02375058405873"),
    (100, Z998, "71.90369187259839", "134.9436217622632"),
])
def test_byar_against_the_formula_by_hand(x: int, z: str, lower: str, upper: str) -> None:
    confidence = 95.0 if z == Z95 else 99.8
    hand_lower, hand_upper = byar_by_hand(x, z)
    assert float(hand_lower) == pytest.approx(float(lower), rel=1e-14)  # the literals are the hand values
    assert float(hand_upper) == pytest.approx(float(upper), rel=1e-14)
    n, per = 37_512.0, 100_000.0
    got_lower, got_upper = intervals.byar(x, n, per, confidence)
    assert got_lower == pytest.approx(float(hand_lower) / n * per, rel=1e-12, abs=0)
    assert got_upper == pytest.approx(float(hand_upper) / n * per, rel=1e-12, abs=0)


@pytest.mark.parametrize(("confidence", "tolerance"), [
    (95.0, 0.002),  # the PHE Technical Guide: within 0.2% of exact for 10 or more events at 95%
    (99.8, 0.02),   # worst at 10 events: about 1.5% on the lower limit
])
@pytest.mark.parametrize("x", [10, 50, 200])
def test_byar_is_close_to_the_exact_limits(confidence: float, tolerance: float, x: int) -> None:
    a = alpha(confidence)
    lower, upper = intervals.byar(x, 1, 1, confidence)
    assert lower == pytest.approx(chi2.ppf(a / 2, 2 * x) / 2, rel=tolerance)
    assert upper == pytest.approx(chi2.ppf(1 - a / 2, 2 * x + 2) / 2, rel=tolerance)


# ---- rate_interval: which method, and the edges ----------------------------------------------

@pytest.mark.parametrize("confidence", LEVELS)
def test_rate_with_no_events_has_lower_limit_exactly_zero(confidence: float) -> None:
    lower, upper, method = intervals.rate_interval(0, 20_000, 100_000, confidence)
    assert method == "exact"
    assert lower == 0.0
    assert upper == pytest.approx(math.log(2 / alpha(confidence)) / 20_000 * 100_000, rel=1e-12, abs=0)


@pytest.mark.parametrize("confidence", LEVELS)
def test_nine_events_is_exact(confidence: float) -> None:
    a = alpha(confidence)
    lower, upper, method = intervals.rate_interval(9, 20_000, 100_000, confidence)
    assert method == "exact"
    assert lower == pytest.approx(chi2.ppf(a / 2, 18) / 2 / 20_000 * 100_000, rel=1e-12, abs=0)
    assert upper == pytest.approx(chi2.ppf(1 - a / 2, 20) / 2 / 20_000 * 100_000, rel=1e-12, abs=0)


@pytest.mark.parametrize(("confidence", "z", "lower", "upper"), [
    (95.0, Z95, "4.787449913967563", "18.39145860575648"),
    (99.8, Z998, "2.916318374695686", "24.19372492788053"),
])
def test_ten_events_is_byar(confidence: float, z: str, lower: str, upper: str) -> None:
    got_lower, got_upper, method = intervals.rate_interval(10, 20_000, 100_000, confidence)
    assert method == "byar"
    assert got_lower == pytest.approx(float(lower) / 20_000 * 100_000, rel=1e-12, abs=0)
    assert got_upper == pytest.approx(float(upper) / 20_000 * 100_000, rel=1e-12, abs=0)
    # and not the exact interval, which differs by about 0.17% (95%) and 1.5% (99.8%) at 10 events
    exact_lower = chi2.ppf(alpha(confidence) / 2, 20) / 2 / 20_000 * 100_000
    assert abs(got_lower / exact_lower - 1) > 1e-3


# ---- Wilson -----------------------------------------------------------------------------------

def test_wilson_ni32_at_95_by_hand() -> None:
    """NI 32: 55 of 356, as a percentage, z = 1.959963984540054, each step in 40-digit decimals."""
    with localcontext(Context(prec=40)):  # 40 digits, without touching the global context
        z, x, n = Decimal(Z95), Decimal(55), Decimal(356)
        z2 = z * z
        assert z2 == Decimal("3.841458820694125035121930322916")
        inner = 4 * x * (1 - x / n)  # 220 * 301/356
        assert abs(inner - Decimal("186.0112359550561797752808988764044943820")) < Decimal("1e-36")
        root = (z2 + inner).sqrt()  # sqrt(189.85269477575030481...)
        assert abs(root - Decimal("13.77870439394612692227265757867947907526")) < Decimal("1e-36")
        spread = z * root
        assert abs(spread - Decimal("27.00576436575820082671535791105746308339")) < Decimal("1e-36")
        denominator = 2 * (n + z2)
        assert denominator == Decimal("719.682917641388250070243860645832")
        lower = (2 * x + z2 - spread) / denominator * 100  # (113.84145882 - 27.00576437) / 719.68291764
        upper = (2 * x + z2 + spread) / denominator * 100  # (113.84145882 + 27.00576437) / 719.68291764
        assert abs(lower - Decimal("12.06582681433122425323057673706893289862")) < Decimal("1e-30")
        assert abs(upper - Decimal("19.57073312897990367610123538442329888941")) < Decimal("1e-30")
        got = intervals.wilson(55, 356, 100.0, 95.0)
        assert got[0] == pytest.approx(12.065826814331224, rel=1e-12, abs=0)
        assert got[1] == pytest.approx(19.570733128979904, rel=1e-12, abs=0)


def test_wilson_ni32_at_998_by_hand() -> None:
    with localcontext(Context(prec=40)):  # 40 digits, without touching the global context
        z, x, n = Decimal(Z998), Decimal(55), Decimal(356)
        z2 = z * z
        assert z2 == Decimal("9.549535706083239943961717202969")
        inner = 4 * x * (1 - x / n)
        root = (z2 + inner).sqrt()  # sqrt(195.56077166113941971924...)
        assert abs(root - Decimal("13.98430447541598043416705486018687686359")) < Decimal("1e-36")
        spread = z * root
        assert abs(spread - Decimal("43.21474946921759361325992105442267605836")) < Decimal("1e-36")
        denominator = 2 * (n + z2)
        assert denominator == Decimal("731.099071412166479887923434405938")
        lower = (2 * x + z2 - spread) / denominator * 100
        upper = (2 * x + z2 + spread) / denominator * 100
        assert abs(lower - Decimal("10.44110014931627937791377248614003446489")) < Decimal("1e-30")
        assert abs(upper - Decimal("22.26295881636271151614161274317306886736")) < Decimal("1e-30")
        got = intervals.wilson(55, 356, 100.0, 99.8)
        assert got[0] == pytest.approx(10.441100149316279, rel=1e-12, abs=0)
        assert got[1] == pytest.approx(22.262958816362712, rel=1e-12, abs=0)


def wilson_by_score_test(x: int, n: int, z: float) -> tuple[float, float]:
    """The Wilson limits as the two p where the score test is at its edge, |p^ - p| = z sqrt(p(1-p)/n):
    found by root finding on either side of p^, not by the closed form."""
    p_hat = x / n

    def edge(p: float) -> float:
        return abs(p_hat - p) - z * math.sqrt(p * (1 - p) / n)

    # at p^ = 0 the lower root is p = 0 itself (both sides are 0); likewise p = 1 at p^ = 1. The other
    # root is bracketed from just inside (0, 1), where the edge is negative, as it is at any other p^.
    start_up = p_hat if x > 0 else 1e-300  # where the search for the upper root starts
    start_down = p_hat if x < n else math.nextafter(1.0, 0.0)  # and for the lower root
    lower = upper = 0.0
    if x == 0:
        assert edge(0.0) == 0.0
    else:
        assert edge(0.0) > 0 > edge(start_down)
        lower = brentq(edge, 0.0, start_down, xtol=1e-16, rtol=1e-15)
    if x == n:
        upper = 1.0
        assert edge(1.0) == 0.0
    else:
        assert edge(start_up) < 0 < edge(1.0)
        upper = brentq(edge, start_up, 1.0, xtol=1e-16, rtol=1e-15)
    return lower, upper


@pytest.mark.parametrize("confidence", LEVELS)
@pytest.mark.parametrize(("x", "n"), [
    (55, 356), (1, 2), (0, 10), (10, 10), (1, 1), (3, 1000), (997, 1000), (500, 1000),
    (20, 360), (550, 2400), (76, 238), (7, 13), (12_345, 67_890),
])
def test_wilson_against_the_score_test_roots(confidence: float, x: int, n: int) -> None:
    lower, upper = wilson_by_score_test(x, n, norm.ppf(1 - alpha(confidence) / 2))
    got_lower, got_upper = intervals.wilson(x, n, 100.0, confidence)
    assert got_lower == pytest.approx(lower * 100, rel=1e-9, abs=1e-12)
    assert got_upper == pytest.approx(upper * 100, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("x", "n", "confidence", "which", "published"), [
    # DataS-DHSC/PHStatsMethods, ph_statistical_methods/tests/test.wilsons.py (proportions, per 1)
    (20, 360, 95.0, 0, 0.036248204600072345),
    (550, 2400, 99.8, 0, 0.20375892211705743),
    (30, 400, 95.0, 1, 0.10504770626130437),
    (76, 238, 99.8, 1, 0.418131030603369),
])
def test_wilson_published_by_phstatsmethods(x: int, n: int, confidence: float, which: int, published: float) -> None:
    assert intervals.wilson(x, n, 1.0, confidence)[which] == pytest.approx(published, rel=1e-12, abs=0)


def test_wilson_published_percentages_by_phstatsmethods() -> None:
    # DataS-DHSC/PHStatsMethods, ph_statistical_methods/archive/tests_old.py (percentages, 95%):
    #   wilson(100, 10000) == (0.8229336148148417, 1.2146982255114647)
    #   phe_proportion(100, 1000) == (10.0, 8.29094435930957, 12.01519631953484)
    assert intervals.wilson(100, 10_000) == pytest.approx((0.8229336148148417, 1.2146982255114647), rel=1e-12, abs=0)
    assert intervals.wilson(100, 1000) == pytest.approx((8.29094435930957, 12.01519631953484), rel=1e-12, abs=0)


@pytest.mark.parametrize("confidence", LEVELS)
@pytest.mark.parametrize("n", [1, 7, 10, 356, 512, 1000, 5000, 12_345])
@pytest.mark.parametrize("per", [1.0, 100.0, 100_000.0])
def test_wilson_no_events_has_lower_limit_exactly_zero(confidence: float, n: int, per: float) -> None:
    assert intervals.wilson(0, n, per, confidence)[0] == 0.0


# x = n: the true upper limit is exactly 1 (2n + z^2 + z sqrt(z^2) = 2(n + z^2)), so the upper limit
# must be exactly ``per``. The floating-point formula falls an ulp short for some n (99.99999999999997
# for 512 of 512 at 99.8%; found by scanning n = 1..20000), where a figure of 100% against a target of
# 100% would read as 'worse', not 'similar': those n are among the cases.
@pytest.mark.parametrize(("n", "confidence"), [
    (n, c) for c in LEVELS for n in (1, 2, 7, 10, 50, 356, 507, 512, 1000, 2000, 5000, 12_345)
])
@pytest.mark.parametrize("per", [1.0, 100.0, 100_000.0])
def test_wilson_all_events_has_upper_limit_exactly_per(n: int, confidence: float, per: float) -> None:
    assert intervals.wilson(n, n, per, confidence)[1] == per


def test_fifty_of_fifty_at_998_is_not_above_per() -> None:
    # unclamped, (2 * 50 + z^2 + z sqrt(z^2)) / (2 (50 + z^2)) * 100 is 100.00000000000003 at 99.8%
    z = float(Z998)
    assert (2 * 50 + z * z + z * math.sqrt(z * z)) / (2 * (50 + z * z)) * 100 > 100.0
    # at x = n the formula reduces to lower = n / (n + z^2), upper = 1:
    # 50 / (50 + 9.549535706083239943961717202969) = 0.83963710895721...
    lower, upper = intervals.wilson(50, 50, 100.0, 99.8)
    assert upper == 100.0
    assert lower == pytest.approx(100 * 50 / (50 + 9.549535706083239943961717202969), rel=1e-12, abs=0)
    assert lower == pytest.approx(83.963710895721, rel=1e-12, abs=0)


@pytest.mark.parametrize("n", [356, 507, 512, 5000])
def test_all_events_against_a_target_of_per_is_similar(n: int) -> None:
    lower, upper = intervals.wilson(n, n, 100.0, 99.8)
    assert intervals.significance(lower, upper, 100.0, 100.0, "higher") == "similar"


@pytest.mark.parametrize("confidence", LEVELS)
@pytest.mark.parametrize(("x", "n"), [(0, 1), (1, 1), (0, 50), (1, 50), (49, 50), (50, 50), (55, 356), (3, 10_000)])
def test_wilson_limits_are_ordered_around_the_figure(confidence: float, x: int, n: int) -> None:
    lower, upper = intervals.wilson(x, n, 100.0, confidence)
    assert 0.0 <= lower <= x / n * 100 <= upper <= 100.0
    assert lower < upper


def test_wilson_998_is_wider_than_95() -> None:
    lo95, up95 = intervals.wilson(55, 356, 100.0, 95.0)
    lo998, up998 = intervals.wilson(55, 356, 100.0, 99.8)
    assert lo998 < lo95 and up998 > up95


# ---- significance -----------------------------------------------------------------------------

@pytest.mark.parametrize("better", ["higher", "lower", "neither"])
def test_comparator_on_either_end_is_similar(better: str) -> None:
    lower, upper = intervals.wilson(55, 356, 100.0, 95.0)
    value = 55 / 356 * 100
    assert intervals.significance(lower, upper, value, lower, better) == "similar"
    assert intervals.significance(lower, upper, value, upper, better) == "similar"
    assert intervals.significance(lower, upper, value, value, better) == "similar"


@pytest.mark.parametrize(("better", "figure_above", "figure_below"), [
    ("higher", "better", "worse"),
    ("lower", "worse", "better"),
    ("neither", "higher", "lower"),
])
def test_polarity_just_outside_either_end(better: str, figure_above: str, figure_below: str) -> None:
    lower, upper = 12.0, 19.0
    value = 15.5
    # comparator a hair below the lower end: the figure is above it
    assert intervals.significance(lower, upper, value, math.nextafter(lower, -math.inf), better) == figure_above
    # comparator a hair above the upper end: the figure is below it
    assert intervals.significance(lower, upper, value, math.nextafter(upper, math.inf), better) == figure_below


@pytest.mark.parametrize(("value", "comparator", "better", "expected"), [
    # NI 32 at 95% is 12.07 to 19.57 around 15.45
    (15.449438202247191, 10.0, "higher", "better"),
    (15.449438202247191, 10.0, "lower", "worse"),
    (15.449438202247191, 10.0, "neither", "higher"),
    (15.449438202247191, 25.0, "higher", "worse"),
    (15.449438202247191, 25.0, "lower", "better"),
    (15.449438202247191, 25.0, "neither", "lower"),
    (15.449438202247191, 15.0, "higher", "similar"),
    (15.449438202247191, 15.0, "lower", "similar"),
])
def test_significance_table(value: float, comparator: float, better: str, expected: str) -> None:
    lower, upper = intervals.wilson(55, 356, 100.0, 95.0)
    assert intervals.significance(lower, upper, value, comparator, better) == expected


def test_a_comparator_inside_the_998_interval_but_outside_the_95() -> None:
    # 11.0 sits between the 99.8% lower limit (10.44) and the 95% one (12.07)
    value = 55 / 356 * 100
    assert intervals.significance(*intervals.wilson(55, 356, 100.0, 95.0), value, 11.0, "lower") == "worse"
    assert intervals.significance(*intervals.wilson(55, 356, 100.0, 99.8), value, 11.0, "lower") == "similar"
