"""Answer computations of exercises 1 to 6: model runs under the keys' fixed seeds.

Each function takes the settings (replications, days) and a worker count and returns
a flat dict of answers: numbers (rounded) and named claims (booleans the key's prose
relies on). Where a key's point is algebra of the model's own coefficients (the
pressure at which a faction starts to clash, the logit weight of one strike's revenge)
the function computes it from the loaded scenario, so the key shows the formula's
value rather than presenting it as an empirical finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.experiment import runner
from sim.experiment.results import RunResult
from sim.scenario.load import load, override
from sim.teach.figures import figures_table

SEED = 20231017
"""Root seed of every exercise (common random numbers across scenarios)."""
MIXES = Path(__file__).resolve().parents[2] / "scenarios" / "exercises"
"""The candidate mixes of exercise 6 (files students read; not shipped policy scenarios)."""


@dataclass(frozen=True)
class Settings:
    """How many replications and days an exercise uses."""

    reps: int
    days: int


def run(name: str | Path, s: Settings, workers: int, **changes: Any) -> RunResult:
    """A scenario (shipped name or file) run under the exercise seed, with overrides."""
    spec = load(name)
    if changes:
        spec = override(spec, changes)
    return runner.run(spec, replications=s.reps, seed=SEED, days=s.days, workers=workers)


def mean(result: RunResult, metric: str) -> float:
    """Mean of a summary metric over replications, to 3 decimals."""
    return round(float(result.summary[metric].astype(float).mean()), 3)


def pooled(result: RunResult) -> dict[str, float]:
    """The ``all`` row of the run's figures table (what `sim exercise --figures` prints)."""
    table = figures_table(result)
    row = table[table["replication"] == "all"].iloc[0].drop("replication")
    return {k: float(v) for k, v in row.items()}


