"""The indicator catalogue: ``indicators.yaml`` loaded and validated with pydantic.

Every mistake is reported with its path, e.g.
``indicators[3] (NI 20).better: must be 'lower', 'higher' or 'neither', got 'down'``.

The file may come from anyone who can edit it, and the dashboard server reads it, so it is read
defensively: its size is bounded before parsing; one pass over the parser's events (which builds
nothing) bounds its nesting and the number of values it expands to, so an alias bomb or a
self-referring alias is refused before anything is built; duplicate keys are refused rather than
letting the last one win; and every number must be finite and of a size a real figure could have.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipelines.catalogue import cache, quarters

if TYPE_CHECKING:  # imported where a file is parsed: a catalogue from the cache never needs yaml
    import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "indicators.yaml"
Level = Literal["county", "district"]

# Limits that keep a hostile or mistaken file from exhausting the server's time and memory.
# The largest real catalogue we plan for is national: ~350 areas x 40 indicators, each with
# ten years of targets for every area. That is ~2.5 MB and ~310,000 YAML values (a key, a
# value, or a list or mapping each count as one), which takes ~3 s and ~160 MB to load.
MAX_BYTES = 5 * 1024 * 1024  # twice that catalogue; parsing a file this size costs seconds
MAX_NODES = 500_000  # 1.6 times that catalogue; building this many values takes ~250 MB
MAX_DEPTH = 50  # a catalogue nests 5 deep; this keeps the pure-Python parser off its recursion limit
# No target or band is this big: a bigger one is a typing slip (or an attempt to break the rule)
PLAUSIBLE = 1e12
# Problems reported for one file: a file with thousands has one mistake repeated
MAX_PROBLEMS = 100


class ConfigError(Exception):
    """The catalogue cannot be used; ``problems`` lists every mistake with its path."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{path} has {len(problems)} problem(s):\n" + "\n".join(problems))


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


def _repr_limits() -> reprlib.Repr:
    shown = reprlib.Repr()
    shown.maxstring, shown.maxother, shown.maxlong = 60, 60, 40
    return shown


_SHOWN = _repr_limits()


def _shown(value: Any) -> str:
    """``repr`` cut short: a problem is one sentence even when the value is a huge list or text."""
    return _SHOWN.repr(value)


def _sentence(subject: str, rest: str) -> str:
    return f"{subject} {rest}" if subject else rest


