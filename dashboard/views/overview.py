"""Overview: the quarter at a glance, as the board's printed "County Overview" was."""

from __future__ import annotations

from collections import Counter

import streamlit as st

from dashboard import data, state, ui
from dashboard.ui import Html, chip, esc
from pipelines.catalogue import quarters
from pipelines.present import explain, spc_words

ctx = state.context()
cat = ctx.catalogue
st.title(ui.md_text(f"{cat.name}: overview"))

if ctx.qi is None:
    st.info("No figures are loaded yet. An analyst loads a quarter with"
            " `python -m pipelines load FILE.csv`; the sample quarters load with `python -m pipelines init`.")
    st.stop()

# A grid a board can read: at national scale (hundreds of districts and indicators) it keeps the
# first indicators and the districts with the most RED and AMBER, and says so.
MAX_GRID_INDICATORS, MAX_GRID_DISTRICTS = 12, 40
all_district_ids = [i.id for i in cat.indicators if cat.at_districts(i)]
district_ids = all_district_ids[:MAX_GRID_INDICATORS]
gridded = bool(district_ids and cat.districts)
few = len(cat.districts) <= MAX_GRID_DISTRICTS  # every district in the grid: known before its statuses

# The page's questions, asked side by side: the county's last four quarters, the districts' quarter
# and the XmR readings (each series as of this quarter) of the county and the grid's districts, in
# one question: each costs more to plan than a county's series to read.
recent = data.window(ctx.qi, 4)
snap, qi = ctx.snap, ctx.qi
county_rows, district_rows, spc_read, outlooks = data.together(
    lambda: data.rows(snap, recent, areas=[cat.county]),
    lambda: data.rows(snap, [qi], areas=list(cat.districts), indicators=district_ids) if gridded else [],
    lambda: data.spc_readings(snap, qi, [cat.county, *cat.districts]) if few else None,
    lambda: data.outlooks(snap, qi, [cat.county]))
by_key = {(r["indicator"], r["qi"]): r for r in county_rows}
current = [r for r in county_rows if r["qi"] == ctx.qi]
grid_districts = list(cat.districts)
if not few:  # only the districts with the most RED and AMBER, their readings only
    worst = Counter({d: 0 for d in cat.districts})
    for r in district_rows:
        worst[r["area"]] += {"RED": 1000, "AMBER": 1}.get(r["status"], 0)
    shown = set(sorted(cat.districts, key=lambda d: -worst[d])[:MAX_GRID_DISTRICTS])
    grid_districts = [d for d in cat.districts if d in shown]
    spc_read = data.spc_readings(snap, qi, [cat.county, *grid_districts])
county_spc = {key: r for key, r in spc_read.items() if key[1] == cat.county}

st.header(f"{ctx.quarter}: county indicators at a glance")
if all(ui.no_data(r) for r in current):
    st.info(f"There are no county figures for {ctx.quarter}. Choose another quarter in the sidebar.")
else:
    counts = Counter(r["status"] for r in current)
    st.html(ui.count_cards(counts))
    st.caption(f"{len(current)} county indicators. ● GREEN on target · ▲ AMBER worse than target within"
               " the band · ■ RED beyond the band · ◆ GREY difference not significant · ○ NA no figure"
               " or no target.")

# Movements since last quarter: only where last quarter had a figure to compare with.
moves = []
for r in current:
    prev = by_key.get((r["indicator"], ctx.qi - 1))
    if prev and not ui.no_data(prev) and prev["status"] != r["status"]:
        moves.append(Html(f"<li><b>{esc(r['indicator'])}</b> moved {chip(prev['status'])} →"
                          f" {chip(r['status'])} <span class='sub'>{esc(r['name'])}</span></li>"))
st.header("Quarterly comparison")
if moves:
    st.html(f'<p>Since {esc(quarters.label(ctx.qi - 1))}:</p><ul class="rb-moves">{"".join(moves)}</ul>')
else:
    st.markdown(f"No county indicator changed status since {quarters.label(ctx.qi - 1)}.")
header = ["Indicator", *[quarters.label(q) for q in recent], "Since last quarter"]
grid = []
for r in current:
    moved = ui.movement(by_key.get((r["indicator"], ctx.qi - 1)), r)
    grid.append([ui.indicator_cell(r), *[ui.value_cell(by_key[(r["indicator"], q)]) if (r["indicator"], q) in by_key
                                        else ui.NOT_EXPECTED for q in recent], moved])
