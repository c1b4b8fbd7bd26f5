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
from typing import TYPE_CHECKING, Any

from pipelines.catalogue import cache

# The catalogue's types live in models.py; importing them from here keeps working
from pipelines.catalogue.models import (
    CONFIDENCE_LEVELS,
    COUNTY,
    DISTRICT,
    MAX_WINDOW,
    Area,
    BandVersion,
    Catalogue,
    Indicator,
    Level,
    Spc,
    Tolerance,
    default_name,
)

__all__ = ["CONFIDENCE_LEVELS", "MAX_WINDOW", "Area", "BandVersion", "Catalogue", "ConfigError", "Indicator",
           "Level", "Spc", "Tolerance", "config_path", "default_name", "load", "parse", "parse_tolerance",
           "read_yaml", "suggest"]

if TYPE_CHECKING:  # imported where a file is parsed: a catalogue from the cache never needs yaml
    import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "indicators.yaml"

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
    return from_bytes(_read(path), path)


def from_bytes(data: bytes, path: str | Path = "indicators.yaml") -> Catalogue:
    """The catalogue a file's bytes hold (``path`` names it in problems): from the cache when these
    bytes were validated before. The catalogue keeps its bytes (``source``): a load and a pack
    record them, so a pack can be made again with the rules it had."""
    catalogue = _from_cache(data)
    if catalogue is None:
        catalogue = parse(read_yaml(_text(data, Path(path)), path), path)
        cache.store(data, json.dumps(_dump(catalogue), ensure_ascii=False, allow_nan=False))
    object.__setattr__(catalogue, "source", data)  # frozen; the same bytes give the same catalogue
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
    """The validated catalogue, or ConfigError with every problem and its path. pydantic is
    imported here, when a file is parsed, never by a start that finds its catalogue in the cache."""
    from pipelines.catalogue import validation
    return validation.validate(raw, path)


# ---- the cache's JSON: a validated catalogue, rebuilt without validating it again -------------
# Every value is checked for its type on the way back; an entry that is not exactly what _dump
# wrote raises ValueError, and the catalogue is then read from its file as if there were no cache.

def _dump(cat: Catalogue) -> dict[str, Any]:
    return {
        "name": cat.name, "county": cat.county,
        "districts": list(cat.districts),
        "tree": [[a.name, a.level, a.parent] for a in cat.tree], "benchmark": cat.benchmark,
        "peer_groups": [[group, list(areas)] for group, areas in cat.peer_groups.items()],
        "amber_tolerance": [cat.amber_tolerance.kind, cat.amber_tolerance.amount],
        "band_versions": _versions_dump(cat.band_versions), "require_sign_in": cat.require_sign_in,
        "indicators": [{
            "id": ind.id, "name": ind.name, "unit": ind.unit,
            "better": ind.better, "levels": list(ind.levels), "measure": ind.measure, "per": ind.per,
            "confidence": ind.confidence, "window": ind.window, "denominator": ind.denominator,
            "amber_tolerance": None if ind.amber_tolerance is None else [ind.amber_tolerance.kind,
                                                                        ind.amber_tolerance.amount],
            "grey_when_not_significant": ind.grey_when_not_significant, "description": ind.description,
            "targets": list(ind.targets.items()),
            "area_targets": [[area, list(years.items())] for area, years in ind.area_targets.items()],
            "spc": _spc_dump(ind.spc),
            "band_versions": _versions_dump(ind.band_versions), "live": [ind.live_from, ind.live_until],
            "year_end": ind.year_end,
        } for ind in cat.indicators],
        "spc": _spc_dump(cat.spc),
    }


def _versions_dump(versions: tuple[BandVersion, ...]) -> list[Any]:
    return [[v.start, v.tolerance.kind, v.tolerance.amount] for v in versions]


def _versions_back(value: Any) -> tuple[BandVersion, ...]:
    out = []
    for start, kind, amount in _of(list, value):
        out.append(BandVersion(_of(int, start), _tolerance_back([kind, amount])))
    if len(out) == 1 or any(b.start <= a.start for a, b in zip(out, out[1:], strict=False)):
        raise ValueError("not a catalogue's band versions")
    return tuple(out)


def _spc_dump(spc: Spc) -> list[Any]:
    return [None if spc.rebase is None else list(spc.rebase), spc.screen_outliers]


