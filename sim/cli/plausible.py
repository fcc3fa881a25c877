"""``sim plausible``: history matching over a ranges file, and the predictive check of the worlds kept."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim.cli.common import (
    EXIT_OK,
    UsageError,
    add_backend_options,
    add_wide_option,
    bounded,
    frame_rows,
    in_range,
    plural,
    progress_bar,
    start_backend,
    table_text,
    timestamp,
    wrapped,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``plausible`` to the ``sim`` command line."""
    p = sub.add_parser(
        "plausible", help="history matching: the worlds the calibration window cannot rule out",
        description="Sample candidate worlds over a ranges file's declared ranges (a Latin "
        "hypercube), run the replay over the calibration window (figures up to 14 Nov 2023) "
        "with the same seeds in every world, and rule out the worlds whose implausibility "
        "(observation error, model discrepancy and replication noise counted) exceeds the "
        "cut-off on any figure, in waves until the region stops shrinking. Then replays the "
        "whole horizon in the worlds kept against the test-window figures (the predictive "
        "check). Writes worlds.parquet (for `sim compare --worlds` and `sim run --worlds`), "
        "the waves, ranges, figures and predictive check into --out. See docs/plausible.md.")
    p.add_argument("scenario", nargs="?", metavar="REPLAY",
                   help="the replay to match (default: historical_2023_24)")
    p.add_argument("--ranges", metavar="SCENARIO",
                   help="the file declaring the ranges (default: ranges_iraq_2023)")
    p.add_argument("--worlds", type=in_range(int, 10, 10_000_000), metavar="N",
                   help="candidate worlds per wave (default: 20000)")
    p.add_argument("--reps", type=bounded("run.replications"), metavar="N",
                   help="replications per world (default: 10)")
    p.add_argument("--cutoff", type=in_range(float, 0.5, 10), metavar="VALUE",
                   help="largest implausibility a world may have on any figure (default: 3)")
    p.add_argument("--discrepancy", type=in_range(float, 0, 2), metavar="SHARE",
                   help="model discrepancy as a share of each figure (default: 0.1)")
    p.add_argument("--obs-error", type=in_range(float, 0, 2), metavar="SHARE",
                   help="observation error as a share of each figure, plus one count "
                   "(default: 0.1)")
    p.add_argument("--waves", type=in_range(int, 1, 20), metavar="N",
                   help="most waves (default: 4; fewer when the region stops shrinking)")
    p.add_argument("--check-worlds", type=in_range(int, 0, 100_000), metavar="N",
                   help="retained worlds replayed in the predictive check (default: 200; 0: "
                   "no check)")
    p.add_argument("--seed", type=bounded("run.seed"), metavar="SEED",
                   help="root seed of worlds and replications (default: 20231017)")
    add_backend_options(p, workers_default=1)
    add_wide_option(p)
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default: results/plausible-<timestamp>); built in "
                   "DIR.partial and renamed when complete")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="finish an interrupted history match (finished chunks are kept)")
    p.set_defaults(func=cmd_plausible)


OPTIONS = {"worlds": 20_000, "reps": 10, "cutoff": 3.0, "discrepancy": 0.1, "obs_error": 0.1,
           "waves": 4, "check_worlds": 200, "seed": 20231017}


def cmd_plausible(args: argparse.Namespace) -> int:
    """Match, check, write, print the waves, the informed values and the check."""
    import json

    import pandas as pd

    from sim.analysis import plausible as pl
    from sim.analysis.record import load_record
    from sim.experiment.checkpoint import Checkpoint
    from sim.scenario.load import load_with_sources
    from sim.scenario.schema import Scenario

    if args.resume is not None:
        given = [f"--{o.replace('_', '-')}" for o in OPTIONS if getattr(args, o) is not None]
        given += [n for n, v in (("REPLAY", args.scenario), ("--ranges", args.ranges),
                                 ("--out", args.out)) if v]
        if given:
            raise UsageError("--resume finishes the history match as it was started; drop "
                             f"{', '.join(given)}")
        point = Checkpoint.open(args.resume, "plausible")
        job = point.job
    else:
        replay = load_with_sources(args.scenario or "historical_2023_24").scenario
        ranges = load_with_sources(args.ranges or "ranges_iraq_2023").scenario
        if not ranges.ranges:
            raise UsageError(f"{ranges.name} declares no [[ranges]]: use ranges_iraq_2023 or "
                             "a file with ranges (docs/explore.md)")
        job = {o: OPTIONS[o] if getattr(args, o) is None else getattr(args, o) for o in OPTIONS}
        job.update({"scenario": replay.model_dump(mode="json"), "ranges_scenario": ranges.name,
                    "prior": {r.path: [r.low, r.high] for r in ranges.ranges}})
        out = args.out or Path("results") / f"plausible-{timestamp()}"
        point = Checkpoint.create(out, "plausible", {**job, "command_line": args.command_line})
        job = point.job
    args.resume_with = f"sim plausible --resume {point.final}"
    spec = Scenario.model_validate_json(json.dumps(job["scenario"]))
    prior = pd.DataFrame(job["prior"], index=["low", "high"])
    matching = pl.Matching(worlds=job["worlds"], replications=job["reps"], cutoff=job["cutoff"],
                           discrepancy=job["discrepancy"], obs_share=job["obs_error"],
                           waves=job["waves"], seed=job["seed"])
    started = time.perf_counter()
    try:
        backend = start_backend(args, args.workers)
        bars: dict[str, tuple] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in bars:
                for _, close in bars.values():
                    close()
                bars[label] = progress_bar(total, f"{spec.name} {label}")
            bars[label][0](done)

        try:
            found = pl.history_match(spec, prior, load_record(), matching, backend=backend,
                                     checkpoint=point, progress=progress)
            matched = time.perf_counter() - started
            if job["check_worlds"]:
                found.check = pl.predictive_check(spec, found.kept, list(prior.columns),
                                                  load_record(), matching,
                                                  worlds=job["check_worlds"], backend=backend)
        finally:
            for _, close in bars.values():
                close()
            backend.close()
        found.metadata = {"scenario": spec.name, "ranges": job["ranges_scenario"],
                          "command": job["command_line"], "engine": "ensemble",
                          "backend": getattr(backend, "name", None),
                          "workers": getattr(backend, "workers", None),
                          "match_s": round(matched, 3),
                          "wall_time_s": round(time.perf_counter() - started, 3)}
        if args.resume is not None:
            found.metadata["resumed_with"] = args.command_line
        folder = point.finish(found.write_into)
    finally:
        point.close()
    print(wrapped(found.summary()))
    print(table_text(*frame_rows(found.waves), keep=1, wide=args.wide))
    print("\nValues the record informs most (share of worlds kept in each fifth of the range):")
    informed = found.ranges.head(8)[["path", "prior_low", "prior_high", "keep_by_fifth",
                                     "informed"]]
    print(table_text(*frame_rows(informed.rename(columns={"prior_low": "low",
                                                          "prior_high": "high"}),
                                 significant=("low", "high")), keep=1, wide=args.wide))
    inside = found.figures["inside"]
    print(f"\nCalibration window: {int(inside.sum())} of {plural(len(inside), 'figure')} inside "
          "the kept worlds' 90% band.")
    if found.check is not None:
        print("\nPredictive check (test window; 90% band of the kept worlds beside the "
              "calibrated model):")
        print(table_text(*frame_rows(pl.check_summary(found.check)), keep=1, wide=args.wide))
    print(f"History match {found.metadata['match_s']:.0f} s, in all "
          f"{found.metadata['wall_time_s']:.0f} s -> {folder}")
    return EXIT_OK
