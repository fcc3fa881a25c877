"""Comparisons across plausible worlds: which conclusions keep their sign in (nearly) every world.

Each scenario runs in every world of a worlds file (``sim plausible``'s
``worlds.parquet``), the same replication seeds in each world and scenario, and is
compared with the reference world by world: the effect in a world is the mean over
replications of the paired difference (scenario minus reference). For each scenario and
outcome the table gives the median effect across worlds, its 5-95% range, the share of
worlds in which the scenario does better than the reference, and the conclusion that
holds in at least 90% of worlds: **better**, **worse**, **no better** (never better in
more than 10%: worse or equal), **no worse**, **no difference**; or **fragile** when
none does. For a fragile
conclusion, scenario discovery (PRIM) on the worlds finds the values that decide it,
said in words: "better on attacks unless <value> >= X".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.design import OUTCOMES
from sim.experiment.worlds import outcome_chunk, run_worlds
from sim.scenario import registry
from sim.scenario.schema import Scenario

BETTER = {"attacks": -1, "injuries": -1, "deaths": -1, "clashes": -1, "min_stability": 1,
          "open_confrontation": -1, "syria_share": 0}
"""Which direction is better for each outcome (0: neither; the share counts increases)."""
SHOWN = ("attacks", "injuries", "min_stability", "open_confrontation")
ROBUST_SHARE = 0.9


class WorldsError(ValueError):
    """A worlds file that cannot be used, saying why."""


def read_worlds(path: Path, spec: Scenario, limit: int | None = None, seed: int = 0
                ) -> pd.DataFrame:
    """The worlds of ``path`` (a ``worlds.parquet`` or the folder holding one): one column per
    registry path (bookkeeping columns dropped), checked against the registry; at most
    ``limit`` of them (a fixed random choice by ``seed``).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "worlds.parquet"
    try:
        table = pd.read_parquet(path)
    except FileNotFoundError:
        raise WorldsError(f"--worlds {path}: no such file; give a `sim plausible` folder or "
                          "its worlds.parquet") from None
    except (OSError, ValueError) as exc:
        raise WorldsError(f"--worlds {path}: not a Parquet table ({exc})") from None
    values = table.drop(columns=[c for c in ("world", "wave", "max_implausibility")
                                 if c in table.columns])
    if values.empty or not len(values.columns):
        raise WorldsError(f"--worlds {path}: no worlds in it")
    for column in values.columns:
        try:
            param = registry.parameter(column, spec)
        except KeyError as exc:
            raise WorldsError(f"--worlds {path}: column {column!r}: {exc}") from None
        bad = values[column][(values[column] < (param.low if param.low is not None else -np.inf))
                             | (values[column] > (param.high if param.high is not None
                                                  else np.inf))]
        if len(bad):
            raise WorldsError(f"--worlds {path}: column {column} = {bad.iloc[0]:g}: outside "
                              f"its bounds ({param.allowed()})")
    if limit is not None and len(values) > limit:
        values = values.sample(limit, random_state=seed % 2**32)
    return values.reset_index(drop=True)


