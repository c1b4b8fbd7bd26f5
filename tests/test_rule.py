"""The status rule at every edge, and against an independent reference."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.present import explain, words
from pipelines.rules import codes, status
from pipelines.rules.codes import Reason
from pipelines.storage import store

Q1 = 2010 * 4


def catalogue_for(better: str = "lower", tolerance: Any = "5%", targets: Any = None,
                  grey: bool = False) -> config.Catalogue:
    ind: dict[str, Any] = {"id": "X", "name": "Test indicator", "unit": "per 1,000", "better": better,
                           "amber_tolerance": tolerance, "grey_when_not_significant": grey,
                           "levels": ["county", "district"],
                           "targets": {"2010/11": 10.0} if targets is None else targets}
    return config.parse({"county": "Shire", "districts": ["Dale"], "indicators": [ind]})


def rate(value: str, cat: config.Catalogue, extra: str = ",,", where: str = ":memory:") -> dict[str, Any]:
    """Load one county row through the real ingest path and return its status row (in a new
    database in memory, or in the store ``where``, where it replaces the row before)."""
    with store.connect(where) as con:
        text = f"indicator,area,quarter,value,lower,upper\nX,Shire,2010/11 Q1,{value}{extra}\n"
        upload = loading.read_upload(text.encode(), "case.csv", cat)
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)
        rows = status.query(con, cat, [Q1], areas=["Shire"])
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize(
    ("better", "value", "expected"),
    [
        # lower is better, target 10, band 5% = 0.5
        ("lower", "9.99", "GREEN"), ("lower", "10", "GREEN"), ("lower", "10.01", "AMBER"),
        ("lower", "10.5", "AMBER"), ("lower", "10.51", "RED"),
        # higher is better, target 10
        ("higher", "10.01", "GREEN"), ("higher", "10", "GREEN"), ("higher", "9.99", "AMBER"),
        ("higher", "9.5", "AMBER"), ("higher", "9.49", "RED"),
    ],
)
def test_relative_band_edges_both_polarities(better: str, value: str, expected: str) -> None:
    assert rate(value, catalogue_for(better))["status"] == expected


def test_exactly_at_the_band_has_no_floating_point_artefact() -> None:
    cat = catalogue_for("higher", "10%", {"2010/11": 42.7})
    row = rate("38.43", cat)
    assert (row["status"], row["shortfall"], row["band_width"]) == ("AMBER", 4.27, 4.27)
    assert rate("38.42", cat)["status"] == "RED"


@pytest.mark.parametrize(("value", "expected"), [("12", "GREEN"), ("12.5", "AMBER"), ("13.5", "AMBER"),
                                                 ("13.51", "RED")])
def test_absolute_band(value: str, expected: str) -> None:
    cat = catalogue_for("lower", 1.5, {"2010/11": 12})
    assert rate(value, cat)["status"] == expected


def test_target_zero_has_no_percentage_and_a_relative_band_of_zero() -> None:
    row = rate("0.01", catalogue_for("lower", "5%", {"2010/11": 0}))
    assert (row["status"], row["percent_off"], row["shortfall"]) == ("RED", None, 0.01)
    assert rate("0", catalogue_for("lower", "5%", {"2010/11": 0}))["status"] == "GREEN"
    assert rate("0.5", catalogue_for("lower", 1, {"2010/11": 0}))["status"] == "AMBER"


def test_percent_off_and_shortfall() -> None:
    row = rate("7.19", catalogue_for("lower", "5%", {"2010/11": 7.07}))
    assert row["shortfall"] == 0.12
    assert round(row["percent_off"], 2) == 1.70
    assert explain.why(row) == ("7.19 against a target of 7.07, lower is better: 0.12 worse,"
                                " 1.7% of the target, within the 5% band → AMBER")


def test_missing_target_is_na_with_its_reason() -> None:
    row = rate("5", catalogue_for("lower", "5%", {"2009/10": 10}))
    assert (row["status"], row["reason_code"], row["target"]) == ("NA", "no_target", None)
    assert words.row_reason(row) == "no target for 2010/11"


def test_empty_value_is_na_not_available() -> None:
    row = rate("", catalogue_for())
    assert (row["status"], row["reason_code"], row["value"]) == ("NA", "not_available", None)
    assert words.row_reason(row) == "not available"


def test_grey_when_interval_contains_target() -> None:
    cat = catalogue_for("lower", "5%", {"2010/11": 10}, grey=True)
    assert rate("12", cat, ",9.5,14")["status"] == "GREY"
    assert rate("12", cat, ",10,14")["status"] == "GREY"  # the target on the interval's edge
    assert rate("12", cat, ",10.01,14")["status"] == "RED"  # significant
    assert rate("12", cat, ",,")["status"] == "RED"  # no interval given
    # without the flag an interval changes nothing
    assert rate("12", catalogue_for("lower", "5%", {"2010/11": 10}), ",9.5,14")["status"] == "RED"


def test_every_indicator_and_area_in_scope_appears(catalogue: config.Catalogue, sample_db) -> None:
    with store.connect(sample_db, read_only=True) as con:
        rows = status.query(con, catalogue, [Q1 + 1])  # a quarter with no figures at all
    assert len(rows) == 11 + 2 * 8
    assert {r["status"] for r in rows} == {"NA"}
    assert {r["reason_code"] for r in rows} == {Reason.NO_DATA}
    assert {words.row_reason(r) for r in rows} == {"no data"}


def test_sample_recomputes_the_printed_report(catalogue: config.Catalogue, sample_db) -> None:
    with store.connect(sample_db, read_only=True) as con:
        rows = status.query(con, catalogue, [Q1], areas=["Derbyshire"])
    got = {r["indicator"]: r["status"] for r in rows}
    assert got == {"NI 1": "AMBER", "NI 16": "GREEN", "NI 18": "GREY", "NI 20": "AMBER", "NI 27": "RED",
                   "NI 32": "RED", "NI 39": "AMBER", "NI 47": "AMBER", "NI 49": "RED", "LI 1": "GREEN",
                   "LI 2": "GREEN"}
    mismatched = {r["indicator"]: (r["reported_status"], r["status"]) for r in rows if r["mismatch"]}
    assert mismatched == {"NI 18": ("AMBER", "GREY"), "NI 32": ("GREEN", "RED"), "NI 39": ("RED", "AMBER")}


def test_directions_by_polarity(catalogue: config.Catalogue, sample_db) -> None:
    with store.connect(sample_db, read_only=True) as con:
        rows = {(r["indicator"], r["area"]): r for r in status.query(con, catalogue, [Q1])}
    # lower is better: NI 16 fell 10.2 -> 9.6; NI 39 rose 1770 -> 1839
    assert rows[("NI 16", "Derbyshire")]["direction"] == "improving"
    assert rows[("NI 39", "Derbyshire")]["direction"] == "worsening"
    # higher is better: LI 2 rose 1880 -> 2031; NI 27 unchanged at 20
    assert rows[("LI 2", "Derbyshire")]["direction"] == "improving"
    assert rows[("NI 27", "Derbyshire")]["direction"] == "no change"
    # against the same quarter a year earlier: NI 47 449 vs 472 (improving), NI 20 7.19 vs 7.15
    assert rows[("NI 47", "Derbyshire")]["direction_year"] == "improving"
    assert rows[("NI 20", "Derbyshire")]["direction_year"] == "worsening"
    assert rows[("NI 20", "High Peak")]["status"] == "RED"


def test_direction_joins_on_the_quarter_not_the_row_before(catalogue: config.Catalogue) -> None:
    cat = catalogue_for("lower")
    with store.connect(":memory:") as con:
        text = "indicator,area,quarter,value\nX,Shire,2009/10 Q2,8\nX,Shire,2010/11 Q1,9\n"
        loading.load(con, loading.read_upload(text.encode(), "gap.csv", cat))
        (row,) = status.query(con, cat, [Q1], areas=["Shire"])
    # 2009/10 Q4 and 2009/10 Q1 are missing: no direction rather than a comparison with Q2
    assert (row["direction"], row["direction_year"], row["previous_value"]) == (None, None, None)


def test_reported_status_words_and_letters_compare_equal() -> None:
    cat = catalogue_for()
    with store.connect(":memory:") as con:
        text = ("indicator,area,quarter,value,reported_status\n"
                "X,Shire,2010/11 Q1,10.2,amber\nX,Dale,2010/11 Q1,10.2,R\n")
        loading.load(con, loading.read_upload(text.encode(), "r.csv", cat))
        rows = status.query(con, cat, [Q1])
    assert [(r["area"], r["reported_status"], r["status"], r["mismatch"]) for r in rows] == [
        ("Shire", "AMBER", "AMBER", False), ("Dale", "RED", "AMBER", True)]


# ---- the SQL against an independent reference -------------------------------------------

def reference(value: Decimal | None, target: Decimal | None, better: str, band_kind: str, band: Decimal,
              grey: bool, lower: Decimal | None, upper: Decimal | None) -> str:
    if value is None or target is None:
        return "NA"
    if grey and lower is not None and upper is not None and lower <= target <= upper:
        return "GREY"
    shortfall = value - target if better == "lower" else target - value
    width = band * abs(target) / 100 if band_kind == "percent" else band
    if shortfall <= 0:
        return "GREEN"
    return "AMBER" if shortfall <= width else "RED"


money = st.decimals(min_value=-5000, max_value=5000, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    target = draw(st.one_of(st.none(), money))
    value = draw(st.one_of(st.none(), money, st.just(target) if target is not None else money))
    band_kind = draw(st.sampled_from(["percent", "absolute"]))
    band = draw(st.decimals(min_value=0, max_value=25, places=1))
    if target is not None and value is not None and draw(st.booleans()):
        # aim at the band's edge, where floating point would bite
        width = band * abs(target) / 100 if band_kind == "percent" else band
        if width == width.quantize(Decimal("0.0001")):
            value = target + width if draw(st.booleans()) else target - width
    lower = draw(st.one_of(st.none(), money))
    upper = None if lower is None else lower + draw(st.decimals(min_value=0, max_value=100, places=4))
    # a district row: its own target for the year when it has one, else the indicator's
    area = draw(st.sampled_from(["Shire", "Dale"]))
    own = draw(st.one_of(st.none(), money)) if area == "Dale" else None
    return {"value": value, "target": target, "better": draw(st.sampled_from(["lower", "higher"])),
            "band_kind": band_kind, "band": band, "grey": draw(st.booleans()), "lower": lower, "upper": upper,
            "area": area, "own_target": own}


@pytest.fixture(scope="module")
def memory_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    store.create_schema(con)
    return con


@settings(max_examples=400, deadline=None)
@given(case=cases())
def test_sql_matches_the_reference(memory_db: duckdb.DuckDBPyConnection, case: dict[str, Any]) -> None:
    tolerance: Any = f"{case['band']}%" if case["band_kind"] == "percent" else float(case["band"])
    targets = {} if case["target"] is None else {"2010/11": float(case["target"])}
    cat = catalogue_for(case["better"], tolerance, targets, grey=case["grey"])
    if case["own_target"] is not None:
        ind = dataclasses.replace(cat.indicators[0], area_targets={"Dale": {2010: float(case["own_target"])}})
        cat = dataclasses.replace(cat, indicators=(ind,))
    f = (lambda d: None if d is None else float(d))  # noqa: E731
    memory_db.execute("DELETE FROM observations")
    memory_db.execute(
        "INSERT INTO observations VALUES ('X', ?, '2010/11 Q1', ?, ?, ?, ?, NULL, NULL, NULL, NULL, 1)",
        [case["area"], Q1, f(case["value"]), f(case["lower"]), f(case["upper"])])
    (row,) = status.query(memory_db, cat, [Q1], areas=[case["area"]])
    target = case["own_target"] if case["own_target"] is not None else case["target"]
    expected = reference(case["value"], target, case["better"], case["band_kind"], case["band"], case["grey"],
                         case["lower"], case["upper"])
    assert row["status"] == expected


def test_area_target_for_the_year_else_the_indicators() -> None:
    cat = config.parse({"county": "Shire", "districts": ["Dale", "Vale"], "indicators": [{
        "id": "X", "name": "x", "better": "lower", "levels": ["county", "district"],
        "targets": {"2010/11": 10, "2011/12": 9}, "area_targets": {"Dale": {"2010/11": 12}}}]})
    text = ("indicator,area,quarter,value\nX,Dale,2010/11 Q4,11.5\nX,Vale,2010/11 Q4,11.5\n"
            "X,Dale,2011/12 Q1,11.5\nX,Dale,2012/13 Q1,11.5\n")
    with store.connect(":memory:") as con:
        loading.load(con, loading.read_upload(text.encode(), "t.csv", cat))
        rows = status.query(con, cat, [2010 * 4 + 3, 2011 * 4, 2012 * 4], areas=["Dale", "Vale"])
    got = {(r["area"], r["quarter"]): (r["target"], r["status"]) for r in rows}
    assert got[("Dale", "2010/11 Q4")] == (12.0, "GREEN")   # Dale's own target that year
    assert got[("Vale", "2010/11 Q4")] == (10.0, "RED")     # the indicator's target
    assert got[("Dale", "2011/12 Q1")] == (9.0, "RED")      # Dale has none for 2011/12
    assert got[("Dale", "2012/13 Q1")] == (None, "NA")      # nobody has one for 2012/13


# ---- reason codes, their words, and the query's steps ----------------------------------------

REASON_CASES = [
    # (value, extra columns, catalogue, reason code, status, the CLI's words)
    ("9.5", ",,", catalogue_for(), "on_target", "GREEN", "on or better than target"),
    ("10", ",,", catalogue_for(), "on_target", "GREEN", "on or better than target"),
    ("10.5", ",,", catalogue_for(), "within_band", "AMBER", "worse than target, within the band"),
    ("10.51", ",,", catalogue_for(), "beyond_band", "RED", "worse than target, beyond the band"),
    ("12", ",9.5,14", catalogue_for(grey=True), "not_significant", "GREY",
     "not significant: the target is within the confidence interval"),
    ("", ",,", catalogue_for(), "not_available", "NA", "not available"),
    ("5", ",,", catalogue_for(targets={"2009/10": 10}), "no_target", "NA", "no target for 2010/11"),
]


@pytest.mark.parametrize(("value", "extra", "cat", "code", "word", "said"), REASON_CASES)
def test_each_case_has_its_reason_code_and_the_words_the_cli_prints(
        value: str, extra: str, cat: config.Catalogue, code: str, word: str, said: str) -> None:
    row = rate(value, cat, extra)
    assert (row["reason_code"], row["status"]) == (code, word)
    assert codes.REASON_STATUS[Reason(code)].word == word  # the status follows from the reason
    assert words.row_reason(row) == said
    assert "reason" not in row  # the rule returns codes; words are made in pipelines.present


def test_no_data_has_its_code_and_words() -> None:
    cat = catalogue_for()
    with store.connect(":memory:") as con:
        (row,) = words.status_rows(con, cat, [Q1], areas=["Shire"])
    assert (row["status"], row["reason_code"], row["reason"]) == ("NA", "no_data", "no data")


def test_every_reason_has_words_and_a_status() -> None:
    assert set(words.REASON_WORDS) == set(Reason) == set(codes.REASON_STATUS)
    assert {s.word for s in codes.REASON_STATUS.values()} == set(status.STATUSES)
    assert {r.value for r in Reason} == {"no_data", "not_available", "no_target", "not_rated",
                                         "incomplete_aggregate", "incomplete_window", "no_population",
                                         "not_significant", "on_target", "within_band", "beyond_band"}


def test_reason_words_are_todays_texts() -> None:
    assert [words.reason(code, Q1) for code in Reason if code in REASONS_BEFORE_COUNTS] == [
        "no data", "not available", "no target for 2010/11",
        "not significant: the target is within the confidence interval", "on or better than target",
        "worse than target, within the band", "worse than target, beyond the band"]
    assert words.reason("no_target", 1999 * 4 + 3) == "no target for 1999/00"


REASONS_BEFORE_COUNTS = {"no_data", "not_available", "no_target", "not_significant", "on_target", "within_band",
                         "beyond_band"}


def test_the_reasons_of_counts_name_what_is_missing() -> None:
    assert words.reason("not_rated", Q1) == "not rated: monitored, neither higher nor lower is better"
    assert words.reason("incomplete_aggregate", Q1, "Bolsover, Erewash") == (
        "no figure: the districts cannot be added up without counts from Bolsover, Erewash")
    assert words.reason("incomplete_window", Q1, "2009/10 Q3") == "no figure: the window lacks 2009/10 Q3"
    assert words.reason("no_population", Q1 + 5, None, "Erewash") == (
        "no population for Erewash in 2011/12: load it with load-populations")


def test_status_table_says_the_reason_in_words_and_keeps_the_columns_asked_for(
        catalogue: config.Catalogue, sample_db) -> None:
    with store.connect(sample_db, read_only=True) as con:
        columns, rows = words.status_table(con, catalogue, [Q1], ["Derbyshire"], None, words.CLI_COLUMNS)
        plain = status.query(con, catalogue, [Q1], areas=["Derbyshire"])
    assert columns == list(words.CLI_COLUMNS)
    assert all(len(r) == len(columns) for r in rows)
    got = {r[0]: dict(zip(columns, r, strict=True)) for r in rows}
    assert (got["NI 18"]["status"], got["NI 18"]["reason"]) == (
        "GREY", "not significant: the target is within the confidence interval")
    assert (got["NI 20"]["status"], got["NI 20"]["reason"]) == ("AMBER", "worse than target, within the band")
    assert (got["NI 27"]["status"], got["NI 27"]["reason"]) == ("RED", "worse than target, beyond the band")
    assert [got[r["indicator"]]["reason"] for r in plain] == [words.row_reason(r) for r in plain]


def test_the_band_edge_is_on_the_worse_side_of_the_target() -> None:
    lower = rate("10.2", catalogue_for("lower", "5%", {"2010/11": 10}))
    higher = rate("9.8", catalogue_for("higher", 1.5, {"2010/11": 10}))
    assert (lower["band_width"], lower["band_edge"]) == (0.5, 10.5)
    assert (higher["band_width"], higher["band_edge"]) == (1.5, 8.5)
    assert rate("5", catalogue_for("lower", "5%", {"2009/10": 10}))["band_edge"] is None  # no target


def test_a_years_target_applies_from_its_q1_to_its_q4_and_not_after() -> None:
    cat = catalogue_for("lower", "5%", {"2010/11": 10})
    text = "".join(f"X,Shire,{q},11\n" for q in
                   ("2009/10 Q4", "2010/11 Q1", "2010/11 Q2", "2010/11 Q3", "2010/11 Q4", "2011/12 Q1"))
    with store.connect(":memory:") as con:
        loading.load(con, loading.read_upload(("indicator,area,quarter,value\n" + text).encode(), "y.csv", cat))
        rows = status.query(con, cat, list(range(Q1 - 1, Q1 + 5)), areas=["Shire"])
    assert [(r["quarter"], r["target"], r["reason_code"]) for r in rows] == [
        ("2009/10 Q4", None, "no_target"),
        ("2010/11 Q1", 10.0, "beyond_band"), ("2010/11 Q2", 10.0, "beyond_band"),
        ("2010/11 Q3", 10.0, "beyond_band"), ("2010/11 Q4", 10.0, "beyond_band"),
        ("2011/12 Q1", None, "no_target")]


def test_targets_are_sent_as_quarter_ranges() -> None:
    cat = config.parse({"county": "Shire", "districts": ["Dale"], "indicators": [{
        "id": "X", "name": "x", "better": "lower", "levels": ["county", "district"],
        "targets": {"2010/11": 10}, "area_targets": {"Dale": {"2011/12": 12}}}]})
    params = status.parameters(cat, [Q1])
    assert params["targets"] == [
        {"indicator": "X", "area": "", "valid_from": Q1, "valid_to": Q1 + 3, "target": 10.0},
        {"indicator": "X", "area": "Dale", "valid_from": Q1 + 4, "valid_to": Q1 + 7, "target": 12.0}]
    assert status.year_span(2010) == (Q1, Q1 + 3)
    (band,) = params["bands"]
    assert (band["band_kind"], band["band"]) == ("percent", 5.0)
    assert band["valid_from"] <= 1900 * 4 and band["valid_to"] >= 2100 * 4 + 3


def test_a_band_that_changes_mid_year_takes_effect_at_its_quarter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bands are joined as periods: a second band row from Q3 on rates Q3 and Q4 by it."""
    cat = catalogue_for("lower", "5%", {"2010/11": 10})
    real = status.parameters

    def split_band(*args: Any, **kwargs: Any) -> dict[str, Any]:
        params = real(*args, **kwargs)
        (band,) = params["bands"]
        params["bands"] = [{**band, "valid_to": Q1 + 1}, {**band, "band": 20.0, "valid_from": Q1 + 2}]
        return params

    monkeypatch.setattr(status, "parameters", split_band)
    text = "indicator,area,quarter,value\n" + "".join(f"X,Shire,2010/11 Q{q},11\n" for q in (1, 2, 3, 4))
    with store.connect(":memory:") as con:
        loading.load(con, loading.read_upload(text.encode(), "b.csv", cat))
        rows = status.query(con, cat, list(range(Q1, Q1 + 4)), areas=["Shire"])
    assert [(r["band_width"], r["status"]) for r in rows] == [
        (0.5, "RED"), (0.5, "RED"), (2.0, "AMBER"), (2.0, "AMBER")]


