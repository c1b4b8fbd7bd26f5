"""The XmR chart, rule by rule, against series worked out by hand (NHSRplotthedots 0.2's conventions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.catalogue import config, quarters
from pipelines.ingest import loading
from pipelines.stats import spc
from pipelines.storage import store

FIRST = 2008 * 4  # 2008/09 Q1


def chart(values: list[float | None], better: str = "lower", target: float | None = None,
          spc_block: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Load ``values`` as consecutive quarters of one county indicator and draw its chart."""
    ind: dict[str, Any] = {"id": "X", "name": "Test", "better": better}
    if target is not None:
        ind["targets"] = {quarters.financial_year(q): target for q in range(FIRST, FIRST + len(values), 4)}
    if spc_block is not None:
        ind["spc"] = spc_block
    cat = config.parse({"county": "Shire", "indicators": [ind]})
    lines = ["indicator,area,quarter,value"] + [
        f"X,Shire,{quarters.label(FIRST + i)},{'' if v is None else v}" for i, v in enumerate(values)]
    with store.connect(":memory:") as con:
        upload = loading.read_upload("\n".join(lines).encode(), "series.csv", cat)
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)
        return spc.chart(con, cat, "X", "Shire", list(range(FIRST, FIRST + len(values))))


def rules(rows: list[dict[str, Any]]) -> list[str]:
    return [r["rule"] for r in rows]


def test_limits_are_the_mean_plus_and_minus_2_66_mean_moving_ranges() -> None:
    rows = chart([10, 11, 10, 11, 10, 11])  # mean 10.5, moving ranges all 1
    for r in rows:
        assert (r["mean"], r["lower_limit"], r["upper_limit"]) == (
            10.5, pytest.approx(10.5 - 2.66), pytest.approx(10.5 + 2.66))
    assert rules(rows) == ["none"] * 6
    assert rows[-1]["variation"] == "common_cause" and rows[-1]["assurance"] is None
    assert [r["variation"] for r in rows[:-1]] == [None] * 5  # the readings are the last point's


def test_screening_drops_a_moving_range_not_below_3_267_times_the_mean() -> None:
    values = [10, 11, 10, 11, 10, 30]  # moving ranges 1, 1, 1, 1, 20: mean 4.8; 20 >= 3.267 x 4.8 = 15.68
    mean = 82 / 6
    screened = chart(values)  # the mean moving range is 1 once 20 is dropped
    assert screened[0]["upper_limit"] == pytest.approx(mean + 2.66 * 1)
    # 10 and 11 are both below mean - 2.66 = 11.0067, 30 above mean + 2.66: all six outside
    assert rules(screened) == ["outside"] * 6
    plain = chart(values, spc_block={"screen_outliers": False})  # as the NHS Excel tool: 4.8
    assert plain[0]["upper_limit"] == pytest.approx(mean + 2.66 * 4.8)
    assert rules(plain) == ["none"] * 5 + ["outside"]
    assert plain[-1]["point_type"] == "special_cause_concern" and plain[-1]["variation"] == "concern_high"


def test_two_in_three_flags_the_close_points_and_a_run_of_seven_is_special() -> None:
    # mean 4.2; moving ranges 1,1,4,1,1,1,1,1,1: mean 12/9, 4 < 3.267 x 12/9 so kept
    # limits 4.2 -/+ 3.547 (0.653, 7.747); two thirds of the way: 1.836 and 6.564
    rows = chart([1, 2, 1, 5, 6, 5, 6, 5, 6, 5])
    amr = 12 / 9
    assert rows[0]["lower_limit"] == pytest.approx(4.2 - 2.66 * amr)
    # 1, 2, 1 are all below the mean and both 1s beyond 1.836: those two are flagged, not the 2
    assert rules(rows) == ["two_in_three", "none", "two_in_three"] + ["run"] * 7
    # lower is better: low is an improvement, a run above the mean a concern
    assert [r["point_type"] for r in rows[:3]] == ["special_cause_improvement", "common_cause",
                                                   "special_cause_improvement"]
    assert rows[-1]["point_type"] == "special_cause_concern" and rows[-1]["variation"] == "concern_high"


def test_six_points_above_the_mean_are_not_a_run() -> None:
    rows = chart([1, 2, 1, 2, 5, 6, 5, 6, 5, 6])  # only six above the mean of 3.9
    assert "run" not in rules(rows)


