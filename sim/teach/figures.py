"""Exercise figures of a run folder, as CSV files a student opens in a spreadsheet.

``sim exercise --figures RUN_DIR`` writes ``RUN_DIR/figures.csv`` (one row per
replication and a last row ``all`` pooling every replication) and ``RUN_DIR/daily.csv``
(the daily table as CSV), so no exercise needs pandas or Parquet. The pooled row uses
the same definitions as the instructor keys (sim/teach/keys.py calls
:func:`figures_table` too), so a student who runs the sheet's command gets the key's
numbers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.experiment.results import RunResult, read_run

EARLY_DAYS = 14
"""Days 1 to EARLY_DAYS are the 'early' window (the first two weeks)."""
LATE_DAYS = 28
"""The last LATE_DAYS days of the horizon are the 'late' window (the last four weeks)."""


def _windows(days: int) -> tuple[tuple[int, int], tuple[int, int]]:
    early = (1, min(EARLY_DAYS, days))
    late = (max(EARLY_DAYS + 1, days - LATE_DAYS + 1), days)
    return early, late


def _row(daily: pd.DataFrame, days: int, factions: list[str]) -> dict[str, float]:
    """The figures of some replications' daily rows (pooled when there are several)."""
    (e0, e1), (l0, l1) = _windows(days)
    reps = max(1, daily["replication"].nunique())
    attacks = float(daily["attacks"].sum())
    early = daily[(daily["day"] >= e0) & (daily["day"] <= e1)]
    late = daily[(daily["day"] >= l0) & (daily["day"] <= l1)]
    row = {
        "attacks": attacks / reps,
        "days_with_attack": float((daily["attacks"] > 0).sum()) / reps,
        "share_days_with_attack": float((daily["attacks"] > 0).mean()),
        "attacks_iraq": float(daily["attacks_iraq"].sum()) / reps,
        "attacks_syria": float(daily["attacks_syria"].sum()) / reps,
        "share_attacks_syria": float(daily["attacks_syria"].sum()) / max(1.0, attacks),
        f"attacks_per_day_days_{e0}_{e1}": float(early["attacks"].mean()),
        f"attacks_per_day_days_{l0}_{l1}": float(late["attacks"].mean()),
    }
    for name in factions:
        row[f"attacks_{name}"] = float(daily[f"attacks_{name}"].sum()) / reps
    return row


def figures_table(result: RunResult) -> pd.DataFrame:
    """One row per replication and a last row ``all`` (means over replications; shares pooled).

    Columns: attacks, days with an attack and their share, attacks in Iraq and in
    Syria and Syria's share of attacks, attacks a day in the first 14 days and in the
    last 28 days, and attacks by faction.
    """
    daily = result.daily
    days = int(daily["day"].max())
    factions = [f.name for f in result.scenario.factions]
    rows = [{"replication": str(rep), **_row(group, days, factions)}
            for rep, group in daily.groupby("replication", sort=True)]
    rows.append({"replication": "all", **_row(daily, days, factions)})
    return pd.DataFrame(rows)


def write_figures(run_dir: Path) -> tuple[Path, pd.DataFrame]:
    """Write figures.csv and daily.csv into a run folder; return figures.csv's path and table."""
    result = read_run(run_dir)
    table = figures_table(result)
    path = run_dir / "figures.csv"
    table.round(4).to_csv(path, index=False)
    result.daily.to_csv(run_dir / "daily.csv", index=False)
    return path, table


def shown(table: pd.DataFrame) -> str:
    """The pooled row of a figures table as aligned 'name  value' lines."""
    pooled = table[table["replication"] == "all"].iloc[0].drop("replication")
    width = max(len(str(k)) for k in pooled.index)
    return "\n".join(f"  {k:<{width}}  {float(v):.3f}" for k, v in pooled.items())
