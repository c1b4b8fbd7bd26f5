"""A query made of named steps, each a small SQL fragment, joined without templating SQL text.

Each step is a ``SELECT`` that reads the steps before it by name; ``compose`` writes them as one
``WITH`` query. Only two kinds of text are ever put together: fragments written in this package,
and identifiers (step and column names) that ``ident`` has checked and quoted. Values, from the
catalogue or from a user, always travel as query parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_IDENT = re.compile(r"[a-z_][a-z0-9_]*")
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier; only lower-case letters, digits and underscores."""
    if not _IDENT.fullmatch(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return '"' + name + '"'


def literal(text: str) -> str:
    """A constant of ours (a status word, a reason code) as a SQL string literal."""
    if not _IDENT.fullmatch(text.lower()):
        raise ValueError(f"not a plain word: {text!r}")
    return "'" + text + "'"


@dataclass(frozen=True)
class Step:
    """One step of a query: ``sql`` is a SELECT reading earlier steps (or tables) by name."""

    name: str
    sql: str
    doc: str = ""

    def __post_init__(self) -> None:
        ident(self.name)  # refuse a name that would need quoting rules of its own


@dataclass(frozen=True)
class Column:
    """An output column: its name and the SQL expression that computes it."""

    name: str
    sql: str = ""  # empty: the column of the same name, passed through

    def select(self) -> str:
        return (self.sql + " AS " if self.sql else "") + ident(self.name)


def columns_step(name: str, columns: Sequence[Column], source: str) -> Step:
    """A step selecting ``columns`` from the step ``source``."""
    return Step(name, "SELECT " + ", ".join(c.select() for c in columns) + " FROM " + ident(source))


def cases(column: str, mapping: Iterable[tuple[str, str]], default: str | None = None) -> str:
    """``CASE column WHEN 'a' THEN 'x' … END`` from constants (checked by ``literal``)."""
    whens = " ".join("WHEN " + literal(k) + " THEN " + literal(v) for k, v in mapping)
    tail = " ELSE " + literal(default) if default is not None else ""
    return "CASE " + ident(column) + " " + whens + tail + " END"


def compose(steps: Sequence[Step], select: Sequence[str] | None, order_by: Sequence[str] = (),
            exclude: Sequence[str] = ()) -> str:
    """One query: every step as a named ``WITH`` part, then the chosen columns of the last step.

    ``select`` None means every column but ``exclude``."""
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"a step name is used twice: {names}")
    parts = [ident(s.name) + " AS (\n" + s.sql.strip() + "\n)" for s in steps]
    if select is None:
        chosen = "*" + (" EXCLUDE (" + ", ".join(ident(c) for c in exclude) + ")" if exclude else "")
    else:
        chosen = ", ".join(ident(c) for c in select)
    text = "WITH\n" + ",\n".join(parts) + "\nSELECT " + chosen + "\nFROM " + ident(steps[-1].name)
    if order_by:
        text += "\nORDER BY " + ", ".join(ident(c) for c in order_by)
    return text


def bound(sql: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` names: DuckDB refuses a named parameter a statement does not use,
    and a query's steps vary with the catalogue (a catalogue of values has no counts to add up)."""
    used = set(_PARAMETER.findall(sql))
    return {name: value for name, value in parameters.items() if name in used}
