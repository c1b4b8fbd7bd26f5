"""The words for the rule's reason codes, made here and nowhere else.

The status query returns a machine-readable ``reason_code`` (``pipelines.rules.codes.Reason``);
the command line, the CSV export, the board pack and "why this status" all say it with
``reason``. Pages compare codes, never these words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from pipelines.catalogue import quarters
from pipelines.catalogue.config import Catalogue
from pipelines.present import export
from pipelines.rules import status
from pipelines.rules.codes import Reason
from pipelines.rules.sql import Step, bound, compose

REASON_WORDS: dict[Reason, str] = {
    Reason.NO_DATA: "no data",
    Reason.NOT_AVAILABLE: "not available",
    Reason.NO_TARGET: "no target for {year}",  # the quarter's financial year, e.g. 2010/11
    Reason.NOT_RATED: "not rated: monitored, neither higher nor lower is better",
    # {missing}: the districts, e.g. "Bolsover, Erewash"
    Reason.INCOMPLETE_AGGREGATE: "no figure: the districts cannot be added up without counts from {missing}",
    # {missing}: the quarters, e.g. "2009/10 Q3"
    Reason.INCOMPLETE_WINDOW: "no figure: the window lacks {missing}",
    Reason.NO_POPULATION: "no population for {area} in {year}: load it with load-populations",
    Reason.NOT_SIGNIFICANT: "not significant: the target is within the confidence interval",
    Reason.ON_TARGET: "on or better than target",
    Reason.WITHIN_BAND: "worse than target, within the band",
    Reason.BEYOND_BAND: "worse than target, beyond the band",
}
_PLACES = re.compile(r"(\{year\}|\{missing\}|\{area\})")

# The command line's columns, in order: ``reason`` is the words for ``reason_code``.
CLI_COLUMNS = (
    "indicator", "area", "quarter", "value", "target", "shortfall", "percent_off", "status",
    "reason", "direction", "direction_year", "reported_status", "mismatch",
    # the counts behind the figure, its interval and its difference from the target allowing for chance
    "numerator", "denominator", "ci_lower", "ci_upper", "ci_method", "significance", "aggregated_from",
)


def reason(code: str, qi: int, missing: str | None = None, area: str | None = None) -> str:
    """'no target for 2010/11' for the code ``no_target`` in a quarter of 2010/11, and so on;
    ``missing`` and ``area`` fill the reasons that name districts, quarters or an area."""
    words = REASON_WORDS[Reason(code)]
    if "{" not in words:
        return words
    filled = {"{year}": quarters.financial_year(qi), "{missing}": missing or "", "{area}": area or ""}
    return "".join(filled.get(piece, piece) for piece in _PLACES.split(words))


def row_reason(row: dict[str, Any]) -> str:
    """The words for a status row's reason."""
    return reason(row["reason_code"], row["qi"], row.get("missing"), row.get("area"))


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
    for needed in ("qi", "missing", "area"):  # what the words of some reasons name
        if needed not in ask:
            ask.append(needed)
    places = [ask.index(c) for c in ("qi", "missing", "area")]
    _, rows = status.table(con, catalogue, quarter_indexes, areas, indicators, ask)
    if not rows:
        return list(columns), []
    # Column by column (the CLI prints 30,000 rows): a handful of distinct reasons are said in
    # words once each, and the rows are rebuilt by zip, not a Python loop per row.
    by_column = list(zip(*rows, strict=True))
    keys = list(zip(by_column[at], *(by_column[i] for i in places), strict=True))
    said = {key: reason(*key) for key in set(keys)}
    by_column[at] = tuple(map(said.__getitem__, keys))
    return list(columns), list(zip(*by_column[:len(columns)], strict=True))


def reason_sql(code: str = '"reason_code"', qi: str = '"qi"', missing: str = '"missing"',
               area: str = '"area"') -> str:
    """SQL for ``reason(code, qi, missing, area)``: the same words, from REASON_WORDS, for a
    query to write."""
    year = f"printf('%d/%02d', {qi} // 4, ({qi} // 4 + 1) % 100)"  # quarters.financial_year
    filled = {"{year}": year, "{missing}": f"coalesce({missing}, '')", "{area}": f"coalesce({area}, '')"}
    whens = " ".join(
        "WHEN " + export.sql_text(code_.value) + " THEN "
        + " || ".join(filled.get(piece) or export.sql_text(piece) for piece in _PLACES.split(words) if piece)
        for code_, words in REASON_WORDS.items())
    return f"CASE {code} {whens} END"


@functools.lru_cache(maxsize=16)
def _status_csv_statement(columns: tuple[str, ...], rule: tuple[Step, ...]) -> str:
    unknown = [c for c in columns if c != "reason" and c not in status.OUTPUT_COLUMNS]
    if unknown:
        raise ValueError(f"unknown status columns: {sorted(unknown)}")
    steps = (
        *rule,
        Step("worded", "SELECT *, " + reason_sql() + " AS reason FROM output"),
        *export.csv_steps("worded", columns, status.ORDER),
    )
    return compose(steps, ["line"], status.ORDER)


def status_csv(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    quarter_indexes: list[int],
    areas: list[str] | None = None,
    indicators: list[str] | None = None,
    columns: Sequence[str] = CLI_COLUMNS,
) -> str:
    """``export.csv_text(*status_table(...))``, byte for byte, but each line made by DuckDB: for
    30,000 rows, fetching every cell into Python and checking it took longer than the query."""
    if not quarter_indexes:
        return export.sql_lines_text(columns, [])
    sql = _status_csv_statement(tuple(columns), status.steps_for(catalogue, indicators))
    result = con.execute(sql, bound(sql, status.parameters(catalogue, quarter_indexes, areas, indicators,
                                                           asked_years_only=True)))
    return export.sql_lines_text(columns, result.fetchall())
