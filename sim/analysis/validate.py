"""Validation: a scenario's output beside every dated figure of the record within its horizon.

For each figure: the observed value, the model's median and 90% interval (5th to
95th percentile across replications of the cumulative count at that date), whether
the interval covers the figure, and whether the figure lies in the calibration
window (it may have set parameters) or the test window (it never did). Per window:
coverage and the mean absolute relative error of the median.

Injury figures are compared with what the public count showed (the observation
model's reported series); the table gives what happened (incurred) beside it. A
figure given as a lower bound counts as covered when the band reaches it.

Beside the model: a constant-rate negative-binomial null model fitted to the same
calibration window (:mod:`sim.analysis.null_model`), with its own band, coverage and
error per figure. Also the shape of the replay: mean daily attacks by period, the
Iraq/Syria split at every dated split, and the patterns with their targets
(:mod:`sim.analysis.patterns`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibrate import point_table
from sim.analysis.null_model import NullModel, fit_null
from sim.analysis.patterns import pattern_table, split_table
from sim.analysis.record import (
    CALIBRATION_END,
    COMPARED_METRICS,
    LOWER_BOUNDS,
    cumulative_by_replication,
    day_index,
    model_at_points,
    model_column,
    window_of,
)
from sim.experiment.files import write_folder_atomic
from sim.experiment.results import RunResult

PERIODS: tuple[tuple[str, dt.date, dt.date, str], ...] = (
    ("before the truce", dt.date(2023, 10, 17), dt.date(2023, 11, 23),
     "73 attacks in 38 days (Reuters, 24 Nov 2023): 1.9 a day"),
    ("Gaza truce", dt.date(2023, 11, 24), dt.date(2023, 11, 30),
     "none from 24 Nov (Pentagon, 27 Nov 2023); attacks resumed about 29 Nov"),
    ("resumption", dt.date(2023, 12, 1), dt.date(2024, 1, 27),
     "78 on 7 Dec to about 140 on 19 Jan (Pentagon): 1.4 a day"),
    ("Tower 22 and response", dt.date(2024, 1, 28), dt.date(2024, 2, 4),
     "about 166 on 30 Jan, about 170 by early February"),
    ("lull", dt.date(2024, 2, 5), dt.date(2024, 2, 13),
     "none from 5 Feb to 21 Apr 2024 (Pentagon, 20 Feb and 23 Apr 2024)"),
)
"""Periods of the replay (inclusive dates) and what the record says of each."""


def compare(daily: pd.DataFrame, record: pd.DataFrame, start: dt.date, days: int,
            end: dt.date = CALIBRATION_END, null: NullModel | None = None) -> pd.DataFrame:
    """One row per compared figure within the horizon: observed, model band, window,
    what happened (incurred) for injury figures, and the null model's band.

    Args:
        daily: a run's daily table (all replications).
        record: the record (:func:`sim.record.load_record`).
        start: the run's start date.
        days: the run's horizon.
        end: last day of the calibration window.
        null: a fitted null model (default: fitted here to the same window).

    """
    inside = record["metric"].isin(COMPARED_METRICS) & record["date"].map(
        lambda d: 1 <= day_index(d, start) <= days)
    points = record.loc[inside].reset_index(drop=True).assign(in_objective=True)
    values = model_at_points(daily, points, start)
    table = point_table(points, values).drop(columns=["in_objective"])
    table.insert(1, "day", [day_index(d, start) for d in points["date"]])
    table.insert(2, "window", [window_of(d, end) for d in points["date"]])
    table["abs_error"] = (table["model_median"] - table["observed"]).abs()
    table["qualifier"] = points["qualifier"].to_numpy()
    table["title"] = points["title"].to_numpy()
    incurred = np.full(len(points), np.nan)
    for i, point in enumerate(points.itertuples()):
        columns = model_column(point.metric, point.scope, reported=False)
        if columns != model_column(point.metric, point.scope):
            cum = cumulative_by_replication(daily, columns)
            incurred[i] = float(cum.loc[day_index(point.date, start)].median())
    table["incurred_median"] = incurred
    null = null or fit_null(record, start, end)
    predicted = null.predict(points)
    observed = table["observed"].to_numpy()
    table["null_median"] = predicted["null_median"].to_numpy()
    table["null_p5"] = predicted["null_p5"].to_numpy()
    table["null_p95"] = predicted["null_p95"].to_numpy()
    lower = points["qualifier"].isin(LOWER_BOUNDS).to_numpy()
    table["null_covered"] = np.where(lower, observed <= table["null_p95"],
                                     (table["null_p5"] <= observed)
                                     & (observed <= table["null_p95"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        table["null_rel_error"] = np.where(observed > 0,
                                           (table["null_median"] - observed) / observed, np.nan)
    return table


def window_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per window (and overall) and per metric: figures, coverage of the 90% band and mean
    |relative error| of the median, for the model and for the null model.

    Relative errors are undefined for figures of 0 (deaths before Tower 22); those count
    for coverage only.
    """
    rows = []
    groups = [(w, "all", part) for w, part in table.groupby("window", sort=False)]
    groups += [(w, m, part) for (w, m), part in table.groupby(["window", "metric"], sort=False)]
    groups.append(("all", "all", table))
    for window, metric, part in groups:
        row = {"window": window, "metric": metric, "figures": len(part)}
        for who, covered, rel in (("model", "covered", "rel_error"),
                                  ("null", "null_covered", "null_rel_error")):
            if covered not in part:
                continue
            errors = part[rel].dropna().abs()
            row[f"{who}_coverage"] = float(part[covered].mean()) if len(part) else np.nan
            row[f"{who}_mean_abs_rel_error"] = float(errors.mean()) if len(errors) else np.nan
        rows.append(row)
    order = {"calibration": 0, "test": 1, "all": 2}
    frame = pd.DataFrame(rows)
    frame["_w"] = frame["window"].map(order)
    frame["_m"] = frame["metric"] != "all"
    return frame.sort_values(["_w", "_m"], kind="stable").drop(columns=["_w", "_m"]).reset_index(
        drop=True)