def test_the_query_is_named_steps_in_the_rules_order() -> None:
    names = [s.name for s in status.STEPS]
    order = ["observed", "measures", "targets_and_bands", "rated", "directions", "output"]
    assert [n for n in names if n in order] == order
    sql = status.statement(("indicator", "status", "reason_code"))
    for name in names:
        assert f'"{name}" AS (' in sql
    assert "{" not in sql  # nothing left to fill in
    # one written direction rule, used for each comparison over time
    assert sql.count("'improving'") == len(status.COMPARISONS) == 2


def test_columns_outside_the_allow_list_are_refused() -> None:
    cat = catalogue_for()
    with store.connect(":memory:") as con:
        for bad in (["status; DROP TABLE observations"], ["reason"], ['status" FROM observations --']):
            with pytest.raises(ValueError, match="unknown status columns"):
                status.table(con, cat, [Q1], columns=bad)
        assert con.execute("SELECT count(*) FROM observations").fetchone() == (0,)


def test_every_output_column_is_returned_in_order() -> None:
    cat = catalogue_for()
    with store.connect(":memory:") as con:
        columns, _ = status.table(con, cat, [Q1])
        some, _ = status.table(con, cat, [Q1], columns=("status", "indicator"))
    assert tuple(columns) == status.OUTPUT_COLUMNS
    assert some == ["status", "indicator"]


