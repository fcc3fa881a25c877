"""Global sensitivity analysis over a scenario's declared ranges (SALib: Morris and Sobol).

Factors are the scenario's ``[[ranges]]``, or their groups (values that vary together:
all of a block's coefficients, every faction's hostility, ...). The design comes from
SALib; every point runs the same replication seeds on the ensemble engine and is scored
by the mean of each outcome over them (:mod:`sim.experiment.design`). Reported per
outcome and factor:

* Morris (screening): mu* (mean absolute elementary effect) with its bootstrap
  interval, and sigma (spread of the effects: interactions or non-linearity);
* Sobol: first-order (S1) and total (ST) indices with bootstrap intervals.

Two checks come with them. Convergence: the indices from the first half of the design
(N/2) beside those from all of it (N). Replication noise: the share of the variance
between design points that replication noise alone would give (the mean within-point
variance over R, divided by the variance of the point means); near 1, the indices
measure noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.plots import _figure, _grid, _save
from sim.experiment.design import OUTCOMES
from sim.experiment.files import write_folder_atomic
from sim.scenario.registry import integer_paths  # noqa: F401 (sa.integer_paths)
from sim.scenario.schema import Scenario

METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4


class SensitivityError(ValueError):
    """A sensitivity analysis that cannot run as asked, saying why."""


def problem(spec: Scenario, grouped: bool = True) -> dict[str, Any]:
    """The SALib problem from the scenario's ranges (groups when asked and declared)."""
    if not spec.ranges:
        raise SensitivityError(f"{spec.name} declares no [[ranges]]: use ranges_iraq_2023, or "
                               "a scenario file with ranges (docs/explore.md)")
    found: dict[str, Any] = {"num_vars": len(spec.ranges),
                             "names": [r.path for r in spec.ranges],
                             "bounds": [[r.low, r.high] for r in spec.ranges]}
    if grouped:
        found["groups"] = [r.group or r.path for r in spec.ranges]
    return found


def factors(prob: dict[str, Any]) -> list[str]:
    """The factors the indices are about: the groups, or the paths."""
    return list(dict.fromkeys(prob.get("groups") or prob["names"]))


