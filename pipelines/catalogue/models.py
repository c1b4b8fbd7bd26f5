"""The validated catalogue as the engine uses it: plain frozen dataclasses.

They are built by ``validation`` (pydantic, from the YAML) or from the cache (``config``), so a
start that finds its catalogue in the cache never imports pydantic: on the command line that is
most of the time a status or a load spends outside DuckDB.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Literal

# A level of the geography (its name is the catalogue's: county, district, region, police force...)
Level = str
# The shorthand's two levels: `county:` and `districts:` make a tree of these
COUNTY, DISTRICT = "county", "district"
Measure = Literal["value", "rate", "proportion"]
Better = Literal["lower", "higher", "neither"]
# The confidence levels intervals are computed at, as Fingertips offers them
CONFIDENCE_LEVELS = (95.0, 99.8)
# A window longer than ten years of quarters is a typing slip, and every status would be NA
MAX_WINDOW = 40
# Before any quarter a board could load (the year 0): where a band set once starts
EARLIEST = 0


@dataclass(frozen=True)
class Tolerance:
    """The amber band: a percentage of the target, or a plain number in the indicator's unit."""

    kind: Literal["percent", "absolute"]
    amount: float

    def describe(self, unit: str = "") -> str:
        if self.kind == "percent":
            return f"{_num(self.amount)}% of the target"
        return f"{_num(self.amount)} ({unit})" if unit else _num(self.amount)