st.html(ui.table(header, grid, test_id="status-grid", nowrap=range(1, 6),
                 caption="Status by quarter, oldest first; each cell shows the status, the figure and, where"
                         " it has a confidence interval, whether it differs significantly from the target."))
if any(r.get("significance") for r in county_rows):
    st.caption(explain.SIGNIFICANCE_KEY)

st.header("Numerical breakdown")
body = [
    [ui.indicator_cell(r, note=True), ui.figure_cell(r, labelled=False), ui.number(r["target"], r["unit"]),
     ui.shortfall(r), ui.percent_off(r), ui.status_cell(r, county_spc.get((r["indicator"], r["area"]))),
     explain.direction(r["direction"]), explain.direction(r["direction_year"]),
     chip(r["reported_status"]) if r["reported_status"] else "–"]
    for r in current
]
st.html(ui.table(
    ["Indicator (and the note with the figure)", "Value (confidence interval)", "Target", "Shortfall",
     "% off target", "Status", "Since last quarter", "Since a year ago", "Reported status"],
    body, numeric=(1, 2, 3, 4), nowrap=(3, 4, 5, 6, 7), test_id="breakdown",
    caption=f"{ctx.quarter}; shortfall and % off are against the target (positive is worse). Under each"
            " value, its confidence interval: the range the true figure is likely to lie in; under each"
            " status, the SPC icons (variation and assurance)."))
if county_spc:
    st.caption(ui.md_text(spc_words.KEY))
st.header("Year-end outlook")
st.html(ui.table(
    ["Indicator", "Year-end figure", "Forecast", "90% interval", "Target", "Chance of meeting it",
     "Year-end outlook"],
    [[ui.indicator_cell(r), explain.YEAR_END_WORDS[o["year_end"]], *ui.outlook_row(o, r["unit"])]
     for r in current if (o := outlooks.get((r["indicator"], r["area"]))) is not None],
    numeric=(2, 3, 4, 5), nowrap=(2, 3, 4, 5), wide=(0,), test_id="outlook",
    caption=f"As of {ctx.quarter}, from the figures up to then only: each indicator's year-end figure forecast,"
            " the range it will lie in 9 times out of 10, and the chance it meets the year's target (on track at"
            " 80% or more, off track under 20%). Definitions, Year-end outlook, says how."))
if data.catalogue().versioned:  # the catalogue as written: the pages' own may be today's rules only
    st.caption(ui.md_text(ui.rules_note(data.differing(ctx.snap, county_rows), ctx.snap.rules)))

# the county against the areas it is compared with (the region, England), where the catalogue's tree
# has them: a county-and-districts catalogue compares the county with nothing
compared = [r for r in current if explain.compared_with(r)]
if compared:
    st.header("How we compare")
    st.html(ui.table(
        ["Indicator", f"{cat.county}", "Compared with, allowing for chance"],
        [[ui.indicator_cell(r), ui.figure_cell(r, labelled=False),
          Html("<br>".join(esc(a) for a in explain.compared_with(r)))] for r in compared],
        numeric=(1,), test_id="compared",
        caption=f"{ctx.quarter}: {cat.county} against the area it is part of and the benchmark: similar when"
                " their figure lies within its confidence interval, otherwise significantly better or worse."))

st.header("SPC summary")
placed = [r for r in current if spc_words.kind(county_spc.get((r["indicator"], r["area"]), {}).get("variation"))]
if placed:
    st.html(ui.spc_summary(placed, county_spc))
    ids = {r["indicator"] for r in placed}
    unplaced = [r["indicator"] for r in current if r["indicator"] not in ids]
    if unplaced:
        st.caption(f"Not placed, with fewer than 2 figures up to {ctx.quarter} for an XmR chart:"
                   f" {', '.join(unplaced)}.")
else:
    st.markdown(f"No county indicator has the 2 or more figures up to {ctx.quarter} an XmR chart needs.")

