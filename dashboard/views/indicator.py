"""Indicator: its trend against target and band, the districts compared, and the arithmetic."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, notes, state, ui
from dashboard.ui import Html, chip, esc
from pipelines.catalogue import quarters
from pipelines.present import charts as figures
from pipelines.present import explain, spc_words, words

ctx = state.context()
cat = ctx.catalogue
names = {i.id: i for i in cat.indicators}
ind_id, notice = state.synced_select(
    "Indicator", list(names), "indicator", what="indicator",
    format_func=lambda i: f"{i}: {names[i].name}", width=560)
if notice:
    st.info(notice)
ind = names[ind_id]
# the band in force in the quarter shown (today's when no quarter is loaded)
tol = cat.band_at(ind, ctx.qi) if ctx.qi is not None else cat.tolerance(ind)

# The area whose trend, status and commentary are shown; None for a district-only indicator
# while the county is selected (the districts are still compared below).
area: str | None = ctx.area
if not cat.in_scope(ind, ctx.area):
    if ctx.area == cat.county:
        st.info(f"{ui.md_text(ind.id)} is measured for the districts only, not for {ui.md_text(cat.county)} as a"
                " whole: the"
                " districts are compared below; choose a district in the sidebar to see its trend.")
        area = None
    else:
        st.info(f"{ui.md_text(ind.id)} is measured for the county only, so {ui.md_text(cat.county)} is shown"
                f" rather than {ui.md_text(ctx.area)}.")
        area = cat.county

# Catalogue text is shown as text: a name or unit holding Markdown must not become a link or an image.
st.title(ui.md_text(f"{ind.id} {ind.name}"))
st.markdown(f"**{ui.md_text(area or 'Districts')}** · {ui.md_text(ui.unit_words(ind.unit))} ·"
            f" {explain.polarity(ind.better)} · amber band: within {ui.md_text(ui.band_words(tol, ind.unit))}")

if ctx.qi is None:
    st.info("No figures are loaded yet, so there is no trend to draw.")
elif area is not None:
    # Every quarter from the first loaded to the last: a quarter with no figures is a visible gap
    # in the chart, not silently closed up.
    span = range(min(ctx.snap.quarters), max(ctx.snap.quarters) + 1)
    trend = data.rows(ctx.snap, span, areas=[area], indicators=[ind.id])
    now = next((r for r in trend if r["qi"] == ctx.qi), None)
    st.header(f"Why this status, {ctx.quarter}")
    if now is None or ui.no_data(now):
        st.info(f"There is no figure for {ui.md_text(ind.id)} in {ui.md_text(area)} for {ctx.quarter}.")
    else:
        st.html(ui.why_box(now))
        if now["note"]:
            # The note came in a file: shown as text, never as Markdown (no links or images).
            st.html(f'<p class="rb-byline" data-testid="figure-note">Note with the figure:'
                    f" {ui.esc(now['note'])}</p>")
        if now["reported_status"] and now["mismatch"]:
            st.html(f"<p>Reported as {chip(now['reported_status'])}, but the board's rule gives"
                    f" {chip(now['status'])}.</p>")
    if all(r["target"] is None for r in trend):
        st.warning(f"{ui.md_text(ind.id)} has no target for any loaded quarter, so every status is NA and there is"
                   " no target line or band to draw.")
    if any(r["value"] is not None for r in trend):
        st.plotly_chart(charts.trend(trend, title=f"{ind.id} in {area}, by quarter", selected=ctx.quarter),
                        key="trend")
        # the chart's text alternative, for a screen reader and for anyone who reads rather than looks
        st.html(f'<p class="rb-byline" data-testid="trend-words">{esc(figures.trend_words(trend))}</p>')
    else:
        st.info(f"No figures for {ui.md_text(ind.id)} in {ui.md_text(area)} have been loaded.")
    # the rules over the quarters drawn: each band change, and the statuses the other rules would give
    shown = [r for r in trend if r["value"] is not None]
    if shown:
        written = data.catalogue()  # as written: the pages' own may be today's rules only
        changes = explain.band_changes(written, written.indicator(ind.id), shown[0]["qi"], shown[-1]["qi"])
        if changes or written.versioned:
            st.caption(ui.md_text(" ".join([*changes, ui.rules_note(data.differing(ctx.snap, trend), ctx.snap.rules)])))

    # ---- the year-end outlook: the year so far, and the forecast as a fan to the year end ----------
    st.header("Year-end outlook")
    found = data.outlooks(ctx.snap, ctx.qi, [area], [ind.id]).get((ind.id, area))
    if found is None:
        st.info(f"{ui.md_text(ind.id)} is not expected in {ctx.quarter}, so there is no year to forecast.")
    else:
        st.html(f'<p data-testid="outlook">{esc(explain.outlook(found, ind.unit))}</p>')
        year_rows = [r for r in trend if r["qi"] <= ctx.qi]
        st.plotly_chart(charts.outlook(year_rows, found, title=f"{ind.id} in {area}: {found['year']} so far and"
                                       f" its year end", unit=ind.unit), key="outlook")
        st.caption(f"The year-end figure is {explain.YEAR_END_WORDS[found['year_end']]} (the indicator's"
                   f" year_end); the forecast uses the figures up to {ctx.quarter} only: a seasonal ratio"
                   " projection from up to five earlier complete years, with a 90% prediction interval"
                   " (Definitions, Year-end outlook, says how).")

    # ---- SPC view: the XmR chart over every loaded quarter, its reading beside the status ----------
    st.header("SPC view")
    points = data.spc_rows(ctx.snap, ind.id, area)
    if len(points) < 2:
        st.info(spc_words.too_few(len(points)))
    else:
        last = points[-1]
        by_qi = {r["qi"]: r for r in trend}
        st.html(f'<div class="rb-why" style="border-left-color:#0072B2" data-testid="spc-reading">'
                f"{esc(spc_words.reading(by_qi.get(last['qi']), last))}</div>"
                f'<ul data-testid="spc-readings"><li><b>Variation:</b> {esc(spc_words.variation(last["variation"]))}'
                f'</li><li><b>Assurance:</b> {esc(spc_words.assurance(last["assurance"]))}</li></ul>')
        for said in spc_words.notes(last, ctx.qi, ctx.quarter, every_quarter=True):
            st.html(f'<p class="rb-byline" data-testid="spc-note">{esc(said)}</p>')
        targets = {r["qi"]: r["target"] for r in trend}
        st.plotly_chart(charts.spc(points, title=f"{ind.id} in {area}: XmR chart of every loaded quarter",
                                   unit=ind.unit, targets=targets), key="spc")
        # the chart's text alternative: in words, and every point in a table
        st.html(f'<p class="rb-byline" data-testid="spc-summary">{esc(spc_words.summary(points))}'
                " See Definitions for the method.</p>")
        with st.expander("The XmR chart's figures"):
            st.html(ui.table(
                ["Quarter", "Value", "Mean", "Lower limit", "Upper limit", "Point"],
                [[r["quarter"], ui.number(r["value"]), ui.number(r["mean"]), ui.number(r["lower_limit"]),
                  ui.number(r["upper_limit"]), spc_words.point(r)] for r in points],
                numeric=(1, 2, 3, 4), nowrap=(0,), wide=(), test_id="spc-table"))


def status_cell(r: data.Row) -> Html:
    """The chip, with the why in its tooltip; for NA, the reason under it in words."""
    reason = f'<br><span class="sub">{esc(words.row_reason(r))}</span>' if r["status"] == "NA" else ""
    return Html(f"{chip(r['status'], ui.explain_title(r))}{reason}")


def area_cell(r: data.Row) -> Html:
    """The area's name, in bold for the area chosen in the sidebar: a district lead finds their row."""
    name = esc(r["area"] + (" (county)" if r["area"] == cat.county else ""))
    return Html(f"<b>{name}</b>" if r["area"] == area else name)


