"""The command line: parse, call, write, print, exit codes.

Exit codes: 0 success, 1 a run failed, 2 bad input (scenario or arguments).
Heavy modules (Mesa, pandas) are imported inside commands so ``sim --help`` is fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


def positive_int(text: str) -> int:
    """Argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def timestamp() -> str:
    """A folder-friendly UTC timestamp."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")


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


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by commands that run replications."""
    parser.add_argument("--reps", type=positive_int, help="replications (default: the "
                        "scenario's run.replications)")
    parser.add_argument("--days", type=positive_int, help="horizon in days (default: run.days)")
    parser.add_argument("--seed", type=int, help="root seed (default: run.seed)")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="worker processes (default 1)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on a Dask cluster through this scheduler (default: the "
                        "SIM_SCHEDULER environment variable); see docs/performance.md")
    parser.add_argument("--backend", choices=("serial", "processes", "dask"),
                        help="where replications run (default: dask with a scheduler, else "
                        "processes when --workers > 1, else this process)")
    parser.add_argument("--out", type=Path, help="output folder")


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario (or finish an interrupted run) and write its folder.

    Results stream to ``OUT.partial`` chunk by chunk and the folder is renamed to
    ``OUT`` when complete. Exit status 1 when any replication failed (listed in
    ``failures.csv``; the others are kept).
    """
    from sim.experiment import runner
    from sim.scenario.load import load_with_sources

    loaded = load_with_sources(args.scenario)
    spec = loaded.scenario
    extra = {"sources": [_rel(p) for p in loaded.sources], "source_hash": loaded.source_hash,
             "command": args.command_line}
    backend = {"backend": args.backend, "scheduler": args.scheduler}
    if args.resume is not None:
        store = runner.RunStore.open(args.resume)
        if store.spec.name != spec.name:
            raise UsageError(f"{args.resume} is a run of '{store.spec.name}', not '{spec.name}'")
        out, reps = store.final, store.plan["replications"]
        update, close = progress_bar(reps, spec.name)
        try:
            result = runner.resume(args.resume, args.workers, progress=update,
                                   metadata={"command": extra["command"]}, **backend)
        finally:
            close()
    else:
        reps = args.reps or spec.run.replications
        out = args.out or Path("results") / spec.name / timestamp()
        update, close = progress_bar(reps, spec.name)
        try:
            result = runner.run(spec, reps, args.seed, args.days, args.workers, progress=update,
                                out=out, metadata=extra, **backend)
        except KeyboardInterrupt:
            close()
            print(f"interrupted: finished chunks are kept; complete the run with "
                  f"'sim run {args.scenario} --resume {out}'", file=sys.stderr)
            return 130
        finally:
            close()
    failed = len(result.failures)
    print(f"{spec.name}: {reps - failed} of {reps} replications x {result.metadata['days']} "
          f"days in {result.metadata['wall_time_s']:.1f} s -> {out}")
    print(format_intervals(result.intervals()))
    if failed:
        print(f"error: {failed} of {reps} replications failed; see {Path(out) / 'failures.csv'}",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def format_intervals(table: object) -> str:
    """Aligned text table of metric, mean and 95% interval."""
    import pandas as pd

    assert isinstance(table, pd.DataFrame)
    rows = [[r.metric, _num(r.mean), f"[{_num(r.ci_low)}, {_num(r.ci_high)}]", r.n]
            for r in table.itertuples()]
    from tabulate import tabulate

    return tabulate(rows, headers=["metric", "mean", "95% interval", "n"],
                    colalign=("left", "right", "right", "right"))


def _num(x: float) -> str:
    if x != x:  # NaN
        return "-"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name


def cmd_check(args: argparse.Namespace) -> int:
    """Validate scenario files without running them."""
    from sim.scenario.load import ScenarioError, load

    bad = 0
    for name in args.files:
        try:
            spec = load(name)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            bad += 1
        else:
            print(f"ok: {name} ({spec.name}: {len(spec.factions)} factions, "
                  f"{len(spec.bases)} bases, {len(spec.events)} events, {spec.run.days} days)")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    """List the shipped scenarios."""
    from sim.scenario.load import load, shipped_scenarios

    rows = []
    for path in shipped_scenarios():
        spec = load(path)
        rows.append([spec.name, _rel(path), spec.description])
    from tabulate import tabulate

    print(tabulate(rows, headers=["name", "file", "description"]))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sim``."""
    parser = argparse.ArgumentParser(
        prog="sim", description="Scenario analysis of militia attacks on coalition forces "
        "in Iraq and Syria and the Iraqi government's policy levers.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run one scenario's replications and write tables")
    p.add_argument("scenario", help="scenario file or shipped scenario name")
    add_run_options(p)
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="finish an interrupted run in DIR (its --out): only missing "
                   "replications run; --reps/--seed/--days are taken from the run")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="validate scenario files without running them")
    p.add_argument("files", nargs="+", help="scenario files or names")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("list", help="list the shipped scenarios")
    p.set_defaults(func=cmd_list)

    for register in extra_commands():
        register(sub)
    return parser


def extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Subcommands defined in their own modules (each module has ``register(sub)``)."""
    import importlib

    found = []
    for module in COMMAND_MODULES:
        found.append(importlib.import_module(module).register)
    return found


COMMAND_MODULES: tuple[str, ...] = ("sim.cli.compare", "sim.cli.teach", "sim.cli.calibrate",
                                   "sim.cli.docs")
"""Modules that add subcommands; each imports nothing heavy at module level."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sim`` and ``python -m sim``."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(words)
    args.command_line = " ".join(["sim", *words])
    from sim.scenario.load import ScenarioError

    try:
        return int(args.func(args))
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (UsageError, FileExistsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
