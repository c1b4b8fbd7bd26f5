"""Cached reads for the pages.

Every read opens its own short-lived connection, so the CLI can load while the
dashboard runs. Results are cached by the data version (the latest load id) and the
catalogue's modification time, so a new load or an edited YAML shows on the next rerun.
No connection object is ever cached.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from pipelines.catalogue import config
from pipelines.catalogue import quarters as quarters_mod
from pipelines.ingest import loading
from pipelines.present import export, words
from pipelines.report import pack
from pipelines.stats import forecast, spc

# scipy's distributions (the forecasts' t, the funnel plots' chi-square) cost 0.7 s to import: paid
# once as the server starts, not by the first page that draws a forecast or a funnel
import scipy.stats  # noqa: E402, F401  isort: skip
from pipelines.storage import commentary, store

# A dashboard reader should not hang for the CLI's full wait; the error says try again.
READ_WAIT = 3.0
Row = dict[str, Any]


class Unavailable(Exception):
    """The figures cannot be read; the message is a sentence for the user."""


@dataclass(frozen=True)
class Snapshot:
    """Which figures a rerun shows: the database, its data version and the catalogue version."""

    db: str
    load_id: int
    config_key: str
    quarters: tuple[int, ...]
    # 'in-force': each quarter judged by the rules in force then; 'current': by today's rules
    rules: str = "in-force"

    @property
    def empty(self) -> bool:
        return not self.quarters

    @property
    def other_rules(self) -> Snapshot:
        """The same figures judged by the other rules (today's, or those in force then)."""
        return dataclasses.replace(self, rules="in-force" if self.rules == "current" else "current")


@st.cache_resource(show_spinner=False)
def _catalogue(path: str, mtime: float) -> config.Catalogue:
    # Catalogue is a frozen dataclass, so sharing one object between sessions is safe.
    return config.load(path)


def _config_key() -> tuple[str, float]:
    path = config.config_path()
    try:
        return str(path), path.stat().st_mtime
    except OSError:
        return str(path), 0.0


@st.cache_resource(show_spinner=False)
def _current_rules(path: str, mtime: float) -> config.Catalogue:
    return _catalogue(path, mtime).current_rules()


def catalogue(rules: str = "in-force") -> config.Catalogue:
    """The validated catalogue (raises config.ConfigError listing every problem); with ``rules``
    'current', today's rules for every quarter."""
    return (_current_rules if rules == "current" else _catalogue)(*_config_key())


@contextmanager
def _read(db: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one read. The store's own failures (busy, missing, unreadable: the store
    maps DuckDB's I/O errors to them) become a sentence; any other error is a fault in a query
    and is raised, so that tests see it."""
    try:
        with store.connect_to_read(db, wait=READ_WAIT) as con:
            yield con
    except (store.StoreBusy, store.StoreError) as exc:
        raise Unavailable(str(exc)) from None


@st.cache_resource(show_spinner=False)
def _init_lock() -> threading.Lock:
    return threading.Lock()


@st.cache_resource(show_spinner=False)
def _seen() -> set[str]:
    """Databases this server has had: one of them vanishing is an accident to pack, never a
    reason to put the sample figures in its place."""
    return set()


def ensure_database() -> str | None:
    """Create the database from data/sample/ when there is none and this server has never had
    one there, as ``python -m pipelines init`` does; returns a sentence saying so, or None when
    the database was already there. A database that disappears while the server runs is not
    replaced: the pages say it is missing until it is restored."""
    path = store.file_path()
    if path is None:  # memory, or a lake: nothing to create from the sample
        return None
    seen = _seen()
    if path.exists():
        seen.add(str(path))
        return None
    with _init_lock():
        if path.exists():
            return None
        if str(path) in seen:
            raise Unavailable(f"The database {path.name} has disappeared since this server opened it; nothing was"
                              " recreated. Restore it from a backup (or run 'python -m pipelines init') and reload.")
        try:
            loading.create_from_sample(path, catalogue(), analyst="dashboard (sample)")
        except (store.StoreBusy, store.StoreError, loading.LoadRefused, OSError) as exc:
            raise Unavailable(f"There is no database {path.name}, and creating one failed: {exc}") from None
        seen.add(str(path))
    return f"There was no database {path.name}, so it was created from the sample figures in data/sample/."


@st.cache_data(show_spinner=False, max_entries=64)
def _loaded_quarters(db: str, load_id: int) -> tuple[int, ...]:
    with _read(db) as con:
        # Quarters no file may hold any more ('0999/00 Q1', '2099/00 Q1', loaded before the checks)
        # are left out, so they can neither break a page nor become its default quarter.
        return tuple(q for q in store.loaded_quarters(con) if quarters_mod.acceptable(q))


def snapshot() -> Snapshot:
    """The current data version; one tiny query per rerun, so a new load shows at once."""
    db = store.location()
    with _read(db) as con:
        load_id = store.latest_load_id(con)
    path, mtime = _config_key()
    return Snapshot(db, load_id, f"{path}@{mtime}", _loaded_quarters(db, load_id))


@st.cache_data(show_spinner=False, max_entries=512)
def _rows(
    db: str, load_id: int, config_key: str, rules: str, quarters: tuple[int, ...],
    areas: tuple[str, ...] | None, indicators: tuple[str, ...] | None,
) -> list[Row]:
    with _read(db) as con:
        return words.status_rows(con, catalogue(rules), list(quarters), list(areas) if areas else None,
                                 list(indicators) if indicators else None)


def rows(
    snap: Snapshot, quarters: Sequence[int], *,
    areas: Sequence[str] | None = None, indicators: Sequence[str] | None = None,
) -> list[Row]:
    """Status rows from ``pipelines.rules.status.query``, each with its reason in words
    (``pipelines.present.words``); ask for one quarter or one indicator at a
    time so a national-scale database answers quickly."""
    return _rows(snap.db, snap.load_id, snap.config_key, snap.rules, tuple(sorted(set(quarters))),
                 tuple(areas) if areas else None, tuple(indicators) if indicators else None)


@st.cache_data(show_spinner=False, max_entries=256)
def _spc_rows(
    db: str, load_id: int, config_key: str, quarters: tuple[int, ...], indicator: str, area: str,
) -> list[Row]:
    with _read(db) as con:
        return spc.chart(con, catalogue(), indicator, area, list(quarters))


def spc_rows(snap: Snapshot, indicator: str, area: str) -> list[Row]:
    """The XmR chart of one indicator and area over every loaded quarter (``pipelines.stats.spc``):
    a row per quarter with a figure, oldest first, the variation and assurance on the last."""
    if snap.empty:
        return []
    span = tuple(range(min(snap.quarters), max(snap.quarters) + 1))
    return _spc_rows(snap.db, snap.load_id, snap.config_key, span, indicator, area)


@st.cache_data(show_spinner=False, max_entries=128)
def _spc_readings(
    db: str, load_id: int, config_key: str, qi: int,
    areas: tuple[str, ...] | None, indicators: tuple[str, ...] | None,
) -> dict[tuple[str, str], Row]:
    with _read(db) as con:
        found = spc.readings(con, catalogue(), qi, list(areas) if areas else None,
                             list(indicators) if indicators else None)
    return {(r["indicator"], r["area"]): r for r in found}


def spc_readings(
    snap: Snapshot, qi: int, areas: Sequence[str] | None = None, indicators: Sequence[str] | None = None,
) -> dict[tuple[str, str], Row]:
    """Each series' XmR reading as of quarter ``qi`` (``pipelines.stats.spc.readings``: its last point
    with a figure up to then, with its variation and assurance), keyed by (indicator, area); ask only
    for the areas and indicators a page shows, so a national-scale database answers quickly."""
    if snap.empty:
        return {}
    return _spc_readings(snap.db, snap.load_id, snap.config_key, qi, tuple(areas) if areas else None,
                         tuple(indicators) if indicators else None)


def differing(snap: Snapshot, shown: list[Row]) -> list[tuple[Row, str]]:
    """Each row shown whose status the other rules (today's, or those in force then) would change,
    with the status they would give: asked only when some band of the catalogue changes over time."""
    if not catalogue().versioned or not shown:
        return []
    quarters = sorted({r["qi"] for r in shown})
    areas = sorted({r["area"] for r in shown})
    other: dict[tuple[str, str, int], str] = {(r["indicator"], r["area"], r["qi"]): r["status"]
             for r in rows(snap.other_rules, quarters, areas=areas,
                           indicators=sorted({r["indicator"] for r in shown}))}
    return [(r, other[key]) for r in shown
            if (key := (r["indicator"], r["area"], r["qi"])) in other and other[key] != r["status"]]


def together(*questions: Callable[[], Any]) -> list[Any]:
    """The answers to a page's independent questions (calls of this module's readers), asked side
    by side, each on its own connection: DuckDB takes as long to plan one of ragboard's queries as
    to run it for a county, and two plans run at once on two cores."""
    if len(questions) < 2:
        return [q() for q in questions]
    ctx = get_script_run_ctx()  # so the cached readers run as part of this page's run

    def ask(question: Callable[[], Any]) -> Any:
        add_script_run_ctx(threading.current_thread(), ctx)
        return question()

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        return list(pool.map(ask, questions))


@st.cache_data(show_spinner=False, max_entries=64)
def _outlooks(db: str, load_id: int, config_key: str, qi: int, areas: tuple[str, ...],
              indicators: tuple[str, ...] | None) -> dict[tuple[str, str], Row]:
    with _read(db) as con:
        found = forecast.outlooks(con, catalogue(), qi, list(areas), list(indicators) if indicators else None)
    return {(o.indicator, o.area): forecast.row(o) for o in found}


def outlooks(snap: Snapshot, qi: int, areas: Sequence[str],
             indicators: Sequence[str] | None = None) -> dict[tuple[str, str], Row]:
    """Each year-end forecast as of quarter ``qi`` (``pipelines.stats.forecast``), keyed by
    (indicator, area): its columns, ``reason`` and ``year_end``."""
    if snap.empty:
        return {}
    return _outlooks(snap.db, snap.load_id, snap.config_key, qi, tuple(areas),
                     tuple(indicators) if indicators else None)


def window(qi: int, length: int) -> list[int]:
    """The ``length`` quarters ending at ``qi``, oldest first."""
    return list(range(qi - length + 1, qi + 1))


def commentary_missing(snap: Snapshot, rows: list[Row]) -> list[Row]:
    """AMBER and RED rows with no commentary: read afresh, since commentary has no data version."""
    with _read(snap.db) as con:
        return commentary.missing(con, rows)


def board_pack(snap: Snapshot, qi: int, exceptions_only: bool) -> str:
    """The pack's HTML (made on demand; raises pack.ReportError when there is nothing to pack)."""
    with _read(snap.db) as con:
        return pack.html(con, catalogue(), qi, exceptions_only)


def board_pack_pdf(snap: Snapshot, qi: int, exceptions_only: bool) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pack.pdf"
        pack.pdf(board_pack(snap, qi, exceptions_only), out, pack.footer(catalogue(), qi))
        return out.read_bytes()


def can_print_pdf() -> bool:
    try:
        pack.chromium_path()
    except pack.ReportError:
        return False
    return True


EXPORT_COLUMNS = ("indicator", "name", "area", "quarter", "value", "target", "shortfall", "percent_off",
                  "status", "reason", "direction", "direction_year", "reported_status", "mismatch",
                  # the counts behind the figure, its interval and its difference from the target allowing for chance
                  "numerator", "denominator", "ci_lower", "ci_upper", "ci_method", "significance", "aggregated_from",
                  "variation", "assurance", "parent", "parent_value", "vs_parent", "benchmark", "benchmark_value",
                  "vs_benchmark", "note")


@st.cache_data(show_spinner=False, max_entries=16)
def _quarter_csv(db: str, load_id: int, config_key: str, qi: int) -> str:
    with _read(db) as con:
        columns, rows = words.status_table(con, catalogue(), [qi], columns=EXPORT_COLUMNS)
    return export.csv_text(columns, rows)


def quarter_csv(snap: Snapshot, qi: int) -> str:
    """Every indicator and area for a quarter, as CSV that opens safely in a spreadsheet."""
    return _quarter_csv(snap.db, snap.load_id, snap.config_key, qi)
