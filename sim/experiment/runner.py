"""One execution path: a plan's chunks on any backend, streamed to a run folder, resumable.

:func:`execute` runs every chunk of a :class:`~sim.experiment.plan.Plan` (one or more
scenarios, the same seeds for each) on a backend (this process, a process pool or a
Dask cluster). Without a folder the tables come back in memory; with a
:class:`~sim.experiment.store.RunStore` each chunk is written as it finishes (workers
that share the file system write their own Parquet parts), a replication that raises
is recorded while the others complete, and an interrupted run is finished by running
only its missing chunks. ``sim run``, ``sim compare``, calibration, validation and the
exercises all run through here.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.experiment.backends import Backend, TaskError, make_backend
from sim.experiment.plan import Entry, Plan, make_plan
from sim.experiment.store import RunStore, write_parts
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.experiment.results import RunResult


@dataclass
class Chunk:
    """The replications of one chunk: stacked numpy columns, summary rows and failures.

    ``written`` is true when the worker wrote the tables to the run folder itself (then
    ``daily`` and ``events`` are empty here).
    """

    entry: int
    index: int
    jobs: list[tuple[int, int]]
    daily: dict[str, np.ndarray] = field(default_factory=dict)
    events: dict[str, np.ndarray] = field(default_factory=dict)
    summary: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = False


def run_chunk(spec: Scenario, label: str, entry: int, index: int,
              jobs: list[tuple[int, int]], days: int,
              dirs: dict[str, Path] | None = None, engine: str = "agents",
              tables: str = "all") -> Chunk:
    """Run a chunk of ``(replication, seed)`` jobs; a replication that raises is recorded.

    This is the function every backend runs on its workers. With ``dirs`` (the run
    folder's ``daily.parquet/`` and ``events.parquet/``) the worker writes the chunk's
    tables there and sends back only the summary rows. The ensemble engine runs the
    whole chunk as one batch (if the batch raises, every replication in it is recorded
    as failed); ``tables="summary"`` keeps no daily table and no event log.
    """
    from sim.model.model import simulate

    started = time.perf_counter()
    chunk = Chunk(entry, index, list(jobs))
    if engine == "ensemble":
        _run_batch(spec, label, chunk, days, tables)
        return _finish(chunk, dirs, label, started)
    dailies, events = [], []
    for rep, seed in jobs:
        try:
            cols = simulate(spec, seed, days)
        except Exception as exc:
            chunk.failures.append(failure_row(label, rep, seed, exc))
            continue
        if tables == "all":
            n_days = len(cols.daily["day"])
            dailies.append({"replication": np.full(n_days, rep, dtype=np.int64),
                            **cols.daily})
            n_events = len(cols.events["day"])
            events.append({"replication": np.full(n_events, rep, dtype=np.int64),
                           **cols.events})
        chunk.summary.append({"scenario": label, "replication": rep, "seed": seed,
                              **cols.summary})
    chunk.daily, chunk.events = _stack(dailies), _stack(events)
    return _finish(chunk, dirs, label, started)


def _run_batch(spec: Scenario, label: str, chunk: Chunk, days: int, tables: str) -> None:
    """Fill ``chunk`` from one ensemble batch over its jobs."""
    from sim.model.ensemble import simulate_batch

    reps = np.array([rep for rep, _ in chunk.jobs], dtype=np.int64)
    seeds = [seed for _, seed in chunk.jobs]
    try:
        tally = simulate_batch(spec, seeds, days, tables=tables)
        summary = tally.summary(spec.mechanisms.deescalation_attacks,
                                spec.mechanisms.deescalation_days)
    except Exception as exc:
        chunk.failures.extend(failure_row(label, rep, seed, exc) for rep, seed in chunk.jobs)
        return
    chunk.summary = SummaryColumns({"scenario": np.full(len(reps), label, dtype=object),
                                    "replication": reps,
                                    "seed": np.array(seeds, dtype=np.int64), **summary})
    if tables == "all":
        daily = tally.daily_columns()
        chunk.daily = {"replication": np.repeat(reps, tally.day), **daily}
        rows, events = tally.event_columns()
        chunk.events = {"replication": reps[rows], **events}


class SummaryColumns(dict):
    """A chunk's summary as columns (the ensemble engine's form: a million replications
    stay a few arrays, not a million dictionaries). Iterating gives the rows, as the
    agent engine's list of dictionaries does.
    """

    def __iter__(self) -> Any:  # type: ignore[override]
        names = list(self.keys())
        for k in range(len(self["replication"])):
            yield {name: _scalar(self[name][k]) for name in names}

    def __len__(self) -> int:
        return len(self["replication"]) if "replication" in self.keys() else 0

    def frame(self) -> Any:
        """The columns as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(dict(self.items()))


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python value the agent engine's summary holds."""
    return value.item() if hasattr(value, "item") else value


