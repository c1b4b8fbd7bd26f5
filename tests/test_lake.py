"""The lake (issue 14): ragboard on DuckLake, its catalog in a real PostgreSQL server started by the
tests and its data as Parquet in a folder. Several writer processes at once, readers meanwhile,
writers killed mid-load, undo and the snapshots, housekeeping."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import ROOT
from pipelines.storage import store

SAMPLE_QUARTER = (ROOT / "data" / "sample" / "2010-11-Q1.csv").read_text(encoding="utf-8")


def quarter_file(folder: Path, year: int, quarter: int) -> Path:
    """The sample's 2010/11 Q1 rows (27: 11 county indicators, 2 for 8 districts) as another quarter."""
    label = f"{year}/{(year + 1) % 100:02d} Q{quarter}"
    path = folder / f"q-{year}-{quarter}.csv"
    path.write_text(SAMPLE_QUARTER.replace("2010/11 Q1", label), encoding="utf-8")
    return path


def cli(*args: str, lake: str, wait: bool = True) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    env = {**os.environ, "RAGBOARD_STORE": lake}
    command = [sys.executable, "-m", "pipelines", *args]
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


# A reader in its own process: for 'seconds', each snapshot's loads and the rows each holds, a JSON
# line per read; every read in one transaction, so it is one snapshot
READER = """
import json, sys, time
from pipelines.storage import store
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    with store.connect_to_read() as con:
        con.execute("BEGIN")
        loads = dict(con.execute("SELECT load_id, rows_added + rows_revised FROM loads WHERE kind = 'load'").fetchall())
        rows = dict(con.execute("SELECT load_id, count(*) FROM observations GROUP BY load_id").fetchall())
        con.execute("COMMIT")
    print(json.dumps({"loads": loads, "rows": rows}), flush=True)
"""


def whole(snapshot: dict[str, dict[str, int]]) -> bool:
    """Every load the snapshot lists holds all its rows, and no row belongs to a load it does not list."""
    loads, rows = snapshot["loads"], snapshot["rows"]
    return set(rows) <= set(loads) and all(rows.get(load, 0) == n for load, n in loads.items())


def test_two_writers_at_once_both_land_and_a_reader_sees_only_whole_loads(lake: str, tmp_path: Path) -> None:
    files = [quarter_file(tmp_path, 2011, 1), quarter_file(tmp_path, 2011, 2)]
    assert cli("init", lake=lake).returncode == 0  # the sample: loads 1 to 10
    reader = subprocess.Popen([sys.executable, "-c", READER, "20"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "RAGBOARD_STORE": lake})
    writers = [cli("load", str(f), "--analyst", f"writer {n}", lake=lake, wait=False) for n, f in enumerate(files)]
    outputs = [w.communicate(timeout=300) for w in writers]  # type: ignore[union-attr]
    assert [w.returncode for w in writers] == [0, 0], outputs
    seen, _ = reader.communicate(timeout=60)
    snapshots = [json.loads(line) for line in seen.splitlines()]
    assert snapshots and all(whole(s) for s in snapshots)
    # each reader's snapshot held 0, 1 or 2 of the new loads, whole
    assert {len(s["loads"]) - 9 for s in snapshots} <= {0, 1, 2}  # the sample's 9 quarters, then 0 to 2
    with store.connect(lake, read_only=True) as con:
        landed = con.execute("SELECT load_id, file_name, rows_added FROM loads WHERE load_id > 10 ORDER BY 1"
                             ).fetchall()
        quarters = con.execute("SELECT qi, count(*) FROM observations WHERE qi >= 2011 * 4 GROUP BY qi ORDER BY qi"
                               ).fetchall()
    assert sorted(row[1] for row in landed) == ["q-2011-1.csv", "q-2011-2.csv"]
    assert [row[0] for row in landed] == [11, 12] and [row[2] for row in landed] == [27, 27]  # distinct ids
    assert quarters == [(2011 * 4, 27), (2011 * 4 + 1, 27)]


def test_a_writer_killed_mid_load_leaves_no_partial_load_and_loses_none_committed(lake: str, tmp_path: Path) -> None:
    assert cli("init", lake=lake).returncode == 0
    rng = random.Random(14)
    committed = 9  # the sample's quarters (load 1 is its populations)
    for n in range(4):
        path = quarter_file(tmp_path, 2012 + n, 1)
        writer = cli("load", str(path), lake=lake, wait=False)
        time.sleep(rng.uniform(0.2, 2.5))  # a random moment: starting, checking, writing or done
        writer.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        writer.wait(timeout=30)  # type: ignore[union-attr]
        with store.connect(lake, read_only=True) as con:
            loads = dict(con.execute("SELECT load_id, rows_added FROM loads WHERE kind = 'load'").fetchall())
            rows = dict(con.execute("SELECT load_id, count(*) FROM observations GROUP BY load_id").fetchall())
        assert whole({"loads": loads, "rows": rows}), (n, loads, rows)
        assert len(loads) >= committed  # nothing committed before was lost
        committed = len(loads)
    # and the lake still takes a load
    done = cli("load", str(quarter_file(tmp_path, 2020, 1)), lake=lake)
    assert done.returncode == 0, done.stderr
    assert f"load {committed + 2}: 27 rows added" in done.stdout


