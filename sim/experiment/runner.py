"""Replications: seeds, one run, many runs in chunks on any backend, streamed to disk.

Replication seeds come from ``SeedSequence(root_seed).spawn(n)``: replication ``i``
of any scenario gets the same seed (common random numbers), and results do not
depend on how many workers, or which backend, ran them.

Replications are grouped into chunks (``chunk_size`` consecutive indices). A worker
runs a chunk and sends back compact numpy columns (:class:`Chunk`), not DataFrames.
With ``out`` given, each chunk is written to the run's in-progress folder as soon as
it arrives (see :class:`sim.results.RunStore`), so memory stays flat, an interrupted
run can be resumed (:func:`resume`), and a replication that raises is recorded in
``failures.csv`` while the others complete.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.backends import Backend, TaskError, make_backend
from sim.experiment.results import RunResult, RunStore, StoredRunResult, summarise_columns
from sim.scenario.schema import Scenario


def replication_seeds(root_seed: int, replications: int) -> list[int]:
    """Integer seeds for each replication, spawned from one root.

    Args:
        root_seed: the scenario's (or command line's) seed.
        replications: how many.

    Returns:
        One 63-bit integer per replication; ``IraqModel(spec, rng=seed)`` replays it.

    """
    children = np.random.SeedSequence(root_seed).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


@dataclass(frozen=True)
class Replication:
    """The tables of one replication."""

    replication: int
    seed: int
    daily: pd.DataFrame
    events: pd.DataFrame
    summary: dict


@dataclass
class Columns:
    """One replication as numpy columns (the lean form the backends pass around)."""

    daily: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    summary: dict[str, Any]


def simulate(spec: Scenario, replication: int, seed: int, days: int | None = None) -> Columns:
    """Run one replication and return its tables as numpy columns.

    Args:
        spec: the validated scenario.
        replication: index of the replication (0-based; not used by the model).
        seed: its seed (from :func:`replication_seeds`).
        days: horizon; defaults to ``spec.run.days``.

    """
    from sim.model.model import IraqModel  # Mesa is imported only when a model runs

    model = IraqModel(spec, rng=seed, days=days)
    model.run()
    daily = model.daily_columns()
    return Columns(daily, model.event_columns(), summarise_columns(daily, spec.mechanisms))


def run_replication(spec: Scenario, replication: int, seed: int,
                    days: int | None = None) -> Replication:
    """Run one replication of a scenario and return its tables as DataFrames.

    Args:
        spec: the validated scenario.
        replication: index of the replication (0-based).
        seed: its seed (from :func:`replication_seeds`).
        days: horizon; defaults to ``spec.run.days``.

    """
    cols = simulate(spec, replication, seed, days)
    return Replication(replication, seed, pd.DataFrame(cols.daily), pd.DataFrame(cols.events),
                       cols.summary)


@dataclass
class Chunk:
    """The replications of one chunk: stacked numpy columns, summary rows and failures."""

    index: int
    jobs: list[tuple[int, int]]
    daily: dict[str, np.ndarray] = field(default_factory=dict)
    events: dict[str, np.ndarray] = field(default_factory=dict)
    summary: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def run_chunk(spec: Scenario, index: int, jobs: Sequence[tuple[int, int]],
              days: int | None) -> Chunk:
    """Run a chunk of ``(replication, seed)`` jobs; a replication that raises is recorded.

    This is the function every backend runs on its workers.
    """
    started = time.perf_counter()
    chunk = Chunk(index, list(jobs))
    dailies, events = [], []
    for rep, seed in jobs:
        try:
            cols = simulate(spec, rep, seed, days)
        except Exception as exc:
            chunk.failures.append(failure_row(spec, rep, seed, exc))
            continue
        n_days = len(cols.daily["day"])
        dailies.append({"replication": np.full(n_days, rep, dtype=np.int64), **cols.daily})
        n_events = len(cols.events["day"])
        events.append({"replication": np.full(n_events, rep, dtype=np.int64), **cols.events})
        chunk.summary.append({"scenario": spec.name, "replication": rep, "seed": seed,
                              **cols.summary})
    chunk.daily = _stack(dailies)
    chunk.events = _stack(events)
    chunk.seconds = time.perf_counter() - started
    return chunk


def failure_row(spec: Scenario, rep: int, seed: int, exc: BaseException) -> dict[str, Any]:
    """One row of failures.csv."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {"scenario": spec.name, "replication": rep, "seed": seed, "error": text}


