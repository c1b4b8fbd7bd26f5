"""``python -m pipelines``: validate, load, status, init, loads and undo.

Every failure is one sentence on stderr and exit code 1 (bad data, busy database) or
2 (bad command or configuration); never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.catalogue import config, quarters
from pipelines.storage import store

# The ingest modules are imported by the commands that read files: ``status`` starts without them.
if TYPE_CHECKING:
    from pipelines.ingest.reader import Progress


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _common(default: Any) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=default,
                        help="indicator catalogue (default: $RAGBOARD_CONFIG or indicators.yaml)")
    common.add_argument("--db", default=default, help="DuckDB file (default: $RAGBOARD_DB or data/ragboard.duckdb)")
    common.add_argument("--store", default=default,
                        help="the store: a DuckDB file, or a lake 'ducklake:postgres:<connection string>'"
                             " (default: $RAGBOARD_STORE, else --db)")
    common.add_argument("--data-path", default=default,
                        help="a lake's data folder or s3://bucket/prefix (default: $RAGBOARD_DATA_PATH)")
    return common


# How a quarter's status is judged: by the rules in force in that quarter, or by today's
RULES = ("in-force", "current")
# The accounts' roles (pipelines.storage.analysts.ROLES, without importing argon2 at start-up)
ROLE_CHOICES = ("reader", "district_lead", "analyst", "admin")


def _parser() -> argparse.ArgumentParser:
    # --config and --db may come before or after the command; after it, they must not reset
    # a value given before it, hence SUPPRESS on the commands' copies.
    parser = argparse.ArgumentParser(prog="python -m pipelines", parents=[_common(None)],
                                     description="ragboard: quarterly indicators and their RAG status.")
    common = _common(argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("validate", parents=[common], help="check a quarterly CSV; writes nothing")
    p.add_argument("file")
    p = sub.add_parser("load", parents=[common], help="validate, then load a quarterly CSV in one transaction")
    p.add_argument("file")
    p.add_argument("--analyst", help="who is loading (recorded with the load)")
    p = sub.add_parser("load-populations", parents=[common],
                       help="validate, then load a CSV of populations (area, year, population) in one transaction")
    p.add_argument("file")
    p.add_argument("--analyst", help="who is loading (recorded with the load)")
    p = sub.add_parser("status", parents=[common], help="every indicator's status for a quarter")
    p.add_argument("--quarter", help="e.g. '2010/11 Q1' (default: the latest loaded)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--area", help="one area: the county, a district, or any area of the catalogue's tree")
    where.add_argument("--under", metavar="AREA", help="an area and every area below it in the tree")
    p.add_argument("--indicator", help="e.g. 'NI 16'")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--rules", choices=RULES, default=RULES[0],
                   help="in-force (default): each quarter under the rules in force then, as its amber band's"
                        " dated versions say; current: every quarter under today's rules")
    p = sub.add_parser("forecast", parents=[common],
                       help="each indicator's year-end forecast, its 90% interval and the chance of meeting the target")
    p.add_argument("--quarter", help="as of this quarter, using no later figure (default: the latest loaded)")
    p.add_argument("--indicator", help="e.g. 'NI 16'")
    p.add_argument("--area", help="one area (default: every area)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p = sub.add_parser("spc", parents=[common],
                       help="an indicator's XmR chart for an area: mean, limits, special causes, readings")
    p.add_argument("--indicator", required=True, help="e.g. 'NI 16'")
    p.add_argument("--area", help="the county or a district (default: the county)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p = sub.add_parser("init", parents=[common], help="create the database from data/sample/")
    p.add_argument("--force", action="store_true",
                   help="load the sample even into a database that already holds loads")
    sub.add_parser("loads", parents=[common], help="list the loads, newest first")
    p = sub.add_parser("housekeeping", parents=[common],
                       help="a lake's upkeep: merge small files, expire old snapshots, delete files none needs")
    p.add_argument("--keep-days", type=int, default=30,
                   help="keep the snapshots of this many days for reading back (default 30)")
    p = sub.add_parser("undo", parents=[common], help="reverse a load, restoring the values it replaced")
    p.add_argument("load_id", type=int)
    p.add_argument("--analyst", help="who is undoing (recorded with the undo)")
    p = sub.add_parser("report", parents=[common], help="the quarterly board pack as HTML or PDF")
    p.add_argument("--quarter", help="e.g. '2010/11 Q1' (default: the latest loaded)")
    p.add_argument("--format", choices=("html", "pdf"), default="html")
    p.add_argument("--out", required=True, help="the file to write")
    p.add_argument("--exceptions-only", action="store_true", help="only the AMBER, RED and GREY indicators")
    p.add_argument("--area", help="the pack of another area of the catalogue's tree and the areas under it"
                                  " (default: the home, the county)")
    p.add_argument("--as-published", type=int, metavar="N",
                   help="make pack N (see 'packs') again as it was published: its quarter, options, figures"
                        " and catalogue")
    p.add_argument("--analyst", help="who is making the pack (recorded with it)")
    sub.add_parser("packs", parents=[common], help="list the packs made with 'report', newest first")
    p = sub.add_parser("add-analyst", parents=[common],
                       help="create an analyst account (asks for the password; $RAGBOARD_ANALYSTS names the file)")
    p.add_argument("name")
    p.add_argument("--role", choices=ROLE_CHOICES, default="analyst",
                   help="reader, district_lead (with --area), analyst (default) or admin")
    p.add_argument("--area", action="append", default=[], help="a district lead's area (repeat for each)")
    p = sub.add_parser("set-role", parents=[common], help="give an account a role (recorded in the audit log)")
    p.add_argument("name")
    p.add_argument("role", choices=ROLE_CHOICES)
    p.add_argument("--area", action="append", default=[], help="a district lead's area (repeat for each)")
    sub.add_parser("accounts", parents=[common], help="every account and its role")
    p = sub.add_parser("remove-analyst", parents=[common], help="delete an analyst account")
    p.add_argument("name")
    p = sub.add_parser("sign-ins", parents=[common],
                       help="recent sign-ins and account changes, newest first (the accounts' audit log)")
    p.add_argument("--limit", type=int, default=50, help="how many entries (default 50)")
    return parser


def _unreadable_file() -> type[Exception]:
    """The reader's error, imported only while an exception is being handled."""
    from pipelines.ingest.reader import UnreadableFile

    return UnreadableFile


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # --store names the store as $RAGBOARD_STORE does (a file is --db); secrets stay in the environment
    if getattr(args, "store", None):
        if args.store.startswith("ducklake:"):
            os.environ["RAGBOARD_STORE"] = args.store
        else:
            args.db = args.store
    if getattr(args, "data_path", None):
        os.environ["RAGBOARD_DATA_PATH"] = args.data_path
    try:
        code = _COMMANDS[args.command](args)
        sys.stdout.flush()  # here, so a reader that went away is caught below, not at exit
        return code
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except config.ConfigError as exc:
        print(f"error: {exc.path} cannot be used:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (store.StoreBusy, store.StoreError, _unreadable_file()) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`status | head -1`): not an error. Point stdout at nothing so the
        # interpreter's final flush does not fail on the closed pipe too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}.", file=sys.stderr)
        return 1
    except (duckdb.IOException, duckdb.TransactionException) as exc:
        # A full disk or a file the system will not let us write (at COMMIT, DuckDB reports it as a
        # failed transaction): DuckDB has rolled back.
        print(f"error: {store.io_failure(exc)}", file=sys.stderr)
        return 1


class _Bars:
    """Progress on a terminal: one tqdm bar per stage the engine reports, on stderr."""

    def __init__(self, units: dict[str, str]) -> None:
        from tqdm import tqdm  # imported only when stderr is a terminal: scripts never pay for it

        self._tqdm = tqdm
        from pipelines.ingest.reader import READING
        from pipelines.ingest.validate import CHECKING

        self._units = {READING: "B", CHECKING: " rows", **units}
        self._bar: Any = None
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage or self._bar is None:
            self.close()
            unit = self._units.get(stage, "")
            self._stage = stage
            try:
                width, height = os.get_terminal_size(sys.stderr.fileno())
            except OSError:
                width = height = 0
            # a terminal that reports no size (0 x 0, as a bare pseudo-terminal does) gets 80 x 24:
            # with 0 rows tqdm draws nothing at all
            self._bar = self._tqdm(
                total=total, desc=stage, file=sys.stderr, leave=True, ncols=width or 80, nrows=height or 24,
                dynamic_ncols=bool(width and height), mininterval=0.2,
                unit=unit or "it", unit_scale=unit == "B", unit_divisor=1024 if unit == "B" else 1000,
                # a stage of one step (querying, printing) or of unnamed steps: no counts, no rate
                bar_format=None if unit else "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}]")
        if total != self._bar.total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextmanager
def _progress(**units: str) -> Iterator[Progress | None]:
    """A progress callback drawing bars on stderr if it is a terminal; otherwise None, so the
    engine reports nothing and the output is what it always was (scripts, pipes, tests).
    ``units`` names what some stages count (for a stage, its unit)."""
    if not sys.stderr.isatty():
        yield None
        return
    bars = _Bars(units)
    try:
        yield bars
    finally:
        bars.close()


def _catalogue(args: argparse.Namespace) -> config.Catalogue:
    return config.load(args.config)


def _ensure_database(args: argparse.Namespace, catalogue: config.Catalogue) -> None:
    """With the sample catalogue, a first run builds the sample database; with any other, the sample
    would not match it, so say how to load the first quarter instead."""
    path = store.file_path(args.db)
    if path is None or path.exists():  # a lake is made by its first load ('init' loads the sample)
        return
    if config.config_path(args.config).resolve() != config.DEFAULT_CONFIG.resolve():
        raise CliError(f"Nothing is loaded yet: there is no database at {path}. Load a quarter first with"
                       f" 'python -m pipelines load FILE.csv' (it creates the database).")
    print(f"No database at {path}; creating it from {store.SAMPLE_DIR}.", file=sys.stderr)
    _init(args, catalogue, quiet=True)


def cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.ingest.loading import read_file

    catalogue = _catalogue(args)
    with _progress() as progress:
        upload = read_file(args.file, catalogue, progress)
    if upload.ok:
        print(upload.checked.summary(Path(args.file).name))
        return 0
    _print_problems(args.file, upload.checked.problems)
    return 1


def _print_problems(name: str, problems: list[Any]) -> None:
    from pipelines.ingest.validate import count

    total = count(problems)
    print(f"{Path(name).name}: {total} problem(s); nothing was written.", file=sys.stderr)
    for problem in problems:
        print(printable(f"  {problem}" if problem.line else f"  {problem.reason}"), file=sys.stderr)
    if total > len(problems):
        print(f"  … and {total - len(problems)} more; correct these and check the file again.", file=sys.stderr)


def cmd_load(args: argparse.Namespace) -> int:
    from pipelines.ingest.loading import LoadRefused, load, read_file

    catalogue = _catalogue(args)
    with _progress() as progress:
        upload = read_file(args.file, catalogue, progress)
    if not upload.ok:
        _print_problems(args.file, upload.checked.problems)
        return 1
    with store.connect(args.db) as con:
        try:
            with _progress() as progress:  # the transaction's steps: a bar without counts
                # the command prints only the counts, so no rows are listed for it
                result = load(con, upload, analyst=args.analyst, progress=progress, detail_limit=0)
        except LoadRefused as exc:
            raise CliError(str(exc)) from None
    print(f"{Path(args.file).name}: {result.summary()}.")
    return 0


def cmd_load_populations(args: argparse.Namespace) -> int:
    from pipelines.ingest import populations
    from pipelines.ingest.loading import LoadRefused

    catalogue = _catalogue(args)
    upload = populations.read_file(args.file, catalogue)
    if not upload.ok:
        _print_problems(args.file, upload.problems)
        return 1
    with store.connect(args.db) as con:
        try:
            result = populations.load(con, upload, analyst=args.analyst)
        except LoadRefused as exc:
            raise CliError(str(exc)) from None
    print(f"{Path(args.file).name}: {result.summary()}.")
    return 0


def _init(args: argparse.Namespace, catalogue: config.Catalogue, quiet: bool = False) -> int:
    from pipelines.ingest.loading import LoadRefused, create_from_sample, load_sample, sample_files

    path = store.file_path(args.db)
    files = sample_files()  # the populations (data/sample/populations/), then the quarters
    try:
        if path is not None and not path.exists():
            results = create_from_sample(path, catalogue)
        else:
            with store.connect(args.db) as con:
                loaded = store.latest_load_id(con)
                if loaded and not getattr(args, "force", False):
                    raise CliError(
                        f"The database {store.label(args.db)} already holds {loaded} load(s); loading the sample"
                        " would overwrite revised figures. Use 'init --force' to load it anyway (it can be undone).")
                results = load_sample(con, catalogue, analyst="init")
    except LoadRefused as exc:
        raise CliError(str(exc)) from None
    if not quiet:
        for f, result in zip(files, results, strict=True):
            print(f"{f.relative_to(store.SAMPLE_DIR)}: {result.summary()}.")
        print(f"Database ready at {store.label(args.db)}.")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    return _init(args, _catalogue(args))


def _known(catalogue: config.Catalogue, area: str | None, indicator: str | None) -> None:
    """Refuse an area or indicator the catalogue does not name, suggesting the closest."""
    if area and area not in catalogue.areas:
        raise CliError(f"Unknown area '{area}'{config.suggest(area, catalogue.areas)}", 2)
    ids = [i.id for i in catalogue.indicators]
    if indicator and indicator not in ids:
        raise CliError(f"Unknown indicator '{indicator}'{config.suggest(indicator, ids)}", 2)


def cmd_status(args: argparse.Namespace) -> int:
    from pipelines.present import words

    catalogue = _catalogue(args)
    if args.rules == "current":
        catalogue = catalogue.current_rules()
    _known(catalogue, args.area or args.under, args.indicator)
    _ensure_database(args, catalogue)
    areas = [args.area] if args.area else list(catalogue.under(args.under)) if args.under else None
    indicators = [args.indicator] if args.indicator else None
    with store.connect(args.db, read_only=True) as con:
        qi = _quarter(args, con)
        if args.format == "csv":  # DuckDB makes the lines: the bytes _write would write, sooner
            text = words.status_csv(con, catalogue, [qi], areas, indicators, words.CLI_COLUMNS)
        else:
            columns, rows = words.status_table(con, catalogue, [qi], areas, indicators, words.CLI_COLUMNS)
    if args.format == "csv":
        sys.stdout.write(text)
    else:
        _write(rows, columns, args.format)
    return 0


# The spc command's columns: a row per quarter with a figure, the readings filled on the last
SPC_COLUMNS = ["quarter", "value", "mean", "lower_limit", "upper_limit", "special_cause", "point_type",
               "variation", "assurance"]


def cmd_spc(args: argparse.Namespace) -> int:
    from pipelines.stats import spc

    catalogue = _catalogue(args)
    area = args.area or catalogue.county
    _known(catalogue, area, args.indicator)
    if not catalogue.in_scope(catalogue.indicator(args.indicator), area):
        raise CliError(f"{args.indicator} is not measured for {area}; choose the county or another indicator.", 2)
    _ensure_database(args, catalogue)
    with store.connect(args.db, read_only=True) as con:
        quarter_indexes = [q for q in store.loaded_quarters(con) if quarters.acceptable(q)]
        points = spc.chart(con, catalogue, args.indicator, area, quarter_indexes)
    if not points:
        raise CliError(f"{args.indicator} has no figures for {area} yet; load some first.")
    # special_cause as the words true and false in every format but JSON, which has its own
    said = (lambda b: b) if args.format == "json" else (lambda b: "true" if b else "false")
    rows = [tuple(said(p[c]) if c == "special_cause" else p[c] for c in SPC_COLUMNS) for p in points]
    _write(rows, SPC_COLUMNS, args.format)
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from pipelines.stats import forecast

    catalogue = _catalogue(args)
    _known(catalogue, args.area, args.indicator)
    _ensure_database(args, catalogue)
    with store.connect(args.db, read_only=True) as con:
        qi = _quarter(args, con)
        found = forecast.outlooks(con, catalogue, qi, [args.area] if args.area else None,
                                  [args.indicator] if args.indicator else None)
    rows = [tuple(forecast.row(o)[c] for c in forecast.COLUMNS) for o in found]
    _write(rows, list(forecast.COLUMNS), args.format)
    return 0


def _quarter(args: argparse.Namespace, con: Any) -> int:
    if args.quarter:
        try:
            return quarters.parse(args.quarter)
        except quarters.QuarterError as exc:
            raise CliError(str(exc), 2) from None
    loaded = [q for q in store.loaded_quarters(con) if quarters.acceptable(q)]
    if not loaded:
        raise CliError("No figures are loaded yet; load a quarter with 'python -m pipelines load FILE.csv'.")
    return loaded[-1]


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import datetime

    from pipelines.report import pack
    from pipelines.storage import versions

    folder = Path(args.out).resolve().parent
    if not folder.is_dir():
        raise CliError(f"The folder {folder} does not exist; create it or choose another --out.")
    if args.as_published is not None:
        return _report_as_published(args)
    catalogue = _catalogue(args)
    _known(catalogue, args.area, None)
    _ensure_database(args, catalogue)
    home = catalogue.rehomed(args.area) if args.area else catalogue
    made_at = datetime.now()
    with store.connect(args.db, read_only=True) as con:
        qi = _quarter(args, con)
        load_id = store.latest_load_id(con)
        try:
            with _progress(**{pack.DRAWING: " charts"}) as progress:
                out = pack.write(con, home, qi, args.format, args.out, args.exceptions_only, progress)
        except pack.ReportError as exc:
            raise CliError(str(exc)) from None
    # recorded once written, with the figures' version and the catalogue's text it used
    with store.connect(args.db) as con:
        pack_id = versions.record_pack(con, made_at=made_at, qi=qi, area=args.area,
                                       exceptions_only=args.exceptions_only, fmt=args.format, file_name=out.name,
                                       load_id=load_id, source=catalogue.source, analyst=args.analyst)
    print(f"Board pack for {quarters.label(qi)} written to {out}.")
    print(f"Recorded as pack {pack_id}: 'report --as-published {pack_id}' makes it again as published.")
    return 0


def _report_as_published(args: argparse.Namespace) -> int:
    from pipelines.report import pack
    from pipelines.storage import versions

    if args.quarter or args.area or args.exceptions_only:
        raise CliError("--as-published makes the pack with its own quarter, area and options; leave out"
                       " --quarter, --area and --exceptions-only.", 2)
    with store.connect(args.db, read_only=True) as con:
        made = versions.pack(con, args.as_published)
        if made is None:
            raise CliError(f"There is no pack {args.as_published}; 'python -m pipelines packs' lists them.", 2)
        text = versions.catalogue_text(con, made.catalogue_sha256) if made.catalogue_sha256 else None
        if text is None:
            raise CliError(f"Pack {made.pack_id} was made with a catalogue that was not recorded, so it cannot be"
                           " made again as published.")
        try:
            catalogue = config.from_bytes(text, f"the catalogue of pack {made.pack_id}")
        except config.ConfigError as exc:
            raise CliError(str(exc)) from None
        if made.area:
            catalogue = catalogue.rehomed(made.area)
        try:
            with versions.as_of(con, made.load_id, made.made_at), _progress(**{pack.DRAWING: " charts"}) as progress:
                out = pack.write(con, catalogue, made.qi, args.format, args.out, made.exceptions_only, progress,
                                 pack.Published(made.pack_id, made.made_at))
        except pack.ReportError as exc:
            raise CliError(str(exc)) from None
    print(f"Board pack {made.pack_id} for {quarters.label(made.qi)}, as published on"
          f" {made.made_at:%d %B %Y at %H:%M}, made again in {out}.")
    return 0


def cmd_packs(args: argparse.Namespace) -> int:
    from pipelines.storage import versions

    with store.connect(args.db, read_only=True) as con:
        made = versions.packs(con)
    columns = ["pack_id", "made_at", "quarter", "area", "exceptions_only", "format", "file_name", "load_id",
               "catalogue", "analyst"]
    _write([(p.pack_id, p.made_at, quarters.label(p.qi), p.area, p.exceptions_only, p.format, p.file_name,
             p.load_id, (p.catalogue_sha256 or "")[:12], p.analyst) for p in made], columns, "table")
    return 0


def cmd_loads(args: argparse.Namespace) -> int:
    from pipelines.ingest.loading import loads

    with store.connect(args.db, read_only=True) as con:  # reads only; a mistyped --db is refused
        rows = loads(con)
        snapshots = store.load_snapshots(con)
    columns = ["load_id", "loaded_at", "kind", "file_name", "analyst", "rows_added", "rows_revised",
               "rows_unchanged", "rows_removed", "undoes", "undone_by", "sha256", "catalogue"]
    # the catalogue it was checked against, by its SHA-256's first 12 characters (none before it was kept)
    rows = [{**r, "catalogue": (r.get("catalogue_sha256") or "")[:12]} for r in rows]
    if snapshots:  # a lake: the snapshot each load committed as
        columns.append("snapshot")
        rows = [{**r, "snapshot": snapshots.get(r["load_id"])} for r in rows]
    _write([tuple(r[c] for c in columns) for r in rows], columns, "table")
    return 0


def cmd_housekeeping(args: argparse.Namespace) -> int:
    if args.keep_days < 0:
        raise CliError("--keep-days must be 0 or more.", 2)
    with store.connect(args.db) as con:
        done = store.housekeeping(con, args.keep_days)
    if not done:
        print(f"{store.label(args.db)} is a DuckDB file: checkpointed; it needs no other upkeep.")
    else:
        print(f"{store.label(args.db)}: " + ", ".join(f"{n} {what}" for what, n in done.items()) + ".")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from pipelines.ingest.loading import LoadRefused, undo
    from pipelines.ingest.validate import plural

    with store.connect(args.db, create=False) as con:
        try:
            result = undo(con, args.load_id, analyst=args.analyst)
        except LoadRefused as exc:
            raise CliError(str(exc)) from None
    print(f"Load {args.load_id} undone (recorded as load {result.load_id}):"
          f" {plural(result.revised, 'earlier value')} restored.")
    return 0


def _ask_password() -> str:
    import getpass

    if not sys.stdin.isatty():  # a script pipes the password in
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise CliError("The two passwords differ; nothing was changed.")
    return first


def _operator() -> str:
    """Who changed an account from the command line, for the audit log."""
    import getpass

    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):  # no name for this user id (a bare container)
        return "command line"


