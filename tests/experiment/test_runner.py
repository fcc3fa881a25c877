"""The runner: streamed run folders, failures recorded, interrupted runs resumed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import ClassVar

import pytest
from helpers import assert_same_tables
from pandas.testing import assert_frame_equal

from sim.cli import main
from sim.experiment import runner
from sim.experiment.plan import Entry, make_plan, replication_seeds
from sim.experiment.results import read_run
from sim.experiment.store import PARTIAL, RunStore
from sim.model import model as model_module

DAYS = 30
REPS = 12


@pytest.fixture(scope="module")
def serial(baseline):
    return runner.run(baseline, replications=REPS, days=DAYS, seed=5)


def test_streamed_folder_matches_in_memory(baseline, serial, tmp_path):
    out = tmp_path / "run"
    streamed = runner.run(baseline, replications=REPS, days=DAYS, seed=5, out=out,
                          chunk_size=5)
    assert sorted(p.name for p in out.iterdir()) == ["daily.parquet", "events.parquet",
                                                      "metadata.json", "summary.csv"]
    assert not out.with_name(out.name + PARTIAL).exists()
    assert_same_tables(streamed, serial)
    assert_same_tables(read_run(out), serial)
    assert streamed.metadata["replications"] == REPS


def test_chunk_size_does_not_change_tables(baseline, serial):
    assert_same_tables(runner.run(baseline, replications=REPS, days=DAYS, seed=5,
                                  chunk_size=1), serial)


def test_process_pool_matches_serial(baseline, serial):
    pooled = runner.run(baseline, replications=REPS, days=DAYS, seed=5, workers=2)
    assert pooled.metadata["backend"] == "processes"
    assert_same_tables(pooled, serial)


def test_progress_reports_every_replication(baseline):
    seen = []
    runner.run(baseline, replications=7, days=5, chunk_size=3, progress=seen.append)
    assert seen[0] == 0 and seen[-1] == 7 and seen == sorted(seen)


def boom_for(bad_seeds):
    """A simulate that raises for the given seeds (in this process only)."""
    real = model_module.simulate

    def simulate(spec, seed, days=None):
        if seed in bad_seeds:
            raise RuntimeError(f"injected failure for seed {seed}")
        return real(spec, seed, days)

    return simulate


FAIL_REPLICATION = 3


def chunk_with_a_failure(spec, label, entry, index, jobs, days, dirs=None, *engine_and_tables):
    """run_chunk, with replication FAIL_REPLICATION raising (runs in the worker process)."""
    real = model_module.simulate
    bad = dict(jobs).get(FAIL_REPLICATION)

    def simulate(spec, seed, days=None):
        if seed == bad:
            raise RuntimeError(f"injected failure in replication {FAIL_REPLICATION}")
        return real(spec, seed, days)

    model_module.simulate = simulate
    try:
        return runner.run_chunk(spec, label, entry, index, jobs, days, dirs, *engine_and_tables)
    finally:
        model_module.simulate = real


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_replication_is_recorded_and_the_rest_complete(baseline, serial, tmp_path,
                                                                  workers):
    out = tmp_path / "run"
    result = runner.run(baseline, replications=REPS, days=DAYS, seed=5, workers=workers,
                        out=out, chunk_size=4, chunk_fn=chunk_with_a_failure)
    assert result.failures[["replication", "seed"]].values.tolist() == [
        [3, serial.summary.loc[3, "seed"]]]
    assert "injected failure in replication 3" in result.failures.loc[0, "error"]
    failures = (out / "failures.csv").read_text()
    assert failures.startswith("scenario,replication,seed,error")
    kept = serial.daily[serial.daily["replication"] != 3].reset_index(drop=True)
    assert_frame_equal(result.daily, kept)
    assert result.summary["replication"].tolist() == [r for r in range(REPS) if r != 3]
    assert result.metadata["failed"] == 1


def test_cli_exits_1_and_says_how_many_failed(tmp_path, monkeypatch, capsys):
    seeds = replication_seeds(20231017, 4)
    monkeypatch.setattr(model_module, "simulate", boom_for({seeds[0], seeds[2]}))
    out = tmp_path / "run"
    code = main(["run", "baseline", "--reps", "4", "--days", "5", "--out", str(out)])
    assert code == 1
    assert "2 of 4 replications failed" in capsys.readouterr().err
    assert (out / "failures.csv").exists() and (out / "daily.parquet").exists()


def interrupted_copy(baseline, tmp_path, keep_chunks):
    """A run folder as a killed run leaves it: some chunks written, not finished."""
    out = tmp_path / "run"
    plan = make_plan([Entry("baseline", baseline)], REPS, 5, DAYS, chunk_size=4)
    store = RunStore.create(out, plan, "run", {"command": "test"})
    for task in plan.tasks():
        if task.chunk in keep_chunks:
            store.write_chunk(runner.run_chunk(baseline, "baseline", 0, task.chunk,
                                               list(task.jobs), DAYS, store.table_dirs(0)))
    store.close()  # as a killed run leaves it: its lock released (or stale)
    return out


def test_resume_finishes_only_missing_chunks(baseline, serial, tmp_path, monkeypatch):
    out = interrupted_copy(baseline, tmp_path, keep_chunks=[0, 2])
    ran = []
    real = model_module.simulate

    def counting(spec, seed, days=None):
        ran.append(seed)
        return real(spec, seed, days)

    monkeypatch.setattr(model_module, "simulate", counting)
    code = main(["run", "--resume", str(out)])
    assert code == 0
    assert ran == replication_seeds(5, REPS)[4:8]
    assert_same_tables(read_run(out), read_run(write_whole(serial, tmp_path)))
    assert not out.with_name(out.name + PARTIAL).exists()


class RecordingBar:
    """Stands in for tqdm.tqdm: records where the bar starts and how it advances."""

    made: ClassVar[list[RecordingBar]] = []

    def __init__(self, total, initial=0, **options):
        self.total, self.initial, self.n, self.closed = total, initial, initial, False
        RecordingBar.made.append(self)

    def update(self, k):
        self.n += k

    def close(self):
        self.closed = True


def test_resume_progress_starts_from_the_replications_done_before(baseline, tmp_path,
                                                                   monkeypatch):
    import tqdm

    out = interrupted_copy(baseline, tmp_path, keep_chunks=[0, 2])
    RecordingBar.made = []
    monkeypatch.setattr(tqdm, "tqdm", RecordingBar)
    assert main(["run", "--resume", str(out)]) == 0
    [bar] = RecordingBar.made
    # chunks 0 and 2 (4 replications each) were done before: the rate and the time left
    # count only the 4 replications this session runs
    assert (bar.total, bar.initial, bar.n, bar.closed) == (REPS, 8, REPS, True)


def write_whole(result, tmp_path):
    return result.write(tmp_path / "whole")


def test_resume_of_a_killed_process(baseline, serial, tmp_path):
    """Kill a real `sim run` after its first chunks are on disk, then resume it."""
    out = tmp_path / "killed"
    chunks = out.with_name(out.name + PARTIAL) / "chunks"
    cmd = [sys.executable, "-m", "sim", "run", "baseline", "--reps", str(REPS), "--days",
           str(DAYS), "--seed", "5", "--out", str(out)]
    code = (f"import sim.model.model as m, time\nreal = m.simulate\n"
            f"def slow(*a, **k):\n    time.sleep(0.4)\n    return real(*a, **k)\n"
            f"m.simulate = slow\nimport sys\nsys.argv = {cmd[2:]!r}\n"
            f"from sim.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(300):
            if chunks.exists() and len(list(chunks.glob("*.json"))) >= 2:
                break
            if proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.05"], check=True)
    finally:
        proc.kill()
        proc.wait()
    assert not out.exists(), "the run finished before it could be interrupted"
    done = len(list(chunks.glob("*.json")))
    assert 1 <= done < REPS
    assert main(["run", "--resume", str(out)]) == 0
    assert_same_tables(read_run(out), read_run(write_whole(serial, tmp_path)))
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["replications"] == REPS


def test_resume_refuses_a_finished_or_missing_run(tmp_path, capsys):
    assert main(["run", "baseline", "--resume", str(tmp_path / "nothing")]) == 2
    assert "no interrupted run" in capsys.readouterr().err


def test_new_run_refuses_an_interrupted_folder(baseline, tmp_path):
    out = interrupted_copy(baseline, tmp_path, keep_chunks=[0])
    with pytest.raises(FileExistsError, match="--resume"):
        runner.run(baseline, replications=REPS, days=DAYS, seed=5, out=out)
    shutil.rmtree(out.with_name(out.name + PARTIAL))
