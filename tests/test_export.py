"""The CSV writer checks cells column by column (for speed): its output must be byte for byte what
checking every cell, one by one, gives, and the status table's reasons what saying each row's gives."""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from helpers import CONFIG_PATH, ROOT
from pipelines.catalogue import config, quarters
from pipelines.present import export, words
from pipelines.rules import status
from pipelines.rules.sql import Step, compose
from pipelines.stats import spc
from pipelines.storage import store

TRICKY: list[Any] = [
    "=1+1", "+x", "-x", "@x", "\tx", "\rx", "=", "-", "+", "@", " =x", "x=1", "'=x", "a\tb", "a,b", "a;b",
    'he said "hi"', '"', "line\nbreak", "cr\rreturn", "", "ç=", "=HYPERLINK(\"http://x\")", None, True, False,
    0, 3, -7, 2**70, 1.5, -1.75, 0.1, 1e16, 1e-7, -0.0, float("nan"), float("inf"), float("-inf"),
]


def one_by_one(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The writer as it was: safe_cell on every cell in turn."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([export.safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def test_tricky_values_are_escaped_exactly_as_cell_by_cell() -> None:
    rows = [(v, "ok", v) for v in TRICKY]
    assert export.csv_text(["a", "b", "c"], rows) == one_by_one(["a", "b", "c"], rows)
    text = export.csv_text(["a"], [("=1+1",), ("-x",), (-1.75,), (None,)])
    assert text == "a\n'=1+1\n'-x\n-1.75\n\"\"\n"  # csv quotes a row of one empty cell


def test_random_tables_are_written_exactly_as_cell_by_cell() -> None:
    rng = random.Random(20100630)
    for _ in range(400):
        width = rng.randint(1, 6)
        rows = [tuple(rng.choice(TRICKY) for _ in range(width)) for _ in range(rng.randint(0, 30))]
        columns = [f"c{i}" for i in range(width)]
        assert export.csv_text(columns, rows) == one_by_one(columns, rows)
        assert export.csv_text(columns, iter(rows)) == one_by_one(columns, rows)  # a generator too
        assert export.csv_text(columns, [list(r) for r in rows]) == one_by_one(columns, rows)


@pytest.mark.parametrize("rows", [
    [],
    [("=a", 1), ("b",), ("+c", 2, 3)],  # ragged
    [([1], "=a"), ([2], "b")],  # an unhashable cell
    [("=a", "=a"), ("=a", "b")],
])
def test_odd_tables_are_written_exactly_as_cell_by_cell(rows: list[tuple[Any, ...]]) -> None:
    assert export.csv_text(["x", "y"], rows) == one_by_one(["x", "y"], rows)


def test_the_status_table_says_each_rows_reason(sample_db: Path) -> None:
    catalogue = config.load(CONFIG_PATH)
    with store.connect(sample_db, read_only=True) as con:
        loaded = store.loaded_quarters(con)
        asked = [loaded[0] - 4, *loaded]  # every quarter, and one with no figures at all
        columns, rows = words.status_table(con, catalogue, asked, None, None, words.CLI_COLUMNS)
        ask = [c if c != "reason" else "reason_code" for c in words.CLI_COLUMNS if c not in words.SPC_COLUMNS]
        _, coded = status.table(con, catalogue, asked, None, None, [*ask, "qi"])
        # each row's SPC reading: its series' as of the row's quarter; none before the series' first figure
        readings = {(r["indicator"], r["area"], qi): (r["variation"], r["assurance"])
                    for qi in asked for r in spc.readings(con, catalogue, qi)}
    expected = []
    for r in coded:
        cell = dict(zip([*ask, "qi"], r, strict=True))
        cell["reason"] = words.reason(cell["reason_code"], cell["qi"])
        cell["variation"], cell["assurance"] = readings.get((cell["indicator"], cell["area"], cell["qi"]),
                                                            (None, None))
        expected.append(tuple(cell[c] for c in words.CLI_COLUMNS))
    assert columns == list(words.CLI_COLUMNS)
    assert rows == expected
    spc_at = [columns.index(c) for c in words.SPC_COLUMNS]
    assert {tuple(r[i] for i in spc_at) for r in rows if r[2] == quarters.label(asked[0])} == {(None, None)}


def test_the_cli_csv_is_the_cell_by_cell_csv(sample_db: Path, tmp_path: Path) -> None:
    """``status --format csv`` on the sample: the same bytes as writing each checked cell in turn."""
    catalogue = config.load(CONFIG_PATH)
    with store.connect(sample_db, read_only=True) as con:
        qi = store.loaded_quarters(con)[-1]
        columns, rows = words.status_table(con, catalogue, [qi], None, None, words.CLI_COLUMNS)
    result = subprocess.run([sys.executable, "-m", "pipelines", "status", "--format", "csv",
                             "--config", str(CONFIG_PATH), "--db", str(sample_db)],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout == one_by_one(columns, rows)


# ---- the CSV written by DuckDB (status --format csv) ----------------------------------------------

def duckdb_csv(con: Any, table: str, columns: Sequence[str]) -> str:
    steps = (Step("source", f"SELECT * FROM {table}"), *export.csv_steps("source", columns, ["id"]))
    return export.sql_lines_text(columns, con.execute(compose(steps, ["line"], ["id"])).fetchall())


def python_csv(con: Any, table: str, columns: Sequence[str]) -> str:
    return one_by_one(columns, con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall())


def test_duckdb_writes_tricky_cells_as_the_csv_writer_does() -> None:
    import duckdb

    texts = [v for v in TRICKY if isinstance(v, str)] + ["x\x00y", "\u202e=x", "é,ï", "tab\tin", None]
    doubles = [v for v in TRICKY if isinstance(v, float)] + [5.0, 100.0, 1e15, 1e22, 2.5e-7, 1e-4, -1e-5, None]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id INTEGER, v VARCHAR, d DOUBLE, b BOOLEAN, i BIGINT, n INTEGER)")
    width = max(len(texts), len(doubles))
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", [
        (k, texts[k % len(texts)], doubles[k % len(doubles)], [True, False, None][k % 3],
         [0, -7, 2**62, None][k % 4], [3, -1, None][k % 3]) for k in range(width)])
    columns = ["v", "d", "b", "i", "n"]
    assert duckdb_csv(con, "t", columns) == python_csv(con, "t", columns)
    assert duckdb_csv(con, "t", ["v", "v"]) == python_csv(con, "t", ["v", "v"])
    con.execute("DELETE FROM t")
    assert duckdb_csv(con, "t", columns) == python_csv(con, "t", columns) == "v,d,b,i,n\n"


