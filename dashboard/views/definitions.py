"""Definitions: every indicator in the catalogue and the status rule in words."""

from __future__ import annotations

import streamlit as st

from dashboard import state, ui
from dashboard.ui import Html, chip, esc
from pipelines.catalogue import quarters
from pipelines.present import explain, spc_words
from pipelines.rules import intervals
from pipelines.stats import spc

ctx = state.context()
cat = ctx.catalogue
st.title("Definitions")
st.header("The status rule")
st.html(
    "<p>Each figure is compared with the target in force for its area and financial year (the"
    " district's own target where one is set, otherwise the indicator's). The <b>shortfall</b> is how"
    " much worse than target the figure is: value − target when lower is better, target − value when"
    " higher is better.</p><ul>"
    f"<li>{chip('GREEN')} the shortfall is zero or less: on or better than target.</li>"
    f"<li>{chip('AMBER')} worse than target, by no more than the amber band"
    f" ({esc(cat.amber_tolerance.describe())} unless the indicator sets its own).</li>"
    f"<li>{chip('RED')} worse than target by more than the band.</li>"
    f"<li>{chip('GREY')} for indicators that ask for it: the confidence interval contains the target,"
    " so the difference is not statistically significant.</li>"
    f"<li>{chip('NA')} no status, and the page says why: no figure; no target for that year; not rated"
    " (an indicator where neither higher nor lower is better is monitored, never coloured); the county"
    " cannot be added up because a district lacks its counts; a window lacks one of its quarters; or an"
    " area's population for the year has not been loaded.</li></ul>"
    "<p>Under the board's rules, a district with an AMBER or RED indicator gives a verbal update to the"
    " tasking group. Direction of travel compares the figure with the previous quarter and with the"
    " same quarter a year earlier, taking polarity into account (higher or lower where neither is"
    " better).</p>")

# ---- Methods: confidence intervals, significance, adding up, windows ---------------------------
z95, z998 = intervals.Z[95.0], intervals.Z[99.8]
sym = explain.SIGNIFICANCE_SYMBOLS
st.header("Methods")
st.html(
    '<div data-testid="methods">'
    "<p>A figure made from counts (a rate or a proportion) could have come out a little differently by"
    " chance, especially in a small district. Each such figure carries a <b>confidence interval</b>: the"
    " range its true value is likely to lie in. The methods are those of England's public-health"
    " statistics: OHID's Fingertips and the PHEindicatormethods R package.</p>"
    + ui.table(["Method", "Used for", "Source"], [
        [Html(f"<b>{esc(ui.sentence(explain.METHOD_NAMES['wilson']))}</b>"), "proportions: x of n",
         "Wilson (1927); PHEindicatormethods phe_proportion"],
        [Html(f"<b>{esc(ui.sentence(explain.METHOD_NAMES['exact']))}</b> (from the chi-square distribution)"),
         f"rates with fewer than {intervals.BYAR_FROM} events; with no events the lower limit is 0",
         "PHEindicatormethods phe_rate; Fingertips"],
        [Html(f"<b>{esc(ui.sentence(explain.METHOD_NAMES['byar']))}</b>"),
         f"rates with {intervals.BYAR_FROM} events or more",
         "Breslow and Day (1987); PHEindicatormethods phe_rate"],
        [Html(f"<b>{esc(ui.sentence(explain.METHOD_NAMES['supplied']))}</b>"),
         "figures given with their own lower and upper limits in the file", "the file"],
    ], wide=(1,), test_id="methods-table")
    + "<ul>"
    f"<li><b>Confidence level:</b> 95% unless an indicator asks for 99.8%; z = {z95!r} (95%) or"
    f" {z998!r} (99.8%), the exact normal quantiles rather than 1.96 or 3.09.</li>"
    "<li><b>Significance</b> (Fingertips' default comparison with the target):"
    f" <b>{esc(sym['similar'])} similar</b> when the target lies within the interval, ends included;"
    f" otherwise <b>{esc(sym['better'])} significantly better</b> or <b>{esc(sym['worse'])} significantly"
    f" worse</b>, by the indicator's polarity ({esc(sym['higher'])} higher or {esc(sym['lower'])} lower where"
    " neither is better). A figure with no interval is not compared. The status still follows the rule"
    " above; GREY is given only by indicators that ask for it.</li>"
    "<li><b>The county from its districts:</b> where the county has no figure of its own, its districts'"
    " numerators and denominators are added up and the county's figure is worked out from the sums;"
    " only when every district has both, otherwise NA naming the districts missing.</li>"
    "<li><b>Windows:</b> an indicator with a window of N quarters sums the numerators and denominators of"
    " the N quarters to the one shown (figures given as plain values are averaged); a quarter missing"
    " gives NA. A population counts a quarter of the year's population for each quarter (person-years),"
    " so a window of 4 quarters divides by one year's population.</li></ul>"
    "<p class=\"rb-byline\">Sources: OHID Fingertips, Public Health Technical Guide (confidence intervals);"
    " PHEindicatormethods R package, functions phe_proportion and phe_rate.</p></div>")

