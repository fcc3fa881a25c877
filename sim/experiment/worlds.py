"""Many candidate worlds at once: each world a row-block of an ensemble batch, the same seeds in each.

A *world* is one setting of the uncertain values a ranges file declares (a row of a
table whose columns are parameter paths). Every world runs the same replication seeds
(common random numbers), all its replications as rows of one ensemble batch, and worlds
are cut into chunks of about ``ENSEMBLE_CHUNK`` rows that go through the usual backends.

Two uses: scoring worlds against dated figures of the record (history matching: each
figure's cumulative count per replication, summarised per world by its mean and
variance), and running scenarios in every world (robust comparisons: each world's
summary outcomes per replication).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.checkpoint import Checkpoint
from sim.experiment.design import OUTCOMES, map_chunks
from sim.experiment.plan import ENSEMBLE_CHUNK, replication_seeds
from sim.scenario.schema import Scenario


def latin_hypercube(bounds: pd.DataFrame, n: int, seed: int, integer: Sequence[bool]) -> pd.DataFrame:
    """``n`` worlds spread over ``bounds`` (rows ``low``/``high``, one column per path)."""
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=bounds.shape[1], seed=np.random.default_rng(seed)).random(n)
    low, high = bounds.loc["low"].to_numpy(float), bounds.loc["high"].to_numpy(float)
    frame = pd.DataFrame(low + unit * (high - low), columns=bounds.columns)
    for path, whole in zip(bounds.columns, integer, strict=True):
        if whole:
            frame[path] = frame[path].round()
    return frame


def _varied(worlds: pd.DataFrame, reps: int) -> dict[str, np.ndarray]:
    return {path: np.repeat(worlds[path].to_numpy(float), reps) for path in worlds.columns}


def figure_chunk(spec: Scenario, worlds: pd.DataFrame, first: int, seeds: list[int],
                 columns: list[tuple[str, ...]], days: list[int],
                 per_replication: bool = False) -> pd.DataFrame:
    """Worlds ``first, first + 1, ...``: for each figure ``k`` (the sum of ``columns[k]`` of
    the daily table, cumulated to day ``days[k]``), the mean and variance over replications
    (``mean_k``, ``var_k``), or with ``per_replication`` every replication's value
    (``value_k``, one row per world and replication).
    """
    from sim.model.ensemble import simulate_batch

    reps, horizon = len(seeds), max(days)
    tally = simulate_batch(spec, seeds * len(worlds), horizon, _varied(worlds, reps), "all")
    daily = tally.daily_columns()
    world = np.arange(first, first + len(worlds))
    out = ({"world": np.repeat(world, reps), "replication": np.tile(np.arange(reps), len(world))}
           if per_replication else {"world": world})
    cumulative: dict[tuple[str, ...], np.ndarray] = {}
    for k, (names, day) in enumerate(zip(columns, days, strict=True)):
        if names not in cumulative:
            total = sum(np.asarray(daily[n], dtype=float) for n in names)
            cumulative[names] = np.cumsum(total.reshape(-1, horizon), axis=1)
        values = cumulative[names][:, day - 1]
        if per_replication:
            out[f"value_{k}"] = values
            continue
        values = values.reshape(len(worlds), reps)
        out[f"mean_{k}"] = values.mean(axis=1)
        out[f"var_{k}"] = values.var(axis=1, ddof=1) if reps > 1 else np.zeros(len(worlds))
    return pd.DataFrame(out)


def outcome_chunk(spec: Scenario, worlds: pd.DataFrame, first: int, seeds: list[int],
                  days: int) -> pd.DataFrame:
    """Worlds ``first, first + 1, ...``: each replication's summary outcomes."""
    from sim.model.ensemble import simulate_batch

    reps = len(seeds)
    tally = simulate_batch(spec, seeds * len(worlds), days, _varied(worlds, reps), "summary")
    m = spec.mechanisms
    summary = tally.summary(m.deescalation_attacks, m.deescalation_days)
    return pd.DataFrame({"world": np.repeat(np.arange(first, first + len(worlds)), reps),
                         "replication": np.tile(np.arange(reps), len(worlds)),
                         **{o: np.asarray(summary[o], dtype=float) for o in OUTCOMES}})


