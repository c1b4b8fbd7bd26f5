"""Measure ragboard against bare DuckDB on the national-scale data of generate.py.

Run ``.venv/bin/python benchmarks/generate.py`` first. Each figure is a ratio against a
bare process doing the same work on the same data in the same run; processes are timed
as wholes (start-up, imports and output included), best of N, engine and bare runs
interleaved so that background load hits both alike.

1. ``python -m pipelines status --quarter Q --format csv`` vs ``python -c "import duckdb; ..."``
   running one hand-written status query (observation + target + previous quarter + year
   earlier; CASE for GREEN/AMBER/RED/GREY/NA) and printing every row. Target: within 1.5x.
2. ``python -m pipelines load q40.csv`` (full validation) on a copy of the 39-quarter
   database vs one plain ``INSERT INTO observations ... SELECT * FROM read_csv(...)`` of the
   same file into a copy of the same database. Target: within 2x.
3. In process: ``status.query(con, cat, all 40 quarters, indicators=[one])``. Target: < 0.3 s.

Usage: .venv/bin/python benchmarks/run.py [--repeat N] [--trend-repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
MANIFEST = OUT / "manifest.json"
WORK = OUT / "work"
PY = sys.executable

STATUS_TARGET = 1.5
LOAD_TARGET = 2.0
TREND_TARGET_S = 0.3
TREND_INDICATOR = "BI 001"

# The baseline's status query, written by hand: the same joins as the engine's (the
# observation, the area's own target else the default one, the previous quarter and the
# same quarter a year earlier), the same rule, and since issue 10 the same interval, significance and
# count columns (the benchmark data has supplied intervals only), and since issue 11 the SPC reading
# of each series up to the quarter (the XmR chart's last point, its rules written as lags: nothing
# comes after a last point, so every run, trend or two-in-three it is part of ends at it), over the
# tables generate.py left in
BARE_STATUS_SQL = """
WITH pts AS (
    SELECT o.indicator, o.area, o.qi, o.value, i.better,
        avg(o.value) OVER s AS mean, abs(o.value - lag(o.value) OVER w) AS mr, max(o.qi) OVER s AS last_qi,
        lag(o.value, 1) OVER w AS v1, lag(o.value, 2) OVER w AS v2, lag(o.value, 3) OVER w AS v3,
        lag(o.value, 4) OVER w AS v4, lag(o.value, 5) OVER w AS v5, lag(o.value, 6) OVER w AS v6
    FROM observations o JOIN bench_indicators i ON i.indicator = o.indicator
    WHERE o.qi <= $qi AND o.value IS NOT NULL
    WINDOW s AS (PARTITION BY o.indicator, o.area), w AS (PARTITION BY o.indicator, o.area ORDER BY o.qi)
), all_ranges AS (
    SELECT *, avg(mr) OVER (PARTITION BY indicator, area) AS amr_all FROM pts
), screened AS (
    SELECT *, avg(CASE WHEN mr < 3.267 * amr_all THEN mr END) OVER (PARTITION BY indicator, area) AS amr
    FROM all_ranges
), last_point AS (
    SELECT l.*, mean + 2.66 * amr AS ul, mean - 2.66 * amr AS ll,
        mean + (2 * 2.66 / 3) * amr AS nu, mean - (2 * 2.66 / 3) * amr AS nl,
        coalesce(own.target, dflt.target) AS spc_target
    FROM screened l
    LEFT JOIN bench_targets own ON own.indicator = l.indicator AND own.area = l.area AND own.fy = l.qi // 4
    LEFT JOIN bench_targets dflt ON dflt.indicator = l.indicator AND dflt.area = '' AND dflt.fy = l.qi // 4
    WHERE l.qi = l.last_qi
), ruled AS (
    SELECT *, coalesce(
        CASE WHEN value > ul THEN 1 WHEN value < ll THEN -1 END,
        CASE WHEN value > v1 AND v1 > v2 AND v2 > v3 AND v3 > v4 AND v4 > v5 AND v5 > v6 THEN 1
             WHEN value < v1 AND v1 < v2 AND v2 < v3 AND v3 < v4 AND v4 < v5 AND v5 < v6 THEN -1 END,
        CASE WHEN value > nu AND value <= ul AND v1 > mean AND v2 > mean
                  AND ((v1 > nu AND v1 <= ul) OR (v2 > nu AND v2 <= ul)) THEN 1
             WHEN value < nl AND value >= ll AND v1 < mean AND v2 < mean
                  AND ((v1 < nl AND v1 >= ll) OR (v2 < nl AND v2 >= ll)) THEN -1 END,
        CASE WHEN least(value, v1, v2, v3, v4, v5, v6) > mean THEN 1
             WHEN greatest(value, v1, v2, v3, v4, v5, v6) < mean THEN -1 END) AS way
    FROM last_point
), reading AS (
    SELECT indicator, area,
        CASE WHEN way IS NULL THEN 'common_cause'
             ELSE CASE WHEN better = 'neither' THEN 'neither' WHEN (way = 1) = (better = 'higher')
                       THEN 'improvement' ELSE 'concern' END || CASE WHEN way = 1 THEN '_high' ELSE '_low' END
        END AS variation,
        CASE WHEN spc_target IS NULL OR better = 'neither' THEN NULL
             WHEN (better = 'higher' AND ll > spc_target) OR (better = 'lower' AND ul < spc_target)
                 THEN 'consistent_pass'
             WHEN (better = 'higher' AND ul < spc_target) OR (better = 'lower' AND ll > spc_target)
                 THEN 'consistent_fail'
             ELSE 'inconsistent' END AS assurance
    FROM ruled
), j AS (
    SELECT o.indicator, o.area, o.quarter, o.value, o.lower, o.upper, o.numerator, o.denominator,
        i.better, i.band_kind, i.band, i.grey, i.ind_pos,
        coalesce(own.target, dflt.target) AS target, p.value AS prev, y.value AS year_ago,
        CASE WHEN o.area <> 'Nationshire' THEN 'Nationshire' END AS parent, c.value AS county_value
    FROM observations o
    JOIN bench_indicators i ON i.indicator = o.indicator
    LEFT JOIN bench_targets own ON own.indicator = o.indicator AND own.area = o.area AND own.fy = o.qi // 4
    LEFT JOIN bench_targets dflt ON dflt.indicator = o.indicator AND dflt.area = '' AND dflt.fy = o.qi // 4
    LEFT JOIN observations p ON p.indicator = o.indicator AND p.area = o.area AND p.qi = o.qi - 1
    LEFT JOIN observations y ON y.indicator = o.indicator AND y.area = o.area AND y.qi = o.qi - 4
    LEFT JOIN observations c ON c.indicator = o.indicator AND c.area = 'Nationshire' AND c.qi = o.qi
    WHERE o.qi = $qi
), m AS (
    SELECT *,
        round(CASE better WHEN 'lower' THEN value - target ELSE target - value END, 9) AS shortfall,
        round(CASE band_kind WHEN 'percent' THEN band * abs(target) / 100 ELSE band END, 9) AS band_width
    FROM j LEFT JOIN reading USING (indicator, area)
)
SELECT indicator, area, quarter, value, target, shortfall,
    CASE WHEN target <> 0 THEN round(shortfall / abs(target) * 100, 9) END AS percent_off,
    CASE
        WHEN value IS NULL OR target IS NULL THEN 'NA'
        WHEN grey AND lower <= target AND target <= upper THEN 'GREY'
        WHEN shortfall <= 0 THEN 'GREEN'
        WHEN shortfall <= band_width THEN 'AMBER'
        ELSE 'RED'
    END AS status,
    CASE WHEN value IS NULL OR prev IS NULL THEN NULL
         WHEN round(value - prev, 9) = 0 THEN 'no change'
         WHEN (better = 'lower') = (value < prev) THEN 'improving' ELSE 'worsening' END AS direction,
    CASE WHEN value IS NULL OR year_ago IS NULL THEN NULL
         WHEN round(value - year_ago, 9) = 0 THEN 'no change'
         WHEN (better = 'lower') = (value < year_ago) THEN 'improving' ELSE 'worsening' END AS direction_year,
    numerator, denominator, lower AS ci_lower, upper AS ci_upper,
    CASE WHEN lower IS NOT NULL AND upper IS NOT NULL THEN 'supplied' END AS ci_method,
    CASE WHEN lower IS NULL OR upper IS NULL OR target IS NULL OR value IS NULL THEN NULL
         WHEN lower <= target AND target <= upper THEN 'similar'
         WHEN (value < target) = (better = 'lower') THEN 'better' ELSE 'worse' END AS significance,
    NULL AS aggregated_from, variation, assurance,
    -- the county is every district's parent and the benchmark; it is compared with neither
    parent, CASE WHEN parent IS NOT NULL THEN county_value END AS parent_value,
    CASE WHEN parent IS NULL OR lower IS NULL OR upper IS NULL OR county_value IS NULL OR value IS NULL THEN NULL
         WHEN lower <= county_value AND county_value <= upper THEN 'similar'
         WHEN (value < county_value) = (better = 'lower') THEN 'better' ELSE 'worse' END AS vs_parent,
    'Nationshire' AS benchmark, county_value AS benchmark_value,
    CASE WHEN parent IS NULL OR lower IS NULL OR upper IS NULL OR county_value IS NULL OR value IS NULL THEN NULL
         WHEN lower <= county_value AND county_value <= upper THEN 'similar'
         WHEN (value < county_value) = (better = 'lower') THEN 'better' ELSE 'worse' END AS vs_benchmark
