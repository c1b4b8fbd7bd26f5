"""Selections that live in the URL (``?area=High+Peak&quarter=2010/11+Q1``).

Streamlit clears query parameters on a page change, so the entry script owns the shared
selections: it reads the URL, renders the widgets and writes the URL back on every rerun.
A URL value we did not write ourselves (a link, the back button, a typed address) wins
over the widget; otherwise the widget wins. Everything is per session: nothing here is
module-level state shared between users.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from dashboard import ui
from dashboard.data import Snapshot
from pipelines.catalogue import quarters
from pipelines.catalogue.config import Catalogue

_CONTEXT = "_ragboard_context"


@dataclass(frozen=True)
class Context:
    """What the entry script decided for this rerun; pages read it with ``context()``."""

    catalogue: Catalogue
    snap: Snapshot
    qi: int | None          # None when no figures are loaded
    area: str
    notices: tuple[str, ...] = field(default=())

    @property
    def quarter(self) -> str:
        return quarters.label(self.qi) if self.qi is not None else ""

    def params(self, **extra: str) -> dict[str, str]:
        """Query parameters that reopen this view; pass to st.page_link / st.switch_page."""
        out = {"quarter": self.quarter} if self.qi is not None else {}
        return {**out, "area": self.area, **extra}


def set_context(ctx: Context) -> None:
    st.session_state[_CONTEXT] = ctx


def context() -> Context:
    return st.session_state[_CONTEXT]


def synced_select(
    label: str, options: Sequence[str], param: str, *, default: str | None = None,
    normalise: Callable[[str], str] = str, format_func: Callable[[Any], str] = str,
    help: str | None = None, container: Any = None, what: str = "value", width: int | str = "stretch",
) -> tuple[str, str | None]:
    """A selectbox mirrored to the query parameter ``param``.

    Returns the selection and, when the URL asked for something not on offer, a sentence
    saying what is shown instead.
    """
    key, written, keep = f"sel_{param}", f"_url_{param}", f"_keep_{param}"
    notice = None
    url = st.query_params.get(param)
    if url is not None and url != st.session_state.get(written):
        try:
            wanted = normalise(url)
        except ValueError:
            wanted = url
        if wanted in options:
            st.session_state[key] = wanted
        else:
            # The URL is anyone's text: in code formatting it can never be a link or formatting.
            notice = f"There is no {what} {ui.code(url)} to show"
    if st.session_state.get(key) not in options:
        fallback = st.session_state.get(keep)
        st.session_state[key] = fallback if fallback in options else (default or options[0])
    if notice:
        # the option's label comes from the catalogue: text, never Markdown
        notice += f"; showing {ui.md_text(format_func(st.session_state[key]))} instead."
    where = container if container is not None else st
    value = where.selectbox(label, options, key=key, format_func=format_func, help=help,
                            width=width)
    st.query_params[param] = value
    # Remember what we wrote, and keep the choice for when a page-local widget comes back.
    st.session_state[written] = value
    st.session_state[keep] = value
    return value, notice


def page_links(page: str, links: Sequence[tuple[str, dict[str, str]]], *, icon: str | None = None,
               columns: int = 3) -> None:
    """Links filled down each column in turn, so reading order is the order given."""
    per = -(-len(links) // columns) if links else 0
    for col, start in zip(st.columns(columns), range(0, len(links), max(per, 1)), strict=False):
        for label, params in links[start:start + per]:
            # Labels carry area names and indicator ids from the catalogue: text, never Markdown.
            col.page_link(page, label=ui.md_text(label), icon=icon, query_params=params)


def normalise_quarter(text: str) -> str:
    return quarters.label(quarters.parse(text))