if gridded:
    st.header("Districts")
    cells = {(r["area"], r["indicator"]): r for r in district_rows}
    names = {i.id: i for i in cat.indicators}
    head = ["District", *[f"{i} {names[i].name} ({ui.unit_words(names[i].unit)})" for i in district_ids]]
    county_cells = {r["indicator"]: r for r in current}
    # One cell under every heading: a district-only indicator has no county figure to show.
    body = [[Html(f"<b>{esc(cat.county)}</b> (county)"),
             *[ui.value_cell(county_cells[i], county_spc.get((i, cat.county))) if i in county_cells
               else ui.NOT_EXPECTED if cat.at_home(names[i])
               else Html('<span class="sub">not measured for the county</span>') for i in district_ids]]]
    for d in grid_districts:
        body.append([d, *[ui.value_cell(cells[(d, i)], spc_read.get((i, d))) if (d, i) in cells
                          else ui.NOT_EXPECTED for i in district_ids]])
    st.html(ui.table(head, body, test_id="district-grid",
                     caption=f"District-level indicators, {ctx.quarter}, each against the district's own"
                             " target; beside each status, its SPC icons (key above) and, under it, whether it"
                             " differs significantly from the target."))
    if any(r.get("significance") for r in district_rows):
        st.caption(explain.SIGNIFICANCE_KEY)

    if len(district_ids) < len(all_district_ids) or len(grid_districts) < len(cat.districts):
        st.caption(f"Showing {len(district_ids)} of {len(all_district_ids)} district-level indicators and the"
                   f" {len(grid_districts)} of {len(cat.districts)} districts with the most RED and AMBER;"
                   " the Indicator and District pages show the rest.")
    due: Counter[str] = Counter()
    reds: Counter[str] = Counter()
    for r in district_rows:
        if r["status"] in ui.NEEDS_UPDATE:
            due[r["area"]] += 1
            reds[r["area"]] += r["status"] == "RED"
    if due:
        st.markdown("**Districts with an update due to the tasking group** (an AMBER or RED status):")
        ranked = sorted(due, key=lambda a: (-reds[a], -due[a], a))
        state.page_links("views/district.py", [
            (f"{area}: {reds[area]} RED, {due[area] - reds[area]} AMBER", ctx.params(area=area))
            for area in ranked[:24]], icon=":material/flag:")
        if len(ranked) > 24:
            st.caption(f"… and {len(ranked) - 24} more; choose the area in the sidebar.")
    else:
        st.markdown("No district has an AMBER or RED status this quarter.")

st.header("Reported status differs from the computed one")
mismatches = [r for r in current + district_rows if r["mismatch"]]
if mismatches:
    st.html(ui.table(
        ["Indicator", "Area", "Reported", "Computed", "Why the computed status"],
        [[ui.indicator_cell(r), r["area"], chip(r["reported_status"]), chip(r["status"]),
          explain.why(r)] for r in mismatches],
        wide=(0, 4), test_id="mismatches",
        caption="The status as reported in the file, against the status the board's rule gives."))
else:
    st.markdown(f"Every reported status for {ctx.quarter} agrees with the computed one.")

st.header("Commentary missing")
missing = data.commentary_missing(ctx.snap, current)
if missing:
    st.markdown(f"{len(missing)} AMBER or RED county indicator{'s have' if len(missing) > 1 else ' has'} no"
                f" commentary for {ctx.quarter} yet; the board pack will show the gap.")
    state.page_links("views/indicator.py", [
        (f"{r['indicator']} ({r['status']}): commentary missing", ctx.params(indicator=r["indicator"]))
        for r in missing], icon=":material/edit_note:", columns=3)
else:
    st.markdown(f"Every AMBER and RED county indicator has commentary for {ctx.quarter}.")

st.header("Board pack and figures")
# The files are made when a button is pressed (a deferred download), not on every rerun:
# at national scale the pack takes seconds and most visitors never download it.
snap, qi, stem = ctx.snap, ctx.qi, f"{ctx.quarter.replace('/', '-').replace(' ', '-')}"
left, right = st.columns([2, 3])
left.download_button(f"Download {ctx.quarter}'s figures (CSV)", lambda: data.quarter_csv(snap, qi),
                     file_name=f"ragboard-{stem}.csv", mime="text/csv", key="quarter_csv", on_click="ignore",
                     help="Every indicator and area with its computed status and arithmetic.")
if all(ui.no_data(r) for r in current):
    right.info(f"There are no county figures for {ctx.quarter}, so there is no board pack to make.")
else:
    exceptions_only = right.toggle("Exceptions only (AMBER, RED and GREY)", key="pack_exceptions")
    right.download_button("Download the pack (HTML)", lambda: data.board_pack(snap, qi, exceptions_only),
                          file_name=f"board-pack-{stem}.html", mime="text/html", key="pack_html",
                          on_click="ignore", help="One self-contained file with its charts.")
    if data.can_print_pdf():
        right.download_button("Download the pack (PDF)", lambda: data.board_pack_pdf(snap, qi, exceptions_only),
                              file_name=f"board-pack-{stem}.pdf", mime="application/pdf", key="pack_pdf",
                              on_click="ignore", help="A4 pages, numbered; takes a few seconds to print.")
    else:
        right.caption("The PDF needs Chromium on the server (apt-get install chromium).")
