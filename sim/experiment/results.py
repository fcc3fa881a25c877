"""Result tables: per-replication summaries, intervals, and writing run folders atomically."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import shutil
import sys
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.experiment.store import write_folder_atomic, write_json
from sim.scenario.registry import summary_values
from sim.scenario.schema import Mechanisms, Scenario

if TYPE_CHECKING:
    from sim.experiment.runner import Chunk

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


def summarise_columns(daily: dict[str, np.ndarray], mechanisms: Mechanisms) -> dict[str, Any]:
    """Summary outcomes of one replication from its daily columns (numpy arrays by name)."""
    attacks = daily["attacks"]
    first28 = daily["day"] <= 28
    weekly = np.convolve(attacks, np.ones(7, dtype=int))[: len(attacks)]
    injuries, deaths = daily["injuries"], daily["deaths"]
    stability, confrontation = daily["stability"], daily["open_confrontation"]
    return {
        "attacks": int(attacks.sum()),
        "weekly_attack_rate": float(attacks.sum() / len(attacks) * 7),
        "peak_week_attacks": int(weekly.max()),
        "attacks_day28": int(attacks[first28].sum()),
        "injuries": int(injuries.sum()),
        "injuries_day28": int(injuries[first28].sum()),
        "deaths": int(deaths.sum()),
        "deaths_day28": int(deaths[first28].sum()),
        "intercepted": int(daily["intercepted"].sum()),
        "foiled": int(daily["foiled"].sum()),
        "strikes": int(daily["strikes"].sum()),
        "clashes": int(daily["clashes"].sum()),
        "min_stability": float(stability.min()),
        "final_stability": float(stability[-1]),
        "open_confrontation": bool(confrontation.any()),
        "confrontation_days": int(confrontation.sum()),
        "days_to_deescalation": days_to_deescalation(
            attacks, mechanisms.deescalation_attacks, mechanisms.deescalation_days),
        "final_mean_capability": float(daily["mean_capability"][-1]),
        "final_mean_hostility": float(daily["mean_hostility"][-1]),
    }


def xlrm_columns(spec: Scenario) -> dict[str, Any]:
    """The scenario's levers and uncertainties by parameter path, for row-aligned tables."""
    return summary_values(spec)


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
    from scipy import stats  # imported here: workers and `sim --help` never need it

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


FAILURE_COLUMNS = ("scenario", "replication", "seed", "error")


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

    @classmethod
    def from_chunks(cls, spec: Scenario, chunks: list[Chunk], root_seed: int, days: int,
                    wall_time: float, extra: dict[str, Any] | None = None) -> RunResult:
        """Stack chunks of replications (numpy columns from the workers) into tidy tables."""
        chunks = sorted(chunks, key=lambda c: c.index)
        daily = _frame(spec.name, [c.daily for c in chunks])
        events = _frame(spec.name, [c.events for c in chunks])
        if events.empty:
            events = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in
                                   EVENT_DTYPES.items()})
        rows = [row for c in chunks for row in c.summary]
        failures = pd.DataFrame([row for c in chunks for row in c.failures],
                                columns=list(FAILURE_COLUMNS))
        meta = run_metadata(spec, root_seed, days, [row["seed"] for row in rows], wall_time,
                            failed=len(failures), extra=extra)
        return cls(spec, daily, summary_table(spec, rows), events, meta, failures)

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
        return write_folder_atomic(out, self.write_into)

    def write_into(self, folder: Path) -> None:
        """Write the four files (five when replications failed) into an existing folder."""
        folder = Path(folder)
        self.daily.to_parquet(folder / "daily.parquet", index=False)
        self.events.to_parquet(folder / "events.parquet", index=False)
        self.summary.to_csv(folder / "summary.csv", index=False)
        if len(self.failures):
            self.failures.to_csv(folder / "failures.csv", index=False)
        (folder / "metadata.json").write_text(json.dumps(self.metadata, indent=2, default=str))


EVENT_DTYPES = {"scenario": object, "replication": np.int64, "day": np.int32, "kind": object,
                "faction": object, "base": object, "weapon": object, "outcome": object,
                "injuries": np.int32, "deaths": np.int32}