def _figure(value: Any, subject: str = "") -> float:
    """A target or band as a float, refusing what would give a wrong status: NaN compares false
    with everything, infinity is never within a band, and a figure of 1e12 or more is no real one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(_sentence(subject, f"must be a number, got {_shown(value)}"))
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(_sentence(subject, f"must be a finite number, got {value}"))
    if abs(value) >= PLAUSIBLE:  # also before float(), which overflows on a 400-digit integer
        raise ValueError(_sentence(subject, f"is too large to be a real figure (its size must be under"
                                            f" {PLAUSIBLE:,.0f}), got {_shown(value)}"))
    return float(value)


# ASCII digits only: \d also matches Arabic-Indic and other digits, and float() reads them,
# so "٥%" would otherwise silently become a 5% band.
_TOLERANCE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$", re.ASCII)


def parse_tolerance(value: Any) -> Tolerance:
    if isinstance(value, bool):
        raise ValueError(f"must be a percentage such as '5%' or a plain number, got {value!r}")
    if isinstance(value, int | float):
        amount = _figure(value)
        if amount < 0:
            raise ValueError(f"must not be negative, got {value}")
        return Tolerance("absolute", amount)
    if isinstance(value, str):
        match = _TOLERANCE.match(value)
        if match:
            return Tolerance("percent", _figure(float(match.group(1))))
    raise ValueError(f"must be a percentage such as '5%' or a plain number, got {_shown(value)}")


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


class _Strict(BaseModel):
    # defer_build: the validator is built on the first validation, which a cached catalogue never needs
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


Measure = Literal["value", "rate", "proportion"]
Better = Literal["lower", "higher", "neither"]
# The confidence levels intervals are computed at, as Fingertips offers them
CONFIDENCE_LEVELS = (95.0, 99.8)
# A window longer than ten years of quarters is a typing slip, and every status would be NA
MAX_WINDOW = 40


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) not in CONFIDENCE_LEVELS:
        raise ValueError(f"must be 95 or 99.8 (per cent), got {_shown(value)}")
    return float(value)


class Indicator(_Strict):
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
    levels: tuple[Level, ...] = ("county",)
    amber_tolerance: Tolerance | None = None
    grey_when_not_significant: bool = False
    description: str = ""
    targets: YearTargets = Field(default_factory=dict)
    # each area's targets validated as an item, so a problem's path ends in the area's name
    area_targets: dict[str, YearTargets] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, defer_build=True)

    @field_validator("amber_tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> Tolerance | None:
        return None if value is None else parse_tolerance(value)

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
            raise ValueError("must name at least one of county, district")
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
    def _counted(self) -> Indicator:
        problems = []
        if self.measure == "value":
            problems += [f"{key}: applies to a rate or a proportion; add 'measure: rate' or 'measure: proportion',"
                         f" or remove {key}" for key in ("per", "denominator")
                         if getattr(self, key) is not None]
        elif self.per is None:
            problems.append("per: a rate needs its multiplier, e.g. 'per: 1000' for a rate per 1,000 population")
        if self.better == "neither" and self.grey_when_not_significant:
            problems.append("grey_when_not_significant: an indicator with 'better: neither' is not rated,"
                            " so it never turns GREY; remove one of them")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def at_district(self) -> bool:
        return "district" in self.levels

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


class Catalogue(_Strict):
    # The board's name, as the pages and the pack print it; default_name(county) when not given
    name: str = Field(default="", min_length=1)
    county: str = Field(min_length=1)
    districts: tuple[str, ...] = ()
    amber_tolerance: Tolerance = Tolerance("percent", 5.0)
    indicators: tuple[Indicator, ...]

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, defer_build=True)

    @field_validator("amber_tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> Tolerance:
        return parse_tolerance(value)

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        # an older catalogue has no name: the board is named after its county
        if isinstance(data, dict) and "name" not in data and isinstance(data.get("county"), str):
            return {"name": default_name(data["county"]), **data}
        return data

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = " ".join(value.split())  # one line, however it was written
            if not value:
                raise ValueError("must not be blank; leave the key out to use '<county> Safer Communities Board'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        problems: list[str] = []
        seen: set[str] = set()
        areas = {self.county, *self.districts}
        if len(set(self.districts)) != len(self.districts):
            problems.append("districts: a district is listed twice")
        if self.county in self.districts:
            problems.append(f"districts: '{self.county}' is the county; a district needs a name of its own")
        for i, ind in enumerate(self.indicators):
            where = f"indicators[{i}] ({ind.id})"
            if ind.id in seen:
                problems.append(f"{where}.id: '{ind.id}' is defined twice")
            seen.add(ind.id)
            for area in ind.area_targets:
                if area not in areas:
                    problems.append(
                        f"{where}.area_targets: unknown area '{area}'{suggest(area, areas)}"
                    )
                elif area != self.county and not ind.at_district:
                    problems.append(
                        f"{where}.area_targets: '{area}' is a district but levels has no district"
                    )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def areas(self) -> tuple[str, ...]:
        return (self.county, *self.districts)

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)

    def tolerance(self, ind: Indicator) -> Tolerance:
        return ind.amber_tolerance or self.amber_tolerance

    def level(self, area: str) -> Level:
        return "county" if area == self.county else "district"

    def in_scope(self, ind: Indicator, area: str) -> bool:
        return self.level(area) in ind.levels


def suggest(name: str, known: Any) -> str:
    """'; did you mean 'X'?' for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"; did you mean '{close[0]}'?" if close else ""


def config_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("RAGBOARD_CONFIG") or DEFAULT_CONFIG)


def load(path: str | Path | None = None) -> Catalogue:
    """Read and validate the catalogue, raising ConfigError with every problem found.

    A catalogue validated before, with the same bytes, comes from the cache (``cache``) without
    being parsed again; only a valid catalogue is ever kept, so every mistake is still reported."""
    path = config_path(path)
    data = _read(path)
    cached = _from_cache(data)
    if cached is not None:
        return cached
    catalogue = parse(read_yaml(_text(data, path), path), path)
    cache.store(data, json.dumps(_dump(catalogue), ensure_ascii=False, allow_nan=False))
    return catalogue


