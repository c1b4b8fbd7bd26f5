"""Write data/sample/*.csv, one file per quarter from 2008/09 Q1 to 2010/11 Q1, and
data/sample/populations/derbyshire.csv, the districts' populations by financial year.

Run from the repository root: ``python data/make_sample.py``. It prints a check table: for every
quarter, each district's and the county's NI 16 and NI 20 rate as the sample gave it before these
rates were made from counts, the rate the counts give now, and both statuses (``*`` marks a status
that changed). data/README.md says which figures are real (the county's 2010/11 Q1 row, NI 32's 55
of 356, the printed statuses) and which are illustrative (every other figure, every count, every
population).
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "sample"
POPULATIONS_FILE = OUT / "populations" / "derbyshire.csv"
QUARTERS = [(2008, 1), (2008, 2), (2008, 3), (2008, 4), (2009, 1), (2009, 2), (2009, 3), (2009, 4), (2010, 1)]
QUARTER_END = {1: "06-30", 2: "09-30", 3: "12-31", 4: "03-31"}
COLUMNS = ["indicator", "area", "quarter", "value", "lower", "upper", "numerator", "denominator",
           "reported_status", "note"]
COUNTY_NAME = "Derbyshire"

# County values, oldest first; the last is the real 2010/11 Q1 figure. NI 16 and NI 20 are not
# written for the county: it is added up from its districts' counts, which are chosen so that the
# sum gives these values (to 2 decimals).
COUNTY: dict[str, list[float | None]] = {
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
# Indicators whose county figure is added up from the districts (measure: rate, per: 1000,
# denominator: population in indicators.yaml); their district rows give counts only.
FROM_COUNTS = ("NI 16", "NI 20")
# Statuses printed in the report for 2009/10 Q2, Q3, Q4 and 2010/11 Q1 (real).
PRINTED = {
    "NI 1": "AAAA", "NI 16": "GGAG", "NI 18": "AAAA", "NI 20": "GGGA", "NI 27": "RRRR",
    "NI 32": "GGGG", "NI 39": "RRAR", "NI 47": "RRGA", "NI 49": "GGGR", "LI 1": "GGGG", "LI 2": "GGAG",
}
# NI 18: confidence interval half-widths; the first quarter's interval excludes 0 (significant).
NI18_HALF_WIDTH = [1.7, 4.0, 4.5, 4.2, 4.8, 5.1, 5.5, 5.6, 6.04]
# NI 32 (measure: proportion): repeat MARAC referrals of all referrals in the 12 months to the
# quarter's end. 2010/11 Q1 is the report's 55 of 356 (real); the rest are illustrative, each within
# half a unit of the last decimal of the value written beside it (e.g. 34 / 333 = 10.21% for 10.2).
NI32_COUNTS = [(34, 333), (37, 336), (40, 338), (43, 343), (45, 344), (47, 346), (50, 351), (52, 350), (55, 356)]
NOTES = {
    ("NI 1", 0): "Survey results not yet available",
    ("NI 27", 8): "2008 Place Survey; no later survey result",
    ("NI 39", 8): "Projection for the year ending June 2010 (latest data December 2009)",
    ("NI 47", 8): "Casualties in calendar year 2009",
    ("NI 32", 8): "55 repeat referrals of 356 MARAC referrals, July 2009 to June 2010",
}
# Illustrative ONS-style mid-year population estimates, one per financial year (2008/09, 2009/10,
# 2010/11): the county is about 760,000.
POPULATIONS = {
    "Amber Valley": (121_634, 122_087, 122_512),
    "Bolsover": (74_918, 75_306, 75_743),
    "Chesterfield": (100_874, 101_239, 101_586),
    "Derbyshire Dales": (70_215, 70_368, 70_493),
    "Erewash": (110_752, 111_214, 111_679),
    "High Peak": (91_226, 91_517, 91_804),
    "North East Derbyshire": (98_163, 98_541, 98_876),
    "South Derbyshire": (91_587, 92_734, 93_912),
}
# District rate as a ratio of the district's own target (lower is better for both): the sample gave
# round(target x ratio, 2) as each district's value before rates were made from counts. Each
# district's count is the whole number nearest that rate; the county's residual is then shared out
# (see share_residual).
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
# District statuses stated in the report's commentary (real): (indicator, area, quarter pos): status.
# These districts keep the count nearest their rate; the county's residual goes to the others.
DISTRICT_PRINTED = {
    ("NI 16", "Chesterfield", 8): "R",
    ("NI 20", "High Peak", 8): "R", ("NI 20", "South Derbyshire", 8): "R",
    ("NI 20", "Chesterfield", 8): "A", ("NI 20", "Amber Valley", 8): "A",
    ("NI 20", "Amber Valley", 7): "R", ("NI 20", "Erewash", 8): "G", ("NI 20", "Erewash", 7): "A",
    ("NI 20", "Derbyshire Dales", 8): "G", ("NI 20", "North East Derbyshire", 8): "G",
}
AMBER_BAND = Fraction(5, 100)  # indicators.yaml: amber_tolerance 5% (lower is better for NI 16, NI 20)
EDGE_MARGIN = Fraction(1, 100)  # sharing the residual brings no district within 1% of its target of an edge


def quarter_text(pos: int) -> str:
    year, q = QUARTERS[pos]
    if year == 2008:  # the oldest files give the quarter's last day, as some extracts do
        return f"{year + (1 if q == 4 else 0)}-{QUARTER_END[q]}"
    return financial_year(year) + f" Q{q}"


def financial_year(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def rag(value: Fraction, target: Fraction) -> str:
    """The status rule (README) for lower is better: G on or under target, A within 5%, R beyond."""
    shortfall = value - target
    if shortfall <= 0:
        return "G"
    return "A" if shortfall <= AMBER_BAND * target else "R"


def status_of(count: int, population: int, target: Fraction) -> str:
    """The status of a count's rate per 1,000, or "?" when the rate rounded to 2 decimals (as shown)
    would have a different status from the exact rate (the rate sits on an edge)."""
    rate = Fraction(count * 1000, population)
    exact = rag(rate, target)
    return exact if rag(round(rate, 2), target) == exact else "?"


def nearest_count(rate: Fraction, population: int, target: Fraction) -> int:
    """The whole number of crimes nearest the rate whose rate keeps the rate's status."""
    wanted = rag(rate, target)
    ideal = rate * population / 1000
    for count in sorted(range(int(ideal) - 5, int(ideal) + 7), key=lambda c: (abs(c - ideal), c)):
        if status_of(count, population, target) == wanted:
            return count
    raise SystemExit(f"no count near {float(ideal):.1f} keeps status {wanted}")