def test_undo_snapshots_and_housekeeping_on_a_lake(lake: str, tmp_path: Path) -> None:
    assert cli("init", lake=lake).returncode == 0
    revised = tmp_path / "revised.csv"
    revised.write_text("indicator,area,quarter,value\nNI 1,Derbyshire,2010/11 Q1,90\n", encoding="utf-8")
    assert "load 11: 0 rows added, 1 revised" in cli("load", str(revised), lake=lake).stdout
    undone = cli("undo", "11", lake=lake)
    assert undone.returncode == 0 and "1 earlier value restored" in undone.stdout
    listed = cli("loads", lake=lake).stdout.splitlines()
    header = listed[0].split()
    assert header[-1] == "snapshot"
    snapshots = [int(line.split()[-1]) for line in listed[1:]]  # newest first: each load its own snapshot
    assert snapshots == sorted(snapshots, reverse=True) and len(set(snapshots)) == 12

    def ni1() -> str:
        out = cli("status", "--indicator", "NI 1", "--area", "Derbyshire", "--format", "csv", lake=lake).stdout
        return out.splitlines()[1]

    before = ni1()
    assert before.startswith("NI 1,Derbyshire,2010/11 Q1,74.1,")  # the sample's figure, restored
    kept = cli("housekeeping", "--keep-days", "0", lake=lake)
    assert kept.returncode == 0, kept.stderr
    assert "snapshots expired" in kept.stdout and "old files deleted" in kept.stdout
    assert ni1() == before  # the same figures after the upkeep
    data_files = list((tmp_path / "lake-data").rglob("*.parquet"))
    assert len(data_files) < 15, data_files  # merged: a file a table, not one a load
    # and undo still works after old snapshots are gone (it reads the history tables)
    again = cli("load", str(revised), lake=lake)
    assert "load 13: 0 rows added, 1 revised" in again.stdout
    assert cli("undo", "13", lake=lake).returncode == 0 and ni1() == before


def test_a_lake_is_named_without_its_password(postgres: object, tmp_path: Path) -> None:
    from helpers import Postgres

    assert isinstance(postgres, Postgres)
    location = postgres.new_lake() + " password=hunter2"
    failed = cli("status", lake=location.replace(f"port={postgres.port}", "port=1"))
    assert failed.returncode == 1 and "hunter2" not in failed.stderr and "password=***" in failed.stderr


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """An S3-compatible endpoint (moto's server) on a free local port, with a bucket and the usual
    AWS variables pointing at it; the bucket's URL."""
    import urllib.request

    from helpers import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "moto.log").open("w"))
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"moto never answered: {(tmp_path / 'moto.log').read_text()}")
                time.sleep(0.2)
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/ragboard-lake", method="PUT"), timeout=10).close()
        for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch.setenv(name, value)
        yield "s3://ragboard-lake/board"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_lake_on_s3_compatible_object_storage(lake: str, s3: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGBOARD_DATA_PATH", s3)
    done = cli("init", lake=lake)
    assert done.returncode == 0, done.stderr
    status = cli("status", "--indicator", "NI 16", "--area", "Derbyshire", "--format", "csv", lake=lake)
    assert status.stdout.splitlines()[1].startswith("NI 16,Derbyshire,2010/11 Q1,9.5994677")  # 7,359 in 766,605
    import urllib.request

    with urllib.request.urlopen(f"{os.environ['AWS_ENDPOINT_URL']}/ragboard-lake?list-type=2", timeout=10) as listing:
        keys = re.findall(r"<Key>([^<]+)</Key>", listing.read().decode())
    assert keys and all(k.startswith("board/") and k.endswith(".parquet") for k in keys)  # the data, on S3


def test_a_lake_backed_up_and_restored_gives_the_same_figures(lake: str, postgres: object, tmp_path: Path) -> None:
    """docs/lake-backup.sh: the catalog dumped and the data path copied, both lost, both restored."""
    from helpers import Postgres

    assert isinstance(postgres, Postgres)
    assert cli("init", lake=lake).returncode == 0
    before = cli("status", "--format", "csv", lake=lake).stdout
    dbname = re.search(r"dbname=(\S+)", lake).group(1)  # type: ignore[union-attr]
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(postgres.port), "PGUSER": "postgres",
           "PGDATABASE": dbname}
    data, backup = Path(os.environ["RAGBOARD_DATA_PATH"]), tmp_path / "backup"
    script = str(ROOT / "docs" / "lake-backup.sh")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert run(script, "backup", str(data), str(backup)).returncode == 0
    from pipelines.storage import backend

    backend.close_lakes()  # the test process's own connection to the lake, before it is dropped
    assert run("dropdb", dbname).returncode == 0
    shutil.rmtree(data)
    assert run("createdb", dbname).returncode == 0
    restored = run(script, "restore", str(data), str(backup))
    assert restored.returncode == 0, restored.stderr
    assert cli("status", "--format", "csv", lake=lake).stdout == before
    assert run(script, "restore", str(data), str(backup)).returncode == 1  # never over a lake's data


