"""Check a quarterly data file against the catalogue and list every problem at once."""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from pipelines.catalogue import quarters
from pipelines.catalogue.config import Catalogue, Indicator, suggest
from pipelines.ingest.reader import CONTROL, PROGRESS_EVERY, Progress, Table
from pipelines.storage.schema import ObservationRow

REQUIRED = ("indicator", "area", "quarter", "value")
OPTIONAL = ("lower", "upper", "numerator", "denominator", "reported_status", "note")
NUMERIC = ("value", "lower", "upper", "numerator", "denominator")
STATUS_WORDS = {
    "G": "GREEN", "GREEN": "GREEN", "A": "AMBER", "AMBER": "AMBER", "R": "RED", "RED": "RED",
    "GREY": "GREY", "GRAY": "GREY", "NA": "NA", "N/A": "NA", "NOT AVAILABLE": "NA",
}
# ASCII digits only (re.ASCII): Python's \d also matches Arabic-Indic digits, which float()
# would then read silently ("١٢" as 12).
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$", re.ASCII)
_SPACED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}( \d{3})+(\.\d+)?$", re.ASCII)
_DOTTED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$", re.ASCII)
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$", re.ASCII)
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
# The common case, read at once: digits with at most a decimal point, which no rule below changes
# or refuses (except ';'-separated files, where '1.234' could be a thousand, and huge numbers).
_SIMPLE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# No indicator's figure comes near this; beyond it shortfalls and percentages lose their
# meaning (1e308 made percent_off infinite and the JSON output invalid).
LARGEST = 1e12
# Problems kept for showing: every one is counted, but a file of a million bad rows must not
# become a million objects in memory nor a page of a million rows.
KEPT_PROBLEMS = 500


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


class Problems(list[Problem]):
    """A list that counts every problem appended but keeps only the first ``keep``."""

    def __init__(self, keep: int = KEPT_PROBLEMS) -> None:
        super().__init__()
        self.keep = keep
        self.total = 0

    def append(self, problem: Problem) -> None:
        self.total += 1
        if len(self) < self.keep:
            super().append(problem)


def count(problems: list[Problem]) -> int:
    """How many problems were found, including those not kept."""
    return problems.total if isinstance(problems, Problems) else len(problems)


# One clean row: the observation's columns, in the order storage defines them (schema.OBSERVATIONS)
Row = ObservationRow


RowT = TypeVar("RowT")


@dataclass
class Findings(Generic[RowT]):
    """A file's clean rows and every problem found in it (all counted, the first KEPT_PROBLEMS kept):
    what checking a quarter's figures, or a file of populations, gives."""

    rows: list[RowT] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=Problems)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem_count(self) -> int:
        return count(self.problems)

    @property
    def problems_not_shown(self) -> int:
        return self.problem_count - len(self.problems)


@dataclass
class Checked(Findings[Row]):

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
    if delimiter != ";" and _SIMPLE.fullmatch(s):
        number = float(s)
        if abs(number) < LARGEST:
            return number
    if s.endswith("%"):
        raise ValueError(f"'{s}' has a % sign; give the number alone ({s[:-1].strip()})")
    if delimiter == "," and _THOUSANDS.match(s):
        s = s.replace(",", "")  # "1,839" quoted in a comma-separated file: only thousands fit
    elif "," in s:
        whole, decimal = s.replace(",", ""), s.replace(",", ".")
        if _DECIMAL_COMMA.match(s) and len(s.split(",")[1]) != 3:
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
    if not math.isfinite(number) or abs(number) >= LARGEST:
        raise ValueError(f"'{s}' is too large to be a figure (the limit is {LARGEST:g}); check the number")
    return number


CHECKING = "checking rows"


def _reporting(records: Sequence[tuple[int, list[str]]], progress: Progress | None) -> Iterable[tuple[int, list[str]]]:
    """The records themselves, or (with ``progress``) the same records in chunks, reporting
    after each chunk: the per-row loop stays as it is."""
    if progress is None:
        return records

    def chunks() -> Iterator[tuple[int, list[str]]]:
        total = len(records)
        progress(CHECKING, 0, total)
        for start in range(0, total, PROGRESS_EVERY):
            yield from records[start:start + PROGRESS_EVERY]
            progress(CHECKING, min(start + PROGRESS_EVERY, total), total)

    return chunks()


# Slack on top of half a unit in a value's last decimal place: 0.05 and a figure 0.05 away must agree
# although neither is exact in binary
SLACK = 1e-9
FROM_POPULATION = ("leave denominator empty: the populations table gives it, loaded with"
                   " 'python -m pipelines load-populations FILE.csv'")


