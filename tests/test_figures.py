"""Figures from counts, the county added up from its districts, windows, intervals and significance,
through the real ingest path and the real status query on a DuckDB database."""

from __future__ import annotations

import math
from typing import Any

import pytest
from scipy.stats import chi2, gamma

from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.present import explain, words
from pipelines.rules import status
from pipelines.storage import store

Q1 = 2010 * 4  # 2010/11 Q1
Z95 = 1.959963984540054

CATALOGUE: dict[str, Any] = {"county": "Shire", "districts": ["Ash", "Birch", "Cedar"], "indicators": [
    {"id": "R", "name": "A rate", "unit": "per 1,000 population", "better": "lower", "measure": "rate",
     "per": 1000, "levels": ["county", "district"], "targets": {"2010/11": 5.0}},
    {"id": "P", "name": "A proportion", "unit": "%", "better": "higher", "measure": "proportion",
     "targets": {"2010/11": 27}},
    {"id": "G", "name": "Grey when similar", "unit": "%", "better": "higher", "measure": "proportion",
     "grey_when_not_significant": True, "targets": {"2010/11": 50}},
    {"id": "W", "name": "Rolling 12 months", "better": "lower", "measure": "rate", "per": 1000, "window": 4,
     "levels": ["county", "district"], "targets": {"2010/11": 5.0}},
    {"id": "N", "name": "Monitored", "unit": "%", "better": "neither", "measure": "proportion",
     "targets": {"2010/11": 50}},
    {"id": "V", "name": "Averaged", "better": "lower", "window": 2, "targets": {"2010/11": 5.0}},
    {"id": "F", "name": "Every case", "unit": "%", "better": "higher", "measure": "proportion",
     "confidence": 99.8, "targets": {"2010/11": 100}},
    {"id": "E", "name": "Rare events", "better": "lower", "measure": "rate", "per": 100000, "confidence": 99.8,
     "levels": ["district"], "targets": {"2010/11": 10.0}},
]}
ROWS = """indicator,area,quarter,value,lower,upper,numerator,denominator
R,Ash,2010/11 Q1,,,,50,10000
R,Birch,2010/11 Q1,,,,9,2000
R,Cedar,2010/11 Q1,,,,0,3000
R,Ash,2010/11 Q2,,,,50,10000
R,Birch,2010/11 Q2,,,,9,2000
P,Shire,2010/11 Q1,15.45,,,55,356
G,Shire,2010/11 Q1,,,,45,100
N,Shire,2010/11 Q1,,,,40,100
W,Ash,2009/10 Q1,,,,10,1000
W,Ash,2009/10 Q2,,,,12,1000
W,Ash,2009/10 Q3,,,,14,1000
W,Ash,2009/10 Q4,,,,16,1000
W,Ash,2010/11 Q1,,,,18,1000
W,Birch,2009/10 Q2,,,,10,1000
W,Birch,2009/10 Q4,,,,10,1000
W,Birch,2010/11 Q1,,,,10,1000
V,Shire,2009/10 Q3,3,,,,
V,Shire,2009/10 Q4,4,,,,
V,Shire,2010/11 Q1,6,,,,
F,Shire,2010/11 Q1,,,,512,512
E,Ash,2010/11 Q1,,,,0,50000
E,Birch,2010/11 Q1,,,,9,50000
E,Cedar,2010/11 Q1,,,,10,50000
"""


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str, int], dict[str, Any]]:
    cat = config.parse(CATALOGUE)
    with store.connect(":memory:") as con:
        upload = loading.read_upload(ROWS.encode(), "counts.csv", cat)
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)
        found = words.status_rows(con, cat, [Q1, Q1 + 1])
    return {(r["indicator"], r["area"], r["qi"]): r for r in found}


def test_a_proportion_from_its_counts_has_the_wilson_interval_worked_by_hand(rows) -> None:
    r = rows[("P", "Shire", Q1)]
    assert r["value"] == 15.45  # the figure as given wins; validation checked 55 / 356 agrees
    # Wilson, 55 of 356 at 95%: (2x + z² ∓ z√(z² + 4x(1 − x/n))) / (2(n + z²)) × 100
    z2 = Z95 ** 2
    root = Z95 * math.sqrt(z2 + 4 * 55 * (1 - 55 / 356))
    assert r["ci_lower"] == pytest.approx((110 + z2 - root) / (2 * (356 + z2)) * 100, rel=1e-12)
    assert r["ci_upper"] == pytest.approx((110 + z2 + root) / (2 * (356 + z2)) * 100, rel=1e-12)
    assert (round(r["ci_lower"], 2), round(r["ci_upper"], 2)) == (12.07, 19.57)
    assert (r["ci_method"], r["significance"], r["status"]) == ("wilson", "worse", "RED")
    assert explain.why(r).startswith("15.45% (95% CI 12.07 to 19.57, 55 of 356): significantly worse than"
                                     " the target of 27, higher is better")


