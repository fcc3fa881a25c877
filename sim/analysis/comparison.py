"""Running a comparison: scenarios (or finished run folders) -> one plan -> paired tables.

:func:`compare` is what ``sim compare`` runs, callable from Python: every scenario
runs with the same replication seeds through the one execution path
(:func:`sim.experiment.runner.execute`), run folders are reused when their seeds and
horizons agree, and the result holds the same tables the command writes. With
``out`` the runs stream into ``OUT.partial/<label>/`` and an interrupted comparison
is finished by :func:`resume_comparison`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis import compare as tables
from sim.experiment import runner
from sim.experiment.plan import Entry, Plan, make_plan, replication_seeds
from sim.experiment.results import RunResult, read_run, versions
from sim.experiment.store import RunStore
from sim.scenario.load import load_with_sources
from sim.scenario.registry import summary_values
from sim.scenario.schema import Scenario

DEFAULT_REPS = 30
"""Replications per scenario when neither ``replications`` nor a run folder says otherwise."""


class ComparisonError(ValueError):
    """Targets that cannot be compared (unknown reference, folders that do not pair, ...)."""


@dataclass
class Comparison:
    """A finished comparison: the paired table and every scenario's run, reference first."""

    reference: str
    table: pd.DataFrame
    runs: dict[str, RunResult]
    metadata: dict[str, Any]
    failed: int = 0
    folder: Path | None = None

    def summary(self) -> pd.DataFrame:
        """Every scenario's summary table, one after another (summary.csv)."""
        return pd.concat([r.summary.assign(scenario=label) for label, r in self.runs.items()],
                         ignore_index=True)

    def scenarios(self) -> pd.DataFrame:
        """One row per scenario: description, reference flag, levers and uncertainties."""
        return pd.DataFrame([{"scenario": label, "reference": label == self.reference,
                              "description": r.scenario.description,
                              **summary_values(r.scenario)} for label, r in self.runs.items()])


@dataclass
class Target:
    """A compared scenario: to run (``entry``) or read from a run folder (``result``)."""

    label: str
    given: str
    entry: Entry | None = None
    result: RunResult | None = None
    folder: Path | None = None

    @property
    def spec(self) -> Scenario:
        """The scenario, from its file or from its run folder's metadata."""
        return self.entry.scenario if self.entry is not None else self.result.scenario  # type: ignore[union-attr]


@dataclass
class Options:
    """How a comparison runs (the command line's options)."""

    reference: str | None = None
    replications: int | None = None
    seed: int | None = None
    days: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    engine: str = "agents"


def compare(targets: Sequence[str | Path | Scenario], *, reference: str | None = None,
            replications: int | None = None, seed: int | None = None, days: int | None = None,
            changes: dict[str, Any] | None = None, workers: int = 1, backend: Any = None,
            scheduler: str | None = None, out: Path | None = None,
            progress: Callable[[int], None] | None = None, command: str = "",
            before_run: Callable[[Plan], None] | None = None,
            engine: str = "agents") -> Comparison:
    """Run scenarios with common random numbers and compare each with a reference.

    Args:
        targets: shipped scenario names, scenario files, :class:`Scenario` objects, or
            folders written by ``sim run`` / ``sim compare`` (reused, not re-run).
        reference: label of the reference (default: ``baseline`` if compared, else the
            first target).
        replications: per scenario, at least 2 (default 30, or those of the folders).
        seed: root seed shared by all (default: the reference's ``run.seed``).
        days: horizon (default: the reference's ``run.days``).
        changes: parameter path -> value applied to every scenario run (``--set``).
        workers: processes for the local pool.
        backend: as for :func:`sim.experiment.runner.execute`.
        scheduler: a Dask scheduler address.
        out: write the comparison folder here (atomically; resumable while running).
        progress: called with the number of replications finished.
        command: the command line, for metadata.
        before_run: called with the plan before anything runs (the CLI starts its
            progress bar there).
        engine: ``"agents"`` or ``"ensemble"`` (the same model on arrays; the same tables
            for the same seeds).

    Raises:
        ComparisonError: targets that cannot be paired or an unknown reference.
        sim.scenario.errors.ScenarioError: a scenario file that is not valid.

    """
    options = Options(reference, replications, seed, days, dict(changes or {}), engine)
    found = resolve_targets(targets, options.changes)
    chosen = pick_reference(found, options.reference)
    found = [chosen, *[t for t in found if t is not chosen]]
    plan = plan_for(found, chosen, options, workers)
    extra = {"command": command, "reference": chosen.label,
             "reused": {t.label: str(t.folder) for t in found if t.result is not None},
             "order": [t.label for t in found], "set": {k: str(v) for k, v in options.changes.items()}}
    store = RunStore.create(out, plan, "comparison", extra) if out is not None else None
    try:
        if before_run is not None:
            before_run(plan)
        started = time.perf_counter()
        runs = runner.execute(plan, workers=workers, backend=backend, scheduler=scheduler,
                              store=store, progress=progress,
                              metadata={"command": command, "engine": engine})
        results = {t.label: t.result for t in found if t.result is not None}
        return _finish(plan, runs, results, extra, store, time.perf_counter() - started)
    finally:
        if store is not None:
            store.close()