@dataclass(frozen=True)
class _Counts:
    """What a rate's or a proportion's counts must satisfy, worked out once per indicator so that
    the per-row loop looks it up rather than reading the catalogue."""

    ind_id: str
    proportion: bool  # else a rate: whole events, which may outnumber the denominator
    per: float
    from_population: bool  # ``denominator: population``: the populations table gives the denominator

    @classmethod
    def of(cls, ind: Indicator) -> _Counts:
        return cls(ind.id, ind.measure == "proportion", ind.multiplier, ind.denominator == "population")

    def check(self, line: int, get: Callable[[str], str], numbers: dict[str, float | None],
              problems: list[Problem]) -> None:
        """The row's counts; the figure itself is left for the status query to compute."""
        before = count(problems)
        self._given(line, get, problems)
        num, den = numbers["numerator"], numbers["denominator"]
        self._sizes(line, get, num, den, problems)
        value = numbers["value"]
        if count(problems) == before and value is not None and num is not None and den is not None:
            self._agrees(line, get, value, num / den * self.per, problems)

    def _given(self, line: int, get: Callable[[str], str], problems: list[Problem]) -> None:
        """Which counts a row may give: both or neither, or for a rate per population the numerator alone."""
        if self.from_population and get("denominator"):
            problems.append(Problem(line, "denominator", get("denominator"),
                                    f"{self.ind_id} is a rate per population, so the row must not give a denominator",
                                    FROM_POPULATION))
        elif self.from_population and get("numerator") and get("value"):
            # the population is not known until the load, so the two could not be checked against it
            problems.append(Problem(line, "value", get("value"),
                                    f"{self.ind_id} is worked out from the numerator and the population, so the"
                                    " row must not give the value as well",
                                    "leave value empty to have it computed, or leave numerator empty"))
        elif not self.from_population and bool(get("numerator")) != bool(get("denominator")):
            missing = "denominator" if get("numerator") else "numerator"
            problems.append(Problem(line, missing, "", "a figure from counts needs both numerator and denominator",
                                    f"fill in the {missing}, or leave both empty"))

    def _sizes(self, line: int, get: Callable[[str], str], num: float | None, den: float | None,
               problems: list[Problem]) -> None:
        """Counts no figure could come from: negative, a part of an event, nothing to divide by, more than all."""
        if num is not None and num < 0:
            problems.append(Problem(line, "numerator", get("numerator"), f"the numerator ({get('numerator')})"
                                    " is negative", "a count of events or people is 0 or more; check the figure"))
        elif num is not None and not self.proportion and not num.is_integer():
            problems.append(Problem(line, "numerator", get("numerator"), f"{self.ind_id} is a rate, so its numerator"
                                    f" counts events and must be a whole number, not {get('numerator')}",
                                    "check the figure"))
        if den is not None and den <= 0:
            problems.append(Problem(line, "denominator", get("denominator"), f"the denominator ({get('denominator')})"
                                    " must be above 0", "check the figure, or leave both counts empty"))
        elif self.proportion and num is not None and den is not None and num > den:
            problems.append(Problem(line, "numerator", get("numerator"),
                                    f"the numerator ({get('numerator')}) is above the denominator"
                                    f" ({get('denominator')}), but {self.ind_id} is a proportion, a part of its"
                                    " denominator", "check the counts, or whether they are the wrong way round"))

    def _agrees(self, line: int, get: Callable[[str], str], value: float, computed: float,
                problems: list[Problem]) -> None:
        """A value given beside its counts must be the counts' figure to the places it is written with."""
        places = decimal_places(get("value"))
        if abs(value - computed) <= 0.5 * 10.0 ** -places + SLACK:
            return
        per = _plain(self.per)
        problems.append(Problem(
            line, "value", get("value"),
            f"{get('value')} does not match numerator ÷ denominator × {per} = {get('numerator')} ÷"
            f" {get('denominator')} × {per} = {_plain(round(computed, max(places + 3, 0)))}, which rounds to"
            f" {_plain(round(computed, places))}",
            "fix the figure or the counts, or leave value empty to have it computed"))


def decimal_places(text: str) -> int:
    """How many decimal places a number is written with: 2 for '15.45', 0 for '1839' or '1,839',
    -2 for '1.5e3' (written to the hundred)."""
    mantissa, _, exponent = text.strip().replace(",", "").replace(" ", "").lower().partition("e")
    return len(mantissa.partition(".")[2]) - (int(exponent) if exponent else 0)


