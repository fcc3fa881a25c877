"""Per-replication outcomes (the M of XLRM): totals, rates, peaks, de-escalation, stability.

Pure functions of one replication's daily columns; they run wherever the
replication ran (a worker), so only one summary row travels back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.scenario.schema import Mechanisms

SUMMARY_METRICS = (
    "attacks", "weekly_attack_rate", "peak_week_attacks", "attacks_day28", "syria_share",
    "injuries", "injuries_day28", "injuries_reported", "deaths", "deaths_day28", "intercepted",
    "foiled", "strikes", "clashes",
    "min_stability", "final_stability", "open_confrontation", "confrontation_days",
    "days_to_deescalation", "final_mean_capability", "final_mean_hostility",
)
"""Outcome columns of summary.csv, in order."""


def days_to_deescalation(attacks: np.ndarray, calm_attacks: int, calm_days: int) -> float:
    """First day from which the trailing 7-day attack count stays at or below ``calm_attacks``
    for ``calm_days`` consecutive days; NaN when that never happens within the horizon.

    Days up to and including the first attack never count as calm.
    """
    if attacks.sum() == 0:
        return float("nan")
    weekly = np.convolve(attacks, np.ones(7, dtype=int))[: len(attacks)]
    first_attack = int(np.argmax(attacks > 0))
    calm = (weekly <= calm_attacks) & (np.arange(len(attacks)) > first_attack)
    run = 0
    for i, is_calm in enumerate(calm):
        run = run + 1 if is_calm else 0
        if run == calm_days:
            return float(i - calm_days + 2)  # 1-based day the calm run began
    return float("nan")


def summarise(daily: dict[str, np.ndarray], mechanisms: Mechanisms) -> dict[str, Any]:
    """Summary outcomes of one replication from its daily columns (numpy arrays by name)."""
    attacks = daily["attacks"]
    first28 = daily["day"] <= 28
    weekly = np.convolve(attacks, np.ones(7, dtype=int))[: len(attacks)]
    injuries, deaths = daily["injuries"], daily["deaths"]
    stability, confrontation = daily["stability"], daily["open_confrontation"]
    return {
        "attacks": int(attacks.sum()),
        "weekly_attack_rate": float(attacks.sum() / len(attacks) * 7),
        "peak_week_attacks": int(weekly.max()),
        "attacks_day28": int(attacks[first28].sum()),
        "syria_share": (float(daily["attacks_syria"].sum() / attacks.sum()) if attacks.sum()
                        else float("nan")),
        "injuries": int(injuries.sum()),
        "injuries_day28": int(injuries[first28].sum()),
        "injuries_reported": int(daily["injuries_reported"].sum()),
        "deaths": int(deaths.sum()),
        "deaths_day28": int(deaths[first28].sum()),
        "intercepted": int(daily["intercepted"].sum()),
        "foiled": int(daily["foiled"].sum()),
        "strikes": int(daily["strikes"].sum()),
        "clashes": int(daily["clashes"].sum()),
        "min_stability": float(stability.min()),
        "final_stability": float(stability[-1]),
        "open_confrontation": bool(confrontation.any()),
        "confrontation_days": int(confrontation.sum()),
        "days_to_deescalation": days_to_deescalation(
            attacks, mechanisms.deescalation_attacks, mechanisms.deescalation_days),
        "final_mean_capability": float(daily["mean_capability"][-1]),
        "final_mean_hostility": float(daily["mean_hostility"][-1]),
    }
