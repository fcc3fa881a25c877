"""Experimental designs: a scenario run at many points of its declared ranges, the same seeds at each.

A design is a matrix: one row per point, one column per parameter path (a Morris or
Sobol design from SALib, a Latin hypercube, ...). Every point runs the same replication
seeds (common random numbers); each point's outcomes are averaged over them, and the
spread within a point is kept, so an analysis can say how much of the variation between
points is replication noise. On the ensemble engine the points of a chunk run as one
batch whose rows differ in the design's values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.backends import make_backend
from sim.experiment.plan import ENSEMBLE_CHUNK, check_range, replication_seeds
from sim.scenario.schema import Scenario

OUTCOMES = ("attacks", "syria_share", "injuries", "deaths", "clashes", "min_stability",
            "open_confrontation")
"""Outcomes averaged per design point."""


def design_chunk(spec: Scenario, paths: list[str], points: np.ndarray, first: int,
                 seeds: list[int], days: int, integer: list[bool]) -> pd.DataFrame:
    """Run design points ``first, first + 1, ...``: per point, each outcome's mean and
    variance over the shared seeds.
    """
    from sim.model.ensemble import simulate_batch

    reps = len(seeds)
    varied = {path: np.repeat(np.round(points[:, j]) if integer[j] else points[:, j], reps)
              for j, path in enumerate(paths)}
    tally = simulate_batch(spec, seeds * len(points), days, varied, "summary")
    summary = tally.summary(spec.mechanisms.deescalation_attacks,
                            spec.mechanisms.deescalation_days)
    point = np.repeat(np.arange(first, first + len(points)), reps)
    frame = pd.DataFrame({"point": point, **{o: np.asarray(summary[o], dtype=float)
                                             for o in OUTCOMES}})
    grouped = frame.groupby("point")
    means, variances = grouped.mean(), grouped.var(ddof=1)
    return means.join(variances, rsuffix="_var").reset_index()


def map_chunks(fn: Callable[..., pd.DataFrame], tasks: Sequence[tuple], sizes: Sequence[int],
               *, backend: Any = None, workers: int = 1, scheduler: str | None = None,
               progress: Callable[[int], None] | None = None,
               ) -> tuple[list[pd.DataFrame], dict[str, Any], float]:
    """Run ``fn`` over chunk tasks on a backend; a chunk that raised stops the run.

    Returns:
        The chunks' tables (in the order they finished), the backend's name and workers,
        and the seconds taken. ``progress`` gets the replications done so far
        (``sizes[k]`` for chunk ``k``).

    """
    pool = make_backend(backend, workers, scheduler)
    started, done, frames = time.perf_counter(), 0, []
    try:
        pool.start()
        for k, frame in pool.map(fn, tasks):
            if isinstance(frame, BaseException):
                raise frame
            frames.append(frame)
            done += sizes[k]
            if progress is not None:
                progress(done)
    finally:
        pool.close()
    info = {"backend": pool.name, "workers": pool.workers}
    return frames, info, time.perf_counter() - started


def run_design(spec: Scenario, paths: Sequence[str], points: np.ndarray, replications: int,
               seed: int | None = None, days: int | None = None, *, workers: int = 1,
               backend: Any = None, scheduler: str | None = None,
               integer: Sequence[bool] | None = None,
               progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, dict]:
    """Run every point of a design on the ensemble engine with common random numbers.

    Args:
        spec: the scenario (values not in the design stay as it has them).
        paths: the design's columns (parameter paths that can differ by row).
        points: the design, shape (points, len(paths)).
        replications: per point (the same seeds at every point), at least 2.
        seed: root seed (default ``spec.run.seed``).
        days: horizon (default ``spec.run.days``).
        workers: processes for the local pool.
        backend: ``"serial"``, ``"processes"``, ``"dask"`` or a started backend.
        scheduler: a Dask scheduler address.
        integer: which paths take whole numbers (rounded).
        progress: called with the number of replications finished.

    Returns:
        One row per point: each outcome's mean and its variance over replications
        (``<outcome>_var``); and the metadata.

    """
    check_range("replications", replications, 2, 1_000_000)
    root = spec.run.seed if seed is None else seed
    horizon = spec.run.days if days is None else days
    seeds = replication_seeds(root, replications)
    points = np.asarray(points, dtype=float)
    whole = list(integer) if integer is not None else [False] * len(paths)
    per_chunk = max(1, ENSEMBLE_CHUNK // replications)
    tasks = [(spec, list(paths), points[i:i + per_chunk], i, seeds, horizon, whole)
             for i in range(0, len(points), per_chunk)]
    frames, info, seconds = map_chunks(design_chunk, tasks,
                                       [len(t[2]) * replications for t in tasks],
                                       backend=backend, workers=workers, scheduler=scheduler,
                                       progress=progress)
    table = pd.concat(frames, ignore_index=True).sort_values("point").reset_index(drop=True)
    meta = {"scenario": spec.name, "points": len(points), "replications": replications,
            "root_seed": root, "days": horizon, "engine": "ensemble", **info,
            "wall_time_s": round(seconds, 3)}
    return table, meta
