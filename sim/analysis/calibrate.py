"""Calibration of five global parameters against the calibration window of the record.

What is fitted (and nothing else):

* ``mechanisms.base_propensity``: the intercept of every faction's attack logit,
  which sets the overall attack rate;
* ``mechanisms.casualty_scale``: the multiplier on injuries per hit, which sets
  the injury count for a given number of hits (compared with the reported count:
  the observation model's ``injuries_reported``);
* ``mechanisms.substitution`` and ``mechanisms.relocation_rate``: how far and how
  fast launches move into eastern Syria, which set the Iraq/Syria split of the
  attack count;
* ``mechanisms.hardening_gain``: how fast sites adapt after hits that hurt people,
  which sets how injuries per attack fall after the first wave.

Method, suited to a stochastic simulator:

1. Data: only :func:`sim.record.calibration_rows` (figures dated on or before the
   window's end, 14 November 2023 by default); figures with value 0 (deaths) are
   reported but carry no relative error, so they are left out of the objective.
2. Common random numbers: every candidate runs the same replication seeds
   (``SeedSequence(seed).spawn(replications)``), over the window only, so two
   candidates differ only by their parameters.
3. Objective: the mean, over figures, of the squared error of the model's median
   cumulative count at the figure's date over the observed count (Pearson's
   chi-square form for counts): ``mean((median - observed) ** 2 / observed)``. A
   count's sampling spread grows like its square root, so a miss of 3 on an early
   figure of 3 weighs as much as a miss of 13 on a figure of 55; squared relative
   errors would let the small early counts (and the country splits of the first
   week) dominate the fit.
4. Search: coordinate descent. For each parameter in turn, a grid over its bounds
   (narrowed around the incumbent in later rounds), then ``scipy.optimize.
   minimize_scalar`` (bounded Brent) between the best grid point's neighbours.
   Values are rounded to 4 decimals before they are run, so the written values
   are exactly the ones evaluated; the best evaluated candidate wins (ties: the
   first found). The objective is piecewise constant (medians of counts), which
   is why a grid comes first.

The same scenario, record, settings and seed give the same fitted values.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from sim.analysis.record import (
    CALIBRATION_END,
    LOWER_BOUNDS,
    calibration_rows,
    day_index,
    model_at_points,
)
from sim.experiment import runner
from sim.experiment.files import write_text_atomic
from sim.scenario.load import SCENARIO_DIR, override
from sim.scenario.schema import Scenario

CALIBRATION_TOML = SCENARIO_DIR / "calibration.toml"
PARAMETERS: dict[str, tuple[float, float]] = {
    "base_propensity": (-10.0, 2.0),
    "casualty_scale": (0.2, 4.0),
    "substitution": (0.0, 10.0),
    "relocation_rate": (0.0, 1.0),
    "hardening_gain": (0.0, 0.5),
}
"""Fitted parameters (names under ``mechanisms``) and their bounds."""
START: dict[str, float] = {"base_propensity": -4.0, "casualty_scale": 1.0, "substitution": 1.0,
                           "relocation_rate": 0.05, "hardening_gain": 0.0}
"""Starting values: fixed, so a fit does not depend on what the file held before."""
DECIMALS = 4


@dataclass(frozen=True)
class Settings:
    """The fit's budget, data window and engine (the ensemble engine gives the agent
    engine's tables row for row, so the fit is the same either way, only faster).
    """

    replications: int = 40
    seed: int = 20231017
    grid_points: int = 9
    maxiter: int = 10
    rounds: int = 2
    window_end: dt.date = CALIBRATION_END
    parameters: tuple[str, ...] = tuple(PARAMETERS)
    engine: str = "ensemble"


@dataclass
class Fit:
    """A calibration's result: fitted values, quality and every evaluation."""

    values: dict[str, float]
    objective: float
    points: pd.DataFrame
    evaluations: list[dict[str, Any]]
    settings: Settings
    scenario: str
    days: int
    wall_time_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def quality(self) -> dict[str, float]:
        """Summary of the fit: objective, RMS relative error, coverage of the 90% band."""
        used = self.points[self.points["in_objective"]]
        rel = used["rel_error"].to_numpy(dtype=float)
        return {
            "objective": self.objective,
            "rms_rel_error": float(np.sqrt(np.mean(rel ** 2))) if len(rel) else float("nan"),
            "mean_abs_rel_error": float(np.mean(np.abs(rel))) if len(rel) else float("nan"),
            "coverage_90": float(self.points["covered"].mean()) if len(self.points) else
            float("nan"),
            "points": len(self.points),
            "points_in_objective": len(used),
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report of the fit."""
        settings = asdict(self.settings)
        settings["window_end"] = self.settings.window_end.isoformat()
        points = self.points.assign(date=self.points["date"].astype(str))
        return {
            "scenario": self.scenario, "fitted": self.values, "bounds": PARAMETERS,
            "start": START, "quality": self.quality(), "settings": settings,
            "days": self.days, "wall_time_s": round(self.wall_time_s, 3),
            "points": points.to_dict("records"), "evaluations": self.evaluations, **self.extra,
        }


def objective_points(record: pd.DataFrame, spec: Scenario, end: dt.date) -> pd.DataFrame:
    """Calibration-window figures within the scenario's horizon (value 0 rows kept, flagged)."""
    points = calibration_rows(record, end)
    start = spec.run.start_date
    inside = points["date"].map(lambda d: 1 <= day_index(d, start) <= spec.run.days)
    points = points.loc[inside].reset_index(drop=True)
    return points.assign(in_objective=points["value"] > 0)


class Objective:
    """Pearson's chi-square form of the medians' errors; runs cached by parameter values."""

    def __init__(self, spec: Scenario, points: pd.DataFrame, settings: Settings,
                 workers: int = 1) -> None:
        if not points["in_objective"].any():
            raise ValueError("no calibration-window figure with a value > 0 to fit")
        self.spec, self.points, self.settings, self.workers = spec, points, settings, workers
        self.days = max(day_index(d, spec.run.start_date) for d in points["date"])
        self.observed = points["value"].to_numpy(dtype=float)
        self.used = points["in_objective"].to_numpy()
        self.cache: dict[tuple[float, ...], tuple[float, np.ndarray]] = {}
        self.evaluations: list[dict[str, Any]] = []

    def values_at(self, params: dict[str, float]) -> np.ndarray:
        """Per-replication model values at each point (runs or reuses a run)."""
        return self._evaluate(params)[1]

    def __call__(self, params: dict[str, float]) -> float:
        """The objective at ``params`` (rounded to :data:`DECIMALS`)."""
        return self._evaluate(params)[0]

    def _evaluate(self, params: dict[str, float]) -> tuple[float, np.ndarray]:
        key = tuple(round(float(params[name]), DECIMALS) for name in self.settings.parameters)
        if key not in self.cache:
            changes = {f"mechanisms.{name}": value
                       for name, value in zip(self.settings.parameters, key, strict=True)}
            spec = override(self.spec, changes)
            result = runner.run(spec, self.settings.replications, self.settings.seed, self.days,
                                self.workers, engine=self.settings.engine)
            values = model_at_points(result.daily, self.points, spec.run.start_date)
            median = np.median(values, axis=1)
            observed = self.observed[self.used]
            loss = float(np.mean((median[self.used] - observed) ** 2 / observed))
            self.cache[key] = (loss, values)
            self.evaluations.append({**dict(zip(self.settings.parameters, key, strict=True)),
                                     "objective": loss})
        return self.cache[key]


def fit(spec: Scenario, record: pd.DataFrame, settings: Settings | None = None,
        workers: int = 1, progress: Callable[[str], None] | None = None) -> Fit:
    """Fit the parameters to the record's calibration window.

    Args:
        spec: the scenario to calibrate (its events and levers apply as in any run).
        record: the whole record; only rows dated on or before ``settings.window_end``
            are passed on (:func:`sim.record.calibration_rows`).
        settings: budget, seed and window; defaults to :class:`Settings`.
        workers: processes for each evaluation's replications.
        progress: called with a short message after each coordinate step.

    Returns:
        The fit, with per-point quality at the fitted values.

    """
    settings = settings or Settings()
    started = time.perf_counter()
    points = objective_points(record, spec, settings.window_end)
    objective = Objective(spec, points, settings, workers)
    current = {name: START[name] for name in settings.parameters}
    best = objective(current)
    widths = {name: PARAMETERS[name][1] - PARAMETERS[name][0] for name in settings.parameters}
    for round_no in range(settings.rounds):
        for name in settings.parameters:
            current, best, widths[name] = _coordinate_step(objective, current, best, name,
                                                           widths[name], settings)
            if progress is not None:
                progress(f"round {round_no + 1}, {name} = {current[name]:.4f}: "
                         f"objective {best:.4f}")
    values = objective.values_at(current)
    table = point_table(points, values)
    return Fit(values={k: round(v, DECIMALS) for k, v in current.items()}, objective=best,
               points=table, evaluations=objective.evaluations, settings=settings,
               scenario=spec.name, days=objective.days,
               wall_time_s=time.perf_counter() - started)


def _coordinate_step(objective: Objective, current: dict[str, float], best: float, name: str,
                     width: float, settings: Settings) -> tuple[dict[str, float], float, float]:
    lo_bound, hi_bound = PARAMETERS[name]
    lo = max(lo_bound, current[name] - width / 2)
    hi = min(hi_bound, current[name] + width / 2)
    grid = np.round(np.linspace(lo, hi, settings.grid_points), DECIMALS)
    step = (hi - lo) / max(1, settings.grid_points - 1)
    for x in grid:
        trial = {**current, name: float(x)}
        loss = objective(trial)
        if loss < best:
            current, best = trial, loss
    a, b = max(lo_bound, current[name] - step), min(hi_bound, current[name] + step)
    if settings.maxiter > 0 and b > a:
        result = minimize_scalar(lambda x: objective({**current, name: float(x)}),
                                 bounds=(a, b), method="bounded",
                                 options={"maxiter": settings.maxiter, "xatol": 10 ** -DECIMALS})
        trial = {**current, name: round(float(result.x), DECIMALS)}
        loss = objective(trial)
        if loss < best:
            current, best = trial, loss
    return current, best, 2 * step


def point_table(points: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    """Observed value beside the model's median and 90% interval at each point.

    A figure given as a lower bound ("at least", "more than") is covered when the
    band's upper end reaches it; any other figure when the band contains it. The
    relative error of the median is two-sided for every figure.
    """
    median = np.median(values, axis=1) if values.size else np.zeros(0)
    low = np.percentile(values, 5, axis=1) if values.size else np.zeros(0)
    high = np.percentile(values, 95, axis=1) if values.size else np.zeros(0)
    observed = points["value"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(observed > 0, (median - observed) / observed, np.nan)
    lower = (points["qualifier"].isin(LOWER_BOUNDS).to_numpy() if "qualifier" in points
             else np.zeros(len(observed), dtype=bool))
    covered = np.where(lower, observed <= high, (low <= observed) & (observed <= high))
    return pd.DataFrame({
        "date": points["date"].to_numpy(), "metric": points["metric"].to_numpy(),
        "scope": points["scope"].to_numpy(), "observed": observed, "model_median": median,
        "model_p5": low, "model_p95": high, "covered": covered,
        "rel_error": rel, "in_objective": points["in_objective"].to_numpy(),
        "outlet": points["outlet"].to_numpy(),
    })


# ----------------------------------------------------------------- writing


_HEADER_COMMENT = """# Calibrated global parameters. `sim calibrate` rewrites this file; the
# baseline (and so every scenario) extends it. Only figures dated on or before
# the calibration window's end are used to set these values (see docs/calibration.md).
"""


def calibration_text(old: str, values: dict[str, float]) -> str:
    """The calibration file's text with the ``[mechanisms]`` values replaced.

    Everything else (header comment, ``extends``, other keys) is kept; a missing
    key or a missing ``[mechanisms]`` table is added.
    """
    if not old.strip():
        old = _HEADER_COMMENT + 'extends = "world_iraq_2023.toml"\n'
    lines = old.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[mechanisms]"), None)
    if start is None:
        lines += ["", "[mechanisms]"]
        start = len(lines) - 1
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].lstrip().startswith("[")), len(lines))
    todo = dict(values)
    for i in range(start + 1, end):
        match = re.match(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*=", lines[i])
        if match and match.group(2) in todo:
            lines[i] = f"{match.group(1)}{match.group(2)} = {_toml_float(todo.pop(match.group(2)))}"
    insert_at = end
    while insert_at > start + 1 and not lines[insert_at - 1].strip():
        insert_at -= 1
    lines[insert_at:insert_at] = [f"{k} = {_toml_float(v)}" for k, v in todo.items()]
    return "\n".join(lines) + "\n"


def _toml_float(value: float) -> str:
    text = repr(round(float(value), DECIMALS))
    return text if "." in text or "e" in text else text + ".0"


def write_calibration(values: dict[str, float], path: Path = CALIBRATION_TOML) -> Path:
    """Rewrite the ``[mechanisms]`` values of the calibration file atomically (mode kept)."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    return write_text_atomic(path, calibration_text(old, values))
