"""``sim sweep``, ``sim sensitivity`` and ``sim discover``: a scenario over grids and designs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.common import (
    EXIT_OK,
    UsageError,
    add_backend_options,
    add_set_option,
    add_wide_option,
    bounded,
    frame_rows,
    in_range,
    load_scenario,
    plural,
    progress_bar,
    start_backend,
    table_text,
    timestamp,
)

if TYPE_CHECKING:
    from sim.experiment.checkpoint import Checkpoint
    from sim.scenario.schema import Scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep`` to the ``sim`` command line."""
    p = sub.add_parser(
        "sweep", help="run a scenario over a grid of one or two values (common random numbers)",
        description="Run SCENARIO at every point of a grid (--vary PATH=LOW:HIGH:N, once or "
        "twice), the same replication seeds at every point, and write every outcome's mean, "
        "95%% interval and paired difference from the first point, with response curves "
        "(one axis) or heatmaps (two) into --out. Runs on the ensemble engine unless --engine "
        "agents. Prints each point's means. See docs/explore.md.")
    p.add_argument("scenario", nargs="?", metavar="SCENARIO",
                   help="shipped scenario name or scenario file")
    p.add_argument("--vary", action="append", metavar="PATH=LOW:HIGH:N",
                   help="a swept value: N values from LOW to HIGH, e.g. "
                   "levers.government.pressure=0:1:11 (once or twice)")
    p.add_argument("--reps", type=bounded("run.replications"), metavar="N",
                   help="replications per grid point (default: 100)")
    p.add_argument("--days", type=bounded("run.days"), metavar="DAYS",
                   help="horizon in days (default: the scenario's run.days)")
    p.add_argument("--seed", type=bounded("run.seed"), metavar="SEED",
                   help="root seed (default: the scenario's run.seed)")
    p.add_argument("--engine", choices=("agents", "ensemble"),
                   help="ensemble (default): many replications at once; agents: the Mesa "
                   "agent model (the same tables for the same seeds, slower)")
    add_set_option(p)
    add_backend_options(p, workers_default=1)
    add_wide_option(p)
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default: results/sweep-<timestamp>); it is built in "
                   "DIR.partial and renamed when complete")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="finish an interrupted sweep (its finished chunks are kept)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "sensitivity", help="global sensitivity over a scenario's declared ranges (Morris, "
        "Sobol)",
        description="Morris screening or Sobol indices (SALib) over the [[ranges]] a scenario "
        "declares (ranges_iraq_2023 declares one for every uncertain value), by group unless "
        "--ungrouped; every design point runs the same seeds on the ensemble engine. Writes "
        "indices with intervals, their values at N/2 (convergence), the share of replication "
        "noise, and a ranked bar chart per outcome into --out; prints the top factors for "
        "attacks and open confrontation. See docs/explore.md.")
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="a scenario that declares "
                   "ranges, e.g. ranges_iraq_2023")
    p.add_argument("--method", choices=("morris", "sobol"),
                   help="morris (default): screening; sobol: first-order and total indices")
    p.add_argument("--n", type=bounded("run.replications"), metavar="SAMPLES",
                   help="Morris trajectories (default: 20) or Sobol base samples, a power of "
                   "two (default: 256)")
    p.add_argument("--reps", type=bounded("run.replications"), metavar="N",
                   help="replications per design point (default: 10)")
    p.add_argument("--days", type=bounded("run.days"), metavar="DAYS",
                   help="horizon in days (default: the scenario's run.days)")
    p.add_argument("--seed", type=bounded("run.seed"), metavar="SEED",
                   help="root seed of replications and design (default: the scenario's)")
    p.add_argument("--ungrouped", action="store_true",
                   help="one factor per range instead of one per group")
    p.add_argument("--engine", choices=("agents", "ensemble"),
                   help="ensemble (default); agents: the Mesa agent model, point by point "
                   "(the same results for the same seeds, about 20 times slower)")
    add_set_option(p)
    add_backend_options(p, workers_default=1)
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default: results/sensitivity-<timestamp>); it is "
                   "built in DIR.partial and renamed when complete")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="finish an interrupted analysis (its finished chunks are kept)")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser(
        "discover", help="scenario discovery (PRIM): the conditions under which an outcome "
        "happens",
        description="Find the box of conditions (swept values, or the design's values of every "
        "declared range) under which an outcome of interest happens, in the folder of a "
        "finished `sim sweep` (each replication a case) or `sim sensitivity` (each design "
        "point's mean a case), with PRIM from the EMA Workbench. Reports coverage, density, "
        "mass and the restricted dimensions, and writes boxes.csv, the peeling trajectory and "
        "a figure into --out. Runs no model. See docs/explore.md.")
    p.add_argument("folder", type=Path, metavar="FOLDER",
                   help="a sweep or sensitivity folder (results/sweep-..., results/sensitivity-...)")
    p.add_argument("--where", default="open_confrontation>=0.5", metavar="OUTCOME>VALUE",
                   help="the outcome of interest: OUTCOME>VALUE, >=, < or <=; VALUE a number or "
                   "qNN, a percentile (default: open_confrontation>=0.5; e.g. attacks>q90)")
    p.add_argument("--density", type=in_range(float, 0.01, 0.99, "a share"), default=0.8,
                   metavar="SHARE",
                   help="least density of the chosen box (default: 0.8)")
    p.add_argument("--max-dims", type=in_range(int, 1, 1000), default=4, metavar="N",
                   help="most restricted dimensions of the chosen box (default: 4)")
    p.add_argument("--boxes", type=in_range(int, 1, 1000), default=1, metavar="N",
                   help="boxes to find, each among the cases the earlier ones leave (default: 1)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default: results/discover-<timestamp>)")
    p.set_defaults(func=cmd_discover)


