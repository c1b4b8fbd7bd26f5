"""Progress on long work: the engine's callbacks, the command line's bars on a terminal (and
silence elsewhere), and the Upload page's progress while a file is read, checked and previewed."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from helpers import PASSWORD, ROOT, UPLOAD, big_file, run, sign_in, upload
from pipelines.catalogue import config, quarters
from pipelines.ingest import loading, reader, validate
from pipelines.report import pack
from pipelines.storage import store

Event = tuple[str, int, int]


def recorder() -> tuple[list[Event], loading.Progress]:
    events: list[Event] = []
    return events, lambda stage, done, total: events.append((stage, done, total))


def stage(events: list[Event], name: str) -> list[Event]:
    return [e for e in events if e[0] == name]


def assert_rises_to_total(events: list[Event]) -> None:
    """Counts never go back, the total never changes, and the last report is the total."""
    assert events, "no progress was reported"
    totals = {total for _, _, total in events}
    assert len(totals) == 1, totals
    done = [d for _, d, _ in events]
    assert done == sorted(done) and done[0] == 0 and done[-1] == events[-1][2]


def test_check_reports_rows_every_few_thousand_rows_ending_at_the_total(catalogue: config.Catalogue) -> None:
    records = [(n + 2, ["NI 20", "Chesterfield", "2010/11 Q1", "9.5"]) for n in range(12_345)]
    events, progress = recorder()
    checked = validate.check(reader.Table(["indicator", "area", "quarter", "value"], records), catalogue,
                             progress=progress)
    assert checked.problem_count == 12_344  # every row after the first repeats it: checked all the same
    assert_rises_to_total(events)
    assert {e[0] for e in events} == {validate.CHECKING}
    assert [d for _, d, _ in events] == [0, 5000, 10_000, 12_345]  # every few thousand rows, not every row


def test_reading_checking_and_loading_report_in_order(tmp_path: Path, catalogue: config.Catalogue) -> None:
    data = big_file(tmp_path / "big.csv", catalogue).read_bytes()  # 10,800 rows
    events, progress = recorder()
    up = loading.read_upload(data, "big.csv", catalogue, progress)
    assert up.ok
    assert [e[0] for e in events[:1]] == [reader.READING] and events[-1] == (validate.CHECKING, 10_800, 10_800)
    assert_rises_to_total(stage(events, reader.READING))
    assert stage(events, reader.READING)[-1][1] == len(data)  # bytes
    assert len(stage(events, reader.READING)) > 2  # reported while reading, not only at both ends
    assert_rises_to_total(stage(events, validate.CHECKING))
    with store.connect(tmp_path / "t.duckdb") as con:
        events.clear()
        result = loading.load(con, up, progress=progress)
    assert result.added == 10_800
    assert_rises_to_total(events)
    assert events[-1] == (loading.LOADING, loading.LOAD_STEPS, loading.LOAD_STEPS)


def test_without_a_callback_nothing_changes(tmp_path: Path, catalogue: config.Catalogue) -> None:
    data = big_file(tmp_path / "big.csv", catalogue).read_bytes()
    events, progress = recorder()
    assert loading.read_upload(data, "big.csv", catalogue, progress).checked.rows == \
        loading.read_upload(data, "big.csv", catalogue).checked.rows


def test_the_pack_reports_querying_each_chart_and_printing(sample_db: Path, catalogue: config.Catalogue) -> None:
    events, progress = recorder()
    with store.connect(sample_db, read_only=True) as con:
        pack.write(con, catalogue, quarters.parse("2010/11 Q1"), "html", sample_db.parent / "p.html",
                   progress=progress)
    assert [e[0] for e in events] == [pack.QUERYING] * 2 + [pack.DRAWING] * (events[-1][2] + 1)
    assert_rises_to_total(stage(events, pack.DRAWING))
    assert events[-1][2] == len([i for i in catalogue.indicators if "county" in i.levels])


# --- The command line: bars on a terminal, nothing otherwise --------------------------------------


def national(tmp_path: Path, rows: int = 200_000) -> tuple[Path, Path]:
    """A catalogue of 50 indicators for a county and 99 districts, and a file of ``rows`` rows."""
    districts = [f"District {n:02d}" for n in range(1, 100)]
    lines = ["county: Testshire", "districts:", *[f"  - {d}" for d in districts], "indicators:"]
    for n in range(50):
        lines += [f"  - id: T {n:02d}", f"    name: Test indicator {n}", "    better: lower",
                  "    levels: [county, district]", "    targets: {2000/01: 10}"]
    cfg = tmp_path / "national.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = ["indicator,area,quarter,value"]
    for qi in range(2000 * 4, 2000 * 4 + 100):
        label = quarters.label(qi)
        out += [f"T {n:02d},{area},{label},{(n + qi) % 17 + 0.25}"
                for n in range(50) for area in ["Testshire", *districts]]
        if len(out) > rows:
            break
    data = tmp_path / "national.csv"
    data.write_text("\n".join(out[:rows + 1]) + "\n", encoding="utf-8")
    return cfg, data


def on_terminal(args: list[str]) -> tuple[bytes, str, int]:
    """Run ``python -m pipelines`` with stderr on a pseudo-terminal (80 x 24): stdout, the
    terminal's text, the exit code."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "pipelines", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=child)
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert proc.stdout is not None
    out = proc.stdout.read()
    return out, seen.decode("utf-8"), proc.wait(timeout=60)


