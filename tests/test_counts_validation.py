"""The counts behind a rate or a proportion: each rule refuses with its line and its fix, a figure
given beside its counts must agree with them to the places it is written with, and an indicator
measured as a value keeps every row it took before."""

from __future__ import annotations

import pytest

from pipelines.catalogue import config, quarters
from pipelines.ingest import loading, validate

HEADER = "indicator,area,quarter,value,numerator,denominator\n"
Q1 = 2010 * 4
FIX = "(fix the figure or the counts, or leave value empty to have it computed)"


@pytest.fixture(scope="module")
def cat() -> config.Catalogue:
    """A proportion (NI 32, a percentage), a rate per 1,000 of counts in the row (NI 49), a rate per
    1,000 population (NI 16) and a figure as given (NI 1)."""
    def ind(ident: str, **extra: object) -> dict[str, object]:
        return {"id": ident, "name": ident, "better": "lower", "levels": ["county", "district"], **extra}

    return config.parse({"county": "Shire", "districts": ["Dale"], "indicators": [
        ind("NI 32", measure="proportion"),
        ind("NI 49", measure="rate", per=1000),
        ind("NI 16", measure="rate", per=1000, denominator="population"),
        ind("NI 1"),
    ]})


def checked(cat: config.Catalogue, rows: str, header: str = HEADER) -> validate.Checked:
    return loading.read_upload((header + rows).encode(), "q.csv", cat).checked


def problems(cat: config.Catalogue, rows: str, header: str = HEADER) -> list[str]:
    return [str(p) for p in checked(cat, rows, header).problems]


# --- A figure beside its counts ----------------------------------------------------------------------

def test_ni_32s_55_of_356_is_15_45_and_not_15_5(cat: config.Catalogue) -> None:
    ok = checked(cat, "NI 32,Shire,2010/11 Q1,15.45,55,356\n")
    assert ok.ok
    assert ok.rows == [("NI 32", "Shire", "2010/11 Q1", Q1, 15.45, None, None, 55.0, 356.0, None, None)]
    assert problems(cat, "NI 32,Shire,2010/11 Q1,15.45,55,356\n"
                         "NI 32,Dale,2010/11 Q1,15.5,55,356\n") == [
        "line 3, column value: 15.5 does not match numerator ÷ denominator × 100 = 55 ÷ 356 × 100 = 15.4494,"
        f" which rounds to 15.4 {FIX}"]


@pytest.mark.parametrize(("value", "agrees"), [
    ("15.4", True), ("15", True), ("15.449", True), ("15.4494", True),   # 15.4494382..., however rounded
    ("15.44", False), ("15.450", False), ("16", False), ("15.4495", False),
])
def test_the_tolerance_is_half_a_unit_in_the_last_place_written(cat: config.Catalogue, value: str,
                                                                 agrees: bool) -> None:
    assert checked(cat, f"NI 32,Shire,2010/11 Q1,{value},55,356\n").ok is agrees


def test_a_whole_number_is_within_half_a_unit_and_the_edge_agrees(cat: config.Catalogue) -> None:
    assert checked(cat, "NI 49,Shire,2010/11 Q1,18,1839,100000\n").ok  # 18.39, written to the unit
    # exactly half a unit away (9.55 from 9.6) agrees, though neither is exact in binary
    assert checked(cat, "NI 49,Shire,2010/11 Q1,9.6,955,100000\n").ok
    assert problems(cat, "NI 49,Shire,2010/11 Q1,1839,1839,100000\n") == [
        "line 2, column value: 1839 does not match numerator ÷ denominator × 1000 = 1839 ÷ 100000 × 1000 = 18.39,"
        f" which rounds to 18 {FIX}"]


def test_a_figure_left_empty_is_not_filled_in(cat: config.Catalogue) -> None:
    ok = checked(cat, "NI 32,Shire,2010/11 Q1,,55,356\nNI 49,Dale,2010/11 Q1,,12,5000\n")
    assert ok.ok
    assert [(r[0], r[4], r[7], r[8]) for r in ok.rows] == [("NI 32", None, 55.0, 356.0), ("NI 49", None, 12.0, 5000.0)]


# --- The counts themselves ---------------------------------------------------------------------------

def test_a_figure_from_counts_needs_both(cat: config.Catalogue) -> None:
    assert problems(cat, "NI 32,Shire,2010/11 Q1,,55,\nNI 49,Shire,2010/11 Q1,,,356\n") == [
        "line 2, column denominator: a figure from counts needs both numerator and denominator"
        " (fill in the denominator, or leave both empty)",
        "line 3, column numerator: a figure from counts needs both numerator and denominator"
        " (fill in the numerator, or leave both empty)"]


def test_negative_and_zero_counts_are_refused(cat: config.Catalogue) -> None:
    assert problems(cat, "NI 49,Shire,2010/11 Q1,,-3,1000\nNI 32,Shire,2010/11 Q1,,0,0\n"
                         "NI 32,Dale,2010/11 Q1,,1,-5\n") == [
        "line 2, column numerator: the numerator (-3) is negative (a count of events or people is 0 or more;"
        " check the figure)",
        "line 3, column denominator: the denominator (0) must be above 0 (check the figure, or leave both"
        " counts empty)",
        "line 4, column denominator: the denominator (-5) must be above 0 (check the figure, or leave both"
        " counts empty)"]


