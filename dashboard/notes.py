"""Commentary and actions on the Indicator and District pages: anyone reads them, a
signed-in analyst writes them. Every save is a new version; nothing is overwritten."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb
import streamlit as st

from dashboard import auth, ui
from pipelines.catalogue import quarters
from pipelines.storage import commentary, store


def _db(action: Callable[[duckdb.DuckDBPyConnection], Any], db: str, *, write: bool = False) -> Any:
    """Run ``action`` on a short-lived connection. The store's failures (busy, missing, read-only,
    a disk that fails) and a refused text are sentences; any other error is a fault and is raised."""
    try:
        connection = store.connect(db, wait=3, create=False) if write else store.connect_to_read(db, wait=3)
        with connection as con:
            return action(con)
    except (store.StoreBusy, store.StoreError, commentary.CommentaryError) as exc:
        st.error(ui.error_text(exc))
    return None


def _succeeds(action: Callable[[duckdb.DuckDBPyConnection], None]) -> Callable[[duckdb.DuckDBPyConnection], bool]:
    """A write that returns nothing, made to say True when it ran: _db returns None on failure."""
    def run(con: duckdb.DuckDBPyConnection) -> bool:
        action(con)
        return True
    return run


class Notes:
    """An area's commentary, its earlier versions and its actions for one quarter, read
    together: a district page with dozens of AMBER and RED rows asks the database once."""

    def __init__(self, db: str, area: str, qi: int, indicator: str | None = None) -> None:
        self.db, self.area, self.qi = db, area, qi
        found = _db(lambda con: (commentary.current(con, indicator, area, qi),
                                 commentary.history(con, indicator, area, qi),
                                 commentary.actions(con, indicator, area)), db)
        self.ok = found is not None
        now, versions, acts = found if found is not None else ([], [], [])
        self.now = {c["indicator"]: c for c in now}
        self.versions: dict[str, list[dict[str, Any]]] = {}
        for v in versions:
            self.versions.setdefault(v["indicator"], []).append(v)
        self.actions: dict[str, list[dict[str, Any]]] = {}
        for a in acts:
            self.actions.setdefault(a["indicator"], []).append(a)


def section(notes: Notes, indicator: str, *, key: str) -> None:
    """Commentary for one indicator in the notes' area and quarter, then its actions."""
    db, area, qi = notes.db, notes.area, notes.qi
    label = quarters.label(qi)
    st.header(ui.md_text(f"Commentary, {area}, {label}"))
    if not notes.ok:
        return
    now = [notes.now[indicator]] if indicator in notes.now else []
    versions = notes.versions.get(indicator, [])
    acts = notes.actions.get(indicator, [])
    analyst = auth.current()
    if now:
        c = now[0]
        stale = (' · <span class="rb-due" title="The figures for this quarter were loaded again after this was'
                 ' written: check it still holds">⚠ written before the latest figures</span>'
                 if c["before_latest_figures"] else "")
        st.html(f'<blockquote class="rb-note" data-testid="commentary">{ui.esc(c["text"])}</blockquote>'
                f'<p class="rb-byline">Written by {ui.esc(c["author"])},'
                f' {c["written_at"]:%d %b %Y %H:%M}{stale}</p>')
    else:
        st.markdown(f"_No commentary yet for {ui.md_text(indicator)}, {ui.md_text(area)}, {label}._")
    if len(versions) > 1:
        with st.expander(f"Earlier versions ({len(versions) - 1})"):
            st.html(ui.table(["When", "Who", "Text"],
                             [(f"{v['written_at']:%d %b %Y %H:%M}", v["author"], v["text"] or "(withdrawn)")
                              for v in versions[1:]], wide=(2,), nowrap=(0,)))
    if analyst:
        # The text is shown above; the editor stays folded away unless there is nothing to show yet.
        with st.expander("Edit the commentary" if now else "Write the commentary", expanded=not now):
            with st.form(f"commentary_{key}"):
                text = st.text_area("Commentary", value=now[0]["text"] if now else "", height=120,
                                    help="Saved as a new version with your name and the time; earlier"
                                         " versions are kept. Save it empty to withdraw it.")
                if st.form_submit_button("Save commentary"):
                    if _db(_succeeds(lambda con: commentary.write(con, indicator, area, qi, text, analyst)), db,
                           write=True):
                        st.rerun()

    st.markdown(f"**Actions for {ui.md_text(indicator)}, {ui.md_text(area)}**")
    if acts:
        today = date.today()

        def state(a: dict[str, Any]) -> str:
            if a["done"]:
                return "✓ done"
            return "⚠ overdue" if a["due"] and a["due"] < today else "○ open"

        st.html(ui.table(
            ["Action", "Owner", "Due", "State", "Raised in", "Last changed"],
            [(a["text"], a["owner"], f"{a['due']:%d %b %Y}" if a["due"] else "no date set", state(a),
              quarters.label(a["qi"]), f"{a['author']}, {a['changed_at']:%d %b %Y}") for a in acts],
            wide=(0,), nowrap=(2, 3, 4), test_id=f"actions-{key}"))
    else:
        st.markdown("_No actions recorded._")
    if analyst:
        open_acts = [a for a in acts if not a["done"]]
        if open_acts:
            cols = st.columns([3, 1], vertical_alignment="bottom")
            pick = cols[0].selectbox("Mark an action done", [a["action_id"] for a in open_acts],
                                     format_func=lambda i: next(a["text"] for a in open_acts if a["action_id"] == i),
                                     key=f"done_pick_{key}")
            # Rerun only on success: a rerun would wipe the error saying why it failed.
            if cols[1].button("Mark done", key=f"done_{key}") and _db(
                    _succeeds(lambda con: commentary.update_action(con, pick, analyst, done=True)), db, write=True):
                st.rerun()
        with st.expander("Record an action", expanded=not acts):
            with st.form(f"action_{key}", clear_on_submit=True):
                text = st.text_input("What will be done")
                left, right = st.columns(2)
                owner = left.text_input("Owner", help="A person or a role, e.g. 'Community safety manager'.")
                due = right.date_input("Due (optional)", value=None, format="DD/MM/YYYY")
                if st.form_submit_button("Add action"):
                    if _db(lambda con: commentary.add_action(con, indicator, area, qi, text, owner, due, analyst),
                           db, write=True):
                        st.rerun()
    else:
        st.caption("Analysts write commentary and record actions after signing in on the Upload page.")
