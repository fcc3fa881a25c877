"""``sim compare``: run scenarios with common random numbers and compare them with a reference.

Targets are shipped scenario names, scenario files or existing run folders (written
by ``sim run`` or by ``sim compare``). Folders are reused without re-running when
their seeds and horizons agree; scenario names are then run with the folders' seeds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_backend_options,
    add_engine_options,
    add_set_option,
    add_wide_option,
    bounded,
    load_scenario,
    parse_sets,
    plural,
    progress_bar,
    start_backend,
    table_text,
    timestamp,
    wrapped,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare", help="compare scenarios with a reference (same seeds, paired intervals)",
        description="Run every scenario with the same replication seeds (common random "
        "numbers) and compare each outcome with a reference scenario: mean, 95% interval, "
        "and the paired difference from the reference with its 95% interval. Targets may "
        "be shipped scenario names, scenario files, or run folders written by 'sim run' or "
        "'sim compare' (reused without re-running when their seeds agree). Prints one row "
        "per scenario (stacked tables to fit 100 columns; --wide for one) and writes "
        "comparison.csv, comparison.md, figures and a run folder per scenario into --out. "
        "See docs/compare.md.")
    p.add_argument("targets", nargs="*", metavar="SCENARIO",
                   help="scenario name, scenario file, or run folder")
    p.add_argument("--reference", metavar="SCENARIO",
                   help="reference scenario (default: baseline if compared, else the first)")
    p.add_argument("--all-policies", action="store_true",
                   help="compare every shipped policy scenario with baseline")
    p.add_argument("--reps", type=bounded("run.replications"), metavar="N",
                   help="replications per scenario, at least 2 (default: 30, or those of the "
                   "run folders given; 20 per world with --worlds)")
    p.add_argument("--days", type=bounded("run.days"), metavar="DAYS",
                   help="horizon in days (default: the reference scenario's run.days)")
    p.add_argument("--seed", type=bounded("run.seed"), metavar="SEED",
                   help="root seed shared by all scenarios (default: the reference's run.seed)")
    add_set_option(p)
    add_backend_options(p, workers_default=None)
    add_engine_options(p)
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default: results/compare-<timestamp>)")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="finish an interrupted comparison in DIR (its --out)")
    p.add_argument("--worlds", type=Path, metavar="DIR",
                   help="run the comparison in every world of a `sim plausible` folder (or its "
                   "worlds.parquet), the same seeds in each, and say which conclusions keep "
                   "their sign in 90%% of worlds (ensemble engine; see docs/plausible.md)")
    p.add_argument("--max-worlds", type=bounded("run.replications"), default=200, metavar="N",
                   help="with --worlds: at most this many worlds, a fixed random choice "
                   "(default: 200)")
    add_wide_option(p)
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Run (or read) the scenarios, compare them with the reference, write and print."""
    import time

    from sim.analysis.comparison import ComparisonError, compare, resume_comparison
    from sim.experiment.plan import Plan
    from sim.scenario.load import shipped_scenarios

    started = time.perf_counter()
    if args.worlds is not None:
        return cmd_compare_worlds(args, started)
    from sim.experiment.backends import default_workers

    engine = start_backend(args, args.workers or default_workers())  # workers import meanwhile
    backend = {"backend": engine}
    bar: list = []

    def start_bar(plan: Plan) -> None:
        bar.extend(progress_bar(plan.replications * len(plan.entries), "compare"))

    def progress(done: int) -> None:
        if bar:
            bar[0](done)

    try:
        if args.resume is not None:
            if args.targets or args.all_policies:
                raise UsageError("--resume takes the comparison's folder only; drop the "
                                 "scenarios")
            from sim.experiment.store import RunStore

            store = RunStore.open(args.resume)  # says why when there is nothing to resume
            store.close()
            args.resume_with = f"sim compare --resume {store.final}"
            start_bar(store.plan)
            result = resume_comparison(args.resume, progress=progress,
                                       command=args.command_line, **backend)
        else:
            if args.all_policies and args.targets:
                raise UsageError("give scenarios or --all-policies, not both")
            targets = ([str(p) for p in shipped_scenarios("policy")] if args.all_policies
                       else list(args.targets))
            if not targets:
                raise UsageError("nothing to compare: give scenario names, files or run "
                                 "folders, or --all-policies")
            out = args.out or Path("results") / f"compare-{timestamp()}"
            if Path(out).exists():
                raise FileExistsError(f"{out} exists already; choose another --out")
            args.resume_with = f"sim compare --resume {out}"
            result = compare(targets, reference=args.reference, replications=args.reps,
                             seed=args.seed, days=args.days, changes=parse_sets(args.sets),
                             out=out, progress=progress, command=args.command_line,
                             before_run=start_bar, engine=args.engine, **backend)
    except ComparisonError as exc:
        raise UsageError(str(exc)) from None
    finally:
        engine.close()
        if bar:
            bar[1]()
    print_summary(result, time.perf_counter() - started, wide=args.wide)
    if result.failed:
        print(f"error: {plural(result.failed, 'replication')} failed; see "
              f"{result.folder / 'failures.csv'} (the comparison uses the seeds that completed "
              "in every scenario)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_compare_worlds(args: argparse.Namespace, started: float) -> int:
    """``sim compare ... --worlds FILE``: every scenario in every world, robust or fragile."""
    import time

    from sim.analysis import robustness as rb
    from sim.experiment.backends import default_workers
    from sim.experiment.files import write_folder_atomic
    from sim.scenario.load import shipped_scenarios

    if args.resume is not None:
        raise UsageError("--worlds comparisons are not resumable; drop --resume")
    if args.all_policies and args.targets:
        raise UsageError("give scenarios or --all-policies, not both")
    targets = ([str(p) for p in shipped_scenarios("policy")] if args.all_policies
               else list(args.targets))
    if len(targets) < 2:
        raise UsageError("--worlds compares at least two scenarios (or --all-policies)")
    specs = []
    for target in targets:
        if Path(target).is_dir():
            raise UsageError(f"{target}: a run folder cannot be rerun in other worlds; give its "
                             "scenario name or file")
        specs.append(load_scenario(target, args.sets).scenario)
    names = [s.name for s in specs]
    reference = args.reference or ("baseline" if "baseline" in names else names[0])
    if reference not in names:
        raise UsageError(f"--reference {reference}: not among the compared scenarios "
                         f"({', '.join(names)})")
    ref = specs[names.index(reference)]
    reps = args.reps or 20
    days = args.days or ref.run.days
    seed = ref.run.seed if args.seed is None else args.seed
    try:
        worlds = rb.read_worlds(args.worlds, ref, args.max_worlds, seed)
    except rb.WorldsError as exc:
        raise UsageError(str(exc)) from None
    out = args.out or Path("results") / f"compare-worlds-{timestamp()}"
    if Path(out).exists():
        raise UsageError(f"{out} exists already; choose another --out")
    backend = start_backend(args, args.workers or default_workers())
    update, close = progress_bar(len(specs) * len(worlds) * reps, "compare in worlds")
    try:
        runs = rb.run_in_worlds(specs, worlds, reps, seed, days, backend=backend,
                                progress=update)
    finally:
        close()
        backend.close()
    ran = time.perf_counter() - started
    per_world = rb.effects(runs, reference)
    table = rb.robustness(per_world, worlds)
    analysed = time.perf_counter() - started - ran
    result = rb.WorldComparison(runs, per_world, table, {
        "scenarios": names, "reference": reference, "worlds": len(worlds),
        "worlds_file": str(args.worlds), "replications": reps, "days": days, "root_seed": seed,
        "engine": "ensemble", "command": args.command_line, "run_s": round(ran, 3),
        "analysis_s": round(analysed, 3)})
    folder = write_folder_atomic(out, result.write_into)
    print(f"compared {plural(len(specs), 'scenario')} in {plural(len(worlds), 'world')} x "
          f"{plural(reps, 'replication')} x {plural(days, 'day')} (root seed {seed})\n"
          f"in {ran:.1f} s, analysed in {analysed:.1f} s; reference {reference}")
    print("effect against the reference: median across worlds [5-95%], share of worlds "
          f"better,\nand what holds in {rb.ROBUST_SHARE:.0%} of worlds (else fragile)")
    headers, rows = world_rows(table, rb.SHOWN)
    print(table_text(headers, rows, keep=1, wide=args.wide,
                     align=["left", *["right"] * (len(headers) - 1)]))
    fragile = table[(table["status"] == "fragile") & table["outcome"].isin(rb.SHOWN)]
    for r in fragile.itertuples():
        print(wrapped(f"  fragile: {r.scenario}, {r.outcome} (better in {r.share_better:.0%} "
                      f"of worlds): {r.decided_by}", indent="    "))
    print(f"-> {folder}")
    return EXIT_OK


def world_rows(table: object, outcomes: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Rows of the comparison across worlds: 'effect [5-95%] share status' per outcome,
    every number of an outcome with the same decimals.
    """
    from sim.cli.common import decimals, number

    shown = table[table["outcome"].isin(outcomes)]  # type: ignore[index]
    places = {o: decimals(part[["median_effect", "q05", "q95"]].to_numpy().ravel())
              for o, part in shown.groupby("outcome")}
    columns = [o for o in outcomes if o in places]
    rows = []
    for name, part in shown.groupby("scenario", sort=False):
        cells = {r.outcome: (f"{number(r.median_effect, places[r.outcome], True)} "
                             f"[{number(r.q05, places[r.outcome], True)}, "
                             f"{number(r.q95, places[r.outcome], True)}] "
                             f"{getattr(r, 'share_better', float('nan')):.0%} {r.status}")
                 for r in part.itertuples()}
        rows.append([str(name), *(cells.get(o, "-") for o in columns)])
    return ["scenario", *columns], rows


def print_summary(result: object, wall: float, wide: bool = False) -> None:
    """Print the compact table: rows are scenarios, columns key metrics.

    The table is cut into stacked parts of at most 100 columns unless ``wide``.
    """
    from sim.analysis import compare

    meta = result.metadata  # type: ignore[attr-defined]
    reused = len(meta["reused_folders"])
    ran = len(meta["scenarios"]) - reused
    shown = f", {reused} read from folders" if reused else ""
    print(f"compared {plural(len(meta['scenarios']), 'scenario')} ({ran} run{shown}) x "
          f"{plural(meta['replications'], 'replication')} x {plural(meta['days'], 'day')}, "
          f"root seed {meta['root_seed']}, in {wall:.1f} s")
    headers, rows = compare.compact_rows(result.table)  # type: ignore[attr-defined]
    print(table_text(headers, rows, keep=1, wide=wide,
                     align=["left", *["right"] * (len(headers) - 1)]))
    print(f"cells: mean (difference from {meta['reference']}; * = its paired 95% interval "
          "excludes zero);\nopen_confrontation is the share of replications")
    out = result.folder  # type: ignore[attr-defined]
    print(f"full table with intervals: {out / 'comparison.md'} (and comparison.csv);\n"
          f"figures and run folders in {out}")