def _frame(scenario: str, parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """One DataFrame from chunks of numpy columns, with the scenario column first."""
    parts = [p for p in parts if p]
    if not parts:
        return pd.DataFrame({"scenario": pd.Series(dtype=object)})
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    n = len(columns["replication"])
    # the columns are fresh arrays: keep them as they are (no copy into 2-D blocks)
    return pd.DataFrame({"scenario": np.full(n, scenario, dtype=object), **columns}, copy=False)


def summary_table(spec: Scenario, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """summary.csv: one row per replication, outcomes beside the XLRM inputs."""
    rows = sorted(rows, key=lambda r: r["replication"])
    summary = pd.DataFrame(rows, columns=["scenario", "replication", "seed",
                                          *SUMMARY_METRICS] if not rows else None)
    for key, value in xlrm_columns(spec).items():
        summary[key] = value
    return summary


def run_metadata(spec: Scenario, root_seed: int, days: int, seeds: list[int], wall_time: float,
                 failed: int = 0, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """metadata.json: the resolved scenario, seeds, versions, time taken."""
    meta = {
        "scenario": spec.name,
        "resolved_scenario": spec.model_dump(mode="json"),
        "root_seed": root_seed,
        "replications": len(seeds),
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


def scenario_from_json(data: dict[str, Any]) -> Scenario:
    """The scenario saved in metadata.json (JSON mode: dates and tuples parse from text)."""
    return Scenario.model_validate_json(json.dumps(data))


def read_run(folder: Path) -> RunResult:
    """Read a run folder written by :meth:`RunResult.write` or a streamed run."""
    result = read_run_light(folder)
    result.daily = pd.read_parquet(Path(folder) / "daily.parquet")
    result.events = pd.read_parquet(Path(folder) / "events.parquet")
    return result


# ------------------------------------------------------------ streamed run folders

PARTIAL = ".partial"
"""Suffix of the folder a streamed run is built in; renamed to the final name when done."""


class StoredRunResult(RunResult):
    """A run whose tables are on disk: ``daily`` and ``events`` are read on first use."""

    def __init__(self, spec: Scenario, folder: Path, summary: pd.DataFrame,
                 metadata: dict[str, Any], failures: pd.DataFrame) -> None:
        self.scenario, self.summary, self.metadata = spec, summary, metadata
        self.failures, self.folder = failures, Path(folder)
        self._daily: pd.DataFrame | None = None
        self._events: pd.DataFrame | None = None

    @classmethod
    def open(cls, folder: Path, summary: pd.DataFrame | None = None) -> StoredRunResult:
        """Open a finished run folder without loading its large tables."""
        done = read_run_light(folder)
        return cls(done.scenario, folder, done.summary if summary is None else summary,
                   done.metadata, done.failures)

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

    def write_into(self, folder: Path) -> None:
        """Copy the run's files into an existing folder."""
        for path in sorted(self.folder.iterdir()):
            shutil.copy2(path, Path(folder) / path.name)


def read_run_light(folder: Path) -> RunResult:
    """A run folder's metadata, summary and failures, with empty daily and event tables."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    spec = scenario_from_json(meta["resolved_scenario"])
    failures = (pd.read_csv(folder / "failures.csv") if (folder / "failures.csv").exists()
                else pd.DataFrame(columns=list(FAILURE_COLUMNS)))
    return RunResult(spec, pd.DataFrame(), pd.read_csv(folder / "summary.csv"), pd.DataFrame(),
                     meta, failures)


class RunStore:
    """A run folder built chunk by chunk: ``OUT.partial/`` holds ``run.json`` (what to
    run) and ``chunks/`` (one set of files per finished chunk); :meth:`finish` merges
    them into daily.parquet, events.parquet, summary.csv, metadata.json (and
    failures.csv) and renames the folder to ``OUT``.

    A chunk counts as done when its ``NNNNNN.json`` marker exists; the marker is
    written last and renamed into place, so a killed run leaves only whole chunks.
    """

    def __init__(self, final: Path, spec: Scenario, plan: dict[str, Any],
                 extra: dict[str, Any]) -> None:
        self.final, self.spec, self.plan, self.extra = final, spec, plan, extra
        self.partial = final.with_name(final.name + PARTIAL)
        self.chunks = self.partial / "chunks"

    @classmethod
    def create(cls, out: Path, spec: Scenario, plan: dict[str, Any],
               extra: dict[str, Any]) -> RunStore:
        """Start a new run folder.

        Raises:
            FileExistsError: when ``out`` or its in-progress folder exists already.

        """
        store = cls(Path(out), spec, plan, extra)
        if store.final.exists():
            raise FileExistsError(f"{store.final} exists already; choose another --out")
        if store.partial.exists():
            raise FileExistsError(f"{store.partial} holds an interrupted run; finish it with "
                                  f"'sim run {spec.name} --resume {store.final}'")
        store.chunks.mkdir(parents=True)
        write_json(store.partial / "run.json", {
            "resolved_scenario": spec.model_dump(mode="json"), "plan": plan, "extra": extra})
        return store

    @classmethod
    def open(cls, folder: Path) -> RunStore:
        """Reopen an interrupted run (``folder`` is ``OUT`` or ``OUT.partial``).

        Raises:
            FileNotFoundError: when there is no interrupted run there.

        """
        folder = Path(folder)
        final = folder.with_name(folder.name[:-len(PARTIAL)]) if folder.name.endswith(
            PARTIAL) else folder
        partial = final.with_name(final.name + PARTIAL)
        if not (partial / "run.json").exists():
            state = "is complete" if final.exists() else "does not exist"
            raise FileNotFoundError(f"no interrupted run at {partial} ({final} {state})")
        saved = json.loads((partial / "run.json").read_text())
        spec = scenario_from_json(saved["resolved_scenario"])
        return cls(final, spec, saved["plan"], saved["extra"])

    def _path(self, index: int, kind: str) -> Path:
        return self.chunks / f"{index:06d}.{kind}"

    def completed_chunks(self) -> set[int]:
        """Chunks written in full and without failures (failed ones are run again)."""
        done = set()
        for marker in self.chunks.glob("*.json"):
            if not json.loads(marker.read_text())["failures"]:
                done.add(int(marker.stem))
        return done

    def write_chunk(self, chunk: Chunk) -> None:
        """Write one chunk's tables, then its marker."""
        import pyarrow.parquet as pq

        marker = self._path(chunk.index, "json")
        marker.unlink(missing_ok=True)
        for kind, columns in (("daily", chunk.daily), ("events", chunk.events)):
            path = self._path(chunk.index, f"{kind}.parquet")
            if columns:
                tmp = path.with_suffix(".tmp")
                pq.write_table(_arrow(self.spec.name, columns, kind), tmp)
                os.replace(tmp, path)
            else:
                path.unlink(missing_ok=True)
        write_json(marker, {"index": chunk.index, "jobs": chunk.jobs, "seconds": chunk.seconds,
                             "summary": chunk.summary, "failures": chunk.failures})

    def finish(self, wall_time: float) -> Path:
        """Merge the chunks into the run's files and rename the folder to its final name."""
        import pyarrow.parquet as pq

        markers = sorted(self.chunks.glob("*.json"), key=lambda p: int(p.stem))
        records = [json.loads(p.read_text()) for p in markers]
        for kind in ("daily", "events"):
            writer = None
            for record in records:
                path = self._path(record["index"], f"{kind}.parquet")
                if not path.exists():
                    continue
                table = pq.read_table(path)
                if writer is None:
                    writer = pq.ParquetWriter(self.partial / f"{kind}.parquet", table.schema)
                writer.write_table(table)
            if writer is None:
                empty = EVENT_DTYPES if kind == "events" else {"scenario": object}
                pd.DataFrame({k: pd.Series(dtype=v) for k, v in empty.items()}).to_parquet(
                    self.partial / f"{kind}.parquet", index=False)
            else:
                writer.close()
        rows = [row for r in records for row in r["summary"]]
        failed = [row for r in records for row in r["failures"]]
        summary = summary_table(self.spec, rows)
        summary.to_csv(self.partial / "summary.csv", index=False)
        if failed:
            pd.DataFrame(failed, columns=list(FAILURE_COLUMNS)).to_csv(
                self.partial / "failures.csv", index=False)
        plan = self.plan
        extra = {**self.extra, "backend": plan["backend"], "workers": plan["workers"],
                 "chunk_size": plan["chunk_size"],
                 "compute_s": round(sum(r["seconds"] for r in records), 3)}
        meta = run_metadata(self.spec, plan["root_seed"], plan["days"],
                            [row["seed"] for row in rows], wall_time, failed=len(failed),
                            extra=extra)
        write_json(self.partial / "metadata.json", meta)
        shutil.rmtree(self.chunks)
        (self.partial / "run.json").unlink()
        os.replace(self.partial, self.final)
        return self.final


def _arrow(scenario: str, columns: dict[str, np.ndarray], kind: str) -> Any:
    """A pyarrow table of one chunk, scenario column first, strings as strings."""
    import pyarrow as pa

    n = len(columns["replication"])
    arrays = {"scenario": pa.repeat(pa.scalar(scenario), n)}
    for name, values in columns.items():
        arrays[name] = (pa.array(values, type=pa.string()) if values.dtype == object
                        else pa.array(values))
    return pa.table(arrays)