def test_a_proportion_cannot_exceed_its_denominator_but_a_rate_can(cat: config.Catalogue) -> None:
    assert problems(cat, "NI 32,Shire,2010/11 Q1,,357,356\nNI 32,Dale,2010/11 Q1,,356,356\n"
                         "NI 49,Shire,2010/11 Q1,,5000,1000\n") == [
        "line 2, column numerator: the numerator (357) is above the denominator (356), but NI 32 is a"
        " proportion, a part of its denominator (check the counts, or whether they are the wrong way round)"]


def test_a_rate_counts_whole_events_a_proportion_may_be_weighted(cat: config.Catalogue) -> None:
    assert problems(cat, "NI 49,Shire,2010/11 Q1,,12.5,1000\nNI 32,Shire,2010/11 Q1,35.2,123.2,350\n") == [
        "line 2, column numerator: NI 49 is a rate, so its numerator counts events and must be a whole number,"
        " not 12.5 (check the figure)"]
    assert checked(cat, "NI 32,Shire,2010/11 Q1,35.2,123.2,350\nNI 49,Shire,2010/11 Q1,,12.0,1000\n").ok


# --- Rates per population ----------------------------------------------------------------------------

def test_a_rate_per_population_takes_no_denominator_from_the_row(cat: config.Catalogue) -> None:
    assert problems(cat, "NI 16,Shire,2010/11 Q1,,6812,760200\n") == [
        "line 2, column denominator: NI 16 is a rate per population, so the row must not give a denominator"
        " (leave denominator empty: the populations table gives it, loaded with"
        " 'python -m pipelines load-populations FILE.csv')"]


def test_a_rate_per_population_needs_only_its_numerator(cat: config.Catalogue) -> None:
    ok = checked(cat, "NI 16,Shire,2010/11 Q1,,6812,\nNI 16,Dale,2010/11 Q1,9.1,,\n")
    assert ok.ok
    assert [(r[1], r[4], r[7], r[8]) for r in ok.rows] == [("Shire", None, 6812.0, None), ("Dale", 9.1, None, None)]
    assert problems(cat, "NI 16,Shire,2010/11 Q1,,68.5,\n") == [
        "line 2, column numerator: NI 16 is a rate, so its numerator counts events and must be a whole number,"
        " not 68.5 (check the figure)"]


def test_a_rate_per_population_takes_its_numerator_or_its_value_not_both(cat: config.Catalogue) -> None:
    # the population is not known when the file is checked, so 1.0 beside 150 could not be checked
    assert problems(cat, "NI 16,Dale,2010/11 Q1,1.0,150,\n") == [
        "line 2, column value: NI 16 is worked out from the numerator and the population, so the row must"
        " not give the value as well (leave value empty to have it computed, or leave numerator empty)"]


def test_a_proportion_of_a_population_is_refused_in_the_catalogue() -> None:
    with pytest.raises(config.ConfigError) as refused:
        config.parse({"county": "Shire", "indicators": [
            {"id": "P", "name": "P", "better": "higher", "measure": "proportion", "denominator": "population"}]})
    assert refused.value.problems == [
        "indicators[0] (P): denominator: a population is the denominator of a rate; for a share of the"
        " population write 'measure: rate' with 'per: 100'"]


# --- Figures as given ---------------------------------------------------------------------------------

def test_a_value_indicator_keeps_its_counts_unchecked(cat: config.Catalogue) -> None:
    """Files written before rates were computed load as they did: counts that disagree with the
    figure, one without the other, or more of them than the whole."""
    rows = ("NI 1,Shire,2010/11 Q1,74.1,5,10\nNI 1,Dale,2010/11 Q1,70,12.5,\n"
            "NI 1,Shire,2010/11 Q2,70,-1,0\nNI 1,Dale,2010/11 Q2,,20,10\n")
    ok = checked(cat, rows)
    assert ok.ok, [str(p) for p in ok.problems]
    assert [r[4:9] for r in ok.rows] == [(74.1, None, None, 5.0, 10.0), (70.0, None, None, 12.5, None),
                                         (70.0, None, None, -1.0, 0.0), (None, None, None, 20.0, 10.0)]


def test_every_counts_problem_is_counted_and_the_first_kept(cat: config.Catalogue) -> None:
    areas = ("Shire", "Dale")
    rows = "".join(f"NI 32,{areas[i % 2]},{quarters.label(1900 * 4 + i // 2)},,1,0\n" for i in range(1000))
    found = checked(cat, rows + "NI 32,Shire,2010/11 Q1,,1,2\n")
    assert (found.problem_count, len(found.problems)) == (1000, validate.KEPT_PROBLEMS)
    assert str(found.problems[0]) == ("line 2, column denominator: the denominator (0) must be above 0"
                                      " (check the figure, or leave both counts empty)")
    assert str(found.problems[-1]).startswith(f"line {validate.KEPT_PROBLEMS + 1}, column denominator")


@pytest.mark.parametrize(("text", "places"), [
    ("15.45", 2), ("9.6", 1), ("1839", 0), ("1,839", 0), ("1 839.5", 1), ("1.5e3", -2), (".5", 1), ("-0.25", 2),
])
def test_decimal_places(text: str, places: int) -> None:
    assert validate.decimal_places(text) == places