def _num(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class BandVersion:
    """One dated version of an amber band: in force from quarter ``start`` until the next version
    starts. The first version of a list also holds for every quarter before its own."""

    start: int  # quarter index
    tolerance: Tolerance


# What a year's figure is, for the year-end forecast: the total of its four quarters (counts), their
# mean, or the fourth quarter's figure (rolling and snapshot indicators)
YearEnd = Literal["sum", "mean", "last"]


@dataclass(frozen=True)
class Spc:
    """How an XmR chart is drawn: where its periods start, and whether moving ranges are screened.
    In an indicator's ``spc:`` block a key left out (None) takes the catalogue's."""

    rebase: tuple[int, ...] | None = None  # quarter indexes, each the first point of a new period
    screen_outliers: bool | None = None


# The defaults when the catalogue says nothing: one period, moving ranges screened (NHSRplotthedots)
SPC_DEFAULTS = Spc(rebase=(), screen_outliers=True)


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    better: Better
    unit: str = ""
    # How the figure is made: as given (value), or numerator / denominator x per (rate, proportion)
    measure: Measure = "value"
    per: float | None = None  # the multiplier: 100 for a percentage, 1000, 100000
    confidence: float = 95.0  # of the intervals computed from counts
    window: int | None = None  # quarters summed into each figure
    denominator: Literal["population"] | None = None  # from the populations table, not the rows
    levels: tuple[Level, ...] = (COUNTY,)
    # the band in force today; with dated versions (band_versions), the last of them
    amber_tolerance: Tolerance | None = None
    grey_when_not_significant: bool = False
    description: str = ""
    targets: dict[int, float] = field(default_factory=dict)  # financial year's start -> target
    area_targets: dict[str, dict[int, float]] = field(default_factory=dict)
    spc: Spc = Spc()
    band_versions: tuple[BandVersion, ...] = ()  # dated versions of amber_tolerance, oldest first
    # the quarters the indicator is expected in (None: open-ended); its rows outside them still show
    live_from: int | None = None
    live_until: int | None = None
    year_end: YearEnd = "last"

    @property
    def counted(self) -> bool:
        """A figure made from a numerator and a denominator (a rate or a proportion)."""
        return self.measure != "value"

    @property
    def rated(self) -> bool:
        """False for 'better: neither': monitored, never given a colour."""
        return self.better != "neither"

    @property
    def multiplier(self) -> float:
        return self.per if self.per is not None else 1.0


def default_name(county: str) -> str:
    """The board's name when the catalogue gives none."""
    return f"{county} Safer Communities Board"


@dataclass(frozen=True)
class Area:
    """A place in the geography: its level's name and the area it is part of (None for the root)."""

    name: str
    level: Level
    parent: str | None = None


@dataclass(frozen=True)
class Catalogue:
    # The board's name, as the pages and the pack print it; default_name(county) when not given
    name: str
    # The board's own area (``home:``, or the shorthand's county) and its children: the areas its
    # pages open on, its districts' grid, the pack's scope
    county: str
    indicators: tuple[Indicator, ...]
    districts: tuple[str, ...] = ()
    amber_tolerance: Tolerance = Tolerance("percent", 5.0)  # today's; dated versions in band_versions
    spc: Spc = SPC_DEFAULTS
    # The whole geography, parents before their children; from county and districts when not given
    tree: tuple[Area, ...] = ()
    benchmark: str = ""  # the area every area is compared with; the root when not given
    peer_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    band_versions: tuple[BandVersion, ...] = ()  # dated versions of amber_tolerance, oldest first
    # a private deployment: every page asks for a sign-in first (reading is open by default)
    require_sign_in: bool = False
    # the file's bytes it was read from (config.from_bytes); empty for one built in code
    source: bytes = field(default=b"", repr=False, compare=False)
    # looked up by name, and each area's children: made once (a national tree has 450 areas)
    _by_name: dict[str, Area] = field(default_factory=dict, init=False, repr=False, compare=False)
    _children: dict[str, tuple[str, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tree:  # the shorthand: the county and its districts
            object.__setattr__(self, "tree", (Area(self.county, COUNTY), *(Area(d, DISTRICT, self.county)
                                                                            for d in self.districts)))
        if not self.benchmark:
            object.__setattr__(self, "benchmark", self.tree[0].name)
        children: dict[str, list[str]] = {}
        for area in self.tree:
            self._by_name[area.name] = area
            if area.parent is not None:
                children.setdefault(area.parent, []).append(area.name)
        self._children.update({name: tuple(kids) for name, kids in children.items()})

    @property
    def home(self) -> str:
        return self.county

    def rehomed(self, area: str) -> Catalogue:
        """The same catalogue seen from another area of its tree: that area as the home, its children
        as the districts (a pack or a page for another board of a regional deployment)."""
        if area == self.county:
            return self
        return dataclasses.replace(self, county=area, districts=self.children(area), name=f"{self.name}: {area}")

    @functools.cached_property
    def areas(self) -> tuple[str, ...]:
        """Every area: the home and everything under it first (the board's own), then the rest of
        the tree (its comparators) in the catalogue's order."""
        own = self.under(self.county)
        mine = set(own)
        return (*own, *(a.name for a in self.tree if a.name not in mine))

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)

    def tolerance(self, ind: Indicator) -> Tolerance:
        """The band in force today: the indicator's own, else the catalogue's."""
        return ind.amber_tolerance or self.amber_tolerance

    def bands(self, ind: Indicator) -> tuple[BandVersion, ...]:
        """The indicator's band over time, oldest first: its own versions if it sets a band, else the
        catalogue's. A band set once is one version; its start (the earliest quarter) never matters."""
        if ind.amber_tolerance is not None:
            return ind.band_versions or (BandVersion(EARLIEST, ind.amber_tolerance),)
        return self.band_versions or (BandVersion(EARLIEST, self.amber_tolerance),)

    def band_at(self, ind: Indicator | None, qi: int) -> Tolerance:
        """The band in force in quarter ``qi``: the indicator's (None: the catalogue's default)."""
        versions = self.bands(ind) if ind is not None else (
            self.band_versions or (BandVersion(EARLIEST, self.amber_tolerance),))
        return next((v.tolerance for v in reversed(versions) if v.start <= qi), versions[0].tolerance)

    def band_changes(self, ind: Indicator, first: int, last: int) -> list[tuple[BandVersion, BandVersion]]:
        """Each (old, new) pair of band versions where the band changed from ``first`` to ``last``
        (quarter indexes), the new version starting within them."""
        versions = self.bands(ind)
        return [(old, new) for old, new in zip(versions, versions[1:], strict=False)
                if first < new.start <= last and old.tolerance != new.tolerance]

    def current_rules(self) -> Catalogue:
        """The same catalogue with today's rules for every quarter: each band's last version only."""
        if not self.band_versions and not any(ind.band_versions for ind in self.indicators):
            return self
        return dataclasses.replace(
            self, band_versions=(),
            indicators=tuple(dataclasses.replace(ind, band_versions=()) for ind in self.indicators))

    @property
    def versioned(self) -> bool:
        """Whether any band changes over time (the pages then offer today's rules for every quarter)."""
        return any(len(self.bands(ind)) > 1 for ind in self.indicators)

    def level(self, area: str) -> Level:
        return self._by_name[area].level

    def parent(self, area: str) -> str | None:
        return self._by_name[area].parent

    def children(self, area: str) -> tuple[str, ...]:
        return self._children.get(area, ())

    def under(self, area: str) -> tuple[str, ...]:
        """The area and every area below it, each parent before its children."""
        out = [area]
        for child in self.children(area):
            out += self.under(child)
        return tuple(out)

    def depth(self, area: str) -> int:
        """How far below the root: 0 for the root."""
        parent = self.parent(area)
        return 0 if parent is None else 1 + self.depth(parent)

    @functools.cached_property
    def height(self) -> int:
        """The deepest area's depth: 1 for a county and its districts, 0 for one area alone."""
        return max(self.depth(a.name) for a in self.tree)

    def levels_below(self, area: str) -> tuple[Level, ...]:
        """The levels of the areas under this one (not its own)."""
        return tuple(dict.fromkeys(self.level(a) for a in self.under(area)[1:]))

    @property
    def district_level(self) -> Level | None:
        """The level of the home's children (the districts' grid), or None when it has none."""
        return self.level(self.districts[0]) if self.districts else None

    def at_districts(self, ind: Indicator) -> bool:
        """Whether the indicator is measured for the home's children (its districts)."""
        return self.district_level is not None and self.district_level in ind.levels

    def at_home(self, ind: Indicator) -> bool:
        return self.level(self.county) in ind.levels

    def in_scope(self, ind: Indicator, area: str) -> bool:
        return self.level(area) in ind.levels

    def spc_for(self, ind: Indicator) -> Spc:
        """The indicator's SPC settings, each key it leaves out taken from the catalogue's."""
        return Spc(
            rebase=ind.spc.rebase if ind.spc.rebase is not None else self.spc.rebase,
            screen_outliers=(ind.spc.screen_outliers if ind.spc.screen_outliers is not None
                             else self.spc.screen_outliers),
        )
