"""SPC readings for every series at national scale (issue 11: 30,000 series x 40 quarters in <= 2 s).

Run after ``benchmarks/generate.py`` and ``benchmarks/run.py`` (which leaves the 40-quarter database
``out/work/full40.duckdb``)::

    .venv/bin/python benchmarks/spc.py [--repeat 5]

Times ``pipelines.stats.spc.readings`` in process: every indicator x area (300 areas x 100
indicators), each series' XmR chart over all its quarters up to 2009/10 Q4, its last point's type,
variation and assurance. Prints best and median, and how the readings fall.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
TARGET_S = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from pipelines.catalogue import config
    from pipelines.stats import spc
    from pipelines.storage import store

    db = OUT / "work" / "full40.duckdb"
    if not db.exists():
        raise SystemExit(f"{db} is missing: run benchmarks/generate.py, then benchmarks/run.py")
    cat = config.load(OUT / "indicators.yaml")
    times = []
    with store.connect(db, read_only=True) as con:
        for _ in range(args.repeat):
            started = time.perf_counter()
            rows = spc.readings(con, cat, 2009 * 4 + 3)
            times.append(time.perf_counter() - started)
    best, median = min(times), statistics.median(times)
    print(f"SPC readings, {len(rows):,} series x up to 40 quarters: best {best:.2f} s, median {median:.2f} s"
          f" (target <= {TARGET_S} s): {'PASS' if best <= TARGET_S else 'FAIL'}")
    print("variation:", dict(Counter(r["variation"] for r in rows).most_common()))
    print("assurance:", dict(Counter(r["assurance"] for r in rows).most_common()))
    return 0 if best <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