def _read(path: Path) -> bytes:
    """The file's bytes, reading no more than MAX_BYTES + 1 of them (it could be huge, or /dev/zero)."""
    try:
        data = _read_at_most(path, MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(path, ["file not found; set --config or RAGBOARD_CONFIG"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"the file cannot be read ({exc.strerror or exc})"]) from None
    if len(data) > MAX_BYTES:
        raise ConfigError(path, [f"the file is over the {MAX_BYTES // 2**20} MB limit for a catalogue"
                                 " (a national one is about 2.5 MB); check it is the right file"])
    return data


def _text(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"byte {exc.start + 1} is not UTF-8 text; save the file as UTF-8"]) from None


def _read_at_most(path: Path, limit: int) -> bytes:
    # In pieces: read(limit) would set aside the whole limit up front, even for a tiny file
    pieces: list[bytes] = []
    got = 0
    with path.open("rb") as file:
        while got < limit and (piece := file.read(min(2**16, limit - got))):
            pieces.append(piece)
            got += len(piece)
    return b"".join(pieces)


def read_yaml(text: str, path: str | Path = "indicators.yaml") -> Any:
    """The single YAML document in ``text`` as Python objects, or ConfigError if it is not valid
    YAML, would expand too far (see _shape_problem) or writes a key twice in one mapping."""
    # libyaml's parser when present: the pure-Python one takes 0.3 s on a national catalogue
    import yaml
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        problem = _shape_problem(yaml.parse(text, Loader=loader_class))
        if problem:
            raise ConfigError(path, [problem])
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            problems = _duplicate_keys(node, loader)
            if problems:
                raise ConfigError(path, problems)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(path, [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    except ValueError as exc:  # raised by the constructor itself, e.g. for the date 2010-13-45
        raise ConfigError(path, [f"not valid YAML ({exc})"]) from None


@dataclass
class _Open:
    """A mapping or sequence that _shape_problem is inside."""

    is_map: bool
    anchor: str | None
    size: int = 1  # values in it so far, itself included and aliases expanded
    filled: int = 0  # entries so far; a mapping counts its keys and its values
    key: str = "?"  # a mapping's current key as written ('?' if it is not a scalar)
    ident: str | None = None  # an indicator's id once read: the path shows it

    def add(self, size: int, text: str | None) -> None:
        """Count one entry of ``size`` values; ``text`` is what a scalar or alias entry says."""
        if self.is_map and self.filled % 2 == 0:
            self.key = "?" if text is None else text
        elif self.is_map and self.key == "id" and text is not None:
            self.ident = text
        self.size += size
        self.filled += 1


def _shape_problem(events: Iterable[yaml.Event]) -> str | None:
    """Why the document must not be built, or None: it expands past MAX_NODES values, nests
    deeper than MAX_DEPTH, or an alias is inside the node it names (an endless loop).

    One pass over the parser's events, which builds nothing. Each anchored node's expanded size
    is remembered, so an alias costs one step however many values it stands for: a "billion
    laughs" file is refused at the alias that crosses the limit, in milliseconds."""
    import yaml
    stack: list[_Open] = []
    sizes: dict[str, int] = {}  # the expanded size of every anchored node finished so far
    total = 0
    for event in events:  # the commonest events first: this loop is most of the pass's cost
        text: str | None = None  # what a scalar or alias entry says, for the path
        if isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            grown, text = 1, str(event.value)
        elif isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop()
            if done.anchor:
                sizes[done.anchor] = done.size
            if stack:
                stack[-1].add(done.size, None)
            continue
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                return (f"line {_line(event)}: the YAML nests more than {MAX_DEPTH} levels deep,"
                        " far more than a catalogue needs; check it is the right file")
            grown = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(open_.anchor == event.anchor for open_ in stack):
                return _at(_event_path(stack), f"the alias *{event.anchor} (line {_line(event)}) is inside"
                           f" the anchor &{event.anchor} it names, so it would repeat forever; remove it")
            # an undefined alias counts one: the composer reports it
            grown, text = sizes.get(str(event.anchor), 1), f"*{event.anchor}"
        else:
            continue  # the start and end of the stream and of the document
        total += grown
        if total > MAX_NODES:
            return _at(_event_path(stack), f"the catalogue grows past {MAX_NODES:,} values at line"
                       f" {_line(event)}, counting each alias as the values it repeats; a national"
                       " catalogue has about 310,000, so look for aliases repeated many times")
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append(_Open(isinstance(event, yaml.MappingStartEvent), event.anchor))
        elif stack:
            stack[-1].add(grown, text)
    return None


def _line(event: yaml.Event) -> int:
    return int(event.start_mark.line) + 1 if event.start_mark else 0


def _event_path(stack: list[_Open]) -> str:
    """The path to the parser's position, in the style of _describe: ``indicators[0] (NI 1).targets``."""
    path = ""
    for depth, open_ in enumerate(stack):
        if open_.is_map and open_.filled % 2:
            path = _join(path, open_.key)
        elif not open_.is_map:
            inner = stack[depth + 1] if depth + 1 < len(stack) else None
            path += f"[{open_.filled}]" + (f" ({inner.ident})" if inner and inner.ident else "")
    return path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _at(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


# Keys the constructor treats specially (``<<: *defaults`` merges a mapping): compare as written
_SPECIAL_KEYS = {"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"}
_STR = "tag:yaml.org,2002:str"


def _duplicate_keys(root: yaml.Node, loader: Any) -> list[str]:
    """Every key written twice in one mapping, with the mapping's path. YAML keeps only the last,
    so a second ``targets:`` would silently replace the first. Each node is visited once, in file
    order, without following an alias into a node already visited."""
    import yaml
    problems: list[str] = []
    seen: set[int] = set()
    todo: list[tuple[yaml.Node, str]] = [(root, "")]
    while todo:
        node, path = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[yaml.Node, str]] = []
        if isinstance(node, yaml.MappingNode):
            problems += _repeated_keys(node, path, loader)
            children = [(value, _join(path, _key_text(key))) for key, value in node.value]
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, f"{path}[{i}]{_ident(item)}") for i, item in enumerate(node.value)]
        todo.extend(reversed(children))
    return problems


