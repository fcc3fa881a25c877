"""The teaching page's figures, drawn with matplotlib and sent to the browser as PNG.

The Run tab redraws many times a second while it plays, so :class:`RunFigure` builds its
axes once per run and only moves its lines each frame. The other figures are drawn once
per button press. Medians and 5-95% bands throughout, as in ``sim compare``'s figures.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from PIL import Image

from sim.analysis.plots import date_axis
from sim.model.model import IraqModel
from sim.teach.page_model import BY_KEY, show

COLOURS = {"A": "#1f77b4", "B": "#d62728"}
"""Setting A and setting B on the Compare tab."""
DPI = 100


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes at :data:`DPI` (light compression: quick to encode)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class RunFigure:
    """Daily attacks (with a 7-day average), stability and cumulative injuries of the run
    on the Run tab, on calendar dates.

    Built once per run. Each frame moves only the data: the axes, ticks and labels are
    drawn once and kept as a background image, and a frame draws the data on a copy of it
    (matplotlib's blitting), so playing at many days a second stays cheap. The
    background is redrawn only when an axis has to grow.
    """

    def __init__(self, model: IraqModel) -> None:
        self.days = model.days
        start = np.datetime64(model.spec.run.start_date, "D")
        dates = start + np.arange(self.days + 1)
        self.x = date2num(dates.astype("datetime64[s]").astype(object))
        self.fig = Figure(figsize=(6.4, 4.8), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=0.13, right=0.97, top=0.97, bottom=0.13, hspace=0.18)
        ax1, ax2, ax3 = self.axes = self.fig.subplots(3, 1, sharex=True)
        zeros = np.zeros(self.days)
        self.bars = ax1.stairs(zeros, self.x, fill=True, color="#bbbbbb", label="attacks")
        (self.week,) = ax1.plot([], [], color="#d62728", lw=2, label="7-day average")
        ax1.set_ylabel("attacks / day")
        ax1.legend(loc="upper left", fontsize=8, ncols=2, frameon=False)
        self.confront = ax2.stairs(zeros, self.x, fill=True, color="#ff7f0e", alpha=0.3,
                                   label="open confrontation")
        (self.stability,) = ax2.plot([], [], color="#1f77b4", lw=2, label="stability")
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("stability")
        ax2.legend(loc="lower left", fontsize=8, ncols=2, frameon=False)
        (self.injuries,) = ax3.plot([], [], color="#9467bd", lw=2)
        ax3.set_ylabel("injured\n(cumulative)")
        ax3.set_xlim(self.x[0], self.x[-1])
        date_axis(ax3)
        self.moving = (self.bars, self.week, self.confront, self.stability, self.injuries)
        for artist in self.moving:
            artist.set_animated(True)
        self.limits: tuple[float, float] | None = None
        self.background: Any = None
        self.update(model)

    def update(self, model: IraqModel) -> None:
        """Show the run up to its current day."""
        n = model.day
        columns = model.recorder.daily_columns()
        attacks = np.zeros(self.days)
        attacks[:n] = columns["attacks"][:n]
        self.bars.set_data(attacks)
        mid = self.x[:n] + 0.5
        week = np.convolve(attacks, np.ones(7))[:n] / np.minimum(np.arange(1, n + 1), 7)
        self.week.set_data(mid, week)
        confront = np.zeros(self.days)
        confront[:n] = columns["open_confrontation"][:n]
        self.confront.set_data(confront)
        self.stability.set_data(mid, columns["stability"][:n])
        injured = np.cumsum(columns["injuries"][:n])
        self.injuries.set_data(mid, injured)
        limits = (headroom(attacks.max(), 4), headroom(injured[-1] if n else 0, 10))
        if limits != self.limits:
            self.limits = limits
            self.axes[0].set_ylim(0, limits[0])
            self.axes[2].set_ylim(0, limits[1])
            self.background = None

    def png(self) -> bytes:
        """The figure as PNG bytes (quick to encode: a frame lasts a fraction of a second)."""
        if self.background is None:
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self.background)
        for artist in self.moving:
            artist.axes.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw",
                                 "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


def headroom(value: float, least: float) -> float:
    """An axis top above ``value`` that changes seldom: ``least``, or the next step of a
    1-2-5 series above 1.2 x ``value``.
    """
    target = max(float(value) * 1.2, least)
    if target <= least:
        return float(least)
    scale = 10 ** np.floor(np.log10(target))
    return float(next(m * scale for m in (1, 2, 5, 10) if m * scale >= target))


def _band(ax: Any, frame: pd.DataFrame, colour: str, label: str, x: np.ndarray) -> None:
    ax.fill_between(x, frame["low"], frame["high"], color=colour, alpha=0.18, lw=0)
    ax.plot(x, frame["median"], color=colour, lw=2, label=label)


def compare_figure(daily: dict[str, dict[str, pd.DataFrame]], start: Any) -> Figure:
    """Daily attacks and stability of settings A and B: median and 5-95% band of the
    replications on each day, on calendar dates.
    """
    fig = Figure(figsize=(6.4, 4.6), dpi=DPI)
    fig.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.15, hspace=0.15)
    axes = fig.subplots(2, 1, sharex=True)
    first = next(iter(daily.values()))["attacks"]
    dates = np.datetime64(start, "D") + (first["day"].to_numpy() - 1)
    x = date2num(dates.astype("datetime64[s]").astype(object))
    for label, columns in daily.items():
        for ax, column in zip(axes, ("attacks", "stability"), strict=True):
            _band(ax, columns[column], COLOURS[label], f"setting {label}", x)
    axes[0].set_ylabel("attacks / day\n(7-day average)")
    axes[0].set_ylim(bottom=0)
    axes[1].set_ylabel("stability")
    axes[1].set_ylim(0, 1)
    axes[0].legend(loc="upper left", fontsize=9, ncols=2, frameon=False)
    axes[0].set_title("Median and 5-95% band of the replications, day by day", fontsize=10)
    date_axis(axes[1])
    return fig


def response_figure(table: pd.DataFrame, key: str, current: float, days: int) -> Figure:
    """Attacks, minimum stability and open-confrontation risk against a control's value:
    median and 5-95% band of replications (a 95% interval for the risk), the controls'
    value marked.
    """
    fig = Figure(figsize=(5.6, 5.2), dpi=DPI)
    fig.subplots_adjust(left=0.16, right=0.97, top=0.93, bottom=0.11, hspace=0.2)
    axes = fig.subplots(3, 1, sharex=True)
    x = table["value"].to_numpy()
    for ax, column, colour in ((axes[0], "attacks", "#d62728"),
                               (axes[1], "min_stability", "#1f77b4")):
        ax.fill_between(x, table[f"{column}_low"], table[f"{column}_high"], color=colour,
                        alpha=0.18, lw=0, label="5-95% of replications")
        ax.plot(x, table[f"{column}_median"], "o-", color=colour, lw=2, ms=4, label="median")
    axes[0].set_ylabel(f"attacks\n({days} days)")
    axes[0].legend(loc="best", fontsize=8, frameon=False)
    axes[1].set_ylabel("minimum\nstability")
    axes[1].set_ylim(0, 1)
    axes[2].fill_between(x, table["confrontation_low"], table["confrontation_high"],
                         color="#ff7f0e", alpha=0.25, lw=0, label="95% interval")
    axes[2].plot(x, table["confrontation"], "o-", color="#ff7f0e", lw=2, ms=4)
    axes[2].set_ylabel("open\nconfrontation\n(share of runs)")
    axes[2].set_ylim(-0.02, 1.02)
    axes[2].set_xlabel(BY_KEY[key].label)
    for ax in axes:
        ax.axvline(current, color="black", ls=":", lw=1)
        ax.grid(alpha=0.3)
    axes[0].set_title(f"Dotted line: the controls' value ({show(key, current)})", fontsize=10)
    return fig


def tradeoff_figure(table: pd.DataFrame, key: str, current: float, days: int) -> Figure:
    """The trade-off along a control's range: median attacks against the risk of open
    confrontation, each point one value of the control, coloured by minimum stability.
    """
    fig = Figure(figsize=(5.6, 5.2), dpi=DPI)
    fig.subplots_adjust(left=0.15, right=0.88, top=0.9, bottom=0.12)
    ax = fig.subplots()
    x, y = table["attacks_median"], table["confrontation"]
    ax.plot(x, y, color="#999999", lw=1, zorder=1)
    dots = ax.scatter(x, y, c=table["min_stability_median"], cmap="viridis", vmin=0, vmax=1,
                      s=60, edgecolor="black", zorder=2)
    for value, xi, yi in zip(table["value"], x, y, strict=True):
        ax.annotate(show(key, value), (xi, yi), xytext=(4, 6), textcoords="offset points",
                    fontsize=8)
    nearest = int(np.argmin(np.abs(table["value"].to_numpy() - current)))
    ax.scatter([x.iloc[nearest]], [y.iloc[nearest]], s=220, facecolor="none",
               edgecolor="black", lw=1.5, zorder=3, label="nearest to the controls")
    fig.colorbar(dots, ax=ax, label="median minimum stability", fraction=0.05, pad=0.02)
    ax.set_xlabel(f"median attacks over {days} days")
    ax.margins(x=0.12)
    ax.set_ylabel("risk of open confrontation (share of runs)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    ax.set_title(f"Trade-off along {BY_KEY[key].label.lower()} (labels: its value)",
                 fontsize=10)
    return fig