def reading_the_baseline(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 1: what the baseline produces, set against the record."""
    r = run("baseline", s, workers)
    fig = pooled(r)
    first28 = r.daily[r.daily["day"] <= min(28, s.days)]
    return {
        "attacks_day28": mean(r, "attacks_day28"),
        "injuries_day28": mean(r, "injuries_day28"),
        "share_reps_no_death_day28": round(float((r.summary["deaths_day28"] == 0).mean()), 3),
        "share_days_with_attack": round(fig["share_days_with_attack"], 3),
        "share_attacks_syria": round(fig["share_attacks_syria"], 3),
        "max_injuries_one_rep_day28": int(r.summary["injuries_day28"].max()),
        "min_injuries_one_rep_day28": int(r.summary["injuries_day28"].min()),
        "claim_attacks_most_days": bool((first28["attacks"] > 0).mean() > 0.5),
        "claim_injuries_order_of_56": bool(17 <= mean(r, "injuries_day28") <= 170),
        "claim_deaths_rare": bool((r.summary["deaths_day28"] == 0).mean() >= 0.5),
    }


PRESSURES = tuple(round(x, 1) for x in np.linspace(0.0, 1.0, 11))


def clash_thresholds(name: str = "baseline") -> dict[str, float]:
    """Pressure above which each faction's steady tension passes its tolerance.

    Tension settles at t* = tension_rate x Pr x (1 - stake/2) / tension_decay, and
    clashes start only above tolerance, so Pr* = tolerance x tension_decay /
    (tension_rate x (1 - stake/2)) (contagion from other factions' clashes left out).
    """
    spec = load(name)
    m = spec.mechanisms
    return {f.name: round(f.tolerance * m.tension_decay / (m.tension_rate * (1 - f.stake / 2)), 3)
            for f in spec.factions}


def pressure_dilemma(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 2: sweep pressure; the highest level with confrontation in <= 10% of runs."""
    out: dict[str, Any] = {}
    safe = None
    for p in map(float, PRESSURES):
        r = run("baseline", s, workers, **{"levers.government.pressure": p})
        share = round(float(r.summary["open_confrontation"].mean()), 3)
        out[f"attacks_p{p:.1f}"] = mean(r, "attacks")
        out[f"confrontation_share_p{p:.1f}"] = share
        out[f"min_stability_p{p:.1f}"] = mean(r, "min_stability")
        out[f"syria_share_p{p:.1f}"] = mean(r, "syria_share")
        if share <= 0.10:
            safe = p
    out["highest_safe_pressure"] = safe
    thresholds = clash_thresholds()
    for faction, value in thresholds.items():
        out[f"clash_threshold_{faction}"] = value
    second = sorted(thresholds.values())[load("baseline").mechanisms.confrontation_factions - 1]
    out["confrontation_threshold_formula"] = second
    out["pressure_safe_assumed"] = load("baseline").mechanisms.pressure_safe
    out["claim_safe_level_exists"] = safe is not None
    out["claim_safe_pressure_lowers_attacks"] = bool(
        safe is not None and safe > 0 and out[f"attacks_p{safe:.1f}"] < out["attacks_p0.0"])
    out["claim_max_pressure_risks_confrontation"] = bool(out["confrontation_share_p1.0"] > 0.10)
    out["claim_safe_level_is_the_formula"] = bool(
        safe is not None and safe <= second < safe + 0.1 + 1e-9)
    return out


def appeasement_rebound(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 3: appeasement lowers attacks at first, then they rebound."""
    base = pooled(run("baseline", s, workers))
    app_run = run("appeasement_led", s, workers)
    app = pooled(app_run)
    early, late = (k for k in base if k.startswith("attacks_per_day_days_"))
    out = {
        "baseline_attacks_per_day_early": round(base[early], 3),
        "appeasement_attacks_per_day_early": round(app[early], 3),
        "baseline_attacks_per_day_late": round(base[late], 3),
        "appeasement_attacks_per_day_late": round(app[late], 3),
        "appeasement_min_attacks_day": int(
            app_run.daily.groupby("day")["attacks"].mean().idxmin()),
    }
    ratio_early = out["appeasement_attacks_per_day_early"] / max(
        1e-9, out["baseline_attacks_per_day_early"])
    ratio_late = out["appeasement_attacks_per_day_late"] / max(
        1e-9, out["baseline_attacks_per_day_late"])
    out["ratio_early"], out["ratio_late"] = round(ratio_early, 3), round(ratio_late, 3)
    out["claim_lower_at_first"] = bool(ratio_early < 1.0)
    out["claim_rebounds"] = bool(ratio_late > ratio_early)
    return out


def strike_logits(name: str = "baseline") -> dict[str, float]:
    """What one strike does to the struck faction's attack logit, by the model's coefficients.

    Revenge adds ``revenge x f`` to hostility (``w_hostility`` logits each, before the
    cap at 1); deterrence adds ``2 x strike_deterrence`` (``w_deterrence`` logits of
    restraint); damage removes ``strike_damage x f`` of capability (a factor on p).
    """
    m = load(name).mechanisms
    out = {}
    for policy, f in (("proportional", 1.0), ("escalatory", m.escalatory_factor)):
        out[f"{policy}_revenge_logit"] = round(m.w_hostility * m.revenge * f, 3)
        out[f"{policy}_deterrence_logit"] = round(m.w_deterrence * 2 * m.strike_deterrence, 3)
        out[f"{policy}_capability_kept"] = round(1 - min(1.0, m.strike_damage * f), 3)
    return out


def retaliation_spiral(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 4: none, proportional and escalatory retaliation."""
    out: dict[str, Any] = {}
    for policy in ("none", "proportional", "escalatory"):
        r = run("baseline", s, workers, **{"levers.coalition.retaliation": policy})
        for metric in ("attacks", "strikes", "min_stability", "final_mean_capability",
                       "final_mean_hostility", "injuries"):
            out[f"{policy}_{metric}"] = mean(r, metric)
    out.update(strike_logits())
    out["claim_escalatory_strikes_more"] = bool(
        out["escalatory_strikes"] > out["proportional_strikes"])
    out["claim_strikes_cut_capability"] = bool(
        out["escalatory_final_mean_capability"] < out["none_final_mean_capability"])
    out["claim_strikes_cost_stability"] = bool(
        out["escalatory_min_stability"] < out["none_min_stability"])
    out["claim_revenge_raises_hostility"] = bool(
        out["escalatory_final_mean_hostility"] > out["none_final_mean_hostility"])
    out["claim_retaliation_raises_attacks"] = bool(
        min(out["proportional_attacks"], out["escalatory_attacks"]) > out["none_attacks"])
    out["claim_revenge_outweighs_deterrence"] = bool(
        out["proportional_revenge_logit"] > out["proportional_deterrence_logit"])
    return out


ALIGNED = 0.9
"""Factions at least this aligned with the patron form the 'aligned' group."""


def truce_and_restraint(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 5: the Gaza truce and the patron's restraint, by faction and alignment."""
    out: dict[str, Any] = {}
    factions = load("baseline").factions
    groups = {"aligned": [f.name for f in factions if f.alignment >= ALIGNED],
              "others": [f.name for f in factions if f.alignment < ALIGNED]}
    for name in ("baseline", "gaza_truce", "patron_restraint"):
        r = run(name, s, workers)
        fig = pooled(r)
        out[f"{name}_attacks"] = mean(r, "attacks")
        for faction in factions:
            out[f"{name}_{faction.name}"] = round(fig[f"attacks_{faction.name}"], 3)
        for group, members in groups.items():
            out[f"{name}_{group}"] = round(sum(out[f"{name}_{m}"] for m in members), 3)
    for group in groups:
        base = max(1e-9, out[f"baseline_{group}"])
        out[f"restraint_removed_{group}"] = round(base - out[f"patron_restraint_{group}"], 3)
        out[f"restraint_cut_{group}"] = round(1 - out[f"patron_restraint_{group}"] / base, 3)
    out["claim_truce_lowers_attacks"] = bool(out["gaza_truce_attacks"] < out["baseline_attacks"])
    out["claim_restraint_lowers_attacks"] = bool(
        out["patron_restraint_attacks"] < out["baseline_attacks"])
    out["claim_restraint_removes_mostly_aligned"] = bool(
        out["restraint_removed_aligned"] > 5 * out["restraint_removed_others"])
    return out


def mix_files() -> list[Path]:
    """The candidate mixes of exercise 6, mix1.toml, mix2.toml, ... in order."""
    return sorted(MIXES.glob("mix*.toml"))


def beat_the_balanced_mix(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 6: a mix with fewer attacks than balanced_mix and no less stability."""
    ref = run("balanced_mix", s, workers)
    out: dict[str, Any] = {"balanced_attacks": mean(ref, "attacks"),
                           "balanced_min_stability": mean(ref, "min_stability"),
                           "balanced_confrontation_share": mean(ref, "open_confrontation")}
    best = None
    for path in mix_files():
        r, name = run(path, s, workers), path.stem
        attacks, stab = mean(r, "attacks"), mean(r, "min_stability")
        conf = mean(r, "open_confrontation")
        out[f"{name}_attacks"], out[f"{name}_min_stability"] = attacks, stab
        out[f"{name}_confrontation_share"] = conf
        beats = (attacks < out["balanced_attacks"] and stab >= out["balanced_min_stability"]
                 and conf <= out["balanced_confrontation_share"])
        if beats and (best is None or attacks < out[f"{best}_attacks"]):
            best = name
    out["best_mix"] = best
    out["claim_a_mix_beats_balanced"] = best is not None
    return out
