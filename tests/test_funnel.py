"""Funnel plots' control limits, against the values DHSC's PHStatsMethods publishes in its own tests
(tests/test_data/testdata_funnel_prop_outputs.csv and testdata_funnel_rate_outputs.csv): a
benchmark of 80.642448% for proportions, and of 116.1720835 per 100,000 for rates."""

from __future__ import annotations

import pytest

from pipelines.stats import funnel

P = 80.642448
# population: (lower 95%, upper 95%, lower 99.8%, upper 99.8%), as published
PROPORTIONS = {
    3: (35.933491, 100, 10.150815, 100),
    41: (68.548635, 92.73626, 61.574398, 99.710497),
    1008: (78.203374, 83.081521, 76.796814, 84.488082),
    110000: (80.408963, 80.875933, 80.274317, 81.010578),
}


@pytest.mark.parametrize(("n", "published"), PROPORTIONS.items())
def test_proportion_limits_match_the_published_values(n: int, published: tuple[float, ...]) -> None:
    got = (*funnel.proportion_limits(P, n, 95.0), *funnel.proportion_limits(P, n, 99.8))
    assert got == pytest.approx(published, abs=1e-5)


R = 116.1720835  # per 100,000
# events: (lower 95%, upper 95%, lower 99.8%, upper 99.8%), as published
RATES = {
    1: (20.85059119, 4588.535848, 12.58170943, 116108.569),
    10: (63.17010446, 242.2579623, 48.13632908, 392.4043292),
    1360: (110.158048, 122.6021934, 106.9073359, 126.5084525),
}


@pytest.mark.parametrize(("events", "published"), RATES.items())
def test_rate_limits_match_the_published_values(events: int, published: tuple[float, ...]) -> None:
    (_, low95), high95 = funnel.rate_limit_points(R, events, 95.0, 100_000)
    (_, low998), high998 = funnel.rate_limit_points(R, events, 99.8, 100_000)
    assert high95 is not None and high998 is not None
    # PHStatsMethods finds each Poisson limit by bisection to 1e-7 on a transformed scale, not from
    # the chi-square quantile: at 1 event its upper limits differ from the exact ones in the 5th digit
    tolerance = 1e-4 if events == 1 else 1e-6
    assert (low95, high95[1], low998, high998[1]) == pytest.approx(published, rel=tolerance)


def test_a_rate_limit_sits_at_the_population_where_the_benchmark_touches_the_interval() -> None:
    # 10 events: the published population for the lower 95% limit is 5,276.757672 a year over 3 years
    (population, rate), _ = funnel.rate_limit_points(R, 10, 95.0, 100_000)
    assert population == pytest.approx(3 * 5276.757672, rel=1e-6)
    assert rate == pytest.approx(10 / population * 100_000)


def test_a_funnel_has_both_levels_and_narrows_as_areas_grow() -> None:
    for measure, benchmark, per in (("proportion", P, 100.0), ("rate", 9.6, 1000.0)):
        f95, f998 = funnel.funnel(measure, benchmark, per, largest=200_000)
        assert (f95.confidence, f998.confidence) == (95.0, 99.8)
        widths = [hi - lo for (_, lo), (_, hi) in zip(f95.lower[-5:], f95.upper[-5:], strict=False)]
        assert all(w > 0 for w in widths)
        assert f95.lower[-1][1] < benchmark < f95.upper[-1][1]
        assert f998.lower[-1][1] < f95.lower[-1][1]  # the 99.8% funnel is the wider
