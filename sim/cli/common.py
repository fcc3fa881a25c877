"""What every command shares: exit codes, option types, run options, progress, printing.

Nothing heavy is imported at module level, so ``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.load import Loaded

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


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
    """Aligned text table of metric, mean and 95% interval."""
    from tabulate import tabulate

    rows = [[r.metric, number(r.mean), f"[{number(r.ci_low)}, {number(r.ci_high)}]", r.n]
            for r in table.itertuples()]
    return tabulate(rows, headers=["metric", "mean", "95% interval", "n"],
                    colalign=("left", "right", "right", "right"))


def number(x: float) -> str:
    """A number in a few significant digits; ``-`` for NaN."""
    if x != x:  # NaN
        return "-"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def relative(path: Path) -> str:
    """A path relative to the working directory when below it, else its name."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name
