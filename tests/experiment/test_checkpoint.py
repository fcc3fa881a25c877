"""Resumable explorations: a sweep or a sensitivity analysis stopped part way keeps its
finished chunks, and --resume finishes it with exactly the result of an uninterrupted run."""

from __future__ import annotations

import pandas as pd
import pytest

import sim.experiment.design as design
import sim.experiment.sweep as sweep
from sim.cli import main
from sim.experiment.checkpoint import Checkpoint

SENSITIVITY = ["sensitivity", "ranges_iraq_2023", "--method", "morris", "--n", "2", "--reps",
               "3", "--days", "30"]
SWEEP = ["sweep", "baseline", "--vary", "levers.government.pressure=0:1:5", "--reps", "3",
         "--days", "30"]


def failing_after(monkeypatch, module, name: str, calls: int) -> list[int]:
    """Make ``module.name`` raise from its ``calls + 1``-th call on; return the call log."""
    real, log = getattr(module, name), []

    def flaky(*task):
        log.append(task[3] if name == "design_chunk" else task[2])
        if len(log) > calls:
            raise RuntimeError("power cut")
        return real(*task)

    monkeypatch.setattr(module, name, flaky)
    return log


@pytest.mark.parametrize(("words", "module", "fn", "table", "rows"), [
    (SENSITIVITY, design, "design_chunk", "scores.csv", 12),
    (SWEEP, sweep, "sweep_chunk", "summary.csv", 3)])
def test_a_stopped_exploration_resumes_to_the_uninterrupted_result(
        tmp_path, monkeypatch, capsys, words, module, fn, table, rows):
    whole = tmp_path / "whole"
    monkeypatch.setattr(module, "ENSEMBLE_CHUNK", rows)  # several chunks
    assert main([*words, "--out", str(whole)]) == 0

    stopped = tmp_path / "stopped"
    log = failing_after(monkeypatch, module, fn, 2)
    assert main([*words, "--out", str(stopped)]) == 1
    assert "power cut" in capsys.readouterr().err
    partial = tmp_path / "stopped.partial"
    assert not stopped.exists() and len(list((partial / "chunks").glob("*.parquet"))) == 2

    # starting it again is refused with the way to finish it
    assert main([*words, "--out", str(stopped)]) == 2
    assert f"--resume {stopped}" in capsys.readouterr().err
    # options that would change it are refused
    assert main([words[0], "--resume", str(stopped), "--reps", "5"]) == 2
    assert "drop --reps" in capsys.readouterr().err

    finished = log[:2]  # the serial backend runs chunks in order
    monkeypatch.undo()
    monkeypatch.setattr(module, "ENSEMBLE_CHUNK", rows)
    resumed = failing_after(monkeypatch, module, fn, 10**6)
    assert main([words[0], "--resume", str(stopped)]) == 0
    assert resumed and not set(resumed) & set(finished)  # kept chunks did not run again
    assert not partial.exists() and not (stopped / "chunks").exists()
    assert not (stopped / "job.json").exists() and not (stopped / "lock").exists()
    pd.testing.assert_frame_equal(pd.read_csv(stopped / table), pd.read_csv(whole / table))
    # nothing left to resume
    assert main([words[0], "--resume", str(stopped)]) == 2
    assert "it is complete" in capsys.readouterr().err


def test_a_folder_of_another_command_is_not_resumed(tmp_path):
    point = Checkpoint.create(tmp_path / "x", "sweep", {"a": 1})
    point.close()
    with pytest.raises(FileNotFoundError, match="holds a `sim sweep`"):
        Checkpoint.open(tmp_path / "x", "sensitivity")
    assert Checkpoint.open(tmp_path / "x.partial", "sweep").job == {"command": "sweep", "a": 1}


def test_a_running_checkpoint_is_locked_against_a_second_process(tmp_path):
    from sim.experiment.lock import LOCK_NAME

    point = Checkpoint.create(tmp_path / "x", "sweep", {})
    lock = point.partial / LOCK_NAME
    lock.write_text('{"pid": 1, "host": "elsewhere", "started": 0, "command": "sim sweep"}')
    with pytest.raises(FileExistsError, match="being written by process 1 on elsewhere"):
        Checkpoint.create(tmp_path / "x", "sweep", {})
