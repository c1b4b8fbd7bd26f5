"""Upload: an analyst checks a new quarter's file, previews what it changes, commits, and can
undo a load. Uses the same reading, checking and loading code as ``python -m pipelines load``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from dashboard import auth, state, ui
from pipelines.ingest import loading, reader
from pipelines.ingest.validate import CHECKING, plural
from pipelines.present import explain
from pipelines.rules import status
from pipelines.storage import analysts, store

MAX_MB = reader.MAX_BYTES // (1024 * 1024)
PREVIEW_ROWS = 200

ctx = state.context()
st.title("Upload a quarter's figures")
st.markdown("Sign in, then choose a file: it is checked and you see exactly what it would change. Nothing is"
            " written until you commit it, and a load can be undone.")
st.caption(f"A CSV (saved from Excel or any tool) up to {MAX_MB} MB, or an .xlsx workbook up to"
           f" {reader.XLSX_MAX_BYTES // (1024 * 1024)} MB, one row per indicator, area and quarter."
           " Columns: `indicator`, `area`, `quarter`, `value`; optionally `lower`, `upper`, `numerator`,"
           " `denominator`, `reported_status`, `note`.")

analyst = auth.panel()
if flash := st.session_state.pop("_flash", None):
    st.success(flash)  # made safe where it was written

def _write(action: Any) -> Any:
    """Run a write with a short-lived connection; a busy database is a sentence, not a traceback."""
    try:
        with store.connect(ctx.snap.db, create=False) as con:
            return action(con)
    except store.StoreBusy as exc:
        st.error(ui.error_text(f"{exc} Nothing was changed."))
    except store.StoreError as exc:  # missing, read-only, or a disk that failed (the store maps DuckDB's I/O errors)
        st.error(ui.error_text(exc))
    except loading.AlreadyLoaded as exc:
        # A second click on Commit: the first one loaded the file, so say that, as a success.
        _done(ui.error_text(exc))
    except loading.LoadRefused as exc:
        st.error(ui.error_text(exc))
    return None


def _done(flash: str) -> None:
    """After a commit: say so on the next run, and empty the uploader so the file is not offered again."""
    st.session_state["_flash"] = flash
    st.session_state.pop("_preview_key", None)
    st.session_state["_upload_round"] = st.session_state.get("_upload_round", 0) + 1
    st.rerun()


@contextmanager
def _working(label: str) -> Iterator[Callable[[str, int, int], None]]:
    """A status box with a progress bar while a file is read, checked and previewed (or committed):
    the engine's progress callback moves the bar. The box is removed when the work is done, as the
    result shown below it replaces it (or an error does)."""
    holder = st.empty()
    box = holder.status(label, expanded=True)
    bar = box.progress(0.0, text="Starting…")
    shown: list[Any] = [None]

    def report(stage: str, done: int, total: int) -> None:
        pct = min(100, 100 * done // total) if total else 100
        if shown[0] == (stage, pct):  # each message goes to the browser: send only what changed
            return
        shown[0] = (stage, pct)
        counted = f" ({done:,} of {total:,} rows)" if stage == CHECKING else ""
        bar.progress(pct / 100, text=f"{stage.capitalize()}: {pct}%{counted}")

    try:
        yield report
    finally:
        holder.empty()


def _problems_table(checked: Any) -> str:
    body = [(p.line or "–", p.column or "–", p.value, p.reason, p.suggestion) for p in checked.problems]
    more = checked.problems_not_shown
    caption = (f"The first {len(checked.problems)} problems; {more} more are not listed. Correct these and"
               " check the file again." if more else None)
    return ui.table(["Line", "Column", "Value", "Problem", "How to fix it"], body, numeric=(0,), wide=(3, 4),
                    test_id="problems", caption=caption)


def _change(before: str, after: str) -> ui.Html:
    return ui.Html(f"{ui.chip(before)} → {ui.chip(after)}")


def _units(ids: list[str]) -> str:
    """'Values are in each indicator's unit (NI 20: per 1,000 population).'"""
    known = {i.id: i.unit for i in ctx.catalogue.indicators}
    units = [f"{i}: {ui.unit_words(known.get(i, ''))}" for i in dict.fromkeys(ids)]
    return "Values are in each indicator's unit (" + "; ".join(units) + ")."


# Nothing is read from a file before its sender has signed in: the uploader is not even offered.
uploaded = None
if analyst is None:
    st.info("Sign in above to upload a file. Files are read and checked only for signed-in analysts.")