def period_table(daily: pd.DataFrame, start: dt.date, days: int) -> pd.DataFrame:
    """Daily attacks by period: median (and 5-95%) across replications of the period mean,
    and the median share of days with at least one attack.
    """
    rows = []
    for name, first, last, record_says in PERIODS:
        a, b = max(1, day_index(first, start)), min(days, day_index(last, start))
        if a > b:
            continue
        part = daily[(daily["day"] >= a) & (daily["day"] <= b)]
        per_rep = part.groupby("replication")["attacks"].agg(["mean", lambda s: (s > 0).mean()])
        per_rep.columns = ["mean", "share"]
        rows.append({"period": name, "first": first.isoformat(), "last": last.isoformat(),
                     "days": b - a + 1, "attacks_per_day_median": float(per_rep["mean"].median()),
                     "attacks_per_day_p5": float(np.percentile(per_rep["mean"], 5)),
                     "attacks_per_day_p95": float(np.percentile(per_rep["mean"], 95)),
                     "share_days_with_attack": float(per_rep["share"].median()),
                     "record": record_says})
    return pd.DataFrame(rows)


@dataclass
class Validation:
    """The comparison of one run with the record."""

    result: RunResult
    table: pd.DataFrame
    summary: pd.DataFrame
    periods: pd.DataFrame
    end: dt.date
    metadata: dict[str, Any] = field(default_factory=dict)
    splits: pd.DataFrame = field(default_factory=pd.DataFrame)
    patterns: pd.DataFrame = field(default_factory=pd.DataFrame)
    null: NullModel | None = None

    def write(self, out: Path) -> Path:
        """Write validation.csv, validation.md, periods.csv, splits.csv, patterns.csv,
        validation.png and metadata.json into a new folder, atomically.
        """
        return write_folder_atomic(out, self.write_into)

    def write_into(self, folder: Path) -> None:
        """Write the files into an existing folder."""
        self.table.to_csv(folder / "validation.csv", index=False)
        self.periods.to_csv(folder / "periods.csv", index=False)
        self.splits.to_csv(folder / "splits.csv", index=False)
        self.patterns.to_csv(folder / "patterns.csv", index=False)
        (folder / "validation.md").write_text(self.markdown(), encoding="utf-8")
        plot(self, folder / "validation.png")
        meta = {**self.result.metadata, **self.metadata}
        meta.pop("resolved_scenario", None)
        meta["summary"] = self.summary.to_dict("records")
        meta["patterns"] = self.patterns.to_dict("records")
        if self.null is not None:
            meta["null_model"] = self.null.to_dict()
        (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))

    def markdown(self) -> str:
        """The tables as Markdown."""
        from tabulate import tabulate

        spec = self.result.scenario
        head = (f"# Validation of `{spec.name}` against the public record\n\n"
                f"{self.metadata.get('replications', '?')} replications, seed "
                f"{self.metadata.get('seed', '?')}, {self.result.metadata.get('days')} days from "
                f"{spec.run.start_date}. Calibration window: figures dated up to "
                f"{self.end}; test window: later figures.\n\n")
        md = {"headers": "keys", "tablefmt": "github", "showindex": False}
        return (head + "## Patterns and targets\n\n" + tabulate(shown_patterns(self.patterns),
                                                             **md)
                + "\n\n## Figures\n\nInjury figures are compared with the model's reported "
                "series (the observation model); `incurred` is what happened. `null_*` is the "
                "constant-rate negative-binomial null model fitted to the same window.\n\n"
                + tabulate(shown_table(self.table), **md)
                + "\n\n## By window and metric: model and null model\n\n"
                + tabulate(self.summary, floatfmt=".3f", **md)
                + "\n\n## Share of attacks in Syria at each dated split\n\n"
                + tabulate(self.splits.assign(date=self.splits["date"].astype(str))
                           if len(self.splits) else self.splits, floatfmt=".2f", **md)
                + "\n\n## Daily attacks by period\n\n"
                + tabulate(self.periods, headers="keys", tablefmt="github", showindex=False,
                           floatfmt=".2f") + "\n")


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison table formatted for printing (dates, rounded counts, signed errors)."""
    shown = table[["date", "window", "metric", "scope", "qualifier", "observed", "model_median",
                   "model_p5", "model_p95", "covered", "rel_error", "incurred_median",
                   "null_median", "null_covered", "null_rel_error"]].copy()
    shown["date"] = shown["date"].astype(str)
    shown["metric"] = shown["metric"].str.replace("cumulative_", "", regex=False)
    for col in ("observed", "model_median", "model_p5", "model_p95", "incurred_median",
                "null_median"):
        shown[col] = shown[col].map(lambda x: "-" if x != x else f"{x:.0f}"
                                    if float(x).is_integer() else f"{x:.1f}")
    for col in ("rel_error", "null_rel_error"):
        shown[col] = shown[col].map(lambda x: "-" if x != x else f"{x:+.2f}")
    return shown.rename(columns={"model_median": "median", "model_p5": "p5", "model_p95": "p95",
                                 "incurred_median": "incurred", "null_median": "null",
                                 "null_rel_error": "null_rel", "qualifier": "qual."})


def shown_patterns(patterns: pd.DataFrame) -> pd.DataFrame:
    """The pattern table formatted for printing (values to two places, met as yes/no)."""
    shown = patterns.copy()
    shown["model"] = shown["model"].map(lambda x: f"{x:.2f}" if x == x else "-")
    shown["met"] = shown["met"].map(lambda m: "-" if m is None else "yes" if m else "NO")
    return shown[["pattern", "record", "model", "target", "met", "note"]]


def validate(result: RunResult, record: pd.DataFrame, end: dt.date = CALIBRATION_END,
             ) -> Validation:
    """Compare a run with the record (pure: no files)."""
    start, days = result.scenario.run.start_date, int(result.metadata["days"])
    null = fit_null(record, start, end)
    table = compare(result.daily, record, start, days, end, null)
    splits = split_table(result.daily, record, start, days, end)
    return Validation(result, table, window_summary(table),
                      period_table(result.daily, start, days), end,
                      {"replications": int(result.metadata["replications"]),
                       "seed": result.metadata["root_seed"], "calibration_end": end.isoformat()},
                      splits, pattern_table(result.daily, record, table, splits, start, days),
                      null)


def plot(validation: Validation, path: Path) -> None:
    """Observed figures over the model's 90% band of cumulative attacks and injuries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result, table = validation.result, validation.table
    start = result.scenario.run.start_date
    fig, axes = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True)
    panels = (("cumulative_attacks", "iraq_syria", "Attacks on U.S. forces (Iraq and Syria)"),
              ("cumulative_injuries", "iraq_syria", "U.S. injuries (all sites)"))
    for ax, (metric, scope, title) in zip(axes, panels, strict=True):
        cum = cumulative_by_replication(result.daily, model_column(metric, scope))
        dates = [start + dt.timedelta(days=int(d) - 1) for d in cum.index]
        ax.fill_between(dates, cum.quantile(0.05, axis=1), cum.quantile(0.95, axis=1),
                        color="tab:blue", alpha=0.25, label="model 90% band")
        ax.plot(dates, cum.median(axis=1), color="tab:blue", label="model median")
        for window, marker, colour in (("calibration", "o", "black"), ("test", "D", "tab:red")):
            part = table[(table["metric"] == metric) & (table["window"] == window)
                         & table["scope"].isin([scope, "iraq_syria_jordan"])]  # no splits
            same = part["scope"] == scope
            ax.scatter(part.loc[same, "date"], part.loc[same, "observed"], marker=marker,
                       color=colour, zorder=3, label=f"record ({window} window)")
            if (~same).any():
                ax.scatter(part.loc[~same, "date"], part.loc[~same, "observed"], marker=marker,
                           facecolors="none", edgecolors=colour, zorder=3,
                           label=f"record ({window} window, incl. Jordan)")
        ax.axvline(validation.end, color="grey", linestyle="--", linewidth=1)
        ax.axvspan(dt.date(2023, 11, 24), dt.date(2023, 12, 1), color="tab:green", alpha=0.12,
                   label="Gaza truce")
        ax.axvline(dt.date(2024, 1, 28), color="tab:orange", linestyle=":", linewidth=1.2,
                   label="Tower 22")
        ax.set_title(title)
        ax.set_ylabel("cumulative since 17 Oct 2023")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].text(validation.end, axes[0].get_ylim()[1] * 0.95, " calibration | test",
                 fontsize=8, color="grey", va="top")
    fig.suptitle(f"{result.scenario.name}: model vs public record")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
