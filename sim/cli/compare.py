"""``sim compare``: run scenarios with common random numbers and compare them with a reference.

Targets are shipped scenario names, scenario files or existing run folders (written
by ``sim run`` or by ``sim compare``). Folders are reused without re-running when
their seeds and horizons agree; scenario names are then run with the folders'
seeds. Nothing heavy is imported at module level, so ``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.cli.common import EXIT_FAILED, EXIT_OK, UsageError, positive_int, progress_bar, timestamp

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment.results import RunResult
    from sim.scenario.load import Loaded
    from sim.scenario.schema import Scenario

DEFAULT_REPS = 30
"""Replications per scenario when neither --reps nor a run folder says otherwise."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare", help="compare scenarios with a reference (same seeds, paired intervals)",
        description="Run every scenario with the same replication seeds (common random "
        "numbers) and compare each outcome with a reference scenario: mean, 95% interval, "
        "and the paired difference from the reference with its 95% interval. Targets may "
        "be shipped scenario names, scenario files, or run folders written by 'sim run' or "
        "'sim compare' (reused without re-running when their seeds agree). See docs/compare.md.")
    p.add_argument("targets", nargs="*", metavar="SCENARIO",
                   help="scenario name, scenario file, or run folder")
    p.add_argument("--reference", metavar="NAME",
                   help="reference scenario (default: baseline if compared, else the first)")
    p.add_argument("--all-policies", action="store_true",
                   help="compare every shipped scenario with baseline")
    p.add_argument("--reps", type=int, metavar="N",
                   help=f"replications per scenario, at least 2 (default {DEFAULT_REPS}, or "
                   "those of the run folders given)")
    p.add_argument("--days", type=positive_int, metavar="D",
                   help="horizon in days (default: the reference scenario's run.days)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="root seed shared by all scenarios (default: the reference's run.seed)")
    p.add_argument("--workers", type=positive_int, metavar="W",
                   help="worker processes (default: the number of cores available)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on a Dask cluster through this scheduler (default: the "
                   "SIM_SCHEDULER environment variable); see docs/performance.md")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default results/compare-<timestamp>)")
    p.set_defaults(func=cmd_compare)


@dataclass
class Entry:
    """One compared scenario: to be run (``loaded``) or read from a folder (``result``)."""

    label: str
    target: str
    loaded: Loaded | None = None
    result: RunResult | None = None
    folder: Path | None = None

    @property
    def spec(self) -> Scenario:
        """The scenario, from its file or from its run folder's metadata."""
        if self.loaded is not None:
            return self.loaded.scenario
        assert self.result is not None
        return self.result.scenario


@dataclass
class Plan:
    """Resolved seeds and horizon shared by every scenario."""

    root_seed: int
    seeds: list[int]
    days: int
    from_folders: list[str] = field(default_factory=list)
    command: str = ""


def cmd_compare(args: argparse.Namespace) -> int:
    """Run (or read) the scenarios, compare them with the reference, write and print."""
    started = time.perf_counter()
    if args.reps is not None and args.reps < 2:
        raise UsageError(f"--reps must be at least 2 so that intervals can be computed "
                         f"(got {args.reps})")
    entries = resolve_targets(args)
    reference = pick_reference(entries, args.reference)
    entries = [reference, *[e for e in entries if e is not reference]]  # reference first
    plan = plan_seeds(entries, reference, args)
    out = args.out or Path("results") / f"compare-{timestamp()}"
    if Path(out).exists():
        raise FileExistsError(f"{out} exists already; choose another --out")

    from sim.experiment.runner import default_workers

    workers = args.workers or default_workers()
    try:
        results, backend = run_entries(entries, plan, workers, args.scheduler)
    except Exception as exc:  # a model failure, not bad input
        print(f"error: a run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED

    from sim.analysis import compare

    summaries = {label: result.summary for label, result in results.items()}
    table = compare.comparison_table(summaries, reference.label)
    wall = time.perf_counter() - started
    meta = comparison_metadata(entries, reference, plan, backend, wall)

    from sim.experiment.store import write_folder_atomic

    write_folder_atomic(Path(out), lambda folder: write_comparison(folder, results, table, meta))
    print_summary(table, results, plan, out, time.perf_counter() - started,
                  len(entries) - len(plan.from_folders))
    return EXIT_OK


# ----------------------------------------------------------------- targets


def resolve_targets(args: argparse.Namespace) -> list[Entry]:
    """Turn command-line targets into entries with unique labels."""
    from sim.scenario.load import load_with_sources, shipped_scenarios

    if args.all_policies and args.targets:
        raise UsageError("give scenarios or --all-policies, not both")
    if args.all_policies:
        targets = [str(p) for p in shipped_scenarios("policy")]
    else:
        targets = list(args.targets)
    if not targets:
        raise UsageError("nothing to compare: give scenario names, files or run folders, "
                         "or --all-policies")
    entries: list[Entry] = []
    for target in targets:
        path = Path(target)
        if path.is_dir():
            entries.extend(read_folder(path, target))
        else:
            loaded = load_with_sources(target)
            entries.append(Entry(loaded.scenario.name, target, loaded=loaded))
    seen: dict[str, int] = {}
    for entry in entries:
        count = seen.get(entry.label, 0) + 1
        seen[entry.label] = count
        if count > 1:
            entry.label = f"{entry.label}_{count}"
    return entries


def read_folder(path: Path, target: str) -> list[Entry]:
    """Entries of a run folder, or of every scenario folder of a comparison folder."""
    from sim.experiment.results import read_run

    meta_path = path / "metadata.json"
    if not meta_path.is_file():
        raise UsageError(f"{path}: not a run folder (no metadata.json)")
    meta = json.loads(meta_path.read_text())
    if meta.get("kind") == "comparison":
        return [Entry(label, target, result=read_run(path / label), folder=path / label)
                for label in meta["scenarios"]]
    if not (path / "daily.parquet").is_file() or "seeds" not in meta:
        raise UsageError(f"{path}: not a run folder written by 'sim run' or 'sim compare'")
    result = read_run(path)
    return [Entry(str(meta.get("scenario", result.scenario.name)), target, result=result,
                  folder=path)]


def pick_reference(entries: list[Entry], wanted: str | None) -> Entry:
    """The entry named by --reference, else baseline if present, else the first."""
    if wanted is None:
        return next((e for e in entries if e.label == "baseline"), entries[0])
    for entry in entries:
        if wanted in (entry.label, entry.target) or (
                entry.folder is not None and Path(wanted).resolve() == entry.folder.resolve()):
            return entry
    names = ", ".join(e.label for e in entries)
    raise UsageError(f"--reference {wanted} is not among the scenarios compared ({names})")


def plan_seeds(entries: list[Entry], reference: Entry, args: argparse.Namespace) -> Plan:
    """Seeds and horizon for all entries; folders must agree with each other and the options."""
    from sim.experiment.runner import replication_seeds

    folders = [e for e in entries if e.result is not None]
    if not folders:
        root = args.seed if args.seed is not None else reference.spec.run.seed
        days = args.days or reference.spec.run.days
        return Plan(root, replication_seeds(root, args.reps or DEFAULT_REPS), days,
                    command=args.command_line)
    first = folders[0]
    first_meta = first.result.metadata  # type: ignore[union-attr]
    for other in folders[1:]:
        meta = other.result.metadata  # type: ignore[union-attr]
        if [int(s) for s in meta["seeds"]] != [int(s) for s in first_meta["seeds"]]:
            raise UsageError(f"{_where(other)}: seeds differ from {_where(first)} "
                             f"({_seed_difference(meta, first_meta)})")
        if int(meta["days"]) != int(first_meta["days"]):
            raise UsageError(f"{_where(other)}: days differ from {_where(first)} "
                             f"({meta['days']} vs {first_meta['days']} days)")
    seeds = [int(s) for s in first_meta["seeds"]]
    root, days = int(first_meta["root_seed"]), int(first_meta["days"])
    where = _where(first)
    if args.seed is not None and args.seed != root:
        raise UsageError(f"--seed {args.seed} differs from {where} (root seed {root}); "
                         "drop --seed to reuse the folder's seeds")
    if args.reps is not None and args.reps != len(seeds):
        raise UsageError(f"--reps {args.reps} differs from {where} ({len(seeds)} "
                         "replications); drop --reps to reuse the folder's seeds")
    if args.days is not None and args.days != days:
        raise UsageError(f"--days {args.days} differs from {where} ({days} days)")
    if len(seeds) < 2:
        raise UsageError(f"{where}: only {len(seeds)} replication; at least 2 are needed")
    return Plan(root, seeds, days, [e.label for e in folders], command=args.command_line)


def _where(entry: Entry) -> str:
    folder = entry.folder or Path(entry.target)
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(folder)


def _seed_difference(meta: dict, other: dict) -> str:
    if meta.get("root_seed") != other.get("root_seed"):
        return f"root seed {meta.get('root_seed')} vs {other.get('root_seed')}"
    if len(meta["seeds"]) != len(other["seeds"]):
        return f"{len(meta['seeds'])} vs {len(other['seeds'])} replications"
    return "same root seed and count, but different seed lists"


# --------------------------------------------------------------------- runs


def run_entries(entries: list[Entry], plan: Plan, workers: int, scheduler: str | None = None,
                ) -> tuple[dict[str, RunResult], dict[str, Any]]:
    """Run every entry that is not read from a folder on one backend; keep entry order.

    The chunks of all scenarios go to one backend (the one ``sim run`` would choose:
    Dask with a scheduler or ``SIM_SCHEDULER``, else a process pool for ``workers > 1``),
    so the workers stay busy across scenario boundaries. Results do not depend on the
    backend or the number of workers.

    Returns:
        The results by label, and the backend used (name and workers).

    Raises:
        RuntimeError: when a replication raised (listed in the message).

    """
    import math

    from sim.experiment.backends import make_backend
    from sim.experiment.results import RunResult
    from sim.experiment.runner import default_chunk_size, run_chunk

    to_run = [e for e in entries if e.result is None]
    jobs = list(enumerate(plan.seeds))
    n = len(jobs)
    size = min(n, default_chunk_size(n * len(to_run), workers))
    size = math.ceil(n / math.ceil(n / size)) if n else 1  # even chunks within a scenario
    tasks, owners = [], []
    for entry in to_run:
        for index, first in enumerate(range(0, n, size)):
            tasks.append((entry.spec, index, jobs[first:first + size], plan.days))
            owners.append(entry.label)
    done: dict[str, list[Any]] = {e.label: [] for e in to_run}
    busy: dict[str, float] = {e.label: 0.0 for e in to_run}
    update, close = progress_bar(len(to_run) * n, "compare")
    finished = 0
    update(finished)
    engine = make_backend(None, workers, scheduler)
    backend = {"backend": engine.name, "workers": engine.workers}
    try:
        for k, chunk in engine.map(run_chunk, tasks):
            if isinstance(chunk, BaseException):
                raise RuntimeError(f"{owners[k]}: {chunk}")
            done[owners[k]].append(chunk)
            busy[owners[k]] += chunk.seconds
            finished += len(chunk.jobs)
            update(finished)
    finally:
        engine.close()
        close()
    results: dict[str, RunResult] = {}
    for entry in entries:
        if entry.result is not None:
            results[entry.label] = entry.result
            continue
        assert entry.loaded is not None
        extra = {"sources": [_rel(p) for p in entry.loaded.sources],
                 "source_hash": entry.loaded.source_hash, "command": plan.command}
        result = RunResult.from_chunks(entry.spec, done[entry.label], plan.root_seed,
                                       plan.days, wall_time=busy[entry.label], extra=extra)
        if len(result.failures):
            first = result.failures.iloc[0]
            raise RuntimeError(f"{entry.label}: {len(result.failures)} replication(s) failed, "
                               f"e.g. replication {first['replication']} (seed "
                               f"{first['seed']}): {first['error']}")
        results[entry.label] = result
    return results, backend


# ------------------------------------------------------------------ writing


def comparison_metadata(entries: list[Entry], reference: Entry, plan: Plan,
                        backend: dict[str, Any], wall: float) -> dict[str, Any]:
    """What is needed to read and reproduce the comparison."""
    import datetime as dt

    from sim.experiment.results import versions

    return {
        "kind": "comparison",
        "scenarios": [e.label for e in entries],
        "reference": reference.label,
        "targets": {e.label: e.target for e in entries},
        "reused_folders": plan.from_folders,
        "root_seed": plan.root_seed,
        "replications": len(plan.seeds),
        "days": plan.days,
        "seeds": plan.seeds,
        "level": 0.95,
        **backend,  # where the runs ran: "backend" and "workers"
        "wall_time_s": round(wall, 3),  # runs and tables, before files and figures
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": plan.command,
        "versions": versions(),
    }


def write_comparison(folder: Path, results: dict[str, RunResult], table: pd.DataFrame,
                     meta: dict[str, Any]) -> None:
    """Fill the comparison folder: tables, figures, one run folder per scenario, metadata."""
    import pandas as pd

    from sim.analysis import compare, plots
    from sim.experiment.results import xlrm_columns

    reference = meta["reference"]
    table.to_csv(folder / "comparison.csv", index=False)
    (folder / "comparison.md").write_text(markdown_report(table, meta))
    pd.concat([r.summary.assign(scenario=label) for label, r in results.items()],
              ignore_index=True).to_csv(folder / "summary.csv", index=False)
    pd.DataFrame([{"scenario": label, "reference": label == reference,
                   "description": r.scenario.description, **xlrm_columns(r.scenario)}
                  for label, r in results.items()]).to_csv(folder / "scenarios.csv", index=False)
    weekly = {label: compare.bands(compare.weekly_attacks(r.daily), by="week")
              for label, r in results.items()}
    plots.plot_bands(weekly, reference, folder / "weekly_attacks.png",
                     ylabel="attacks per 7 days",
                     title="Weekly attacks on coalition sites (median and 90% band)")
    stability = {label: compare.bands(r.daily, by="day", value="stability")
                 for label, r in results.items()}
    plots.plot_bands(stability, reference, folder / "stability.png", ylabel="stability index",
                     title="Iraqi stability index (median and 90% band)", from_zero=False)
    plots.plot_differences(table, folder / "differences.png")
    for label, result in results.items():
        (folder / label).mkdir()
        result.write_into(folder / label)
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))


