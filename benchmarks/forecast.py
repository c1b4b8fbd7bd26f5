"""Is the year-end forecast calibrated? A simulation with a known truth.

    .venv/bin/python benchmarks/forecast.py [--series 2000] [--seed 1] [--drift]

It simulates --series quarterly count series, 7 financial years each (6 earlier complete years and
the year forecast). Each series has a level (log-uniform, 20 to 500 a quarter), its own seasonal
profile (factors 0.85, 1.2, 1.05, 0.9 for Q1..Q4, a summer peak, each times lognormal noise of sd
0.05, then scaled to average 1), a level that changes from year to year (lognormal steps, sd 0.08)
and Poisson counts around level × seasonal factor. With ``--drift`` the yearly change is spread
over the quarters instead (a quarterly random walk of sd 0.04 on the log level), so each year has
a trend inside it, which the method does not model.

For each series, each year-end figure ('sum', 'mean', 'last') and each k in 1..3 the final year is
forecast (``pipelines.stats.forecast.forecast``) from its figures up to quarter k, the target being
the previous year's year-end figure × 0.97, lower better. Against the simulated year end it prints:

- coverage: the share of 90% prediction intervals holding the true year-end figure (near 90% if
  the interval is honest);
- Brier: the mean of (probability − met)², met being 1 when the true year end meets the target;
- base Brier: the same for a constant guess, the met rate over all the simulated series for that
  year-end figure (it does not depend on k);
- skill: 1 − Brier / base Brier (above 0: better than the constant guess).

It must run in under a minute.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.stats.forecast import LEVEL, YEAR_ENDS, YearEnd, forecast, year_end_figure  # noqa: E402

YEARS = 7  # 6 earlier complete years and the one forecast
FIRST = 2010  # the first simulated financial year's start
SEASON = np.array([0.85, 1.2, 1.05, 0.9])


def simulate(rng: np.random.Generator, drift: bool) -> np.ndarray:
    """One series' counts, YEARS × 4."""
    level = np.exp(rng.uniform(np.log(20), np.log(500)))
    season = SEASON * np.exp(rng.normal(0, 0.05, 4))
    season /= season.mean()
    if drift:  # the yearly change happens gradually, quarter by quarter
        log_level = np.log(level) + np.cumsum(rng.normal(0, 0.04, YEARS * 4))
        means = np.exp(log_level).reshape(YEARS, 4) * season
    else:  # a step at each year's start
        log_level = np.log(level) + np.cumsum(np.concatenate([[0.0], rng.normal(0, 0.08, YEARS - 1)]))
        means = np.exp(log_level)[:, None] * season[None, :]
    return rng.poisson(means).astype(float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drift", action="store_true", help="a trend inside each year instead of yearly steps")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()

    # rows[(year_end, k)]: (covered, probability, met) per series with a forecast
    rows: dict[tuple[str, int], list[tuple[bool, float, bool]]] = {(ye, k): [] for ye in YEAR_ENDS for k in (1, 2, 3)}
    missing: dict[tuple[str, int], int] = {key: 0 for key in rows}
    met_all: dict[str, list[bool]] = {ye: [] for ye in YEAR_ENDS}
    last_year = FIRST + YEARS - 1
    for _ in range(args.series):
        counts = simulate(rng, args.drift)
        series = {(FIRST + y) * 4 + j: float(counts[y, j]) for y in range(YEARS) for j in range(4)}
        for year_end in YEAR_ENDS:
            ye: YearEnd = year_end
            truth = year_end_figure(list(counts[-1]), ye)
            target = year_end_figure(list(counts[-2]), ye) * 0.97
            met = truth <= target
            met_all[ye].append(met)
            for k in (1, 2, 3):
                f = forecast(series, last_year * 4 + k - 1, ye, target, "lower")
                if f.forecast is None or f.lower is None or f.upper is None or f.probability is None:
                    missing[(ye, k)] += 1
                    continue
                rows[(ye, k)].append((f.lower <= truth <= f.upper, f.probability, met))
    elapsed = time.perf_counter() - start

    print(f"{args.series} series, seed {args.seed}, {'drift inside the year' if args.drift else 'yearly steps'}; "
          f"{LEVEL:.0%} intervals, target = previous year end x 0.97 (lower better)")
    print(f"{'year_end':<9}{'k':>3}{'n':>7}{'none':>6}{'coverage':>10}{'met rate':>10}{'Brier':>9}"
          f"{'base Brier':>12}{'skill':>8}")
    for (name, k), results in rows.items():
        covered = np.array([r[0] for r in results])
        p = np.array([r[1] for r in results])
        outcome = np.array([r[2] for r in results], dtype=float)
        base_rate = float(np.mean(met_all[name]))
        brier = float(np.mean((p - outcome) ** 2))
        base = float(np.mean((base_rate - outcome) ** 2))
        skill = 1 - brier / base if base > 0 else float("nan")
        print(f"{name:<9}{k:>3}{len(results):>7}{missing[(name, k)]:>6}{covered.mean():>10.1%}{base_rate:>10.1%}"
              f"{brier:>9.4f}{base:>12.4f}{skill:>8.3f}")
    print(f"total time {elapsed:.1f} s")


if __name__ == "__main__":
    main()
