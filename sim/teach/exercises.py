"""Classroom exercises: the computations behind each answer key in docs/exercises/.

Each exercise runs shipped scenarios (with overrides) under fixed seeds and
returns a flat dict of answers: numbers (rounded) and named claims (booleans the
key's prose relies on). ``sim exercise N`` prints them and ``--write`` puts them
into the key file between ``<!-- answers:begin -->`` and ``<!-- answers:end -->``;
tests/test_exercises.py recomputes them with the same seeds and checks both.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.experiment import runner
from sim.experiment.files import write_text_atomic
from sim.experiment.results import RunResult
from sim.scenario.load import load, override

DOCS = Path(__file__).resolve().parents[2] / "docs" / "exercises"
SEED = 20231017
"""Root seed of every exercise (common random numbers across scenarios)."""
BEGIN, END = "<!-- answers:begin -->", "<!-- answers:end -->"


@dataclass(frozen=True)
class Settings:
    """How many replications and days an exercise uses."""

    reps: int
    days: int


FULL = Settings(reps=20, days=120)
QUICK = Settings(reps=4, days=40)


@dataclass(frozen=True)
class Exercise:
    """One exercise: its key file and the function computing its answers."""

    number: int
    slug: str
    title: str
    compute_fn: Callable[[Settings, int], dict[str, Any]]
    claims: tuple[str, ...]

    def key_path(self) -> Path:
        """The exercise's markdown file."""
        return DOCS / f"{self.number:02d}-{self.slug}.md"

    def compute(self, quick: bool = False, workers: int = 1) -> dict[str, Any]:
        """Answers under the key's settings (or the quick test settings)."""
        settings = QUICK if quick else FULL
        answers = self.compute_fn(settings, workers)
        return {"reps": settings.reps, "days": settings.days, "seed": SEED, **answers}


def _run(name: str, settings: Settings, workers: int, **changes: Any) -> RunResult:
    spec = load(name)
    if changes:
        spec = override(spec, changes)
    return runner.run(spec, replications=settings.reps, seed=SEED, days=settings.days,
                      workers=workers)


def _mean(result: RunResult, metric: str) -> float:
    return round(float(result.summary[metric].astype(float).mean()), 3)


def _daily_mean(result: RunResult, column: str, first: int, last: int) -> float:
    daily = result.daily
    window = daily[(daily["day"] >= first) & (daily["day"] <= last)]
    return round(float(window[column].mean()), 3)


# ------------------------------------------------------------------- exercises


