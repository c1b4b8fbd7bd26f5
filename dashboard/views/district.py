"""District: a district lead's own indicators, RED first, then AMBER, each beside the county."""

from __future__ import annotations

from collections import Counter

import streamlit as st

from dashboard import charts, data, notes, state, ui
from dashboard.ui import Html, chip, esc
from pipelines.catalogue import quarters
from pipelines.present import explain, spc_words

SPARK_QUARTERS = 8

ctx = state.context()
cat = ctx.catalogue

if ctx.area == cat.county:
    st.title("District")
    st.markdown(f"Choose a district to see its indicators, RED first. {ui.md_text(cat.county)} as a whole is on"
                " the Overview page.")
    state.page_links("views/district.py", [(d, ctx.params(area=d)) for d in cat.districts],
                     icon=":material/location_on:", columns=4)
    st.stop()

st.title(ui.md_text(f"{ctx.area}: district view"))
if ctx.qi is None:
    st.info("No figures are loaded yet, so there is nothing to show for this district.")
    st.stop()

# One query for the district and the county over the sparkline window (each query pays for a scan
# and a plan), asked beside the district's XmR readings
snap, qi = ctx.snap, ctx.qi
window, readings = data.together(
    lambda: data.rows(snap, data.window(qi, SPARK_QUARTERS), areas=[ctx.area, cat.county]),
    lambda: data.spc_readings(snap, qi, [ctx.area]))
rows = [r for r in window if r["area"] == ctx.area and r["qi"] == ctx.qi]
if not rows:
    st.info(f"No indicator in the catalogue is measured for {ui.md_text(ctx.area)}.")
    st.stop()
st.header(f"{ctx.quarter}")
if all(ui.no_data(r) for r in rows):
    st.info(f"There are no figures for {ui.md_text(ctx.area)} in {ctx.quarter}. Choose another quarter in the"
            " sidebar.")
    st.stop()

ids = [r["indicator"] for r in rows]
county = {r["indicator"]: r for r in window if r["area"] == cat.county and r["qi"] == ctx.qi}
history: dict[str, list[data.Row]] = {}
for r in window:
    if r["area"] == ctx.area:
        history.setdefault(r["indicator"], []).append(r)

rows.sort(key=lambda r: (ui.SEVERITY[r["status"]], ids.index(r["indicator"])))
counts = Counter(r["status"] for r in rows)
due = counts["RED"] + counts["AMBER"]
if due:
    st.html(f'<p class="rb-due" style="font-size:1.15rem">⚑ {due} indicator{"s" if due > 1 else ""}'
            f" AMBER or RED: an update is due to the tasking group"
            f" ({counts['RED']} RED, {counts['AMBER']} AMBER).</p>")
else:
    st.success(f"No AMBER or RED indicators for {ui.md_text(ctx.area)} in {ctx.quarter}: no update is due.")
st.html(ui.count_cards(counts))


def county_cell(r: data.Row) -> Html | str:
    """The county's figure and status, then this district against it (and against the benchmark
    where that is another area), allowing for chance."""
    c = county.get(r["indicator"])
    against = explain.compared_with(r)
    if c is None and not against:
        return "–"
    own = f"{esc(ui.number(c['value'], c['unit']))} {chip(c['status'], ui.explain_title(c))}" if c else ""
    said = f'<br><span class="sub" data-testid="compared">{esc(ctx.area)}: {esc("; ".join(against))}</span>'
    return Html(own + (said if against else ""))


def status_cell(r: data.Row) -> Html:
    due = ui.update_due(r["status"])
    return Html(ui.status_cell(r, readings.get((r["indicator"], r["area"]))) + (f"<br>{due}" if due else ""))


def trend_cell(r: data.Row) -> Html:
    return Html(f"{charts.sparkline(history.get(r['indicator'], []))}<br>{esc(explain.direction(r['direction']))}")


body = [
    [ui.indicator_cell(r, note=True), status_cell(r), ui.figure_cell(r, labelled=False),
     ui.number(r["target"], r["unit"]), ui.percent_off(r), county_cell(r), trend_cell(r),
     explain.why(r)]
    for r in rows
]
first = quarters.label(ctx.qi - SPARK_QUARTERS + 1)
st.html(ui.table(
    ["Indicator", "Status", "Value (confidence interval)", "Target", "% off target", f"{cat.county} (county)",
     f"Trend {first} to {ctx.quarter}", "Why this status"],
    body, numeric=(2, 3, 4), wide=(), nowrap=(4,), cls="rb-why-col", test_id="district-table",
    caption=f"{ctx.area}, {ctx.quarter}: RED first, then AMBER; targets are {ctx.area}'s own where set."))
if any(r["significance"] for r in rows):
    st.caption(explain.SIGNIFICANCE_KEY)
if readings:
    st.caption(ui.md_text(spc_words.KEY))

flagged = [r for r in rows if r["status"] in ui.NEEDS_UPDATE]
if flagged:
    st.markdown("**Open the trend of:**")
    state.page_links("views/indicator.py", [
        (f"{r['indicator']} ({r['status']})", ctx.params(indicator=r["indicator"])) for r in flagged],
        icon=":material/show_chart:", columns=4)
st.caption(f"Previous quarter: {quarters.label(ctx.qi - 1)}. The county value is {ui.md_text(cat.county)}'s own"
           " figure against the county target; under it, this district's figure against the county's (and the"
           " benchmark's), allowing for chance: similar when theirs lies within this district's confidence"
           " interval.")

if flagged:
    st.header("Commentary and actions")
    district_notes = notes.Notes(ctx.snap.db, ctx.area, ctx.qi)
    for r in flagged:
        with st.expander(ui.md_text(f"{r['indicator']} {r['name']} ({r['status']})"), expanded=len(flagged) <= 2):
            notes.section(district_notes, r["indicator"], key=f"d_{r['indicator']}")
