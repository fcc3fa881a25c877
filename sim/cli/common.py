"""What every command shares: exit codes, option types, run options, progress, printing.

Nothing heavy is imported at module level, so ``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.load import Loaded

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

TABLE_WIDTH = 100
"""The widest line a printed table may have unless ``--wide`` is given."""


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: what is wrong and where to look."""

    def error(self, message: str) -> NoReturn:
        """Print ``error: <prog>: <message>`` and exit with status 2."""
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message} (see '{self.prog} --help')\n")


def whole_number(text: str, low: int, high: int, what: str) -> int:
    """``text`` as an integer in [low, high], or an argparse error saying what is allowed."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high} ({what})")
    return value


def positive_int(text: str) -> int:
    """Argparse type: an integer >= 1."""
    return whole_number(text, 1, 10**9, "a positive whole number")


def in_range(kind: type, low: float, high: float, what: str = "") -> Callable[[str], float | int]:
    """Argparse type: a number of ``kind`` (``int`` or ``float``) from ``low`` to ``high``."""
    what = what or ("a whole number" if kind is int else "a number")

    def parse(text: str) -> float | int:
        if kind is int:
            return whole_number(text, int(low), int(high), what)
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:  # NaN fails too
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g}..{high:g} ({what})")
        return value

    return parse


def bounded(path: str) -> Callable[[str], int]:
    """Argparse type: a whole number within the bounds the registry gives ``path``."""

    def parse(text: str) -> int:
        from sim.scenario.registry import parameter

        param = parameter(path)
        return whole_number(text, param.low, param.high, f"the bounds of {path}")

    parse.__name__ = path.rpartition(".")[2]
    return parse


def workers_count(text: str) -> int:
    """Argparse type: worker processes, at most four per core of this machine."""
    from sim.experiment.backends import default_workers

    most = 4 * default_workers()
    return whole_number(text, 1, most, "at most 4 per core here; a Dask cluster runs more")


def port_number(text: str) -> int:
    """Argparse type: a TCP port."""
    return whole_number(text, 1, 65535, "a TCP port")


def timestamp() -> str:
    """A folder-friendly UTC timestamp."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")


def add_run_options(parser: argparse.ArgumentParser, *, workers_default: int | None = 1) -> None:
    """Options shared by commands that run replications (and ``--set``)."""
    parser.add_argument("--reps", type=bounded("run.replications"), metavar="N",
                        help="replications (default: the scenario's run.replications)")
    parser.add_argument("--days", type=bounded("run.days"), metavar="DAYS",
                        help="horizon in days (default: the scenario's run.days)")
    parser.add_argument("--seed", type=bounded("run.seed"), metavar="SEED",
                        help="root seed (default: the scenario's run.seed)")
    add_set_option(parser)
    add_backend_options(parser, workers_default=workers_default)
    parser.add_argument("--out", type=Path, metavar="DIR", help="output folder")


