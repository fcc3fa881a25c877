"""Result tables: per-replication summaries, intervals, and writing run folders atomically."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.schema import Mechanisms, Scenario

if TYPE_CHECKING:
    from sim.runner import Replication

SUMMARY_METRICS = (
    "attacks", "weekly_attack_rate", "peak_week_attacks", "attacks_day28", "injuries",
    "injuries_day28", "deaths", "deaths_day28", "intercepted", "foiled", "strikes", "clashes",
    "min_stability", "final_stability", "open_confrontation", "confrontation_days",
    "days_to_deescalation", "final_mean_capability", "final_mean_hostility",
)
"""Outcome columns of summary.csv, in order (the O of XLRM)."""

PACKAGES = ("mesa", "numpy", "pandas", "pyarrow", "pydantic", "scipy", "iraq-militia-sim")


def days_to_deescalation(attacks: np.ndarray, calm_attacks: int, calm_days: int) -> float:
    """First day from which the trailing 7-day attack count stays at or below ``calm_attacks``
    for ``calm_days`` consecutive days; NaN when that never happens within the horizon.

    Days before the first attack never count as calm.
    """
    if attacks.sum() == 0:
        return float("nan")
    weekly = np.convolve(attacks, np.ones(7, dtype=int))[: len(attacks)]
    first_attack = int(np.argmax(attacks > 0))
    calm = (weekly <= calm_attacks) & (np.arange(len(attacks)) > first_attack)
    run = 0
    for i, is_calm in enumerate(calm):
        run = run + 1 if is_calm else 0
        if run == calm_days:
            return float(i - calm_days + 2)  # 1-based day the calm run began
    return float("nan")


def summarise(daily: pd.DataFrame, mechanisms: Mechanisms) -> dict[str, Any]:
    """Summary outcomes of one replication from its daily table."""
    attacks = daily["attacks"].to_numpy()
    first28 = daily["day"] <= 28
    weekly = np.convolve(attacks, np.ones(7, dtype=int))[: len(attacks)]
    return {
        "attacks": int(attacks.sum()),
        "weekly_attack_rate": float(attacks.sum() / len(attacks) * 7),
        "peak_week_attacks": int(weekly.max()),
        "attacks_day28": int(daily.loc[first28, "attacks"].sum()),
        "injuries": int(daily["injuries"].sum()),
        "injuries_day28": int(daily.loc[first28, "injuries"].sum()),
        "deaths": int(daily["deaths"].sum()),
        "deaths_day28": int(daily.loc[first28, "deaths"].sum()),
        "intercepted": int(daily["intercepted"].sum()),
        "foiled": int(daily["foiled"].sum()),
        "strikes": int(daily["strikes"].sum()),
        "clashes": int(daily["clashes"].sum()),
        "min_stability": float(daily["stability"].min()),
        "final_stability": float(daily["stability"].iloc[-1]),
        "open_confrontation": bool(daily["open_confrontation"].any()),
        "confrontation_days": int(daily["open_confrontation"].sum()),
        "days_to_deescalation": days_to_deescalation(
            attacks, mechanisms.deescalation_attacks, mechanisms.deescalation_days),
        "final_mean_capability": float(daily["mean_capability"].iloc[-1]),
        "final_mean_hostility": float(daily["mean_hostility"].iloc[-1]),
    }


def xlrm_columns(spec: Scenario) -> dict[str, Any]:
    """The scenario's initial lever and uncertainty values, for row-aligned tables."""
    gov, coa = spec.levers.government, spec.levers.coalition
    region, patron = spec.uncertainties.region, spec.uncertainties.patron
    return {
        "lever_accommodation": gov.accommodation, "lever_appeasement": gov.appeasement,
        "lever_persuasion": gov.persuasion, "lever_pressure": gov.pressure,
        "lever_adaptive": gov.adaptive.enabled, "lever_retaliation": str(coa.retaliation),
        "lever_force_protection": coa.force_protection,
        "uncertainty_gaza": region.gaza, "uncertainty_lebanon": region.lebanon,
        "uncertainty_red_sea": region.red_sea, "uncertainty_patron_signal": patron.signal,
    }


