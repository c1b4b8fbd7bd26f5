"""Issue 14's benchmark: ragboard on a lake (DuckLake: its catalog in a PostgreSQL server this script
starts, its data as Parquet in a local folder) at national scale, against the DuckDB file.

Run ``benchmarks/generate.py`` first (the national catalogue and 40 quarters of 30,000 rows). Then

    .venv/bin/python benchmarks/lake.py [--repeat 3]

1. Quarters 1 to 31 are loaded through the engine into a new lake and into a new file.
2. ``status --quarter <31st> --format csv`` as a whole process on each, best of --repeat, interleaved.
   Target: the lake within 1.5x of the file.
3. One load of quarter 32 into the lake (the CLI, a whole process), then 8 loads of quarters 33 to 40
   started at once, as 8 processes. Target: all land, in a total time within 3x the one load.
4. ``benchmarks/pages.py`` on the lake: every page's rerun. Target: under 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
DATA = OUT / "data"
CONFIG = OUT / "indicators.yaml"
WORK = OUT / "lake"
STATUS_TARGET, LOADS_TARGET, PAGE_TARGET_S = 1.5, 3.0, 1.0
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def label(qi: int) -> str:
    return f"{qi // 4}/{(qi // 4 + 1) % 100:02d} Q{qi % 4 + 1}"


def cli(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    return time.perf_counter() - started, done


def fill(where: str, files: list[Path]) -> float:
    from pipelines.catalogue import config
    from pipelines.ingest import loading
    from pipelines.storage import store

    catalogue = config.load(CONFIG)
    started = time.perf_counter()
    with store.connect(where) as con:
        for path in files:
            loading.load(con, loading.read_file(path, catalogue))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(DATA.glob("q*.csv"))
    if len(files) < 40 or not CONFIG.exists():
        print("Run benchmarks/generate.py first.", file=sys.stderr)
        return 2
    from helpers import Postgres
    from pipelines.storage import backend

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    server = Postgres.start()
    failures = 0
    try:
        lake = server.new_lake()
        env = {**os.environ, "RAGBOARD_CONFIG": str(CONFIG), "RAGBOARD_DATA_PATH": str(WORK / "data")}
        os.environ.update({"RAGBOARD_CONFIG": str(CONFIG), "RAGBOARD_DATA_PATH": str(WORK / "data")})
        file_db = WORK / "file.duckdb"
        print(f"filling quarters 1 to 31 (30,000 rows each): lake {fill(lake, files[:31]):.1f} s,"
              f" file {fill(str(file_db), files[:31]):.1f} s")
        backend.close_lakes()

        quarter = label(2000 * 4 + 30)
        lake_env, file_env = {**env, "RAGBOARD_STORE": lake}, {**env, "RAGBOARD_DB": str(file_db)}
        lake_times, file_times = [], []
        for _ in range(args.repeat):
            for times, run_env in ((lake_times, lake_env), (file_times, file_env)):
                took, done = cli(run_env, "status", "--quarter", quarter, "--format", "csv")
                assert done.returncode == 0, done.stderr
                times.append(took)
        ratio = min(lake_times) / min(file_times)
        verdict = "PASS" if ratio <= STATUS_TARGET else "FAIL"
        failures += verdict == "FAIL"
        print(f"status {quarter}, 30,000 rows: lake {min(lake_times):.3f} s, file {min(file_times):.3f} s:"
              f" {ratio:.2f}x (target <= {STATUS_TARGET}x): {verdict}")

        one, done = cli(lake_env, "load", str(files[31]))
        assert done.returncode == 0, done.stderr
        started = time.perf_counter()
        writers = [subprocess.Popen([sys.executable, "-m", "pipelines", "load", str(path)], cwd=ROOT, env=lake_env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for path in files[32:40]]
        results = [w.communicate(timeout=1800) for w in writers]
        total = time.perf_counter() - started
        landed = sum(w.returncode == 0 for w in writers)
        verdict = "PASS" if landed == 8 and total <= LOADS_TARGET * one else "FAIL"
        failures += verdict == "FAIL"
        print(f"one load of 30,000 rows: {one:.1f} s; 8 at once: {landed} of 8 landed in {total:.1f} s,"
              f" {total / one:.1f}x one load (target <= {LOADS_TARGET}x): {verdict}")
        for w, (_, err) in zip(writers, results, strict=True):
            if w.returncode:
                print(f"  refused: {err.strip()}")

        pages = subprocess.run([sys.executable, str(HERE / "pages.py")], cwd=ROOT, env=lake_env,
                               capture_output=True, text=True, timeout=1800, check=False)
        print("pages on the lake (benchmarks/pages.py):")
        print("\n".join("  " + line for line in pages.stdout.splitlines()))
        failures += pages.returncode != 0
    finally:
        server.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