# Every edge above, as (better, band, target, value, interval, status): the rule's cases
EDGES: list[tuple[str, Any, Any, str, str, str]] = [
    *[(better, "5%", None, value, ",,", status) for better, value, status in [
        ("lower", "9.99", "GREEN"), ("lower", "10", "GREEN"), ("lower", "10.01", "AMBER"), ("lower", "10.5", "AMBER"),
        ("lower", "10.51", "RED"), ("higher", "10.01", "GREEN"), ("higher", "10", "GREEN"),
        ("higher", "9.99", "AMBER"), ("higher", "9.5", "AMBER"), ("higher", "9.49", "RED")]],
    ("higher", "10%", {"2010/11": 42.7}, "38.43", ",,", "AMBER"),
    ("higher", "10%", {"2010/11": 42.7}, "38.42", ",,", "RED"),
    *[("lower", 1.5, {"2010/11": 12}, value, ",,", status) for value, status in [
        ("12", "GREEN"), ("12.5", "AMBER"), ("13.5", "AMBER"), ("13.51", "RED")]],
    ("lower", "5%", {"2010/11": 0}, "0.01", ",,", "RED"), ("lower", "5%", {"2010/11": 0}, "0", ",,", "GREEN"),
    ("lower", 1, {"2010/11": 0}, "0.5", ",,", "AMBER"), ("lower", "5%", {"2009/10": 10}, "5", ",,", "NA"),
    ("lower", "5%", None, "", ",,", "NA"),
]


def test_every_edge_of_the_rule_gives_the_same_row_on_a_lake(lake: str) -> None:
    """The same rows, column for column, from a DuckDB database in memory and from a lake
    (PostgreSQL catalog, Parquet data), each case loaded over the last as a revision."""
    for better, band, targets, value, interval, expected in EDGES:
        cat = catalogue_for(better, band, targets)
        on_lake, in_memory = rate(value, cat, interval, where=lake), rate(value, cat, interval)
        assert on_lake["status"] == expected, (better, band, value)
        assert on_lake == in_memory, (better, band, value)
    grey = catalogue_for("lower", "5%", {"2010/11": 10}, grey=True)
    assert [rate("12", grey, interval, where=lake)["status"] for interval in (",9.5,14", ",10,14", ",10.01,14")] == [
        "GREY", "GREY", "RED"]