def _stack(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def default_chunk_size(replications: int, workers: int) -> int:
    """Replications per chunk: about 32 chunks per worker, between 1 and 100.

    Small enough that workers finish close together (the last chunk is a short tail),
    large enough that sending tasks and results costs little.
    """
    return max(1, min(100, math.ceil(replications / (max(1, workers) * 32))))


def run(spec: Scenario, replications: int | None = None, seed: int | None = None,
        days: int | None = None, workers: int = 1,
        progress: Callable[[int], None] | None = None, *,
        backend: str | Backend | None = None, scheduler: str | None = None,
        out: Path | None = None, metadata: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        chunk_fn: Callable[..., Chunk] | None = None) -> RunResult:
    """Run a scenario's replications and return its tables.

    Args:
        spec: the validated scenario.
        replications: how many (default ``spec.run.replications``).
        seed: root seed (default ``spec.run.seed``).
        days: horizon (default ``spec.run.days``).
        workers: processes for the local pool (1 = this process).
        progress: called with the number of replications finished so far.
        backend: ``"serial"``, ``"processes"``, ``"dask"`` or a backend object; by
            default chosen from ``scheduler`` and ``workers`` (see
            :func:`sim.backends.make_backend`).
        scheduler: a Dask scheduler address, ``tcp://HOST:PORT`` (default: the
            ``SIM_SCHEDULER`` environment variable).
        out: when given, results stream to this run folder chunk by chunk (built in
            ``OUT.partial`` and renamed when complete) and the tables returned are read
            from it on first use; an interrupted run can be finished by :func:`resume`.
        metadata: extra entries for ``metadata.json`` (command, sources, ...).
        chunk_size: replications per chunk (default :func:`default_chunk_size`).
        chunk_fn: the function workers run on each chunk (default :func:`run_chunk`);
            a module-level function with the same signature, e.g. to wrap or instrument
            the model run.

    Returns:
        The run's tables; identical for any number of workers and any backend.
        Replications that raised are left out of the tables and listed in
        ``result.failures`` (and ``failures.csv``).

    """
    n = replications or spec.run.replications
    root = spec.run.seed if seed is None else seed
    horizon = days or spec.run.days
    engine = make_backend(backend, workers, scheduler)
    size = chunk_size or default_chunk_size(n, engine.workers)
    plan = {"root_seed": root, "replications": n, "days": horizon, "chunk_size": size,
            "backend": engine.name, "workers": engine.workers}
    store = RunStore.create(Path(out), spec, plan, metadata or {}) if out is not None else None
    try:
        return _execute(spec, plan, engine, store, progress, metadata or {},
                        chunk_fn or run_chunk)
    finally:
        engine.close()


def resume(folder: Path, workers: int = 1, progress: Callable[[int], None] | None = None, *,
           backend: str | Backend | None = None, scheduler: str | None = None,
           metadata: dict[str, Any] | None = None) -> RunResult:
    """Finish an interrupted run: run only the chunks missing from its in-progress folder.

    Args:
        folder: the run folder given as ``out`` (or its ``.partial`` folder).
        workers: processes for the local pool.
        progress: called with the number of replications finished (earlier ones included).
        backend: as for :func:`run`.
        scheduler: as for :func:`run`.
        metadata: extra entries for ``metadata.json`` (replace those saved).

    Returns:
        The completed run, with the same tables an uninterrupted run would have.

    """
    store = RunStore.open(Path(folder))
    engine = make_backend(backend, workers, scheduler)
    plan = dict(store.plan, backend=engine.name, workers=engine.workers)
    extra = {**store.extra, **(metadata or {})}
    try:
        return _execute(store.spec, plan, engine, store, progress, extra)
    finally:
        engine.close()


def _execute(spec: Scenario, plan: dict[str, Any], engine: Backend, store: RunStore | None,
             progress: Callable[[int], None] | None, extra: dict[str, Any],
             chunk_fn: Callable[..., Chunk] = run_chunk) -> RunResult:
    n, size, horizon = plan["replications"], plan["chunk_size"], plan["days"]
    seeds = replication_seeds(plan["root_seed"], n)
    jobs = list(enumerate(seeds))
    chunks = [jobs[i:i + size] for i in range(0, n, size)]
    done_before = store.completed_chunks() if store is not None else set()
    todo = [i for i in range(len(chunks)) if i not in done_before]
    finished = sum(len(chunks[i]) for i in done_before)
    if progress is not None:
        progress(finished)
    started = time.perf_counter()
    collected: list[Chunk] = []
    tasks = [(spec, i, chunks[i], horizon) for i in todo]
    for k, result in engine.map(chunk_fn, tasks):
        index = todo[k]
        if isinstance(result, BaseException):
            result = _lost_chunk(spec, index, chunks[index], result)
        if store is not None:
            store.write_chunk(result)
        else:
            collected.append(result)
        finished += len(result.jobs)
        if progress is not None:
            progress(finished)
    wall = time.perf_counter() - started
    if store is not None:
        folder = store.finish(wall_time=wall)
        return StoredRunResult.open(folder)
    return RunResult.from_chunks(spec, collected, root_seed=plan["root_seed"], days=horizon,
                                 wall_time=wall, extra={**extra, **_plan_info(plan)})


def _plan_info(plan: dict[str, Any]) -> dict[str, Any]:
    return {"backend": plan["backend"], "workers": plan["workers"],
            "chunk_size": plan["chunk_size"]}


def _lost_chunk(spec: Scenario, index: int, jobs: list[tuple[int, int]],
                exc: BaseException) -> Chunk:
    """A chunk whose task failed as a whole: every replication in it is a failure."""
    error = exc if isinstance(exc, TaskError) else TaskError(str(exc))
    return Chunk(index, jobs, failures=[failure_row(spec, rep, seed, error)
                                        for rep, seed in jobs])


def default_workers() -> int:
    """Workers to use by default: the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