def _finish(chunk: Chunk, dirs: dict[str, Path] | None, label: str, started: float) -> Chunk:
    if dirs is not None:
        write_parts(dirs, chunk.index, label, {"daily": chunk.daily, "events": chunk.events})
        chunk.daily, chunk.events, chunk.written = {}, {}, True
    chunk.seconds = time.perf_counter() - started
    return chunk


def failure_row(label: str, rep: int, seed: int, exc: BaseException) -> dict[str, Any]:
    """One row of failures.csv."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {"scenario": label, "replication": rep, "seed": seed, "error": text}


def _stack(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


@dataclass
class Runs:
    """The results of a plan: one :class:`~sim.experiment.results.RunResult` per label."""

    plan: Plan
    results: dict[str, RunResult]
    backend: dict[str, Any]
    wall_time: float
    folder: Path | None = None

    def __getitem__(self, label: str) -> RunResult:
        return self.results[label]


def execute(plan: Plan, *, backend: str | Backend | None = None, workers: int = 1,
            scheduler: str | None = None, store: RunStore | None = None,
            progress: Callable[[int], None] | None = None,
            metadata: dict[str, Any] | None = None,
            chunk_fn: Callable[..., Chunk] | None = None) -> Runs:
    """Run every chunk of a plan not done yet, and return its tables.

    Args:
        plan: scenarios, seeds, horizon and chunks.
        backend: ``"serial"``, ``"processes"``, ``"dask"`` or a backend object; by
            default chosen from ``scheduler`` and ``workers``
            (:func:`~sim.experiment.backends.make_backend`).
        workers: processes for the local pool (1 = this process).
        scheduler: a Dask scheduler address (default: ``SIM_SCHEDULER``).
        store: the run folder to stream into (its finished chunks are skipped); the
            caller commits it. None keeps the tables in memory.
        progress: called with the number of replications finished so far (those done
            before this session first).
        metadata: extra entries for each scenario's metadata (command, ...).
        chunk_fn: the function workers run on each chunk (default :func:`run_chunk`); a
            module-level function with the same signature, e.g. to instrument the run.

    Returns:
        The tables of every scenario; identical for any backend and number of workers.
        Replications that raised are left out of the tables and listed in each
        result's ``failures`` (and ``failures.csv``).

    """
    engine = make_backend(backend, workers, scheduler)
    info = {"backend": engine.name, "workers": engine.workers}
    try:
        engine.start()  # workers are forked before a progress bar starts its thread
        started = time.perf_counter()
        tasks = plan.tasks()
        done = store.completed() if store is not None else set()
        todo = [t for t in tasks if (t.entry, t.chunk) not in done]
        finished = sum(len(t.jobs) for t in tasks) - sum(len(t.jobs) for t in todo)
        if progress is not None:
            progress(finished)
        args = [_task_args(plan, t, store if engine.shares_files else None) for t in todo]
        collected: list[Chunk] = []
        for k, result in engine.map(chunk_fn or run_chunk, args):
            if isinstance(result, OSError):  # writing failed (a full disk): stop, resumable
                raise result
            if isinstance(result, BaseException):
                result = _lost_chunk(plan, todo[k], result)
            if store is not None:
                store.write_chunk(result)
            else:
                collected.append(result)
            finished += len(result.jobs)
            if progress is not None:
                progress(finished)
        wall = time.perf_counter() - started
    finally:
        engine.close()
    extra = {**(metadata or {}), **info}
    if store is not None:
        store.finish(wall, extra)
        return Runs(plan, {}, info, wall, store.partial)
    return Runs(plan, _in_memory(plan, collected, wall, extra), info, wall)


def _task_args(plan: Plan, task: Any, store: RunStore | None) -> tuple:
    entry = plan.entries[task.entry]
    dirs = store.table_dirs(task.entry) if store is not None else None
    return (entry.scenario, entry.label, task.entry, task.chunk, list(task.jobs), plan.days, dirs,
            plan.engine, plan.tables)


def _lost_chunk(plan: Plan, task: Any, exc: BaseException) -> Chunk:
    """A chunk whose task failed as a whole: every replication in it is a failure."""
    error = exc if isinstance(exc, TaskError) else TaskError(f"{type(exc).__name__}: {exc}")
    label = plan.entries[task.entry].label
    return Chunk(task.entry, task.chunk, list(task.jobs),
                 failures=[failure_row(label, rep, seed, error) for rep, seed in task.jobs])


def _summary_rows(chunks: list[Chunk]) -> Any:
    """The chunks' summary rows as one DataFrame (columns stay columns)."""
    import pandas as pd

    from sim.model.outcomes import SUMMARY_METRICS

    parts = [c.summary.frame() if isinstance(c.summary, SummaryColumns)
             else pd.DataFrame(c.summary) for c in chunks if len(c.summary)]
    if not parts:
        return pd.DataFrame(columns=["scenario", "replication", "seed", *SUMMARY_METRICS])
    return pd.concat(parts, ignore_index=True)