def _repeated_keys(node: yaml.MappingNode, path: str, loader: Any) -> list[str]:
    # Keys compare as the values they become, as in the dict: 1 and 1.0, or 'a' and "a", are one key
    import yaml
    lines: dict[Any, list[int]] = {}
    written: dict[Any, str] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue  # a list or mapping as a key cannot be a dict key: the constructor refuses it
        same = _key_value(key, loader)
        lines.setdefault(same, []).append(key.start_mark.line + 1)
        written.setdefault(same, key.value)
    return [_at(path, _repeated(written[same], found)) for same, found in lines.items() if len(found) > 1]


def _key_value(key: yaml.ScalarNode, loader: Any) -> Any:
    if key.tag == _STR:  # most keys: constructing one gives its text, so skip the constructor
        return key.value
    if key.tag in _SPECIAL_KEYS:
        return ("special", key.value)
    return loader.construct_object(key)


def _repeated(key: str, lines: list[int]) -> str:
    times = "twice" if len(lines) == 2 else f"{len(lines)} times"
    if len(set(lines)) == 1:
        where = f"line {lines[0]}"
    else:
        where = "lines " + ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"
    return f"the key {_shown(key)} appears {times} ({where}); keep one"


def _key_text(key: yaml.Node) -> str:
    import yaml
    return str(key.value) if isinstance(key, yaml.ScalarNode) else "?"


def _ident(item: yaml.Node) -> str:
    """`` (NI 1)`` when ``item`` is a mapping with a plain ``id``: paths name indicators."""
    import yaml
    if isinstance(item, yaml.MappingNode):
        for key, value in item.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "id" and isinstance(value, yaml.ScalarNode):
                return f" ({value.value})"
    return ""


def parse(raw: Any, path: str | Path = "indicators.yaml") -> Catalogue:
    if not isinstance(raw, dict):
        raise ConfigError(path, ["the file must be a mapping with county, districts and indicators"])
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, _problems(exc, raw)) from None


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


# ---- the cache's JSON: a validated catalogue, rebuilt without validating it again -------------
# Every value is checked for its type on the way back; an entry that is not exactly what _dump
# wrote raises ValueError, and the catalogue is then read from its file as if there were no cache.