FROM m
ORDER BY ind_pos, area
"""

BARE_STATUS_PROGRAM = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute(sys.argv[2], {"qi": int(sys.argv[3])}).fetchall()
print("indicator,area,quarter,value,target,shortfall,percent_off,status,direction,direction_year,numerator,"
      "denominator,ci_lower,ci_upper,ci_method,significance,aggregated_from,variation,assurance,"
      "parent,parent_value,vs_parent,benchmark,benchmark_value,vs_benchmark")
print("\\n".join(",".join("" if v is None else str(v) for v in r) for r in rows))
"""

BARE_LOAD_PROGRAM = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute(
    "INSERT INTO observations BY NAME SELECT *,"
    " CAST(substr(quarter, 1, 4) AS INTEGER) * 4 + CAST(right(quarter, 1) AS INTEGER) - 1 AS qi,"
    " 40 AS load_id FROM read_csv($path)", {"path": sys.argv[2]})
con.close()
"""

def machine() -> dict:
    import duckdb

    info = {"cores": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
            "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1048576, 1)
        info["loadavg_at_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    return info


def run(cmd: list[str], *, stdout=subprocess.DEVNULL) -> float:
    """Wall time of one whole process; a failure stops the benchmark."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return elapsed


def fresh_copy(src: Path, name: str) -> Path:
    dst = WORK / name
    for p in (dst, dst.with_name(dst.name + ".wal")):
        p.unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    return dst


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def bench_load(m: dict, repeat: int) -> tuple[dict, Path]:
    base, config, q40 = Path(m["base_db"]), m["config"], m["files"][-1]
    engine_cmd = lambda db: [PY, "-m", "pipelines", "load", q40, "--config", config, "--db", str(db)]  # noqa: E731
    bare_cmd = lambda db: [PY, "-c", BARE_LOAD_PROGRAM, str(db), q40]  # noqa: E731
    engine, bare = [], []
    for _ in range(repeat):
        engine.append(run(engine_cmd(fresh_copy(base, "engine-load.duckdb"))))
        bare.append(run(bare_cmd(fresh_copy(base, "bare-load.duckdb"))))
    # keep the engine's 40-quarter database for the status and trend benchmarks
    full = WORK / "full40.duckdb"
    full.unlink(missing_ok=True)
    (WORK / "engine-load.duckdb").rename(full)
    return {"engine_s": engine, "bare_s": bare}, full


