"""Each exercise's key still holds: recompute with the key's seeds and compare.

The whole set runs in about 20 s on two cores (20 replications x 120 days per
scenario). When the model's coefficients change on purpose, refresh the keys with
`sim exercise N --write` and re-read the prose of the key.
"""

from __future__ import annotations

import pytest

from sim.teach import exercises


def test_six_exercises_each_with_goal_steps_questions_key():
    assert len(exercises.EXERCISES) >= 6
    for exercise in exercises.EXERCISES.values():
        text = exercise.key_path().read_text()
        for part in ("**Learning goal.**", "**Steps.**", "**Questions.**", "## Instructor key",
                     exercises.BEGIN, exercises.END):
            assert part in text, f"{exercise.key_path().name} lacks {part}"
        stored = exercises.read_answers(exercise.key_path())
        for claim in exercise.claims:
            assert claim in stored, f"{exercise.key_path().name}: no {claim}"


@pytest.mark.slow
@pytest.mark.parametrize("number", sorted(exercises.EXERCISES))
def test_key_answers_still_hold(number):
    exercise = exercises.EXERCISES[number]
    stored = exercises.read_answers(exercise.key_path())
    fresh = exercise.compute(workers=2)
    for claim in exercise.claims:
        assert fresh[claim] is True, (
            f"exercise {number}: the key's teaching point {claim} no longer holds")
    bad = exercises.mismatches(stored, fresh)
    assert not bad, (f"exercise {number}: key is stale; run `sim exercise {number} --write` "
                     "and re-read its prose:\n" + "\n".join(bad))


def test_quick_mode_runs_and_block_round_trips(tmp_path, monkeypatch):
    exercise = exercises.EXERCISES[1]
    answers = exercise.compute(quick=True)
    assert answers["reps"] == exercises.QUICK.reps
    key = tmp_path / "01-reading-the-baseline.md"
    key.write_text(f"# x\n\n{exercises.BEGIN}\n{exercises.END}\n")
    monkeypatch.setattr(exercises, "DOCS", tmp_path)
    exercises.write_answers(exercise, answers)
    assert exercises.read_answers(key) == answers
    assert exercises.mismatches(answers, answers) == []
    changed = {**answers, "attacks_day28": answers["attacks_day28"] + 5}
    assert exercises.mismatches(answers, changed)