def mean_interval(values: pd.Series | np.ndarray, level: float = 0.95) -> tuple[float, float,
                                                                                   float]:
    """Mean and its ``level`` t-interval; NaNs are dropped; (mean, nan, nan) for n < 2."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def interval_table(summary: pd.DataFrame, metrics: tuple[str, ...] = SUMMARY_METRICS,
                   level: float = 0.95) -> pd.DataFrame:
    """One row per metric: mean, interval bounds and the number of replications defined."""
    rows = []
    for metric in metrics:
        values = summary[metric].astype(float)
        mean, low, high = mean_interval(values, level)
        rows.append({"metric": metric, "mean": mean, "ci_low": low, "ci_high": high,
                     "n": int(values.notna().sum())})
    return pd.DataFrame(rows)


@dataclass
class RunResult:
    """All tables of one scenario's run, plus what is needed to reproduce it."""

    scenario: Scenario
    daily: pd.DataFrame
    summary: pd.DataFrame
    events: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_replications(cls, spec: Scenario, reps: list[Replication], root_seed: int,
                          days: int, wall_time: float) -> RunResult:
        """Stack replications into tidy tables."""
        reps = sorted(reps, key=lambda r: r.replication)
        daily = pd.concat([r.daily.assign(replication=r.replication) for r in reps],
                          ignore_index=True)
        events = pd.concat([r.events.assign(replication=r.replication) for r in reps],
                           ignore_index=True)
        summary = pd.DataFrame([{"scenario": spec.name, "replication": r.replication,
                                 "seed": r.seed, **r.summary} for r in reps])
        for key, value in xlrm_columns(spec).items():
            summary[key] = value
        daily.insert(0, "scenario", spec.name)
        events.insert(0, "scenario", spec.name)
        daily = _front(daily, ["scenario", "replication", "day", "date"])
        events = _front(events, ["scenario", "replication"])
        meta = {
            "scenario": spec.name,
            "resolved_scenario": spec.model_dump(mode="json"),
            "root_seed": root_seed,
            "replications": len(reps),
            "days": days,
            "seeds": [r.seed for r in reps],
            "wall_time_s": round(wall_time, 3),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "versions": versions(),
        }
        return cls(spec, daily, summary, events, meta)

    def intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Each summary metric's mean and interval across replications."""
        return interval_table(self.summary, level=level)

    def write(self, out: Path) -> Path:
        """Write the run folder atomically (build in a temporary folder, then rename).

        Returns:
            The folder written.

        Raises:
            FileExistsError: when ``out`` exists already.

        """
        return write_atomic(out, self.write_into)

    def write_into(self, folder: Path) -> None:
        """Write the four files into an existing folder."""
        self.daily.to_parquet(folder / "daily.parquet", index=False)
        self.events.to_parquet(folder / "events.parquet", index=False)
        self.summary.to_csv(folder / "summary.csv", index=False)
        (folder / "metadata.json").write_text(json.dumps(self.metadata, indent=2, default=str))


def _front(frame: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    return frame[first + [c for c in frame.columns if c not in first]]


def write_atomic(out: Path, fill: Any) -> Path:
    """Create ``out`` by filling a temporary sibling folder and renaming it.

    Nothing is left behind if ``fill`` fails.
    """
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists already; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        fill(tmp)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages results depend on."""
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def read_run(folder: Path) -> RunResult:
    """Read a run folder written by :meth:`RunResult.write`."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    spec = Scenario.model_validate(meta["resolved_scenario"])
    return RunResult(spec, pd.read_parquet(folder / "daily.parquet"),
                     pd.read_csv(folder / "summary.csv"),
                     pd.read_parquet(folder / "events.parquet"), meta)