else:
    # A new key after each commit empties the uploader, so a committed file is not offered again.
    uploaded = st.file_uploader("Quarterly figures", type=["csv", "xlsx"],
                                key=f"upload_file_{st.session_state.get('_upload_round', 0)}",
                                help="One row per indicator, area and quarter.")
    if uploaded is None:
        st.info("Choose a file to check it. Checking and previewing write nothing.")
if uploaded is not None and analyst is not None:
    data = uploaded.getvalue()
    # The file's name is the uploader's text: shown in code formatting, never as Markdown.
    file_md = ui.code(uploaded.name)
    with _working(f"Reading and checking {file_md}…") as progress:
        upload = loading.read_upload(data, uploaded.name, ctx.catalogue, progress)
    if not upload.ok:
        st.error(f"{file_md} has {plural(upload.checked.problem_count, 'problem')}, so nothing can be loaded."
                 " Correct the file and upload it again.")
        st.html(_problems_table(upload.checked))
    else:
        # The preview is the load itself, applied and rolled back: it cannot disagree with the commit.
        # The data version it was made against is kept with it; a commit names that version, so a
        # load that lands between preview and click is refused rather than committed unseen.
        shown = st.session_state.get("_preview_key")  # the preview on screen before this rerun
        key = ("preview", upload.sha256, ctx.snap.load_id)
        if shown != key:
            with _working(f"Previewing what {file_md} would change…") as progress:
                st.session_state["_preview"] = _write(
                    lambda con: loading.load(con, upload, status.rater(ctx.catalogue), dry_run=True,
                                             detail_limit=PREVIEW_ROWS, progress=progress))
            st.session_state["_preview_key"] = key
        preview: loading.LoadResult | None = st.session_state["_preview"]
        if preview is not None:
            st.success(f"{ui.md_text(upload.checked.summary(uploaded.name))} No problems found.")
            st.header("Preview: what committing this file would change", anchor=False)
            st.caption("Nothing has been written yet.")
            c1, c2, c3, c4 = st.columns(4)
            c1.metric("New rows", preview.added)
            c2.metric("Revised rows", preview.revised)
            c3.metric("Unchanged rows", preview.unchanged)
            c4.metric("Status changes", len(preview.status_changes))
            if preview.status_changes:
                st.markdown("**Status changes**")
                st.html(ui.table(["Indicator", "Area", "Quarter", "Status: before → after"],
                                 [(c["indicator"], c["area"], c["quarter"], _change(c["before"], c["after"]))
                                  for c in preview.status_changes], wide=(), nowrap=(2, 3),
                                 test_id="status-changes"))
            if preview.revisions:
                st.markdown("**Revised values (old → new)**")
                st.html(ui.table(["Indicator", "Area", "Quarter", "Old value", "New value",
                                  "Note with the new value"],
                                 [(r["indicator"], r["area"], r["quarter"],
                                   explain.given(r["old_value"], r["old_numerator"], r["old_denominator"]),
                                   explain.given(r["new_value"], r["new_numerator"], r["new_denominator"]),
                                   r["new_note"]) for r in preview.revisions],
                                 numeric=(3, 4), wide=(5,), nowrap=(2,), test_id="revisions",
                                 caption=_units([r["indicator"] for r in preview.revisions])))
            if preview.new_rows:
                with st.expander(f"New rows ({preview.added}"
                                 f"{', first ' + str(PREVIEW_ROWS) if preview.added > PREVIEW_ROWS else ''})"):
                    st.html(ui.table(["Indicator", "Area", "Quarter", "Value", "Reported status", "Note"],
                                     [(r["indicator"], r["area"], r["quarter"],
                                       explain.given(r["value"], r["numerator"], r["denominator"]),
                                       r["reported_status"], r["note"]) for r in preview.new_rows],
                                     numeric=(3,), wide=(5,), nowrap=(2,), test_id="new-rows",
                                     caption=_units([r["indicator"] for r in preview.new_rows])))
            if not preview.added and not preview.revised:
                st.info(f"Every row of {file_md} is already loaded with these values, so committing it"
                        " would change nothing.")
            elif st.button(f"Commit {file_md}", type="primary", key="commit",
                           help="Loads the file in one step; if anything fails, nothing is changed."):
                # The version of the preview the analyst saw (for another file, or none: -1 refuses).
                seen = shown[2] if shown is not None and shown[1] == upload.sha256 else -1
                with _working(f"Committing {file_md}…") as progress:
                    result = _write(lambda con: loading.load(con, upload, analyst=analyst, expected_version=seen,
                                                             progress=progress))
                if result is not None:
                    _done(f"Committed {file_md} as {result.summary()}. Every page now shows it.")