def final_lines(terminal: str) -> list[str]:
    """What the terminal shows at the end: each line as its last carriage return left it."""
    return [line.rsplit("\r", 1)[-1] for line in terminal.replace("\r\n", "\n").split("\n") if line.strip("\r")]


def piped(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=ROOT, capture_output=True, timeout=120)


def test_load_on_a_terminal_shows_bars_that_reach_100_and_a_pipe_shows_none(tmp_path: Path) -> None:
    cfg, data = national(tmp_path)
    args = ["--config", str(cfg), "load", str(data)]
    out, terminal, code = on_terminal([*args, "--db", str(tmp_path / "a.duckdb")])
    assert code == 0
    assert out == b"national.csv: load 1: 200000 rows added, 0 revised, 0 unchanged.\n"
    shown = final_lines(terminal)
    assert [line.split(":")[0] for line in shown] == ["reading the file", "checking rows", "loading"]
    assert all("100%|" in line for line in shown), shown
    assert "200000/200000" in shown[1]
    # the rows bar moved through the file, not in one jump (every 5,000 rows; redrawn at most 5 times a second)
    assert terminal.count("checking rows:") >= 3

    quiet = piped([*args, "--db", str(tmp_path / "b.duckdb")])
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (
        0, b"national.csv: load 1: 200000 rows added, 0 revised, 0 unchanged.\n", b"")


def test_validate_and_report_show_bars_only_on_a_terminal(tmp_path: Path, sample_db: Path) -> None:
    sample = ROOT / "data" / "sample" / "2010-11-Q1.csv"
    out, terminal, code = on_terminal(["validate", str(sample)])
    assert code == 0 and out.startswith(b"2010-11-Q1.csv: 27 rows OK")
    assert [line.split(":")[0] for line in final_lines(terminal)] == ["reading the file", "checking rows"]
    quiet = piped(["validate", str(sample)])
    assert (quiet.stdout, quiet.stderr) == (out, b"")

    report = ["--db", str(sample_db), "report", "--out", str(tmp_path / "pack.html")]
    out, terminal, code = on_terminal(report)
    assert code == 0 and out.startswith(b"Board pack for 2010/11 Q1 written to")
    shown = final_lines(terminal)
    assert [line.split(":")[0] for line in shown] == ["querying", "drawing charts"]
    assert all("100%|" in line for line in shown), shown
    quiet = piped(report)  # the second pack made, recorded as pack 2: the same words otherwise
    assert (quiet.stdout, quiet.stderr) == (out.replace(b"pack 1", b"pack 2").replace(b"published 1", b"published 2"),
                                            b"")


def test_the_engine_draws_nothing_itself() -> None:
    """Only the command line and the pages draw progress: no engine module imports tqdm."""
    engine = [p for p in (ROOT / "pipelines").rglob("*.py") if p.name != "cli.py"]
    assert not [p for p in engine if "tqdm" in p.read_text(encoding="utf-8")]


# --- The Upload page ----------------------------------------------------------------------------


@pytest.mark.usefixtures("fresh", "accounts")
def test_upload_page_shows_progress_then_the_preview(tmp_path: Path, catalogue: config.Catalogue,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    reports: list[Event] = []
    real_read, real_load = loading.read_upload, loading.load

    def read_upload(data: bytes, name: str, cat: config.Catalogue, progress: loading.Progress | None = None):
        assert progress is not None, "the page passes no progress callback"
        return real_read(data, name, cat, lambda *e: (reports.append(e), progress(*e)))

    def load(*args, progress: loading.Progress | None = None, **kwargs):
        assert progress is not None, "the preview passes no progress callback"
        return real_load(*args, progress=lambda *e: (reports.append(e), progress(*e)), **kwargs)

    monkeypatch.setattr(loading, "read_upload", read_upload)
    monkeypatch.setattr(loading, "load", load)
    at = sign_in(run(UPLOAD), PASSWORD)
    at = upload(at, "big.csv", big_file(tmp_path / "big.csv", catalogue).read_bytes())
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["New rows"] == "10800"  # the preview is shown
    assert_rises_to_total(stage(reports, validate.CHECKING))
    assert reports[-1] == (loading.LOADING, loading.LOAD_STEPS, loading.LOAD_STEPS)
    # the work is done: its status box and progress bar are gone, the preview took their place
    assert not at.get("progress")
    assert not at.status
