"""Paired comparisons of scenario tables run with common random numbers.

Every scenario in a comparison is run with the same replication seeds, so
replication ``i`` of each scenario faces the same random draws as far as the
scenarios' own dynamics allow. The difference of a scenario from the reference is
then computed per replication (paired by seed) and summarised with a t-interval:
that interval is much narrower than the one obtained from two independent
samples, because the shared noise cancels.

Everything here is a pure function of tables: no files, no processes, no plots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.analysis.stats import mean_interval
from sim.model.outcomes import SUMMARY_METRICS

KEY_METRICS = ("attacks", "syria_share", "injuries", "deaths", "strikes", "clashes",
               "min_stability", "open_confrontation")
"""Outcomes shown in the terminal table and the difference chart."""

COLUMNS = ("scenario", "metric", "reference", "n", "mean", "ci_low", "ci_high", "diff",
           "diff_ci_low", "diff_ci_high", "n_pairs", "significant")
"""Columns of comparison.csv, in order."""


class PairingError(ValueError):
    """Two runs cannot be paired (different seeds or horizons)."""


def paired_differences(summary: pd.DataFrame, reference: pd.DataFrame,
                       metric: str) -> np.ndarray:
    """Per-replication differences ``summary - reference`` of one metric, paired by seed.

    Args:
        summary: one row per replication with ``seed`` and ``metric`` columns.
        reference: the reference scenario's table, same layout.
        metric: the outcome column.

    Returns:
        One difference per seed present in both tables, in the reference's order;
        NaN where either value is undefined (e.g. no de-escalation).

    Raises:
        PairingError: when the two tables do not hold the same seeds.

    """
    check_same_seeds({"scenario": summary["seed"], "reference": reference["seed"]})
    ours = summary.set_index("seed")[metric].astype(float)
    theirs = reference.set_index("seed")[metric].astype(float)
    return (ours.reindex(theirs.index) - theirs).to_numpy()


def check_same_seeds(seeds: Mapping[str, Sequence[int] | pd.Series]) -> None:
    """Raise :class:`PairingError` unless every entry holds the same seeds in any order.

    Args:
        seeds: label -> the seeds of its replications.

    """
    items = [(label, sorted(int(s) for s in values)) for label, values in seeds.items()]
    if not items:
        return
    first_label, first = items[0]
    for label, values in items[1:]:
        if values != first:
            raise PairingError(f"{label}: seeds differ from {first_label} "
                               f"({len(values)} vs {len(first)} replications)")


def comparison_table(summaries: Mapping[str, pd.DataFrame], reference: str,
                     metrics: Sequence[str] = SUMMARY_METRICS,
                     level: float = 0.95) -> pd.DataFrame:
    """One row per (scenario, metric): mean, interval, paired difference from the reference.

    Args:
        summaries: scenario label -> its summary table (one row per replication,
            with a ``seed`` column and the metric columns). The reference comes
            first in the result, then the others in the mapping's order.
        reference: the label of the reference scenario.
        metrics: outcome columns to compare.
        level: confidence level of both intervals.

    Returns:
        A table with :data:`COLUMNS`. ``mean``, ``ci_low``, ``ci_high``: the
        scenario's mean over ``n`` defined replications and its t-interval.
        ``diff``, ``diff_ci_low``, ``diff_ci_high``: mean and t-interval of the
        per-replication differences from the reference over ``n_pairs`` pairs
        in which both values are defined. ``significant`` is ``"*"`` when that
        interval excludes zero.

    Raises:
        KeyError: when ``reference`` is not among ``summaries``.
        PairingError: when the scenarios do not share seeds.

    """
    if reference not in summaries:
        raise KeyError(f"reference {reference!r} is not among the scenarios "
                       f"({', '.join(summaries)})")
    check_same_seeds({label: table["seed"] for label, table in summaries.items()})
    order = [reference, *[label for label in summaries if label != reference]]
    ref = summaries[reference]
    rows = []
    for label in order:
        table = summaries[label]
        for metric in metrics:
            values = table[metric].astype(float)
            mean, low, high = mean_interval(values, level)
            diffs = paired_differences(table, ref, metric)
            diffs = diffs[~np.isnan(diffs)]
            diff, diff_low, diff_high = mean_interval(diffs, level)
            rows.append({
                "scenario": label, "metric": metric, "reference": reference,
                "n": int(values.notna().sum()), "mean": mean, "ci_low": low, "ci_high": high,
                "diff": diff, "diff_ci_low": diff_low, "diff_ci_high": diff_high,
                "n_pairs": len(diffs), "significant": mark(diff_low, diff_high),
            })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def mark(low: float, high: float) -> str:
    """``"*"`` when the interval [low, high] excludes zero, else ``""`` (also for NaN)."""
    return "*" if (low > 0 or high < 0) else ""


# ------------------------------------------------------------------ showing


def compact_rows(table: pd.DataFrame, metrics: Sequence[str] = KEY_METRICS,
                 ) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for a terminal table: one row per scenario, one column per metric.

    Each cell reads ``mean (diff*)``: the scenario's mean, its paired difference
    from the reference and ``*`` when the difference's interval excludes zero. The
    reference's own cells read ``mean (ref)``. Every number of a column has the same
    decimals (:func:`places`, from the column's largest mean).
    """
    headers = ["scenario", *metrics]
    shown = table[table["metric"].isin(metrics)]
    digits = {m: places(part["mean"]) for m, part in shown.groupby("metric")}
    rows = []
    for label, part in table.groupby("scenario", sort=False):
        by_metric = part.set_index("metric")
        cells = [str(label)]
        for metric in metrics:
            r = by_metric.loc[metric]
            d = digits[metric]
            if label == r["reference"]:
                cells.append(f"{fmt(r['mean'], places=d)} (ref)")
            else:
                cells.append(f"{fmt(r['mean'], places=d)} "
                             f"({fmt(r['diff'], sign=True, places=d)}{r['significant']})")
        rows.append(cells)
    return headers, rows


def places(values: Sequence[float] | pd.Series) -> int:
    """Decimals for a column of numbers: 3 up to 1 (shares), 2 below 10, else 1 (by the
    largest magnitude).
    """
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite)]
    largest = float(finite.max()) if finite.size else 0.0
    return 3 if largest <= 1 else 2 if largest < 10 else 1


def markdown(table: pd.DataFrame, level: float = 0.95) -> str:
    """The full comparison as a Markdown table, one row per (scenario, metric)."""
    pct = f"{level:.0%}"
    lines = [
        f"| scenario | metric | n | mean | {pct} interval | diff vs {table['reference'].iloc[0]} "
        f"| {pct} paired interval | pairs | |",
        "|---|---|--:|--:|--:|--:|--:|--:|:-:|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.scenario} | {r.metric} | {r.n} | {fmt(r.mean)} | "
            f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}] | {fmt(r.diff, sign=True)} | "
            f"[{fmt(r.diff_ci_low)}, {fmt(r.diff_ci_high)}] | {r.n_pairs} | {r.significant} |")
    return "\n".join(lines) + "\n"


def fmt(x: float, sign: bool = False, places: int | None = None) -> str:
    """A number with ``places`` decimals, or by default in a few significant digits; ``-``
    for NaN.
    """
    if x != x:  # NaN
        return "-"
    spec = "+" if sign else ""
    if places is not None:
        return f"{x:{spec}.{places}f}"
    return f"{x:{spec}.3f}" if abs(x) < 10 else f"{x:{spec}.1f}"