def bench_status(m: dict, db: Path, quarter: str, qi: int, repeat: int, fmt: str = "csv") -> dict:
    config = m["config"]
    engine_cmd = [PY, "-m", "pipelines", "status", "--quarter", quarter, "--format", fmt,
                  "--config", config, "--db", str(db)]
    bare_cmd = [PY, "-c", BARE_STATUS_PROGRAM, str(db), BARE_STATUS_SQL, str(qi)]
    engine, bare = [], []
    for _ in range(repeat):
        engine.append(run(engine_cmd))
        bare.append(run(bare_cmd))
    return {"engine_s": engine, "bare_s": bare}


def check_same_statuses(m: dict, db: Path, qi: int) -> str:
    """The baseline must compute what the engine computes, or its time means nothing."""
    sys.path.insert(0, str(ROOT))
    from pipelines.catalogue import config
    from pipelines.present import words
    from pipelines.storage import store

    cat = config.load(m["config"])
    compared = ["status", "direction", "direction_year", "ci_lower", "ci_upper", "ci_method", "significance",
                "variation", "assurance", "parent_value", "vs_parent", "benchmark_value", "vs_benchmark"]
    with store.connect(db, read_only=True) as con:
        _, rows = words.status_table(con, cat, [qi], columns=["indicator", "area", *compared])
        engine = {(r[0], r[1]): tuple(r[2:]) for r in rows}
        bare = {(r[0], r[1]): (r[7], r[8], r[9], r[12], r[13], r[14], r[15], r[17], r[18], r[20], r[21], r[23], r[24])
                for r in con.execute(BARE_STATUS_SQL, {"qi": qi}).fetchall()}
    if engine != bare:
        diff = [k for k in engine if engine[k] != bare.get(k)][:5]
        raise SystemExit(f"the baseline disagrees with the engine ({len(engine)} vs {len(bare)} rows), e.g. {diff}")
    counts: dict[str, int] = {}
    for s, *_ in engine.values():
        counts[s] = counts.get(s, 0) + 1
    special = sum(1 for v in engine.values() if v[7] not in (None, "common_cause"))
    return (f"{len(engine)} rows, identical statuses, directions, intervals, significance, SPC readings and"
            " comparisons with the parent and the benchmark"
            f" ({special} special causes): ") + ", ".join(
        f"{k} {v}" for k, v in sorted(counts.items()))


