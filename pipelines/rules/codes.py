"""The rule's vocabulary: the five statuses and the reasons a row gets its status.

Defined once, here, in the lowest layer that needs them (the status query returns these codes);
``pipelines.present`` turns them into words, and the pages and the pack draw them from here.
A status is never colour alone: each has its word, a distinct symbol and an Okabe-Ito colour that
colour-blind readers can tell apart (and that prints in black and white through the symbol and
the word).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Status:
    word: str  # GREEN, AMBER, RED, GREY, NA: what the SQL returns and every page prints
    symbol: str  # drawn beside the word, so a status never depends on its colour
    colour: str  # Okabe-Ito, safe for colour-blind readers
    marker: str  # plotly's name for the symbol's shape
    severity: int  # RED first (0), then AMBER: the order a district lead works through
    owes_update: bool  # under the board's rules, the district gives the tasking group an update
    meaning: str  # one line, for a tooltip or a legend

    def __str__(self) -> str:
        return self.word


GREEN = Status("GREEN", "●", "#009E73", "circle", 4, False, "on or better than target")
AMBER = Status("AMBER", "▲", "#E69F00", "triangle-up", 1, True, "worse than target, within the band")
RED = Status("RED", "■", "#D55E00", "square", 0, True, "worse than target, beyond the band")
GREY = Status("GREY", "◆", "#A6A6A6", "diamond", 2, False, "difference from target not statistically significant")
NA = Status("NA", "○", "#FFFFFF", "circle-open", 3, False, "no status: figure or target not available")

# In the order they are drawn and counted: the legend's, the count cards' and the pack's order.
STATUSES: tuple[Status, ...] = (GREEN, AMBER, RED, GREY, NA)
BY_WORD: dict[str, Status] = {s.word: s for s in STATUSES}


class Reason(StrEnum):
    """Why a row has its status, as the status query returns it (``reason_code``).

    Machine-readable: compare codes, never the words ``pipelines.present.words`` makes of them.
    A StrEnum, so ``row["reason_code"] == Reason.NO_DATA`` holds for the plain text the SQL returns.
    """

    NO_DATA = "no_data"  # no row for the indicator, area and quarter
    NOT_AVAILABLE = "not_available"  # a row with an empty value
    NO_TARGET = "no_target"  # no target for the quarter's financial year
    NOT_RATED = "not_rated"  # 'better: neither': monitored, never given a colour
    INCOMPLETE_AGGREGATE = "incomplete_aggregate"  # the county's sum lacks a district's counts
    INCOMPLETE_WINDOW = "incomplete_window"  # a quarter of the window has no figure
    NO_POPULATION = "no_population"  # the denominator is a population that was never loaded
    NOT_SIGNIFICANT = "not_significant"  # the confidence interval contains the target
    ON_TARGET = "on_target"  # on or better than target
    WITHIN_BAND = "within_band"  # worse than target, within the band
    BEYOND_BAND = "beyond_band"  # worse than target, beyond the band


# Each reason gives exactly one status; the status query derives the status from the reason.
REASON_STATUS: dict[Reason, Status] = {
    Reason.NO_DATA: NA,
    Reason.NOT_AVAILABLE: NA,
    Reason.NO_TARGET: NA,
    Reason.NOT_RATED: NA,
    Reason.INCOMPLETE_AGGREGATE: NA,
    Reason.INCOMPLETE_WINDOW: NA,
    Reason.NO_POPULATION: NA,
    Reason.NOT_SIGNIFICANT: GREY,
    Reason.ON_TARGET: GREEN,
    Reason.WITHIN_BAND: AMBER,
    Reason.BEYOND_BAND: RED,
}
# Reasons for which no figure could be rated (the row is NA for want of a value or a target).
UNRATED = frozenset({Reason.NO_DATA, Reason.NOT_AVAILABLE, Reason.NO_TARGET, Reason.NOT_RATED,
                     Reason.INCOMPLETE_AGGREGATE, Reason.INCOMPLETE_WINDOW, Reason.NO_POPULATION})


def status(word: str) -> Status:
    """The Status for a word the SQL returned ('GREEN' …); KeyError for anything else."""
    return BY_WORD[word]