def sample(method: str, prob: dict[str, Any], n: int, seed: int) -> np.ndarray:
    """The design: N trajectories (Morris) or N base samples (Sobol, first and total order)."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method == "morris":
        return morris_sample.sample(prob, n, num_levels=MORRIS_LEVELS, seed=seed)
    if n & (n - 1):
        raise SensitivityError(f"--n {n}: Sobol needs a power of two (256, 512, 1024, ...)")
    return sobol_sample.sample(prob, n, calc_second_order=False, scramble=True, seed=seed)


def block(method: str, prob: dict[str, Any]) -> int:
    """Design rows per trajectory (Morris) or per base sample (Sobol)."""
    k = len(factors(prob))
    return k + 1 if method == "morris" else k + 2


def analyse(method: str, prob: dict[str, Any], design: np.ndarray, scores: pd.DataFrame,
            seed: int, resamples: int = 200) -> pd.DataFrame:
    """Indices per outcome and factor, with intervals, from all of the design (N) and from its
    first half (N/2); tidy: outcome, factor, index, value, conf, n.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    size = block(method, prob)
    n_full = len(design) // size
    rows = []
    for outcome in OUTCOMES:
        y = scores[outcome].to_numpy(dtype=float)
        if not np.isfinite(y).all():  # e.g. syria_share with a point of no attacks
            y = np.where(np.isfinite(y), y, np.nanmean(y))
        for n in (n_full, n_full // 2):
            if n < 2:
                continue
            x, part = design[:n * size], y[:n * size]
            if np.ptp(part) == 0:
                result = {name: np.zeros(len(factors(prob))) for name in
                          ("mu_star", "mu_star_conf", "sigma", "S1", "S1_conf", "ST", "ST_conf")}
            elif method == "morris":
                result = morris_analyze.analyze(prob, x, part, num_resamples=resamples,
                                                num_levels=MORRIS_LEVELS, seed=seed)
            else:
                result = sobol_analyze.analyze(prob, part, calc_second_order=False,
                                               num_resamples=resamples, seed=seed)
            pairs = ((("mu_star", "mu_star_conf"), ("sigma", None)) if method == "morris"
                     else (("S1", "S1_conf"), ("ST", "ST_conf")))
            for name, conf in pairs:
                values = np.asarray(result[name], dtype=float)
                confs = (np.asarray(result[conf], dtype=float) if conf else
                         np.full(len(values), np.nan))
                for factor, value, c in zip(factors(prob), values, confs, strict=True):
                    rows.append({"outcome": outcome, "factor": factor, "index": name,
                                 "value": float(value), "conf": float(c), "n": n})
    return pd.DataFrame(rows)


def noise_share(scores: pd.DataFrame, replications: int) -> pd.DataFrame:
    """Per outcome: the share of the variance between design points that replication
    noise alone accounts for (mean within-point variance / R over the variance of means).
    """
    rows = []
    for outcome in OUTCOMES:
        between = float(np.nanvar(scores[outcome], ddof=1))
        noise = float(np.nanmean(scores[f"{outcome}_var"])) / replications
        rows.append({"outcome": outcome, "variance_between_points": between,
                     "replication_noise": noise,
                     "noise_share": noise / between if between > 0 else float("nan")})
    return pd.DataFrame(rows)


@dataclass
class Sensitivity:
    """A finished analysis: design, scores, indices, noise, metadata."""

    method: str
    problem: dict[str, Any]
    design: np.ndarray
    scores: pd.DataFrame
    indices: pd.DataFrame
    noise: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    def ranking(self, outcome: str) -> pd.DataFrame:
        """Factors ranked by their main index (ST or mu*) for one outcome, at N and N/2."""
        main = "ST" if self.method == "sobol" else "mu_star"
        part = self.indices[(self.indices["outcome"] == outcome)]
        full = part[part["n"] == part["n"].max()].pivot(index="factor", columns="index",
                                                        values="value")
        conf = part[(part["n"] == part["n"].max()) & (part["index"] == main)].set_index(
            "factor")["conf"]
        half = part[(part["n"] == part["n"].min()) & (part["index"] == main)].set_index(
            "factor")["value"]
        table = full.assign(conf=conf, half=half).sort_values(main, ascending=False)
        return table.rename(columns={"half": f"{main} at N/2", "conf": f"{main} conf"})

    def write(self, out: Path) -> Path:
        """Write design.parquet, scores.csv, indices.csv, noise.csv, sensitivity.md, the bar
        charts and metadata.json into a new folder, atomically.
        """
        return write_folder_atomic(out, self.write_into)

    def write_into(self, folder: Path) -> None:
        """Write the files into an existing folder."""
        from tabulate import tabulate

        pd.DataFrame(self.design, columns=self.problem["names"]).to_parquet(
            folder / "design.parquet", index=False)
        self.scores.to_csv(folder / "scores.csv", index=False)
        self.indices.to_csv(folder / "indices.csv", index=False)
        self.noise.to_csv(folder / "noise.csv", index=False)
        plot_ranking(self, folder / "ranking.png")
        (folder / "metadata.json").write_text(json.dumps(self.metadata, indent=2, default=str))
        parts = [f"# {self.method.title()} sensitivity of `{self.metadata.get('scenario')}`\n",
                 f"{self.metadata.get('points')} design points x "
                 f"{self.metadata.get('replications')} replications (the same seeds at every "
                 f"point), {self.metadata.get('days')} days; factors: "
                 f"{len(factors(self.problem))}.\n",
                 "## Replication noise\n", tabulate(self.noise, headers="keys",
                                                    tablefmt="github", showindex=False,
                                                    floatfmt=".3g")]
        for outcome in OUTCOMES:
            parts += [f"\n## {outcome}\n", tabulate(self.ranking(outcome).head(15),
                                                    headers="keys", tablefmt="github",
                                                    floatfmt=".3f")]
        (folder / "sensitivity.md").write_text("\n".join(parts) + "\n", encoding="utf-8")


def plot_ranking(analysis: Sensitivity, path: Path, top: int = 10) -> Path:
    """A ranked bar chart per outcome: the main index with its interval (and S1 for Sobol)."""
    main = "ST" if analysis.method == "sobol" else "mu_star"
    rows, cols = _grid(len(OUTCOMES))
    fig = _figure(4.4 * cols, 3.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, outcome in zip(axes, OUTCOMES, strict=False):
        table = analysis.ranking(outcome).head(top)[::-1]
        y = np.arange(len(table))
        ax.barh(y, table[main], xerr=table[f"{main} conf"], color="tab:blue", alpha=0.7,
                label=main)
        if analysis.method == "sobol":
            ax.barh(y, table["S1"], color="tab:orange", alpha=0.8, height=0.4, label="S1")
        ax.set_yticks(y, [str(f)[:28] for f in table.index], fontsize=7)
        ax.set_title(outcome.replace("_", " "), fontsize=10)
        ax.grid(alpha=0.3, axis="x")
    for ax in axes[len(OUTCOMES):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{analysis.method.title()} indices, {analysis.metadata.get('scenario')} "
                 f"({analysis.metadata.get('points')} points x "
                 f"{analysis.metadata.get('replications')} replications)", fontsize=11)
    return _save(fig, path)
