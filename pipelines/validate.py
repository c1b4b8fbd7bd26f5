"""Check a quarterly data file against the catalogue and list every problem at once."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipelines import quarters
from pipelines.config import Catalogue, suggest
from pipelines.reader import Table

REQUIRED = ("indicator", "area", "quarter", "value")
OPTIONAL = ("lower", "upper", "numerator", "denominator", "reported_status", "note")
NUMERIC = ("value", "lower", "upper", "numerator", "denominator")
STATUS_WORDS = {
    "G": "GREEN", "GREEN": "GREEN", "A": "AMBER", "AMBER": "AMBER", "R": "RED", "RED": "RED",
    "GREY": "GREY", "GRAY": "GREY", "NA": "NA", "N/A": "NA", "NOT AVAILABLE": "NA",
}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_SPACED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}( \d{3})+(\.\d+)?$")
_DOTTED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    value: str
    reason: str
    suggestion: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}" if self.column else f"line {self.line}"
        tail = f" ({self.suggestion})" if self.suggestion else ""
        return f"{where}: {self.reason}{tail}"


# One clean row, in the order of store.OBSERVATION_COLUMNS
Row = tuple[str, str, str, int, float | None, float | None, float | None,
            float | None, float | None, str | None, str | None]


@dataclass
class Checked:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self, name: str) -> str:
        qs = sorted({r[3] for r in self.rows})
        span = quarters.label(qs[0]) if len(qs) == 1 else f"{quarters.label(qs[0])} to {quarters.label(qs[-1])}"
        inds = len({r[0] for r in self.rows})
        areas = len({r[1] for r in self.rows})
        return (f"{name}: {plural(len(self.rows), 'row')} OK ({plural(inds, 'indicator')},"
                f" {plural(areas, 'area')}, {span}).")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def parse_number(text: str, delimiter: str = ",") -> float:
    """A plain number with a decimal point. Thousands separators are taken only where they
    cannot be anything else; whatever could be read two ways is refused, never guessed."""
    s = text.strip()
    if s.endswith("%"):
        raise ValueError(f"'{s}' has a % sign; give the number alone ({s[:-1].strip()})")
    if delimiter == "," and _THOUSANDS.match(s):
        s = s.replace(",", "")  # "1,839" quoted in a comma-separated file: only thousands fit
    elif "," in s:
        whole, decimal = s.replace(",", ""), s.replace(",", ".")
        if re.match(r"^[+-]?\d+,\d+$", s) and len(s.split(",")[1]) != 3:
            fix = f"{decimal}"  # two or four digits after the comma: it can only mark decimals
        elif s.count(",") == 1:
            fix = f"{decimal} if the comma marks decimals, {whole} if it separates thousands"
        else:
            fix = whole
        raise ValueError(f"'{s}' has a comma; write the number with a decimal point and no separators ({fix})")
    elif delimiter == ";" and _DOTTED_THOUSANDS.match(s):
        raise ValueError(
            f"'{s}' could be a decimal or, as ';'-separated files often write it, a whole number with a"
            f" thousands separator; write {s.replace('.', '')} or add a decimal place ({s}0)")
    elif _SPACED_THOUSANDS.match(s):
        s = s.replace(" ", "")
    if not _PLAIN.match(s):
        raise ValueError(f"'{text.strip()}' is not a number")
    number = float(s)
    if not math.isfinite(number):
        raise ValueError(f"'{s}' is not a finite number")
    return number


def check(table: Table, catalogue: Catalogue) -> Checked:
    out = Checked()
    header = table.header
    known_columns = set(REQUIRED) | set(OPTIONAL)
    for i, name in enumerate(header):
        if name not in known_columns:
            label = name or f"(column {i + 1} has no name)"
            out.problems.append(Problem(
                1, label, name, "unknown column",
                f"the columns are {', '.join(REQUIRED + OPTIONAL)}{suggest(name, known_columns)}",
            ))
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        out.problems.append(Problem(1, dupes[0], dupes[0], "column appears twice", "keep one"))
    for name in REQUIRED:
        if name not in header:
            out.problems.append(Problem(1, name, "", f"missing required column '{name}'",
                                        f"the header must include {', '.join(REQUIRED)}"))
    if out.problems:
        return out

    pos = {name: header.index(name) for name in header}
    indicators = {ind.id: ind for ind in catalogue.indicators}
    areas = set(catalogue.areas)
    quarter_cache: dict[str, int | str] = {}
    seen: dict[tuple[str, str, int], int] = {}
    width = len(header)

    for line, fields in table.records:
        if len(fields) > width and any(f.strip() for f in fields[width:]):
            out.problems.append(Problem(line, "", "", f"has {len(fields)} fields but the header has {width}",
                                        "check for an unquoted separator inside a value"))
            continue
        if len(fields) <= max(pos[c] for c in REQUIRED):
            missing = [c for c in REQUIRED if pos[c] >= len(fields)]
            out.problems.append(Problem(line, missing[0], "", f"has {len(fields)} fields but the header has"
                                        f" {width}, so {', '.join(missing)} is missing",
                                        "leave an empty field (,,) for a figure that is not available"))
            continue
        cells = dict.fromkeys(REQUIRED + OPTIONAL, "")
        cells.update({col: fields[i].strip() for col, i in pos.items() if i < len(fields)})
        get = cells.__getitem__
        problems = out.problems
        before = len(problems)

        ind_id = get("indicator")
        ind = indicators.get(ind_id)
        if ind is None:
            problems.append(Problem(line, "indicator", ind_id,
                                    "indicator is empty" if not ind_id else f"unknown indicator '{ind_id}'",
                                    _hint(ind_id, indicators, "indicators.yaml")))
        area = get("area")
        if area not in areas:
            problems.append(Problem(line, "area", area,
                                    "area is empty" if not area else f"unknown area '{area}'",
                                    _hint(area, areas, "the county and districts in indicators.yaml")))
        elif ind is not None and not catalogue.in_scope(ind, area):
            problems.append(Problem(line, "area", area,
                                    f"{ind_id} is measured at county level only, not for the district '{area}'",
                                    f"remove the row, or add district to {ind_id}'s levels"))

        qtext = get("quarter")
        qi = quarter_cache.get(qtext)
        if qi is None:
            try:
                qi = quarters.parse(qtext) if qtext else "quarter is empty"
            except quarters.QuarterError as exc:
                qi = str(exc)
            quarter_cache[qtext] = qi
        if isinstance(qi, str):
            problems.append(Problem(line, "quarter", qtext, qi,
                                    "" if "write" in qi else f"write {quarters.ACCEPTED_FORMS}"))

        numbers: dict[str, float | None] = {}
        for col in NUMERIC:
            text = get(col)
            if not text:
                numbers[col] = None
                continue
            try:
                numbers[col] = parse_number(text, table.delimiter)
            except ValueError as exc:
                reason = str(exc)
                problems.append(Problem(line, col, text, reason, "leave it empty if not available"
                                        if col == "value" and reason.endswith("is not a number") else ""))
                numbers[col] = None
        lo, hi = numbers["lower"], numbers["upper"]
        if lo is not None and hi is not None and lo > hi:
            problems.append(Problem(line, "lower", get("lower"), f"lower ({lo:g}) is above upper ({hi:g})",
                                    "swap them"))
        if bool(get("lower")) != bool(get("upper")):
            problems.append(Problem(line, "upper" if get("lower") else "lower", "",
                                    "a confidence interval needs both lower and upper",
                                    "fill in both or neither"))

        reported_text = get("reported_status")
        reported = None
        if reported_text:
            reported = STATUS_WORDS.get(reported_text.upper())
            if reported is None:
                problems.append(Problem(line, "reported_status", reported_text,
                                        f"'{reported_text}' is not a status",
                                        "use G, A, R, GREY or NA, or the full words"))

        if len(problems) > before or ind is None or isinstance(qi, str):
            continue
        key = (ind_id, area, qi)
        if key in seen:
            problems.append(Problem(line, "", "",
                                    f"repeats {ind_id}, {area}, {quarters.label(qi)} from line {seen[key]}",
                                    "keep one row per indicator, area and quarter"))
            continue
        seen[key] = line
        note = get("note") or None
        out.rows.append((ind_id, area, quarters.label(qi), qi, numbers["value"], lo, hi,
                         numbers["numerator"], numbers["denominator"], reported, note))
    return out


def _hint(name: str, known: Iterable[str], where: str) -> str:
    close = suggest(name, known) if name else ""
    return close.removeprefix("; ") if close else f"use a name from {where}"
