"""Robust lever search: the government's four levers scored across sampled futures (optuna NSGA-II).

A *future* is one draw of every uncertain value a scenario declares a range for (a Latin
hypercube over the ranges, levers left out). A *mix* is a setting of the four
government levers. Every mix runs in the same futures with the same replication seeds
(common random numbers), all its rows in one ensemble batch, and is scored by

* ``attacks_q``: a high quantile (default 0.9) across futures of the mean attacks
  (what the mix delivers in a bad future), to minimise;
* ``confrontation``: the chance of open confrontation (its mean over futures and
  replications), to minimise, with a cap;
* ``stability_low``: the matching low quantile (default 0.1) across futures of the mean
  minimum stability, to maximise, with a floor.

The search is optuna's NSGA-II over the three objectives, the cap and the floor as
constraints (a mix breaking one is infeasible), asked in batches that run through the
same backends as every other command. A study stored in SQLite continues where it
stopped. Shipped policy scenarios are scored the same way, in the same futures.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.design import map_chunks
from sim.experiment.plan import check_range, replication_seeds
from sim.experiment.worlds import latin_hypercube
from sim.scenario import registry
from sim.scenario.schema import Scenario

LEVERS = registry.GOVERNMENT_LEVERS
"""The searched levers (each from 0 to 1)."""
OBJECTIVES = ("attacks_q", "confrontation", "stability_low")
DIRECTIONS = ("minimize", "minimize", "maximize")


class RobustError(ValueError):
    """A search that cannot run as asked, saying why."""


@dataclass(frozen=True)
class Criteria:
    """How a mix is judged: the quantile of futures, the cap and the floor."""

    quantile: float = 0.9
    max_confrontation: float = 0.1
    min_stability: float = 0.15

    def check(self) -> None:
        """Refuse values outside their meaning."""
        if not 0.5 <= self.quantile < 1:
            raise RobustError(f"--quantile {self.quantile}: from 0.5 to below 1")
        if not 0 <= self.max_confrontation <= 1:
            raise RobustError(f"--max-confrontation {self.max_confrontation}: a share, 0 to 1")
        if not 0 <= self.min_stability <= 1:
            raise RobustError(f"--min-stability {self.min_stability}: a stability, 0 to 1")


def sample_futures(spec: Scenario, n: int, seed: int) -> pd.DataFrame:
    """``n`` futures: a Latin hypercube over the scenario's ranges (the levers left out)."""
    ranges = [r for r in spec.ranges if r.path not in LEVERS]
    if not ranges:
        raise RobustError(f"{spec.name} declares no [[ranges]] outside the levers: use "
                          "ranges_iraq_2023, or a scenario file with ranges (docs/explore.md)")
    check_range("futures", n, 2, 100_000)
    bounds = pd.DataFrame({r.path: [r.low, r.high] for r in ranges}, index=["low", "high"])
    return latin_hypercube(bounds, n, seed, registry.integer_paths(spec, list(bounds.columns)))


def score_chunk(spec: Scenario, mixes: list[dict[str, float]], first: int,
                futures: pd.DataFrame, seeds: list[int], days: int) -> pd.DataFrame:
    """Run mixes ``first, first + 1, ...`` (``{}`` keeps the scenario's own levers) in every
    future with the shared seeds: one row per (mix, future) with the outcomes' means.
    """
    from sim.model.ensemble import simulate_batch

    reps, n_futures = len(seeds), len(futures)
    per_mix = n_futures * reps
    varied = {path: np.tile(np.repeat(futures[path].to_numpy(float), reps), len(mixes))
              for path in futures.columns}
    for path in LEVERS:
        if any(path in mix for mix in mixes):
            own = registry.value_of(spec, path)
            varied[path] = np.repeat([mix.get(path, own) for mix in mixes], per_mix)
    tally = simulate_batch(spec, seeds * (n_futures * len(mixes)), days, varied, "summary")
    m = spec.mechanisms
    summary = tally.summary(m.deescalation_attacks, m.deescalation_days)
    frame = pd.DataFrame({
        "mix": np.repeat(np.arange(first, first + len(mixes)), per_mix),
        "future": np.tile(np.repeat(np.arange(n_futures), reps), len(mixes)),
        **{o: np.asarray(summary[o], dtype=float)
           for o in ("attacks", "open_confrontation", "min_stability", "injuries")}})
    return frame.groupby(["mix", "future"], as_index=False).mean()


