"""Classroom exercises: student sheets in docs/exercises/, generated keys in docs/exercises/keys/.

A student sheet (``docs/exercises/NN-slug.md``) has a learning goal, steps whose
commands run as written from the repository root, and questions; it holds no
answer. The instructor key (``docs/exercises/keys/NN-slug.md``) says what the model
assumes and what it finds, around a block of computed answers between
``<!-- answers:begin -->`` and ``<!-- answers:end -->``. ``sim exercise N`` prints the
sheet; ``sim exercise N --key`` computes the answers (sim/teach/keys.py,
sim/teach/keys_record.py) and ``--key --write`` puts them into the key;
tests/teach/test_exercises.py recomputes them with the same seeds and checks both.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.experiment.files import write_text_atomic
from sim.teach import keys, keys_record
from sim.teach.keys import SEED, Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "exercises"
BEGIN, END = "<!-- answers:begin -->", "<!-- answers:end -->"
FULL = Settings(reps=20, days=120)
QUICK = Settings(reps=4, days=40)
__all__ = ["BEGIN", "END", "EXERCISES", "FULL", "QUICK", "SEED", "Exercise", "Settings"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: its sheet, its key and the function computing the key's answers."""

    number: int
    slug: str
    title: str
    compute_fn: Callable[[Settings, int], dict[str, Any]]
    claims: tuple[str, ...]

    @property
    def file_name(self) -> str:
        """``NN-slug.md``, the name of both the sheet and the key."""
        return f"{self.number:02d}-{self.slug}.md"

    def sheet_path(self) -> Path:
        """The student sheet (no answers)."""
        return DOCS / self.file_name

    def key_path(self) -> Path:
        """The instructor key (prose and the computed answers block)."""
        return DOCS / "keys" / self.file_name

    def compute(self, quick: bool = False, workers: int = 1) -> dict[str, Any]:
        """Answers under the key's settings (or the quick test settings)."""
        settings = QUICK if quick else FULL
        answers = self.compute_fn(settings, workers)
        return {"reps": settings.reps, "days": settings.days, "seed": SEED, **answers}


EXERCISES: dict[int, Exercise] = {e.number: e for e in (
    Exercise(1, "reading-the-baseline", "Reading the baseline", keys.reading_the_baseline,
             ("claim_attacks_most_days", "claim_deaths_rare")),
    Exercise(2, "pressure-dilemma", "The pressure dilemma", keys.pressure_dilemma,
             ("claim_safe_level_exists", "claim_max_pressure_risks_confrontation",
              "claim_safe_level_is_the_formula")),
    Exercise(3, "appeasement-rebound", "The appeasement rebound", keys.appeasement_rebound,
             ("claim_lower_at_first", "claim_rebounds")),
    Exercise(4, "retaliation-spiral", "The retaliation spiral", keys.retaliation_spiral,
             ("claim_escalatory_strikes_more", "claim_strikes_cut_capability",
              "claim_strikes_cost_stability", "claim_retaliation_raises_attacks",
              "claim_revenge_outweighs_deterrence")),
    Exercise(5, "truce-and-restraint", "The Gaza truce and the patron's restraint",
             keys.truce_and_restraint, ("claim_truce_lowers_attacks",
                                        "claim_restraint_lowers_attacks",
                                        "claim_restraint_removes_mostly_aligned")),
    Exercise(6, "beat-the-balanced-mix", "Beat the official's balanced mix",
             keys.beat_the_balanced_mix, ("claim_a_mix_beats_balanced",)),
    Exercise(7, "measuring-the-war", "Measuring the war: the country split and the injury count",
             keys_record.validation_lessons,
             ("claim_test_split_within_10_points", "claim_reported_lags_incurred",
              "claim_no_lag_misses_the_21", "claim_test_injuries_overshoot")),
    Exercise(8, "break-the-ranking", "Break the ranking", keys_record.break_the_ranking,
             ("claim_balanced_loses_in_some_worlds", "claim_balanced_wins_in_most_worlds",
              "claim_broken_world_flips_ranking", "claim_broken_world_fails_the_record")),
)}
"""The exercises by number; ``claims`` are those the key's prose states as true."""


# ------------------------------------------------------------- sheets and keys


def sheet_text(exercise: Exercise) -> str:
    """The student sheet, as ``sim exercise N`` prints it."""
    return exercise.sheet_path().read_text(encoding="utf-8")


def format_answers(exercise: Exercise, answers: dict[str, Any]) -> str:
    """A readable listing of the answers."""
    width = max(len(k) for k in answers)
    lines = [f"Exercise {exercise.number}: {exercise.title} (instructor key)"]
    lines += [f"  {k:<{width}}  {v}" for k, v in answers.items()]
    return "\n".join(lines)


def answer_block(answers: dict[str, Any]) -> str:
    """The machine-readable block written into a key file."""
    body = json.dumps(answers, indent=1)
    return (f"{BEGIN}\n<!-- computed by `sim exercise N --key --write`; "
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