def resume_comparison(folder: Path, *, workers: int = 1, backend: Any = None,
                      scheduler: str | None = None,
                      progress: Callable[[int], None] | None = None,
                      command: str = "") -> Comparison:
    """Finish an interrupted ``sim compare``: run its missing chunks, then write its tables.

    Raises:
        FileNotFoundError: when there is no interrupted comparison at ``folder``.

    """
    store = RunStore.open(Path(folder))
    try:
        if store.kind != "comparison":
            raise ComparisonError(f"{folder} is an interrupted 'sim run'; finish it with "
                                  f"'sim run --resume {store.final}'")
        started = time.perf_counter()
        runs = runner.execute(store.plan, workers=workers, backend=backend, scheduler=scheduler,
                              store=store, progress=progress,
                              metadata={"command": command or store.extra.get("command", "")})
        reused = {label: read_run(Path(path)) for label, path in store.extra["reused"].items()}
        return _finish(store.plan, runs, reused, store.extra, store,
                       time.perf_counter() - started)
    finally:
        store.close()


def _finish(plan: Plan, runs: runner.Runs, reused: dict[str, RunResult], extra: dict[str, Any],
            store: RunStore | None, wall: float) -> Comparison:
    results: dict[str, RunResult] = {}
    for label in extra["order"]:
        if label in reused:
            results[label] = reused[label]
        elif store is not None:
            results[label] = read_run(store.partial / label)
        else:
            results[label] = runs[label]
    reference = extra["reference"]
    failed = sum(len(r.failures) for r in results.values())
    summaries = paired_summaries(results)
    table = tables.comparison_table(summaries, reference)
    meta = comparison_metadata(plan, extra, runs.backend, wall, failed)
    comparison = Comparison(reference, table, results, meta, failed)
    if store is None:
        return comparison
    from sim.analysis.comparison_files import write_comparison_files

    write_comparison_files(store.partial, comparison)
    folder = store.commit()
    comparison.folder = folder
    comparison.runs = {label: (read_run(folder / label) if label not in reused else run)
                       for label, run in results.items()}
    return comparison


def paired_summaries(results: dict[str, RunResult]) -> dict[str, pd.DataFrame]:
    """Each scenario's summary, kept to the seeds every scenario completed (pairs stay pairs)."""
    common = set.intersection(*(set(r.summary["seed"].astype("int64")) for r in results.values()))
    return {label: r.summary[r.summary["seed"].astype("int64").isin(common)]
            for label, r in results.items()}


def comparison_metadata(plan: Plan, extra: dict[str, Any], backend: dict[str, Any], wall: float,
                        failed: int) -> dict[str, Any]:
    """What is needed to read and reproduce the comparison (its metadata.json)."""
    return {
        "kind": "comparison", "scenarios": extra["order"], "reference": extra["reference"],
        "reused_folders": sorted(extra["reused"]), "root_seed": plan.root_seed,
        "replications": plan.replications, "days": plan.days, "seeds": list(plan.seeds),
        "failed": failed, "level": 0.95, "set": extra.get("set", {}), **backend,
        "wall_time_s": round(wall, 3),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": extra.get("command", ""), "versions": versions(),
    }


# ---------------------------------------------------------------- targets


def resolve_targets(targets: Sequence[str | Path | Scenario],
                    changes: dict[str, Any] | None = None) -> list[Target]:
    """Turn targets into scenarios to run or folders to reuse, with unique labels."""
    from sim.scenario.load import override

    if not targets:
        raise ComparisonError("nothing to compare: give scenario names, files or run folders")
    found: list[Target] = []
    for target in targets:
        if isinstance(target, Scenario):
            spec = override(target, changes, "(--set)") if changes else target
            found.append(Target(spec.name, spec.name, entry=Entry(spec.name, spec)))
        elif Path(target).is_dir():
            found.extend(read_folder(Path(target)))
        else:
            loaded = load_with_sources(target)
            spec = override(loaded.scenario, changes, "(--set)") if changes else loaded.scenario
            found.append(Target(spec.name, str(target), entry=Entry(
                spec.name, spec, tuple(_shown(p) for p in loaded.sources), loaded.source_hash)))
    seen: dict[str, int] = {}
    for item in found:
        count = seen.get(item.label, 0) + 1
        seen[item.label] = count
        if count > 1:
            item.label = f"{item.label}_{count}"
            if item.entry is not None:
                item.entry = Entry(item.label, item.entry.scenario, item.entry.sources,
                                   item.entry.source_hash)
    return found