def test_a_trend_of_seven_rising_points_by_precedence_after_points_outside() -> None:
    # 1..7: mean 4, moving ranges 1, limits 1.34 and 6.66: 1 and 7 are outside, 2 to 6 a trend
    rows = chart([1, 2, 3, 4, 5, 6, 7], better="higher")
    assert rules(rows) == ["outside"] + ["trend"] * 5 + ["outside"]
    assert [r["point_type"] for r in rows] == (["special_cause_concern"] + ["special_cause_improvement"] * 6)
    assert rows[-1]["variation"] == "improvement_high"


def test_six_rising_points_are_not_a_trend() -> None:
    # mean 3.5, limits 0.84 and 6.16, two thirds of the way 1.727 and 5.273: only 1 and 6 are beyond
    # those, one on each side, so no rule applies
    assert rules(chart([1, 2, 3, 4, 5, 6])) == ["none"] * 6


def test_a_point_on_the_mean_breaks_a_run() -> None:
    # The mean is exactly 5 (60 / 12): the fourth point is on it, so eight points above the mean are
    # two runs of 3 and 4, not one of 8. Moving ranges: ten of 1 and one of 5; their mean 15/11, and 5
    # is not below 3.267 x 15/11 = 4.455, so it is screened out: the mean moving range is 1, the
    # limits 5 -/+ 2.66 (2.34, 7.66), two thirds of the way 3.227 and 6.773.
    rows = chart([6, 7, 6, 5, 6, 7, 6, 7, 2, 3, 2, 3])
    assert rows[0]["mean"] == 5 and rows[0]["upper_limit"] == pytest.approx(5 + 2.66)
    # 7, 6, 7 (points 6 to 8): the two 7s are beyond 6.773; the 2s are outside, the 3s beyond 3.227
    assert rules(rows) == ["none"] * 5 + ["two_in_three", "none", "two_in_three",
                                          "outside", "two_in_three", "outside", "two_in_three"]


def test_a_tie_breaks_a_trend() -> None:
    rows = chart([1, 2, 3, 3, 4, 5, 6, 7, 7, 8], better="higher")
    assert "trend" not in rules(rows)


def test_assurance_compares_the_limits_with_the_target_strictly() -> None:
    values = [10, 11, 10, 11, 10, 11]  # limits 7.84 and 13.16
    assert chart(values, "higher", 5)[-1]["assurance"] == "consistent_pass"
    assert chart(values, "higher", 20)[-1]["assurance"] == "consistent_fail"
    assert chart(values, "higher", 10)[-1]["assurance"] == "inconsistent"
    assert chart(values, "lower", 20)[-1]["assurance"] == "consistent_pass"
    assert chart(values, "lower", 5)[-1]["assurance"] == "consistent_fail"
    assert chart(values, "neither", 5)[-1]["assurance"] is None


def test_where_neither_is_better_a_special_cause_is_neither() -> None:
    rows = chart([10, 11, 10, 11, 10, 11, 10, 30], better="neither", spc_block={"screen_outliers": False})
    assert rows[-1]["point_type"] == "special_cause_neither" and rows[-1]["variation"] == "neither_high"


def test_a_rebase_starts_a_new_period_and_nothing_crosses_it() -> None:
    rows = chart([10, 11, 10, 11, 20, 21, 20, 21], spc_block={"rebase": [quarters.label(FIRST + 4)]})
    assert [r["period"] for r in rows] == [0] * 4 + [1] * 4
    assert [r["mean"] for r in rows] == [10.5] * 4 + [20.5] * 4
    # the jump from 11 to 20 is no moving range: each period's are all 1
    assert rows[-1]["upper_limit"] == pytest.approx(20.5 + 2.66)
    assert rules(rows) == ["none"] * 8 and rows[0]["period_points"] == 4


def test_quarters_without_a_figure_are_left_out_and_their_neighbours_are_consecutive() -> None:
    rows = chart([10, 11, None, 10, 11])
    assert [r["quarter"] for r in rows] == ["2008/09 Q1", "2008/09 Q2", "2008/09 Q4", "2009/10 Q1"]
    assert rows[0]["mean"] == 10.5 and rows[0]["upper_limit"] == pytest.approx(10.5 + 2.66)  # ranges 1, 1, 1


