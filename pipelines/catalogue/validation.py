"""The catalogue's validation: pydantic models of the YAML, each mistake reported with its path.

Imported only when a catalogue file is parsed (``config.parse``); what it returns is the plain
``models.Catalogue``, which the engine uses and the cache rebuilds without pydantic.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipelines.catalogue import quarters
from pipelines.catalogue.config import (
    MAX_PROBLEMS,
    ConfigError,
    _figure,
    _shown,
    parse_tolerance,
    suggest,
)
from pipelines.catalogue.models import (
    CONFIDENCE_LEVELS,
    COUNTY,
    DISTRICT,
    MAX_WINDOW,
    SPC_DEFAULTS,
    Area,
    BandVersion,
    Better,
    Catalogue,
    Indicator,
    Measure,
    Spc,
    Tolerance,
    YearEnd,
    default_name,
)


def validate(raw: Any, path: str | Path = "indicators.yaml") -> Catalogue:
    if not isinstance(raw, dict):
        raise ConfigError(path, ["the file must be a mapping with county, districts and indicators"])
    try:
        spec = CatalogueSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, _problems(exc, raw)) from None
    defaults = spec.spc.settings()
    tree = spec.tree()
    home = spec.home_area()
    default_levels = (next(a.level for a in tree if a.name == home),)
    today, versions = _split(spec.amber_tolerance)
    assert today is not None  # the catalogue's band is never empty (its validator)
    return Catalogue(
        name=spec.name, county=home, districts=tuple(a.name for a in tree if a.parent == home),
        amber_tolerance=today, band_versions=versions, tree=tree, benchmark=spec.benchmark or tree[0].name,
        require_sign_in=spec.require_sign_in,
        peer_groups=dict(spec.peer_groups),
        indicators=tuple(_indicator(ind, default_levels) for ind in spec.indicators),
        spc=Spc(rebase=defaults.rebase if defaults.rebase is not None else SPC_DEFAULTS.rebase,
                screen_outliers=(defaults.screen_outliers if defaults.screen_outliers is not None
                                 else SPC_DEFAULTS.screen_outliers)),
    )


# Indicator's fields that IndicatorSpec holds under another shape or name
_RESHAPED = ("spc", "levels", "amber_tolerance", "band_versions", "live_from", "live_until")


def _indicator(ind: IndicatorSpec, default_levels: tuple[str, ...]) -> Indicator:
    today, versions = _split(ind.amber_tolerance)
    return Indicator(**{f.name: getattr(ind, f.name) for f in fields(Indicator) if f.name not in _RESHAPED},
                     levels=ind.levels or default_levels, spc=ind.spc.settings(), amber_tolerance=today,
                     band_versions=versions, live_from=ind.from_, live_until=ind.until)


def _year_targets(value: Any) -> dict[int, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must map financial years to targets, e.g. {2010/11: 11.35}")
    out: dict[int, float] = {}
    written: dict[int, str] = {}
    for year, target in value.items():
        start = quarters.parse_year(str(year))
        if start in out:  # '2010/11' and '2010 / 11' are two YAML keys but one year: which wins?
            raise ValueError(f"'{year}' is the same financial year as '{written[start]}'; keep one")
        out[start] = _figure(target, f"target for {year}")
        written[start] = str(year)
    return out


# A financial year's targets, e.g. {2010/11: 11.35}, read by _year_targets
YearTargets = Annotated[dict[int, float], BeforeValidator(_year_targets)]


def _quarter(value: Any, what: str) -> int:
    try:
        return quarters.parse(str(value))
    except quarters.QuarterError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _bands(value: Any) -> Tolerance | tuple[BandVersion, ...] | None:
    """``5%``, ``2.5``, or dated versions: ``[{from: 2009/10 Q1, band: 5%}, {from: 2010/11 Q3, band: 10%}]``."""
    if value is None:
        return None
    if not isinstance(value, list):
        return parse_tolerance(value)
    if not value:
        raise ValueError("must list at least one version, e.g. [{from: 2009/10 Q1, band: 5%}]")
    versions: list[BandVersion] = []
    for n, item in enumerate(value):
        where = f"version {n + 1}"
        if not isinstance(item, dict) or set(item) != {"from", "band"}:
            raise ValueError(f"{where}: each version is {{from: a quarter, band: a percentage or a number}},"
                             f" got {_shown(item)}")
        start = _quarter(item["from"], f"{where}.from")
        try:
            tolerance = parse_tolerance(item["band"])
        except ValueError as exc:
            raise ValueError(f"{where}.band: {exc}") from None
        if versions and start <= versions[-1].start:
            raise ValueError(f"{where}.from: {quarters.label(start)} must come after the version before it"
                             f" ({quarters.label(versions[-1].start)}); list the versions oldest first")
        versions.append(BandVersion(start, tolerance))
    return tuple(versions)


def _split(bands: Tolerance | tuple[BandVersion, ...] | None) -> tuple[Tolerance | None, tuple[BandVersion, ...]]:
    """Today's band and the dated versions (none for a band set once)."""
    if isinstance(bands, tuple):
        return (bands[-1].tolerance if len(bands) > 0 else None), (bands if len(bands) > 1 else ())
    return bands, ()