def tables_chunk(spec: Scenario, worlds: pd.DataFrame, first: int, seeds: list[int],
                 days: int, tables: str = "all") -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Worlds ``first, first + 1, ...``: the run's summary table (every summary outcome per
    world and replication) and, with ``tables="all"``, its daily table; both gain ``world``,
    ``replication`` and ``seed`` columns.
    """
    from sim.model.ensemble import simulate_batch

    reps = len(seeds)
    tally = simulate_batch(spec, seeds * len(worlds), days, _varied(worlds, reps), tables)
    keys = {"world": np.repeat(np.arange(first, first + len(worlds)), reps),
            "replication": np.tile(np.arange(reps), len(worlds)),
            "seed": np.tile(np.asarray(seeds, dtype=np.uint64), len(worlds))}
    m = spec.mechanisms
    summary = pd.DataFrame({**keys, **tally.summary(m.deescalation_attacks,
                                                    m.deescalation_days)})
    if tables != "all":
        return summary, None
    daily = pd.DataFrame(tally.daily_columns())
    horizon = len(daily) // len(summary)
    for k, name in enumerate(keys):
        daily.insert(k, name, np.repeat(keys[name], horizon))
    return summary, daily


def world_tasks(spec: Scenario, worlds: pd.DataFrame, replications: int, seed: int,
                extra: tuple) -> tuple[list[tuple], list[int]]:
    """Chunk tasks of about ``ENSEMBLE_CHUNK`` rows over the worlds, the same seeds in each
    (``(spec, worlds_part, first, seeds, *extra)``), and each task's replications.
    """
    seeds = replication_seeds(seed, replications)
    size = max(1, ENSEMBLE_CHUNK // replications)
    worlds = worlds.reset_index(drop=True)
    tasks = [(spec, worlds.iloc[i:i + size], i, seeds, *extra)
             for i in range(0, len(worlds), size)]
    return tasks, [len(t[1]) * replications for t in tasks]


def run_worlds(fn: Callable[..., pd.DataFrame], spec: Scenario, worlds: pd.DataFrame,
               replications: int, seed: int, extra: tuple, *, backend: Any = None,
               checkpoint: Checkpoint | None = None,
               progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Run ``fn`` (:func:`figure_chunk` or :func:`outcome_chunk`) over every world in chunks of
    about ``ENSEMBLE_CHUNK`` rows, the same seeds in each world; rows in world order.
    """
    tasks, sizes = world_tasks(spec, worlds, replications, seed, extra)
    frames, _, _ = map_chunks(fn, tasks, sizes, backend=backend, checkpoint=checkpoint,
                              progress=progress)
    table = pd.concat(frames, ignore_index=True)
    keys = [k for k in ("world", "replication") if k in table.columns]
    return table.sort_values(keys).reset_index(drop=True)


def run_tables(spec: Scenario, worlds: pd.DataFrame, replications: int, seed: int, days: int,
               tables: str = "all", *, backend: Any = None,
               progress: Callable[[int], None] | None = None,
               ) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, Any]]:
    """A scenario's run tables in every world (:func:`tables_chunk`): the summary, the daily
    table (``None`` with ``tables="summary"``), and the backend's name and workers.
    """
    tasks, sizes = world_tasks(spec, worlds, replications, seed, (days, tables))
    parts, info, _ = map_chunks(tables_chunk, tasks, sizes, backend=backend, progress=progress)
    summary = pd.concat([s for s, _ in parts]).sort_values(["world", "replication"])
    daily = [d for _, d in parts if d is not None]
    return (summary.reset_index(drop=True),
            pd.concat(daily).sort_values(["world", "replication", "day"]).reset_index(drop=True)
            if daily else None, info)
