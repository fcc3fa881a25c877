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
from sim.experiment.checkpoint import Checkpoint
from sim.experiment.plan import ENSEMBLE_CHUNK, check_range, replication_seeds
from sim.scenario.schema import Scenario

OUTCOMES = ("attacks", "syria_share", "injuries", "deaths", "clashes", "min_stability",
            "open_confrontation")
"""Outcomes averaged per design point."""


def design_chunk(spec: Scenario, paths: list[str], points: np.ndarray, first: int,
                 seeds: list[int], days: int, integer: list[bool],
                 engine: str = "ensemble") -> pd.DataFrame:
    """Run design points ``first, first + 1, ...``: per point, each outcome's mean and
    variance over the shared seeds (on the ensemble engine, all points as one batch; on
    the agent engine, one Mesa model per point and seed).
    """
    reps = len(seeds)
    values = np.column_stack([np.round(points[:, j]) if integer[j] else points[:, j]
                              for j in range(len(paths))])
    if engine == "ensemble":
        from sim.model.ensemble import simulate_batch

        varied = {path: np.repeat(values[:, j], reps) for j, path in enumerate(paths)}
        tally = simulate_batch(spec, seeds * len(points), days, varied, "summary")
        summary = tally.summary(spec.mechanisms.deescalation_attacks,
                                spec.mechanisms.deescalation_days)
    else:
        from sim.model.model import simulate
        from sim.scenario.load import override

        runs = [simulate(override(spec, {p: _plain(v, whole) for p, v, whole
                                         in zip(paths, row, integer, strict=True)}), seed,
                         days).summary for row in values for seed in seeds]
        summary = {o: [run[o] for run in runs] for o in OUTCOMES}
    point = np.repeat(np.arange(first, first + len(points)), reps)
    frame = pd.DataFrame({"point": point, **{o: np.asarray(summary[o], dtype=float)
                                             for o in OUTCOMES}})
    grouped = frame.groupby("point")
    means, variances = grouped.mean(), grouped.var(ddof=1)
    return means.join(variances, rsuffix="_var").reset_index()


def _plain(value: float, whole: bool) -> float | int:
    return int(value) if whole else float(value)


def chunk_points(engine: str, replications: int, points: int, workers: int = 1) -> int:
    """Design points per chunk: about ``ENSEMBLE_CHUNK`` rows on the ensemble engine; on the
    agent engine about four chunks per worker, at most 2,000 replications each.
    """
    if engine == "ensemble":
        return max(1, ENSEMBLE_CHUNK // replications)
    return max(1, min(2_000 // replications, -(-points // (4 * max(1, workers)))))


def map_chunks(fn: Callable[..., pd.DataFrame], tasks: Sequence[tuple], sizes: Sequence[int],
               *, backend: Any = None, workers: int = 1, scheduler: str | None = None,
               progress: Callable[[int], None] | None = None,
               checkpoint: Checkpoint | None = None,
               ) -> tuple[list[pd.DataFrame], dict[str, Any], float]:
    """Run ``fn`` over chunk tasks on a backend; a chunk that raised stops the run.

    With a ``checkpoint``, chunks it holds already are not run again and every chunk
    that finishes is kept in it (``--resume``).

    Returns:
        The chunks' tables (in the order they finished), the backend's name and workers,
        and the seconds taken. A backend object handed in is started if need be and left
        open (its owner closes it); one made here from a name is closed. ``progress`` gets
        the replications done so far (``sizes[k]`` for chunk ``k``).

    """
    pool = make_backend(backend, workers, scheduler)
    owned = pool is not backend  # a backend handed in stays open for the caller's next map
    kept = checkpoint.done() if checkpoint is not None else {}
    kept = {k: frame for k, frame in kept.items() if k < len(tasks)}
    todo = [k for k in range(len(tasks)) if k not in kept]
    started, frames = time.perf_counter(), list(kept.values())
    done = sum(sizes[k] for k in kept)
    if progress is not None:
        progress(done)
    try:
        if todo:
            pool.start()
        for j, frame in pool.map(fn, [tasks[k] for k in todo]) if todo else ():
            if isinstance(frame, BaseException):
                raise frame
            if checkpoint is not None:
                checkpoint.save(todo[j], frame)
            frames.append(frame)
            done += sizes[todo[j]]
            if progress is not None:
                progress(done)
    finally:
        if owned:
            pool.close()
    info = {"backend": pool.name, "workers": pool.workers}
    return frames, info, time.perf_counter() - started


def run_design(spec: Scenario, paths: Sequence[str], points: np.ndarray, replications: int,
               seed: int | None = None, days: int | None = None, *, workers: int = 1,
               backend: Any = None, scheduler: str | None = None,
               integer: Sequence[bool] | None = None, engine: str = "ensemble",
               per_chunk: int | None = None, checkpoint: Checkpoint | None = None,
               progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, dict]:
    """Run every point of a design with common random numbers (the same seeds at each).

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
        engine: ``"ensemble"`` (default) or ``"agents"``.
        per_chunk: design points per chunk (default :func:`chunk_points`); a resumed
            design must keep the size it started with.
        checkpoint: keeps finished chunks; those it holds are not run again.
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
    if engine not in ("ensemble", "agents"):
        raise ValueError(f"engine = {engine!r}: allowed: ensemble, agents")
    size = per_chunk or chunk_points(engine, replications, len(points), workers)
    tasks = [(spec, list(paths), points[i:i + size], i, seeds, horizon, whole, engine)
             for i in range(0, len(points), size)]
    frames, info, seconds = map_chunks(design_chunk, tasks,
                                       [len(t[2]) * replications for t in tasks],
                                       backend=backend, workers=workers, scheduler=scheduler,
                                       progress=progress, checkpoint=checkpoint)
    table = pd.concat(frames, ignore_index=True).sort_values("point").reset_index(drop=True)
    meta = {"scenario": spec.name, "points": len(points), "replications": replications,
            "root_seed": root, "days": horizon, "engine": engine, "chunk_points": size, **info,
            "wall_time_s": round(seconds, 3)}
    return table, meta