def add_engine_options(parser: argparse.ArgumentParser, *, tables: bool = False) -> None:
    """``--engine agents|ensemble`` (and ``--tables all|summary``)."""
    parser.add_argument("--engine", choices=("agents", "ensemble"), default="agents",
                        help="agents: the Mesa agent model (default); ensemble: the same "
                        "model on arrays, many replications at once, the same tables for "
                        "the same seeds (docs/performance.md)")
    if tables:
        parser.add_argument("--tables", choices=("all", "summary"), default="all",
                            help="all: daily, event and summary tables (default); summary: "
                            "summary.csv only (sweeps of many replications)")


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set PATH=VALUE`` (repeatable): override any parameter without writing a file."""
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        metavar="PATH=VALUE",
                        help="set a parameter by its path, e.g. --set "
                        "levers.government.pressure=0.6 (repeatable; `sim params` lists paths)")


def add_backend_options(parser: argparse.ArgumentParser, *, workers_default: int | None) -> None:
    """Where replications run: ``--workers``, ``--scheduler``, ``--backend``."""
    shown = "the number of cores available" if workers_default is None else str(workers_default)
    parser.add_argument("--workers", type=workers_count, default=workers_default, metavar="W",
                        help=f"worker processes (default: {shown})")
    parser.add_argument("--scheduler", metavar="tls://HOST:PORT",
                        help="run on a Dask cluster through this scheduler (default: the "
                        "SIM_SCHEDULER environment variable); see docs/performance.md")
    parser.add_argument("--tls-ca-file", metavar="FILE",
                        help="certificate authority of the cluster (tls:// schedulers)")
    parser.add_argument("--tls-cert", metavar="FILE", help="this client's certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="this client's private key")
    parser.add_argument("--backend", choices=("serial", "processes", "dask"),
                        help="where replications run (default: dask with a scheduler, else "
                        "processes when --workers > 1, else this process)")


def start_backend(args: argparse.Namespace, workers: int) -> Any:
    """The backend the options ask for, started (workers forked, or the cluster connected).

    Says on standard error which Dask scheduler a run uses when it comes from
    ``SIM_SCHEDULER``, and warns when a scheduler is reached over plain ``tcp://`` from
    another host (no encryption, no authentication: anyone who can reach it can run code
    on the workers).

    Raises:
        UsageError: for a backend that cannot be used as asked.

    """
    from sim.experiment import backends

    address, source = backends.scheduler_address(args.scheduler)
    if address and (args.backend in (None, "dask")):
        if source == backends.SCHEDULER_ENV:
            print(f"using the Dask scheduler {address} (from {backends.SCHEDULER_ENV})",
                  file=sys.stderr)
        if backends.is_open_address(address):
            print(f"warning: {address} is plain tcp:// from another host: no encryption and no "
                  "authentication; use tls:// with --tls-ca-file, --tls-cert and --tls-key "
                  "(docs/performance.md)", file=sys.stderr)
    try:
        security = backends.tls_security(args.tls_ca_file, args.tls_cert, args.tls_key)
        engine = backends.make_backend(args.backend, workers, args.scheduler, security)
    except backends.BackendError as exc:
        raise UsageError(str(exc)) from None
    engine.start()
    return engine


def parse_sets(sets: Sequence[str]) -> dict[str, Any]:
    """``--set`` options as {path: value}; values are read as TOML values.

    Raises:
        UsageError: for an option without ``=``.

    """
    from sim.scenario.registry import parse_assignment

    changes: dict[str, Any] = {}
    for text in sets:
        try:
            path, value = parse_assignment(text)
        except ValueError as exc:
            raise UsageError(f"--set {exc}") from None
        changes[path] = value
    return changes


def load_scenario(target: str | Path, sets: Sequence[str] = ()) -> Loaded:
    """Load a scenario (name or path) and apply ``--set`` options to it."""
    from dataclasses import replace

    from sim.scenario.load import load_with_sources, override

    loaded = load_with_sources(target)
    changes = parse_sets(sets)
    if not changes:
        return loaded
    return replace(loaded, scenario=override(loaded.scenario, changes, source="(--set)"))


def progress_bar(total: int, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A tqdm bar that appears only for runs longer than about two seconds.

    Returns ``update(done)`` and ``close()``. The first ``update`` gives the runs done
    before this session (0 for a new run, more for a resumed one), so that the rate and
    the time left count only the runs done now.
    """
    import tqdm

    bar = None

    def update(done: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm.tqdm(total=total, initial=done, desc=label, unit="run", delay=2.0,
                            file=sys.stderr, disable=None, leave=False)
        else:
            bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close


def format_intervals(table: pd.DataFrame) -> str:
    """Aligned text table of metric, mean and 95% interval (one number format per metric)."""
    from tabulate import tabulate

    rows = []
    for r in table.itertuples():
        places = decimals([r.mean, r.ci_low, r.ci_high])
        rows.append([r.metric, number(r.mean, places),
                     f"[{number(r.ci_low, places)}, {number(r.ci_high, places)}]", r.n])
    return tabulate(rows, headers=["metric", "mean", "95% interval", "n"],
                    colalign=("left", "right", "right", "right"), disable_numparse=True)


def decimals(values: Iterable[float]) -> int:
    """Decimal places for a column of numbers: 3 up to 1 (shares), 2 below 10, else 1.

    Chosen from the largest finite magnitude in ``values``, so that every number of a
    column (or of one metric) is printed alike.
    """
    finite = [abs(float(x)) for x in values if x == x and abs(float(x)) != float("inf")]
    largest = max(finite, default=0.0)
    return 3 if largest <= 1 else 2 if largest < 10 else 1


def number(x: float, places: int | None = None, sign: bool = False) -> str:
    """A number with ``places`` decimals (default: :func:`decimals` of ``x`` alone); ``-``
    for NaN; a leading ``+`` when ``sign``.
    """
    if x != x:  # NaN
        return "-"
    if places is None:
        places = decimals([x])
    return f"{x:{'+' if sign else ''}.{places}f}"


def number_column(values: Sequence[Any], sign: bool = False) -> list[str]:
    """The numbers of one column as text, all with the same decimals (whole numbers and
    texts are kept as they are).
    """
    numeric = [v for v in values if isinstance(v, float)]
    places = decimals(numeric)
    return [number(v, places, sign) if isinstance(v, float) else str(v) for v in values]


def frame_rows(frame: pd.DataFrame, sign: Sequence[str] = (),
               significant: Sequence[str] = ()) -> tuple[list[str], list[list[str]]]:
    """Headers and text rows of a table: float columns with one number format each.

    Integer columns print as whole numbers, texts as they are, NaN as ``-``; the columns
    named in ``sign`` get a leading ``+`` on positive numbers; those named in
    ``significant`` hold values of different quantities row by row (a parameter's
    bounds) and print each in three significant digits.
    """
    import pandas as pd

    columns = []
    for name in frame.columns:
        values = frame[name].tolist()
        if name in significant:
            columns.append(["-" if v != v else f"{v:.3g}" for v in values])
        elif pd.api.types.is_float_dtype(frame[name]):
            columns.append(number_column([float(v) for v in values], sign=name in sign))
        else:
            columns.append(["-" if v is None or v != v else str(v) for v in values])
    rows = [list(row) for row in zip(*columns, strict=True)] if columns else []
    return [str(c) for c in frame.columns], rows


def table_text(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, keep: int = 1,
               wide: bool = False, width: int = TABLE_WIDTH,
               align: Sequence[str] | None = None) -> str:
    """An aligned text table no wider than ``width`` columns unless ``wide``.

    A table that would be wider is cut into stacked tables, each repeating the first
    ``keep`` columns (the row labels) and showing an even share of the others: the
    fewest tables that fit. Cells are printed as given (no number parsing).

    Args:
        headers: column names.
        rows: cells, one list per row.
        keep: leading columns repeated in every part.
        wide: one table, however wide.
        width: the widest line allowed.
        align: ``"left"`` or ``"right"`` per column (default: columns of numbers right,
            others left).

    """
    from tabulate import tabulate

    align = list(align or ["right" if all(_numeric(row[i]) for row in rows) else "left"
                           for i in range(len(headers))])

    def render(cols: Sequence[int]) -> str:
        return tabulate([[row[i] for i in cols] for row in rows],
                        headers=[headers[i] for i in cols], disable_numparse=True,
                        colalign=[align[i] for i in cols])

    every = list(range(len(headers)))
    whole = render(every)
    if wide or _widest(whole) <= width or len(headers) <= keep + 1:
        return whole
    rest = every[keep:]
    for parts in range(2, len(rest) + 1):
        size = -(-len(rest) // parts)  # ceiling: an even share of the columns
        texts = [render(every[:keep] + rest[i:i + size]) for i in range(0, len(rest), size)]
        if all(_widest(t) <= width for t in texts) or size == 1:
            return "\n\n".join(texts)
    return whole  # pragma: no cover (the loop returns at size 1)


def _numeric(cell: Any) -> bool:
    """Whether a cell reads as a number (or ``-``, a missing one)."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return True
    try:
        float(str(cell))
    except ValueError:
        return str(cell) == "-"
    return True


def wrapped(text: str, width: int = TABLE_WIDTH, indent: str = "") -> str:
    """``text`` with every line longer than ``width`` broken between words (continuation
    lines start with ``indent``).
    """
    import textwrap

    return "\n".join(textwrap.fill(line, width, subsequent_indent=indent)
                     if len(line) > width else line for line in text.splitlines())


def _widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def add_wide_option(parser: argparse.ArgumentParser) -> None:
    """``--wide``: print tables whole rather than cut to fit 100 columns."""
    parser.add_argument("--wide", action="store_true",
                        help=f"print each table whole, however wide (default: tables wider than "
                        f"{TABLE_WIDTH} columns are cut into stacked parts)")


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 event"``, ``"2 events"``, ``"0 events"`` (``many``: an irregular plural)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def relative(path: Path) -> str:
    """A path relative to the working directory when below it, else its name."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name
