"""Write data/sample/*.csv: one file per quarter, 2008/09 Q1 to 2010/11 Q1.

Run from the repository root: ``python data/make_sample.py``. data/README.md says
which figures are real (the county's 2010/11 Q1 row and the printed statuses) and
which are illustrative.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "sample"
QUARTERS = [(2008, 1), (2008, 2), (2008, 3), (2008, 4), (2009, 1), (2009, 2), (2009, 3), (2009, 4), (2010, 1)]
QUARTER_END = {1: "06-30", 2: "09-30", 3: "12-31", 4: "03-31"}
COLUMNS = ["indicator", "area", "quarter", "value", "lower", "upper", "numerator", "denominator",
           "reported_status", "note"]

# County values, oldest first; the last is the real 2010/11 Q1 figure.
COUNTY = {
    "NI 1": [None, 73.0, 73.1, 73.4, 73.0, 73.2, 73.5, 73.9, 74.10],
    "NI 16": [12.4, 12.0, 11.8, 11.5, 11.2, 10.9, 10.6, 10.2, 9.60],
    "NI 18": [2.1, 2.9, 3.3, 3.0, 3.5, 3.8, 4.1, 4.3, 4.56],
    "NI 20": [7.6, 7.35, 7.30, 7.20, 7.15, 7.05, 7.10, 7.38, 7.19],
    "NI 27": [20.0] * 9,
    "NI 32": [10.2, 11.0, 11.8, 12.5, 13.1, 13.6, 14.2, 14.9, 15.45],
    "NI 39": [1700, 1725, 1760, 1780, 1790, 1795, 1802, 1770, 1839],
    "NI 47": [493, 488, 480, 475, 472, 470, 465, 430, 449],
    "NI 49": [47.5, 46.8, 45.9, 45.2, 43.6, 43.0, 42.5, 41.9, 45.00],
    "LI 1": [150, 145, 140, 135, 128, 120, 98, 80, 64],
    "LI 2": [1820, 1860, 1875, 1890, 1905, 1930, 1915, 1880, 2031],
}
# Statuses printed in the report for 2009/10 Q2, Q3, Q4 and 2010/11 Q1 (real).
PRINTED = {
    "NI 1": "AAAA", "NI 16": "GGAG", "NI 18": "AAAA", "NI 20": "GGGA", "NI 27": "RRRR",
    "NI 32": "GGGG", "NI 39": "RRAR", "NI 47": "RRGA", "NI 49": "GGGR", "LI 1": "GGGG", "LI 2": "GGAG",
}
# NI 18: confidence interval half-widths; the first quarter's interval excludes 0 (significant).
NI18_HALF_WIDTH = [1.7, 4.0, 4.5, 4.2, 4.8, 5.1, 5.5, 5.6, 6.04]
NOTES = {
    ("NI 1", 0): "Survey results not yet available",
    ("NI 27", 8): "2008 Place Survey; no later survey result",
    ("NI 39", 8): "Projection for the year ending June 2010 (latest data December 2009)",
    ("NI 47", 8): "Casualties in calendar year 2009",
    ("NI 32", 8): "55 repeat referrals of 356 MARAC referrals, July 2009 to June 2010",
}
# District value as a ratio of the district's own target (lower is better for both).
DISTRICT_RATIOS = {
    "NI 16": {
        "Amber Valley": [0.97, 0.96, 0.95, 0.96, 0.94, 0.93, 0.94, 0.92, 0.90],
        "Bolsover": [0.99, 0.98, 0.96, 0.95, 0.95, 0.94, 0.92, 0.93, 0.91],
        "Chesterfield": [1.12, 1.11, 1.10, 1.10, 1.13, 1.12, 1.11, 1.09, 1.08],
        "Derbyshire Dales": [0.90, 0.88, 0.91, 0.89, 0.87, 0.88, 0.86, 0.85, 0.84],
        "Erewash": [1.02, 0.99, 0.98, 0.97, 0.97, 0.95, 0.96, 0.94, 0.93],
        "High Peak": [0.95, 0.96, 0.94, 0.93, 0.94, 0.92, 0.91, 0.92, 0.90],
        "North East Derbyshire": [0.98, 0.97, 0.96, 0.97, 0.95, 0.94, 0.95, 0.93, 0.92],
        "South Derbyshire": [0.96, 0.95, 0.97, 0.94, 0.93, 0.94, 0.92, 0.91, 0.89],
    },
    "NI 20": {
        "Amber Valley": [1.01, 1.03, 1.04, 1.06, 1.05, 1.07, 1.08, 1.08, 1.03],
        "Bolsover": [0.96, 0.95, 0.94, 0.95, 0.93, 0.92, 0.93, 0.91, 0.90],
        "Chesterfield": [1.08, 1.07, 1.07, 1.06, 1.06, 1.05, 1.05, 1.04, 1.02],
        "Derbyshire Dales": [0.93, 0.92, 0.94, 0.92, 0.91, 0.93, 0.90, 0.91, 0.89],
        "Erewash": [1.00, 0.99, 1.01, 1.02, 1.03, 1.02, 1.04, 1.03, 0.97],
        "High Peak": [1.04, 1.06, 1.08, 1.10, 1.09, 1.12, 1.14, 1.15, 1.20],
        "North East Derbyshire": [0.97, 0.96, 0.95, 0.97, 0.96, 0.95, 0.94, 0.96, 0.95],
        "South Derbyshire": [1.05, 1.09, 1.12, 1.15, 1.18, 1.20, 1.22, 1.25, 1.33],
    },
}
# District statuses stated in the report's commentary (real): (indicator, area, quarter pos): status
DISTRICT_PRINTED = {
    ("NI 16", "Chesterfield", 8): "R",
    ("NI 20", "High Peak", 8): "R", ("NI 20", "South Derbyshire", 8): "R",
    ("NI 20", "Chesterfield", 8): "A", ("NI 20", "Amber Valley", 8): "A",
    ("NI 20", "Amber Valley", 7): "R", ("NI 20", "Erewash", 8): "G", ("NI 20", "Erewash", 7): "A",
    ("NI 20", "Derbyshire Dales", 8): "G", ("NI 20", "North East Derbyshire", 8): "G",
}


def quarter_text(pos: int) -> str:
    year, q = QUARTERS[pos]
    if year == 2008:  # the oldest files give the quarter's last day, as some extracts do
        return f"{year + (1 if q == 4 else 0)}-{QUARTER_END[q]}"
    return f"{year}/{(year + 1) % 100:02d} Q{q}"


def main() -> None:
    catalogue = yaml.safe_load((ROOT / "indicators.yaml").read_text(encoding="utf-8"))
    targets = {ind["id"]: ind.get("area_targets", {}) for ind in catalogue["indicators"]}
    OUT.mkdir(parents=True, exist_ok=True)
    for pos, (year, q) in enumerate(QUARTERS):
        rows = []
        for ind, values in COUNTY.items():
            value = values[pos]
            row = {"indicator": ind, "area": "Derbyshire", "quarter": quarter_text(pos),
                   "value": "" if value is None else value}
            if ind == "NI 18":
                half = NI18_HALF_WIDTH[pos]
                row["lower"], row["upper"] = round(value - half, 2), round(value + half, 2)
            if ind == "NI 32" and pos == 8:
                row["numerator"], row["denominator"] = 55, 356
            if pos >= 5:
                row["reported_status"] = PRINTED[ind][pos - 5]
            row["note"] = NOTES.get((ind, pos), "")
            rows.append(row)
        for ind, districts in DISTRICT_RATIOS.items():
            fy = f"{year}/{(year + 1) % 100:02d}"
            for area, ratios in districts.items():
                target = targets[ind][area][fy]
                rows.append({"indicator": ind, "area": area, "quarter": quarter_text(pos),
                             "value": round(target * ratios[pos], 2),
                             "reported_status": DISTRICT_PRINTED.get((ind, area, pos), "")})
        path = OUT / f"{year}-{(year + 1) % 100:02d}-Q{q}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