def _role(args: argparse.Namespace) -> Any:
    """The role the command names, its areas checked against the catalogue."""
    from pipelines.storage import analysts

    if args.area:
        catalogue = _catalogue(args)
        for area in args.area:
            _known(catalogue, area, None)
    try:
        return analysts.check_role(analysts.Role(args.role, tuple(args.area)))  # before a password is asked
    except analysts.AccountError as exc:
        raise CliError(str(exc), 2) from None


def cmd_add_analyst(args: argparse.Namespace) -> int:
    from pipelines.storage import analysts

    role = _role(args)
    try:
        analysts.add(args.name, _ask_password(), by=_operator(), role=role if role != analysts.ANALYST else None)
    except analysts.AccountError as exc:
        raise CliError(str(exc)) from None
    who = f"Analyst '{args.name}'" if role == analysts.ANALYST else f"'{args.name}' ({role.words()})"
    print(f"{who} can now sign in (accounts in {analysts.accounts_path()}).")
    return 0


def cmd_set_role(args: argparse.Namespace) -> int:
    from pipelines.storage import analysts

    role = _role(args)
    try:
        analysts.set_role(args.name, role, by=_operator())
    except analysts.AccountError as exc:
        raise CliError(str(exc)) from None
    said = role.words()
    print(f"'{args.name}' is now {'an' if said[0] in 'aeiou' else 'a'} {said}.")
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    from pipelines.storage import analysts

    try:
        found = analysts.accounts()
    except analysts.AccountError as exc:
        raise CliError(str(exc)) from None
    _write([(name, role.role, ", ".join(role.areas)) for name, role in found], ["name", "role", "areas"], "table")
    return 0