def test_the_spc_command_end_to_end(tmp_path: Path) -> None:
    """NI 32 in the sample, 2008/09 Q1 to 2010/11 Q1: 10.2, 11.0, 11.8, 12.5, 13.1, 13.6, 14.2, 14.9, 15.45."""
    values = [10.2, 11.0, 11.8, 12.5, 13.1, 13.6, 14.2, 14.9, 15.45]
    mean = sum(values) / 9
    amr = sum(abs(b - a) for a, b in zip(values, values[1:], strict=False)) / 8  # none is screened out
    env = {**os.environ, "RAGBOARD_DB": str(tmp_path / "spc.duckdb")}
    env.pop("RAGBOARD_CONFIG", None)
    result = subprocess.run([sys.executable, "-m", "pipelines", "spc", "--indicator", "NI 32", "--format", "json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert list(rows[0]) == ["quarter", "value", "mean", "lower_limit", "upper_limit", "special_cause",
                             "point_type", "variation", "assurance"]
    assert [r["value"] for r in rows] == pytest.approx(values, abs=0.005)
    assert rows[0]["mean"] == pytest.approx(mean, abs=0.001)
    assert rows[0]["upper_limit"] == pytest.approx(mean + 2.66 * amr, abs=0.001)
    # 10.2 and 11.0 are below the lower limit (11.23): outside, and higher is better, so a concern;
    # 14.9 and 15.45 are above the upper (14.72); 11.8 to 14.2 are part of nine points each higher
    # than the one before (a trend, after outside in precedence): all improvements
    assert [r["point_type"] for r in rows] == ["special_cause_concern"] * 2 + ["special_cause_improvement"] * 7
    assert all(r["special_cause"] is True for r in rows)
    assert [r["variation"] for r in rows[:-1]] == [None] * 8
    # the target is 27%, above the upper limit: the process cannot meet it without a change
    assert (rows[-1]["variation"], rows[-1]["assurance"]) == ("improvement_high", "consistent_fail")
    table = subprocess.run([sys.executable, "-m", "pipelines", "spc", "--indicator", "NI 20", "--area", "Hig Peak"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert table.returncode == 2 and "Unknown area 'Hig Peak'; did you mean 'High Peak'?" in table.stderr


def test_readings_are_each_series_last_point_as_of_the_quarter_asked(sample_db: Path) -> None:
    cat = config.load()
    with store.connect(sample_db, read_only=True) as con:
        now = {(r["indicator"], r["area"]): r for r in spc.readings(con, cat, 2010 * 4)}
        earlier = {(r["indicator"], r["area"]): r for r in spc.readings(con, cat, 2009 * 4 + 3)}
        ni32 = spc.chart(con, cat, "NI 32", "Derbyshire", [2010 * 4])
        ni32_then = spc.chart(con, cat, "NI 32", "Derbyshire", [2009 * 4 + 3])
    # one reading per indicator and area in scope: 11 county indicators and 2 x 8 districts
    assert len(now) == 27 and len(earlier) == 27
    assert (now[("NI 32", "Derbyshire")]["variation"], now[("NI 32", "Derbyshire")]["assurance"]) == (
        ni32[-1]["variation"], ni32[-1]["assurance"]) == ("improvement_high", "consistent_fail")
    # as of 2009/10 Q4 the chart has eight points, and its limits are those eight's
    assert earlier[("NI 32", "Derbyshire")]["quarter"] == "2009/10 Q4" and len(ni32_then) == 8
    assert earlier[("NI 32", "Derbyshire")]["period_points"] == 8
    # the county's NI 16 is read from the figures added up from its districts
    assert now[("NI 16", "Derbyshire")]["quarter"] == "2010/11 Q1"


# ---- edges (added with the numpy rewrite: each worked out by hand) ---------------------------


def test_a_period_of_one_point_has_no_limits() -> None:
    # the rebase leaves 20 alone in its period: no moving range, so no limits and no rule
    rows = chart([10, 11, 10, 11, 20], better="higher", target=5, spc_block={"rebase": [quarters.label(FIRST + 4)]})
    last = rows[-1]
    assert (last["period"], last["period_points"], last["mean"]) == (1, 1, 20.0)
    assert (last["lower_limit"], last["upper_limit"], last["rule"]) == (None, None, "none")
    # no limits to hold against the target: neither a pass nor a fail
    assert (last["variation"], last["assurance"]) == ("common_cause", "inconsistent")
    assert rows[0]["upper_limit"] == pytest.approx(10.5 + 2.66)


def test_equal_values_have_no_screened_limits_and_no_runs() -> None:
    # every moving range is 0, and 0 is not below 3.267 x 0: all are screened out, no limits
    rows = chart([5] * 8)
    assert all(r["lower_limit"] is None and r["upper_limit"] is None and r["mean"] == 5 for r in rows)
    assert rules(rows) == ["none"] * 8  # every point is on the mean: no run
    plain = chart([5] * 8, spc_block={"screen_outliers": False})  # mean moving range 0: limits on the mean
    assert all(r["lower_limit"] == r["upper_limit"] == 5 for r in plain)
    assert rules(plain) == ["none"] * 8


def test_a_series_only_after_its_rebase() -> None:
    rows = chart([None] * 4 + [10, 11, 10, 11], spc_block={"rebase": [quarters.label(FIRST + 4)]})
    assert [r["period"] for r in rows] == [1] * 4 and rows[0]["period_points"] == 4
    assert rows[0]["mean"] == 10.5 and rows[0]["upper_limit"] == pytest.approx(10.5 + 2.66)
    assert rules(rows) == ["none"] * 4 and rows[-1]["variation"] == "common_cause"


def test_a_trend_runs_across_a_quarter_without_a_figure() -> None:
    # 1, 2, 3, (gap), 4, 5, 6, 7: seven points each higher than the one before; as 1..7 above
    rows = chart([1, 2, 3, None, 4, 5, 6, 7], better="higher")
    assert [r["qi"] for r in rows] == [FIRST + i for i in (0, 1, 2, 4, 5, 6, 7)]
    assert rules(rows) == ["outside"] + ["trend"] * 5 + ["outside"]


def test_two_in_three_before_a_run_where_neither_is_better() -> None:
    # mean 37 / 10 = 3.7; moving ranges 1 (x6), 8, 0, 0: their mean 14 / 9, and 8 is not below
    # 3.267 x 14 / 9 = 5.08, so it is dropped: 6 / 8 = 0.75. Limits 3.7 -/+ 1.995 (1.705, 5.695),
    # two thirds of the way 2.37 and 5.03. The 1s are outside, the 9s too; the 2s are close to the
    # lower limit, two of them in each 2, 1, 2: two in three, before the run the first seven make.
    rows = chart([1, 2, 1, 2, 1, 2, 1, 9, 9, 9], better="neither")
    assert rows[0]["lower_limit"] == pytest.approx(3.7 - 2.66 * 0.75)
    assert rules(rows) == ["outside", "two_in_three"] * 3 + ["outside"] * 4
    assert {r["point_type"] for r in rows} == {"special_cause_neither"}
    assert rows[-1]["variation"] == "neither_high" and rows[-1]["assurance"] is None


def test_the_rows_hold_plain_python_values() -> None:
    rows = chart([10, 11, 10, 11, 10, 11], target=5)
    for r in rows:
        assert list(r) == list(spc.COLUMNS)
        assert type(r["qi"]) is int and type(r["period"]) is int and type(r["period_points"]) is int
        assert type(r["value"]) is float and type(r["mean"]) is float and type(r["upper_limit"]) is float
        assert type(r["special_cause"]) is bool and type(r["rule"]) is str
    json.dumps(rows)  # the command line writes them as they are


def test_readings_inside_a_callers_transaction_see_its_changes_and_leave_it_open(tmp_path: Path) -> None:
    """A preview asks inside its own open transaction: the readings read its snapshot (its changes,
    not yet committed) and do not abort it."""
    cat = config.parse({"county": "Shire", "indicators": [{"id": "X", "name": "Test", "better": "lower"}]})
    lines = ["indicator,area,quarter,value"] + [f"X,Shire,{quarters.label(FIRST + i)},{v}"
                                                for i, v in enumerate([10, 11, 10, 11, 10, 30])]
    with store.connect(tmp_path / "t.duckdb") as con:
        loading.load(con, loading.read_upload("\n".join(lines).encode(), "x.csv", cat))
        # 30 is far above the screened limits (mean 82 / 6, mean moving range 1): outside, high, and
        # lower is better
        (before,) = spc.readings(con, cat, FIRST + 5)
        assert (before["quarter"], before["variation"]) == ("2009/10 Q2", "concern_high")
        with store.transaction(con, commit=False):
            con.execute("DELETE FROM observations WHERE qi = ?", [FIRST + 5])
            (inside,) = spc.readings(con, cat, FIRST + 5)
            # without 30: 10, 11, 10, 11, 10, mean 10.4, limits 7.74 to 13.06; no rule breaks
            assert (inside["quarter"], inside["variation"]) == ("2009/10 Q1", "common_cause")
            assert con.execute("SELECT count(*) FROM observations").fetchone() == (5,)  # still open
        (after,) = spc.readings(con, cat, FIRST + 5)
        assert after["quarter"] == "2009/10 Q2"  # rolled back