def _dump(cat: Catalogue) -> dict[str, Any]:
    return {
        "set": sorted(cat.model_fields_set), "name": cat.name, "county": cat.county,
        "districts": list(cat.districts),
        "amber_tolerance": [cat.amber_tolerance.kind, cat.amber_tolerance.amount],
        "indicators": [{
            "set": sorted(ind.model_fields_set), "id": ind.id, "name": ind.name, "unit": ind.unit,
            "better": ind.better, "levels": list(ind.levels), "measure": ind.measure, "per": ind.per,
            "confidence": ind.confidence, "window": ind.window, "denominator": ind.denominator,
            "amber_tolerance": None if ind.amber_tolerance is None else [ind.amber_tolerance.kind,
                                                                        ind.amber_tolerance.amount],
            "grey_when_not_significant": ind.grey_when_not_significant, "description": ind.description,
            "targets": list(ind.targets.items()),
            "area_targets": [[area, list(years.items())] for area, years in ind.area_targets.items()],
        } for ind in cat.indicators],
    }


def _from_cache(data: bytes) -> Catalogue | None:
    payload = cache.lookup(data)
    if payload is None:
        return None
    try:
        return _rebuild(json.loads(payload))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None  # not what _dump wrote: read the file instead


def _of(kind: type, value: Any) -> Any:
    if type(value) is not kind:
        raise ValueError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _one_of(allowed: tuple[str, ...], value: Any) -> Any:
    if value not in allowed or type(value) is not str:
        raise ValueError(f"expected one of {allowed}")
    return value


def _optional(kind: type, value: Any) -> Any:
    return None if value is None else _of(kind, value)


def _optional_one_of(allowed: tuple[str, ...], value: Any) -> Any:
    return None if value is None else _one_of(allowed, value)


def _one_of_numbers(allowed: tuple[float, ...], value: Any) -> float:
    if type(value) is not float or value not in allowed:
        raise ValueError(f"expected one of {allowed}")
    return value


def _strs(values: Any) -> tuple[str, ...]:
    return tuple(_of(str, v) for v in _of(list, values))


def _years(pairs: Any) -> dict[int, float]:
    return {_of(int, fy): _of(float, target) for fy, target in _of(list, pairs)}


def _tolerance_back(value: Any) -> Tolerance:
    kind, amount = _of(list, value)
    return Tolerance(_one_of(("percent", "absolute"), kind), _of(float, amount))


def _fields_set(model: type[BaseModel], value: Any) -> set[str]:
    names = set(_strs(value))
    if not names <= set(model.model_fields):
        raise ValueError("unknown field")
    return names


def _rebuild(raw: Any) -> Catalogue:
    indicators = []
    for ind in _of(list, raw["indicators"]):
        tol = ind["amber_tolerance"]
        levels = tuple(_one_of(("county", "district"), level) for level in _of(list, ind["levels"]))
        indicators.append(Indicator.model_construct(
            _fields_set=_fields_set(Indicator, ind["set"]),
            id=_of(str, ind["id"]), name=_of(str, ind["name"]), unit=_of(str, ind["unit"]),
            better=_one_of(("lower", "higher", "neither"), ind["better"]), levels=levels,
            measure=_one_of(("value", "rate", "proportion"), ind["measure"]),
            per=_optional(float, ind["per"]), confidence=_one_of_numbers(CONFIDENCE_LEVELS, ind["confidence"]),
            window=_optional(int, ind["window"]), denominator=_optional_one_of(("population",), ind["denominator"]),
            amber_tolerance=None if tol is None else _tolerance_back(tol),
            grey_when_not_significant=_of(bool, ind["grey_when_not_significant"]),
            description=_of(str, ind["description"]), targets=_years(ind["targets"]),
            area_targets={_of(str, area): _years(years) for area, years in _of(list, ind["area_targets"])},
        ))
    return Catalogue.model_construct(
        _fields_set=_fields_set(Catalogue, raw["set"]),
        name=_of(str, raw["name"]), county=_of(str, raw["county"]), districts=_strs(raw["districts"]),
        amber_tolerance=_tolerance_back(raw["amber_tolerance"]), indicators=tuple(indicators),
    )
