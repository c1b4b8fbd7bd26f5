"""Entry point: ``streamlit run dashboard/app.py``.

Owns what every page shares: the catalogue, the data version, and the quarter and area,
which live in the URL so that a link opens exactly that view.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import streamlit as st  # noqa: E402
from streamlit import runtime  # noqa: E402

from dashboard import auth, data, state, ui  # noqa: E402
from pipelines.catalogue import config, quarters  # noqa: E402

st.set_page_config(page_title="Safer Communities performance", page_icon="■", layout="wide")
# However the server was started (python -m dashboard pins this too), an unexpected error shows
# visitors a short notice, never a traceback with the server's paths; the log keeps the detail.
if runtime.exists():  # a real server; AppTest keeps the details so a failing test says why
    st.set_option("client.showErrorDetails", "none")
st.html(ui.CSS)

PAGES = [
    st.Page(HERE / "views" / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page(HERE / "views" / "indicator.py", title="Indicator", icon=":material/show_chart:",
            url_path="indicator"),
    st.Page(HERE / "views" / "district.py", title="District", icon=":material/location_on:",
            url_path="district"),
    st.Page(HERE / "views" / "compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page(HERE / "views" / "definitions.py", title="Definitions", icon=":material/menu_book:",
            url_path="definitions"),
    st.Page(HERE / "views" / "upload.py", title="Upload", icon=":material/upload_file:", url_path="upload"),
]


def _prepare() -> state.Context | None:
    try:
        catalogue = data.catalogue()
    except config.ConfigError as exc:
        st.error(f"The indicator catalogue {ui.code(Path(exc.path).name)} cannot be used:")
        st.html("<ul>" + "".join(f"<li>{ui.esc(ui.hide_paths(p))}</li>" for p in exc.problems) + "</ul>")
        return None
    notices = []
    created = data.ensure_database()
    if created:
        notices.append(created)
    snap = data.snapshot()
    side = st.sidebar
    qi = None
    if snap.quarters:
        labels = [quarters.label(q) for q in reversed(snap.quarters)]  # newest first
        label, notice = state.synced_select(
            "Quarter", labels, "quarter", normalise=state.normalise_quarter, container=side,
            what="quarter with figures", help="Financial-year quarter: 2010/11 Q1 is April to June 2010.")
        qi = quarters.parse(label)
        if notice:
            notices.append(notice)
    areas = list(catalogue.areas)
    home = catalogue.county  # the board's own, marked in the list even when the pages move elsewhere

    def area_label(a: str) -> str:
        return f"{a} (county)" if a == home else a

    area, notice = state.synced_select(
        "Area", areas, "area", container=side, what="area", format_func=area_label,
        help="The county, or one of its districts (community safety partnerships); with a wider geography in"
             " the catalogue, any area of it.")
    if notice:
        notices.append(notice)
    if area not in (catalogue.county, *catalogue.districts):
        # an area outside the board's own (another county, the region): the pages follow it there, that
        # area (or, for one without areas under it, its parent) as their home
        catalogue = catalogue.rehomed(area if catalogue.children(area) else catalogue.parent(area) or area)
        notices.append(f"Showing {ui.md_text(catalogue.county)} and the areas under it, as its own board would"
                       " see them.")
    if catalogue.versioned:  # some band changes over time: each quarter can be judged by today's rules too
        current = side.toggle(
            "Today's rules for every quarter", value=st.query_params.get("rules") == "current", key="rules_toggle",
            help="Off: each quarter's status uses the amber band in force in that quarter. On: every quarter"
                 " uses today's bands; the pages say which statuses differ.")
        if current:
            st.query_params["rules"] = "current"
            snap, catalogue = dataclasses.replace(snap, rules="current"), catalogue.current_rules()
        else:
            st.query_params.pop("rules", None)
    side.caption(f"Data version {snap.load_id}. A new load shows on the next click or refresh.")
    return state.Context(catalogue, snap, qi, area, tuple(notices))


def _private(catalogue_requires: bool) -> bool:
    """Whether this deployment is private: the catalogue's require_sign_in, or $RAGBOARD_REQUIRE_SIGN_IN."""
    return catalogue_requires or os.environ.get("RAGBOARD_REQUIRE_SIGN_IN", "").lower() in ("1", "true", "yes")


nav = st.navigation(PAGES)
try:
    try:
        private = _private(data.catalogue().require_sign_in)
    except config.ConfigError:
        private = _private(False)  # _prepare says what is wrong with the catalogue
    if private and auth.current() is None:
        # nothing of the board's figures before a sign-in: not the sidebar's quarters, not a page
        st.title("Sign in to see the board's figures")
        st.markdown("This dashboard is private. Sign in with your account.")
        auth.panel()
        st.stop()
    if private:
        st.sidebar.caption(f"Signed in as {ui.md_text(auth.current())}.")
        if st.sidebar.button("Sign out", key="sidebar_sign_out"):
            auth.sign_out()
            st.rerun()
    ctx = _prepare()
    if ctx is not None:
        state.set_context(ctx)
        for notice in ctx.notices:
            st.info(notice)
        nav.run()
except data.Unavailable as exc:
    st.error(ui.error_text(exc))
