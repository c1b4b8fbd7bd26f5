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


# --country: the whole country of geography.py (a tree: England, 9 regions, 150 counties, 300
# districts), the pages following the sidebar to a county and its districts
COUNTRY_PAGES = [
    ("Overview", "views/overview.py", {"area": "County 001"}),
    ("Indicator", "views/indicator.py", {"indicator": "G 001", "area": "District 001"}),
    ("District", "views/district.py", {"area": "District 001"}),
    ("Compare", "views/compare.py", {"indicator": "G 001", "level": "district", "profile": "County 001"}),
    ("Definitions", "views/definitions.py", {}),
    ("Upload", "views/upload.py", {}),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5, help="quarter changes timed per page")
    parser.add_argument("--country", action="store_true",
                        help="the whole country of benchmarks/geography.py (run it first) instead")
    args = parser.parse_args()
    folder, name, catalogue = ((OUT / "geography", "country.duckdb", "tree.yaml") if args.country
                               else (OUT, "base.duckdb", "indicators.yaml"))
    base = folder / name
    if not base.exists():
        print(f"Run benchmarks/{'geography' if args.country else 'generate'}.py first.", file=sys.stderr)
        return 2
    work = OUT / "work"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "pages.duckdb"
    shutil.copy(base, db)
    os.environ["RAGBOARD_DB"] = str(db)
    os.environ["RAGBOARD_CONFIG"] = str(folder / catalogue)
    pages = COUNTRY_PAGES if args.country else PAGES

    import logging

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from pipelines.catalogue import quarters

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode warnings

    # the last quarter in the database: 2009/10 Q3 in the base one, Q4 in the country's
    latest = 2009 * 4 + (3 if args.country else 2)
    failures = 0
    print(f"database: {base.name}; {args.changes} quarter changes per page")
    print(f"{'page':<12} {'first run':>10} {'rerun best':>11} {'median':>8} {'worst':>8}  target < {TARGET_S:.1f}s")
    for title, page, params in pages:
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
            print(f"{title}: {at.exception[0].value}", file=sys.stderr)
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
        print(f"{title:<12} {first:>9.3f}s {min(times):>10.3f}s {statistics.median(times):>7.3f}s"
              f" {worst:>7.3f}s  {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