def score(per_future: pd.DataFrame, criteria: Criteria) -> pd.DataFrame:
    """Per mix: the three objectives and the mean attacks, from its (mix, future) rows."""
    grouped = per_future.groupby("mix")
    return pd.DataFrame({
        "attacks_q": grouped["attacks"].quantile(criteria.quantile),
        "confrontation": grouped["open_confrontation"].mean(),
        "stability_low": grouped["min_stability"].quantile(1 - criteria.quantile),
        "attacks_mean": grouped["attacks"].mean(),
        "injuries_mean": grouped["injuries"].mean()}).reset_index()


def feasible(scores: pd.DataFrame, criteria: Criteria) -> pd.Series:
    """Which mixes keep under the confrontation cap and above the stability floor."""
    return ((scores["confrontation"] <= criteria.max_confrontation)
            & (scores["stability_low"] >= criteria.min_stability))


def pareto(scores: pd.DataFrame) -> pd.Series:
    """Which rows no other row dominates on the three objectives (ties are kept)."""
    loss = np.column_stack([scores["attacks_q"], scores["confrontation"],
                            -scores["stability_low"]])
    dominated = np.array([((loss <= row).all(axis=1) & (loss < row).any(axis=1)).any()
                          for row in loss], dtype=bool)
    return pd.Series(~dominated, index=scores.index)


def open_study(storage: Path, seed: int, population: int) -> Any:
    """The optuna study kept in ``storage`` (SQLite), created or reloaded."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    return optuna.create_study(study_name="robust", storage=f"sqlite:///{storage}",
                               directions=list(DIRECTIONS), sampler=sampler,
                               load_if_exists=True)


def search(spec: Scenario, futures: pd.DataFrame, trials: int, storage: Path, *,
           replications: int, seed: int, days: int, criteria: Criteria, batch: int = 16,
           backend: Any = None, progress: Callable[[int], None] | None = None,
           ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Search the levers until the study holds ``trials`` finished mixes.

    Args:
        spec: the scenario whose levers are searched (its other values as it has them).
        futures: the sampled futures (:func:`sample_futures`).
        trials: finished mixes wanted in all (a reloaded study counts its own).
        storage: the SQLite file of the study (created or continued).
        replications: per future (the same seeds for every mix).
        seed: root seed of the replications and of the sampler.
        days: horizon.
        criteria: quantile, cap and floor (:class:`Criteria`).
        batch: mixes asked at a time (and NSGA-II's population).
        backend: a started backend, or its name.
        progress: called with the number of finished mixes.

    Returns:
        One row per finished mix: its levers, objectives, feasibility and whether it is
        on the Pareto front of the feasible mixes; and the backend's information.

    """
    import optuna

    study = open_study(storage, seed, batch)
    seeds = replication_seeds(seed, replications)
    parts = max(1, int(getattr(backend, "workers", 1) or 1))  # one chunk of mixes per worker
    info: dict[str, Any] = {}
    done = lambda: len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))  # noqa: E731
    if progress is not None:
        progress(done())
    while done() < trials:
        asked = [study.ask() for _ in range(min(batch, trials - done()))]
        mixes = [{p: t.suggest_float(p, 0.0, 1.0) for p in LEVERS} for t in asked]
        groups = np.array_split(np.arange(len(mixes)), min(len(mixes), parts))
        tasks = [(spec, [mixes[k] for k in g], int(g[0]), futures, seeds, days) for g in groups]
        frames, info, _ = map_chunks(score_chunk, tasks, [len(g) for g in groups],
                                     backend=backend)
        scores = score(pd.concat(frames), criteria).set_index("mix")
        for k, trial in enumerate(asked):
            row = scores.loc[k]
            trial.set_constraint("confrontation", row["confrontation"]
                                 - criteria.max_confrontation)
            trial.set_constraint("stability", criteria.min_stability - row["stability_low"])
            for name in ("attacks_mean", "injuries_mean"):
                trial.set_user_attr(name, float(row[name]))
            study.tell(trial, [float(row[o]) for o in OBJECTIVES])
        if progress is not None:
            progress(done())
    return trials_table(study, criteria), info


