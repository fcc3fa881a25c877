"""A sweep's tables and figures: every outcome at every grid point, and how it responds.

For each grid point and outcome: the mean over replications and its 95% t-interval, and
the difference from the first point, paired replication by replication (every point ran
the same seeds) with its own interval. One axis gives response curves with bands; two
axes give heatmaps of attacks, minimum stability and the share of replications in open
confrontation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.plots import _figure, _grid, _save
from sim.analysis.stats import mean_interval
from sim.experiment.files import write_folder_atomic
from sim.model.outcomes import SUMMARY_METRICS

CURVES = ("attacks", "syria_share", "injuries", "clashes", "min_stability",
          "open_confrontation")
"""Outcomes drawn as response curves (one axis)."""
HEATMAPS = ("attacks", "min_stability", "open_confrontation")
"""Outcomes drawn as heatmaps (two axes)."""


def sweep_table(summary: pd.DataFrame, paths: Sequence[str]) -> pd.DataFrame:
    """One row per (point, outcome): the axes' values, mean and interval, and the paired
    difference from the first point with its interval.
    """
    rows = []
    first = summary[summary["point"] == summary["point"].min()].set_index("replication")
    for point, part in summary.groupby("point", sort=True):
        part = part.set_index("replication")
        where = {p: float(part[p].iloc[0]) for p in paths}
        for metric in SUMMARY_METRICS:
            values = part[metric].astype(float)
            mean, low, high = mean_interval(values)
            diff = (values - first[metric].astype(float).reindex(values.index)).to_numpy()
            d_mean, d_low, d_high = mean_interval(diff)
            rows.append({"point": int(point), **where, "metric": metric,
                         "n": int(values.notna().sum()), "mean": mean, "ci_low": low,
                         "ci_high": high, "diff": d_mean, "diff_ci_low": d_low,
                         "diff_ci_high": d_high})
    return pd.DataFrame(rows)


@dataclass
class Sweep:
    """A finished sweep: per-replication summary, the tidy table, and its metadata."""

    summary: pd.DataFrame
    table: pd.DataFrame
    paths: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)

    def wide(self, metrics: Sequence[str] = CURVES) -> pd.DataFrame:
        """The means of some outcomes, one row per point (the printed table)."""
        part = self.table[self.table["metric"].isin(metrics)]
        wide = part.pivot_table(index=["point", *self.paths], columns="metric", values="mean")
        return wide[[m for m in metrics if m in wide.columns]].reset_index()

    def write(self, out: Path) -> Path:
        """Write summary.csv, sweep.csv, sweep.md, the figures and metadata.json into a new
        folder, atomically.
        """
        return write_folder_atomic(out, self.write_into)

    def write_into(self, folder: Path) -> None:
        """Write the files into an existing folder."""
        from tabulate import tabulate

        self.summary.to_csv(folder / "summary.csv", index=False)
        self.table.to_csv(folder / "sweep.csv", index=False)
        figures = (plot_curves(self, folder / "response.png") if len(self.paths) == 1
                   else plot_heatmaps(self, folder / "heatmaps.png"))
        meta = {**self.metadata, "figures": [figures.name]}
        (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        text = (f"# Sweep of `{self.metadata.get('scenario')}`\n\n"
                f"{self.metadata.get('replications')} replications per point (the same "
                f"seeds at every point), {self.metadata.get('days')} days, engine "
                f"{self.metadata.get('engine')}. Means; `sweep.csv` has every outcome with "
                "its 95% interval and the paired difference from the first point.\n\n"
                + tabulate(self.wide(), headers="keys", tablefmt="github", showindex=False,
                           floatfmt=".3g") + "\n")
        (folder / "sweep.md").write_text(text, encoding="utf-8")


def plot_curves(sweep: Sweep, path: Path) -> Path:
    """Response curves: each outcome's mean (line), its 95% interval (dark band) and the
    5-95% spread of replications (light band) along the one swept value.
    """
    axis = sweep.paths[0]
    rows, cols = _grid(len(CURVES))
    fig = _figure(3.2 * cols, 2.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    spread = sweep.summary[[axis, *CURVES]].astype(float).groupby(axis)
    for ax, metric in zip(axes, CURVES, strict=False):
        part = sweep.table[sweep.table["metric"] == metric].sort_values(axis)
        x = part[axis].to_numpy()
        low = spread[metric].quantile(0.05).reindex(x).to_numpy(dtype=float)
        high = spread[metric].quantile(0.95).reindex(x).to_numpy(dtype=float)
        ax.fill_between(x, low, high, color="tab:blue", alpha=0.12, label="5-95% of runs")
        ax.fill_between(x, part["ci_low"], part["ci_high"], color="tab:blue", alpha=0.35,
                        label="95% interval of the mean")
        ax.plot(x, part["mean"], color="tab:blue", marker="o", markersize=3, label="mean")
        ax.set_title(metric.replace("_", " "), fontsize=10)
        ax.set_xlabel(axis.rsplit(".", 1)[-1].replace("_", " "), fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[len(CURVES):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{sweep.metadata.get('scenario')}: response to {axis} "
                 f"({sweep.metadata.get('replications')} replications a point)", fontsize=11)
    return _save(fig, path)


def plot_heatmaps(sweep: Sweep, path: Path) -> Path:
    """Heatmaps of the mean of attacks, minimum stability and open confrontation over the
    two swept values.
    """
    first, second = sweep.paths
    fig = _figure(4.2 * len(HEATMAPS), 3.8)
    axes = fig.subplots(1, len(HEATMAPS), squeeze=False).ravel()
    for ax, metric in zip(axes, HEATMAPS, strict=True):
        part = sweep.table[sweep.table["metric"] == metric]
        grid = part.pivot_table(index=second, columns=first, values="mean")
        image = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis",
                          extent=_extent(grid.columns.to_numpy(), grid.index.to_numpy()))
        fig.colorbar(image, ax=ax, shrink=0.85)
        ax.set_title(f"mean {metric.replace('_', ' ')}", fontsize=10)
        ax.set_xlabel(first.rsplit(".", 1)[-1].replace("_", " "), fontsize=8)
        ax.set_ylabel(second.rsplit(".", 1)[-1].replace("_", " "), fontsize=8)
    fig.suptitle(f"{sweep.metadata.get('scenario')}: {sweep.metadata.get('replications')} "
                 "replications a point, the same seeds at every point", fontsize=11)
    return _save(fig, path)


def _extent(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Image extent with each cell centred on its grid value."""
    def edges(v: np.ndarray) -> tuple[float, float]:
        step = (v[-1] - v[0]) / (len(v) - 1) if len(v) > 1 else 1.0
        return float(v[0] - step / 2), float(v[-1] + step / 2)

    return (*edges(x), *edges(y))
