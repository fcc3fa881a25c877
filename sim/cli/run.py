"""``sim run``, ``sim check``, ``sim list`` and ``sim params``: one scenario, files and the registry."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from sim.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_engine_options,
    add_run_options,
    add_set_option,
    bounded,
    format_intervals,
    load_scenario,
    progress_bar,
    relative,
    start_backend,
    timestamp,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``run``, ``check``, ``list`` and ``params``."""
    p = sub.add_parser(
        "run", help="run one scenario's replications and write its tables",
        description="Run a scenario's replications (common seeds spawned from one root) and "
        "write daily, event and summary tables to a run folder. Results stream to "
        "OUT.partial and the folder is renamed when complete; an interrupted run is finished "
        "with --resume.")
    p.add_argument("scenario", nargs="?", metavar="SCENARIO",
                   help="shipped scenario name or scenario file")
    add_run_options(p)
    add_engine_options(p, tables=True)
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="finish an interrupted run in DIR (its --out): only missing "
                   "replications run; scenario, replications, seed and days are the run's")
    p.add_argument("--worlds", type=Path, metavar="FILE",
                   help="run the replications in every world of a `sim plausible` folder (or "
                   "its worlds.parquet), the same seeds in each; tables gain a world column "
                   "(ensemble engine; docs/plausible.md)")
    p.add_argument("--max-worlds", type=bounded("run.replications"), default=200, metavar="W",
                   help="with --worlds: at most this many worlds, a fixed random choice "
                   "(default 200)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="validate scenario files without running them",
                       description="Load and validate scenario files (and --set options); "
                       "print one line per file. Exit status 2 if any is invalid.")
    p.add_argument("files", nargs="+", metavar="SCENARIO", help="scenario files or names")
    add_set_option(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("list", help="list the shipped scenarios",
                       description="List the shipped scenarios with their descriptions.")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "params", help="list every parameter path with its kind, bounds and value",
        description="Print the parameter registry: every settable value by its dotted path "
        "(used by --set, events, summary columns and the teaching page), its kind (lever, "
        "uncertainty, coefficient, run), what is allowed and the scenario's value.")
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario whose names and values to show (default: baseline)")
    p.add_argument("--kind", choices=("lever", "uncertainty", "coefficient", "run"),
                   help="only parameters of this kind")
    p.add_argument("--events", action="store_true", help="only values events may set")
    p.add_argument("--generic", action="store_true",
                   help="paths with <faction>, <base> and <weapon> placeholders, schema defaults")
    p.set_defaults(func=cmd_params)


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario (or finish an interrupted run) and write its folder.

    Exit status 1 when any replication failed (listed in ``failures.csv``; the others
    are kept).
    """
    if args.resume is None and args.scenario is None:
        raise UsageError("give a scenario to run, or --resume DIR")
    if args.worlds is not None:
        return cmd_run_worlds(args)
    if args.resume is not None and (args.reps or args.days or args.seed is not None
                                    or args.sets or args.out):
        raise UsageError("--resume finishes the run as it was started; drop --reps, --days, "
                         "--seed, --set and --out")
    engine = start_backend(args, args.workers)  # workers import the model while we load
    try:
        folder, name, reps = (_resume(args, engine) if args.resume is not None
                              else _run(args, engine))
    finally:
        engine.close()
    from sim.analysis.stats import interval_table
    from sim.experiment.results import read_run

    result = read_run(folder)
    failed = len(result.failures)
    print(f"{name}: {reps - failed} of {reps} replications x {result.metadata['days']} "
          f"days in {result.metadata['wall_time_s']:.1f} s -> {folder}")
    print(format_intervals(interval_table(result.summary)))
    if failed:
        print(f"error: {failed} of {reps} replications failed; see {folder / 'failures.csv'}",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_run_worlds(args: argparse.Namespace) -> int:
    """``sim run SCENARIO --worlds FILE``: the replications in every world, one folder."""
    import json
    import time

    import pandas as pd
    from tabulate import tabulate

    from sim.analysis.robustness import WorldsError, read_worlds
    from sim.experiment.design import map_chunks
    from sim.experiment.files import write_folder_atomic
    from sim.experiment.plan import ENSEMBLE_CHUNK, replication_seeds
    from sim.experiment.worlds import tables_chunk

    if args.resume is not None:
        raise UsageError("--worlds runs are not resumable; drop --resume")
    if args.engine == "agents" and any(w.startswith("--engine") for w in
                                       args.command_line.split()):
        raise UsageError("--worlds runs on the ensemble engine; drop --engine agents")
    spec = load_scenario(args.scenario, args.sets).scenario
    reps = args.reps or 20
    days = args.days or spec.run.days
    seed = spec.run.seed if args.seed is None else args.seed
    try:
        worlds = read_worlds(args.worlds, spec, args.max_worlds, seed)
    except WorldsError as exc:
        raise UsageError(str(exc)) from None
    out = args.out or Path("results") / spec.name / f"worlds-{timestamp()}"
    if Path(out).exists():
        raise UsageError(f"{out} exists already; choose another --out")
    seeds = replication_seeds(seed, reps)
    size = max(1, ENSEMBLE_CHUNK // reps)
    tasks = [(spec, worlds.iloc[i:i + size], i, seeds, days, args.tables)
             for i in range(0, len(worlds), size)]
    started = time.perf_counter()
    backend = start_backend(args, args.workers)
    update, close = progress_bar(len(worlds) * reps, spec.name)
    try:
        parts, info, _ = map_chunks(tables_chunk, tasks, [len(t[1]) * reps for t in tasks],
                                    backend=backend, progress=update)
    finally:
        close()
        backend.close()
    summary = pd.concat([s for s, _ in parts]).sort_values(["world", "replication"])
    daily = ([d for _, d in parts if d is not None])
    meta = {"scenario": spec.name, "worlds_file": str(args.worlds), "worlds": len(worlds),
            "replications": reps, "days": days, "root_seed": seed, "engine": "ensemble",
            "tables": args.tables, "command": args.command_line, **info,
            "wall_time_s": round(time.perf_counter() - started, 3)}

    def fill(folder: Path) -> None:
        summary.to_csv(folder / "summary.csv", index=False)
        worlds.rename_axis("world").reset_index().to_csv(folder / "worlds.csv", index=False)
        if daily:
            pd.concat(daily).sort_values(["world", "replication", "day"]).to_parquet(
                folder / "daily.parquet", index=False)
        (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))

    folder = write_folder_atomic(out, fill)
    means = summary.groupby("world")[["attacks", "injuries", "deaths", "min_stability",
                                      "open_confrontation"]].mean()
    spread = means.quantile([0.05, 0.5, 0.95]).T
    spread.columns = ["q05 of worlds", "median", "q95 of worlds"]
    print(f"{spec.name}: {reps} replications in each of {len(worlds)} worlds x {days} days in "
          f"{meta['wall_time_s']:.1f} s -> {folder}")
    print("each world's mean over its replications, across worlds:")
    print(tabulate(spread, headers="keys", floatfmt=".3g"))
    return EXIT_OK


def _run(args: argparse.Namespace, engine: object) -> tuple[Path, str, int]:
    from sim.experiment import runner

    loaded = load_scenario(args.scenario, args.sets)
    spec = loaded.scenario
    reps = args.reps or spec.run.replications
    out = args.out or Path("results") / spec.name / timestamp()
    args.resume_with = f"sim run --resume {out}"
    update, close = progress_bar(reps, spec.name)
    try:
        result = runner.run(spec, reps, args.seed, args.days, progress=_preparing(update),
                            out=out, metadata={"command": args.command_line, "set": args.sets},
                            sources=tuple(relative(p) for p in loaded.sources),
                            source_hash=loaded.source_hash, backend=engine,  # type: ignore[arg-type]
                            engine=args.engine, tables=args.tables)
    finally:
        close()
    return Path(result.folder), spec.name, reps  # type: ignore[attr-defined]


def _resume(args: argparse.Namespace, engine: object) -> tuple[Path, str, int]:
    from sim.experiment import runner
    from sim.experiment.store import RunStore

    store = RunStore.open(args.resume)  # says why when there is nothing to resume
    store.close()
    if store.kind != "run":
        raise UsageError(f"{args.resume} is an interrupted comparison; finish it with "
                         f"'sim compare --resume {store.final}'")
    spec = store.plan.entries[0].scenario
    if args.scenario is not None and spec.name != Path(args.scenario).stem:
        raise UsageError(f"{args.resume} is a run of '{spec.name}', not '{args.scenario}'")
    args.resume_with = f"sim run --resume {store.final}"
    update, close = progress_bar(store.plan.replications, spec.name)
    try:
        folder = runner.resume(args.resume, progress=_preparing(update),
                               metadata={"command": args.command_line},
                               backend=engine)  # type: ignore[arg-type]
    finally:
        close()
    return folder, spec.name, store.plan.replications


def _preparing(update: Callable[[int], None]) -> Callable[[int], None]:
    """``update``, which also imports what printing the result needs once workers are busy.

    While workers compute, this process only waits for their chunks; importing pandas
    and SciPy then keeps about half a second off the end of the run.
    """
    state = {"first": None}

    def progress(done: int) -> None:
        update(done)
        if state["first"] is None:
            state["first"] = done
        elif state["first"] is not False and done > state["first"]:
            state["first"] = False
            import pandas  # noqa: F401
            import scipy.special  # noqa: F401

    return progress


def cmd_check(args: argparse.Namespace) -> int:
    """Validate scenario files without running them."""
    from sim.scenario.errors import ScenarioError

    bad = 0
    for name in args.files:
        try:
            spec = load_scenario(name, args.sets).scenario
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            bad += 1
        else:
            events = len(spec.events)
            print(f"ok: {name} ({spec.name}: {len(spec.factions)} factions, "
                  f"{len(spec.bases)} bases, {events} event{'s' if events != 1 else ''}, "
                  f"{spec.run.days} days)")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    """List the shipped scenarios."""
    from tabulate import tabulate

    from sim.scenario.load import load, shipped_scenarios

    rows = [[load(path).name, load(path).kind, load(path).description]
            for path in shipped_scenarios()]
    print(tabulate(rows, headers=["name", "kind", "description"]))
    return EXIT_OK


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter registry."""
    from tabulate import tabulate

    from sim.scenario import registry
    from sim.scenario.load import load

    spec = None if args.generic else load(args.scenario)
    rows = []
    for p in registry.parameters(spec, kind=args.kind, events=args.events):
        path = p.generic if args.generic else p.path
        rows.append([path, p.kind, p.allowed(), "yes" if p.event else "", _value(p.value)])
    heading = "default" if args.generic else f"value in {args.scenario}"
    print(tabulate(rows, headers=["path", "kind", "allowed", "event", heading],
                   disable_numparse=True))
    return EXIT_OK


def _value(value: object) -> str:
    if value is None:
        return "(required)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
