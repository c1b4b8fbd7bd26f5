"""Funnel plots' control limits around a benchmark, as OHID's Fingertips and PHEindicatormethods
draw them (``calculate_funnel_limits``): for each size of area, the figures between which an area
of that size is not significantly different from the benchmark, at 95% and at 99.8%.

- **Proportions**: the Wilson score interval turned round. For a denominator n the limits are the
  two proportions whose own Wilson interval has the benchmark on its edge: the roots of
  q²(1 + z²/n) − q(2c + z²/n) + c² − z⁴/(4n²) = 0, with c = P(1 + z²/n) − z²/(2n) (P the
  benchmark as a fraction), clamped to 0 and 100%.
- **Rates**: the exact Poisson interval turned round, point by point in the number of events x.
  With L(x) and U(x) the exact limits of x events (chi-square quantiles: χ²(α/2, 2x)/2 and
  χ²(1 − α/2, 2x + 2)/2), the lower limit is B·x / U(x) at the population U(x) / b, the upper
  B·x / L(x) at L(x) / b (B the benchmark rate, b = B / per the events a person has). PHEindicator-
  methods' own iteration on the Poisson distribution gives the same values.

An area outside the 95% funnel is, by construction, one whose own interval (Wilson, or exact Poisson)
excludes the benchmark. scipy (its chi-square quantiles) is imported when a rate's limits are asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipelines.rules import intervals
from pipelines.rules.intervals import Z

LEVELS = (95.0, 99.8)  # the two funnels drawn, as Fingertips draws them
POINTS = 100  # points along each limit line


@dataclass(frozen=True)
class Limits:
    """One funnel at one confidence level: each line as (denominator, figure) points."""

    confidence: float
    lower: list[tuple[float, float]]
    upper: list[tuple[float, float]]


def proportion_limits(benchmark: float, n: float, confidence: float, per: float = 100.0) -> tuple[float, float]:
    """The lower and upper control limits (in units of ``per``) for a denominator ``n`` around the
    benchmark proportion ``benchmark`` (in units of ``per``)."""
    z2 = Z[confidence] ** 2
    p = benchmark / per
    a = 1 + z2 / n
    c = p * a - z2 / (2 * n)
    b = 2 * c + z2 / n
    root = math.sqrt(max(b * b - 4 * a * (c * c - z2 * z2 / (4 * n * n)), 0.0))
    low, high = (b - root) / (2 * a), (b + root) / (2 * a)
    return max(low, 0.0) * per, min(high, 1.0) * per


def exact_events(events: int, confidence: float) -> tuple[float, float]:
    """The exact Poisson interval of ``events`` (as events): chi-square quantiles."""
    from scipy.stats import chi2  # imported here: only a rate's funnel needs it

    alpha = 1 - confidence / 100
    lower = 0.0 if events == 0 else float(chi2.ppf(alpha / 2, 2 * events)) / 2
    return lower, float(chi2.ppf(1 - alpha / 2, 2 * events + 2)) / 2


def rate_limit_points(benchmark: float, events: int, confidence: float, per: float) -> tuple[
        tuple[float, float], tuple[float, float] | None]:
    """The funnel's points for ``events`` events around the benchmark rate (per ``per``): the lower
    limit (population, rate) and the upper (None at 0 events, whose lower interval limit is 0)."""
    lower_events, upper_events = exact_events(events, confidence)
    per_person = benchmark / per
    low = (upper_events / per_person, benchmark * events / upper_events)
    high = (lower_events / per_person, benchmark * events / lower_events) if lower_events > 0 else None
    return low, high


def _grid(largest: float, smallest: float = 1.0) -> list[int]:
    """About POINTS whole numbers from ``smallest`` to ``largest``, spaced evenly on a log scale
    (the funnel bends most where areas are small)."""
    top = max(largest, smallest + 1)
    steps = [smallest * (top / smallest) ** (i / (POINTS - 1)) for i in range(POINTS)]
    return sorted({max(1, round(s)) for s in steps})


def funnel(measure: str, benchmark: float, per: float, largest: float) -> list[Limits]:
    """The 95% and 99.8% funnels around ``benchmark`` for denominators up to ``largest`` (a
    little past the biggest area). ``measure``: 'proportion' or 'rate'."""
    out = []
    for confidence in LEVELS:
        if measure == "proportion":
            sizes = _grid(largest)
            pairs = [proportion_limits(benchmark, n, confidence, per) for n in sizes]
            out.append(Limits(confidence, [(n, lo) for n, (lo, _) in zip(sizes, pairs, strict=True)],
                              [(n, hi) for n, (_, hi) in zip(sizes, pairs, strict=True)]))
            continue
        most_events = max(2.0, largest * benchmark / per * 1.3)  # past the largest area's expected events
        lower: list[tuple[float, float]] = []
        upper: list[tuple[float, float]] = []
        for x in _grid(most_events):
            low, high = rate_limit_points(benchmark, x, confidence, per)
            if low[0] <= largest:
                lower.append(low)
            if high is not None and high[0] <= largest:
                upper.append(high)
        out.append(Limits(confidence, lower, upper))
    return out


def compared(measure: str, numerator: float, denominator: float, per: float, benchmark: float, better: str,
             confidence: float) -> str:
    """The area against the benchmark at ``confidence``, by its own interval (Wilson for a
    proportion, exact Poisson or Byar's for a rate, as its status is): 'better', 'similar' or
    'worse' ('higher' or 'lower' where neither is better)."""
    if measure == "proportion":
        lower, upper = intervals.wilson(numerator, denominator, per, confidence)
    else:
        lower, upper, _ = intervals.rate_interval(numerator, denominator, per, confidence)
    return intervals.significance(lower, upper, numerator / denominator * per, benchmark, better)
