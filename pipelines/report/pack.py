"""The quarterly board pack: one self-contained HTML file, and a PDF printed from it.

Every status in the pack comes from ``status.query`` (with its reason in words from
``present.words``); the pack only lays them out.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.catalogue import quarters
from pipelines.catalogue.config import Catalogue
from pipelines.present import charts, explain, spc_words, words
from pipelines.present.palette import NEEDS_UPDATE, SEVERITY, STATUS_MEANING, STATUS_STYLE
from pipelines.rules import intervals
from pipelines.stats import forecast, spc
from pipelines.storage import commentary

TEMPLATES = Path(__file__).resolve().parent / "templates"
EXCEPTIONS = ("AMBER", "RED", "GREY")
TREND_QUARTERS = 8
# The charts' size on an A4 page (CSS pixels: the page's 186 mm of width are about 700)
CHART_WIDTH, CHART_HEIGHT = 690, 290
# Chromium draws the charts before it prints; a pack whose charts have not drawn in this long is refused
DRAW_TIMEOUT_MS = 60_000
# Progress on long work: ``progress(stage, done, total)`` at each stage's start and end, and after
# each indicator's chart; the pack draws nothing itself (the CLI and the pages do).
Progress = Callable[[str, int, int], None]
QUERYING = "querying"
DRAWING = "drawing charts"
PRINTING = "printing the PDF"


def _nothing(stage: str, done: int, total: int) -> None:
    pass


class ReportError(Exception):
    """The pack cannot be produced; the message says why."""


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["num"] = explain.number
    env.filters["pct"] = explain.percent
    env.filters["shortfall_words"] = explain.shortfall_words
    env.filters["percent_words"] = explain.percent_words
    env.filters["interval"] = explain.interval
    env.filters["ci_range"] = explain.ci_range
    env.filters["sig"] = explain.significance_short
    env.filters["versus_target"] = explain.versus_target
    env.filters["polarity"] = explain.polarity
    env.filters["direction"] = explain.direction
    env.filters["unit_words"] = explain.unit_words
    env.globals.update(style=STATUS_STYLE, meaning=STATUS_MEANING, owes_update=NEEDS_UPDATE,
                       sig_symbols=explain.SIGNIFICANCE_SYMBOLS, sig_key=explain.SIGNIFICANCE_KEY,
                       methods=explain.METHOD_NAMES, byar_from=intervals.BYAR_FROM, z=intervals.Z,
                       spc_icons=spc_words.icons)
    return env


@dataclass(frozen=True)
class Published:
    """A pack made again as it was published: its number and when it was first made."""

    pack_id: int
    made_at: datetime


def context(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, qi: int,
            exceptions_only: bool = False, progress: Progress | None = None,
            published: Published | None = None) -> dict[str, Any]:
    report = progress or _nothing
    span = list(range(qi - TREND_QUARTERS + 1, qi + 1))
    report(QUERYING, 0, 1)
    # the pack covers the home and the areas under it (a tree's other areas are its comparators)
    own = list(catalogue.under(catalogue.county))
    rows = words.status_rows(con, catalogue, span, None if len(own) == len(catalogue.tree) else own)
    county = {(r["indicator"], r["qi"]): r for r in rows if r["area"] == catalogue.county}
    districts_of = set(catalogue.districts)
    # indicators measured for districts only have no county row: they appear as district exceptions
    current = [county[(i.id, qi)] for i in catalogue.indicators if (i.id, qi) in county]
    if all(r["value"] is None for r in current):
        raise ReportError(f"There are no county figures for {quarters.label(qi)}; load that quarter first.")
    shown = [r for r in current if not exceptions_only or r["status"] in EXCEPTIONS]
    notes = {(c["indicator"], c["area"]): c for c in commentary.current(con, qi=qi)}
    # actions raised in or before this quarter: a pack for an earlier quarter does not change
    # when later actions are added
    acts = [a for a in commentary.actions(con) if a["qi"] <= qi]
    four = [q for q in span[-4:]]
    districts = sorted(
        (r for r in rows if r["area"] in districts_of and r["qi"] == qi and r["status"] in NEEDS_UPDATE),
        key=lambda r: (SEVERITY[r["status"]], r["indicator"], r["area"]))
    county_spc = {q: _readings(con, catalogue, q, [catalogue.county]) for q in four}
    units = {i.id: i.unit for i in catalogue.indicators}
    outlooks = {(o.indicator, o.area): {**forecast.row(o), "unit": units[o.indicator]}
                for o in forecast.outlooks(con, catalogue, qi, [catalogue.county])}
    district_spc = _readings(con, catalogue, qi, sorted({r["area"] for r in districts}))
    report(QUERYING, 1, 1)
    sections: list[dict[str, Any]] = []
    report(DRAWING, 0, len(shown))
    # every indicator's XmR chart from one reading of the county's figures, and the status rule's rows
    # for their quarters (the targets on the charts, the status beside each reading)
    points = spc.charts(con, catalogue, catalogue.county, qi, [r["indicator"] for r in shown])
    chart_qis = sorted({p["qi"] for series in points.values() for p in series})
    statuses = {(r["indicator"], r["qi"]): r for r in (words.status_rows(con, catalogue, chart_qis,
                                                                          [catalogue.county]) if chart_qis else [])}
    for r in shown:
        # an indicator begun within the span has no rows before its first quarter
        trend_rows = [county[(r["indicator"], q)] for q in span if (r["indicator"], q) in county]
        sections.append({
            "row": r, "why": explain.why(r),
            "chart": _figure(charts.trend(trend_rows, title=f"{r['indicator']} in {catalogue.county}, by quarter")),
            "chart_words": charts.trend_words(trend_rows),
            "spc": _spc_section(catalogue, r, points.get(r["indicator"], []), statuses),
            "commentary": notes.get((r["indicator"], catalogue.county)),
            "district_commentary": [c for (ind, area), c in notes.items()
                                    if ind == r["indicator"] and area != catalogue.county],
            "actions": [a for a in acts if a["indicator"] == r["indicator"]],
            "definition": catalogue.indicator(r["indicator"]),
            "band": catalogue.band_at(catalogue.indicator(r["indicator"]), qi).describe(r["unit"]),
            "rule_changes": explain.band_changes(catalogue, catalogue.indicator(r["indicator"]), span[0], qi),
            "outlook": outlooks.get((r["indicator"], r["area"])),
        })
        report(DRAWING, len(sections), len(shown))
    counts = {s: sum(1 for r in current if r["status"] == s) for s in STATUS_STYLE}
    figures: list[dict[str, Any]] = []
    for n, section in enumerate(sections):
        section["chart_id"], section["spc_id"] = f"chart-{n}-trend", f"chart-{n}-spc"
        figures.append({"id": section["chart_id"], "figure": section.pop("chart")})
        if "chart" in section["spc"]:
            figures.append({"id": section["spc_id"], "figure": section["spc"].pop("chart")})
    return {
        "county": catalogue.county, "board": catalogue.name, "quarter": quarters.label(qi),
        # a pack made again keeps the day it was published, and says it was remade
        "generated": published.made_at if published else datetime.now(), "published": published,
        "remade_at": datetime.now(),
        "exceptions_only": exceptions_only, "counts": counts, "overview": shown,
        "comparison": [{"indicator": r["indicator"], "name": r["name"],
                        "cells": [county.get((r["indicator"], q)) for q in four]} for r in shown],
        "comparison_quarters": [quarters.label(q) for q in four],
        "districts": districts, "sections": sections,
        # how the county compares with its parent and the benchmark, and each district with the county
        "compared": [{"row": r, "said": explain.compared_with(r)} for r in shown if explain.compared_with(r)],
        "district_compared": [{"row": r, "said": explain.compared_with(r)}
                              for r in sorted((r for r in rows if r["area"] in districts_of and r["qi"] == qi
                                               and explain.compared_with(r)),
                                              key=lambda r: (r["indicator"], r["area"]))],
        "mismatches": [r for r in rows if r["mismatch"] and r["qi"] in four],
        "missing": commentary.missing(con, shown),
        # the bands in force in the pack's quarter, and every change within the quarters it shows
        "bands": [{"indicator": i, "band": catalogue.band_at(i, qi).describe(i.unit)} for i in catalogue.indicators],
        "default_band": catalogue.band_at(None, qi).describe(),
        "rule_changes": [said for i in catalogue.indicators
                         for said in explain.band_changes(catalogue, i, span[0], qi)],
        "outlooks": outlooks, "outlook_words": {k: explain.outlook(v, v.get("unit", "")) for k, v in outlooks.items()},
        "outlook_method": explain.OUTLOOK_METHOD,
        "county_spc": county_spc[qi], "comparison_spc": county_spc, "district_spc": district_spc,
        "spc_matrix": spc_words.placed(shown, county_spc[qi]), "spc_kinds": spc_words.KINDS,
        "spc_columns": spc_words.ASSURANCE_COLUMNS, "spc_key": spc_words.KEY_IN_PRINT,
        "spc_caption": spc_words.SUMMARY_CAPTION,
        "spc_method": spc_words.method_html(),
        "figures": script_json(figures) if figures else "", "plotly_js": plotly_js() if figures else "",
    }


@functools.cache
def plotly_js() -> str:
    """plotly.js as the plotly package ships it (found, not imported: the engine does not import
    plotly), to embed in the pack so that it draws its charts offline."""
    spec = importlib.util.find_spec("plotly")
    folders = (spec.submodule_search_locations or []) if spec else []
    for path in (Path(folder) / "package_data" / "plotly.min.js" for folder in folders):
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise ReportError("The pack's charts need plotly.js, which comes with the plotly package; pip install plotly.")


def script_json(value: Any) -> str:
    """JSON to put inside a <script> element: <, > and & escaped as JSON escapes, so no text can
    close the element or open a comment in it, whatever it holds."""
    text = json.dumps(value, ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _readings(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, qi: int,
              areas: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each series' SPC reading as of ``qi``, by (indicator, area)."""
    if not areas:
        return {}
    return {(r["indicator"], r["area"]): r for r in spc.readings(con, catalogue, qi, areas)}


