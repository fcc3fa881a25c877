"""A run's tables: daily, events and summary, in memory or read from a run folder.

Tidy tables: ``daily`` has one row per (scenario, replication, day), ``events`` one
row per attack, foiled attack, strike and clash, ``summary`` one row per (scenario,
replication) with the outcomes beside the seed and the run's levers and
uncertainties (named by parameter path). ``failures`` lists replications that raised.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model.outcomes import SUMMARY_METRICS
from sim.scenario.registry import summary_values
from sim.scenario.schema import Scenario

PACKAGES = ("mesa", "numpy", "pandas", "pyarrow", "pydantic", "scipy", "iraq-militia-sim")
FAILURE_COLUMNS = ("scenario", "replication", "seed", "error")
EVENT_DTYPES = {"scenario": object, "replication": np.int64, "day": np.int32, "kind": object,
                "faction": object, "base": object, "weapon": object, "outcome": object,
                "injuries": np.int32, "deaths": np.int32}


@dataclass
class RunResult:
    """All tables of one scenario's run, plus what is needed to reproduce it.

    ``failures`` lists replications that raised (scenario, replication, seed, error);
    their rows are absent from the other tables.
    """

    scenario: Scenario
    daily: pd.DataFrame
    summary: pd.DataFrame
    events: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAILURE_COLUMNS))

    def write(self, out: Path) -> Path:
        """Write the run folder atomically (filled under a temporary name, then renamed).

        Raises:
            FileExistsError: when ``out`` exists already.

        """
        from sim.experiment.files import write_folder_atomic

        return write_folder_atomic(out, self.write_into)

    def write_into(self, folder: Path) -> None:
        """Write the run's files into an existing folder."""
        from sim.experiment.files import write_text_atomic

        folder = Path(folder)
        self.daily.to_parquet(folder / "daily.parquet", index=False)
        self.events.to_parquet(folder / "events.parquet", index=False)
        write_text_atomic(folder / "summary.csv", self.summary.to_csv(index=False))
        if len(self.failures):
            write_text_atomic(folder / "failures.csv", self.failures.to_csv(index=False))
        write_text_atomic(folder / "metadata.json",
                          json.dumps(self.metadata, indent=2, default=str))


def frame(scenario: str, parts: list[dict[str, np.ndarray]], empty: dict[str, Any]) -> pd.DataFrame:
    """One DataFrame from chunks of numpy columns, with the scenario column first."""
    parts = [p for p in parts if p]
    if not parts:
        return pd.DataFrame({k: pd.Series(dtype=v) for k, v in empty.items()})
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    n = len(columns["replication"])
    # the columns are fresh arrays: keep them as they are (no copy into 2-D blocks)
    return pd.DataFrame({"scenario": np.full(n, scenario, dtype=object), **columns}, copy=False)


def summary_table(spec: Scenario, rows: list[dict[str, Any]] | pd.DataFrame,
                  extra: dict[str, Any] | None = None) -> pd.DataFrame:
    """summary.csv: one row per replication, outcomes beside the levers and uncertainties.

    Args:
        spec: the scenario (its levers and uncertainties become columns, by path).
        rows: summary rows with ``scenario``, ``replication``, ``seed`` and outcomes (a
            list of dictionaries, or a DataFrame of them).
        extra: more columns of constant value (e.g. the values a sweep set).

    """
    if isinstance(rows, pd.DataFrame):
        summary = rows.sort_values("replication", kind="stable").reset_index(drop=True)
    else:
        rows = sorted(rows, key=lambda r: r["replication"])
        summary = pd.DataFrame(rows, columns=["scenario", "replication", "seed",
                                              *SUMMARY_METRICS] if not rows else None)
    for key, value in {**summary_values(spec), **(extra or {})}.items():
        summary[key] = value
    return summary


def run_metadata(spec: Scenario, root_seed: int, days: int, seeds: list[int], wall_time: float,
                 failed: int = 0, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """metadata.json: the resolved scenario, seeds, versions, time taken."""
    meta = {
        "scenario": spec.name,
        "resolved_scenario": spec.model_dump(mode="json"),
        "root_seed": root_seed,
        "replications": len(seeds) + failed,
        "failed": failed,
        "days": days,
        "seeds": seeds,
        "wall_time_s": round(wall_time, 3),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
    }
    meta.update(extra or {})
    return meta


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages results depend on."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    """Looked up once per process (reading package metadata takes tens of milliseconds)."""
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "not installed"
    return tuple(found.items())


# ---------------------------------------------------------------- run folders


class StoredRunResult(RunResult):
    """A run whose tables are on disk: ``daily`` and ``events`` are read on first use."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        self.folder = folder
        try:
            meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
            spec = Scenario.model_validate_json(json.dumps(meta["resolved_scenario"]))
        except (OSError, ValueError, KeyError) as exc:
            raise NotARunFolder(f"{folder}: not a run folder written by 'sim run' or "
                                f"'sim compare' ({type(exc).__name__}: {exc})") from None
        self.scenario, self.metadata = spec, meta
        self.summary = pd.read_csv(folder / "summary.csv")
        failures = folder / "failures.csv"
        self.failures = (pd.read_csv(failures) if failures.exists()
                         else pd.DataFrame(columns=list(FAILURE_COLUMNS)))
        self._daily: pd.DataFrame | None = None
        self._events: pd.DataFrame | None = None

    @property  # type: ignore[override]
    def daily(self) -> pd.DataFrame:
        """The daily table (read from daily.parquet on first use)."""
        if self._daily is None:
            self._daily = pd.read_parquet(self.folder / "daily.parquet")
        return self._daily

    @property  # type: ignore[override]
    def events(self) -> pd.DataFrame:
        """The event table (read from events.parquet on first use)."""
        if self._events is None:
            self._events = pd.read_parquet(self.folder / "events.parquet")
        return self._events

    def release(self) -> None:
        """Forget the daily and event tables read so far (they are read again on use)."""
        self._daily = self._events = None

    def write_into(self, folder: Path) -> None:
        """Copy the run's files into an existing folder."""
        import shutil

        for path in sorted(self.folder.iterdir()):
            if path.is_dir():
                shutil.copytree(path, Path(folder) / path.name)
            else:
                shutil.copy2(path, Path(folder) / path.name)


class NotARunFolder(ValueError):
    """A folder that holds no finished run."""


def read_run(folder: Path) -> StoredRunResult:
    """A finished run folder (tables read on first use).

    Raises:
        NotARunFolder: when the folder has no readable metadata.json and summary.csv.

    """
    return StoredRunResult(folder)
