"""Real published figures added up the tree (issue 12): police forces into regions into England and
Wales, checked against the national totals printed beside them.

The figures: offences of kerb crawling recorded by each police force in England and Wales, calendar
years 1997 to 2006, from a Home Office written answer to Parliament (Hansard, House of Commons,
1 May 2008, columns 649W-650W,
https://publications.parliament.uk/pa/cm200708/cmhansrd/cm080501/text/80501w0017.htm). The answer
prints 39 forces (a blank cell is none) and an "England and Wales" row. Four forces (Cumbria,
Lincolnshire, Surrey, Warwickshire) are not printed; the printed forces' columns add up to the printed
national row, so the test keeps the table as printed.

ragboard adds up counted figures (numerator and denominator). The indicator here is each year's share
of the force's ten-year total: numerator the year's offences, denominator the force's 1997-2006 total,
both as published, so the nation's added-up numerator must be the published national figure for the
year and its denominator the published ten-year national total. Forces with no offences in the ten
years have no share to give (a denominator of 0) and are left out of the tree: they add nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.catalogue import config
from pipelines.ingest import loading
from pipelines.present import words
from pipelines.storage import store

YEARS = tuple(range(1997, 2007))

# offences by year, 1997 to 2006, as printed (blank cells as 0); forces with none in the ten years omitted
FORCES: dict[str, tuple[int, ...]] = {
    "Avon and Somerset": (5, 1, 1, 0, 1, 4, 1, 1, 0, 2),
    "Bedfordshire": (0, 0, 0, 0, 3, 1, 1, 0, 0, 0),
    "City of London": (0, 0, 0, 0, 0, 10, 9, 3, 2, 1),
    "Cleveland": (1, 15, 22, 47, 40, 33, 52, 43, 31, 26),
    "Derbyshire": (0, 0, 0, 2, 8, 11, 8, 1, 6, 0),
    "Devon and Cornwall": (0, 0, 0, 0, 1, 0, 0, 0, 0, 0),
    "Dorset": (6, 1, 1, 2, 2, 2, 1, 0, 0, 3),
    "Essex": (5, 3, 2, 10, 1, 0, 1, 0, 1, 0),
    "Greater Manchester": (24, 14, 5, 18, 9, 6, 5, 9, 5, 6),
    "Hampshire": (5, 2, 5, 6, 8, 1, 0, 3, 5, 0),
    "Humberside": (0, 0, 0, 0, 0, 1, 0, 0, 1, 0),
    "Kent": (0, 0, 1, 0, 3, 3, 0, 2, 1, 1),
    "Lancashire": (1, 1, 0, 1, 0, 7, 0, 1, 1, 0),
    "Leicestershire": (0, 2, 1, 0, 1, 3, 0, 0, 0, 0),
    "Merseyside": (3, 0, 0, 0, 12, 0, 0, 0, 3, 2),
    "Metropolitan Police": (49, 68, 67, 62, 72, 138, 103, 130, 99, 107),
    "Norfolk": (19, 17, 5, 0, 1, 1, 1, 0, 0, 0),
    "Northamptonshire": (0, 0, 0, 0, 2, 5, 8, 7, 12, 10),
    "Nottinghamshire": (13, 16, 12, 13, 14, 7, 1, 2, 3, 3),
    "South Yorkshire": (2, 1, 1, 1, 6, 18, 10, 4, 3, 0),
    "Staffordshire": (4, 3, 0, 0, 6, 13, 3, 9, 4, 0),
    "Suffolk": (0, 0, 0, 0, 0, 0, 0, 0, 3, 0),
    "Sussex": (0, 0, 0, 0, 0, 4, 1, 2, 0, 0),
    "Thames Valley": (0, 0, 0, 0, 0, 0, 0, 4, 0, 1),
    "West Midlands": (30, 19, 23, 4, 11, 16, 17, 8, 25, 26),
    "West Yorkshire": (11, 6, 8, 5, 12, 44, 29, 6, 11, 7),
    "Wiltshire": (0, 0, 0, 0, 0, 0, 0, 1, 0, 0),
    "South Wales": (0, 0, 0, 0, 0, 1, 0, 0, 1, 0),
}
# the printed "England and Wales" row
NATIONAL = (178, 169, 154, 171, 213, 329, 251, 236, 217, 195)

# the forces' regions (the Home Office's police regions; Wales one region)
REGIONS = {
    "North East": ["Cleveland"],
    "North West": ["Greater Manchester", "Lancashire", "Merseyside"],
    "Yorkshire and the Humber": ["Humberside", "South Yorkshire", "West Yorkshire"],
    "East Midlands": ["Derbyshire", "Leicestershire", "Northamptonshire", "Nottinghamshire"],
    "West Midlands": ["Staffordshire", "West Midlands"],
    "East of England": ["Bedfordshire", "Essex", "Norfolk", "Suffolk"],
    "London": ["City of London", "Metropolitan Police"],
    "South East": ["Hampshire", "Kent", "Sussex", "Thames Valley"],
    "South West": ["Avon and Somerset", "Devon and Cornwall", "Dorset", "Wiltshire"],
    "Wales": ["South Wales"],
}
NATION = "England and Wales"
REGION_NAMES = {"West Midlands": "West Midlands region"}  # the force and its region share a name


def region_name(region: str) -> str:
    return REGION_NAMES.get(region, region)


def quarter(year: int) -> str:
    # a calendar year's figure stored at the quarter ending 31 December; the quarter's label does
    # not change how areas are added up
    return f"{year}/{(year + 1) % 100:02d} Q3"


def catalogue() -> config.Catalogue:
    areas = [{"name": NATION, "level": "nation"}]
    for region, forces in REGIONS.items():
        areas.append({"name": region_name(region), "level": "region", "parent": NATION})
        areas += [{"name": force, "level": "force", "parent": region_name(region)} for force in forces]
    return config.parse({
        "name": "Kerb crawling, England and Wales", "areas": areas,
        "indicators": [{"id": "KC", "name": "Share of the force's 1997-2006 kerb-crawling offences",
                        "better": "neither", "measure": "proportion", "per": 100,
                        "levels": ["nation", "region", "force"]}]})


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], tuple[float, float, int]]:
    """Each area's (numerator, denominator, areas added up) by year, as ragboard adds them up."""
    cat = catalogue()
    lines = ["indicator,area,quarter,value,numerator,denominator"]
    for force, counts in FORCES.items():
        lines += [f"KC,{force},{quarter(year)},,{n},{sum(counts)}" for year, n in zip(YEARS, counts, strict=True)]
    db: Path = tmp_path_factory.mktemp("published") / "kerb.duckdb"
    with store.connect(db) as con:
        upload = loading.read_upload(("\n".join(lines) + "\n").encode(), "kerb.csv", cat)
        assert upload.ok, upload.checked.problems
        loading.load(con, upload)
        qis = [year * 4 + 2 for year in YEARS]
        _, rows = words.status_table(con, cat, qis, None, ["KC"],
                                     ["area", "qi", "numerator", "denominator", "aggregated_from"])
    return {(area, qi // 4): (numerator, denominator, parts) for area, qi, numerator, denominator, parts in rows}


def test_the_printed_forces_add_up_to_the_printed_national_row() -> None:
    # the table itself, before ragboard: a check that it was copied as printed
    assert tuple(sum(counts[i] for counts in FORCES.values()) for i in range(len(YEARS))) == NATIONAL


@pytest.mark.parametrize(("year", "published"), list(zip(YEARS, NATIONAL, strict=True)))
def test_england_and_wales_added_up_from_its_regions_is_the_published_total(
        national: dict[tuple[str, int], tuple[float, float, int]], year: int, published: int) -> None:
    numerator, denominator, parts = national[(NATION, year)]
    # the nation's offences: its ten regions', each added up from its forces
    assert (numerator, parts) == (published, len(REGIONS))
    assert denominator == sum(NATIONAL) == 2113  # the published ten-year national total


def test_a_region_is_added_up_from_its_forces(national: dict[tuple[str, int], tuple[float, float, int]]) -> None:
    # East Midlands in 2002, by hand from the printed table: Derbyshire 11, Leicestershire 3,
    # Northamptonshire 5, Nottinghamshire 7 = 26 of their ten-year 36 + 7 + 44 + 84 = 171
    assert national[("East Midlands", 2002)] == (26, 171, 4)
    # London in 2006: City of London 1, Metropolitan Police 107 = 108 of 25 + 895 = 920
    assert national[("London", 2006)] == (108, 920, 2)
    # a force keeps its own row
    assert national[("Cleveland", 1997)] == (1, 310, None)
