"""Analyst sign-in for the dashboard: each browser session signs in on its own.

Reading stays open; committing, undoing, writing commentary and managing analysts call
``require()``. The throttle that slows repeated failures is shared by every session of
this server (a guesser cannot escape it by opening a new tab).
"""

from __future__ import annotations

import logging

import streamlit as st

from dashboard import ui
from pipelines.storage import analysts

_KEY = "_ragboard_analyst"
LOG = logging.getLogger("ragboard.dashboard")


@st.cache_resource(show_spinner=False)
def _throttle() -> analysts.Throttle:
    return analysts.Throttle()


def _client() -> str | None:
    """The visitor's address, so repeated failures from one place slow that place only."""
    return st.context.ip_address  # None where Streamlit cannot tell (AppTest, a local socket)


def current() -> str | None:
    """The signed-in analyst, while their account still exists (remove-analyst signs them out)."""
    who = st.session_state.get(_KEY)
    if who is not None:
        try:
            still_there = who in analysts.names()
        except analysts.AccountError:
            still_there = False
        if not still_there:
            del st.session_state[_KEY]
            return None
    return who


def panel() -> str | None:
    """The sign-in form, or who is signed in with a sign-out button; returns the analyst."""
    who = current()
    if who:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.success(f"Signed in as **{ui.md_text(who)}**.")
        if right.button("Sign out", key="sign_out"):
            del st.session_state[_KEY]
            st.rerun()
        return who
    try:
        known = analysts.names()
    except analysts.AccountError as exc:
        # An accounts file others could have changed is not used at all. Visitors are told only
        # that sign-in is unavailable; where the files are and what is wrong goes to the log.
        LOG.error("Sign-in is unavailable: %s", exc)
        st.error("Sign-in is unavailable on this server at the moment; the administrator can see why in"
                 " the server's log.")
        return None
    if not known:
        st.info("No analyst accounts exist yet. An administrator creates one on the server with"
                " `python -m pipelines add-analyst NAME`.")
    # A narrow form: a name and a password do not need the width of the page.
    left, _ = st.columns([2, 3])
    with left.form("sign_in", clear_on_submit=False):
        st.markdown("**Analyst sign-in**")
        st.caption("Needed to upload, commit, undo or write commentary. Reading needs no sign-in.")
        name = st.text_input("Name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        if st.form_submit_button("Sign in"):
            try:
                st.session_state[_KEY] = analysts.sign_in(name.strip(), password, _throttle(),
                                                          client=_client())
            except analysts.AccountError as exc:
                st.error(ui.error_text(exc))
            else:
                st.rerun()
    return None


def sign_out() -> None:
    st.session_state.pop(_KEY, None)