def room(count: int, population: int, target: Fraction) -> Fraction:
    """How far a count's rate is from the nearest edge of its status band, as a share of the target."""
    rate = Fraction(count * 1000, population)
    edges: dict[str, list[Fraction]] = {"G": [Fraction(1)], "A": [Fraction(1), 1 + AMBER_BAND],
                                        "R": [1 + AMBER_BAND]}
    return min(abs(rate / target - edge) for edge in edges[rag(rate, target)])


def share_residual(residual: int, counts: dict[str, int], free: list[str], base: dict[str, int],
                   populations: dict[str, int], targets: dict[str, Fraction], label: str) -> None:
    """Add (or take away) the residual one crime at a time, each to the free district whose rate would
    then have moved least from its first count, as a share of its target, among those the crime
    leaves with the same status and not within EDGE_MARGIN of the band's edge (unless it moves away)."""
    step = 1 if residual > 0 else -1

    def may_move(area: str) -> bool:
        now, then = counts[area], counts[area] + step
        pop, target = populations[area], targets[area]
        return (then >= 0 and status_of(then, pop, target) == status_of(now, pop, target)
                and (room(then, pop, target) >= EDGE_MARGIN or room(then, pop, target) > room(now, pop, target)))

    at_target = {area: targets[area] * populations[area] / 1000 for area in free}
    for _ in range(abs(residual)):
        movable = [area for area in free if may_move(area)]
        if not movable:
            raise SystemExit(f"{label}: the districts cannot absorb the county's residual of {residual}"
                             " without a status changing")
        area = min(movable, key=lambda a: (abs(counts[a] + step - base[a]) / at_target[a], free.index(a)))
        counts[area] += step


def district_counts(ind: str, pos: int, catalogue: dict) -> list[dict]:
    """Each district's count of crimes in the 12 months to the quarter's end, chosen so that the
    county's rate (all counts over all populations) is COUNTY's value, with the rate before and after."""
    year = QUARTERS[pos][0]
    fy = financial_year(year)
    populations = {area: pops[year - 2008] for area, pops in POPULATIONS.items()}
    area_targets = catalogue[ind]["area_targets"]
    targets = {area: Fraction(str(t[fy])) for area, t in area_targets.items()}
    # the value the sample gave before, exactly as it was written
    before = {area: Fraction(str(round(area_targets[area][fy] * ratios[pos], 2)))
              for area, ratios in DISTRICT_RATIOS[ind].items()}
    base = {area: nearest_count(before[area], populations[area], targets[area]) for area in before}
    counts = dict(base)
    wanted = round(Fraction(str(COUNTY[ind][pos])) * sum(populations.values()) / 1000)
    free = [area for area in counts if (ind, area, pos) not in DISTRICT_PRINTED]
    share_residual(wanted - sum(counts.values()), counts, free, base, populations, targets,
                   f"{ind} {quarter_text(pos)}")
    return [{"area": area, "count": counts[area], "population": populations[area], "target": targets[area],
             "before": before[area], "after": Fraction(counts[area] * 1000, populations[area])}
            for area in counts]


