"""Attacks and accidents from the security review, each refused with one sentence and nothing changed.

Reading files (xlsx bombs, mixed encodings), the catalogue and the accounts file have suites of
their own (test_reader_limits.py, test_config.py, test_analysts.py); these are the rest: quarters,
figures, the command line, the database and the pages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from dashboard import ui
from helpers import (
    APP,
    HEADER,
    PASSWORD,
    REVISION,
    ROOT,
    UPLOAD,
    big_file,
    figures,
    run,
    sheet_row,
    sheet_xml,
    sign_in,
    table,
    text,
    text_cell,
    upload,
    xlsx,
)
from pipelines.catalogue import config, quarters
from pipelines.ingest import loading
from pipelines.ingest.reader import read_bytes
from pipelines.ingest.validate import check
from pipelines.storage import store

pytestmark = pytest.mark.usefixtures("fresh", "accounts")
TODAY = date(2026, 11, 24)  # 2026/27 Q3


def problems(csv: str, catalogue: config.Catalogue, today: date = TODAY) -> list[str]:
    return [str(p) for p in check(read_bytes(csv.encode("utf-8"), "q.csv"), catalogue, today).problems]


def cli(*args: str, db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGBOARD_LOCK_WAIT": "2"}
    return subprocess.run([sys.executable, "-m", "pipelines", *args, "--db", str(db)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def loads_in(db: Path) -> int:
    with store.connect(db, read_only=True) as con:
        return store.latest_load_id(con)


# --- Quarters ------------------------------------------------------------------------------------

def test_a_year_outside_the_accepted_range_is_refused_with_the_range(catalogue: config.Catalogue) -> None:
    found = problems("indicator,area,quarter,value\nNI 16,Derbyshire,0999/00 Q1,9\nNI 16,Derbyshire,2010/11 Q1,9\n",
                     catalogue)
    assert found == ["line 2, column quarter: '0999/00 Q1' is outside the financial years ragboard accepts"
                     " (1900/01 to 2100/01); check the year"]
    with pytest.raises(quarters.QuarterError, match="outside the financial years"):
        quarters.parse("1899-06-30")


def test_a_quarter_more_than_one_ahead_of_today_is_refused(catalogue: config.Catalogue) -> None:
    csv = ("indicator,area,quarter,value\nNI 16,Derbyshire,2026/27 Q4,9\nNI 16,Derbyshire,2027/28 Q1,9\n"
           "NI 16,Derbyshire,2099/00 Q1,9\n")
    assert problems(csv, catalogue) == [
        "line 3, column quarter: '2027/28 Q1' is in the future: figures can be loaded up to 2026/27 Q4"
        " (the quarter after today's); check the year",
        "line 4, column quarter: '2099/00 Q1' is in the future: figures can be loaded up to 2026/27 Q4"
        " (the quarter after today's); check the year"]
    assert quarters.label(quarters.current(date(2027, 3, 31))) == "2026/27 Q4"
    assert quarters.label(quarters.current(date(2027, 4, 1))) == "2027/28 Q1"


def test_a_far_future_quarter_is_not_loaded_and_does_not_become_the_default(
        tmp_path: Path, sample_db: Path) -> None:
    bad = tmp_path / "future.csv"
    bad.write_text("indicator,area,quarter,value\nNI 16,Derbyshire,2099/00 Q1,9\n", encoding="utf-8")
    result = cli("load", str(bad), db=sample_db, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "'2099/00 Q1' is in the future" in result.stderr
    assert loads_in(sample_db) == 10
    at = run()
    assert at.query_params["quarter"] == "2010/11 Q1"


# --- Figures read as something else ----------------------------------------------------------------

def test_arabic_indic_digits_are_not_read_as_numbers_or_years(catalogue: config.Catalogue) -> None:
    found = problems("indicator,area,quarter,value\nNI 16,Derbyshire,2010/11 Q1,١٢\n"
                     "NI 16,Derbyshire,٢٠١٠/١١ Q2,12\n", catalogue)
    assert found[0] == "line 2, column value: '١٢' is not a number (leave it empty if not available)"
    assert found[1].startswith("line 3, column quarter: '٢٠١٠/١١ Q2' is not a quarter")


def test_a_figure_too_large_to_mean_anything_is_refused(catalogue: config.Catalogue) -> None:
    found = problems("indicator,area,quarter,value,numerator\nNI 16,Derbyshire,2010/11 Q1,1e308,\n"
                     "NI 1,Derbyshire,2010/11 Q1,7,-2e12\n", catalogue)
    assert found == ["line 2, column value: '1e308' is too large to be a figure (the limit is 1e+12); check the number",
                     "line 3, column numerator: '-2e12' is too large to be a figure (the limit is 1e+12);"
                     " check the number"]


def test_json_output_is_strict_json_even_when_a_percentage_is_not_finite(tmp_path: Path) -> None:
    # A target so near 0 that shortfall / target * 100 overflows: percent_off is empty, never Infinity.
    yaml_text = textwrap.dedent("""\
        county: Derbyshire
        indicators:
          - {id: NI 16, name: Serious acquisitive crime rate, better: lower, targets: {2010/11: 1.0e-307}}
        """)
    (tmp_path / "cat.yaml").write_text(yaml_text, encoding="utf-8")
    (tmp_path / "q.csv").write_text("indicator,area,quarter,value\nNI 16,Derbyshire,2010/11 Q1,9.6\n",
                                    encoding="utf-8")
    db = tmp_path / "r.duckdb"
    assert cli("load", "q.csv", "--config", "cat.yaml", db=db, cwd=tmp_path).returncode == 0
    result = cli("status", "--config", "cat.yaml", "--format", "json", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    (row,) = json.loads(result.stdout, parse_constant=refuse)
    assert row["status"] == "RED" and row["percent_off"] is None and row["shortfall"] == pytest.approx(9.6)


def test_every_duplicated_column_is_reported(catalogue: config.Catalogue) -> None:
    found = problems("indicator,area,quarter,value,note,value,note,note\nNI 16,Derbyshire,2010/11 Q1,9,,,,\n",
                     catalogue)
    assert found == ["line 1, column note: column appears 3 times (keep one)",
                     "line 1, column value: column appears 2 times (keep one)"]


@pytest.mark.parametrize(("cell", "code"), [("a\x1bb", "U+001B"), ("abc\u202egpj.exe", "U+202E"),
                                            ("x\x7f", "U+007F")])
def test_invisible_control_characters_are_refused_not_stored(catalogue: config.Catalogue, cell: str,
                                                            code: str) -> None:
    found = problems(f'indicator,area,quarter,value,note\nNI 16,Derbyshire,2010/11 Q1,9,"{cell}"\n', catalogue)
    assert len(found) == 1 and found[0].startswith("line 2, column note: ")
    assert f"contains an invisible control character ({code}) (delete it, or retype the cell)" in found[0]


def test_a_million_bad_rows_are_counted_but_only_the_first_are_kept(catalogue: config.Catalogue) -> None:
    data = ("indicator,area,quarter,value\n" + "NI 20,Hgh Peak,2010/11 Q1,x\n" * 1_000_000).encode()
    checked = loading.read_upload(data, "big.csv", catalogue).checked
    assert checked.problem_count == 2_000_000 and len(checked.problems) == 500
    assert checked.problems_not_shown == 1_999_500
    assert str(checked.problems[0]) == "line 2, column area: unknown area 'Hgh Peak' (did you mean 'High Peak'?)"


def test_the_command_line_lists_the_first_problems_and_says_how_many_more(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("indicator,area,quarter,value\n" + "NI 20,Hgh Peak,2010/11 Q1,1\n" * 2000, encoding="utf-8")
    result = cli("validate", str(bad), db=tmp_path / "none.duckdb", cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and lines[0] == "bad.csv: 2000 problem(s); nothing was written."
    assert len(lines) == 502 and lines[-1] == "  … and 1500 more; correct these and check the file again."


def test_the_upload_page_shows_the_first_problems_of_a_huge_file(sample_db: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    at.default_timeout = 120
    at = upload(at, "big.csv", ("indicator,area,quarter,value\n" + "NI 20,Hgh Peak,2010/11 Q1,x\n" * 1_000_000)
                .encode())
    assert "`big.csv` has 2000000 problems, so nothing can be loaded." in text(at)
    assert len(table(at, "problems")) == 501  # the header and the first 500
    page = "".join(h.proto.body for h in at.get("html"))
    assert "The first 500 problems; 1999500 more are not listed." in page
    assert len(page.encode()) < 1_000_000  # the page, not a 230 MB message


# --- Commit, the database and the server -----------------------------------------------------------

def test_committing_a_file_already_committed_since_the_preview_says_so(sample_db: Path,
                                                                      catalogue: config.Catalogue) -> None:
    """A second click on Commit carries the version of the preview made before the first click."""
    revision = loading.read_upload(REVISION, "revision.csv", catalogue)
    with store.connect(sample_db) as con:
        first = loading.load(con, revision, analyst="Sam Analyst", expected_version=10)
        with pytest.raises(loading.AlreadyLoaded) as exc:
            loading.load(con, revision, analyst="Sam Analyst", expected_version=10)
        assert str(exc.value).startswith(f"revision.csv was already committed as load {first.load_id} by Sam Analyst"
                                         " at ")
        assert str(exc.value).endswith("; nothing more was loaded.")
        # another file since the preview is still refused as a change the analyst has not seen
        other = loading.read_upload(b"indicator,area,quarter,value\nNI 20,Erewash,2010/11 Q1,6\n", "o.csv", catalogue)
        with pytest.raises(loading.LoadRefused, match="The figures changed since your preview"):
            loading.load(con, other, expected_version=10)
    assert loads_in(sample_db) == first.load_id


def test_a_database_deleted_while_the_server_runs_is_not_rebuilt_from_the_sample(sample_db: Path) -> None:
    at = run()
    assert "RED" in text(at)
    sample_db.unlink()
    Path(f"{sample_db}.wal").unlink(missing_ok=True)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [ui.error_text(
        "The database ragboard.duckdb has disappeared since this server opened it; nothing was recreated."
        " Restore it from a backup (or run 'python -m pipelines init') and reload.")]
    assert not sample_db.exists()


READ_ONLY_PAGES = """
import sys
from streamlit.testing.v1 import AppTest
from pipelines.storage import store
for page in ("views/overview.py", "views/district.py", "views/indicator.py", "views/upload.py"):
    at = AppTest.from_file(sys.argv[1], default_timeout=60)
    at.query_params["area"] = "High Peak"
    at.run()
    if page != "views/overview.py":
        at.switch_page(page).run()
    body = "".join(h.proto.body for h in at.get("html"))
    print(page, len(at.exception), len(at.error), "data-status=\\"RED\\"" in body, flush=True)
