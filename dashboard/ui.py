"""Status chips, cells and HTML tables.

A status is never colour alone: every chip carries its word and a distinct symbol, on an
Okabe-Ito colour that colour-blind readers can tell apart. Tables are HTML (not
``st.dataframe``, whose canvas a browser test or a screen reader cannot read), and every
text that came from a file or the YAML is escaped.
"""

from __future__ import annotations

import html
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipelines.catalogue import quarters
from pipelines.present import explain, spc_words, words
from pipelines.present.palette import NEEDS_UPDATE, SEVERITY, STATUS_MEANING, STATUS_STYLE
from pipelines.rules.codes import Reason

# One look for a status everywhere (pages, charts, the printed pack): pipelines.rules.codes, as
# pipelines.present.palette names it.
__all__ = ["NEEDS_UPDATE", "SEVERITY", "STATUS_MEANING", "STATUS_STYLE"]

CSS = """
<style>
.rag {display:inline-block; padding:0.05rem 0.45rem; border-radius:0.3rem; font-weight:700;
      color:#111; white-space:nowrap; border:1px solid #333; font-size:0.9em; line-height:1.4}
.rag-NA {border-style:dashed; color:#333}
table.rb {border-collapse:collapse; width:100%; font-size:0.92rem; margin-bottom:0.5rem}
table.rb th, table.rb td {border:1px solid #d0d0d0; padding:0.3rem 0.5rem; text-align:left;
      vertical-align:top}
table.rb th {background:#f3f3f3; font-weight:600}
table.rb td.num {text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap}
.rb-wrap {overflow-x:auto; width:100%}
table.rb .wide {min-width:14rem}
table.rb .nw {white-space:nowrap}
table.rb-why-col td:last-child {min-width:11rem}
.rag .sym {font-size:1.2em; line-height:1}
table.rb td .rb-due {white-space:normal; font-size:0.9em}
/* The District page's table: the indicator's name, and the status column with the chip, the
   significance and the update flag, kept legible beside the why. */
table.rb-why-col td:nth-child(1) {min-width:10rem}
table.rb-why-col td:nth-child(2) {min-width:8.5rem}
/* The Definitions table: names and how a figure is made, not squeezed to a word a line. */
table.rb-defs td:nth-child(2), table.rb-defs td:nth-child(5) {min-width:8.5rem}
table.rb-defs td:nth-child(10) {min-width:9.5rem}
table.rb .sub {color:#555; font-size:0.85em}
table.rb caption {caption-side:top; text-align:left; color:#555; padding-bottom:0.3rem}
.rb-cards {display:flex; gap:0.8rem; flex-wrap:wrap; margin:0.2rem 0 0.8rem}
.rb-card {border:2px solid #333; border-radius:0.5rem; padding:0.4rem 0.9rem; min-width:8.5rem}
.rb-card .n {font-size:2rem; font-weight:700; line-height:1.1}
.rb-due {font-weight:700; white-space:nowrap}
.rb-why {font-size:1.05rem; padding:0.5rem 0.8rem; border-left:0.35rem solid #333;
      background:#f7f7f7; margin:0.3rem 0 0.8rem}
.rb-note {margin:0.2rem 0 0.3rem; padding:0.5rem 0.9rem; border-left:0.3rem solid #0072B2;
      background:#f5f8fb; white-space:pre-wrap; font-size:1rem}
.rb-sig {white-space:nowrap; font-size:0.88em; color:#111; margin-left:0.3em}
.rb-sig .sym {font-size:1.1em; margin-right:0.1em; font-weight:700}
br + .rb-sig {margin-left:0}
/* SPC icons beside a status: the symbols shown, their words in a tooltip and for screen readers. */
.rb-spc {white-space:nowrap; font-size:0.88em; color:#111; margin-left:0.3em; font-weight:600; cursor:help}
.rb-spc::before {content:attr(data-spc-icons)}
br + .rb-spc {margin-left:0}
table.rb-spc-summary td {min-width:9rem}
table.rb-spc-summary th:first-child, table.rb-spc-summary td:first-child {min-width:12rem}
.rb-spc-item {display:inline-block; white-space:nowrap; margin:0.1rem 0.5rem 0.1rem 0}
.rb-byline {color:#555; font-size:0.88rem; margin:0 0 0.6rem}
.rb-byline .rb-due {color:#111}
/* Sections are h2 under the page's h1 (headings in order for screen readers), drawn at the size
   Streamlit gives a subheader; inside an expander (a district's indicator) a size smaller. */
[data-testid="stMain"] h2 {font-size:1.55rem; padding-top:1rem}
[data-testid="stExpander"] h2, [data-testid="stExpander"] h3 {font-size:1.15rem; padding-top:0.2rem}
/* Captions dark enough to read (Streamlit draws them at 60% opacity, 3.9:1 on white; WCAG AA
   asks 4.5:1): #555 at full opacity is 7.5:1. */
[data-testid="stCaptionContainer"] {opacity:1}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {color:#555}
[data-testid="stCaptionContainer"] code {color:#333}
/* A wide table's box scrolls from the keyboard too (it takes focus); its outline shows where. */
.rb-wrap:focus-visible {outline:2px solid #0072B2; outline-offset:2px}
/* The app's one primary action (commit) in a neutral blue: Streamlit's default red would read
   as a RED status on a page about statuses. */
[data-testid="stBaseButton-primary"] {background:#0072B2; border-color:#0072B2; color:#fff}
[data-testid="stBaseButton-primary"]:hover {background:#005a8c; border-color:#005a8c; color:#fff}
</style>
"""


