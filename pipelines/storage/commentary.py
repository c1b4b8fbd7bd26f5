"""Commentary and actions per indicator, area and quarter, kept with their full history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb

from pipelines.storage import store

MAX_TEXT = 10_000


class CommentaryError(ValueError):
    """Commentary or an action cannot be saved; the message says why."""


def _clean(text: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise CommentaryError(f"The {what} is {len(text)} characters long; keep it under {MAX_TEXT}.")
    return text


@store.retried
def write(con: duckdb.DuckDBPyConnection, indicator: str, area: str, qi: int, text: str, author: str) -> None:
    """Save a new version of the commentary (an empty text withdraws it). Versions are told apart
    by their time alone, so a new version is always written later than the one before it, even
    when the clock says otherwise (two saves in one microsecond, a clock set back)."""
    text = _clean(text, "commentary")
    with store.transaction(con):
        con.execute(
            """INSERT INTO commentary_versions
               SELECT $indicator, $area, $qi, $text, $author,
                      greatest($now, coalesce(max(written_at) + INTERVAL 1 MICROSECOND, $now))
               FROM commentary_versions WHERE indicator = $indicator AND area = $area AND qi = $qi""",
            {"indicator": indicator, "area": area, "qi": qi, "text": text, "author": author,
             "now": datetime.now()})


# The current version, and whether the figure it discusses changed after it was written. A
# figure changes when a load writes it and when a load or an undo replaces it, so the time is
# the latest of the loads that wrote the current row or replaced an earlier one.
_CURRENT = """
WITH latest AS (
    SELECT * FROM commentary_versions
    WHERE ($indicator IS NULL OR indicator = $indicator) AND ($area IS NULL OR area = $area)
      AND ($qi IS NULL OR qi = $qi)
    QUALIFY row_number() OVER (PARTITION BY indicator, area, qi ORDER BY written_at DESC) = 1
),
-- only the figures that have commentary: the join keeps a national database from being grouped
touched AS (
    SELECT o.indicator, o.area, o.qi, o.load_id
    FROM observations o JOIN latest c ON o.indicator = c.indicator AND o.area = c.area AND o.qi = c.qi
    UNION ALL
    SELECT h.indicator, h.area, h.qi, h.replaced_by
    FROM observation_history h JOIN latest c ON h.indicator = c.indicator AND h.area = c.area AND h.qi = c.qi
),
changed AS (
    SELECT t.indicator, t.area, t.qi, max(l.loaded_at) AS changed_at
    FROM touched t JOIN loads l ON l.load_id = t.load_id
    GROUP BY t.indicator, t.area, t.qi
)
SELECT c.indicator, c.area, c.qi, c.text, c.author, c.written_at,
       f.changed_at AS figures_changed_at,
       coalesce(f.changed_at > c.written_at, false) AS before_latest_figures
FROM latest c
LEFT JOIN changed f ON f.indicator = c.indicator AND f.area = c.area AND f.qi = c.qi
WHERE c.text <> ''
ORDER BY c.indicator, c.area, c.qi
"""


def current(con: duckdb.DuckDBPyConnection, indicator: str | None = None, area: str | None = None,
            qi: int | None = None) -> list[dict[str, Any]]:
    return store.records(con.execute(_CURRENT, {"indicator": indicator, "area": area, "qi": qi}))


def history(con: duckdb.DuckDBPyConnection, indicator: str | None, area: str, qi: int) -> list[dict[str, Any]]:
    """Every version, newest first: who wrote what and when (all indicators when None)."""
    return store.records(con.execute(
        "SELECT indicator, text, author, written_at FROM commentary_versions"
        " WHERE ($indicator IS NULL OR indicator = $indicator) AND area = $area AND qi = $qi"
        " ORDER BY written_at DESC", {"indicator": indicator, "area": area, "qi": qi}))


def missing(con: duckdb.DuckDBPyConnection, status_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The AMBER and RED rows (of a status query) that have no commentary yet."""
    flagged = [r for r in status_rows if r["status"] in ("AMBER", "RED")]
    if not flagged:
        return []
    quarters = {r["qi"] for r in flagged}
    written = {(c["indicator"], c["area"], c["qi"])
               for c in current(con, qi=quarters.pop() if len(quarters) == 1 else None)}
    return [r for r in flagged if (r["indicator"], r["area"], r["qi"]) not in written]


@store.retried
def add_action(con: duckdb.DuckDBPyConnection, indicator: str, area: str, qi: int, text: str, owner: str,
               due: date | None, author: str) -> int:
    text, owner = _clean(text, "action"), _clean(owner, "owner")
    if not text or not owner:
        raise CommentaryError("An action needs a description and an owner.")
    with store.transaction(con):
        row = con.execute("SELECT coalesce(max(action_id), 0) + 1 FROM action_versions").fetchone()
        action_id = int(row[0]) if row else 1
        con.execute("INSERT INTO action_versions VALUES (?, 1, ?, ?, ?, ?, ?, ?, false, ?, ?)",
                    [action_id, indicator, area, qi, text, owner, due, author, datetime.now()])
    return action_id


@store.retried
def update_action(con: duckdb.DuckDBPyConnection, action_id: int, author: str, *, done: bool | None = None,
                  text: str | None = None, owner: str | None = None, due: date | None = None) -> None:
    with store.transaction(con):
        latest = store.records(con.execute(
            "SELECT * FROM action_versions WHERE action_id = ? ORDER BY version DESC LIMIT 1", [action_id]))
        if not latest:
            raise CommentaryError(f"There is no action {action_id}.")
        a = latest[0]
        con.execute(
            "INSERT INTO action_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [action_id, a["version"] + 1, a["indicator"], a["area"], a["qi"],
             a["text"] if text is None else _clean(text, "action"),
             a["owner"] if owner is None else _clean(owner, "owner"),
             a["due"] if due is None else due, a["done"] if done is None else done, author, datetime.now()])


def actions(con: duckdb.DuckDBPyConnection, indicator: str | None = None, area: str | None = None
            ) -> list[dict[str, Any]]:
    """The current version of every action, open ones first, then by due date."""
    return store.records(con.execute(
        """SELECT * FROM action_versions
           WHERE ($indicator IS NULL OR indicator = $indicator) AND ($area IS NULL OR area = $area)
           QUALIFY row_number() OVER (PARTITION BY action_id ORDER BY version DESC) = 1
           ORDER BY done, due NULLS LAST, action_id""", {"indicator": indicator, "area": area}))


def action_history(con: duckdb.DuckDBPyConnection, action_id: int) -> list[dict[str, Any]]:
    return store.records(con.execute("SELECT * FROM action_versions WHERE action_id = ? ORDER BY version DESC",
                             [action_id]))
