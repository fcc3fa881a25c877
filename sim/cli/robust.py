"""``sim robust``: search the government's levers for mixes that hold up across sampled futures."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

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
    progress_bar,
    start_backend,
    table_text,
    timestamp,
    wrapped,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``robust`` to the ``sim`` command line."""
    p = sub.add_parser(
        "robust", help="search the four government levers for mixes robust across futures",
        description="Sample futures from a scenario's declared ranges (a Latin hypercube), "
        "then search the four government levers (optuna's NSGA-II) for mixes that keep "
        "attacks low in a bad future (a high quantile across futures), the chance of open "
        "confrontation under a cap and stability above a floor in a bad future. Every mix "
        "runs in the same futures with the same seeds on the ensemble engine. Reports the "
        "Pareto set and where each shipped policy scenario sits against it, and writes the "
        "trials, the Pareto set, the policies and a figure into --out. Resumable. "
        "See docs/explore.md.")
    p.add_argument("scenario", nargs="?", metavar="SCENARIO",
                   help="a scenario declaring ranges (default: ranges_iraq_2023)")
    p.add_argument("--trials", type=in_range(int, 2, 100_000), metavar="N",
                   help="lever mixes to try (default: 200)")
    p.add_argument("--futures", type=in_range(int, 2, 100_000), metavar="N",
                   help="futures sampled from the ranges (default: 40)")
    p.add_argument("--reps", type=bounded("run.replications"), metavar="N",
                   help="replications per future (default: 5)")
    p.add_argument("--days", type=bounded("run.days"), metavar="DAYS",
                   help="horizon in days (default: the scenario's run.days)")
    p.add_argument("--seed", type=bounded("run.seed"), metavar="SEED",
                   help="root seed of futures, replications and search (default: the "
                   "scenario's)")
    p.add_argument("--quantile", type=in_range(float, 0, 1, "a share"), metavar="Q",
                   help="how bad a future is judged: attacks at this quantile across futures, "
                   "stability at 1 - Q (default: 0.9)")
    p.add_argument("--max-confrontation", type=in_range(float, 0, 1, "a share"),
                   metavar="SHARE",
                   help="cap on the chance of open confrontation (default: 0.1)")
    p.add_argument("--min-stability", type=in_range(float, 0, 1, "a share"), metavar="VALUE",
                   help="floor on minimum stability at the 1 - Q quantile (default: 0.15)")
    p.add_argument("--batch", type=in_range(int, 2, 1_000), metavar="N",
                   help="mixes asked at a time, NSGA-II's population (default: 20)")
    add_set_option(p)
    add_backend_options(p, workers_default=1)
    add_wide_option(p)
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default: results/robust-<timestamp>); built in "
                   "DIR.partial and renamed when complete")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="continue an interrupted search (finished mixes are kept)")
    p.set_defaults(func=cmd_robust)


def cmd_robust(args: argparse.Namespace) -> int:
    """Sample futures, search, score the shipped policies, write and print the Pareto set."""
    import json

    from sim.analysis.robust import Robust
    from sim.experiment import robust as rb
    from sim.experiment.checkpoint import Checkpoint
    from sim.scenario.load import load, shipped_scenarios
    from sim.scenario.schema import Scenario

    options = ("trials", "futures", "reps", "days", "seed", "quantile", "max_confrontation",
               "min_stability", "batch")
    if args.resume is not None:
        given = [f"--{o.replace('_', '-')}" for o in options if getattr(args, o) is not None]
        given += [name for name, value in (("SCENARIO", args.scenario), ("--set", args.sets),
                                           ("--out", args.out)) if value]
        if given:
            raise UsageError("--resume continues the search as it was started; drop "
                             f"{', '.join(given)}")
        point = Checkpoint.open(args.resume, "robust")
        job = point.job
        spec = Scenario.model_validate_json(json.dumps(job["scenario"]))
    else:
        spec = load_scenario(args.scenario or "ranges_iraq_2023", args.sets).scenario
        defaults = {"trials": 200, "futures": 40, "reps": 5, "days": spec.run.days,
                    "seed": spec.run.seed, "quantile": 0.9, "max_confrontation": 0.1,
                    "min_stability": 0.15, "batch": 20}
        job = {o: defaults[o] if getattr(args, o) is None else getattr(args, o)
               for o in options}
        try:
            rb.Criteria(job["quantile"], job["max_confrontation"], job["min_stability"]).check()
            futures = rb.sample_futures(spec, job["futures"], job["seed"])
        except rb.RobustError as exc:
            raise UsageError(str(exc)) from None
        out = args.out or Path("results") / f"robust-{timestamp()}"
        point = Checkpoint.create(out, "robust", {**job, "scenario": spec.model_dump(mode="json"),
                                                  "command_line": args.command_line})
        futures.to_parquet(point.partial / "futures.parquet", index=False)
        job = point.job
    args.resume_with = f"sim robust --resume {point.final}"
    started = time.perf_counter()
    criteria = rb.Criteria(job["quantile"], job["max_confrontation"], job["min_stability"])
    try:
        import pandas as pd

        futures = pd.read_parquet(point.partial / "futures.parquet")
        run = {"replications": job["reps"], "seed": job["seed"], "days": job["days"],
               "criteria": criteria}
        backend = start_backend(args, args.workers)
        update, close = progress_bar(job["trials"], spec.name)
        try:
            trials, info = rb.search(spec, futures, job["trials"], point.partial / "study.db",
                                     batch=job["batch"], backend=backend, progress=update, **run)
            policies = rb.score_policies([load(p) for p in shipped_scenarios("policy")],
                                         futures, spec, backend=backend, **run)
        finally:
            close()
            backend.close()
        meta = {"scenario": spec.name, **{k: v for k, v in job.items() if k != "scenario"},
                **info, "engine": "ensemble", "futures_paths": list(futures.columns),
                "wall_time_s": round(time.perf_counter() - started, 3)}
        if args.resume is not None:
            meta["resumed_with"] = args.command_line
        found = Robust(trials, policies, futures, criteria, {**meta, "replications": job["reps"]})
        folder = point.finish(found.write_into)
    finally:
        point.close()
    print(wrapped(found.summary()))
    columns = ["trial", *rb.LEVERS, "attacks_q", "confrontation", "stability_low"]
    print("\nPareto set:")
    print(table_text(*frame_rows(found.printable(found.front[columns])), keep=1,
                     wide=args.wide))
    print("\nShipped policies in the same futures:")
    placed = found.printable(found.placed_policies()[
        ["scenario", *rb.LEVERS, "attacks_q", "confrontation", "stability_low", "feasible",
         "beaten_by_trials", "other_changes"]])
    headers, rows = frame_rows(placed)
    print(table_text(headers, rows, keep=1, wide=args.wide,
                     align=["left", *["right"] * 7, "left", "left", "left"]))
    print(f"-> {folder}")
    return EXIT_OK