def test_a_rate_is_computed_from_counts_with_exact_limits_below_ten_events_and_byars_from_ten(rows) -> None:
    ash, birch, cedar = (rows[("R", area, Q1)] for area in ("Ash", "Birch", "Cedar"))
    assert (ash["value"], birch["value"], cedar["value"]) == (5.0, 4.5, 0.0)
    # 9 events: exact, from the chi-square distribution (scipy here, constants in the engine)
    assert birch["ci_method"] == "exact"
    assert birch["ci_lower"] == pytest.approx(chi2.ppf(0.025, 18) / 2 / 2000 * 1000, rel=1e-12)
    assert birch["ci_upper"] == pytest.approx(chi2.ppf(0.975, 20) / 2 / 2000 * 1000, rel=1e-12)
    # 0 events: the lower limit is 0 (chi2.ppf(q, 0) is NaN), the upper -ln(0.025)
    assert cedar["ci_method"] == "exact" and cedar["ci_lower"] == 0.0
    assert cedar["ci_upper"] == pytest.approx(-math.log(0.025) / 3000 * 1000, rel=1e-12)
    # 50 events: Byar's
    lower = 50 * (1 - 1 / 450 - Z95 / (3 * math.sqrt(50))) ** 3 / 10000 * 1000
    upper = 51 * (1 - 1 / 459 + Z95 / (3 * math.sqrt(51))) ** 3 / 10000 * 1000
    assert ash["ci_method"] == "byar"
    assert (ash["ci_lower"], ash["ci_upper"]) == (pytest.approx(lower, rel=1e-12), pytest.approx(upper, rel=1e-12))
    # 0 of 3,000 against 5 per 1,000: the whole interval is below the target, lower is better
    assert cedar["significance"] == "better" and ash["significance"] == "similar"


def test_ten_events_is_byars_and_nine_exact_at_99_8_per_cent(rows) -> None:
    none, nine, ten = (rows[("E", area, Q1)] for area in ("Ash", "Birch", "Cedar"))
    assert (none["ci_method"], nine["ci_method"], ten["ci_method"]) == ("exact", "exact", "byar")
    assert none["ci_upper"] == pytest.approx(-math.log(0.001) / 50000 * 100000, rel=1e-12)
    assert nine["ci_lower"] == pytest.approx(chi2.ppf(0.001, 18) / 2 / 50000 * 100000, rel=1e-12)
    z = 3.090232306167813
    assert ten["ci_upper"] == pytest.approx(11 * (1 - 1 / 99 + z / (3 * math.sqrt(11))) ** 3 / 50000 * 100000,
                                            rel=1e-12)


def test_every_case_counted_gives_an_upper_limit_of_exactly_100_per_cent(rows) -> None:
    r = rows[("F", "Shire", Q1)]  # 512 of 512 at 99.8%: the formula alone lands an ulp below 100
    assert (r["value"], r["ci_upper"], r["significance"], r["status"]) == (100.0, 100.0, "similar", "GREEN")


def test_the_county_is_added_up_from_every_district(rows) -> None:
    county = rows[("R", "Shire", Q1)]
    assert (county["numerator"], county["denominator"], county["aggregated_from"]) == (59, 15000, 3)
    assert county["value"] == pytest.approx(59 / 15000 * 1000)
    assert county["ci_method"] == "byar" and county["status"] == "GREEN"
    assert "added up from 3 districts" in explain.why(county)


def test_a_district_without_counts_leaves_the_county_without_a_figure_and_is_named(rows) -> None:
    county = rows[("R", "Shire", Q1 + 1)]  # Cedar has no row in 2010/11 Q2
    assert (county["status"], county["reason_code"], county["value"]) == ("NA", "incomplete_aggregate", None)
    assert county["missing"] == "Cedar"
    assert county["reason"] == "no figure: the districts cannot be added up without counts from Cedar"
    assert county["previous_value"] == pytest.approx(59 / 15000 * 1000)  # the quarter before was complete


