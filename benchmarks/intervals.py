"""What intervals and significance cost `status` at national scale (issue 10: at most 20% more).

Run after ``benchmarks/generate.py``::

    .venv/bin/python benchmarks/intervals.py [--repeat 7]

It copies the 39-quarter national database (300 areas x 100 indicators) and gives every row
counts behind its figure: numerator = the value x 10, denominator = 10,000, and the value made
numerator / denominator x 1,000 so the two agree. Two catalogues then read the same rows:

- ``values``: the generated catalogue, every indicator ``measure: value`` (the counts are ignored);
- ``counts``: the same, with the odd-numbered indicators ``measure: rate, per: 1000`` and the even
  ones ``measure: proportion, per: 1000``, so every row of every indicator gets its figure from
  its counts, a Wilson, exact or Byar interval, and a significance against its target, and each
  indicator at both levels has the county's sums of its districts ready (the county's own row wins).

It times ``python -m pipelines status --quarter <last> --format csv`` as a whole process under each
catalogue (interleaved, best of --repeat), and the in-process query (``status.table``), and prints
the ratios. The target is counts / values <= 1.2.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
WORK = OUT / "work"
PY = sys.executable
TARGET = 1.2


def counts_catalogue(values_yaml: str) -> str:
    """The catalogue with every indicator a rate or a proportion (per 1,000)."""
    def add_measure(match: re.Match[str]) -> str:
        number = int(match.group(2))
        measure = "rate" if number % 2 else "proportion"
        return f"{match.group(0)}\n    measure: {measure}\n    per: 1000"
    return re.sub(r"  - id: (BI (\d+))", add_measure, values_yaml)


def build(base: Path, db: Path) -> None:
    import duckdb
    shutil.copy(base, db)
    con = duckdb.connect(str(db))
    # every value becomes a count per 10,000: value = numerator / 10,000 x 1,000, to 0.1
    con.execute("UPDATE observations SET numerator = round(value * 10), denominator = 10000,"
                " value = round(value * 10) / 10000 * 1000 WHERE value IS NOT NULL")
    con.close()


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return time.perf_counter() - t


def in_process(db: Path, config_path: Path, qi: int, repeat: int) -> tuple[float, int, dict[str, int]]:
    from pipelines.catalogue import config
    from pipelines.rules import status
    from pipelines.storage import store
    cat = config.load(config_path)
    best = float("inf")
    with store.connect(db, read_only=True) as con:
        for _ in range(repeat):
            t = time.perf_counter()
            columns, rows = status.table(con, cat, [qi])
            best = min(best, time.perf_counter() - t)
    methods: dict[str, int] = {}
    at = columns.index("ci_method")
    for row in rows:
        methods[str(row[at])] = methods.get(str(row[at]), 0) + 1
    return best, len(rows), methods


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    manifest = json.loads((OUT / "manifest.json").read_text())
    WORK.mkdir(parents=True, exist_ok=True)
    values_cfg = Path(manifest["config"])
    counts_cfg = WORK / "indicators-counts.yaml"
    counts_cfg.write_text(counts_catalogue(values_cfg.read_text()))
    db = WORK / "counts.duckdb"
    build(OUT / "base.duckdb", db)
    quarter = "2009/10 Q3"  # the last quarter in the 39-quarter base
    qi = 2009 * 4 + 2

    def cmd(cfg: Path) -> list[str]:
        return [PY, "-m", "pipelines", "status", "--quarter", quarter, "--format", "csv",
                "--config", str(cfg), "--db", str(db)]

    for cfg in (values_cfg, counts_cfg):
        timed(cmd(cfg))  # warm the catalogue cache and the file system
    plain, counted = [], []
    for _ in range(args.repeat):
        plain.append(timed(cmd(values_cfg)))
        counted.append(timed(cmd(counts_cfg)))
    q_plain, n, _ = in_process(db, values_cfg, qi, args.repeat)
    q_counted, n2, methods = in_process(db, counts_cfg, qi, args.repeat)
    ratio = min(counted) / min(plain)
    print(f"status of {quarter}, {n:,} rows ({n2:,} with counts: intervals {methods})")
    print(f"  whole process, best of {args.repeat}: values {min(plain):.3f} s, counts {min(counted):.3f} s,"
          f" ratio {ratio:.2f}x (target <= {TARGET}x): {'PASS' if ratio <= TARGET else 'FAIL'}")
    print(f"  the query alone (status.table): values {q_plain:.3f} s, counts {q_counted:.3f} s,"
          f" ratio {q_counted / q_plain:.2f}x")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