def _plain(x: float) -> str:
    """A number as a person writes it: 100 not 100.0 or 1e+02, 15.4494 not 15.449400."""
    text = f"{x:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_header(header: list[str], required: tuple[str, ...], optional: tuple[str, ...],
                 problems: list[Problem]) -> None:
    """Unknown, repeated and missing columns, each a problem on line 1 (populations.py checks its
    files' headers the same way)."""
    known_columns = set(required) | set(optional)
    for i, name in enumerate(header):
        if name not in known_columns:
            label = name or f"(column {i + 1} has no name)"
            problems.append(Problem(
                1, label, name, "unknown column",
                f"the columns are {', '.join(required + optional)}{suggest(name, known_columns)}",
            ))
    # counted once (Counter): a header of 40,000 columns must not take header.count() for each
    for dupe, times in sorted((h, n) for h, n in Counter(header).items() if h and n > 1):
        problems.append(Problem(1, dupe, dupe, f"column appears {times} times", "keep one"))
    for name in required:
        if name not in header:
            problems.append(Problem(1, name, "", f"missing required column '{name}'",
                                    f"the header must include {', '.join(required)}"))


def check(table: Table, catalogue: Catalogue, today: date | None = None,
          progress: Progress | None = None) -> Checked:
    """Every problem in ``table``; ``today`` (default: the real date) bounds the latest quarter.
    With ``progress``, reports (``CHECKING``, rows checked, rows) every few thousand rows."""
    problems = Problems()
    out = Checked(problems=problems)
    header = table.header
    check_header(header, REQUIRED, OPTIONAL, out.problems)
    if out.problems:
        return out

    pos = {name: header.index(name) for name in header}
    indicators = {ind.id: ind for ind in catalogue.indicators}
    areas = set(catalogue.areas)
    level = {area: catalogue.level(area) for area in areas}  # catalogue.in_scope, without a call per row
    # The board's own areas are measured at their indicators' levels only; the rest of the tree
    # (England, the region, peers) are comparators, whose figures load for any indicator
    own = set(catalogue.under(catalogue.county))
    where = "the county and districts" if len(catalogue.tree) == len(own) else "the areas"
    # only rates and proportions have their counts checked: a row of any other indicator pays one lookup
    counted = {ind.id: _Counts.of(ind) for ind in catalogue.indicators if ind.counted}
    quarter_cache: dict[str, int | str] = {}
    seen: dict[tuple[str, str, int], int] = {}
    width = len(header)
    last_required = max(pos[c] for c in REQUIRED)
    labels: dict[int, str] = {}  # each quarter's label, made once
    hints: dict[tuple[str, str], str] = {}

    def hint(name: str, known: Iterable[str], where: str) -> str:
        """A 'did you mean' for a problem that will be shown; the search is slow (difflib), so a
        file of a million bad rows pays for it only once per name and only for kept problems."""
        if len(out.problems) >= KEPT_PROBLEMS:
            return ""
        if (name, where) not in hints:
            hints[(name, where)] = _hint(name, known, where)
        return hints[(name, where)]

    controls = table.may_hold_controls
    # in a ';'-separated file '1.234' may be a thousand: every number goes through parse_number
    simple = _SIMPLE.fullmatch if table.delimiter != ";" else (lambda text: None)
    # Each row's cells as a list in the order of ``order``: the file's columns, then the ones it
    # lacks (always ""), so a cell is found by its index rather than through a dict per row
    order = [*header, *(c for c in REQUIRED + OPTIONAL if c not in pos)]
    at = {c: i for i, c in enumerate(order)}
    pad = [""] * (len(order) - width)
    i_ind, i_area, i_q, i_lo, i_hi, i_rep, i_note = (at[c] for c in (
        "indicator", "area", "quarter", "lower", "upper", "reported_status", "note"))
    # the figures' columns the file has; the others are None in every row
    numeric = [(col, at[col]) for col in NUMERIC if col in pos]
    absent: dict[str, float | None] = {col: None for col in NUMERIC if col not in pos}
    for line, fields in _reporting(table.records, progress):
        n = len(fields)
        if n > width and any(f.strip() for f in fields[width:]):
            problems.append(Problem(line, "", "", f"has {n} fields but the header has {width}",
                                    "check for an unquoted separator inside a value"))
            continue
        if n <= last_required:
            missing = [c for c in REQUIRED if pos[c] >= n]
            problems.append(Problem(line, missing[0], "", f"has {n} fields but the header has"
                                    f" {width}, so {', '.join(missing)} is missing",
                                    "leave an empty field (,,) for a figure that is not available"))
            continue
        # blank extra fields are allowed; a short row's missing fields are empty
        cells = list(map(str.strip, fields if n == width else fields[:width]))
        if n < width:
            cells += [""] * (width - n)
        if pad:
            cells += pad
        before = problems.total
        # one search of the whole row first: a cell is part of a field, so no match means no cell has one
        for col, text in zip(order, cells, strict=True) if controls and CONTROL.search("".join(fields)) else ():
            hidden = CONTROL.search(text)
            if hidden:
                problems.append(Problem(line, col, text.encode("unicode_escape").decode("ascii"),
                                        f"contains an invisible control character (U+{ord(hidden.group()):04X})",
                                        "delete it, or retype the cell"))

        ind_id = cells[i_ind]
        ind = indicators.get(ind_id)
        if ind is None:
            problems.append(Problem(line, "indicator", ind_id,
                                    "indicator is empty" if not ind_id else f"unknown indicator '{ind_id}'",
                                    hint(ind_id, indicators, "indicators.yaml")))
        area = cells[i_area]
        if area not in areas:
            problems.append(Problem(line, "area", area,
                                    "area is empty" if not area else f"unknown area '{area}'",
                                    hint(area, areas, f"{where} in indicators.yaml")))
        elif ind is not None and level[area] not in ind.levels and area in own:
            problems.append(Problem(line, "area", area,
                                    f"{ind_id} is measured at {' and '.join(ind.levels)} level only, not for the"
                                    f" {level[area]} '{area}'",
                                    f"remove the row, or add {level[area]} to {ind_id}'s levels"))

        qtext = cells[i_q]
        qi = quarter_cache.get(qtext)
        if qi is None:
            try:
                qi = quarters.parse(qtext) if qtext else "quarter is empty"
                if isinstance(qi, int):
                    quarters.check_not_future(qi, today)
            except quarters.QuarterError as exc:
                qi = str(exc)
            quarter_cache[qtext] = qi
        if isinstance(qi, str):
            problems.append(Problem(line, "quarter", qtext, qi,
                                    "" if "write" in qi or "check" in qi else f"write {quarters.ACCEPTED_FORMS}"))

        numbers = absent.copy()
        for col, i in numeric:
            text = cells[i]
            if not text:
                numbers[col] = None
                continue
            if simple(text):  # parse_number's first case, without the call: most cells are plain
                number = float(text)
                if -LARGEST < number < LARGEST:
                    numbers[col] = number
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
            problems.append(Problem(line, "lower", cells[i_lo], f"lower ({lo:g}) is above upper ({hi:g})",
                                    "swap them"))
        if bool(cells[i_lo]) != bool(cells[i_hi]):
            problems.append(Problem(line, "upper" if cells[i_lo] else "lower", "",
                                    "a confidence interval needs both lower and upper",
                                    "fill in both or neither"))
        rule = counted.get(ind_id)
        if rule is not None:
            rule.check(line, functools.partial(_cell, cells, at), numbers, problems)

        reported_text = cells[i_rep]
        reported = None
        if reported_text:
            reported = STATUS_WORDS.get(reported_text.upper())
            if reported is None:
                problems.append(Problem(line, "reported_status", reported_text,
                                        f"'{reported_text}' is not a status",
                                        "use G, A, R, GREY or NA, or the full words"))

        if problems.total > before or ind is None or isinstance(qi, str):
            continue
        key = (ind_id, area, qi)
        if key in seen:
            problems.append(Problem(line, "", "",
                                    f"repeats {ind_id}, {area}, {quarters.label(qi)} from line {seen[key]}",
                                    "keep one row per indicator, area and quarter"))
            continue
        seen[key] = line
        said = labels.get(qi)
        if said is None:
            said = labels[qi] = quarters.label(qi)
        out.rows.append((ind_id, area, said, qi, numbers["value"], lo, hi,
                         numbers["numerator"], numbers["denominator"], reported, cells[i_note] or None))
    return out


def _cell(cells: list[str], at: dict[str, int], column: str) -> str:
    """A row's cell by its column's name (the counts' checks ask for a few, on some rows)."""
    return cells[at[column]]


def _hint(name: str, known: Iterable[str], where: str) -> str:
    close = suggest(name, known) if name else ""
    return close.removeprefix("; ") if close else f"use a name from {where}"