def _in_memory(plan: Plan, chunks: list[Chunk], wall: float,
               extra: dict[str, Any]) -> dict[str, RunResult]:
    import pandas as pd

    from sim.experiment.results import (
        EVENT_DTYPES,
        FAILURE_COLUMNS,
        RunResult,
        frame,
        run_metadata,
        summary_table,
    )

    results = {}
    for e, entry in enumerate(plan.entries):
        mine = sorted((c for c in chunks if c.entry == e), key=lambda c: c.index)
        rows = _summary_rows(mine)
        failures = pd.DataFrame([row for c in mine for row in c.failures],
                                columns=list(FAILURE_COLUMNS))
        meta = run_metadata(entry.scenario, plan.root_seed, plan.days,
                            list(rows["seed"]), wall, failed=len(failures),
                            extra={**extra, "label": entry.label, "sources": list(entry.sources),
                                   "source_hash": entry.source_hash,
                                   "chunk_size": plan.chunk_size})
        results[entry.label] = RunResult(
            entry.scenario, frame(entry.label, [c.daily for c in mine], {"scenario": object}),
            summary_table(entry.scenario, rows),
            frame(entry.label, [c.events for c in mine], EVENT_DTYPES), meta, failures)
    return results


# ------------------------------------------------------------------ one scenario


def run(spec: Scenario, replications: int | None = None, seed: int | None = None,
        days: int | None = None, workers: int = 1,
        progress: Callable[[int], None] | None = None, *,
        backend: str | Backend | None = None, scheduler: str | None = None,
        out: Path | None = None, metadata: dict[str, Any] | None = None,
        chunk_size: int | None = None, chunk_fn: Callable[..., Chunk] | None = None,
        sources: tuple[str, ...] = (), source_hash: str = "", engine: str = "agents",
        tables: str = "all") -> RunResult:
    """Run one scenario's replications and return its tables.

    Args:
        spec: the validated scenario.
        replications: how many (default ``spec.run.replications``).
        seed: root seed (default ``spec.run.seed``).
        days: horizon (default ``spec.run.days``).
        workers: processes for the local pool (1 = this process).
        progress: called with the number of replications finished so far.
        backend: as for :func:`execute`.
        scheduler: a Dask scheduler address, ``tcp://HOST:PORT``.
        out: when given, results stream to this run folder chunk by chunk (built in
            ``OUT.partial`` and renamed when complete) and the tables returned are read
            from it on first use; an interrupted run can be finished by :func:`resume`.
        metadata: extra entries for ``metadata.json`` (command, ...).
        chunk_size: replications per chunk (default: about 32 chunks per worker).
        chunk_fn: as for :func:`execute`.
        sources: the scenario's source files (for metadata).
        source_hash: their hash (for metadata).
        engine: ``"agents"`` or ``"ensemble"`` (the same model on arrays: the same tables,
            row for row, for the same seeds).
        tables: ``"all"`` or ``"summary"`` (no daily table and no event log).

    Returns:
        The run's tables; identical for any number of workers and any backend.

    """
    backend_used = make_backend(backend, workers, scheduler)
    plan = make_plan([Entry(spec.name, spec, sources, source_hash)], replications, seed, days,
                     backend_used.workers, chunk_size, engine=engine, tables=tables)
    metadata = {**(metadata or {}), "engine": engine, "tables": tables}
    if out is None:
        return execute(plan, backend=backend_used, progress=progress, metadata=metadata,
                       chunk_fn=chunk_fn)[spec.name]
    from sim.experiment.results import read_run

    store = RunStore.create(out, plan, "run", metadata)
    try:
        execute(plan, backend=backend_used, store=store, progress=progress,
                metadata=metadata, chunk_fn=chunk_fn)
        return read_run(store.commit())
    finally:
        store.close()


def resume(folder: Path, workers: int = 1, progress: Callable[[int], None] | None = None, *,
           backend: str | Backend | None = None, scheduler: str | None = None,
           metadata: dict[str, Any] | None = None) -> Path:
    """Finish an interrupted ``sim run``: run its missing chunks, then complete the folder.

    Args:
        folder: the run folder given as ``out`` (or its ``.partial`` folder).
        workers: processes for the local pool.
        progress: called with the number of replications finished (earlier ones included).
        backend: as for :func:`execute`.
        scheduler: as for :func:`execute`.
        metadata: extra entries for ``metadata.json`` (replace those saved).

    Returns:
        The finished run folder, with the same tables an uninterrupted run would have.

    Raises:
        FileNotFoundError: when there is no interrupted run at ``folder``.
        sim.experiment.lock.RunLocked: when another running process is writing it.
        ValueError: when it is an interrupted comparison (``sim compare --resume``).

    """
    store = RunStore.open(Path(folder))
    try:
        if store.kind != "run":
            raise ValueError(f"{folder} is an interrupted comparison; finish it with "
                             f"'sim compare --resume {store.final}'")
        store.extra = {**store.extra, **(metadata or {})}
        execute(store.plan, backend=backend, workers=workers, scheduler=scheduler, store=store,
                progress=progress, metadata=store.extra)
        return store.commit()
    finally:
        store.close()
