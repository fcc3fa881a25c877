"""Figures of a comparison, drawn with matplotlib's object API on the Agg canvas.

No function here touches ``matplotlib.pyplot``: each builds its own
:class:`~matplotlib.figure.Figure`, saves it and lets it go, so nothing leaks
between figures or into a caller's interactive session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.analysis.compare import KEY_METRICS

DPI = 110
REFERENCE_STYLE = {"color": "0.35", "linestyle": "--", "linewidth": 1.0}


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    fig.savefig(path, format="png")
    return path


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 4)
    return math.ceil(n / cols), cols


def plot_bands(bands: Mapping[str, pd.DataFrame], reference: str, path: Path, *,
               ylabel: str, title: str, band_label: str = "90% of replications",
               from_zero: bool = True) -> Path:
    """Small multiples of a quantity over time: one panel per scenario.

    Each panel shows the scenario's median across replications (line) and its
    band (shaded), with the reference scenario's median dashed for comparison.

    Args:
        bands: label -> table with ``date``, ``low``, ``median``, ``high``
            (see :func:`sim.compare.bands`).
        reference: label of the reference scenario (drawn in every panel).
        path: PNG file to write.
        ylabel: y-axis label, with units.
        title: figure title.
        band_label: legend text of the shaded band.
        from_zero: start the y axis at zero (counts); False lets it fit the data
            (an index that moves in a narrow range).

    Returns:
        The path written.

    """
    rows, cols = _grid(len(bands))
    fig = _figure(3.2 * cols, 2.4 * rows + 0.6)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    ref = bands.get(reference)
    top = max(float(b["high"].max()) for b in bands.values())
    for ax, (label, band) in zip(axes.flat, bands.items(), strict=False):
        ax.fill_between(band["date"], band["low"], band["high"], color="C0", alpha=0.25,
                        linewidth=0, label=band_label)
        ax.plot(band["date"], band["median"], color="C0", linewidth=1.6, label="median")
        if ref is not None and label != reference:
            ax.plot(ref["date"], ref["median"], label=f"{reference} median", **REFERENCE_STYLE)
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
        if from_zero:
            ax.set_ylim(bottom=0, top=top * 1.05 if top > 0 else 1)
        locator = AutoDateLocator(maxticks=4)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(bands):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel, fontsize=8)
    handles, labels = [], []
    for ax in axes.flat:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            if text not in labels:
                handles.append(handle)
                labels.append(text)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8,
               frameon=False)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_differences(table: pd.DataFrame, path: Path,
                     metrics: Sequence[str] = KEY_METRICS) -> Path:
    """Each scenario's paired difference from the reference, with its interval.

    One panel per metric; one horizontal bar per scenario (the reference, whose
    difference is zero by construction, is left out). Differences whose interval
    excludes zero are drawn solid, the others faded.

    Args:
        table: a comparison table (see :func:`sim.compare.comparison_table`).
        path: PNG file to write.
        metrics: the metrics to show, one panel each.

    Returns:
        The path written.

    """
    reference = str(table["reference"].iloc[0])
    others = table[table["scenario"] != reference]
    labels = list(dict.fromkeys(others["scenario"])) or [reference]
    rows, cols = _grid(len(metrics))
    fig = _figure(3.3 * cols, (0.28 * len(labels) + 1.0) * rows + 0.6)
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    positions = range(len(labels))
    for ax, metric in zip(axes.flat, metrics, strict=False):
        part = others[others["metric"] == metric].set_index("scenario").reindex(labels)
        for y, (_, r) in zip(positions, part.iterrows(), strict=True):
            if r["diff"] != r["diff"]:  # NaN: nothing to draw
                continue
            solid = r["significant"] == "*"
            low = r["diff_ci_low"] if r["diff_ci_low"] == r["diff_ci_low"] else r["diff"]
            high = r["diff_ci_high"] if r["diff_ci_high"] == r["diff_ci_high"] else r["diff"]
            ax.errorbar(r["diff"], y, xerr=[[r["diff"] - low], [high - r["diff"]]], fmt="o",
                        markersize=4, capsize=2, color="C3" if solid else "0.6")
        ax.axvline(0, color="0.2", linewidth=0.8)
        ax.set_title(metric, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.set_yticks(list(positions), labels)
    axes.flat[0].invert_yaxis()  # shared y: first scenario on top in every panel
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(f"Difference from {reference} (mean of paired differences, 95% interval; "
                 f"red: interval excludes zero)", fontsize=10)
    return _save(fig, path)
