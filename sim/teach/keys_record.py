"""Answer computations of exercises 7 (validation) and 8 (break the ranking).

Exercise 7 runs the replay in process and compares it with the dated record, as
``sim validate`` does. Exercise 8 runs the student sheet's own commands (Morris
screening, plausible worlds, the comparison across them, one hand-made world and its
validation) in a temporary folder and reads the files they wrote, so the key holds
exactly what a student's commands print.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.record import load_record
from sim.analysis.validate import Validation, validate
from sim.experiment import runner
from sim.scenario.load import load, override
from sim.teach.keys import SEED, Settings
from sim.teach.sheets import run_sheet

REPLAY = "historical_2023_24"
NO_LAG = {"mechanisms.tbi_lag_days": 0.0, "mechanisms.report_refresh": 1.0}
"""The counterfactual of exercise 7: brain injuries diagnosed at once, a count updated daily."""
REVISION = ("2023-10-30", "2023-11-06")
"""The Pentagon's 21 injured (30 Oct) and its revision to about 46 (6 Nov 2023)."""


def _validation(s: Settings, workers: int, **changes: Any) -> Validation:
    spec = load(REPLAY)
    if changes:
        spec = override(spec, changes)
    result = runner.run(spec, replications=max(s.reps, 20), seed=SEED, days=s.days,
                        workers=workers)
    return validate(result, load_record())


def _injury_rows(check: Validation) -> pd.DataFrame:
    table = check.table[check.table["metric"] == "cumulative_injuries"].copy()
    table["date"] = table["date"].astype(str)
    return table.set_index("date")


def _summary(check: Validation, window: str, metric: str, column: str) -> float:
    rows = check.summary[(check.summary["window"] == window) & (check.summary["metric"] == metric)]
    return round(float(rows[column].iloc[0]), 3) if len(rows) else float("nan")