def test_a_window_sums_its_quarters_counts(rows) -> None:
    ash = rows[("W", "Ash", Q1)]
    assert (ash["numerator"], ash["denominator"]) == (12 + 14 + 16 + 18, 4000)
    assert ash["value"] == pytest.approx(60 / 4000 * 1000)
    assert ash["previous_value"] == pytest.approx((10 + 12 + 14 + 16) / 4000 * 1000)


def test_a_window_with_a_gap_has_no_figure_and_names_the_missing_quarter(rows) -> None:
    birch = rows[("W", "Birch", Q1)]
    assert (birch["status"], birch["reason_code"], birch["missing"]) == ("NA", "incomplete_window", "2009/10 Q3")
    assert birch["reason"] == "no figure: the window lacks 2009/10 Q3"


def test_a_window_of_values_averages_them(rows) -> None:
    r = rows[("V", "Shire", Q1)]
    assert r["value"] == 5.0 and r["previous_value"] == 3.5
    assert r["ci_method"] is None and r["significance"] is None


def test_similar_to_target_from_a_computed_interval_is_grey(rows) -> None:
    r = rows[("G", "Shire", Q1)]  # 45 of 100: Wilson 35.6 to 54.8 holds the target of 50
    assert (r["significance"], r["status"], r["reason_code"]) == ("similar", "GREY", "not_significant")


def test_an_indicator_where_neither_is_better_is_monitored_not_rated(rows) -> None:
    r = rows[("N", "Shire", Q1)]  # 40 of 100 against 50: Wilson 30.9 to 49.8 lies below it
    assert (r["status"], r["reason_code"], r["significance"]) == ("NA", "not_rated", "lower")
    assert r["reason"] == "not rated: monitored, neither higher nor lower is better"


def test_exact_limits_agree_with_the_gamma_route_to_the_poisson_interval() -> None:
    # The same limits another way: the Poisson's link to the gamma distribution
    from pipelines.rules import intervals
    for x in range(1, 10):
        lower, upper = intervals.exact_poisson(x, 1, 1)
        assert lower == pytest.approx(gamma.ppf(0.025, x), rel=1e-10)
        assert upper == pytest.approx(gamma.ppf(0.975, x + 1), rel=1e-10)


def test_status_csv_carries_the_new_columns(rows) -> None:
    cat = config.parse(CATALOGUE)
    with store.connect(":memory:") as con:
        loading.load(con, loading.read_upload(ROWS.encode(), "counts.csv", cat))
        text = words.status_csv(con, cat, [Q1], ["Shire"], ["R"])
    header, line = text.splitlines()
    assert header.endswith("numerator,denominator,ci_lower,ci_upper,ci_method,significance,aggregated_from,"
                           "variation,assurance,parent,parent_value,vs_parent,benchmark,benchmark_value,vs_benchmark,"
                           "amber_band,band_from")
    cells = dict(zip(header.split(","), line.split(","), strict=True))
    assert (cells["numerator"], cells["denominator"], cells["ci_method"], cells["significance"],
            cells["aggregated_from"]) == ("59.0", "15000.0", "byar", "similar", "3")
    lower = 59 * (1 - 1 / 531 - Z95 / (3 * math.sqrt(59))) ** 3 / 15000 * 1000
    assert float(cells["ci_lower"]) == pytest.approx(lower, rel=1e-9)


def test_where_neither_is_better_there_is_no_shortfall_band_or_percentage(rows) -> None:
    r = rows[("N", "Shire", Q1)]
    assert (r["shortfall"], r["percent_off"], r["band_width"], r["band_edge"]) == (None, None, None, None)
    assert (r["target"], r["significance"]) == (50, "lower")


def test_an_incomplete_window_was_added_up_from_nothing(rows) -> None:
    county = rows[("W", "Shire", Q1)]  # Cedar has no counts in any quarter
    assert (county["reason_code"], county["aggregated_from"], county["value"]) == ("incomplete_aggregate", None, None)


POPULATION_CATALOGUE: dict[str, Any] = {"county": "Shire", "districts": ["Ash", "Birch"], "indicators": [
    {"id": "C", "name": "Crimes per 1,000", "better": "lower", "measure": "rate", "per": 1000,
     "denominator": "population", "levels": ["county", "district"], "targets": {"2010/11": 5.0}}]}


