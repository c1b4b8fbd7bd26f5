"""The words for the rule's reason codes, made here and nowhere else.

The status query returns a machine-readable ``reason_code`` (``pipelines.rules.codes.Reason``);
the command line, the CSV export, the board pack and "why this status" all say it with
``reason``. Pages compare codes, never these words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from pipelines.catalogue import quarters
from pipelines.catalogue.config import Catalogue
from pipelines.rules import status
from pipelines.rules.codes import Reason

REASON_WORDS: dict[Reason, str] = {
    Reason.NO_DATA: "no data",
    Reason.NOT_AVAILABLE: "not available",
    Reason.NO_TARGET: "no target for {year}",  # the quarter's financial year, e.g. 2010/11
    Reason.NOT_SIGNIFICANT: "not significant: the target is within the confidence interval",
    Reason.ON_TARGET: "on or better than target",
    Reason.WITHIN_BAND: "worse than target, within the band",
    Reason.BEYOND_BAND: "worse than target, beyond the band",
}

# The command line's columns, in order: ``reason`` is the words for ``reason_code``.
CLI_COLUMNS = (
    "indicator", "area", "quarter", "value", "target", "shortfall", "percent_off", "status",
    "reason", "direction", "direction_year", "reported_status", "mismatch",
)


def reason(code: str, qi: int) -> str:
    """'no target for 2010/11' for the code ``no_target`` in a quarter of 2010/11, and so on."""
    words = REASON_WORDS[Reason(code)]
    return words.replace("{year}", quarters.financial_year(qi)) if code == Reason.NO_TARGET else words


def row_reason(row: dict[str, Any]) -> str:
    """The words for a status row's reason."""
    return reason(row["reason_code"], row["qi"])


def with_reasons(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, each with ``reason``: the words for its ``reason_code``."""
    out = []
    for r in rows:
        r["reason"] = row_reason(r)
        out.append(r)
    return out


def status_rows(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
) -> list[dict[str, Any]]:
    """``status.query``'s rows, each with its reason in words (``reason``) beside its code."""
    return with_reasons(status.query(con, catalogue, quarter_indexes, areas, indicators))


def status_table(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``status.table``, where a column ``reason`` may be asked for: the reason in words."""
    if columns is None or "reason" not in columns:
        return status.table(con, catalogue, quarter_indexes, areas, indicators, columns)
    at = list(columns).index("reason")
    ask = [c if c != "reason" else "reason_code" for c in columns]
    if "qi" not in ask:
        ask.append("qi")  # the financial year of 'no target for 2010/11'
    qi_at = ask.index("qi")
    _, rows = status.table(con, catalogue, quarter_indexes, areas, indicators, ask)
    said: dict[tuple[str, int], str] = {}  # a handful of distinct (code, year) pairs in 30,000 rows
    width = len(columns)
    out = []
    for row in rows:
        key = (row[at], row[qi_at])
        words = said.get(key)
        if words is None:
            words = said[key] = reason(*key)
        out.append((*row[:at], words, *row[at + 1:width]))
    return list(columns), out