st.header("Loads")
try:
    with store.connect_to_read(ctx.snap.db) as con:
        history = loading.loads(con)
except (store.StoreBusy, store.StoreError) as exc:  # any other error is a fault, raised for tests to see
    history = []
    st.error(ui.error_text(exc))
if not history:
    st.info("No loads yet.")
else:
    def _state(r: dict[str, Any]) -> str:
        if r["kind"] == "undo":
            return f"undo of load {r['undoes']}"
        applied = f"undone by load {r['undone_by']}" if r["undone_by"] else "applied"
        return f"populations, {applied}" if r["kind"] == "populations" else applied

    st.html(ui.table(
        ["Load", "When", "Analyst", "File", "SHA-256", "Added", "Revised", "Unchanged", "State"],
        [(r["load_id"], r["loaded_at"].strftime("%Y-%m-%d %H:%M:%S"), r["analyst"] or "–", r["file_name"],
          ui.Html(f'<code title="{ui.esc(r["sha256"])}">{ui.esc((r["sha256"] or "")[:12])}…</code>'),
          r["rows_added"], r["rows_revised"], r["rows_unchanged"], _state(r)) for r in history],
        numeric=(0, 5, 6, 7), wide=(3,), nowrap=(1, 8), test_id="loads",
        caption="Newest first. The SHA-256 fingerprint identifies the exact file (point at it to see all of it)."))
    undoable = [r for r in history if r["kind"] != "undo" and not r["undone_by"]]
    if analyst and undoable:
        st.header("Undo a load", anchor=False)
        st.caption("Undoing removes the rows the load added and restores the values it replaced. The undo is"
                   " itself recorded as a load.")
        by_id = {r["load_id"]: r for r in undoable}
        # Offer the newest load again whenever a load or an undo has happened since the last choice
        # (set, not cleared: a cleared widget would go on showing its old choice in the browser).
        if st.session_state.get("_undo_head") != history[0]["load_id"] or st.session_state.get(
                "undo_choice") not in by_id:
            st.session_state["undo_choice"] = undoable[0]["load_id"]
            st.session_state["_undo_head"] = history[0]["load_id"]
        choice = st.selectbox(
            "Load to undo", list(by_id), key="undo_choice",
            format_func=lambda i: (f"Load {i}: {by_id[i]['file_name']}, by {by_id[i]['analyst'] or '–'},"
                                   f" {by_id[i]['loaded_at']:%d %b %Y %H:%M} ({by_id[i]['rows_added']} added,"
                                   f" {by_id[i]['rows_revised']} revised)"))
        if st.button(f"Undo load {choice}", key="undo"):
            result = _write(lambda con: loading.undo(con, choice, analyst=analyst))
            if result is not None:
                st.session_state["_flash"] = (f"Load {choice} undone (recorded as load {result.load_id});"
                                              f" {plural(result.revised, 'earlier value')} restored.")
                st.rerun()

if analyst:
    st.header("Analysts")
    try:
        st.markdown("Analysts who can sign in: " + ", ".join(ui.md_text(n) for n in analysts.names()))
        recent = analysts.audit(limit=20)
    except analysts.AccountError as exc:
        st.error(ui.error_text(exc))
        recent = []
    if recent:
        with st.expander("Recent sign-ins and account changes"):
            st.html(ui.table(["When (UTC)", "Name", "What happened", "By"],
                             [(r["time"][:19].replace("T", " "), r["name"], r["outcome"], r.get("by") or "–")
                              for r in recent], nowrap=(0,), test_id="audit",
                             caption="Newest first; the last 20 of the accounts' audit log."))
    form_column, _ = st.columns([2, 3])
    with form_column.form("add_analyst", clear_on_submit=True):
        name = st.text_input("New analyst's name")
        password = st.text_input("Their password (at least 10 characters)", type="password")
        if st.form_submit_button("Add analyst"):
            try:
                # Never replace: an existing name is refused, so no one takes over another's account.
                analysts.add(name.strip(), password, replace=False, by=analyst)
            except analysts.AccountError as exc:
                st.error(ui.error_text(exc))
            else:
                st.success(f"{ui.md_text(name.strip())} can now sign in.")