def test_every_command_gives_the_same_answers_on_a_lake_as_on_a_file(lake: str, tmp_path: Path) -> None:
    """The sample on a lake and in a file: status (with intervals, comparisons and SPC readings), an
    XmR chart, the forecasts and the pack's tables, word for word."""
    from helpers import table_under

    file_db = tmp_path / "file.duckdb"
    assert cli("init", lake=lake).returncode == 0
    assert subprocess.run([sys.executable, "-m", "pipelines", "init", "--db", str(file_db)], cwd=ROOT,
                          capture_output=True, timeout=300, check=False).returncode == 0

    def both(*args: str) -> tuple[str, str]:
        on_lake = cli(*args, lake=lake)
        in_file = subprocess.run([sys.executable, "-m", "pipelines", *args, "--db", str(file_db)], cwd=ROOT,
                                 env={k: v for k, v in os.environ.items() if k != "RAGBOARD_STORE"},
                                 capture_output=True, text=True, timeout=300, check=False)
        assert on_lake.returncode == in_file.returncode == 0, (on_lake.stderr, in_file.stderr)
        return on_lake.stdout, in_file.stdout

    for quarter in ("2009/10 Q2", "2010/11 Q1"):
        lake_rows, file_rows = both("status", "--quarter", quarter, "--format", "csv")
        assert lake_rows == file_rows and len(lake_rows.splitlines()) == 28
    assert len(set(both("spc", "--indicator", "NI 20", "--area", "High Peak", "--format", "csv"))) == 1
    assert len(set(both("forecast", "--format", "csv"))) == 1
    both("report", "--out", str(tmp_path / "pack.html"))  # each writes the same file name in turn
    lake_pack = cli("report", "--out", str(tmp_path / "lake.html"), lake=lake)
    assert lake_pack.returncode == 0
    for heading in ("1. County overview", "2. Quarterly comparison"):
        assert table_under((tmp_path / "lake.html").read_text(encoding="utf-8"), heading) == table_under(
            (tmp_path / "pack.html").read_text(encoding="utf-8"), heading)


@pytest.mark.parametrize("page", ["views/overview.py", "views/indicator.py", "views/district.py",
                                  "views/compare.py", "views/definitions.py", "views/upload.py"])
def test_every_page_runs_on_a_lake(lake: str, page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers import pages_on, run, text

    assert cli("init", lake=lake).returncode == 0
    monkeypatch.setenv("RAGBOARD_STORE", lake)
    with pages_on(monkeypatch, Path("unused.duckdb")):
        at = run(page, quarter="2010/11 Q1", area="High Peak", indicator="NI 20")
        assert "Data version 10." in text(at)


def test_a_pack_made_again_as_published_on_a_lake(lake: str, tmp_path: Path) -> None:
    from helpers import table_under

    assert cli("init", lake=lake).returncode == 0
    assert cli("report", "--out", str(tmp_path / "first.html"), lake=lake).returncode == 0
    revised = tmp_path / "revised.csv"
    revised.write_text("indicator,area,quarter,value\nNI 1,Derbyshire,2010/11 Q1,90\n", encoding="utf-8")
    assert cli("load", str(revised), lake=lake).returncode == 0
    again = cli("report", "--as-published", "1", "--out", str(tmp_path / "again.html"), lake=lake)
    assert again.returncode == 0, again.stderr
    first, remade = ((tmp_path / name).read_text(encoding="utf-8") for name in ("first.html", "again.html"))
    assert table_under(remade, "1. County overview") == table_under(first, "1. County overview")
    # NI 1 at 74.1% against 76.8 was AMBER when pack 1 was made; revised to 90 it is GREEN now
    assert cli("report", "--out", str(tmp_path / "now.html"), lake=lake).returncode == 0
    now = (tmp_path / "now.html").read_text(encoding="utf-8")

    def ni1(text: str) -> str:
        return next(r for r in table_under(text, "1. County overview") if r[0] == "NI 1")[2]

    assert (ni1(remade), ni1(now)) == ("▲ AMBER", "● GREEN")
