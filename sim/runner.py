"""Replications: seeds, one run, many runs in one process or a pool of processes.

Replication seeds come from ``SeedSequence(root_seed).spawn(n)``: replication ``i``
of any scenario gets the same seed (common random numbers), and results do not
depend on how many workers ran them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.results import RunResult, summarise
from sim.schema import Scenario


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


def run_replication(spec: Scenario, replication: int, seed: int,
                    days: int | None = None) -> Replication:
    """Run one replication of a scenario and return its tables.

    Args:
        spec: the validated scenario.
        replication: index of the replication (0-based).
        seed: its seed (from :func:`replication_seeds`).
        days: horizon; defaults to ``spec.run.days``.

    """
    from sim.model import IraqModel  # Mesa is imported only when a model runs

    model = IraqModel(spec, rng=seed, days=days)
    model.run()
    daily = model.daily_table()
    events = model.event_table()
    return Replication(replication, seed, daily, events, summarise(daily, spec.mechanisms))


def _run_chunk(spec: Scenario, jobs: Sequence[tuple[int, int]], days: int | None,
               ) -> list[Replication]:
    return [run_replication(spec, rep, seed, days) for rep, seed in jobs]


def iter_replications(spec: Scenario, seeds: Sequence[int], days: int | None = None,
                      workers: int = 1, first: int = 0) -> Iterator[Replication]:
    """Yield replications in order of index, computed serially or in a process pool.

    Args:
        spec: the validated scenario.
        seeds: one seed per replication.
        days: horizon override.
        workers: processes; 1 runs in this process.
        first: index of the first replication (seeds[0] is replication ``first``).

    """
    jobs = [(first + i, seed) for i, seed in enumerate(seeds)]
    if workers <= 1 or len(jobs) < 2:
        for rep, seed in jobs:
            yield run_replication(spec, rep, seed, days)
        return
    size = max(1, min(50, len(jobs) // (workers * 4)))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_chunk, spec, chunk, days) for chunk in chunks]
        for future in futures:
            yield from future.result()


def run(spec: Scenario, replications: int | None = None, seed: int | None = None,
        days: int | None = None, workers: int = 1,
        progress: Callable[[int], None] | None = None) -> RunResult:
    """Run a scenario's replications and return its tables.

    Args:
        spec: the validated scenario.
        replications: how many (default ``spec.run.replications``).
        seed: root seed (default ``spec.run.seed``).
        days: horizon (default ``spec.run.days``).
        workers: processes (1 = this process).
        progress: called with the number of replications finished so far.

    Returns:
        The run's tables; identical for any number of workers.

    """
    n = replications or spec.run.replications
    root = spec.run.seed if seed is None else seed
    horizon = days or spec.run.days
    seeds = replication_seeds(root, n)
    started = time.perf_counter()
    reps = []
    for rep in iter_replications(spec, seeds, horizon, workers):
        reps.append(rep)
        if progress is not None:
            progress(len(reps))
    return RunResult.from_replications(spec, reps, root_seed=root, days=horizon,
                                       wall_time=time.perf_counter() - started)


def default_workers() -> int:
    """Workers to use by default: the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
