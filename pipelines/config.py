"""The indicator catalogue: ``indicators.yaml`` loaded and validated with pydantic.

Every mistake is reported with its path, e.g.
``indicators[3] (NI 20).better: must be 'lower' or 'higher', got 'down'``.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines import quarters

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "indicators.yaml"
Level = Literal["county", "district"]


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


_TOLERANCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_tolerance(value: Any) -> Tolerance:
    if isinstance(value, bool):
        raise ValueError(f"must be a percentage such as '5%' or a plain number, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"must not be negative, got {value}")
        return Tolerance("absolute", float(value))
    if isinstance(value, str):
        match = _TOLERANCE.match(value)
        if match:
            return Tolerance("percent", float(match.group(1)))
    raise ValueError(f"must be a percentage such as '5%' or a plain number, got {value!r}")


def _year_targets(value: Any) -> dict[int, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must map financial years to targets, e.g. {2010/11: 11.35}")
    out: dict[int, float] = {}
    for year, target in value.items():
        start = quarters.parse_year(str(year))
        if isinstance(target, bool) or not isinstance(target, int | float):
            raise ValueError(f"target for {year} must be a number, got {target!r}")
        out[start] = float(target)
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Indicator(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    unit: str = ""
    better: Literal["lower", "higher"]
    levels: tuple[Level, ...] = ("county",)
    amber_tolerance: Tolerance | None = None
    grey_when_not_significant: bool = False
    description: str = ""
    targets: dict[int, float] = Field(default_factory=dict)
    area_targets: dict[str, dict[int, float]] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @field_validator("amber_tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> Tolerance | None:
        return None if value is None else parse_tolerance(value)

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> dict[int, float]:
        return _year_targets(value)

    @field_validator("area_targets", mode="before")
    @classmethod
    def _area_targets(cls, value: Any) -> dict[str, dict[int, float]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must map area names to {financial year: target}")
        return {str(area): _year_targets(years) for area, years in value.items()}

    @field_validator("levels", mode="before")
    @classmethod
    def _levels(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and not value:
            raise ValueError("must name at least one of county, district")
        return value

    @property
    def at_district(self) -> bool:
        return "district" in self.levels


class Catalogue(_Strict):
    county: str = Field(min_length=1)
    districts: tuple[str, ...] = ()
    amber_tolerance: Tolerance = Tolerance("percent", 5.0)
    indicators: tuple[Indicator, ...]

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @field_validator("amber_tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> Tolerance:
        return parse_tolerance(value)

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
    """Read and validate the catalogue, raising ConfigError with every problem found."""
    path = config_path(path)
    try:
        # libyaml's parser when present: the pure-Python one takes 0.3 s on a national catalogue
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    except FileNotFoundError:
        raise ConfigError(path, ["file not found; set --config or RAGBOARD_CONFIG"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(path, [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    return parse(raw, path)


def parse(raw: Any, path: str | Path = "indicators.yaml") -> Catalogue:
    if not isinstance(raw, dict):
        raise ConfigError(path, ["the file must be a mapping with county, districts and indicators"])
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(err, raw) for err in exc.errors()]) from None


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
        message = f"must be {allowed}, got {value!r}"
    elif kind == "extra_forbidden":
        message = "unknown key; check its spelling against the README"
    elif kind == "missing":
        message = "is required"
    elif kind == "value_error":
        message = str(err.get("ctx", {}).get("error", err["msg"]))
    else:
        message = f"{err['msg'][0].lower()}{err['msg'][1:]}, got {value!r}"
    if where == "(top level)" and kind == "value_error":
        return message
    return f"{where}: {message}"