def run_in_worlds(specs: Sequence[Scenario], worlds: pd.DataFrame, replications: int,
                  seed: int, days: int, *, backend: Any = None,
                  progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Every scenario in every world with the same seeds: one row per (scenario, world,
    replication) with the summary outcomes.
    """
    frames, done = [], 0
    for spec in specs:
        def step(n: int, before: int = done) -> None:
            if progress is not None:
                progress(before + n)
        table = run_worlds(outcome_chunk, spec, worlds, replications, seed, (days,),
                           backend=backend, progress=step)
        frames.append(table.assign(scenario=spec.name))
        done += len(worlds) * replications
    return pd.concat(frames, ignore_index=True)


def effects(runs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per scenario (not the reference), world and outcome: the mean paired difference."""
    ref = runs[runs["scenario"] == reference].set_index(["world", "replication"])[list(OUTCOMES)]
    rows = []
    for name, part in runs[runs["scenario"] != reference].groupby("scenario", sort=False):
        diff = part.set_index(["world", "replication"])[list(OUTCOMES)] - ref
        grouped = diff.groupby(level="world")
        se = (grouped.std(ddof=1) / np.sqrt(grouped.count())).add_prefix("se_")
        rows.append(grouped.mean().join(se).reset_index().assign(scenario=name))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def robustness(per_world: pd.DataFrame, worlds: pd.DataFrame,
               discover: bool = True) -> pd.DataFrame:
    """Per scenario and outcome: median effect, 5-95% across worlds, share of worlds better,
    status, and for a fragile conclusion the values that decide it.
    """
    rows = []
    for (name, part) in per_world.groupby("scenario", sort=False):
        for outcome in OUTCOMES:
            values = part[outcome].to_numpy(float)
            finite = values[np.isfinite(values)]
            if not len(finite):
                continue
            direction = BETTER[outcome] or 1
            better = float(np.mean(direction * finite > 0))
            worse = float(np.mean(direction * finite < 0))
            status = verdict(better, worse)
            clear = np.abs(values) > 2 * part[f"se_{outcome}"].to_numpy(float)
            row = {"scenario": name, "outcome": outcome,
                   "median_effect": float(np.median(finite)),
                   "q05": float(np.quantile(finite, 0.05)),
                   "q95": float(np.quantile(finite, 0.95)),
                   "share_better" if BETTER[outcome] else "share_higher": better,
                   "clear_share": float(np.mean(clear)), "status": status, "decided_by": ""}
            if status == "fragile" and discover and outcome in SHOWN:
                row["decided_by"] = deciding_values(worlds.loc[part["world"]], values,
                                                    direction * values > 0, better >= 0.5,
                                                    clear)
            rows.append(row)
    return pd.DataFrame(rows)


def verdict(better: float, worse: float) -> str:
    """The conclusion that holds in at least ``ROBUST_SHARE`` of worlds, or ``fragile``.

    ``better``/``worse``: the shares of worlds in which the scenario does better or worse
    than the reference (the rest: no difference at all, e.g. no confrontation either way).
    """
    rest = 1 - ROBUST_SHARE
    if better >= ROBUST_SHARE:
        return "better"
    if worse >= ROBUST_SHARE:
        return "worse"
    if better <= rest and worse <= rest:
        return "no difference"
    if better <= rest:
        return "no better"
    if worse <= rest:
        return "no worse"
    return "fragile"


def correlates(worlds: pd.DataFrame, effect: np.ndarray, top: int = 10) -> pd.Series:
    """The values whose rank correlation with the effect is strongest (Spearman), signed."""
    ranks = worlds.reset_index(drop=True).rank()
    rho = ranks.corrwith(pd.Series(effect).rank()).dropna()
    return rho.reindex(rho.abs().sort_values(ascending=False).index).head(top)


def deciding_values(worlds: pd.DataFrame, effect: np.ndarray, better: np.ndarray,
                    mostly_better: bool, clear: np.ndarray) -> str:
    """The box of worlds in which the minority result happens, in words ("unless ..."), or
    why there is none. PRIM searches the ten values most rank-correlated with the effect.
    ``clear``: worlds whose effect exceeds twice its standard error.
    """
    from sim.analysis.discover import DiscoverError, find_boxes

    minority = ~better if mostly_better else better
    strongest = correlates(worlds, effect)
    try:
        (box,) = find_boxes(worlds[list(strongest.index)].reset_index(drop=True),
                            np.asarray(minority), density=0.8, max_dims=2) or (None,)
    except DiscoverError as exc:
        return f"(not searched: {exc})"
    if box is None or box.limits.empty or not box.meets_density or box.stats["mass"] > 0.5:
        noisy = float(np.mean(~clear[minority])) if minority.any() else 0.0
        if noisy >= 0.5:
            return (f"no region of the worlds decides it; in {noisy:.0%} of the worlds with "
                    "the other sign the effect is within twice its replication noise (a small "
                    "effect: raise --reps to sharpen it)")
        moves = ", ".join(f"{path} (rank correlation {rho:+.2f})"
                          for path, rho in strongest.head(2).items())
        return (f"no box of one or two values decides it; the effect moves most with {moves}")
    word = "unless" if mostly_better else "only if"
    return f"{word} {box.describe(digits=3)}"


@dataclass
class WorldComparison:
    """A comparison across worlds: runs, per-world effects, the robustness table."""

    runs: pd.DataFrame
    per_world: pd.DataFrame
    table: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    def printable(self) -> pd.DataFrame:
        """One row per scenario: for the shown outcomes, 'effect [5-95%] share status'."""
        rows = []
        for name, part in self.table.groupby("scenario", sort=False):
            row = {"scenario": name}
            for r in part[part["outcome"].isin(SHOWN)].itertuples():
                share = getattr(r, "share_better", np.nan)
                row[r.outcome] = (f"{r.median_effect:+.3g} [{r.q05:+.3g}, {r.q95:+.3g}] "
                                  f"{share:.0%} {r.status}")
            rows.append(row)
        return pd.DataFrame(rows)

    def write_into(self, folder: Path) -> None:
        """robustness.csv, effects.parquet, runs.parquet, robustness.md, metadata.json."""
        from tabulate import tabulate

        self.table.to_csv(folder / "robustness.csv", index=False)
        self.per_world.to_parquet(folder / "effects.parquet", index=False)
        self.runs.to_parquet(folder / "runs.parquet", index=False)
        (folder / "metadata.json").write_text(json.dumps(self.metadata, indent=2, default=str))
        fragile = self.table[(self.table["status"] == "fragile")
                             & self.table["outcome"].isin(SHOWN)]
        text = [f"# Comparison across {self.metadata.get('worlds')} plausible worlds\n",
                f"Reference `{self.metadata.get('reference')}`; {self.metadata.get('replications')}"
                f" replications per world and scenario (the same seeds), "
                f"{self.metadata.get('days')} days. Each cell: median effect across worlds "
                "[5-95%], the share of worlds in which the scenario does better, and the "
                f"conclusion that holds in at least {ROBUST_SHARE:.0%} of worlds (better, "
                "worse, no better, no worse, no difference) or fragile.\n",
                tabulate(self.printable(), headers="keys", tablefmt="github", showindex=False),
                "\n## What decides the fragile conclusions\n"]
        text += [f"* {r.scenario}, {r.outcome}: better in {r.share_better:.0%} of worlds; "
                 f"{r.decided_by}" for r in fragile.itertuples()] or ["None."]
        (folder / "robustness.md").write_text("\n".join(text) + "\n", encoding="utf-8")
