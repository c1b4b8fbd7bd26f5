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
from pipelines.stats import spc

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
    # the XmR chart's reading of the series up to the quarter (pipelines.stats.spc)
    "variation", "assurance",
    # the figure against its parent area's and the benchmark's, allowing for chance
    "parent", "parent_value", "vs_parent", "benchmark", "benchmark_value", "vs_benchmark",
    # the amber band that applied in the quarter ('5%', or a number in the unit) and, where the band
    # has dated versions, the quarter its version started
    "amber_band", "band_from",
)
# Columns the status rule does not make: the SPC readings, joined on by indicator, area and quarter
SPC_COLUMNS = ("variation", "assurance")


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
    """``status.table``, where a column ``reason`` may be asked for (the reason in words), and
    ``variation`` and ``assurance`` (the SPC reading of the series up to each row's quarter)."""
    if columns is None or not {"reason", *SPC_COLUMNS} & set(columns):
        return status.table(con, catalogue, quarter_indexes, areas, indicators, columns)
    ask = [c if c != "reason" else "reason_code" for c in columns if c not in SPC_COLUMNS]
    for needed in ("qi", "missing", "area", "indicator"):  # what reasons name, and readings are found by
        if needed not in ask:
            ask.append(needed)
    _, rows = status.table(con, catalogue, quarter_indexes, areas, indicators, ask)
    if not rows:
        return list(columns), []
    # Column by column (the CLI prints 30,000 rows): a handful of distinct reasons are said in
    # words once each, and the rows are rebuilt by zip, not a Python loop per row.
    got = dict(zip(ask, zip(*rows, strict=True), strict=True))
    out: list[tuple[Any, ...]] = []
    readings = _readings(con, catalogue, quarter_indexes, areas, indicators) if set(SPC_COLUMNS) & set(columns) else {}
    series = list(zip(got["indicator"], got["area"], got["qi"], strict=True))
    for column in columns:
        if column == "reason":
            keys = list(zip(got["reason_code"], got["qi"], got["missing"], got["area"], strict=True))
            said = {key: reason(*key) for key in set(keys)}
            out.append(tuple(map(said.__getitem__, keys)))
        elif column in SPC_COLUMNS:
            at = SPC_COLUMNS.index(column)
            out.append(tuple(readings[key][at] if key in readings else None for key in series))
        else:
            out.append(got[column])
    return list(columns), list(zip(*out, strict=True))


def _readings(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, quarter_indexes: list[int],
              areas: list[str] | None, indicators: list[str] | None) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    """(indicator, area, quarter asked) → (variation, assurance): each series' reading as of each
    quarter (``spc.readings``); a series with no figure yet has none."""
    return {(r["indicator"], r["area"], qi): tuple(r[c] for c in SPC_COLUMNS)
            for qi in quarter_indexes for r in spc.readings(con, catalogue, qi, areas, indicators)}


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


SPC_RELATION = "ragboard_spc_readings"  # the readings, registered on the connection for one query


@functools.lru_cache(maxsize=16)
def _status_csv_statement(columns: tuple[str, ...], rule: tuple[Step, ...]) -> str:
    unknown = [c for c in columns if c != "reason" and c not in SPC_COLUMNS and c not in status.OUTPUT_COLUMNS]
    if unknown:
        raise ValueError(f"unknown status columns: {sorted(unknown)}")
    readings = [c for c in SPC_COLUMNS if c in columns]
    joined = "SELECT * FROM output"
    if readings:
        joined = (f"SELECT o.*, {', '.join(f's.{c}' for c in readings)} FROM output o LEFT JOIN {SPC_RELATION} s"
                  " ON s.indicator = o.indicator AND s.area = o.area AND s.qi = o.qi")
    steps = (
        *rule,
        Step("read", joined),
        Step("worded", "SELECT *, " + reason_sql() + " AS reason FROM read"),
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
    30,000 rows, fetching every cell into Python and checking it took longer than the query. The
    SPC readings go in as columns of arrays, registered for the query and dropped after it."""
    if not quarter_indexes:
        return export.sql_lines_text(columns, [])
    sql = _status_csv_statement(tuple(columns), status.steps_for(catalogue, indicators))
    params = bound(sql, status.parameters(catalogue, quarter_indexes, areas, indicators, asked_years_only=True))
    if not set(SPC_COLUMNS) & set(columns):
        return export.sql_lines_text(columns, con.execute(sql, params).fetchall())
    con.register(SPC_RELATION, _reading_arrays(_readings(con, catalogue, quarter_indexes, areas, indicators)))
    try:
        return export.sql_lines_text(columns, con.execute(sql, params).fetchall())
    finally:
        con.unregister(SPC_RELATION)


def _reading_arrays(readings: dict[tuple[str, str, int], tuple[Any, ...]]) -> dict[str, Any]:
    """The readings as named columns of numpy arrays, which DuckDB scans as a table."""
    import numpy as np  # only the CSV path needs it

    keys = list(readings)
    columns: dict[str, Any] = {
        "indicator": np.array([k[0] for k in keys], dtype=object), "area": np.array([k[1] for k in keys], dtype=object),
        "qi": np.array([k[2] for k in keys], dtype=np.int64)}
    for at, name in enumerate(SPC_COLUMNS):
        columns[name] = np.array([readings[k][at] for k in keys], dtype=object)
    return columns