def cmd_remove_analyst(args: argparse.Namespace) -> int:
    from pipelines.storage import analysts

    try:
        analysts.remove(args.name, by=_operator())
    except analysts.AccountError as exc:
        raise CliError(str(exc)) from None
    print(f"Analyst '{args.name}' removed.")
    return 0


def cmd_sign_ins(args: argparse.Namespace) -> int:
    from pipelines.storage import analysts

    try:
        entries = analysts.audit(limit=max(args.limit, 1))
    except analysts.AccountError as exc:
        raise CliError(str(exc)) from None
    columns = ["time", "name", "outcome", "by"]
    _write([tuple(e.get(c) for c in columns) for e in entries], columns, "table")
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1e15 else f"{value:g}"
    return printable(str(value))


# Characters a terminal would act on rather than show (escape sequences can retitle the window,
# clear it or rewrite earlier lines) and the bidirectional overrides: a file's cells and names
# typed into the sign-in form reach the analyst's terminal through `validate` and `sign-ins`.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The text with every control character written as an escape (\\x1b), never sent as itself."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _write(rows: list[tuple[Any, ...]], columns: list[str], fmt: str) -> None:
    if fmt == "json":
        # Strict JSON: a number that is not finite is written as null, never as Infinity or NaN.
        records = [{c: _finite(v) for c, v in zip(columns, r, strict=True)} for r in rows]
        json.dump(records, sys.stdout, indent=1, default=str, allow_nan=False)
        print()
    elif fmt == "csv":
        from pipelines.present import export

        export.write_rows(sys.stdout, columns, rows)
    else:
        cells = [[_cell(v) for v in r] for r in rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
        for row in cells:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


_COMMANDS = {
    "validate": cmd_validate, "load": cmd_load, "status": cmd_status, "init": cmd_init,
    "loads": cmd_loads, "undo": cmd_undo, "add-analyst": cmd_add_analyst,
    "remove-analyst": cmd_remove_analyst, "report": cmd_report, "sign-ins": cmd_sign_ins,
    "load-populations": cmd_load_populations, "spc": cmd_spc,
    "forecast": cmd_forecast, "packs": cmd_packs, "housekeeping": cmd_housekeeping,
    "set-role": cmd_set_role, "accounts": cmd_accounts,
}
