"""Compare: every area at a level for one indicator and quarter, on a funnel plot around the
benchmark, ranked with their significance, and a peer group's view."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, state, ui
from dashboard.ui import Html, chip, esc
from pipelines.present import explain
from pipelines.present.charts import VERSUS_WORDS
from pipelines.stats import funnel
from pipelines.stats import profile as profile_module

ctx = state.context()
cat = ctx.catalogue
names = {i.id: i for i in cat.indicators}
ind_id, notice = state.synced_select("Indicator", list(names), "indicator", what="indicator",
                                     format_func=lambda i: f"{i}: {names[i].name}", width=560)
if notice:
    st.info(notice)
ind = names[ind_id]
levels = [lvl for lvl in dict.fromkeys(a.level for a in cat.tree) if lvl in ind.levels]
level, _ = state.synced_select("Level", levels, "level", default=levels[-1], what="level", width=280)

st.title(ui.md_text(f"Compare: {ind.id} {ind.name}"))
if ctx.qi is None:
    st.info("No figures are loaded yet, so there is nothing to compare.")
    st.stop()
areas = [a.name for a in cat.tree if a.level == level]
rows = [r for r in data.rows(ctx.snap, [ctx.qi], areas=areas, indicators=[ind.id]) if r["value"] is not None]
st.markdown(f"**{ctx.quarter}** · every {ui.md_text(level)} · {ui.md_text(ui.unit_words(ind.unit))} ·"
            f" {explain.polarity(ind.better)} · compared with {ui.md_text(cat.benchmark)}, the benchmark")
if not rows:
    st.info(f"No {ui.md_text(level)} has a figure for {ui.md_text(ind.id)} in {ctx.quarter}.")
    st.stop()
benchmark = rows[0]["benchmark_value"]

# ---- the funnel: needs counts (a denominator for every point) and the benchmark's figure ---------
st.header("Funnel plot")
counted = [r for r in rows if r["denominator"] and r["numerator"] is not None]
if not ind.counted:
    st.info(f"{ui.md_text(ind.id)} is a figure as given, with no numerator and denominator: a funnel plot needs"
            " counts. The areas are ranked below.")
elif benchmark is None or (ind.measure == "rate" and benchmark <= 0):
    st.info(f"{ui.md_text(cat.benchmark)} has {'no figure' if benchmark is None else 'a rate of 0'} for"
            f" {ui.md_text(ind.id)} in {ctx.quarter}, so there is no funnel to draw around it.")
elif counted:
    largest = max(r["denominator"] for r in counted)
    limits = funnel.funnel(ind.measure, benchmark, ind.multiplier, largest * 1.1)
    x_title = "Population" if ind.denominator == "population" else "Denominator"
    st.plotly_chart(charts.funnel(counted, limits, title=f"{ind.id}, {ctx.quarter}: every {level} against"
                                  f" {cat.benchmark}", benchmark=benchmark, benchmark_name=cat.benchmark,
                                  unit=ind.unit, x_title=x_title), key="funnel")
    outside = {code: [r["area"] for r in counted if r.get("vs_benchmark") == code]
               for code in ("better", "worse", "higher", "lower")}
    said = "; ".join(f"{VERSUS_WORDS[c].lower()} than {cat.benchmark}: {', '.join(a)}" for c, a in outside.items() if a)
    st.html(f'<p class="rb-byline" data-testid="funnel-summary">{esc(ind.id)} for {len(counted)} areas at'
            f" {esc(level)} level against {esc(cat.benchmark)}'s {esc(explain.number(benchmark))}."
            f" {esc(ui.sentence(said) + '.' if said else 'None differs significantly from the benchmark.')} The"
            " lines are the 95% (dashed) and 99.8% (dotted) control limits: an area outside them differs from the"
            " benchmark by more than chance would explain (Fingertips' method; see Definitions). Each point is"
            f" shaped and coloured by its comparison at {ind.confidence:g}% with its own confidence interval"
            " (Byar's method from 10 events), so a point very close to a line may read differently from it.</p>")

# ---- ranked, best first by polarity ---------------------------------------------------------------
st.header("Ranked")
ranked = sorted(rows, key=lambda r: r["value"], reverse=ind.better == "higher")


def significance_cell(r: data.Row, confidence: float) -> str:
    """The area against the benchmark: the status query's comparison at the indicator's own level of
    confidence, worked out here at the other (from its counts)."""
    code = r.get("vs_benchmark")
    if confidence != ind.confidence:
        has_counts = ind.counted and r["denominator"] and r["numerator"] is not None
        code = funnel.compared(ind.measure, r["numerator"], r["denominator"], ind.multiplier, benchmark,
                               ind.better, confidence) if has_counts and benchmark is not None else None
    return f"{explain.SIGNIFICANCE_SYMBOLS[code]} {VERSUS_WORDS[code].lower()}" if code else "–"


st.html(ui.table(
    ["Rank", "Area", "Value (confidence interval)", "Status", f"Against {cat.benchmark} ({ind.confidence:g}%)",
     "At 99.8%" if ind.confidence != 99.8 else "At 95%"],
    [[str(i + 1), r["area"], ui.figure_cell(r, labelled=False), Html(chip(r["status"], ui.explain_title(r))),
      significance_cell(r, ind.confidence), significance_cell(r, 99.8 if ind.confidence != 99.8 else 95.0)]
     for i, r in enumerate(ranked)],
    numeric=(0, 2), nowrap=(4, 5), wide=(1,), test_id="ranked",
    caption=f"Every {level} with a figure, {'highest' if ind.better == 'higher' else 'lowest'} first"
            f" ({explain.polarity(ind.better)}); each against {cat.benchmark}'s figure allowing for chance."))

# ---- a peer group ----------------------------------------------------------------------------------
if cat.peer_groups:
    st.header("Peer group")
    group, _ = state.synced_select("Peer group", list(cat.peer_groups), "peers", what="peer group", width=560)
    members = list(cat.peer_groups[group])
    peer_rows = {r["area"]: r for r in data.rows(ctx.snap, [ctx.qi], areas=members, indicators=[ind.id])}
    st.html(ui.table(
        ["Area", "Value (confidence interval)", "Status", f"Against {cat.benchmark}"],
        [[a, ui.figure_cell(peer_rows[a], labelled=False) if a in peer_rows else "–",
          Html(chip(peer_rows[a]["status"], ui.explain_title(peer_rows[a]))) if a in peer_rows else "–",
          significance_cell(peer_rows[a], ind.confidence) if a in peer_rows else "not measured at its level"]
         for a in members],
        numeric=(1,), nowrap=(3,), test_id="peers",
        caption=f"{group}: each against {cat.benchmark}, allowing for chance."))

# ---- an area's profile: every indicator, where it sits among the areas at its level --------------
st.header("Area profile")
who, _ = state.synced_select("Area profile of", list(cat.areas), "profile", default=ctx.area, what="area",
                             width=360)
peers_at_level = [a.name for a in cat.tree if a.level == cat.level(who)]
profile_rows = profile_module.rows(data.rows(ctx.snap, [ctx.qi], areas=peers_at_level), who)
if not profile_rows:
    st.info(f"{ui.md_text(who)} has no figure in {ctx.quarter} for an indicator that other areas at its level"
            " have too.")
else:
    st.plotly_chart(charts.spine(profile_rows, title=f"{who}, {ctx.quarter}: each indicator against"
                                 f" {cat.benchmark} and every {cat.level(who)}", area=who,
                                 benchmark_name=cat.benchmark), key="spine")
    st.html(ui.table(
        ["Indicator", who, cat.benchmark, f"Against {cat.benchmark}", "Lowest", "25th percentile",
         "75th percentile", "Highest", "Areas"],
        [[Html(f"<b>{esc(p.indicator)}</b> {esc(p.name)}"), ui.number(p.value, p.unit), ui.number(p.benchmark, p.unit),
          f"{explain.SIGNIFICANCE_SYMBOLS[p.vs_benchmark]} {VERSUS_WORDS[p.vs_benchmark].lower()}"
          if p.vs_benchmark else "–", ui.number(p.lowest, p.unit), ui.number(p.q1, p.unit), ui.number(p.q3, p.unit),
          ui.number(p.highest, p.unit), str(p.areas)] for p in profile_rows],
        numeric=(1, 2, 4, 5, 6, 7, 8), nowrap=(3,), test_id="profile",
        caption=f"{who} against {cat.benchmark} and among every {cat.level(who)} with a figure, {ctx.quarter}. On"
                " the chart the benchmark is at the centre, the farthest area from it at the edge, better to the"
                " right (higher to the right where neither is better); the light bar spans every area, the dark"
                " one the middle half."))
