"""Confidence intervals for figures made from counts, and significance against a comparator.

The methods are those of England's public-health statistics (OHID's Fingertips and the
PHEindicatormethods R package), each written once in SQL for the status query and once in plain
Python beside it, so a reader can follow the arithmetic and tests can compare the two:

- a proportion (x of n, times ``per``): the Wilson score interval, clamped to [0, per];
- a rate (x events over n, times ``per``): the exact Poisson interval below 10 events (from the
  chi-square distribution: lower = chi2((1 - c) / 2, 2x) / 2, upper = chi2(1 - (1 - c) / 2, 2x + 2) / 2,
  a table of constants below), Byar's approximation from 10 events on; the lower limit at 0
  events is 0;
- z is the exact normal quantile for the confidence level (not 1.96 or 3.09, which move limits
  enough to flip a comparison at the edge).

Significance (Fingertips' default): "similar" when lower <= comparator <= upper, both ends
included; otherwise "higher" or "lower" as the figure is above or below the comparator, which
the indicator's polarity makes "better" or "worse" (``better: neither`` keeps higher / lower).
"""

from __future__ import annotations

import math

# The normal quantile z for each confidence level the catalogue allows (config.CONFIDENCE_LEVELS)
Z: dict[float, float] = {95.0: 1.959963984540054, 99.8: 3.090232306167813}

# Byar's method from this many events on; the exact interval below it
BYAR_FROM = 10

# Exact Poisson limits for the number of events, before dividing by the denominator:
# (events, lower, upper) = (x, chi2.ppf(a / 2, 2x) / 2, chi2.ppf(1 - a / 2, 2x + 2) / 2), a = 1 - c.
# Computed with scipy.stats.chi2 (tests/test_intervals.py checks every one against it).
EXACT_POISSON: dict[float, tuple[tuple[int, float, float], ...]] = {
    95.0: (
        (0, 0.0, 3.6888794541139354),
        (1, 0.025317807984289897, 5.571643390938898),
        (2, 0.24220927854396507, 7.22468766772396),
        (3, 0.6186721228956015, 8.767273069742323),
        (4, 1.089865373626325, 10.241588675403694),
        (5, 1.623486390118421, 11.66833207932267),
        (6, 2.201894253490851, 13.059474022518685),
        (7, 2.814363051519867, 14.422675361702376),
        (8, 3.4538321767485023, 15.763189220193313),
        (9, 4.115373097378334, 17.084803451419166),
    ),
    99.8: (
        (0, 0.0, 6.907755278982137),
        (1, 0.0010005003335835346, 9.233413476451585),
        (2, 0.045402017769489565, 11.228872242412661),
        (3, 0.19053337756840327, 13.06224077918807),
        (4, 0.42855241362842295, 14.79414922253721),
        (5, 0.7393717319178327, 16.454745203680105),
        (6, 1.1071046602556396, 18.061636840199064),
        (7, 1.5203362603988093, 19.626177395384232),
        (8, 1.9708139217403662, 21.15619816583998),
        (9, 2.452424404363775, 22.65737330906293),
    ),
}

METHODS = ("supplied", "wilson", "byar", "exact")
SIGNIFICANCE = ("better", "similar", "worse", "higher", "lower")


# ---- the methods in Python: the reference the SQL is tested against -------------------------

def wilson(x: float, n: float, per: float = 100.0, confidence: float = 95.0) -> tuple[float, float]:
    """Wilson score interval for the proportion x / n, times ``per``."""
    z = Z[confidence]
    spread = z * math.sqrt(z * z + 4 * x * (1 - x / n))
    lower = (2 * x + z * z - spread) / (2 * (n + z * z)) * per
    upper = (2 * x + z * z + spread) / (2 * (n + z * z)) * per
    # At x = 0 and x = n the limits are exactly 0 and per; floating point lands either side of them
    return (0.0 if x == 0 else max(lower, 0.0)), (per if x == n else min(upper, per))


def byar(x: float, n: float, per: float, confidence: float = 95.0) -> tuple[float, float]:
    """Byar's approximation to the Poisson interval for x events over n, times ``per``."""
    z = Z[confidence]
    lower = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return lower / n * per, upper / n * per


def exact_poisson(x: int, n: float, per: float, confidence: float = 95.0) -> tuple[float, float]:
    """The exact Poisson interval for x < 10 events over n, times ``per``, from the table."""
    _, lower, upper = EXACT_POISSON[confidence][x]
    return lower / n * per, upper / n * per


def rate_interval(x: float, n: float, per: float, confidence: float = 95.0) -> tuple[float, float, str]:
    """The interval of a rate and the method that made it: exact below 10 events, Byar's from 10."""
    if x < BYAR_FROM:
        return (*exact_poisson(int(x), n, per, confidence), "exact")
    return (*byar(x, n, per, confidence), "byar")


def significance(lower: float, upper: float, value: float, comparator: float, better: str) -> str:
    """'similar' when the comparator is inside the interval (ends included); otherwise higher or
    lower, as the figure is, which polarity turns into better or worse."""
    if lower <= comparator <= upper:
        return "similar"
    side = "higher" if value > comparator else "lower"
    if better == "neither":
        return side
    return "better" if (side == "lower") == (better == "lower") else "worse"


# ---- the same methods as SQL, for the status query ------------------------------------------

def exact_table_sql() -> str:
    """A SELECT of (confidence, events, lower, upper) from EXACT_POISSON: constants of ours."""
    rows = ", ".join(f"({c!r}, {x}, {lo!r}, {hi!r})" for c, table in EXACT_POISSON.items()
                     for x, lo, hi in table)
    return f"SELECT * FROM (VALUES {rows}) AS t(confidence, events, lower_events, upper_events)"


def z_sql(confidence: str) -> str:
    """CASE giving z for the confidence level in column ``confidence``."""
    whens = " ".join(f"WHEN {confidence} = {c!r} THEN {z!r}" for c, z in Z.items())
    return f"CASE {whens} END"


# Wilson's limits, with x, n, per and z as SQL expressions (columns of the step that uses them)
# (exactly 0 at x = 0 and exactly per at x = n, as in ``wilson``)
WILSON_LOWER = ("CASE WHEN x = 0 THEN 0 ELSE"
                " greatest((2 * x + z * z - z * sqrt(z * z + 4 * x * (1 - x / n))) / (2 * (n + z * z)) * per, 0) END")
WILSON_UPPER = ("CASE WHEN x = n THEN per ELSE"
                " least((2 * x + z * z + z * sqrt(z * z + 4 * x * (1 - x / n))) / (2 * (n + z * z)) * per, per) END")
BYAR_LOWER = "x * pow(1 - 1 / (9 * x) - z / (3 * sqrt(x)), 3) / n * per"
BYAR_UPPER = "(x + 1) * pow(1 - 1 / (9 * (x + 1)) + z / (3 * sqrt(x + 1)), 3) / n * per"