def bench_trend(m: dict, db: Path, repeat: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from pipelines.catalogue import config
    from pipelines.rules import status
    from pipelines.storage import store

    cat = config.load(m["config"])
    qis = m["quarter_indexes"]
    times = []
    with store.connect(db, read_only=True) as con:
        rows = status.query(con, cat, qis, indicators=[TREND_INDICATOR])  # warm-up (not timed)
        for _ in range(repeat):
            t = time.perf_counter()
            rows = status.query(con, cat, qis, indicators=[TREND_INDICATOR])
            times.append(time.perf_counter() - t)
    return {"times_s": times, "rows": len(rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="process runs per side (best is reported)")
    parser.add_argument("--trend-repeat", type=int, default=9)
    args = parser.parse_args()
    if not MANIFEST.exists():
        raise SystemExit("no benchmark data; run .venv/bin/python benchmarks/generate.py first")
    m = json.loads(MANIFEST.read_text())
    WORK.mkdir(parents=True, exist_ok=True)

    mach = machine()
    print("machine: {cores} cores, {memory_gb} GB, {cpu}; Python {python}, DuckDB {duckdb};"
          " load average at start {la}".format(la=" ".join(mach.get("loadavg_at_start", [])), **mach))
    print(f"data: {len(m['files'])} quarters x 30,000 rows ({m['quarters'][0]} .. {m['quarters'][-1]});"
          f" base database: {len(m['files']) - 1} quarters loaded through the engine"
          + (f" in {m['engine_load_39_quarters_s']} s" if "engine_load_39_quarters_s" in m else ""))
    # warm-up: byte-compile and page-cache everything once, untimed
    run([PY, "-m", "pipelines", "validate", m["files"][-1], "--config", m["config"]])
    results: dict = {"machine": mach}

    load, full = bench_load(m, args.repeat)
    qi, quarter = m["quarter_indexes"][-1], m["quarters"][-1]
    print(f"check: {check_same_statuses(m, full, qi)}")
    st = bench_status(m, full, quarter, qi, args.repeat)
    st_table = bench_status(m, full, quarter, qi, max(2, args.repeat // 2), fmt="table")
    trend = bench_trend(m, full, args.trend_repeat)

    figures = []
    # the bare status process ran alongside all three engine variants: its best run is the baseline
    bare_best = min(st["bare_s"] + st_table["bare_s"])
    s_ratio = min(st["engine_s"]) / bare_best
    figures.append(("status, one quarter (whole process, --format csv)", min(st["engine_s"]), bare_best,
                    s_ratio, f"<= {STATUS_TARGET}x", s_ratio <= STATUS_TARGET))
    l_ratio = min(load["engine_s"]) / min(load["bare_s"])
    figures.append(("load, one 30,000-row quarter (whole process)", min(load["engine_s"]), min(load["bare_s"]),
                    l_ratio, f"<= {LOAD_TARGET}x", l_ratio <= LOAD_TARGET))
    print()
    print(f"{'benchmark':50} {'engine':>8} {'bare':>8} {'ratio':>7}  {'target':>8}  result")
    for name, e, b, r, target, ok in figures:
        print(f"{name:50} {e:7.3f}s {b:7.3f}s {r:6.2f}x  {target:>8}  {verdict(ok)}")
    best, median = min(trend["times_s"]), statistics.median(trend["times_s"])
    ok_trend = best < TREND_TARGET_S and median < TREND_TARGET_S
    print(f"{'trend, 40 quarters x 300 areas, one indicator':50} best {best:.3f}s, median {median:.3f}s"
          f" ({trend['rows']} rows)  target < {TREND_TARGET_S}s  {verdict(ok_trend)}")
    t_ratio = min(st_table["engine_s"]) / bare_best
    print(f"(info) status --format table: {min(st_table['engine_s']):.3f}s, {t_ratio:.2f}x the bare csv print")
    print()
    print("all runs (s):")
    for label, data in (("status csv", st), ("status table", st_table), ("load", load)):
        print(f"  {label:12} engine {' '.join(f'{x:.3f}' for x in data['engine_s'])}"
              f" | bare {' '.join(f'{x:.3f}' for x in data['bare_s'])}")
    print(f"  trend        {' '.join(f'{x:.3f}' for x in trend['times_s'])}")

    results.update({"status_csv": st, "status_table": st_table,
                    "load": load, "trend": trend,
                    "ratios": {"status": s_ratio, "load": l_ratio},
                    "pass": {"status": s_ratio <= STATUS_TARGET, "load": l_ratio <= LOAD_TARGET,
                             "trend": ok_trend}})
    (OUT / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0 if all(results["pass"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
