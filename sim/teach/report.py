"""HTML handouts of result folders (``sim report``): a run, a comparison or a validation.

:func:`write_report` tells the folder's kind from its files and metadata.json and
writes one self-contained page (figures embedded as base64 PNG), so it can be
mailed or printed without the folder. The run handout is here; the comparison and
validation handouts are in :mod:`sim.teach.report_comparison` and
:mod:`sim.teach.report_validation`.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import glossary
from sim.analysis.comparison_markdown import numbers
from sim.analysis.plots import date_axis
from sim.analysis.stats import bands, mean_interval
from sim.experiment.files import write_text_atomic
from sim.experiment.results import RunResult, read_run
from sim.teach import handout

KEY_METRICS = ("attacks", "weekly_attack_rate", "peak_week_attacks", "attacks_day28",
               "injuries", "injuries_day28", "deaths", "strikes", "clashes", "min_stability",
               "open_confrontation", "days_to_deescalation")
"""Rows of the run handout's outcomes table."""

KINDS = ("run", "comparison", "worlds", "validation")
"""Folder kinds a handout is written for (``worlds``: a ``sim compare --worlds`` folder)."""


class NotAResultFolder(ValueError):
    """A folder that is not a run, comparison or validation folder."""


def folder_kind(folder: Path) -> str:
    """``run``, ``comparison``, ``worlds`` or ``validation``, from the folder's files.

    Raises:
        NotAResultFolder: when the folder has no readable metadata.json or is none of those.

    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotAResultFolder(f"{folder} is not a run, comparison or validation folder "
                               "(no readable metadata.json)") from None
    if (folder / "robustness.csv").is_file():
        return "worlds"
    if meta.get("kind") == "comparison" or (folder / "comparison.csv").is_file():
        return "comparison"
    if (folder / "validation.csv").is_file():
        return "validation"
    if "resolved_scenario" in meta and (folder / "summary.csv").is_file():
        return "run"
    raise NotAResultFolder(f"{folder} is not a run, comparison or validation folder (its "
                           "metadata.json is of none of them)")


# ---------------------------------------------------------------- the run handout


def settings_rows(result: RunResult) -> list[tuple[str, str]]:
    """The scenario's levers, uncertainties and events as (name, value) rows."""
    spec = result.scenario
    gov, coa = spec.levers.government, spec.levers.coalition
    region, patron = spec.uncertainties.region, spec.uncertainties.patron
    rows = [(f"lever: {k}", f"{getattr(gov, k):.2f}")
            for k in ("accommodation", "appeasement", "persuasion", "pressure")]
    rows += [("lever: adaptive rule", "on" if gov.adaptive.enabled else "off"),
             ("lever: coalition retaliation", str(coa.retaliation)),
             ("lever: force protection", f"{coa.force_protection:.2f}"),
             ("uncertainty: Gaza", f"{region.gaza:.2f}"),
             ("uncertainty: Lebanon", f"{region.lebanon:.2f}"),
             ("uncertainty: Red Sea", f"{region.red_sea:.2f}"),
             ("uncertainty: patron signal", f"{patron.signal:+.2f}")]
    start = spec.run.start_date
    for event in spec.events:
        note = f" ({event.note})" if getattr(event, "note", "") else ""
        when = handout.day_label(start + dt.timedelta(days=int(event.day) - 1))
        rows.append((f"event: day {event.day} ({when})", f"{event.set} = {event.value}{note}"))
    return rows


def outcome_rows(summary: pd.DataFrame, metrics: tuple[str, ...] = KEY_METRICS,
                 days: int | None = None) -> list[list[str]]:
    """Per metric: unit, mean, its 95% interval (clipped to the outcome's range), median and
    the 5th-95th percentile across replications, and the replications defined.
    """
    rows = []
    for metric in metrics:
        values = summary[metric].astype(float).to_numpy()
        values = values[~np.isnan(values)]
        mean, low, high = mean_interval(values)
        low, high = glossary.clip(metric, low, high)
        if len(values):
            median = float(np.median(values))
            p5, p95 = (float(v) for v in np.percentile(values, [5, 95]))
        else:
            median = p5 = p95 = float("nan")
        m, lo, hi, med, a, b = numbers(mean, low, high, median, p5, p95)
        rows.append([metric, glossary.unit(metric, days), m, f"[{lo}, {hi}]" if lo != "-" else "-",
                     med, f"{a} to {b}" if a != "-" else "-", str(len(values))])
    return rows