def _refuse_with_resume(args: argparse.Namespace, command: str, given: dict[str, object]) -> None:
    """``--resume`` finishes a job as it was started: refuse options that would change it."""
    changed = [flag for flag, value in given.items() if value not in (None, [], False)]
    if changed:
        raise UsageError(f"--resume finishes the {command} as it was started; drop "
                         f"{', '.join(changed)}")


def _start(args: argparse.Namespace, command: str, job: dict) -> Checkpoint:
    """A new resumable folder for ``job`` at ``--out`` (default results/COMMAND-<timestamp>)."""
    from sim.experiment.checkpoint import Checkpoint

    out = args.out or Path("results") / f"{command}-{timestamp()}"
    return Checkpoint.create(out, command, {**job, "command_line": args.command_line})


def _scenario(job: dict) -> Scenario:
    import json

    from sim.scenario.schema import Scenario

    return Scenario.model_validate_json(json.dumps(job["scenario"]))


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the grid (or finish an interrupted one), write the folder, print the means."""
    from sim.analysis.sweep import Sweep, sweep_table
    from sim.experiment.checkpoint import Checkpoint
    from sim.experiment.sweep import SweepError, grid_points, parse_axis, run_sweep, sweep_chunk_points

    if args.resume is not None:
        _refuse_with_resume(args, "sweep", {"SCENARIO": args.scenario, "--vary": args.vary,
                                            "--reps": args.reps, "--days": args.days,
                                            "--seed": args.seed, "--engine": args.engine,
                                            "--set": args.sets, "--out": args.out})
        point = Checkpoint.open(args.resume, "sweep")
        job = point.job
        spec = _scenario(job)
    else:
        if args.scenario is None or not args.vary:
            raise UsageError("give a scenario and --vary PATH=LOW:HIGH:N, or --resume DIR")
        spec = load_scenario(args.scenario, args.sets).scenario
        reps, engine = args.reps or 100, args.engine or "ensemble"
        try:
            axes = [parse_axis(text, spec) for text in args.vary]
            if len(axes) > 2:
                raise SweepError(f"{len(axes)} --vary given: a sweep takes one or two")
            if len({a.path for a in axes}) < len(axes):
                raise SweepError("the same path is swept twice")
            if reps < 2:
                raise SweepError(f"--reps {reps}: at least 2 per point (intervals)")
        except SweepError as exc:
            raise UsageError(str(exc)) from None
        size = sweep_chunk_points(engine, reps, len(grid_points(axes)), args.workers or 1)
        point = _start(args, "sweep", {
            "scenario": spec.model_dump(mode="json"), "vary": args.vary, "reps": reps,
            "seed": args.seed, "days": args.days, "engine": engine, "chunk_points": size})
        job = point.job
    args.resume_with = f"sim sweep --resume {point.final}"
    try:
        axes = [parse_axis(text, spec) for text in job["vary"]]
        total = len(grid_points(axes)) * job["reps"]
        backend = start_backend(args, args.workers)
        update, close = progress_bar(total, spec.name)
        try:
            summary, meta = run_sweep(spec, axes, job["reps"], job["seed"], job["days"],
                                      engine=job["engine"], backend=backend, progress=update,
                                      per_chunk=job["chunk_points"], checkpoint=point)
        finally:
            close()
            backend.close()
        meta["command"] = job["command_line"]
        if args.resume is not None:
            meta["resumed_with"] = args.command_line
        sweep = Sweep(summary, sweep_table(summary, [a.path for a in axes]),
                      [a.path for a in axes], meta)
        folder = point.finish(sweep.write_into)
    finally:
        point.close()
    print(f"{spec.name}: {plural(meta['points'], 'point')} x {plural(job['reps'], 'replication')} "
          f"x {plural(meta['days'], 'day')} ({meta['engine']} engine) in "
          f"{meta['wall_time_s']:.1f} s")
    means = sweep.wide()
    if not args.wide:  # the swept paths by their last part, named on a line of their own
        short = {path: path.rpartition(".")[2] for path in sweep.paths}
        if len(set(short.values())) == len(short):
            means = means.rename(columns=short)
            print("; ".join(f"{name} = {path}" for path, name in short.items()))
    print(table_text(*frame_rows(means), keep=1 + len(sweep.paths), wide=args.wide))
    print(f"-> {folder}")
    return EXIT_OK


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Sample the design (or reopen an interrupted one), run it, compute the indices, write
    and print the rankings.
    """
    from sim.analysis import sensitivity as sa
    from sim.experiment.checkpoint import Checkpoint
    from sim.experiment.design import chunk_points, run_design

    if args.resume is not None:
        _refuse_with_resume(args, "sensitivity", {
            "SCENARIO": args.scenario, "--method": args.method, "--n": args.n,
            "--reps": args.reps, "--days": args.days, "--seed": args.seed,
            "--ungrouped": args.ungrouped, "--engine": args.engine, "--set": args.sets,
            "--out": args.out})
        point = Checkpoint.open(args.resume, "sensitivity")
        job = point.job
        spec = _scenario(job)
    else:
        if args.scenario is None:
            raise UsageError("give a scenario that declares ranges, or --resume DIR")
        spec = load_scenario(args.scenario, args.sets).scenario
        method, reps, engine = args.method or "morris", args.reps or 10, args.engine or "ensemble"
        n = args.n or (20 if method == "morris" else 256)
        if reps < 2:
            raise UsageError(f"--reps {reps}: at least 2 per point (replication noise)")
        seed = spec.run.seed if args.seed is None else args.seed
        try:
            prob = sa.problem(spec, grouped=not args.ungrouped)
            points = len(sa.sample(method, prob, n, seed))
        except sa.SensitivityError as exc:
            raise UsageError(str(exc)) from None
        point = _start(args, "sensitivity", {
            "scenario": spec.model_dump(mode="json"), "method": method, "n": n, "reps": reps,
            "seed": seed, "days": args.days, "grouped": not args.ungrouped, "engine": engine,
            "chunk_points": chunk_points(engine, reps, points, args.workers or 1)})
        job = point.job
    args.resume_with = f"sim sensitivity --resume {point.final}"
    try:
        method, n, reps, seed = job["method"], job["n"], job["reps"], job["seed"]
        prob = sa.problem(spec, grouped=job["grouped"])
        design = sa.sample(method, prob, n, seed)
        backend = start_backend(args, args.workers)
        update, close = progress_bar(len(design) * reps, spec.name)
        try:
            scores, meta = run_design(spec, prob["names"], design, reps, seed, job["days"],
                                      backend=backend, progress=update, engine=job["engine"],
                                      integer=sa.integer_paths(spec, prob["names"]),
                                      per_chunk=job["chunk_points"], checkpoint=point)
        finally:
            close()
            backend.close()
        meta.update({"method": method, "n": n, "factors": sa.factors(prob),
                     "grouped": job["grouped"], "command": job["command_line"]})
        if args.resume is not None:
            meta["resumed_with"] = args.command_line
        analysis = sa.Sensitivity(method, prob, design, scores,
                                  sa.analyse(method, prob, design, scores, seed),
                                  sa.noise_share(scores, reps), meta)
        folder = point.finish(analysis.write_into)
    finally:
        point.close()
    main = "ST" if method == "sobol" else "mu_star"
    print(f"{spec.name}: {method}, {plural(len(sa.factors(prob)), 'factor')}, "
          f"{plural(len(design), 'point')} x {plural(reps, 'replication')} x "
          f"{plural(meta['days'], 'day')} ({meta['engine']} engine) in "
          f"{meta['wall_time_s']:.1f} s")
    for outcome in ("attacks", "open_confrontation"):
        top = analysis.ranking(outcome).head(8)[[main, f"{main} conf", f"{main} at N/2"]]
        print(f"\n{outcome} ({main}, its interval, and at N/2):")
        print(table_text(*frame_rows(top.reset_index()), keep=1))
    print()
    print(table_text(*frame_rows(analysis.noise), keep=1))
    print(f"-> {folder}")
    return EXIT_OK