def check_table(ind: str, pos: int, districts: list[dict], catalogue: dict) -> list[str]:
    """Lines of the check table for one indicator and quarter; the county last."""
    fy = financial_year(QUARTERS[pos][0])
    county_target = Fraction(str(catalogue[ind]["targets"][fy]))
    county_before = Fraction(str(COUNTY[ind][pos]))
    county_after = (Fraction(sum(d["count"] for d in districts) * 1000)
                    / sum(d["population"] for d in districts))
    rows = [(d["area"], d["count"], d["population"], d["target"], d["before"], d["after"]) for d in districts]
    rows.append((COUNTY_NAME, sum(d["count"] for d in districts), sum(d["population"] for d in districts),
                 county_target, county_before, county_after))
    lines = []
    for area, count, population, target, was, now in rows:
        old, new = rag(was, target), rag(now, target)
        lines.append(f"{ind:<6} {quarter_text(pos):<11} {area:<22} {count:>6} {population:>7} {float(target):>6.2f}"
                     f" {float(was):>6.2f} {float(now):>8.4f} {float((now - was) / target * 100):>+6.1f}%"
                     f"  {old} {new}{' *' if old != new else ''}")
    return lines


# Facts of the report's commentary (real): the district's percentage over its 2010/11 Q1 target
COMMENTARY_PERCENT_OVER = {("NI 16", "Chesterfield"): 8, ("NI 20", "High Peak"): 20,
                           ("NI 20", "South Derbyshire"): 33, ("NI 20", "Chesterfield"): 2}


def check_facts(counted: dict[tuple[str, int], list[dict]]) -> None:
    """Stop if the counts lose a figure or status the sample documents (data/README.md)."""
    for (ind, pos), districts in counted.items():
        county = Fraction(sum(d["count"] for d in districts) * 1000, sum(d["population"] for d in districts))
        assert round(county, 2) == Fraction(str(COUNTY[ind][pos])), (ind, pos, float(county))
        for d in districts:
            printed = DISTRICT_PRINTED.get((ind, d["area"], pos))
            assert printed in (None, rag(d["after"], d["target"])), (ind, d["area"], pos, printed)
            percent = COMMENTARY_PERCENT_OVER.get((ind, d["area"]))
            if pos == len(QUARTERS) - 1 and percent is not None:
                assert round((d["after"] / d["target"] - 1) * 100) == percent, (ind, d["area"], float(d["after"]))
    for value, (numerator, denominator) in zip(COUNTY["NI 32"], NI32_COUNTS, strict=True):
        decimals = len(str(value).partition(".")[2])  # as the CSV writes it
        gap = abs(Fraction(str(value)) - Fraction(numerator * 100, denominator))
        assert gap <= Fraction(1, 2 * 10**decimals), (value, numerator, denominator)


def main() -> None:
    catalogue = {ind["id"]: ind for ind in
                 yaml.safe_load((ROOT / "indicators.yaml").read_text(encoding="utf-8"))["indicators"]}
    OUT.mkdir(parents=True, exist_ok=True)
    POPULATIONS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with POPULATIONS_FILE.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["area", "year", "population"])
        for area, pops in POPULATIONS.items():
            for i, population in enumerate(pops):
                writer.writerow([area, financial_year(2008 + i), population])
    check = [f"{'ind':<6} {'quarter':<11} {'area':<22} {'count':>6} {'pop':>7} {'target':>6} {'before':>6}"
             f" {'after':>8} {'moved':>7}  status before, after"]
    counted = {}
    for pos, (year, q) in enumerate(QUARTERS):
        rows = []
        for ind, values in COUNTY.items():
            value = values[pos]
            row = {"indicator": ind, "area": COUNTY_NAME, "quarter": quarter_text(pos),
                   "value": "" if value is None or ind in FROM_COUNTS else value}
            if ind == "NI 18" and value is not None:
                half = NI18_HALF_WIDTH[pos]
                row["lower"], row["upper"] = round(value - half, 2), round(value + half, 2)
            if ind == "NI 32":
                row["numerator"], row["denominator"] = NI32_COUNTS[pos]
            if pos >= 5:
                row["reported_status"] = PRINTED[ind][pos - 5]
            row["note"] = NOTES.get((ind, pos), "")
            rows.append(row)
        for ind in FROM_COUNTS:
            districts = counted[ind, pos] = district_counts(ind, pos, catalogue)
            check += check_table(ind, pos, districts, catalogue)
            for d in districts:
                rows.append({"indicator": ind, "area": d["area"], "quarter": quarter_text(pos), "value": "",
                             "numerator": d["count"],
                             "reported_status": DISTRICT_PRINTED.get((ind, d["area"], pos), "")})
        path = OUT / f"{year}-{(year + 1) % 100:02d}-Q{q}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            rows_writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            rows_writer.writeheader()
            rows_writer.writerows(rows)
    check_facts(counted)
    changed = [line for line in check if line.endswith("*")]
    print("\n".join(check))
    print(f"statuses changed: {len(changed)}" + "".join(f"\n  {line}" for line in changed))


if __name__ == "__main__":
    main()
