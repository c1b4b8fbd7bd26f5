"""UK financial-year quarters: ``2010/11 Q1`` is April to June 2010.

A quarter is held as an integer index, ``start_year * 4 + (q - 1)``, so that the
previous quarter is ``index - 1`` and the same quarter a year earlier is ``index - 4``.
"""

from __future__ import annotations

import re
from datetime import date

# ASCII digits only: Python's \d also matches Arabic-Indic and other digits, and a file's
# "٢٠١٠/١١ Q1" must be refused, not read as 2010/11 Q1.
_LABEL = re.compile(r"^\s*(\d{4})\s*/\s*(\d{2})\s+Q([1-4])\s*$", re.IGNORECASE | re.ASCII)
_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$", re.ASCII)
_YEAR = re.compile(r"^\s*(\d{4})\s*/\s*(\d{2})\s*$", re.ASCII)
# Financial years ragboard accepts: wide enough for any historical series, narrow enough that a
# slip ('0999/00', '2990/91') is caught. Labels need four-digit years to be read back at all.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2100
# last day of each financial quarter -> (quarter number, start-year offset)
_QUARTER_END = {(6, 30): (1, 0), (9, 30): (2, 0), (12, 31): (3, 0), (3, 31): (4, -1)}

ACCEPTED_FORMS = "'2010/11 Q1' (financial year and quarter) or '2010-06-30' (the quarter's last day)"


class QuarterError(ValueError):
    """A text that is not a financial-year quarter."""


def parse(text: str) -> int:
    """Return the quarter index of ``2010/11 Q1`` or of a quarter's last day ``2010-06-30``."""
    match = _LABEL.match(text)
    if match:
        start, end, q = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if (start + 1) % 100 != end:
            raise QuarterError(
                f"'{text}' is not a financial year: the second year must follow the first"
                f" (e.g. '{start}/{(start + 1) % 100:02d} Q{q}')"
            )
        _in_range(start, text)
        return start * 4 + q - 1
    match = _DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            date(year, month, day)
        except ValueError:
            raise QuarterError(f"'{text}' is not a real date") from None
        if (month, day) not in _QUARTER_END:
            raise QuarterError(
                f"'{text}' is not the last day of a quarter (30 June, 30 September,"
                " 31 December or 31 March)"
            )
        q, offset = _QUARTER_END[(month, day)]
        _in_range(year + offset, text)
        return (year + offset) * 4 + q - 1
    raise QuarterError(f"'{text}' is not a quarter; write {ACCEPTED_FORMS}")


def _in_range(start: int, text: str) -> None:
    if not EARLIEST_YEAR <= start <= LATEST_YEAR:
        raise QuarterError(
            f"'{text.strip()}' is outside the financial years ragboard accepts"
            f" ({year_label(EARLIEST_YEAR)} to {year_label(LATEST_YEAR)}); check the year"
        )


def current(today: date | None = None) -> int:
    """The index of the quarter that ``today`` falls in."""
    today = today or date.today()
    start = today.year if today.month >= 4 else today.year - 1
    return start * 4 + ((today.month - 4) % 12) // 3


def check_not_future(index: int, today: date | None = None) -> None:
    """Refuse figures for a quarter more than one ahead of today's (a year typed wrongly would
    otherwise become every page's default quarter). One ahead is allowed: a quarter's figures
    are sometimes prepared just before it starts, e.g. projections."""
    latest = current(today) + 1
    if index > latest:
        raise QuarterError(
            f"'{label(index)}' is in the future: figures can be loaded up to {label(latest)}"
            f" (the quarter after today's); check the year"
        )


def acceptable(index: int, today: date | None = None) -> bool:
    """Whether figures for this quarter could be loaded today (a database loaded before these
    checks existed may hold others)."""
    return EARLIEST_YEAR * 4 <= index <= min(LATEST_YEAR * 4 + 3, current(today) + 1)


def label(index: int) -> str:
    """``2010/11 Q1`` for an index."""
    start, q = divmod(index, 4)
    return f"{start}/{(start + 1) % 100:02d} Q{q + 1}"


def financial_year(index: int) -> str:
    """``2010/11`` for any quarter of that year."""
    start = index // 4
    return f"{start}/{(start + 1) % 100:02d}"


def parse_year(text: str) -> int:
    """The start year of a financial year written ``2010/11``."""
    match = _YEAR.match(str(text))
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise QuarterError(f"'{text}' is not a financial year; write it as '2010/11'")
    start = int(match.group(1))
    _in_range(start, str(text))
    return start


def year_label(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"