def _figure(figure: charts.Figure) -> charts.Figure:
    return charts.for_print(figure, width=CHART_WIDTH, height=CHART_HEIGHT)


def _spc_section(catalogue: Catalogue, row: dict[str, Any], points: list[dict[str, Any]],
                 statuses: dict[tuple[str, int], dict[str, Any]]) -> dict[str, Any]:
    """The county's XmR chart of every loaded quarter up to the pack's, its reading joined to the
    status in one sentence, and its notes; no chart with fewer than 2 figures."""
    ind = catalogue.indicator(row["indicator"])
    if len(points) < 2:
        return {"too_few": spc_words.too_few(len(points))}
    last = points[-1]
    return {
        "reading": spc_words.reading(statuses.get((ind.id, last["qi"])), last),
        "variation": spc_words.variation(last["variation"]), "assurance": spc_words.assurance(last["assurance"]),
        # the chart stops at the pack's quarter
        "notes": spc_words.notes(last, row["qi"], row["quarter"], every_quarter=False),
        "words": spc_words.summary(points),
        "chart": _figure(charts.spc(points, title=f"{ind.id} in {catalogue.county}: XmR chart up to"
                                                  f" {row['quarter']}", unit=ind.unit,
                                     targets={p["qi"]: statuses[(ind.id, p["qi"])]["target"] for p in points
                                              if (ind.id, p["qi"]) in statuses})),
    }


