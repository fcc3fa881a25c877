"""Exercises: sheets without answers, keys that still hold, every sheet command runs.

Keys: recompute each with the key's seeds and compare (about a minute for exercises
1-7, about a minute more for exercise 8, which runs its sheet's commands). Sheets: run
every command of every sheet as written, from a folder laid out like a fresh clone
(the repository's files, an empty results/), after writing the sheet's scenario copies
there. When the model's coefficients change on purpose, refresh the keys with
`sim exercise all --key --write` and re-read the prose of each key.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenario.load import load, shipped_scenarios
from sim.teach import exercises, keys, keys_record
from sim.teach.sheets import blocks, prose, run_sheet

REPO = Path(__file__).resolve().parents[2]


def test_eight_exercises_each_a_sheet_without_answers_and_a_key():
    assert sorted(exercises.EXERCISES) == list(range(1, 9))
    for exercise in exercises.EXERCISES.values():
        sheet = exercise.sheet_path().read_text()
        for part in ("**Learning goal.**", "**How to run.**", "**Steps.**", "**Questions.**"):
            assert part in sheet, f"{exercise.file_name} lacks {part}"
        for leak in (exercises.BEGIN, exercises.END, "```json", "Instructor key", "## Key",
                     "Answer", "claim_", "--key"):
            assert leak not in sheet, f"sheet {exercise.file_name} holds {leak!r}"
        key = exercise.key_path().read_text()
        assert exercises.BEGIN in key and exercises.END in key
        assert "assumes" in key and "finds" in key, f"key {exercise.file_name}"
        stored = exercises.read_answers(exercise.key_path())
        for claim in exercise.claims:
            assert claim in stored, f"{exercise.key_path().name}: no {claim}"


def _shown(value: float | int) -> set[str]:
    """How a key's number could appear in a sheet's prose."""
    forms = {str(value), f"{value:.2f}", f"{value:.1f}"} if isinstance(value, float) else {
        str(value)}
    return {f for f in forms if len(f.replace(".", "").strip("0")) >= 2}  # not 0.6, 1.0


@pytest.mark.parametrize("number", sorted(exercises.EXERCISES))
def test_sheet_prose_holds_none_of_the_keys_numbers(number):
    exercise = exercises.EXERCISES[number]
    sheet = exercise.sheet_path().read_text()
    commands = "\n".join(body for _, body in blocks(sheet))
    text = prose(sheet)
    stored = exercises.read_answers(exercise.key_path())
    for name, value in stored.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if name in ("reps", "days", "seed") or (isinstance(value, int) and value < 10):
            continue
        for form in _shown(value):
            if re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", commands):
                continue  # an input the sheet gives (--max-worlds 50), not an answer
            assert not re.search(rf"(?<![\d.,]){re.escape(form)}(?![\d])", text), (
                f"sheet {exercise.file_name} shows {form} ({name} in the key)")


def _run_sim(*words: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(words))
    return code, out.getvalue()


def test_sim_exercise_prints_the_sheet_not_the_key():
    code, listing = _run_sim("exercise")
    assert code == 0 and "08-break-the-ranking.md" in listing
    code, text = _run_sim("exercise", "3")
    assert code == 0
    assert text.strip() == exercises.EXERCISES[3].sheet_path().read_text().strip()
    assert exercises.BEGIN not in text and "ratio_early" not in text
    code, helptext = _run_sim("exercise", "--help")
    assert "--figures" in helptext and "--key" not in helptext and "--write" not in helptext
    assert _run_sim("exercise", "3", "--write")[0] != 0  # --write needs --key
    assert _run_sim("exercise", "9")[0] != 0


def test_candidate_mixes_are_readable_files_not_shipped_policies():
    paths = keys.mix_files()
    assert [p.name for p in paths] == [f"mix{i}.toml" for i in range(1, 6)]
    shipped = {p.stem for p in shipped_scenarios()}
    balanced = load("balanced_mix").levers.government
    for path in paths:
        assert path.stem not in shipped
        assert 'extends = "balanced_mix"' in path.read_text()
        assert load(path).levers.government != balanced
    stored = exercises.read_answers(exercises.EXERCISES[6].key_path())
    assert stored["best_mix"] in {p.stem for p in paths}
    assert f"{stored['best_mix']}.toml" in exercises.EXERCISES[6].key_path().read_text()


@pytest.mark.slow
@pytest.mark.parametrize("number", sorted(set(exercises.EXERCISES) - {8}))
def test_key_answers_still_hold(number):
    # Exercise 8's key is what its sheet's commands write: checked with the sheet below.
    exercise = exercises.EXERCISES[number]
    stored = exercises.read_answers(exercise.key_path())
    fresh = exercise.compute(workers=2)
    for claim in exercise.claims:
        assert fresh[claim] is True, (
            f"exercise {number}: the key's teaching point {claim} no longer holds")
    bad = exercises.mismatches(stored, fresh)
    assert not bad, (f"exercise {number}: key is stale; run `sim exercise {number} --key "
                     "--write` and re-read its prose:\n" + "\n".join(bad))


def fresh_clone(folder: Path) -> Path:
    """A folder laid out like a fresh clone: the repository's entries, an empty results/."""
    for entry in REPO.iterdir():
        if not entry.name.startswith(".") and entry.name != "results":
            (folder / entry.name).symlink_to(entry)
    (folder / "results").mkdir()
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("number", sorted(exercises.EXERCISES))
def test_every_sheet_command_runs_as_written_from_a_fresh_clone(number, tmp_path):
    exercise = exercises.EXERCISES[number]
    folder = fresh_clone(tmp_path)
    ran = run_sheet(exercise.sheet_path(), folder)
    assert ran, f"{exercise.file_name} has no command"
    stored = exercises.read_answers(exercise.key_path())
    if number == 8:  # the key is read from the sheet's outputs: regenerate and compare
        fresh = {"reps": 20, "days": 120, "seed": exercises.SEED,
                 **keys_record.read_ranking(folder / "results")}
        for claim in exercise.claims:
            assert fresh[claim] is True, f"exercise 8: {claim} no longer holds"
        bad = exercises.mismatches(stored, fresh)
        assert not bad, ("exercise 8: key is stale; run `sim exercise 8 --key --write`:\n"
                         + "\n".join(bad))
    if number == 1:  # the student's figures.csv gives the key's figures
        pooled = pd.read_csv(folder / "results/ex1/figures.csv").set_index("replication")
        for column in ("share_days_with_attack", "share_attacks_syria"):
            assert pooled.loc["all", column] == pytest.approx(stored[column], abs=0.001)
    if number == 3:
        early = pd.read_csv(folder / "results/ex3-appeasement/figures.csv").iloc[-1]
        assert early["attacks_per_day_days_1_14"] == pytest.approx(
            stored["appeasement_attacks_per_day_early"], abs=0.001)


def test_quick_mode_runs_and_block_round_trips(tmp_path, monkeypatch):
    exercise = exercises.EXERCISES[1]
    answers = exercise.compute(quick=True)
    assert answers["reps"] == exercises.QUICK.reps
    (tmp_path / "keys").mkdir()
    key = tmp_path / "keys" / exercise.file_name
    key.write_text(f"# x\n\n{exercises.BEGIN}\n{exercises.END}\n")
    monkeypatch.setattr(exercises, "DOCS", tmp_path)
    exercises.write_answers(exercise, answers)
    assert exercises.read_answers(key) == answers
    assert exercises.mismatches(answers, answers) == []
    changed = {**answers, "attacks_day28": answers["attacks_day28"] + 5}
    assert exercises.mismatches(answers, changed)
