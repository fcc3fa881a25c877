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
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.analysis import glossary
from sim.analysis.compare import KEY_METRICS

DPI = 110
REFERENCE_STYLE = {"color": "0.35", "linestyle": "--", "linewidth": 1.0}
BETTER_COLOUR = "#0072B2"
"""A clear change that is better for the outcome (blue)."""
WORSE_COLOUR = "#D55E00"
"""A clear change that is worse for the outcome (orange-red)."""
NEUTRAL_COLOUR = "0.25"
"""A clear change of an outcome that is neither better nor worse (dark grey)."""
UNCLEAR_COLOUR = "0.7"
"""A change whose interval includes zero (light grey)."""


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


def date_axis(ax: Axes, maxticks: int = 5) -> None:
    """Calendar dates with the year on the x axis ("17 Oct 2023"), labels slanted to fit."""
    ax.xaxis.set_major_locator(AutoDateLocator(minticks=2, maxticks=maxticks))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _pos: f"{num2date(x).day} {num2date(x):%b %Y}"))
    ax.tick_params(axis="x", labelrotation=30)


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
        date_axis(ax, maxticks=4)
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


def difference_colour(metric: str, low: float, high: float) -> str:
    """The colour of a difference: better, worse, a clear neutral change, or not clear.

    ``low``/``high``: the paired interval. Which way is better comes from
    :data:`sim.analysis.glossary.METRICS` (fewer attacks, injuries, deaths, strikes,
    clashes, confrontation; a higher minimum stability; ``syria_share`` neither).
    """
    word = glossary.verdict(metric, low, high)
    if word == "better":
        return BETTER_COLOUR
    if word == "worse":
        return WORSE_COLOUR
    return NEUTRAL_COLOUR if word else UNCLEAR_COLOUR


def effect_order(part: pd.DataFrame, metric: str) -> list[str]:
    """Scenarios of one metric's rows ordered by effect: the best change first (for a neutral
    outcome the highest), undefined differences last.
    """
    sign = glossary.metric(metric).better or 1
    score = part.set_index("scenario")["diff"].astype(float) * sign
    return list(score.sort_values(ascending=False, na_position="last", kind="stable").index)


def plot_differences(table: pd.DataFrame, path: Path,
                     metrics: Sequence[str] = KEY_METRICS, days: int | None = None) -> Path:
    """Each scenario's paired difference from the reference, with its interval.

    One panel per metric; one point and interval per scenario (the reference, whose
    difference is zero by construction, is left out), ordered by effect within the
    panel, the best change on top. Colours say whether a clear difference (interval
    excluding zero) is better or worse for that outcome (:func:`difference_colour`);
    grey when the interval includes zero. The x axis is in the outcome's unit.

    Args:
        table: a comparison table (see :func:`sim.compare.comparison_table`).
        path: PNG file to write.
        metrics: the metrics to show, one panel each.
        days: the horizon, for units such as "attacks over 120 days".

    Returns:
        The path written.

    """
    reference = str(table["reference"].iloc[0])
    others = table[table["scenario"] != reference]
    count = max(others["scenario"].nunique(), 1)
    rows, cols = _grid(len(metrics))
    fig = _figure(3.4 * cols, (0.28 * count + 1.3) * rows + 0.9)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        part = others[others["metric"] == metric]
        order = effect_order(part, metric) or [reference]
        part = part.set_index("scenario").reindex(order)
        for y, (_, r) in enumerate(part.iterrows()):
            if r["diff"] != r["diff"]:  # NaN: nothing to draw
                continue
            low = r["diff_ci_low"] if r["diff_ci_low"] == r["diff_ci_low"] else r["diff"]
            high = r["diff_ci_high"] if r["diff_ci_high"] == r["diff_ci_high"] else r["diff"]
            ax.errorbar(r["diff"], y, xerr=[[r["diff"] - low], [high - r["diff"]]], fmt="o",
                        markersize=4, capsize=2,
                        color=difference_colour(metric, r["diff_ci_low"], r["diff_ci_high"]))
        ax.axvline(0, color="0.2", linewidth=0.8)
        ax.set_title(f"{metric} ({glossary.better_word(metric)})", fontsize=8.5)
        ax.set_xlabel(f"difference, {glossary.unit(metric, days)}", fontsize=7.5)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.set_yticks(range(len(order)), order)
        ax.set_ylim(len(order) - 0.5, -0.5)  # the best change on top
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    legend = [(BETTER_COLOUR, "better for that outcome"), (WORSE_COLOUR, "worse"),
              (NEUTRAL_COLOUR, "clear change, neither better nor worse"),
              (UNCLEAR_COLOUR, "95% interval includes zero")]
    fig.legend([Line2D([], [], marker="o", color=c, linestyle="") for c, _ in legend],
               [text for _, text in legend], loc="outside lower center", ncols=len(legend),
               fontsize=8, frameon=False)
    fig.suptitle(f"Difference from {reference}: mean of paired differences (same seeds) with "
                 "its 95% interval; in each panel the best change on top", fontsize=10)
    return _save(fig, path)