def read_folder(path: Path) -> list[Target]:
    """The run of a run folder, or every scenario's run of a comparison folder."""
    meta_path = path / "metadata.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ComparisonError(f"{path}: not a run folder (no readable metadata.json)") from None
    if meta.get("kind") == "comparison":
        return [Target(label, str(path), result=read_run(path / label), folder=path / label)
                for label in meta["scenarios"]]
    if not (path / "daily.parquet").exists() or "seeds" not in meta:
        raise ComparisonError(f"{path}: not a run folder written by 'sim run' or 'sim compare'")
    return [Target(str(meta.get("label") or meta.get("scenario")), str(path),
                   result=read_run(path), folder=path)]


def pick_reference(found: list[Target], wanted: str | None) -> Target:
    """The target named ``wanted``, else ``baseline`` if present, else the first."""
    if wanted is None:
        return next((t for t in found if t.label == "baseline"), found[0])
    for target in found:
        if wanted in (target.label, target.given) or (
                target.folder is not None and Path(wanted).resolve() == target.folder.resolve()):
            return target
    names = ", ".join(t.label for t in found)
    raise ComparisonError(f"--reference {wanted} is not among the scenarios compared ({names})")


def plan_for(found: list[Target], reference: Target, options: Options, workers: int) -> Plan:
    """The plan for the targets to run; reused folders must agree with each other and options."""
    entries = [t.entry for t in found if t.entry is not None]
    folders = [t for t in found if t.result is not None]
    if options.replications is not None and options.replications < 2:
        raise ComparisonError(f"--reps must be at least 2 so that intervals can be computed "
                              f"(got {options.replications})")
    if not folders:
        root = options.seed if options.seed is not None else reference.spec.run.seed
        return _plan(entries, options.replications or DEFAULT_REPS, root,
                     options.days or reference.spec.run.days, workers, options.engine)
    first = folders[0].result.metadata  # type: ignore[union-attr]
    for other in folders[1:]:
        meta = other.result.metadata  # type: ignore[union-attr]
        if [int(s) for s in meta["seeds"]] != [int(s) for s in first["seeds"]]:
            raise ComparisonError(f"{_where(other)}: seeds differ from {_where(folders[0])} "
                                  f"({_seed_difference(meta, first)})")
        if int(meta["days"]) != int(first["days"]):
            raise ComparisonError(f"{_where(other)}: days differ from {_where(folders[0])} "
                                  f"({meta['days']} vs {first['days']} days)")
    seeds = [int(s) for s in first["seeds"]]
    root, days, where = int(first["root_seed"]), int(first["days"]), _where(folders[0])
    if options.seed is not None and options.seed != root:
        raise ComparisonError(f"--seed {options.seed} differs from {where} (root seed {root}); "
                              "drop --seed to reuse the folder's seeds")
    if options.replications is not None and options.replications != len(seeds):
        raise ComparisonError(f"--reps {options.replications} differs from {where} "
                              f"({len(seeds)} replications); drop --reps to reuse the folder's "
                              "seeds")
    if options.days is not None and options.days != days:
        raise ComparisonError(f"--days {options.days} differs from {where} ({days} days)")
    if len(seeds) < 2:
        raise ComparisonError(f"{where}: only {len(seeds)} replication; at least 2 are needed")
    if seeds != replication_seeds(root, len(seeds)):
        raise ComparisonError(f"{where}: its seeds are not those of root seed {root}")
    return _plan(entries, len(seeds), root, days, workers, options.engine)


def _plan(entries: list[Entry], replications: int, root: int, days: int, workers: int,
          engine: str = "agents") -> Plan:
    try:
        return make_plan(entries, replications, root, days, workers,
                         engine=engine) if entries else Plan(
            (), root, replications, days, 1, tuple(replication_seeds(root, replications)))
    except ValueError as exc:
        raise ComparisonError(str(exc)) from None


def _where(target: Target) -> str:
    return _shown(target.folder or Path(target.given))


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _seed_difference(meta: dict, other: dict) -> str:
    if meta.get("root_seed") != other.get("root_seed"):
        return f"root seed {meta.get('root_seed')} vs {other.get('root_seed')}"
    if len(meta["seeds"]) != len(other["seeds"]):
        return f"{len(meta['seeds'])} vs {len(other['seeds'])} replications"
    return "same root seed and count, but different seed lists"