def cmd_discover(args: argparse.Namespace) -> int:
    """Read the folder, mark the cases of interest, run PRIM, write and print the boxes."""
    import time

    from sim.analysis import discover as sd

    out = args.out or Path("results") / f"discover-{timestamp()}"
    if Path(out).exists():
        raise UsageError(f"{out} exists already; choose another --out")
    started = time.perf_counter()
    try:
        x, outcomes, meta, unit = sd.load_cases(args.folder)
        condition = sd.parse_condition(args.where, list(outcomes.columns))
        values = outcomes[condition.outcome].to_numpy(dtype=float)
        interest = condition(values)
        boxes = sd.find_boxes(x, interest, density=args.density, max_dims=args.max_dims,
                              boxes=args.boxes)
    except sd.DiscoverError as exc:
        raise UsageError(str(exc)) from None
    found = sd.Discovery(condition, condition.threshold(values), len(values),
                         int(interest.sum()), unit, boxes,
                         {"source": str(args.folder), "source_command": meta.get("command"),
                          "scenario": meta.get("scenario"), "where": str(condition),
                          "density": args.density, "max_dims": args.max_dims,
                          "boxes": args.boxes, "command": args.command_line,
                          "wall_time_s": round(time.perf_counter() - started, 3)})
    folder = found.write(out)
    print(found.report())
    print(f"-> {folder}")
    return EXIT_OK