def reading_the_baseline(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 1: what the baseline produces, set against the record."""
    r = _run("baseline", s, workers)
    daily = r.daily
    first28 = min(28, s.days)
    return {
        "attacks_day28": _mean(r, "attacks_day28"),
        "injuries_day28": _mean(r, "injuries_day28"),
        "share_reps_no_death_day28": round(float((r.summary["deaths_day28"] == 0).mean()), 3),
        "share_days_with_attack": round(float((daily["attacks"] > 0).mean()), 3),
        "share_attacks_syria": round(float(daily["attacks_syria"].sum()
                                           / max(1, daily["attacks"].sum())), 3),
        "max_injuries_one_rep_day28": int(r.summary["injuries_day28"].max()),
        "claim_attacks_most_days": bool((daily[daily["day"] <= first28]["attacks"] > 0).mean()
                                        > 0.5),
        "claim_injuries_order_of_56": bool(17 <= _mean(r, "injuries_day28") <= 170),
        "claim_deaths_rare": bool((r.summary["deaths_day28"] == 0).mean() >= 0.5),
    }


PRESSURES = tuple(round(x, 1) for x in np.linspace(0.0, 1.0, 11))


def pressure_dilemma(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 2: sweep pressure; the highest level with confrontation in <= 10% of runs."""
    out: dict[str, Any] = {}
    safe = None
    for p in map(float, PRESSURES):
        r = _run("baseline", s, workers, **{"levers.government.pressure": p})
        share = round(float(r.summary["open_confrontation"].mean()), 3)
        out[f"attacks_p{p:.1f}"] = _mean(r, "attacks")
        out[f"confrontation_share_p{p:.1f}"] = share
        out[f"min_stability_p{p:.1f}"] = _mean(r, "min_stability")
        if share <= 0.10:
            safe = p
    out["highest_safe_pressure"] = safe
    out["claim_safe_level_exists"] = safe is not None
    out["claim_safe_pressure_lowers_attacks"] = bool(
        safe is not None and safe > 0 and out[f"attacks_p{safe:.1f}"] < out["attacks_p0.0"])
    out["claim_max_pressure_risks_confrontation"] = bool(out["confrontation_share_p1.0"] > 0.10)
    return out


def appeasement_rebound(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 3: appeasement lowers attacks at first, then they rebound."""
    base = _run("baseline", s, workers)
    app = _run("appeasement_led", s, workers)
    early, late = (1, 14), (max(15, s.days - 27), s.days)
    out = {
        "baseline_attacks_per_day_early": _daily_mean(base, "attacks", *early),
        "appeasement_attacks_per_day_early": _daily_mean(app, "attacks", *early),
        "baseline_attacks_per_day_late": _daily_mean(base, "attacks", *late),
        "appeasement_attacks_per_day_late": _daily_mean(app, "attacks", *late),
        "appeasement_min_attacks_day": int(app.daily.groupby("day")["attacks"].mean().idxmin()),
    }
    ratio_early = out["appeasement_attacks_per_day_early"] / max(
        1e-9, out["baseline_attacks_per_day_early"])
    ratio_late = out["appeasement_attacks_per_day_late"] / max(
        1e-9, out["baseline_attacks_per_day_late"])
    out["ratio_early"], out["ratio_late"] = round(ratio_early, 3), round(ratio_late, 3)
    out["claim_lower_at_first"] = bool(ratio_early < 1.0)
    out["claim_rebounds"] = bool(ratio_late > ratio_early)
    return out


def retaliation_spiral(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 4: none, proportional and escalatory retaliation."""
    out: dict[str, Any] = {}
    for policy in ("none", "proportional", "escalatory"):
        r = _run("baseline", s, workers, **{"levers.coalition.retaliation": policy})
        for metric in ("attacks", "strikes", "min_stability", "final_mean_capability",
                       "final_mean_hostility", "injuries"):
            out[f"{policy}_{metric}"] = _mean(r, metric)
    out["claim_escalatory_strikes_more"] = bool(
        out["escalatory_strikes"] > out["proportional_strikes"])
    out["claim_strikes_cut_capability"] = bool(
        out["escalatory_final_mean_capability"] < out["none_final_mean_capability"])
    out["claim_strikes_cost_stability"] = bool(
        out["escalatory_min_stability"] < out["none_min_stability"])
    out["claim_revenge_raises_hostility"] = bool(
        out["escalatory_final_mean_hostility"] > out["none_final_mean_hostility"])
    return out


ALIGNED = 0.9
"""Factions at least this aligned with the patron form the 'aligned' group."""


def truce_and_restraint(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 5: the Gaza truce and the patron's restraint, by faction and alignment."""
    out: dict[str, Any] = {}
    factions = load("baseline").factions
    aligned = [f.name for f in factions if f.alignment >= ALIGNED]
    others = [f.name for f in factions if f.alignment < ALIGNED]
    runs = {name: _run(name, s, workers)
            for name in ("baseline", "gaza_truce", "patron_restraint")}
    for name, r in runs.items():
        out[f"{name}_attacks"] = _mean(r, "attacks")
        per_rep = r.daily.groupby("replication")
        for faction in factions:
            out[f"{name}_{faction.name}"] = round(float(
                per_rep[f"attacks_{faction.name}"].sum().mean()), 3)
        for group, members in (("aligned", aligned), ("others", others)):
            out[f"{name}_{group}"] = round(sum(out[f"{name}_{m}"] for m in members), 3)
    for group in ("aligned", "others"):
        base = max(1e-9, out[f"baseline_{group}"])
        out[f"restraint_removed_{group}"] = round(base - out[f"patron_restraint_{group}"], 3)
        out[f"restraint_cut_{group}"] = round(1 - out[f"patron_restraint_{group}"] / base, 3)
    out["claim_truce_lowers_attacks"] = bool(out["gaza_truce_attacks"] < out["baseline_attacks"])
    out["claim_restraint_lowers_attacks"] = bool(
        out["patron_restraint_attacks"] < out["baseline_attacks"])
    out["claim_restraint_hits_aligned_most"] = bool(
        out["restraint_cut_aligned"] > out["restraint_cut_others"])
    return out


CANDIDATE_MIXES: tuple[dict[str, float], ...] = (
    {"accommodation": 0.5, "appeasement": 0.5, "persuasion": 1.0, "pressure": 0.4},
    {"accommodation": 0.8, "appeasement": 0.5, "persuasion": 0.6, "pressure": 0.4},
    {"accommodation": 0.5, "appeasement": 0.7, "persuasion": 0.6, "pressure": 0.4},
    {"accommodation": 0.7, "appeasement": 0.5, "persuasion": 0.9, "pressure": 0.35},
    {"accommodation": 0.5, "appeasement": 0.2, "persuasion": 0.9, "pressure": 0.4},
)
"""Mixes the key tries against the balanced mix (students search their own)."""


def beat_the_balanced_mix(s: Settings, workers: int) -> dict[str, Any]:
    """Exercise 6: a mix with fewer attacks than balanced_mix and no less stability."""
    ref = _run("balanced_mix", s, workers)
    out: dict[str, Any] = {"balanced_attacks": _mean(ref, "attacks"),
                           "balanced_min_stability": _mean(ref, "min_stability"),
                           "balanced_confrontation_share": _mean(ref, "open_confrontation")}
    best = None
    for i, mix in enumerate(CANDIDATE_MIXES, start=1):
        r = _run("balanced_mix", s, workers,
                 **{f"levers.government.{k}": v for k, v in mix.items()})
        attacks, stab = _mean(r, "attacks"), _mean(r, "min_stability")
        conf = _mean(r, "open_confrontation")
        out[f"mix{i}_attacks"], out[f"mix{i}_min_stability"] = attacks, stab
        out[f"mix{i}_confrontation_share"] = conf
        beats = (attacks < out["balanced_attacks"] and stab >= out["balanced_min_stability"]
                 and conf <= out["balanced_confrontation_share"])
        if beats and (best is None or attacks < out[f"mix{best}_attacks"]):
            best = i
    out["best_mix"] = best
    out["claim_a_mix_beats_balanced"] = best is not None
    return out


EXERCISES: dict[int, Exercise] = {e.number: e for e in (
    Exercise(1, "reading-the-baseline", "Reading the baseline", reading_the_baseline,
             ("claim_attacks_most_days", "claim_deaths_rare")),
    Exercise(2, "pressure-dilemma", "The pressure dilemma", pressure_dilemma,
             ("claim_safe_level_exists", "claim_max_pressure_risks_confrontation")),
    Exercise(3, "appeasement-rebound", "The appeasement rebound", appeasement_rebound,
             ("claim_lower_at_first", "claim_rebounds")),
    Exercise(4, "retaliation-spiral", "The retaliation spiral", retaliation_spiral,
             ("claim_escalatory_strikes_more", "claim_strikes_cut_capability",
              "claim_strikes_cost_stability")),
    Exercise(5, "truce-and-restraint", "The Gaza truce and the patron's restraint",
             truce_and_restraint, ("claim_truce_lowers_attacks",
                                   "claim_restraint_lowers_attacks",
                                   "claim_restraint_hits_aligned_most")),
    Exercise(6, "beat-the-balanced-mix", "Beat the official's balanced mix",
             beat_the_balanced_mix, ("claim_a_mix_beats_balanced",)),
)}
"""The exercises by number; ``claims`` are those the key's prose states as true."""


# ------------------------------------------------------------- the key block


def format_answers(exercise: Exercise, answers: dict[str, Any]) -> str:
    """A readable listing of the answers."""
    width = max(len(k) for k in answers)
    lines = [f"Exercise {exercise.number}: {exercise.title}"]
    lines += [f"  {k:<{width}}  {v}" for k, v in answers.items()]
    return "\n".join(lines)


def answer_block(answers: dict[str, Any]) -> str:
    """The machine-readable block written into a key file."""
    body = json.dumps(answers, indent=1)
    return (f"{BEGIN}\n<!-- computed by `sim exercise N --write`; "
            "do not edit by hand -->\n```json\n" f"{body}\n```\n{END}")


def read_answers(path: Path) -> dict[str, Any]:
    """The answers stored in a key file."""
    match = re.search(re.escape(BEGIN) + r".*?```json\n(.*?)\n```", path.read_text(), re.S)
    if match is None:
        raise ValueError(f"{path}: no answers block")
    return json.loads(match.group(1))


def write_answers(exercise: Exercise, answers: dict[str, Any]) -> Path:
    """Replace the answers block in the exercise's key file."""
    path = exercise.key_path()
    text = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{path}: no {BEGIN} ... {END} markers")
    write_text_atomic(path, pattern.sub(lambda _: answer_block(answers), text))
    return path


def mismatches(stored: dict[str, Any], fresh: dict[str, Any],
               rel: float = 0.01, abs_tol: float = 0.011) -> list[str]:
    """Keys whose stored and recomputed answers differ (numbers within a tolerance)."""
    bad = []
    for key in sorted(set(stored) | set(fresh)):
        a, b = stored.get(key), fresh.get(key)
        if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            same = a == b
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
            same = math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)
        else:
            same = a == b
        if not same:
            bad.append(f"{key}: key says {a!r}, model now gives {b!r}")
    return bad