class Html(str):
    """Text that is already safe HTML; anything else is escaped when a table is built."""


def esc(value: Any) -> str:
    if isinstance(value, Html):
        return value
    return html.escape("" if value is None else str(value))


# Markdown that a user's text could start: emphasis, links and images, code, HTML, tables,
# strikethrough, maths, and Streamlit's :colour[...] directives. Escaped with a backslash.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~$&])")
# GitHub-flavoured Markdown turns bare addresses into links even when escaped; a word joiner
# (invisible) inside "://", after "www" and after "@" stops that.
_AUTOLINK = re.compile(r"(?i)(:(?=//)|www(?=\.)|@)")
_JOINER = "\u2060"


def md_text(value: Any) -> str:
    """Text from a file, a form, a URL or an error, made safe inside Markdown (st.markdown,
    st.info, st.error, button and expander labels): it shows as the same words, never as a
    link, an image, a heading or formatting. Line breaks become spaces."""
    text = " ".join(("" if value is None else str(value)).split())
    text = _AUTOLINK.sub(lambda m: m.group(1) + _JOINER, text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    if text[:1] in ("-", "+", "="):  # a list item or a heading underline
        return "\\" + text
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", text)  # an ordered list


# An absolute file path inside a message (a database, a catalogue, a temporary file).
# An absolute file path inside a message (a database, a catalogue, a temporary file): a slash
# starting a name (not "2010 /11"), then further parts.
_PATH = re.compile(r"(?<![\w.~])(?:/[A-Za-z._~-][^\s/'\"<>`]*)(?:/[^\s/'\"<>`]+)*/?")


def _server_places() -> list[str]:
    """Folders of this server that messages name, longest first: paths with spaces in them are
    found here whole, where the pattern above would stop at the space."""
    from pipelines.catalogue import config
    from pipelines.storage import analysts, store

    places = {store.db_path().parent, config.config_path().parent, analysts.accounts_path().parent,
              store.ROOT, Path.home(), Path(tempfile.gettempdir())}
    return sorted((str(p.resolve()) for p in places if p.is_absolute()), key=len, reverse=True)


def hide_paths(value: Any) -> str:
    """The text with every absolute path cut to its last part: pages never show where files
    live on the server ('/srv/My Data/ragboard.duckdb' becomes 'ragboard.duckdb')."""
    text = "" if value is None else str(value)
    for place in _server_places():
        if len(place) > 1:
            text = text.replace(place + "/", "/")
    return _PATH.sub(lambda m: m.group().rstrip("/").rsplit("/", 1)[-1], text)


def error_text(value: Any) -> str:
    """An error message (ours or a library's) for st.error and friends: no server paths, no Markdown."""
    return md_text(hide_paths(value))


def code(value: Any, limit: int = 80) -> str:
    """Text from a user shown in code formatting inside Markdown: nothing in a code span is
    interpreted. Backticks are dropped (they would end the span), line breaks become spaces
    and long text is cut."""
    text = " ".join(("" if value is None else str(value)).replace("`", "").split())
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return f"`{text}`" if text else "(nothing)"


def chip(status: str, title: str | None = None) -> Html:
    if status not in STATUS_STYLE:
        return Html(f'<span class="rag rag-NA">{esc(status)}</span>')
    symbol, colour, _ = STATUS_STYLE[status]
    tip = esc(title or f"{status}: {STATUS_MEANING[status]}")
    return Html(f'<span class="rag rag-{status}" style="background:{colour}" title="{tip}"'
                f' data-status="{status}"><span class="sym">{symbol}</span> {status}</span>')


def status_text(status: str) -> str:
    """'▲ AMBER': for plain text, chart legends and hover labels."""
    return f"{STATUS_STYLE[status][0]} {status}"


def number(x: float | None, unit: str = "") -> str:
    return explain.number(x, unit)


def percent_off(row: dict[str, Any]) -> str:
    return explain.percent_words(row.get("percent_off"))


def shortfall(row: dict[str, Any]) -> str:
    return explain.shortfall_words(row.get("shortfall"))


# ---- Confidence intervals and significance -----------------------------------------------------
# The words come from pipelines.present.explain; these helpers only choose how much of them a cell
# shows. Significance is never colour alone: a symbol and a word, from explain.significance_parts.


def significance(row: dict[str, Any], short: bool = True) -> Html:
    """'✗ worse' (short) or '✗ significantly worse' beside a status, with the comparison and the
    interval in words in a tooltip; empty when the figure was not compared with its target."""
    sig = row.get("significance")
    symbol, shown = explain.significance_parts(sig, short)
    if not symbol:
        return Html("")
    said = explain.interval(row)
    tip = explain.versus_target(row) + (f" ({said})" if said else "")
    return Html(f'<span class="rb-sig" data-significance="{esc(sig)}" title="{esc(tip)}">'
                f'<span class="sym" aria-hidden="true">{esc(symbol)}</span> {esc(shown)}</span>')


def spc_icons(reading: dict[str, Any] | None, qi: int | None = None) -> Html:
    """'⊕H [F]' beside a status: the XmR chart's variation and assurance symbols, with their words in a
    tooltip and, for screen readers, as the icon's accessible name (role="img" with an aria-label);
    empty when there is no reading. The symbols are drawn from ``data-spc-icons`` by the stylesheet,
    so the cell's text (its status, figure and significance, which other pages and tests read) is
    unchanged."""
    symbols, said = spc_words.icons(reading, qi)
    if not symbols:
        return Html("")
    return Html(f'<span class="rb-spc" role="img" data-spc="{esc(reading["variation"] if reading else "")}"'
                f' data-spc-icons="{esc(symbols)}" title="{esc(said)}" aria-label="{esc(said)}"></span>')


def sentence(text: str) -> str:
    """The text with its first letter capitalised ('exact Poisson interval' → 'Exact Poisson interval')."""
    return text[:1].upper() + text[1:]


def table(header: Sequence[str], body: Iterable[Sequence[Any]], *, caption: str | None = None,
          numeric: Sequence[int] = (), wide: Sequence[int] = (0,), nowrap: Sequence[int] = (),
          cls: str = "", test_id: str = "") -> str:
    """An HTML table; ``numeric`` columns are right-aligned, ``wide`` ones never squeezed thin,
    ``nowrap`` ones (quarter labels, directions) kept on one line."""
    nums, wides, keep = set(numeric), set(wide), set(nowrap)

    def kind(i: int) -> str:
        return (("num" if i in nums else "cell") + (" wide" if i in wides else "")
                + (" nw" if i in keep else ""))

    head = "".join(f'<th class="{kind(i)}">{esc(h)}</th>' for i, h in enumerate(header))
    lines = []
    for cells in body:
        tds = "".join(f'<td class="{kind(i)}">{esc(c)}</td>' for i, c in enumerate(cells))
        lines.append(f"<tr>{tds}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    tid = f' data-testid="{esc(test_id)}"' if test_id else ""
    # a region that takes focus, so a table wider than the page scrolls from the keyboard, named for
    # screen readers by its caption (else its first headings)
    name = caption or "Table: " + ", ".join(str(h) for h in list(header)[:3])
    return (f'<div class="rb-wrap" tabindex="0" role="region" aria-label="{esc(name[:150])}">'
            f'<table class="rb {cls}"{tid}>{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(lines)}</tbody></table></div>')


def indicator_cell(row: dict[str, Any], note: bool = False) -> Html:
    """Id, name, unit and polarity; with ``note``, the note that came with the figure."""
    unit = esc(unit_words(row["unit"]))
    extra = f'<br><i class="sub">Note: {esc(row["note"])}</i>' if note and row.get("note") else ""
    return Html(f"<b>{esc(row['indicator'])}</b> {esc(row['name'])}"
                f'<br><span class="sub">{unit}, {esc(explain.polarity(row["better"]))}</span>{extra}')


def band_words(tolerance: Any, unit: str) -> str:
    """'5% of the target', or '5 (in % above the predicted rate)' for a band in the unit itself."""
    if tolerance.kind == "percent":
        return tolerance.describe(unit)
    return f"{tolerance.amount:g} (in {unit_words(unit)})"


def bands_words(catalogue: Any, ind: Any) -> str:
    """The indicator's band, or each dated version of it from its quarter: markup, one per line."""
    versions = catalogue.bands(ind)
    if len(versions) == 1:
        return esc(band_words(versions[0].tolerance, ind.unit))
    return "<br>".join(f'<span style="white-space:nowrap">from {quarters.label(v.start)}:</span>'
                       f" {esc(band_words(v.tolerance, ind.unit))}" for v in versions)


def live_words(ind: Any) -> str:
    """The quarters an indicator is expected in: 'always', 'from 2009/10 Q2', 'until 2010/11 Q1'."""
    parts = ([f"from {quarters.label(ind.live_from)}"] if ind.live_from is not None else []) + (
        [f"until {quarters.label(ind.live_until)} (retired)"] if ind.live_until is not None else [])
    return " ".join(parts) or "every quarter"


def unit_words(unit: str | None) -> str:
    return explain.unit_words(unit)


def value_cell(row: dict[str, Any], reading: dict[str, Any] | None = None) -> Html:
    """A grid cell: the chip (with the SPC ``reading``'s icons beside it, when given), then the figure
    under it and, where it was compared with its target allowing for chance, the significance
    ('≈ similar')."""
    figure = number(row["value"], row["unit"]) if row["value"] is not None else words.row_reason(row)
    sig = significance(row)
    spc = spc_icons(reading, row["qi"])
    return Html(f'{chip(row["status"], explain_title(row))}{f" {spc}" if spc else ""}'
                f'<br><span class="sub">{esc(figure)}</span>' + (f' {sig}' if sig else ""))


def outlook_row(row: dict[str, Any], unit: str) -> list[Any]:
    """A row of the Overview's year-end outlook table: the forecast, its interval, the target, the
    chance of meeting it and the outlook in words."""
    if row["forecast"] is None:  # why there is none, in the outlook's column: the figures' columns stay narrow
        said = explain.NO_FORECAST.get(row.get("reason") or "", "no forecast")
        return ["–", "–", explain.number(row["target"], unit), "–", said]
    interval = ("the year's figure" if row["quarters_known"] == 4 else
                f"{explain.number(row['forecast_lower'], unit)} to {explain.number(row['forecast_upper'], unit)}")
    status = row["forecast_status"]
    return [explain.number(row["forecast"], unit), interval, explain.number(row["target"], unit),
            "–" if row["probability_on_target"] is None else f"{row['probability_on_target'] * 100:.0f}%",
            "–" if status is None else f"{explain.OUTLOOK_MARKS[status]} {explain.OUTLOOK_WORDS[status]}"]


def rules_note(diffs: list[tuple[dict[str, Any], str]], rules: str) -> str:
    """Which rules judged the statuses shown, and which of them the other rules would change."""
    if rules == "current":
        head, other = "Every quarter is judged by today's rules.", "the rules in force at the time"
    else:
        head, other = "Each quarter is judged by the rules in force then.", "today's rules"
    if not diffs:
        return f"{head} No status shown here would differ under {other}."
    said = "; ".join(f"{r['indicator']} in {r['area']}, {quarters.label(r['qi'])}: {r['status']} → {status}"
                     for r, status in diffs)
    count = f"{len(diffs)} status{'es' if len(diffs) > 1 else ''}"
    return f"{head} Under {other}, {count} shown here would differ: {said}."


# A grid's cell for a quarter an indicator is not expected in (before its first, after its last)
NOT_EXPECTED = Html('<span class="sub">not measured then</span>')


def status_cell(row: dict[str, Any], reading: dict[str, Any] | None = None) -> Html:
    """The chip with the significance under it ('≈ similar'), when the figure was compared, and the
    SPC ``reading``'s icons under that, when given."""
    sig = significance(row)
    spc = spc_icons(reading, row["qi"])
    return Html(f"{chip(row['status'], explain_title(row))}" + (f"<br>{sig}" if sig else "")
                + (f"<br>{spc}" if spc else ""))


def figure_cell(row: dict[str, Any], labelled: bool = True) -> Html:
    """The figure, with its confidence interval under it where it has one ('95% CI 12.07 to 19.57', or
    with ``labelled=False`` just '12.07 to 19.57' for a column headed so); the counts behind it in
    the tooltip."""
    figure = esc(number(row["value"], row["unit"]))
    if not explain.ci_short(row):
        return Html(figure)
    return Html(f'{figure}<br><span class="sub rb-ci" title="{esc(explain.interval(row))}">'
                f"{esc(explain.ci_short(row) if labelled else explain.ci_range(row))}</span>")


def no_data(row: dict[str, Any]) -> bool:
    """No row was loaded for the indicator, area and quarter (not even an empty value)."""
    return bool(row["reason_code"] == Reason.NO_DATA)


def explain_title(row: dict[str, Any]) -> str:
    return f"{row['indicator']}, {row['area']}, {row['quarter']}: {explain.why(row)}"


def count_cards(counts: dict[str, int]) -> str:
    cards = []
    for status, (_, colour, _) in STATUS_STYLE.items():
        cards.append(
            f'<div class="rb-card" style="border-color:{colour if status != "NA" else "#333"}"'
            f' data-status="{status}"><div class="n">{counts.get(status, 0)}</div>'
            f"{chip(status)}</div>"
        )
    return f'<div class="rb-cards">{"".join(cards)}</div>'


DUE_TEXT = "⚑ Update due to the tasking group"


def update_due(status: str) -> Html:
    if status in NEEDS_UPDATE:
        return Html('<span class="rb-due" title="Under the board\'s rules an AMBER or RED status'
                    f' needs a verbal update to the tasking group">{DUE_TEXT}</span>')
    return Html("")


def movement(before: dict[str, Any] | None, now: dict[str, Any]) -> Html:
    """'● GREEN → ▲ AMBER' when the status changed since ``before``; 'no change' otherwise."""
    if before is None or no_data(before):
        return Html('<span class="sub">no earlier figure</span>')
    if before["status"] == now["status"]:
        return Html("no change")
    return Html(f"{chip(before['status'])} → {chip(now['status'])}")


def why_box(row: dict[str, Any]) -> str:
    colour = STATUS_STYLE[row["status"]][1]
    return (f'<div class="rb-why" style="border-left-color:{colour}">{chip(row["status"])}'
            f" {esc(explain.why(row))}</div>")


def spc_summary(rows: Sequence[dict[str, Any]], readings: dict[tuple[str, str], dict[str, Any]]) -> str:
    """The board's SPC summary: variation (rows) × assurance (columns), each indicator's id with its
    status chip in the cell its XmR reading puts it in. Rows without a reading are left out (the
    caller says so)."""
    cells: dict[tuple[str, str | None], list[str]] = {}
    for where, placed_rows in spc_words.placed(list(rows), readings).items():
        for r in placed_rows:
            _, said = spc_words.icons(readings[(r["indicator"], r["area"])], r["qi"])
            tip = f"{r['indicator']} {r['name']}: {r['status']}; {said}"
            cells.setdefault(where, []).append(
                f'<span class="rb-spc-item" title="{esc(tip)}"><b>{esc(r["indicator"])}</b>'
                f' {chip(r["status"], tip)}</span>')
    body = [[Html(f'<span aria-hidden="true">{esc(symbol)}</span> {esc(label)}'),
             *[Html(" ".join(cells.get((kind, code), [])) or '<span class="sub">–</span>')
               for code in spc_words.ASSURANCE_COLUMNS]]
            for kind, (symbol, label) in spc_words.KINDS.items()]
    return table(["Variation / assurance", *spc_words.ASSURANCE_COLUMNS.values()], body, wide=(),
                 cls="rb-spc-summary", test_id="spc-summary-matrix", caption=spc_words.SUMMARY_CAPTION)
