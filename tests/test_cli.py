"""``python -m pipelines`` end to end, as separate processes, in a temporary directory."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from helpers import ROOT, columns
from pipelines.stats import spc


def run(*args: str, db: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "RAGBOARD_DB": str(db), "PYTHONPATH": str(ROOT), **(env or {})}
    environ.pop("RAGBOARD_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120)


def tables(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("loads", "observations", "observation_history")}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cli.duckdb"


def test_status_creates_the_database_from_the_sample(tmp_path: Path, db: Path) -> None:
    result = run("status", "--format", "json", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "creating it from" in result.stderr
    rows = json.loads(result.stdout)
    assert {r["quarter"] for r in rows} == {"2010/11 Q1"}
    assert len(rows) == 27
    ni39 = next(r for r in rows if r["indicator"] == "NI 39")
    assert (ni39["status"], ni39["reported_status"], ni39["mismatch"]) == ("AMBER", "RED", True)
    assert list(rows[0]) == ["indicator", "area", "quarter", "value", "target", "shortfall", "percent_off",
                             "status", "reason", "direction", "direction_year", "reported_status", "mismatch",
                             "numerator", "denominator", "ci_lower", "ci_upper", "ci_method", "significance",
                             "aggregated_from", "variation", "assurance", "parent", "parent_value", "vs_parent",
                             "benchmark", "benchmark_value", "vs_benchmark", "amber_band", "band_from"]
    # the catalogue's one band, 5%; NI 18's own, 5 percentage points; never versioned
    assert (ni39["amber_band"], ni39["band_from"]) == ("5%", None)
    assert next(r["amber_band"] for r in rows if r["indicator"] == "NI 18") == "5"
    # the county's NI 16 is added up from its 8 districts' crimes and populations: 7,359 in 766,605
    ni16 = next(r for r in rows if (r["indicator"], r["area"]) == ("NI 16", "Derbyshire"))
    assert (ni16["numerator"], ni16["denominator"], ni16["aggregated_from"]) == (7359, 766605, 8)
    assert round(ni16["value"], 2) == 9.60 and ni16["status"] == "GREEN"
    assert (ni16["ci_method"], ni16["significance"]) == ("byar", "better")
    ni32 = next(r for r in rows if r["indicator"] == "NI 32")  # the report's 55 of 356, Wilson at 95%
    assert (ni32["ci_method"], round(ni32["ci_lower"], 2), round(ni32["ci_upper"], 2)) == ("wilson", 12.07, 19.57)
    assert ni32["significance"] == "worse" and ni32["aggregated_from"] is None


def test_status_filters_and_formats(tmp_path: Path, db: Path) -> None:
    assert run("init", db=db, cwd=tmp_path).returncode == 0
    result = run("status", "--quarter", "2009/10 Q4", "--area", "Amber Valley", "--format", "csv", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["indicator"], r["status"], r["reported_status"]) for r in rows] == [
        ("NI 16", "GREEN", ""), ("NI 20", "RED", "RED")]
    table = run("status", "--indicator", "NI 20", "--area", "High Peak", db=db, cwd=tmp_path)
    assert table.stdout.split()[:4] == ["indicator", "area", "quarter", "value"]
    (line,) = columns(table.stdout)
    assert line == {"indicator": "NI 20", "area": "High Peak", "quarter": "2010/11 Q1", "value": "7.44",
                    "target": "6.20", "shortfall": "1.24", "percent_off": "20.00", "status": "RED",
                    "reason": "worse than target, beyond the band", "direction": "worsening",
                    "direction_year": "worsening", "reported_status": "RED", "mismatch": "",
                    "numerator": "683.00", "denominator": "91804.00", "ci_lower": "6.89", "ci_upper": "8.02",
                    "ci_method": "byar", "significance": "worse", "aggregated_from": "",
                    "variation": "concern_high", "assurance": line["assurance"],
                    # 7.44 (6.89 to 8.02) against the county's 7.19: inside, similar; the county is the benchmark
                    "parent": "Derbyshire", "parent_value": "7.19", "vs_parent": "similar", "benchmark": "Derbyshire",
                    "benchmark_value": "7.19", "vs_benchmark": "similar", "amber_band": "5%", "band_from": ""}
    # High Peak's NI 20 rose to 7.44, above its upper process limit, and lower is better: a concern
    # (the chart is worked in tests/test_spc_pages.py); the assurance is one of the three
    assert line["assurance"] in spc.ASSURANCES


def test_status_gives_the_spc_reading_of_the_series_up_to_the_quarter_asked(tmp_path: Path, db: Path) -> None:
    """NI 32 in Derbyshire: 10.2, 11.0, 11.8, 12.5, 13.1, 13.6, 14.2, 14.9 up to 2009/10 Q4 (then 15.45).
    As of 2009/10 Q4: mean 101.3 / 8 = 12.6625; moving ranges 0.8, 0.8, 0.7, 0.6, 0.5, 0.6, 0.7, mean
    4.7 / 7 = 0.6714 (none screened); limits 12.6625 ± 2.66 × 0.6714 = 10.877 to 14.448. 14.9 is above
    the upper limit and higher is better: an improvement, high. The target, 27, is above the upper
    limit: the process will fail it every quarter unless something changes."""
    assert run("init", db=db, cwd=tmp_path).returncode == 0
    then = run("status", "--quarter", "2009/10 Q4", "--indicator", "NI 32", "--format", "json", db=db, cwd=tmp_path)
    assert then.returncode == 0, then.stderr
    (row,) = json.loads(then.stdout)
    assert (row["quarter"], row["variation"], row["assurance"]) == ("2009/10 Q4", "improvement_high", "consistent_fail")
    # a quarter before the series' first figure has no reading: empty in CSV, null in JSON
    early = run("status", "--quarter", "2007/08 Q4", "--indicator", "NI 32", "--format", "csv", db=db, cwd=tmp_path)
    (line,) = csv.DictReader(io.StringIO(early.stdout))
    assert (line["status"], line["variation"], line["assurance"]) == ("NA", "", "")
    # 2008/09 Q3: three points, 10.2, 11.0, 11.8; mean 11, moving ranges 0.8 and 0.8: limits 8.872 to
    # 13.128; no rule breaks (too few points for a run or a trend; 11.8 is within 2/3 of the way to a
    # limit, 11 + 1.4187 = 12.42): common cause, and 27 is above the upper limit
    third = run("status", "--quarter", "2008/09 Q3", "--indicator", "NI 32", "--format", "json", db=db, cwd=tmp_path)
    (row,) = json.loads(third.stdout)
    assert (row["variation"], row["assurance"]) == ("common_cause", "consistent_fail")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("status", "--area", "High Peek"), 2, "error: Unknown area 'High Peek'; did you mean 'High Peak'?"),
        (("status", "--indicator", "NI 99"), 2, "error: Unknown indicator 'NI 99'"),
        (("status", "--quarter", "Q1 2010"), 2, "error: 'Q1 2010' is not a quarter; write '2010/11 Q1'"),
        (("validate", "missing.csv"), 1, "error: Cannot read missing.csv"),
        (("undo", "99"), 1, "error: There is no load 99"),
        (("init",), 1, "error: The database"),
        (("report", "--out", "/no/such/folder/pack.html"), 1, "error: The folder /no/such/folder does not exist"),
    ],
)
def test_errors_are_one_sentence_without_traceback(tmp_path: Path, db: Path, args, code, message) -> None:
    run("init", db=db, cwd=tmp_path)
    result = run(*args, db=db, cwd=tmp_path)
    assert result.returncode == code
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_validate_lists_every_problem_and_writes_nothing(tmp_path: Path, db: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("indicator,area,quarter,value\nNI 16,Derbyshire,2010/11 Q2,abc\nNI 77,Erewash,2010/11 Q2,3\n"
                   "NI 20,Erewash,2010/11 Q9,3\n", encoding="utf-8")
    result = run("validate", str(bad), db=db, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "bad.csv: 3 problem(s); nothing was written."
    assert lines[1].strip().startswith("line 2, column value: 'abc' is not a number")
    assert lines[2].strip().startswith("line 3, column indicator: unknown indicator 'NI 77'")
    assert lines[3].strip().startswith("line 4, column quarter:")
    assert not db.exists()


def test_load_a_new_quarter_then_revise_it(tmp_path: Path, db: Path) -> None:
    run("init", db=db, cwd=tmp_path)
    q2 = tmp_path / "q2.csv"
    q2.write_text("indicator,area,quarter,value\nNI 16,Derbyshire,2010/11 Q2,9.4\nNI 20,Derbyshire,2010/11 Q2,7.5\n",
                  encoding="utf-8")
    ok = run("validate", str(q2), db=db, cwd=tmp_path)
    assert (ok.returncode, ok.stdout.strip()) == (0, "q2.csv: 2 rows OK (2 indicators, 1 area, 2010/11 Q2).")
    loaded = run("load", str(q2), db=db, cwd=tmp_path)
    assert loaded.stdout.strip() == "q2.csv: load 11: 2 rows added, 0 revised, 0 unchanged."
    status = json.loads(run("status", "--format", "json", "--area", "Derbyshire", db=db, cwd=tmp_path).stdout)
    assert {r["indicator"]: r["status"] for r in status if r["value"] is not None} == {"NI 16": "GREEN",
                                                                                       "NI 20": "RED"}
    assert next(r for r in status if r["indicator"] == "NI 1")["reason"] == "no data"
    q2.write_text("indicator,area,quarter,value\nNI 16,Derbyshire,2010/11 Q2,9.4\nNI 20,Derbyshire,2010/11 Q2,7.0\n",
                  encoding="utf-8")
    again = run("load", str(q2), db=db, cwd=tmp_path)
    assert again.stdout.strip() == "q2.csv: load 12: 0 rows added, 1 revised, 1 unchanged."
    assert tables(db)["observation_history"][0][:5] == ("NI 20", "Derbyshire", "2010/11 Q2", 2010 * 4 + 1, 7.5)
    undone = run("undo", "12", db=db, cwd=tmp_path)
    assert undone.returncode == 0 and "1 earlier value restored" in undone.stdout
    listing = columns(run("loads", db=db, cwd=tmp_path).stdout)
    assert [(r["load_id"], r["kind"], r["file_name"], r["undoes"]) for r in listing[:3]] == [
        ("13", "undo", "q2.csv", "12"), ("12", "load", "q2.csv", ""), ("11", "load", "q2.csv", "")]
    assert listing[1]["undone_by"] == "13" and listing[1]["rows_revised"] == "1"
    assert listing[-1]["kind"] == "populations" and listing[-1]["file_name"] == "derbyshire.csv"


def test_a_bad_load_leaves_the_database_unchanged(tmp_path: Path, db: Path) -> None:
    run("init", db=db, cwd=tmp_path)
    before = tables(db)
    bad = tmp_path / "bad.csv"
    bad.write_text("indicator,area,quarter,value\nNI 16,Derbyshire,2010/11 Q2,9.4\nNI 16,Derbyshire,2010/11 Q2,9.5\n",
                   encoding="utf-8")
    result = run("load", str(bad), db=db, cwd=tmp_path)
    assert result.returncode == 1
    assert "line 3: repeats NI 16, Derbyshire, 2010/11 Q2 from line 2" in result.stderr
    assert tables(db) == before


def test_a_busy_database_is_reported_not_raised(tmp_path: Path, db: Path) -> None:
    run("init", db=db, cwd=tmp_path)
    holder = duckdb.connect(str(db))  # another process would hold the same lock
    try:
        result = run("status", db=db, cwd=tmp_path, env={"RAGBOARD_LOCK_WAIT": "0.5"})
    finally:
        holder.close()
    # this process holds the file, so the CLI (another process) cannot open it
    assert result.returncode == 1
    assert "is busy: another program is writing to it. Try again in a moment." in result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_catalogue_is_reported_with_paths(tmp_path: Path, db: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("county: X\nindicators:\n  - {id: A, name: a, better: down}\n", encoding="utf-8")
    result = run("status", "--config", str(bad), db=db, cwd=tmp_path)
    assert result.returncode == 2
    assert "indicators[0] (A).better: must be 'lower', 'higher' or 'neither', got 'down'" in result.stderr


def test_init_does_not_overwrite_revised_figures_unless_forced(tmp_path: Path, db: Path) -> None:
    assert run("init", db=db, cwd=tmp_path).returncode == 0  # loads 1 (populations) to 10
    fix = tmp_path / "fix.csv"
    fix.write_text("indicator,area,quarter,value\nNI 1,Derbyshire,2010/11 Q1,75.5\n", encoding="utf-8")
    assert run("load", str(fix), db=db, cwd=tmp_path).returncode == 0
    refused = run("init", db=db, cwd=tmp_path)
    assert refused.returncode == 1
    assert "already holds 11 load(s)" in refused.stderr and "init --force" in refused.stderr
    value = "SELECT value FROM observations WHERE indicator = 'NI 1' AND area = 'Derbyshire' AND qi = 8040"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(value).fetchone() == (75.5,)
    forced = run("init", "--force", db=db, cwd=tmp_path)
    assert forced.returncode == 0 and "2010-11-Q1.csv: load 21: 0 rows added, 1 revised, 26 unchanged." in forced.stdout
    assert "populations/derbyshire.csv: load 12: 0 rows added, 0 revised, 24 unchanged." in forced.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(value).fetchone() == (74.1,)
    assert run("undo", "21", db=db, cwd=tmp_path).returncode == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(value).fetchone() == (75.5,)


# --- Defects found trying the command line as a new user ------------------------------------------

def test_status_piped_into_head_exits_cleanly(tmp_path: Path, db: Path) -> None:
    run("init", db=db, cwd=tmp_path)
    env = {**os.environ, "RAGBOARD_DB": str(db), "PYTHONPATH": str(ROOT)}
    env.pop("RAGBOARD_CONFIG", None)
    for reader in ("head -1", "true"):  # true reads nothing and exits: every write meets a closed pipe
        result = subprocess.run(f"{sys.executable} -m pipelines status | {reader}; echo \"exit ${{PIPESTATUS[0]}}\"",
                                shell=True, executable="/bin/bash", cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.stdout.splitlines()[-1] == "exit 0", reader
        assert result.stderr == "", reader
    assert result.stdout.splitlines()[0] == "exit 0"


def test_status_with_another_catalogue_and_no_database_says_nothing_is_loaded(tmp_path: Path, db: Path) -> None:
    own = tmp_path / "own.yaml"
    own.write_text("county: Kent\nindicators:\n  - {id: NI 16, name: Crime, better: lower, targets: {2010/11: 1}}\n",
                   encoding="utf-8")
    result = run("status", "--config", str(own), db=db, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: Nothing is loaded yet: there is no database at {db}. Load a quarter"
                                     " first with 'python -m pipelines load FILE.csv' (it creates the database).")
    assert not db.exists()


@pytest.mark.parametrize("command", [("loads",), ("undo", "3")])
def test_commands_that_need_a_database_do_not_create_one(tmp_path: Path, command: tuple[str, ...]) -> None:
    typo = tmp_path / "ragbaord.duckdb"
    result = run(*command, db=typo, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: There is no database at {typo}; run 'python -m pipelines init'."
    assert not typo.exists()