def validation_lessons(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 7: the country split and the brain-injury revisions as measurement."""
    out: dict[str, Any] = {}
    check, no_lag = _validation(s, workers), _validation(s, workers, **NO_LAG)
    splits = check.splits
    for window in ("calibration", "test"):
        part = splits[splits["window"] == window]
        out[f"splits_{window}"] = len(part)
        out[f"split_largest_error_{window}"] = round(float(part["error"].abs().max()), 3) \
            if len(part) else None
    out["split_record_first"] = round(float(splits["record_share"].iloc[0]), 3)
    out["split_record_last"] = round(float(splits["record_share"].iloc[-1]), 3)
    out["split_model_first"] = round(float(splits["model_share"].iloc[0]), 3)
    out["split_model_last"] = round(float(splits["model_share"].iloc[-1]), 3)
    rows, flat = _injury_rows(check), _injury_rows(no_lag)
    for date in REVISION:
        tag = date[5:].replace("-", "")
        out[f"injuries_record_{tag}"] = float(rows.loc[date, "observed"])
        out[f"injuries_reported_median_{tag}"] = float(rows.loc[date, "model_median"])
        out[f"injuries_incurred_median_{tag}"] = float(rows.loc[date, "incurred_median"])
        out[f"no_lag_reported_median_{tag}"] = float(flat.loc[date, "model_median"])
    for window in ("calibration", "test"):
        for name, result in (("model", check), ("no_lag", no_lag)):
            out[f"{name}_injury_coverage_{window}"] = _summary(
                result, window, "cumulative_injuries", "model_coverage")
            out[f"{name}_injury_error_{window}"] = _summary(
                result, window, "cumulative_injuries", "model_mean_abs_rel_error")
    a = REVISION[0][5:].replace("-", "")
    out["claim_test_split_within_10_points"] = bool(
        out["split_largest_error_test"] is not None and out["split_largest_error_test"] <= 0.10)
    out["claim_reported_lags_incurred"] = bool(
        out[f"injuries_reported_median_{a}"] < out[f"injuries_incurred_median_{a}"])
    out["claim_no_lag_misses_the_21"] = bool(
        abs(out[f"no_lag_reported_median_{a}"] - out[f"injuries_record_{a}"])
        > abs(out[f"injuries_reported_median_{a}"] - out[f"injuries_record_{a}"]))
    out["claim_test_injuries_overshoot"] = bool(out["model_injury_error_test"] > 0.5)
    return out


SHEET8 = Path(__file__).resolve().parents[2] / "docs" / "exercises" / "08-break-the-ranking.md"


def _calibration(folder: Path, metric: str, column: str) -> float:
    """A calibration-window cell of a `sim validate` folder's summary (metadata.json)."""
    rows = pd.DataFrame(json.loads((folder / "metadata.json").read_text())["summary"])
    row = rows[(rows["window"] == "calibration") & (rows["metric"] == metric)]
    return round(float(row[column].iloc[0]), 3)


def read_ranking(results: Path) -> dict[str, Any]:
    """Exercise 8's answers from the folders its sheet's commands wrote under ``results``."""
    out: dict[str, Any] = {}
    indices = pd.read_csv(results / "ex8-morris" / "indices.csv")
    star = indices[(indices["outcome"] == "attacks") & (indices["index"] == "mu_star")]
    star = star[star["n"] == star["n"].max()].sort_values("value", ascending=False)
    out["morris_top_group"] = str(star["factor"].iloc[0])
    out["morris_second_group"] = str(star["factor"].iloc[1])
    out["morris_top_ratio"] = round(float(star["value"].iloc[0] / star["value"].iloc[1]), 2)
    waves = pd.read_csv(results / "ex8-worlds" / "waves.csv")
    out["worlds_tried"], out["worlds_kept"] = int(waves["tried"].iloc[-1]), int(
        waves["kept"].iloc[-1])
    across = results / "ex8-across"
    robust = pd.read_csv(across / "robustness.csv")
    row = robust[(robust["scenario"] == "balanced_mix") & (robust["outcome"] == "attacks")]
    row = row.iloc[0]
    out["worlds_compared"] = int(pd.read_parquet(across / "effects.parquet",
                                                 columns=["world"])["world"].nunique())
    out["balanced_share_of_worlds_better"] = round(float(row["share_better"]), 3)
    out["balanced_median_effect"] = round(float(row["median_effect"]), 2)
    out["balanced_effect_q05"] = round(float(row["q05"]), 1)
    out["balanced_effect_q95"] = round(float(row["q95"]), 1)
    out["balanced_status"] = str(row["status"])
    table = pd.read_csv(results / "ex8-broken" / "comparison.csv")
    attacks = table[table["metric"] == "attacks"].set_index("scenario")["mean"]
    out["broken_baseline_attacks"] = round(float(attacks["baseline"]), 3)
    out["broken_balanced_attacks"] = round(float(attacks["balanced_mix"]), 3)
    for name, folder in (("calibrated", "ex8-calibrated"), ("broken", "ex8-check")):
        out[f"{name}_attack_error_calibration"] = _calibration(
            results / folder, "cumulative_attacks", "model_mean_abs_rel_error")
        out[f"{name}_attack_coverage_calibration"] = _calibration(
            results / folder, "cumulative_attacks", "model_coverage")
    out["claim_balanced_loses_in_some_worlds"] = bool(out["balanced_share_of_worlds_better"] < 1)
    out["claim_balanced_wins_in_most_worlds"] = bool(out["balanced_share_of_worlds_better"] > 0.5)
    out["claim_broken_world_flips_ranking"] = bool(
        out["broken_balanced_attacks"] > out["broken_baseline_attacks"])
    out["claim_broken_world_fails_the_record"] = bool(
        out["broken_attack_error_calibration"] > 2 * out["calibrated_attack_error_calibration"])
    return out


def break_the_ranking(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 8: whether the balanced mix does worse than the baseline in a plausible world.

    Runs the sheet's own commands in a temporary folder and reads what they wrote, so
    the key is what a student gets. The sheet fixes its sizes (about a minute on two
    cores): ``s`` and ``workers`` do not shorten it.
    """
    del s, workers
    with tempfile.TemporaryDirectory(prefix="exercise8-") as tmp:
        folder = Path(tmp)
        (folder / "results").mkdir()
        run_sheet(SHEET8, folder)
        return read_ranking(folder / "results")
