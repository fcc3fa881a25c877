"""Sweeps: a scenario run at every point of a grid of parameter values, the same seeds at each.

A grid is one or two axes (``PATH=LOW:HIGH:N``: N values from LOW to HIGH, ends
included). Every point runs the same replication seeds (common random numbers), so the
difference between two points is measured replication by replication. On the ensemble
engine the points of a chunk run as one batch whose rows differ in the swept values
(:mod:`sim.model.ensemble_state`); a value that shapes the world's targets (troops,
occupation) runs point by point instead. Chunks go through the usual backends.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.checkpoint import Checkpoint
from sim.experiment.design import map_chunks
from sim.experiment.plan import ENGINES, ENSEMBLE_CHUNK, check_range, replication_seeds
from sim.scenario import registry
from sim.scenario.schema import Scenario

MAX_POINTS = 10_000
"""Most grid points a sweep takes."""


class SweepError(ValueError):
    """An axis that cannot be swept, naming it and what is allowed."""


@dataclass(frozen=True)
class Axis:
    """One swept value: its path and the values it takes."""

    path: str
    values: tuple[float, ...] | tuple[int, ...]


def parse_axis(text: str, spec: Scenario) -> Axis:
    """``PATH=LOW:HIGH:N`` as an axis, checked against the parameter registry.

    Raises:
        SweepError: for a malformed text, an unknown or non-numeric path, N < 2, or
            bounds outside the parameter's.

    """
    path, sep, grid = text.partition("=")
    parts = grid.split(":")
    if not sep or len(parts) != 3:
        raise SweepError(f"--vary {text!r}: expected PATH=LOW:HIGH:N, e.g. "
                         "levers.government.pressure=0:1:11")
    try:
        param = registry.parameter(path, spec)
    except KeyError as exc:
        raise SweepError(f"--vary {text!r}: {exc}") from None
    if param.type not in ("number", "integer") or path.startswith("run."):
        raise SweepError(f"--vary {path}: a {param.type} cannot be swept; sweep a number "
                         "(`sim params` lists them)")
    try:
        low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise SweepError(f"--vary {text!r}: LOW and HIGH must be numbers and N a whole "
                         "number") from None
    if not 2 <= n <= MAX_POINTS:
        raise SweepError(f"--vary {text!r}: N = {n}: must be >= 2 and <= {MAX_POINTS}")
    for bound in (low, high):
        if not np.isfinite(bound) or (param.low is not None and bound < param.low) or (
                param.high is not None and bound > param.high):
            raise SweepError(f"--vary {text!r}: {bound:g} is outside {path}'s bounds "
                             f"({param.allowed()})")
    values = np.linspace(low, high, n)
    if param.type == "integer":
        return Axis(path, tuple(int(v) for v in np.unique(np.round(values))))
    return Axis(path, tuple(float(v) for v in values))


def grid_points(axes: Sequence[Axis]) -> list[dict[str, float | int]]:
    """Every combination of the axes' values, the first axis slowest."""
    return [dict(zip([a.path for a in axes], combo, strict=True))
            for combo in itertools.product(*[a.values for a in axes])]


