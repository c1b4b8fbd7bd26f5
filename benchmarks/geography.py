"""Issue 12's benchmark: a realistic country as a tree, its status with aggregation and comparisons
against today's status of the same rows, and a county's pack.

1 nation, 9 regions, 150 counties, 300 districts (2 a county); 100 indicators counted at county and
district level (50 rates per 1,000, 50 proportions); 40 quarters of district rows, loaded through the
engine. Every county, region and the nation is added up from the areas under it.

    .venv/bin/python benchmarks/geography.py [--repeat 5]

1. ``status --quarter Q --format csv`` for the whole country under the tree catalogue (aggregation at
   every depth, parents and benchmark compared) against the same command under a flat catalogue of
   the same rows (the nation as the county, the 300 districts as its districts: one round of adding
   up). Target: within 2x.
2. ``report --area 'County 001'`` as HTML (target < 10 s) and as PDF (target < 30 s).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "geography"
PY = sys.executable
FIRST_YEAR, YEARS = 2000, 10
QUARTERS = [f"{FIRST_YEAR + y}/{(FIRST_YEAR + y + 1) % 100:02d} Q{q}" for y in range(YEARS) for q in range(1, 5)]
STATUS_TARGET, HTML_TARGET_S, PDF_TARGET_S = 2.0, 10.0, 30.0


def areas() -> list[dict[str, Any]]:
    tree: list[dict[str, Any]] = [{"name": "England", "level": "nation"}]
    tree += [{"name": f"Region {r}", "level": "region", "parent": "England"} for r in range(1, 10)]
    for c in range(1, 151):
        tree.append({"name": f"County {c:03d}", "level": "county", "parent": f"Region {(c - 1) % 9 + 1}"})
    for d in range(1, 301):
        tree.append({"name": f"District {d:03d}", "level": "district", "parent": f"County {(d - 1) // 2 + 1:03d}"})
    return tree


def indicators() -> list[dict[str, Any]]:
    out = []
    for i in range(100):
        rate = i < 50
        out.append({"id": f"G {i:03d}", "name": f"Indicator {i}", "better": "lower" if i % 2 else "higher",
                    "measure": "rate" if rate else "proportion", **({"per": 1000} if rate else {}),
                    "levels": ["county", "district"],
                    "targets": {f"{FIRST_YEAR + y}/{(FIRST_YEAR + y + 1) % 100:02d}": 10.0 if rate else 50.0
                                for y in range(YEARS)}})
    return out


def write_catalogues() -> tuple[Path, Path]:
    tree = {"name": "England community safety", "areas": areas(), "home": "England", "benchmark": "England",
            "indicators": indicators()}
    flat = {"name": "England community safety", "county": "England",
            "districts": [a["name"] for a in areas() if a["level"] == "district"], "indicators": indicators()}
    paths = OUT / "tree.yaml", OUT / "flat.yaml"
    for path, cat in zip(paths, (tree, flat), strict=True):
        path.write_text(yaml.safe_dump(cat, sort_keys=False), encoding="utf-8")
    return paths


def write_quarters() -> list[Path]:
    rng = random.Random(12)
    districts = [a["name"] for a in areas() if a["level"] == "district"]
    people = {d: rng.randint(50_000, 200_000) for d in districts}
    files = []
    for qi, quarter in enumerate(QUARTERS):
        lines = ["indicator,area,quarter,value,numerator,denominator"]
        for i in range(100):
            for d in districts:
                if i < 50:  # a rate per 1,000: about 10, drifting by quarter
                    n = people[d]
                    x = max(0, round(n * (0.01 + 0.0001 * (qi % 8)) * rng.uniform(0.8, 1.2)))
                else:  # a proportion of a few hundred cases
                    n = rng.randint(200, 2000)
                    x = rng.randint(int(n * 0.35), int(n * 0.65))
                lines.append(f"G {i:03d},{d},{quarter},,{x},{n}")
        path = OUT / f"q{qi + 1:02d}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def build(db: Path, tree_yaml: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from pipelines.catalogue import config
    from pipelines.ingest import loading
    from pipelines.storage import store

    cat = config.load(tree_yaml)
    started = time.perf_counter()
    with store.connect(db) as con:
        for path in write_quarters():
            loading.load(con, loading.read_file(path, cat))
    took = time.perf_counter() - started
    print(f"data: 40 quarters x 30,000 district rows loaded through the engine in {took:.1f} s")


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    tree_yaml, flat_yaml = write_catalogues()
    db = OUT / "country.duckdb"
    if not db.exists():
        build(db, tree_yaml)
    quarter = QUARTERS[-1]
    status = [PY, "-m", "pipelines", "status", "--quarter", quarter, "--format", "csv", "--db", str(db), "--config"]
    tree_s, flat_s = [], []
    for _ in range(args.repeat):
        tree_s.append(timed([*status, str(tree_yaml)]))
        flat_s.append(timed([*status, str(flat_yaml)]))
    ratio = min(tree_s) / min(flat_s)
    print(f"status, {quarter}, whole country: tree {min(tree_s):.3f} s, flat {min(flat_s):.3f} s: {ratio:.2f}x"
          f" (target <= {STATUS_TARGET}x): {'PASS' if ratio <= STATUS_TARGET else 'FAIL'}")
    report = [PY, "-m", "pipelines", "report", "--area", "County 001", "--quarter", quarter, "--db", str(db),
              "--config", str(tree_yaml)]
    html_s = min(timed([*report, "--format", "html", "--out", str(OUT / "county.html")]) for _ in range(2))
    pdf_s = timed([*report, "--format", "pdf", "--out", str(OUT / "county.pdf")])
    print(f"pack for County 001: HTML {html_s:.1f} s (target < {HTML_TARGET_S:g} s):"
          f" {'PASS' if html_s < HTML_TARGET_S else 'FAIL'}; PDF {pdf_s:.1f} s (target < {PDF_TARGET_S:g} s):"
          f" {'PASS' if pdf_s < PDF_TARGET_S else 'FAIL'}")
    print("all runs (s): tree " + " ".join(f"{t:.3f}" for t in tree_s)
          + " | flat " + " ".join(f"{t:.3f}" for t in flat_s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