def _spc_back(value: Any) -> Spc:
    rebase, screen = _of(list, value)
    return Spc(rebase=None if rebase is None else tuple(_of(int, q) for q in _of(list, rebase)),
               screen_outliers=_optional(bool, screen))


def _from_cache(data: bytes) -> Catalogue | None:
    payload = cache.lookup(data)
    if payload is None:
        return None
    try:
        return _sound(_rebuild(json.loads(payload, parse_constant=_no_constant)))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None  # not what _dump wrote: read the file instead


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no figure")  # json reads NaN and Infinity unless told not to


def _sound(cat: Catalogue) -> Catalogue:
    """The rules a validated catalogue always meets, checked again on a cached one: an entry is
    written only by ``_dump``, but the folder could be written to by the same user's other code."""
    ids = [ind.id for ind in cat.indicators]
    names = [a.name for a in cat.tree]
    if len(set(ids)) != len(ids) or len(set(names)) != len(names):
        raise ValueError("names repeat")
    known = set(names)
    roots = [a for a in cat.tree if a.parent is None]
    if (len(roots) != 1 or roots[0] != cat.tree[0] or any(a.parent not in known for a in cat.tree[1:])
            or cat.county not in known or cat.benchmark not in known or cat.districts != cat.children(cat.county)
            or len(cat.under(cat.tree[0].name)) != len(names)  # every area reached from the root: no cycle
            or any(a not in known for areas in cat.peer_groups.values() for a in areas)):
        raise ValueError("not a catalogue's geography")
    levels = {a.level for a in cat.tree} | {COUNTY, DISTRICT}  # the shorthand's, with or without districts
    for ind in cat.indicators:
        numbers = [*ind.targets.values(), *(t for years in ind.area_targets.values() for t in years.values())]
        if not ind.levels or not set(ind.levels) <= levels or not set(ind.area_targets) <= known or any(
                not math.isfinite(t) or abs(t) >= PLAUSIBLE for t in numbers):
            raise ValueError("not a catalogue's indicator")
        if ind.counted != (ind.per is not None and ind.per > 0) or not 1 <= (ind.window or 1) <= MAX_WINDOW:
            raise ValueError("not a catalogue's measure")
    return cat


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


def _rebuild(raw: Any) -> Catalogue:
    indicators = []
    for ind in _of(list, raw["indicators"]):
        tol = ind["amber_tolerance"]
        levels = _strs(ind["levels"])
        indicators.append(Indicator(
            id=_of(str, ind["id"]), name=_of(str, ind["name"]), unit=_of(str, ind["unit"]),
            better=_one_of(("lower", "higher", "neither"), ind["better"]), levels=levels,
            measure=_one_of(("value", "rate", "proportion"), ind["measure"]),
            per=_optional(float, ind["per"]), confidence=_one_of_numbers(CONFIDENCE_LEVELS, ind["confidence"]),
            window=_optional(int, ind["window"]), denominator=_optional_one_of(("population",), ind["denominator"]),
            amber_tolerance=None if tol is None else _tolerance_back(tol),
            grey_when_not_significant=_of(bool, ind["grey_when_not_significant"]),
            description=_of(str, ind["description"]), targets=_years(ind["targets"]),
            area_targets={_of(str, area): _years(years) for area, years in _of(list, ind["area_targets"])},
            spc=_spc_back(ind["spc"]), band_versions=_versions_back(ind["band_versions"]),
            live_from=_optional(int, ind["live"][0]), live_until=_optional(int, ind["live"][1]),
            year_end=_one_of(("sum", "mean", "last"), ind["year_end"]),
        ))
    return Catalogue(
        name=_of(str, raw["name"]), county=_of(str, raw["county"]), districts=_strs(raw["districts"]),
        amber_tolerance=_tolerance_back(raw["amber_tolerance"]), indicators=tuple(indicators),
        band_versions=_versions_back(raw["band_versions"]), require_sign_in=_of(bool, raw["require_sign_in"]),
        spc=_spc_back(raw["spc"]),
        tree=tuple(Area(_of(str, name), _of(str, level), _optional(str, parent))
                   for name, level, parent in _of(list, raw["tree"])),
        benchmark=_of(str, raw["benchmark"]),
        peer_groups={_of(str, group): _strs(areas) for group, areas in _of(list, raw["peer_groups"])},
    )