def sweep_chunk(spec: Scenario, points: list[dict[str, float]], first: int,
                seeds: list[int], days: int, engine: str) -> pd.DataFrame:
    """Run grid points ``first, first + 1, ...`` with the shared seeds: summary rows."""
    from sim.model.ensemble import simulate_batch
    from sim.model.ensemble_state import RowValueError
    from sim.model.model import simulate
    from sim.scenario.load import override

    reps = len(seeds)
    frames = []
    if engine == "ensemble":
        varied = {path: np.repeat([p[path] for p in points], reps) for path in points[0]}
        try:
            batches = [(simulate_batch(spec, seeds * len(points), days, varied, "summary"),
                        range(len(points)))]
        except RowValueError:  # a value that shapes the targets: point by point
            batches = [(simulate_batch(override(spec, p), seeds, days, tables="summary"), [k])
                       for k, p in enumerate(points)]
        m = spec.mechanisms
        for tally, which in batches:
            columns = tally.summary(m.deescalation_attacks, m.deescalation_days)
            frame = pd.DataFrame(columns)
            frame.insert(0, "point", np.repeat([first + k for k in which], reps))
            frame.insert(1, "replication", np.tile(np.arange(reps), len(which)))
            frame.insert(2, "seed", np.tile(np.array(seeds, dtype=np.int64), len(which)))
            frames.append(frame)
    else:
        for k, point in enumerate(points):
            changed = override(spec, point)
            rows = [{"point": first + k, "replication": r, "seed": seed,
                     **simulate(changed, seed, days).summary} for r, seed in enumerate(seeds)]
            frames.append(pd.DataFrame(rows))
    return pd.concat(frames, ignore_index=True)


def sweep_chunk_points(engine: str, replications: int, points: int, workers: int = 1) -> int:
    """Grid points per chunk: about ``ENSEMBLE_CHUNK`` rows on the ensemble engine, about
    four chunks per worker on the agent engine.
    """
    if engine == "ensemble":
        return max(1, ENSEMBLE_CHUNK // replications)
    return max(1, points // (4 * max(1, workers)))


def run_sweep(spec: Scenario, axes: Sequence[Axis], replications: int, seed: int | None = None,
              days: int | None = None, *, engine: str = "ensemble", workers: int = 1,
              backend: Any = None, scheduler: str | None = None,
              per_chunk: int | None = None, checkpoint: Checkpoint | None = None,
              progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, dict]:
    """Run the grid; return one summary row per (point, replication) and the metadata.

    Args:
        spec: the scenario swept.
        axes: one or two axes (:func:`parse_axis`).
        replications: per point, at least 2; every point runs the same seeds.
        seed: root seed (default ``spec.run.seed``).
        days: horizon (default ``spec.run.days``).
        engine: ``"ensemble"`` (default) or ``"agents"``.
        workers: processes for the local pool.
        backend: ``"serial"``, ``"processes"``, ``"dask"`` or a started backend.
        scheduler: a Dask scheduler address.
        per_chunk: grid points per chunk (default :func:`sweep_chunk_points`); a resumed
            sweep must keep the size it started with.
        checkpoint: keeps finished chunks; those it holds are not run again.
        progress: called with the number of replications finished.

    """
    if not 1 <= len(axes) <= 2:
        raise SweepError(f"{len(axes)} axes given: a sweep takes one or two --vary")
    if engine not in ENGINES:
        raise SweepError(f"engine = {engine!r}: allowed: {', '.join(ENGINES)}")
    check_range("replications", replications, 2, 1_000_000)
    root = spec.run.seed if seed is None else seed
    horizon = spec.run.days if days is None else days
    check_range("days", horizon, 1, 3650)
    seeds = replication_seeds(root, replications)
    points = grid_points(axes)
    size = per_chunk or sweep_chunk_points(engine, replications, len(points), workers)
    tasks = [(spec, points[i:i + size], i, seeds, horizon, engine)
             for i in range(0, len(points), size)]
    frames, info, seconds = map_chunks(sweep_chunk, tasks,
                                       [len(t[1]) * replications for t in tasks],
                                       backend=backend, workers=workers, scheduler=scheduler,
                                       progress=progress, checkpoint=checkpoint)
    table = pd.concat(frames, ignore_index=True).sort_values(["point", "replication"])
    for axis in axes:
        table.insert(1 + axes.index(axis), axis.path,
                     table["point"].map({i: p[axis.path] for i, p in enumerate(points)}))
    meta = {"scenario": spec.name, "axes": {a.path: list(a.values) for a in axes},
            "points": len(points), "replications": replications, "root_seed": root,
            "days": horizon, "engine": engine, "chunk_points": size, **info, "wall_time_s": round(seconds, 3)}
    return table.reset_index(drop=True), meta