def html(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, qi: int, exceptions_only: bool = False,
         progress: Progress | None = None, published: Published | None = None) -> str:
    return _environment().get_template("report.html.j2").render(
        **context(con, catalogue, qi, exceptions_only, progress, published))


def chromium_path() -> str:
    for candidate in (os.environ.get("RAGBOARD_CHROMIUM"), shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate:
            return candidate
    raise ReportError("The PDF needs Chromium; install it (apt-get install chromium) or set RAGBOARD_CHROMIUM.")


def pdf(html_text: str, out: str | Path, title: str = "", progress: Progress | None = None) -> None:
    """Print the HTML to an A4 PDF with page numbers, through headless Chromium."""
    report = progress or _nothing
    report(PRINTING, 0, 1)
    try:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout  # imported here: only the PDF needs it
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ReportError("The PDF needs the playwright package; pip install playwright.") from None
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "pack.html"
        page_file.write_text(html_text, encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            try:
                page = browser.new_page()
                page.goto(page_file.as_uri())
                # plotly.js draws the charts after the page loads; print only once every one is drawn
                try:
                    page.wait_for_function("document.body.dataset.drawn !== undefined", timeout=DRAW_TIMEOUT_MS)
                except PlaywrightTimeout:
                    raise ReportError(f"The pack's charts were not drawn within {DRAW_TIMEOUT_MS // 1000} s;"
                                      " try again, or make the HTML pack.") from None
                drawn = page.evaluate("document.body.dataset.drawn")
                if drawn != "yes":
                    raise ReportError(f"The pack's charts could not be drawn ({drawn}).")
                page.pdf(path=str(out), format="A4", print_background=True, display_header_footer=True,
                         margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                         header_template="<span></span>",
                         footer_template='<div style="font-size:8px;width:100%;text-align:center;color:#444">'
                                         f'{escape(title)}{" · " if title else ""}'
                                         'Page <span class="pageNumber"></span> of <span class="totalPages">'
                                         '</span></div>')
            finally:
                browser.close()
    report(PRINTING, 1, 1)


def footer(catalogue: Catalogue, qi: int) -> str:
    return f"{catalogue.name} · performance report {quarters.label(qi)}"


def write(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, qi: int, fmt: str, out: str | Path,
          exceptions_only: bool = False, progress: Progress | None = None,
          published: Published | None = None) -> Path:
    """Write the pack; with ``progress``, reports QUERYING, DRAWING (one step per indicator's chart)
    and, for a PDF, PRINTING. With ``published``, the pack is one made again as it was published
    (the caller reads the database as it stood then: ``storage.versions.as_of``)."""
    text = html(con, catalogue, qi, exceptions_only, progress, published)
    out = Path(out)
    if fmt == "pdf":
        pdf(text, out, footer(catalogue, qi), progress)
    else:
        out.write_text(text, encoding="utf-8")
    return out