if ctx.qi is not None and cat.at_districts(ind):
    st.header(f"Districts compared, {ctx.quarter}")
    # the home and its districts (a tree's other areas are on the Compare page)
    areas = data.rows(ctx.snap, [ctx.qi], areas=[cat.county, *cat.districts], indicators=[ind.id])
    areas.sort(key=lambda r: (r["area"] != cat.county, ui.SEVERITY[r["status"]], r["area"]))
    # the counts behind each figure, for an analyst; no column where every figure was given as it is
    counted = any(explain.counts(r) for r in areas)
    st.html(ui.table(
        ["Area", "Status", "Significance", "Value", explain.ci_heading(ind.confidence, ind.measure), "Target",
         "% off target", "Since last quarter", *(["Counts"] if counted else [])],
        [[area_cell(r), status_cell(r),
          ui.significance(r, short=False) or "–", ui.number(r["value"], r["unit"]), explain.ci_range(r) or "–",
          ui.number(r["target"], r["unit"]), ui.percent_off(r), explain.direction(r["direction"]),
          *([explain.counts(r) or "–"] if counted else [])] for r in areas],
        numeric=(3, 4, 5, 6), nowrap=(2, 4, 6, 7), wide=(), test_id="compare",
        caption="County first, then districts RED first; each against its own target (hover over a status for"
                " the arithmetic). Significance: " + explain.SIGNIFICANCE_KEY))
    if any(r["value"] is not None for r in areas):
        left, _ = st.columns([3, 1])
        whiskers = ", whiskers the confidence intervals" if any(r["ci_lower"] is not None for r in areas) else ""
        left.plotly_chart(charts.compare(areas, title=f"{ind.id} by area, {ctx.quarter}: bars are"
                                         f" values, black ticks the targets{whiskers}"), key="compare")

if ctx.qi is not None and area is not None:
    notes.section(notes.Notes(ctx.snap.db, area, ctx.qi, ind.id), ind.id, key="indicator")

st.header("Definition")
if ind.description:
    st.html(f'<p style="white-space:pre-wrap" data-testid="description">{ui.esc(ind.description)}</p>')
years = sorted(set(ind.targets) | {y for t in ind.area_targets.values() for y in t})
if years:
    body = [[f"{cat.county} (county)", *[ui.number(ind.targets.get(y)) for y in years]]]
    body += [[a, *[ui.number(t.get(y)) for y in years]] for a, t in ind.area_targets.items()]
    st.html(ui.table(["Targets by financial year", *[quarters.year_label(y) for y in years]], body,
                     numeric=range(1, len(years) + 1), test_id="targets",
                     caption=f"Targets in {ui.unit_words(ind.unit)}; a district without its own uses the"
                             " county's."))
else:
    st.warning(f"{ui.md_text(ind.id)} has no targets in the catalogue, so it has no status (NA).")
st.markdown(
    f"- **Unit:** {ui.md_text(ui.unit_words(ind.unit))}\n- **Polarity:** {explain.polarity(ind.better)}\n"
    f"- **Figure:** {ui.md_text(explain.measure_words(ind))}\n"
    f"- **Confidence interval:** {ui.md_text(explain.method_words(ind))}; see Definitions, Methods\n"
    f"- **Amber band:** worse than target by no more than {ui.md_text(ui.band_words(tol, ind.unit))};"
    " beyond it is RED\n"
    f"- **Measured for:** {', '.join(ind.levels)}"
    + ("\n- **GREY** when the confidence interval contains the target" if ind.grey_when_not_significant
       else ""))