def population_rows(figures: str, populations: str) -> dict[tuple[str, int], dict[str, Any]]:
    from pipelines.ingest import populations as pops
    cat = config.parse(POPULATION_CATALOGUE)
    with store.connect(":memory:") as con:
        pops.load(con, pops.read_upload(("area,year,population\n" + populations).encode(), "p.csv", cat))
        upload = loading.read_upload(("indicator,area,quarter,value,numerator\n" + figures).encode(), "c.csv", cat)
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)
        return {(r["area"], r["qi"]): r for r in words.status_rows(con, cat, [Q1])}


def test_a_rate_per_population_divides_by_the_years_population() -> None:
    found = population_rows("C,Ash,2010/11 Q1,,60,\nC,Birch,2010/11 Q1,,30,\n",
                            "Ash,2010/11,10000\nBirch,2010/11,20000\n")
    assert found[("Ash", Q1)]["value"] == pytest.approx(6.0) and found[("Ash", Q1)]["denominator"] == 10000
    county = found[("Shire", Q1)]  # added up: 90 crimes in 30,000 people
    assert (county["numerator"], county["denominator"], county["aggregated_from"]) == (90, 30000, 2)
    assert county["value"] == pytest.approx(3.0)


def test_the_countys_own_count_is_divided_by_its_districts_population_when_its_own_is_not_loaded() -> None:
    found = population_rows("C,Shire,2010/11 Q1,,999,\nC,Ash,2010/11 Q1,,50,\nC,Birch,2010/11 Q1,,40,\n",
                            "Ash,2010/11,10000\nBirch,2010/11,20000\n")
    county = found[("Shire", Q1)]  # its own 999, not the districts' 90
    assert (county["numerator"], county["denominator"], county["aggregated_from"]) == (999, 30000, None)
    assert county["value"] == pytest.approx(999 / 30000 * 1000)


def test_a_district_without_a_population_has_no_figure_and_says_why() -> None:
    found = population_rows("C,Ash,2010/11 Q1,,60,\nC,Birch,2010/11 Q1,,30,\n", "Ash,2010/11,10000\n")
    birch = found[("Birch", Q1)]
    assert (birch["status"], birch["reason_code"]) == ("NA", "no_population")
    assert birch["reason"] == "no population for Birch in 2010/11: load it with load-populations"
    assert found[("Shire", Q1)]["reason_code"] == "incomplete_aggregate"


GRID = [(x, n) for x in (0, 1, 5, 9, 10, 11, 50, 356) for n in (356, 1000, 250_000)]


@pytest.mark.parametrize("confidence", [95, 99.8])
def test_the_status_querys_intervals_are_the_reference_functions(confidence: float) -> None:
    """The SQL the status query runs against intervals.py's Python over a grid of counts, both levels
    (the Python functions themselves are checked against independent numbers in test_intervals.py)."""
    from pipelines.rules import intervals
    cat = config.parse({"county": "Shire", "districts": [f"D{i}" for i in range(len(GRID))], "indicators": [
        {"id": "R", "name": "R", "better": "lower", "measure": "rate", "per": 100000, "confidence": confidence,
         "levels": ["district"], "targets": {"2010/11": 1.0}},
        {"id": "P", "name": "P", "better": "higher", "measure": "proportion", "confidence": confidence,
         "levels": ["district"], "targets": {"2010/11": 1.0}}]})
    lines = ["indicator,area,quarter,value,numerator,denominator"]
    for i, (x, n) in enumerate(GRID):
        lines += [f"R,D{i},2010/11 Q1,,{x},{n}", f"P,D{i},2010/11 Q1,,{x},{n}"]
    with store.connect(":memory:") as con:
        loading.load(con, loading.read_upload("\n".join(lines).encode(), "grid.csv", cat))
        found = {(r["indicator"], r["area"]): r for r in status.query(con, cat, [Q1])}
    for i, (x, n) in enumerate(GRID):
        rate, share = found[("R", f"D{i}")], found[("P", f"D{i}")]
        lower, upper, method = intervals.rate_interval(x, n, 100000, float(confidence))
        assert (rate["ci_method"], rate["ci_lower"], rate["ci_upper"]) == (
            method, pytest.approx(lower, rel=1e-12, abs=1e-12), pytest.approx(upper, rel=1e-12))
        assert rate["significance"] == intervals.significance(lower, upper, rate["value"], 1.0, "lower")
        lower, upper = intervals.wilson(x, n, 100, float(confidence))
        assert (share["ci_method"], share["ci_lower"], share["ci_upper"]) == (
            "wilson", pytest.approx(lower, rel=1e-12, abs=1e-12), pytest.approx(upper, rel=1e-12))
        assert share["significance"] == intervals.significance(lower, upper, share["value"], 1.0, "higher")
