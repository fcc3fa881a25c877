"""The ensembles behind the page's Compare and Explore tabs (pure computation, no Solara).

Both run on the ensemble engine (the same model on arrays; the same tables, row for
row, as the agent engine for the same seeds), with one root seed, so every setting
sees the same replications (common random numbers): a difference between two settings
is the settings', not the dice's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.compare import comparison_table
from sim.analysis.glossary import verdict
from sim.analysis.stats import bands
from sim.experiment import runner
from sim.experiment.sweep import parse_axis, run_sweep
from sim.scenario.schema import Scenario
from sim.teach.page_model import BY_KEY

OUTCOMES: tuple[str, ...] = ("attacks", "injuries", "deaths", "min_stability",
                             "open_confrontation")
"""Outcomes the Compare tab tabulates (glossary: sim.analysis.glossary)."""

COMPARE_REPS = 1000
"""Replications per setting in the Compare tab."""
EXPLORE_POINTS = 11
"""Values of the lever on the Explore tab's curve (its whole range, evenly spaced)."""
EXPLORE_REPS = 200
"""Replications per value on the Explore tab's curve."""


def weekly_average(daily: pd.DataFrame) -> pd.DataFrame:
    """Each replication's attacks per day averaged over the last 7 days (fewer at the
    start): columns ``replication``, ``day``, ``value``. A band of daily counts is an
    integer staircase; the average shows the rate the replications share.
    """
    ordered = daily.sort_values(["replication", "day"])
    days = int(ordered["day"].max())
    counts = ordered["attacks"].to_numpy(dtype=float).reshape(-1, days)
    total = np.cumsum(counts, axis=1)
    total[:, 7:] -= total[:, :-7].copy()
    rate = total / np.minimum(np.arange(1, days + 1), 7)
    return pd.DataFrame({"replication": np.repeat(ordered["replication"].unique(), days),
                         "day": np.tile(np.arange(1, days + 1), len(counts)),
                         "value": rate.ravel()})


@dataclass(frozen=True)
class Comparison:
    """Two settings run with the same seeds: outcome table and daily bands."""

    table: pd.DataFrame
    """One row per outcome: A and B means with 95% intervals, B - A with its paired
    95% interval and ``verdict`` (better / worse / higher / lower / "" for no difference)."""
    daily: dict[str, dict[str, pd.DataFrame]]
    """Setting ("A", "B") -> ``"attacks"`` (7-day average per day) or ``"stability"`` ->
    :func:`~sim.analysis.stats.bands` frame."""
    replications: int
    seconds: float


def compare(spec_a: Scenario, spec_b: Scenario, root: int,
            replications: int = COMPARE_REPS) -> Comparison:
    """Run settings A and B with the same root seed on the ensemble engine and compare.

    Args:
        spec_a: setting A as a scenario.
        spec_b: setting B (the same world and horizon as A).
        root: root seed; both run replications 1..n of it.
        replications: per setting.

    """
    started = time.perf_counter()
    runs = {label: runner.run(spec, replications=replications, seed=root, engine="ensemble")
            for label, spec in (("A", spec_a), ("B", spec_b))}
    table = comparison_table({k: r.summary for k, r in runs.items()}, "A", OUTCOMES)
    b = table[table["scenario"] == "B"].set_index("metric").loc[list(OUTCOMES)]
    a = table[table["scenario"] == "A"].set_index("metric").loc[list(OUTCOMES)]
    out = pd.DataFrame({
        "outcome": list(OUTCOMES),
        "a_mean": a["mean"].to_numpy(), "a_low": a["ci_low"].to_numpy(),
        "a_high": a["ci_high"].to_numpy(),
        "b_mean": b["mean"].to_numpy(), "b_low": b["ci_low"].to_numpy(),
        "b_high": b["ci_high"].to_numpy(),
        "diff": b["diff"].to_numpy(), "diff_low": b["diff_ci_low"].to_numpy(),
        "diff_high": b["diff_ci_high"].to_numpy(),
    })
    out["verdict"] = [verdict(m, lo, hi) for m, lo, hi in
                      zip(out["outcome"], out["diff_low"], out["diff_high"], strict=True)]
    daily = {label: {"attacks": bands(weekly_average(run.daily), by="day"),
                     "stability": bands(run.daily, by="day", value="stability")}
             for label, run in runs.items()}
    return Comparison(out, daily, replications, time.perf_counter() - started)


@dataclass(frozen=True)
class Response:
    """A control's response curve: one row per value of the control."""

    key: str
    table: pd.DataFrame
    """Columns ``value``; ``attacks_low/median/high`` and ``min_stability_low/median/high``
    (5%, 50%, 95% across replications); ``confrontation`` (share of replications with open
    confrontation) with ``confrontation_low/high`` (its 95% Wilson interval)."""
    replications: int
    seconds: float


def wilson(successes: np.ndarray, n: int, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """The 95% Wilson score interval of a share ``successes / n`` (stays within [0, 1])."""
    p = np.asarray(successes, dtype=float) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def explore(spec: Scenario, key: str, root: int, replications: int = EXPLORE_REPS,
            points: int = EXPLORE_POINTS) -> Response:
    """Sweep control ``key`` over its whole range on the ensemble engine (same seeds at
    every value) and summarise attacks, minimum stability and open confrontation.
    """
    from sim.scenario.registry import parameter

    started = time.perf_counter()
    path = BY_KEY[key].path
    param = parameter(path, spec)
    axis = parse_axis(f"{path}={param.low}:{param.high}:{points}", spec)
    rows, _meta = run_sweep(spec, [axis], replications, seed=root, engine="ensemble",
                            backend="serial")
    grouped = rows.groupby(path, sort=True)
    table = pd.DataFrame({"value": sorted(rows[path].unique())})
    for column in ("attacks", "min_stability"):
        q = grouped[column].quantile([0.05, 0.5, 0.95]).unstack()
        table[f"{column}_low"] = q[0.05].to_numpy()
        table[f"{column}_median"] = q[0.5].to_numpy()
        table[f"{column}_high"] = q[0.95].to_numpy()
    hits = grouped["open_confrontation"].sum().to_numpy()
    table["confrontation"] = hits / replications
    table["confrontation_low"], table["confrontation_high"] = wilson(hits, replications)
    return Response(key, table, replications, time.perf_counter() - started)

