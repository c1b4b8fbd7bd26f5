"""Definitions: every indicator in the catalogue and the status rule in words."""

from __future__ import annotations

import streamlit as st

from dashboard import state, ui
from dashboard.ui import Html, chip, esc
from pipelines.catalogue import quarters

ctx = state.context()
cat = ctx.catalogue
st.title("Definitions")
st.subheader("The status rule")
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
    f"<li>{chip('NA')} no figure, or no target for that year.</li></ul>"
    "<p>Under the board's rules, a district with an AMBER or RED indicator gives a verbal update to the"
    " tasking group. Direction of travel compares the figure with the previous quarter and with the"
    " same quarter a year earlier, taking polarity into account.</p>")

st.subheader(f"Indicators ({len(cat.indicators)})")
body = []
for ind in cat.indicators:
    years = sorted(ind.targets)
    targets = "<br>".join(f'<span style="white-space:nowrap">{quarters.year_label(y)}:'
                          f" {esc(ui.number(ind.targets[y]))}</span>" for y in years)
    own = f"<br>({len(ind.area_targets)} areas have their own)" if ind.area_targets else ""
    body.append([
        Html(f"<b>{esc(ind.id)}</b>"), ind.name, ui.unit_words(ind.unit), f"{ind.better} is better",
        ", ".join(ind.levels), ui.band_words(cat.tolerance(ind), ind.unit),
        "yes" if ind.grey_when_not_significant else "no", Html((targets or "none") + own), ind.description,
    ])
st.html(ui.table(["Id", "Name", "Unit", "Polarity", "Measured for", "Amber band", "GREY if not significant",
                  "Targets by financial year", "Description"], body, wide=(1, 8), nowrap=(0,),
                 test_id="definitions"))