class _Strict(BaseModel):
    # defer_build: the validator is built on the first validation, which a cached catalogue never needs
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) not in CONFIDENCE_LEVELS:
        raise ValueError(f"must be 95 or 99.8 (per cent), got {_shown(value)}")
    return float(value)


class SpcSpec(_Strict):
    """The ``spc:`` block: ``rebase`` (quarters, each starting a new period), ``screen_outliers``."""

    rebase: tuple[int, ...] | None = None
    screen_outliers: bool | None = None

    @field_validator("rebase", mode="before")
    @classmethod
    def _rebase(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError("must list quarters, e.g. ['2009/10 Q1']")
        out = []
        for item in value:
            try:
                out.append(quarters.parse(str(item)))
            except quarters.QuarterError as exc:
                raise ValueError(str(exc)) from None
        if len(set(out)) != len(out):
            raise ValueError("a quarter is listed twice; keep one")
        return tuple(sorted(out))

    @field_validator("screen_outliers", mode="before")
    @classmethod
    def _screen(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {_shown(value)}")
        return value

    def settings(self) -> Spc:
        return Spc(rebase=self.rebase, screen_outliers=self.screen_outliers)


class IndicatorSpec(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    unit: str = ""
    better: Better
    # How the figure is made: as given (value), or numerator / denominator x per (rate, proportion)
    measure: Measure = "value"
    per: float | None = None  # the multiplier: 100 for a percentage, 1000, 100000
    confidence: float = 95.0  # of the intervals computed from counts
    window: int | None = Field(default=None, ge=1, le=MAX_WINDOW)  # quarters summed into each figure
    denominator: Literal["population"] | None = None  # from the populations table, not the rows
    # levels of the geography it is measured at; None: the home's level (the shorthand's county)
    levels: tuple[str, ...] | None = None
    amber_tolerance: Tolerance | tuple[BandVersion, ...] | None = None
    grey_when_not_significant: bool = False
    description: str = ""
    # the quarters it is expected in: a new indicator's first, a retired one's last
    from_: int | None = Field(default=None, alias="from")
    until: int | None = None
    year_end: YearEnd = "last"  # what the year's figure is, for the year-end forecast
    targets: YearTargets = Field(default_factory=dict)
    # each area's targets validated as an item, so a problem's path ends in the area's name
    area_targets: dict[str, YearTargets] = Field(default_factory=dict)
    spc: SpcSpec = SpcSpec()

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, defer_build=True)

    @field_validator("amber_tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> Tolerance | tuple[BandVersion, ...] | None:
        return _bands(value)

    @field_validator("from_", "until", mode="before")
    @classmethod
    def _live(cls, value: Any) -> int | None:
        return None if value is None else _quarter(value, "a quarter such as '2009/10 Q1'")

    @field_validator("area_targets", mode="before")
    @classmethod
    def _area_targets(cls, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must map area names to {financial year: target}")
        out: dict[str, Any] = {}
        for area, years in value.items():
            if str(area) in out:  # e.g. the keys 1 and '1': both name area '1'
                raise ValueError(f"the area '{area}' is listed twice; keep one")
            out[str(area)] = years
        return out

    @field_validator("levels", mode="before")
    @classmethod
    def _levels(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and not value:
            raise ValueError("must name at least one level, e.g. [county, district]")
        return value

    @field_validator("per", mode="before")
    @classmethod
    def _per(cls, value: Any) -> float | None:
        if value is None:
            return None
        per = _figure(value)
        if per <= 0:
            raise ValueError(f"must be a positive multiplier such as 100, 1000 or 100000, got {_shown(value)}")
        return per

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence_level(cls, value: Any) -> float:
        return _confidence(value)

    @model_validator(mode="before")
    @classmethod
    def _default_per(cls, data: Any) -> Any:
        # a proportion is a percentage unless it says otherwise
        if isinstance(data, dict) and data.get("measure") == "proportion" and data.get("per") is None:
            return {**data, "per": 100}
        return data

    @model_validator(mode="after")
    def _counted(self) -> IndicatorSpec:
        problems = []
        if self.measure == "value":
            problems += [f"{key}: applies to a rate or a proportion; add 'measure: rate' or 'measure: proportion',"
                         f" or remove {key}" for key in ("per", "denominator")
                         if getattr(self, key) is not None]
        elif self.per is None:
            problems.append("per: a rate needs its multiplier, e.g. 'per: 1000' for a rate per 1,000 population")
        if self.measure == "proportion" and self.denominator == "population":
            # nothing could check that the numerator is within the population it is a part of
            problems.append("denominator: a population is the denominator of a rate; for a share of the"
                            " population write 'measure: rate' with 'per: 100'")
        if self.from_ is not None and self.until is not None and self.until < self.from_:
            problems.append(f"until: {quarters.label(self.until)} is before from ({quarters.label(self.from_)});"
                            " an indicator's last quarter cannot come before its first")
        if self.better == "neither" and self.grey_when_not_significant:
            problems.append("grey_when_not_significant: an indicator with 'better: neither' is not rated,"
                            " so it never turns GREY; remove one of them")
        if problems:
            raise ValueError("\n".join(problems))
        return self


class AreaSpec(_Strict):
    """An area of the geography: ``{name: East Midlands, level: region, parent: England}``."""

    name: str = Field(min_length=1)
    level: str = Field(min_length=1)
    parent: str | None = None


class CatalogueSpec(_Strict):
    # The board's name, as the pages and the pack print it; default_name(home) when not given
    name: str = Field(default="", min_length=1)
    # The geography: the shorthand (a county and its districts) or a tree of areas at any depth
    county: str = Field(default="", min_length=1)
    districts: tuple[str, ...] = ()
    areas: tuple[AreaSpec, ...] | None = None
    home: str | None = None  # the board's own area (default: the root)
    benchmark: str | None = None  # the area every area is compared with (default: the root)
    peer_groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    amber_tolerance: Tolerance | tuple[BandVersion, ...] = Tolerance("percent", 5.0)
    require_sign_in: bool = False  # a private deployment: every page asks for a sign-in first
    indicators: tuple[IndicatorSpec, ...]
    spc: SpcSpec = SpcSpec()

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, defer_build=True)

    @field_validator("amber_tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> Tolerance | tuple[BandVersion, ...]:
        bands = _bands(value)
        if bands is None:
            raise ValueError("must be a percentage such as '5%', a plain number, or dated versions")
        return bands

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        # an older catalogue has no name: the board is named after its county (or its home area)
        if isinstance(data, dict) and "name" not in data:
            home = data.get("county") or data.get("home") or _root_name(data.get("areas"))
            if isinstance(home, str) and home:
                return {"name": default_name(home), **data}
        return data

    @field_validator("peer_groups", mode="before")
    @classmethod
    def _peer_groups(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must map each group's name to its areas, e.g. {Most similar: [Erewash, Mansfield]}")
        return {str(name): areas for name, areas in value.items()}

    def tree(self) -> tuple[Area, ...]:
        """The geography, each parent before its children (the root first)."""
        if self.areas is None:
            return (Area(self.county, COUNTY), *(Area(d, DISTRICT, self.county) for d in self.districts))
        given = [Area(a.name, a.level, a.parent) for a in self.areas]
        out = [a for a in given if a.parent is None]
        for area in out:  # grows as it goes: each area's children after it
            out += [a for a in given if a.parent == area.name]
        return tuple(out)

    def home_area(self) -> str:
        if self.areas is None:
            return self.county
        return self.home or self.tree()[0].name

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = " ".join(value.split())  # one line, however it was written
            if not value:
                raise ValueError("must not be blank; leave the key out to use '<county> Safer Communities Board'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CatalogueSpec:
        problems = self._geography()
        if problems:  # the indicators' levels and areas are checked against a sound tree only
            raise ValueError("\n".join(problems))
        seen: set[str] = set()
        tree = self.tree()
        level = {a.name: a.level for a in tree}
        # the shorthand's two levels are always known, even before a county has districts listed
        levels = list(dict.fromkeys(a.level for a in tree)) if self.areas else [COUNTY, DISTRICT]
        home_level = level[self.home_area()]
        for i, ind in enumerate(self.indicators):
            where = f"indicators[{i}] ({ind.id})"
            if ind.id in seen:
                problems.append(f"{where}.id: '{ind.id}' is defined twice")
            seen.add(ind.id)
            for k, name in enumerate(ind.levels or ()):
                if name not in levels:
                    problems.append(f"{where}.levels[{k}]: must be {_either(levels)}, got '{name}'")
            measured = ind.levels or (home_level,)
            for area in ind.area_targets:
                if area not in level:
                    problems.append(f"{where}.area_targets: unknown area '{area}'{suggest(area, level)}")
                elif level[area] not in measured:
                    problems.append(f"{where}.area_targets: '{area}' is a {level[area]} but levels has no"
                                    f" {level[area]}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _geography(self) -> list[str]:
        """The tree's problems: names unique, every parent known, one root, no cycles; home,
        benchmark and peer groups naming known areas."""
        if self.areas is None:
            if not self.county:
                return ["county: is required (or give the geography as areas)"]
            problems = []
            if len(set(self.districts)) != len(self.districts):
                problems.append("districts: a district is listed twice")
            if self.county in self.districts:
                problems.append(f"districts: '{self.county}' is the county; a district needs a name of its own")
            for key in ("home", "benchmark"):
                if getattr(self, key) not in (None, self.county):
                    problems.append(f"{key}: with county and districts the home and benchmark are the county;"
                                    " to name others, give the geography as areas")
            return problems + self._peers({self.county, *self.districts})
        if self.county or self.districts:
            return ["areas: give the geography either as areas or as county and districts, not both"]
        problems, names = [], [a.name for a in self.areas]
        known = set(names)
        for i, area in enumerate(self.areas):
            where = f"areas[{i}] ({area.name})"
            if area.name in names[:i]:
                problems.append(f"{where}.name: '{area.name}' is listed twice")
            if area.parent is not None and area.parent not in known:
                problems.append(f"{where}.parent: unknown area '{area.parent}'{suggest(area.parent, known)}")
        roots = [a.name for a in self.areas if a.parent is None]
        if len(roots) != 1:
            problems.append(f"areas: the tree needs exactly one area without a parent (its root, such as"
                            f" England); {'none has' if not roots else ', '.join(roots) + ' have'} none")
        if problems:
            return problems
        parent = {a.name: a.parent for a in self.areas}
        for i, area in enumerate(self.areas):
            seen, at = {area.name}, area.parent
            while at is not None and at not in seen:
                seen.add(at)
                at = parent[at]
            if at == area.name:  # the walk up came back: this area is in a cycle (not only above one)
                problems.append(f"areas[{i}] ({area.name}).parent: '{area.parent}' is under '{area.name}';"
                                " an area cannot be inside itself")
            elif at is not None and not problems:
                problems.append(f"areas[{i}] ({area.name}).parent: '{area.parent}' leads into a cycle, not to"
                                " the root")
        for key in ("home", "benchmark"):
            name = getattr(self, key)
            if name is not None and name not in known:
                problems.append(f"{key}: unknown area '{name}'{suggest(name, known)}")
        return problems + self._peers(known)

    def _peers(self, known: set[str]) -> list[str]:
        return [f"peer_groups.{group}: unknown area '{area}'{suggest(area, known)}"
                for group, areas in self.peer_groups.items() for area in areas if area not in known]


def _root_name(areas: Any) -> Any:
    """The name of the area without a parent in the raw ``areas:`` list, if there is one."""
    if isinstance(areas, list):
        for area in areas:
            if isinstance(area, dict) and area.get("parent") is None:
                return area.get("name")
    return None


def _either(names: list[str]) -> str:
    """"'county' or 'district'", as pydantic words a choice."""
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _problems(exc: ValidationError, raw: dict[str, Any]) -> list[str]:
    """One sentence per problem, at most MAX_PROBLEMS of them (then a count of the rest)."""
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        # the catalogue-wide check reports several problems in one error, a line each
        problems += _describe(err, raw).split("\n")
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [f"and {rest:,} more problems; correct these first"]
    return problems


def _describe(err: Any, raw: dict[str, Any]) -> str:
    loc = list(err["loc"])
    parts: list[str] = []
    node: Any = raw
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            try:
                node = node[key]
                if isinstance(node, dict) and "id" in node:
                    label += f" ({node['id']})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    where = "".join(parts) or "(top level)"
    kind, value = err["type"], err.get("input")
    if kind == "literal_error":
        allowed = err.get("ctx", {}).get("expected", "")
        message = f"must be {allowed}, got {_shown(value)}"
    elif kind == "extra_forbidden":
        message = "unknown key; check its spelling against the README"
    elif kind == "missing":
        message = "is required"
    elif kind == "value_error":
        message = str(err.get("ctx", {}).get("error", err["msg"]))
    else:
        message = f"{err['msg'][0].lower()}{err['msg'][1:]}, got {_shown(value)}"
    if where == "(top level)" and kind == "value_error":
        return message
    return f"{where}: {message}"