def band_figure(daily: pd.DataFrame, column: str, title: str, ylabel: str, *,
                cumulative: bool = False, rolling: int = 0, from_zero: bool = True) -> Figure:
    """Median and the 5-95% band across replications of a daily column, on calendar dates.

    ``cumulative``: cumulate within each replication first; ``rolling``: smooth each
    replication with a trailing rolling mean of that many days first (for counts, so the
    band is not an integer staircase).
    """
    frame = daily[["replication", "day", "date", column]].sort_values(["replication", "day"])
    if cumulative:
        frame[column] = frame.groupby("replication")[column].cumsum()
    if rolling:
        frame[column] = frame.groupby("replication")[column].transform(
            lambda s: s.astype(float).rolling(rolling, min_periods=1).mean())
    band = bands(frame, by="day", value=column)
    fig = handout.figure(4.6, 3.0)
    ax = fig.subplots()
    ax.fill_between(band["date"], band["low"], band["high"], alpha=0.25, linewidth=0,
                    label="90% of replications")
    ax.plot(band["date"], band["median"], lw=2, label="median")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.grid(alpha=0.3)
    if from_zero:
        ax.set_ylim(bottom=0)
    date_axis(ax)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="best")
    return fig


def render(result: RunResult) -> str:
    """The run handout as one HTML string."""
    spec, meta = result.scenario, result.metadata
    daily = result.daily
    if "date" not in daily.columns:
        daily = daily.assign(date=pd.Timestamp(spec.run.start_date)
                             + pd.to_timedelta(daily["day"] - 1, unit="D"))
    reps = int(meta.get("replications", daily["replication"].nunique()))
    days = int(meta.get("days", daily["day"].max()))
    start = spec.run.start_date
    figures = [band_figure(daily, "attacks", "Daily attacks (7-day rolling mean)",
                           "attacks per day", rolling=7),
               band_figure(daily, "stability", "Iraqi stability index", "stability (0-1)",
                           from_zero=False),
               band_figure(daily, "injuries", "Cumulative U.S. injuries", "injured since start",
                           cumulative=True)]
    images = "".join(handout.image(handout.png_of(f), "figure", "third") for f in figures)
    settings = handout.table(["setting", "value"], settings_rows(result))
    outcomes = handout.table(["metric", "unit", "mean", "95% interval of the mean", "median",
                              "90% of replications", "n"],
                             outcome_rows(result.summary, KEY_METRICS, days), range(2, 7))
    body = f"""<h1>Scenario <code>{escape(spec.name)}</code></h1>
<p>{escape(spec.description)}</p>
<p class="note">{reps} replications x {days} days from {handout.day_label(start)} (root seed
{escape(str(meta.get("root_seed", spec.run.seed)))}).</p>
<div class="cols">
<div><h2>Settings</h2>{settings}</div>
<div><h2>Outcomes over {days} days</h2>{outcomes}
<p class="note">Mean with the 95% interval of the mean (bounds clipped to the values the outcome
can take), and the median and the 5th to 95th percentile of single replications, the statistics
the figures show.</p></div>
</div>
<h2>Over time: median across replications and the band holding 90% of them</h2>
<div>{images}</div>
<p class="note">Daily attacks are smoothed per replication with a 7-day rolling mean (the day and
the six before) before the median and band are taken, so the band of a small count is not an
integer staircase.</p>
{handout.glossary_html(KEY_METRICS, ("replication", "median", "90% of replications",
                                     "95% interval", "7-day rolling mean"), days=days)}"""
    return handout.page(f"{spec.name}: scenario handout", body)


# ---------------------------------------------------------------- any folder


def render_folder(folder: Path) -> str:
    """The handout of a result folder, whatever its kind."""
    kind = folder_kind(folder)
    if kind == "run":
        return render(read_run(Path(folder)))
    if kind == "validation":
        from sim.teach.report_validation import render_validation

        return render_validation(Path(folder))
    from sim.teach import report_comparison

    if kind == "worlds":
        return report_comparison.render_worlds(Path(folder))
    return report_comparison.render_comparison(Path(folder))


def write_report(folder: Path, out: Path | None = None) -> Path:
    """Write the handout of a run, comparison or validation folder (default
    ``FOLDER/report.html``).

    Raises:
        NotAResultFolder: when the folder is none of those.

    """
    out = Path(out) if out is not None else Path(folder) / "report.html"
    return write_text_atomic(out, render_folder(Path(folder)))


__all__ = ["KINDS", "NotAResultFolder", "band_figure", "folder_kind", "outcome_rows", "render",
           "render_folder", "settings_rows", "write_report"]
