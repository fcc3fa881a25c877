"""Statistics across replications: means with t-intervals, quantile bands over time, weeks.

Pure functions of tables: no files, no processes, no plots.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.model.outcomes import SUMMARY_METRICS


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom."""
    from scipy.special import stdtrit  # imported here: workers and `sim --help` never need it

    return float(stdtrit(df, p))


def mean_interval(values: pd.Series | np.ndarray, level: float = 0.95,
                  ) -> tuple[float, float, float]:
    """Mean and its ``level`` t-interval; NaNs are dropped; (mean, nan, nan) for n < 2."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = t_quantile(0.5 + level / 2, n - 1) * float(x.std(ddof=1)) / np.sqrt(n)
    return mean, mean - half, mean + half


def interval_table(summary: pd.DataFrame, metrics: Sequence[str] = SUMMARY_METRICS,
                   level: float = 0.95) -> pd.DataFrame:
    """One row per metric: mean, interval bounds and the number of replications defined."""
    rows = []
    for metric in metrics:
        values = summary[metric].astype(float)
        mean, low, high = mean_interval(values, level)
        rows.append({"metric": metric, "mean": mean, "ci_low": low, "ci_high": high,
                     "n": int(values.notna().sum())})
    return pd.DataFrame(rows)


def weekly_attacks(daily: pd.DataFrame, column: str = "attacks") -> pd.DataFrame:
    """Attacks in consecutive 7-day weeks from day 1, one row per (replication, week).

    A final partial week (a horizon that is not a whole number of weeks) is left
    out: a short week would read as a drop, and scaled up it would be noise. When
    the horizon is shorter than a week, that one partial week is kept, scaled to
    a 7-day rate.

    Returns:
        Columns ``replication``, ``week`` (1-based), ``date`` (the week's first
        day) and ``value`` (attacks per 7 days).

    """
    frame = daily[["replication", "day", "date", column]].copy()
    frame["week"] = (frame["day"] - 1) // 7 + 1
    grouped = frame.groupby(["replication", "week"], sort=True)
    out = grouped.agg(date=("date", "min"), total=(column, "sum"), days=("day", "size"))
    out["value"] = out["total"] / out["days"] * 7
    out = out.reset_index()
    if (out["days"] == 7).any():
        out = out[out["days"] == 7]
    return out[["replication", "week", "date", "value"]].reset_index(drop=True)


def bands(frame: pd.DataFrame, by: str, value: str = "value",
          quantiles: tuple[float, float] = (0.05, 0.95)) -> pd.DataFrame:
    """Median, mean and a quantile band across replications at each value of ``by``.

    Args:
        frame: one row per (replication, ``by``), e.g. a daily table or
            :func:`weekly_attacks`.
        by: the time column (``day`` or ``week``); a ``date`` column is carried along.
        value: the column summarised.
        quantiles: lower and upper quantile of the band (default a 90% band).

    Returns:
        Columns ``by``, ``date``, ``low``, ``median``, ``mean``, ``high``, one row per time.

    """
    grouped = frame.groupby(by, sort=True)[value]
    out = pd.DataFrame({
        "low": grouped.quantile(quantiles[0]),
        "median": grouped.median(),
        "mean": grouped.mean(),
        "high": grouped.quantile(quantiles[1]),
    })
    if "date" in frame.columns:
        out.insert(0, "date", frame.groupby(by, sort=True)["date"].first())
    return out.reset_index()