# ---- Statistical process control ----------------------------------------------------------------
st.header("Statistical process control (SPC)")
st.html(f'<div data-testid="spc-method">{spc_words.method_html()}</div>')
variation_key, assurance_key = st.columns(2)
variation_key.html(
    ui.table(["Symbol", "Variation (the last point)"],
             [[Html(f"<b>{esc(spc_words.VARIATION_SYMBOLS[c])}</b>"), spc_words.VARIATION_WORDS[c]]
              for c in spc.VARIATIONS], nowrap=(0,), wide=(1,), test_id="spc-variation"))
assurance_key.html(
    ui.table(["Symbol", "Assurance (the limits against the target)"],
             [[Html(f"<b>{esc(spc_words.ASSURANCE_SYMBOLS[c])}</b>"), spc_words.ASSURANCE_WORDS[c]]
              for c in spc.ASSURANCES], nowrap=(0,), wide=(1,), test_id="spc-assurance"))
st.html('<p class="rb-byline">Sources: NHS England, Making Data Count;'
        " NHSRplotthedots 0.2, the NHS-R community's R package.</p>")

# ---- Comparisons with other areas ------------------------------------------------------------------
st.header("Comparisons and funnel plots")
st.html(
    '<div data-testid="compare-method">'
    f"<p>Each area is compared with the area it is part of and with the benchmark ({esc(cat.benchmark)}) the"
    " way it is compared with its target: <b>similar</b> when their figure lies within the area's confidence"
    " interval (ends included), otherwise significantly <b>better</b> or <b>worse</b> by the indicator's"
    " polarity (higher or lower where neither is better). A parent with no figure of its own is added up from"
    " its children's numerators and denominators, at any depth.</p>"
    "<p>The Compare page's <b>funnel plot</b> draws every area's figure against its denominator, with the 95%"
    " and 99.8% control limits around the benchmark: for proportions, the Wilson score interval turned round;"
    " for rates, the exact Poisson interval turned round (chi-square quantiles). An area outside the limits"
    " differs from the benchmark by more than chance would explain. The ranked table gives each area's"
    " comparison at its indicator's confidence level and at the other.</p></div>")
st.html('<p class="rb-byline">Sources: OHID Fingertips, Public Health Technical Guide (funnel plots);'
        " PHEindicatormethods R package, calculate_funnel_limits; DHSC's PHStatsMethods, whose published"
        " funnel values the tests check against.</p>")

st.header("Rules that change over time")
st.html('<div data-testid="rules-method"><p>An amber band may have dated versions in the catalogue: each quarter'
        " is judged by the version in force in it (the first version also covers the quarters before it), so a"
        " changed band never rewrites past statuses. Every status says which band applied. The sidebar's"
        " <b>Today's rules for every quarter</b>, shown when a band changes over time, judges every quarter by"
        " today's bands instead, and the pages say which statuses differ; <code>python -m pipelines status"
        " --rules current</code> does the same. An indicator may have a first and a last quarter (from, until):"
        " outside them it is not expected, and its figures loaded then still show. Every load and every pack"
        " keeps the catalogue it used, so <code>python -m pipelines report --as-published N</code> makes pack N"
        " again with the figures and the rules it had.</p></div>")

st.header("Year-end outlook")
st.html(f'<div data-testid="outlook-method"><p>{esc(explain.OUTLOOK_METHOD)}</p></div>')

st.header(f"Indicators ({len(cat.indicators)})")
body = []
for ind in cat.indicators:
    years = sorted(ind.targets)
    targets = "<br>".join(f'<span style="white-space:nowrap">{quarters.year_label(y)}:'
                          f" {esc(ui.number(ind.targets[y]))}</span>" for y in years)
    own = f"<br>({len(ind.area_targets)} areas have their own)" if ind.area_targets else ""
    body.append([
        Html(f"<b>{esc(ind.id)}</b>"), ind.name, ui.unit_words(ind.unit), explain.polarity(ind.better),
        explain.measure_words(ind), ", ".join(ind.levels), Html(ui.bands_words(cat, ind)),
        "yes" if ind.grey_when_not_significant else "no", Html((targets or "none") + own),
        explain.YEAR_END_WORDS[ind.year_end], ui.live_words(ind), ind.description,
    ])
st.html(ui.table(["Id", "Name", "Unit", "Polarity", "Figure", "Measured for", "Amber band",
                  "GREY if not significant", "Targets by financial year", "Year-end figure", "Expected",
                  "Description"], body, wide=(),
                 nowrap=(0,), cls="rb-defs", test_id="definitions"))