try:
    with store.connect():
        pass
except store.StoreReadOnly as exc:
    print("write:", exc)
"""


def test_a_read_only_database_can_still_be_read(tmp_path: Path, sample_db: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "ragboard.duckdb"
    shutil.copy(sample_db, db)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGBOARD_DB": str(db)}
    script = [sys.executable, "-c", READ_ONLY_PAGES, APP]
    if os.geteuid() == 0:
        # root writes through any file mode: make the folder a read-only mount, in a namespace of its own
        mount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && exec \"$@\""
        command = ["unshare", "-m", "sh", "-c", mount, "sh", *script]
    else:
        db.chmod(0o444)
        folder.chmod(0o555)
        command = script
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[:4] == ["views/overview.py 0 0 True", "views/district.py 0 0 True",
                         "views/indicator.py 0 0 False", "views/upload.py 0 0 False"], result.stdout
    assert lines[4] == (f"write: The database {db} is read-only on this server, so nothing can be written;"
                        " reading still works. Ask the administrator to make it writable.")


COUNT_LOADS = ('import duckdb, sys; con = duckdb.connect(sys.argv[1]);'
               ' print("loads", con.execute("select max(load_id) from loads").fetchone()[0])')


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="a full file system is made with a tmpfs mount, which needs root")
def test_a_full_disk_is_one_sentence_and_changes_nothing(tmp_path: Path, sample_db: Path,
                                                        catalogue: config.Catalogue) -> None:
    data = big_file(tmp_path / "big.csv", catalogue)
    disk = tmp_path / "disk"
    disk.mkdir()
    size_kb = sample_db.stat().st_size // 1024 + 256
    python = sys.executable
    script = textwrap.dedent(f"""\
        mount -t tmpfs -o size={size_kb}k tmpfs {disk}
        cp {sample_db} {disk}/r.duckdb
        dd if=/dev/zero of={disk}/filler bs=4k 2>/dev/null
        {python} -m pipelines load {data} --db {disk}/r.duckdb
        echo "exit $?"
        rm {disk}/filler
        {python} -c '{COUNT_LOADS}' {disk}/r.duckdb
        """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == ("error: The database could not be written (No space left on device), so nothing"
                                     " was changed. Free some disk space or check the file's permissions, then try"
                                     " again.")
    assert result.stdout.split() == ["exit", "1", "loads", "10"]


def test_an_unexpected_error_shows_a_reference_never_a_traceback_and_logs_the_detail(
        caplog: pytest.LogCaptureFixture) -> None:
    from streamlit.testing.v1 import AppTest

    def failing_page() -> None:
        from dashboard.server import hide_error

        try:
            raise RuntimeError("boom in /srv/ragboard/pipelines/rules/status.py")
        except RuntimeError as exc:
            hide_error(exc)

    with caplog.at_level("ERROR", logger="ragboard.dashboard"):
        at = AppTest.from_function(failing_page).run()
    (error,) = [e.value for e in at.error]
    assert error.startswith("Something went wrong on this page, so it could not be shown.")
    assert "/srv" not in error and "boom" not in error and not at.exception
    reference = error.rsplit("reference ", 1)[1].rstrip(".")
    (record,) = [r for r in caplog.records if reference in r.getMessage()]
    assert record.exc_info and "boom in /srv/ragboard" in str(record.exc_info[1])


# --- Accounts on the pages and the command line ------------------------------------------------------

def test_an_accounts_folder_others_can_write_disables_sign_in_with_a_sentence(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    planted = shared / "analysts.json"
    planted.write_text('{"analysts": {"Mallory": "$argon2id$v=19$m=65536,t=3,p=4$x$y"}}', encoding="utf-8")
    monkeypatch.setenv("RAGBOARD_ANALYSTS", str(planted))
    at = run(UPLOAD)
    assert not at.exception
    (error,) = [e.value for e in at.error]
    # the visitor learns only that sign-in is unavailable; where and why is for the server's log
    assert error == ("Sign-in is unavailable on this server at the moment; the administrator can see why in"
                     " the server's log.")
    assert not [b for b in at.button if b.label == "Sign in"] and not at.get("file_uploader")


def test_sign_ins_are_recorded_and_listed(tmp_path: Path, sample_db: Path) -> None:
    at = sign_in(run(UPLOAD), "not the password")
    at = sign_in(at, PASSWORD)
    audit = table(at, "audit")
    assert [r[1:] for r in audit[1:3]] == [["Sam Analyst", "signed in", "–"],
                                           ["Sam Analyst", "wrong password or unknown name", "–"]]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # RAGBOARD_ANALYSTS: the accounts fixture's file
    result = subprocess.run([sys.executable, "-m", "pipelines", "sign-ins", "--limit", "3"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and lines[0].split() == ["time", "name", "outcome", "by"]
    assert "Sam Analyst  signed in" in lines[1] and "wrong password or unknown name" in lines[2]
    assert "added" in lines[3] and len(lines) == 4


def test_quarters_loaded_before_the_checks_neither_break_pages_nor_become_the_default(sample_db: Path) -> None:
    with store.connect(sample_db) as con:  # as an older version loaded them
        con.execute("INSERT INTO observations (indicator, area, quarter, qi, value, load_id) VALUES"
                    " ('NI 16', 'Derbyshire', '999/00 Q1', 3996, 9, 9),"
                    " ('NI 16', 'Derbyshire', '2099/00 Q1', 8396, 9, 9)")
    for page in ("views/overview.py", "views/district.py", "views/indicator.py"):
        at = run(page, area="High Peak")
        assert at.query_params["quarter"] == "2010/11 Q1", page


# --- Malformed workbooks reach no one as a traceback ------------------------------------------------

DAMAGED = {
    "bad shared-string index": ('<c r="A2" t="s"><v>99</v></c>', None),
    "bad date": ('<c r="C2" t="d"><v>garbage</v></c>', None),
}


@pytest.mark.parametrize("kind", [*DAMAGED, "truncated XML"])
def test_a_damaged_workbook_is_one_sentence_on_the_command_line(tmp_path: Path, kind: str) -> None:
    if kind == "truncated XML":
        data = xlsx(sheet_xml(HEADER + figures(2, 5))[:-60])
    else:
        data = xlsx(sheet_xml(HEADER + sheet_row(2, text_cell("A2", "NI 16"), DAMAGED[kind][0])))
    (tmp_path / "damaged.xlsx").write_bytes(data)
    result = cli("validate", "damaged.xlsx", db=tmp_path / "none.duckdb", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "damaged.xlsx: 1 problem(s); nothing was written."
    assert lines[1].startswith("  damaged.xlsx is damaged (") and str(ROOT) not in result.stderr


def test_a_damaged_workbook_on_the_upload_page_is_one_sentence(sample_db: Path) -> None:
    at = sign_in(run(UPLOAD), PASSWORD)
    at.get("file_uploader")[0].set_value(  # type: ignore[attr-defined]
        ("damaged.xlsx",
         xlsx(sheet_xml(HEADER + sheet_row(2, text_cell("A2", "NI 16"), DAMAGED["bad shared-string index"][0]))),
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    at = at.run()
    assert not at.exception
    assert "`damaged.xlsx` has 1 problem, so nothing can be loaded." in text(at)
    assert table(at, "problems")[1][3].startswith("damaged.xlsx is damaged (cell A2 points to shared text 99")


def test_names_and_cells_never_reach_the_terminal_as_control_sequences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                        ) -> None:
    from pipelines.storage import analysts

    accounts = tmp_path / "accounts" / "analysts.json"
    analysts.add("Sam Analyst", PASSWORD, accounts)
    attack = "\x1b]0;PWNED\x07\x1b[2J"
    with pytest.raises(analysts.AccountError):
        analysts.sign_in(attack, "guess guess guess", analysts.Throttle(), accounts)
    (tmp_path / "q.csv").write_text(f"indicator,area,quarter,value\nNI 16,{attack},2010/11 Q1,9\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGBOARD_ANALYSTS": str(accounts)}
    outputs = [subprocess.run([sys.executable, "-m", "pipelines", *command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
               for command in (["sign-ins"], ["validate", "q.csv"])]
    for result in outputs:
        assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout + result.stderr
    assert "\\x1b]0;PWNED\\x07\\x1b[2J" in outputs[0].stdout
    assert "\\x1b]0;PWNED" in outputs[1].stderr


def test_a_header_of_forty_thousand_columns_is_checked_in_linear_time(catalogue: config.Catalogue) -> None:
    import time

    header = ",".join(["indicator", "area", "quarter", "value"] + [f"c{i}" for i in range(40_000)])
    start = time.perf_counter()
    found = check(read_bytes(f"{header}\nNI 16,Derbyshire,2010/11 Q1,9\n".encode(), "wide.csv"), catalogue, TODAY)
    assert time.perf_counter() - start < 5  # quadratic, this took 21 s
    assert found.problem_count == 40_000 and str(found.problems[0]).startswith("line 1, column c0: unknown column")


def test_server_paths_are_cut_from_messages_even_with_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGBOARD_DB", "/srv/My Data/ragboard/r.duckdb")
    assert ui.hide_paths("The database /srv/My Data/ragboard/r.duckdb is busy: try again.") == (
        "The database r.duckdb is busy: try again.")
    assert ui.hide_paths("'2010 /11' is not a financial year; N/A") == "'2010 /11' is not a financial year; N/A"
    assert ui.hide_paths('Could not set lock on file "/var/lib/x/y.duckdb": Conflicting') == (
        'Could not set lock on file "y.duckdb": Conflicting')


EVIL = "![px](https://evil.example/p.png) [click](https://evil.example/x) <b>bold</b>"


def test_catalogue_text_holding_markdown_is_shown_as_text_on_every_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers import live_markdown, markdown_texts

    yaml_text = textwrap.dedent(f"""\
        name: "Board {EVIL}"
        county: "Shire {EVIL}"
        districts: ["Dale {EVIL}"]
        indicators:
          - id: NI 20
            name: "Assaults {EVIL}"
            unit: "per {EVIL}"
            description: "About {EVIL}"
            better: lower
            levels: [county, district]
            targets: {{2010/11: 7.07}}
        """)
    (tmp_path / "cat.yaml").write_text(yaml_text, encoding="utf-8")
    catalogue = config.load(tmp_path / "cat.yaml")
    csv = (f'indicator,area,quarter,value\nNI 20,"Shire {EVIL}",2010/11 Q1,7.19\n'
           f'NI 20,"Dale {EVIL}",2010/11 Q1,9\n')
    db = tmp_path / "evil.duckdb"
    with store.connect(db) as con:
        loading.load(con, loading.read_upload(csv.encode(), "evil.csv", catalogue))
    monkeypatch.setenv("RAGBOARD_CONFIG", str(tmp_path / "cat.yaml"))
    monkeypatch.setenv("RAGBOARD_DB", str(db))
    district = f"Dale {EVIL}"
    pages = [("views/overview.py", {}), ("views/indicator.py", {"area": district}),
             ("views/district.py", {"area": district}), ("views/definitions.py", {}),
             ("views/overview.py", {"indicator": "x", "area": "nowhere"}),  # the URL notices
             ("views/indicator.py", {"indicator": "nowhere"})]
    for page, params in pages:
        at = run(page, **params)
        texts = markdown_texts(at) + [h.value for h in at.header] + [p.proto.label for p in at.get("page_link")]
        body = "".join(h.proto.body for h in at.get("html"))
        # the catalogue's text is on the page (as Markdown text, or escaped inside HTML tables)...
        assert any("evil" in t for t in texts) or "&lt;b&gt;bold&lt;/b&gt;" in body, page
        assert "<b>bold" not in body, page
        assert live_markdown(at) == [], (page, live_markdown(at))  # ...but never as a link or an image
        assert not [t for t in texts if "](" in t or "![" in t], page


def test_a_private_deployment_shows_nothing_before_a_sign_in(
        fresh: Path, accounts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """require_sign_in (issue 15): the catalogue's key or $RAGBOARD_REQUIRE_SIGN_IN."""
    from helpers import PASSWORD, run, sign_in, table

    monkeypatch.setenv("RAGBOARD_REQUIRE_SIGN_IN", "1")
    at = run()
    assert [t.value for t in at.title] == ["Sign in to see the board's figures"]
    assert 'data-testid="status-grid"' not in " ".join(h.proto.body for h in at.get("html"))
    assert not at.sidebar.selectbox  # not even the quarters loaded
    sign_in(at, PASSWORD)
    assert table(at, "status-grid")[0][0] == "Indicator"
    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert [t.value for t in at.title] == ["Sign in to see the board's figures"]


def test_require_sign_in_in_the_catalogue() -> None:
    from pipelines.catalogue import config

    base = {"county": "Shire", "indicators": [{"id": "X", "name": "x", "better": "lower"}]}
    assert config.parse({**base, "require_sign_in": True}).require_sign_in
    assert not config.parse(base).require_sign_in
    with pytest.raises(config.ConfigError) as caught:
        config.parse({**base, "require_sign_in": "please"})
    assert caught.value.problems[0].startswith("require_sign_in:")