def test_duckdb_writes_doubles_as_python_does() -> None:
    """DuckDB's text for a DOUBLE must be Python's repr for any double, however written."""
    import struct

    import duckdb

    rng = random.Random(7)
    values = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(20_000)]
    values += [rng.uniform(-10, 10) * 10.0 ** e for e in range(-30, 30) for _ in range(50)]
    values += [round(rng.uniform(-1000, 1000), k) for k in range(10) for _ in range(200)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest($v::DOUBLE[]) AS d, unnest($i::INTEGER[]) AS id",
                {"v": values, "i": list(range(len(values)))})
    assert duckdb_csv(con, "t", ["d", "id"]) == python_csv(con, "t", ["d", "id"])


def test_a_single_column_is_refused() -> None:
    with pytest.raises(ValueError, match="two columns"):
        export.sql_lines_text(["a"], [("x",)])


def test_status_csv_is_the_status_tables_csv_on_the_sample(sample_db: Path) -> None:
    catalogue = config.load(CONFIG_PATH)
    with store.connect(sample_db, read_only=True) as con:
        loaded = store.loaded_quarters(con)
        for asked in ([loaded[-1]], loaded, [loaded[0] - 4], []):
            for areas, indicators in ((None, None), ([catalogue.county], None),
                                      (None, [catalogue.indicators[0].id])):
                expected = export.csv_text(*words.status_table(con, catalogue, asked, areas, indicators,
                                                               words.CLI_COLUMNS))
                assert words.status_csv(con, catalogue, asked, areas, indicators) == expected


def test_status_csv_escapes_names_that_look_like_formulas() -> None:
    catalogue = config.parse({
        "county": "=cmd|' /C calc'!A0", "districts": ["-x", "@y", 'a,"b"', "line\nbreak", "\tt"],
        "indicators": [{"id": "+1", "name": "=HYPERLINK(\"x\")", "unit": "-", "better": "lower",
                        "levels": ["county", "district"], "targets": {"2010/11": 1}}],
    })
    with store.connect(":memory:") as con:
        con.execute("INSERT INTO observations BY NAME SELECT '+1' AS indicator, '-x' AS area,"
                    " '2010/11 Q1' AS quarter, 8040 AS qi, -1.75 AS value, 0 AS load_id")
        for asked in ([8040], [8039, 8040, 8044]):
            expected = export.csv_text(*words.status_table(con, catalogue, asked, None, None, words.CLI_COLUMNS))
            assert words.status_csv(con, catalogue, asked) == expected
            assert "\n'+1,'=cmd|' /C calc'!A0," in expected


def test_reasons_in_sql_are_the_reasons_in_python() -> None:
    import duckdb

    from pipelines.rules.codes import Reason

    con = duckdb.connect()
    for code in Reason:
        for qi, missing, area in ((1999 * 4, None, None), (2009 * 4 + 3, "Bolsover, Erewash", "Derbyshire"),
                                  (2010 * 4 + 1, "2009/10 Q3", "High Peak"), (2099 * 4 + 2, None, "O'Neill")):
            said = con.execute(f"SELECT {words.reason_sql('$code', '$qi', '$missing', '$area')}",
                               {"code": code.value, "qi": qi, "missing": missing, "area": area})
            assert said.fetchone() == (words.reason(code.value, qi, missing, area),)
