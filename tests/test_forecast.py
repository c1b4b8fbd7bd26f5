"""Year-end forecasts from the database (issue 13): each year_end, the figures up to the quarter asked
only, retired indicators, and the forecast command. The method's arithmetic is checked on its own in
test_forecast_method.py; here the series are built so that every earlier year has the same shape,
so each forecast is exact and worked by hand."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import ROOT
from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.stats import forecast
from pipelines.storage import store

Q2 = 2010 * 4 + 1  # 2010/11 Q2

CATALOGUE: dict[str, Any] = {
    "county": "Shire", "districts": ["East"],
    "indicators": [
        {"id": "S", "name": "A count", "better": "lower", "year_end": "sum", "targets": {"2010/11": 110}},
        {"id": "M", "name": "A mean", "better": "lower", "year_end": "mean", "targets": {"2010/11": 31}},
        {"id": "L", "name": "A snapshot", "better": "lower", "targets": {"2010/11": 50}},  # last, the default
        {"id": "GONE", "name": "Retired", "better": "lower", "until": "2010/11 Q1", "targets": {"2010/11": 1}},
    ],
}
# Three earlier years with the same shape, 10, 20, 30, 40; this year so far 12 and 24
EARLIER = {"2007/08": (10, 20, 30, 40), "2008/09": (10, 20, 30, 40), "2009/10": (10, 20, 30, 40)}
THIS_YEAR = (12, 24)


def rows(extra: str = "") -> str:
    lines = ["indicator,area,quarter,value"]
    for ind in ("S", "M", "L", "GONE"):
        for year, values in EARLIER.items():
            lines += [f"{ind},Shire,{year} Q{q},{v}" for q, v in enumerate(values, start=1)]
        lines += [f"{ind},Shire,2010/11 Q{q},{v}" for q, v in enumerate(THIS_YEAR, start=1)]
    return "\n".join(lines) + "\n" + extra


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "forecast.duckdb"
    load(path, rows())
    return path


def load(db: Path, text: str) -> None:
    with store.connect(db) as con:
        upload = loading.read_upload(text.encode(), "rows.csv", config.parse(CATALOGUE))
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)


def outlooks(db: Path, asof: int) -> dict[str, forecast.Forecast]:
    with store.connect(db, read_only=True) as con:
        return {o.indicator: o.forecast for o in forecast.outlooks(con, config.parse(CATALOGUE), asof, ["Shire"])}


def test_each_year_end_projects_the_year_so_far_by_the_earlier_years_shape(db: Path) -> None:
    got = outlooks(db, Q2)
    # sum: each earlier year ended at 100 after 30 by Q2 (× 10/3); 12 + 24 = 36 → 120, above 110: off track
    s = got["S"]
    assert (s.year, s.quarters_known, s.years_used) == (2010, 2, 3)
    assert (s.forecast, s.lower, s.upper) == (pytest.approx(120), pytest.approx(120), pytest.approx(120))
    assert (s.probability, s.status) == (0.0, "off_track")
    # mean: 25 after 15 (× 5/3); (12 + 24) / 2 = 18 → 30, under 31: on track
    m = got["M"]
    assert (m.forecast, m.probability, m.status) == (pytest.approx(30), 1.0, "on_track")
    # last: the fourth quarter's 40 after the second's 20 (× 2); 24 → 48, under 50: on track
    last = got["L"]
    assert (last.forecast, last.target, last.status) == (pytest.approx(48), 50, "on_track")


def test_a_forecast_uses_no_later_figure(db: Path) -> None:
    before = outlooks(db, Q2)
    load(db, "indicator,area,quarter,value\nS,Shire,2010/11 Q3,1000\nL,Shire,2010/11 Q3,1000\n")
    assert outlooks(db, Q2) == before  # as of Q2, Q3's figure is never read
    # as of Q3 it is: 12 + 24 + 1000 = 1036, × 100/60 = 1726.67
    after = outlooks(db, Q2 + 1)
    assert (after["S"].quarters_known, after["S"].forecast) == (3, pytest.approx(1036 * 100 / 60))


def test_a_known_year_end_is_the_figure_itself(db: Path) -> None:
    load(db, "indicator,area,quarter,value\nS,Shire,2010/11 Q3,30\nS,Shire,2010/11 Q4,40\n")
    s = outlooks(db, Q2 + 2)["S"]
    # 12 + 24 + 30 + 40 = 106, at or under 110: met
    assert (s.quarters_known, s.forecast, s.lower, s.upper, s.probability, s.status) == (
        4, 106, 106, 106, 1.0, "on_track")


def test_a_retired_indicator_has_no_forecast_after_its_last_quarter(db: Path) -> None:
    assert "GONE" in outlooks(db, Q2 - 1) and "GONE" not in outlooks(db, Q2)


def test_too_few_earlier_years_is_no_forecast(tmp_path: Path) -> None:
    path = tmp_path / "short.duckdb"
    load(path, "indicator,area,quarter,value\n" + "".join(
        f"S,Shire,2009/10 Q{q},{v}\n" for q, v in enumerate((10, 20, 30, 40), start=1)) + "S,Shire,2010/11 Q1,12\n")
    s = outlooks(path, Q2 - 1)["S"]
    assert (s.forecast, s.reason, s.years_used, s.quarters_known) == (None, "too_few_years", 1, 1)


def test_the_forecast_command(db: Path, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(yaml.safe_dump(CATALOGUE), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "forecast", "--config", str(catalogue), "--db", str(db),
         "--quarter", "2010/11 Q2", "--indicator", "S", "--area", "Shire", "--format", "csv"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    (line,) = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(line) == ["indicator", "area", "year", "quarters_known", "forecast", "forecast_lower",
                          "forecast_upper", "target", "probability_on_target", "forecast_status"]
    assert (line["indicator"], line["area"], line["year"], line["quarters_known"]) == ("S", "Shire", "2010/11", "2")
    assert (float(line["forecast"]), float(line["target"]), line["forecast_status"]) == (
        pytest.approx(120), 110, "off_track")