def markdown_report(table: pd.DataFrame, meta: dict[str, Any]) -> str:
    """comparison.md: a short header, then the full table."""
    from sim.analysis import compare

    return (
        f"# Comparison with {meta['reference']}\n\n"
        f"{len(meta['scenarios'])} scenarios, {meta['replications']} replications each, "
        f"{meta['days']} days, root seed {meta['root_seed']} (the same replication seeds "
        "for every scenario).\n\n"
        "`mean` and its 95% t-interval over replications; `diff`: mean of the per-replication "
        f"differences from {meta['reference']} (paired by seed) and its 95% t-interval; "
        "`*`: that interval excludes zero. See docs/compare.md.\n\n"
        + compare.markdown(table))


# ----------------------------------------------------------------- printing


def print_summary(table: pd.DataFrame, results: dict[str, RunResult], plan: Plan, out: Path,
                  wall: float, ran: int) -> None:
    """Print the compact table: rows are scenarios, columns key metrics."""
    from tabulate import tabulate

    from sim.analysis import compare

    reference = str(table["reference"].iloc[0])
    reused = f", {len(plan.from_folders)} read from folders" if plan.from_folders else ""
    print(f"compared {len(results)} scenarios ({ran} run{reused}) x {len(plan.seeds)} "
          f"replications x {plan.days} days, root seed {plan.root_seed}, in {wall:.1f} s")
    headers, rows = compare.compact_rows(table)
    print(tabulate(rows, headers=headers, disable_numparse=True,
                   colalign=("left", *["right"] * (len(headers) - 1))))
    print(f"cells: mean (difference from {reference}; * = its paired 95% interval excludes "
          "zero); open_confrontation is the share of replications")
    print(f"full table with intervals: {out / 'comparison.md'} (and comparison.csv); "
          f"figures and run folders in {out}")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name
