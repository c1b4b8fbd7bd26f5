"""Every dashboard page's rerun after a selection change, at national scale (issue 3).

Run ``benchmarks/generate.py`` first. Each page runs in Streamlit's AppTest (the same
script run the server does on a click) over a copy of the 39-quarter national database
(300 areas x 100 indicators). The quarter is then changed in the sidebar and the rerun is
timed; a different quarter each time, so every timing includes its queries, not a cache
hit. Target: under 1 s for every page.

Usage: .venv/bin/python benchmarks/pages.py [--changes N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
TARGET_S = 1.0
sys.path.insert(0, str(ROOT))

PAGES = [
    ("Overview", "views/overview.py", {}),
    ("Indicator", "views/indicator.py", {"indicator": "BI 002", "area": "District 017"}),
    ("District", "views/district.py", {"area": "District 017"}),
    ("Definitions", "views/definitions.py", {}),
    ("Upload", "views/upload.py", {}),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5, help="quarter changes timed per page")
    args = parser.parse_args()
    base = OUT / "base.duckdb"
    if not base.exists():
        print("Run benchmarks/generate.py first.", file=sys.stderr)
        return 2
    work = OUT / "work"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "pages.duckdb"
    shutil.copy(base, db)
    os.environ["RAGBOARD_DB"] = str(db)
    os.environ["RAGBOARD_CONFIG"] = str(OUT / "indicators.yaml")

    import logging

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from pipelines.catalogue import quarters

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode warnings

    latest = 2009 * 4 + 2  # 2009/10 Q3, the last quarter in the base database
    failures = 0
    print(f"database: {base.name} (39 quarters x 30,000 rows); {args.changes} quarter changes per page")
    print(f"{'page':<12} {'first run':>10} {'rerun best':>11} {'median':>8} {'worst':>8}  target < {TARGET_S:.1f}s")
    for name, page, params in PAGES:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
        for key, value in params.items():
            at.query_params[key] = value
        started = time.perf_counter()
        at.run()
        if page != "views/overview.py":  # the overview is the default page: the first run was it
            started = time.perf_counter()
            at.switch_page(page).run()
        first = time.perf_counter() - started
        if at.exception:
            print(f"{name}: {at.exception[0].value}", file=sys.stderr)
            return 1
        times = []
        for n in range(1, args.changes + 1):
            at.selectbox(key="sel_quarter").select(quarters.label(latest - n))
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
            assert not at.exception, at.exception[0].value
        worst = max(times)
        verdict = "PASS" if worst < TARGET_S else "FAIL"
        failures += verdict == "FAIL"
        print(f"{name:<12} {first:>9.3f}s {min(times):>10.3f}s {statistics.median(times):>7.3f}s"
              f" {worst:>7.3f}s  {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