def trials_table(study: Any, criteria: Criteria) -> pd.DataFrame:
    """The study's finished mixes: levers, objectives, feasible, on the front."""
    import optuna

    rows = [{"trial": t.number, **t.params, **dict(zip(OBJECTIVES, t.values, strict=True)),
             **t.user_attrs}
            for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
    table = pd.DataFrame(rows)
    table["feasible"] = feasible(table, criteria)
    table["repeat_of"] = _repeats(table)
    table["pareto"] = False
    ok = table[table["feasible"] & table["repeat_of"].isna()]
    if len(ok):
        table.loc[ok.index, "pareto"] = pareto(ok)
    return table


def _repeats(table: pd.DataFrame) -> pd.Series:
    """The earlier trial with the same levers (NSGA-II can ask a mix twice), else NaN."""
    key = table[list(LEVERS)].round(9).apply(tuple, axis=1)
    first = table.groupby(key)["trial"].transform("min")
    return first.where(first != table["trial"])


def score_policies(policies: Sequence[Scenario], futures: pd.DataFrame, searched: Scenario, *,
                   replications: int, seed: int, days: int, criteria: Criteria,
                   backend: Any = None) -> pd.DataFrame:
    """The shipped policy scenarios in the same futures and seeds: levers, objectives, and
    what else each changes against the searched scenario (not comparable as a lever mix).
    """
    check_range("replications", replications, 1, 100_000)
    seeds = replication_seeds(seed, replications)
    tasks = [(spec, [{}], k, futures, seeds, days) for k, spec in enumerate(policies)]
    frames, _, _ = map_chunks(score_chunk, tasks, [1] * len(tasks), backend=backend)
    scores = score(pd.concat(frames), criteria).set_index("mix").sort_index()
    table = pd.DataFrame({"scenario": [s.name for s in policies],
                          **{p: [registry.value_of(s, p) for s in policies] for p in LEVERS},
                          "other_changes": [other_changes(s, searched) for s in policies]})
    table = table.join(scores.reset_index(drop=True))
    table["feasible"] = feasible(table, criteria)
    return table


def other_changes(policy: Scenario, searched: Scenario) -> str:
    """What a policy scenario changes beyond the four levers, against the searched scenario
    (``""`` for a pure lever mix): the differing blocks, e.g. ``events, levers.coalition``.
    """
    skip = {"name", "description", "notes", "kind", "ranges"}
    mine, theirs = policy.model_dump(mode="json"), searched.model_dump(mode="json")
    found = []
    for key in mine:
        if key in skip or mine[key] == theirs.get(key):
            continue
        if key == "levers":
            for side in mine[key]:
                a, b = dict(mine[key][side]), dict(theirs[key][side])
                if side == "government":
                    for path in LEVERS:
                        a.pop(path.rsplit(".", 1)[-1]), b.pop(path.rsplit(".", 1)[-1])
                found += [f"levers.{side}.{k}" for k in a if a[k] != b.get(k)]
        else:
            found.append(key)
    return ", ".join(found)


def dominated_by(policies: pd.DataFrame, front: pd.DataFrame) -> list[str]:
    """For each policy: the front's mixes that do at least as well on every objective and
    better on one (their trial numbers), or "" when none does.
    """
    loss = np.column_stack([front["attacks_q"], front["confrontation"], -front["stability_low"]])
    found = []
    for row in policies.itertuples():
        mine = np.array([row.attacks_q, row.confrontation, -row.stability_low])
        beats = (loss <= mine).all(axis=1) & (loss < mine).any(axis=1)
        found.append(", ".join(str(t) for t in front["trial"][beats].head(3)))
    return found
