"""Every interrupted run can be finished, whatever the moment and the signal; one writer at a time.

Each case runs ``sim run`` in a child process that stops itself at a chosen moment
(SIGKILL, SIGTERM or SIGINT), then finishes it with ``sim run --resume`` and checks
that the tables equal those of a run never interrupted, and that nothing is left
running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import assert_same_tables
from helpers_faults import ROOT, kill_group, run_with_fault, survivors

from sim.cli import main
from sim.experiment.results import read_run
from sim.experiment.store import PARTIAL, RunStore

ARGS = ["run", "baseline", "--reps", "6", "--days", "20", "--seed", "4"]


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    assert main([*ARGS, "--out", str(out)]) == 0
    return read_run(out)


EXPECTED_STATUS = {"SIGKILL": -signal.SIGKILL, "SIGTERM": 143, "SIGINT": 130}


@pytest.mark.parametrize("signame", ["SIGKILL", "SIGTERM", "SIGINT"])
@pytest.mark.parametrize("moment", ["started", "mid-chunk", "between-chunks", "finishing",
                                    "renaming", "cleaning-up"])
def test_a_run_stopped_at_any_moment_resumes_to_the_same_tables(tmp_path, whole, moment,
                                                                  signame):
    out = tmp_path / "run"
    done = run_with_fault(moment, signame, [*ARGS, "--out", str(out)], cwd=tmp_path)
    assert done.returncode == EXPECTED_STATUS[signame], done.stderr
    assert "Traceback" not in done.stderr
    if signame != "SIGKILL":  # it says how to finish the run, when there is one to finish
        partial = out.with_name(out.name + PARTIAL)
        assert (f"sim run --resume {out}" in done.stderr) == partial.exists(), done.stderr
    if moment == "cleaning-up":  # killed after the rename: the run is complete
        assert not out.with_name(out.name + PARTIAL).exists()
        assert main(["run", "--resume", str(out)]) == 2  # "the run is complete", leftovers gone
        assert not (out / "plan.json").exists() and not (out / "chunks").exists()
    else:
        assert main(["run", "--resume", str(out)]) == 0
    assert_same_tables(read_run(out), whole)
    assert json.loads((out / "metadata.json").read_text())["replications"] == 6
    assert sorted(p.name for p in out.iterdir()) == ["daily.parquet", "events.parquet",
                                                      "metadata.json", "summary.csv"]


def test_a_run_killed_while_its_folder_is_created_leaves_nothing_in_the_way(tmp_path, whole):
    out = tmp_path / "run"
    done = run_with_fault("creating", "SIGKILL", [*ARGS, "--out", str(out)], cwd=tmp_path)
    assert done.returncode == -signal.SIGKILL
    assert not out.exists() and not out.with_name(out.name + PARTIAL).exists()
    assert main(["run", "--resume", str(out)]) == 2  # nothing to resume, and it says so
    assert main([*ARGS, "--out", str(out)]) == 0  # a new run is not blocked
    assert_same_tables(read_run(out), whole)
    assert not list(tmp_path.glob(".*.tmp"))  # the killed start's temporary folder is gone


@pytest.mark.parametrize(("moment", "names"), [("writing-a-part", "part-00000"),
                                             ("renaming-a-file", str(Path("run.partial")))])
def test_a_full_disk_ends_in_a_sentence_and_the_run_resumes(tmp_path, whole, moment, names):
    out = tmp_path / "run"
    done = run_with_fault(moment, "enospc", [*ARGS, "--out", str(out)], cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "No space left on device" in lines[0] and "free some space" in lines[0]
    assert names in lines[0] and f"sim run --resume {out}" in lines[0], lines[0]
    assert not (out / "failures.csv").exists()  # a full disk is not a failed replication
    assert main(["run", "--resume", str(out)]) == 0  # "after space was freed"
    assert_same_tables(read_run(out), whole)
    assert not (out / "failures.csv").exists()


def slow_run(out, tmp_path, workers=1, start="fork"):
    """A `sim run` of a few seconds, started in its own session.

    One worker: each replication is slowed in the process itself. Two workers: long
    replications (the command as a user types it starts its workers by fork; a process
    that imported numpy first, as a notebook has, by a fork server).
    """
    if workers == 1:
        script = ("import sim.model.model as m, time\nreal = m.simulate\n"
                  "def slow(*a, **k):\n    time.sleep(0.3)\n    return real(*a, **k)\n"
                  "m.simulate = slow\n")
        days = "20"
    else:
        script = "import numpy\n" if start == "forkserver" else ""
        days = "3000"
    script += "import sys\nfrom sim.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    argv = ["run", "baseline", "--reps", "40", "--days", days, "--seed", "4", "--out",
            str(out), "--workers", str(workers)]
    return subprocess.Popen([sys.executable, "-c", script, *argv], cwd=tmp_path,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def wait_for_chunks(out, count=2, proc=None):
    chunks = out.with_name(out.name + PARTIAL) / "chunks"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if chunks.exists() and len(list(chunks.glob("*.json"))) >= count:
            return
        assert proc is None or proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no chunks written")


def test_a_second_writer_is_refused_and_told_who_writes(tmp_path, capsys):
    out = tmp_path / "run"
    first = slow_run(out, tmp_path)
    try:
        wait_for_chunks(out, 1, first)
        for argv in ([*ARGS, "--out", str(out)], ["run", "--resume", str(out)]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert f"is being written by process {first.pid}" in err, err
            assert "Traceback" not in err
    finally:
        first.kill()
        first.wait()
    assert main(["run", "--resume", str(out)]) == 0  # the killed writer's lock was stale
    assert len(read_run(out).summary) == 40


@pytest.mark.parametrize("start", ["fork", "forkserver"])
@pytest.mark.parametrize("signame", ["SIGKILL", "SIGTERM", "Ctrl-C"])
def test_nothing_is_left_running_when_a_pooled_run_is_stopped(tmp_path, signame, start):
    out = tmp_path / "run"
    proc = slow_run(out, tmp_path, workers=2, start=start)
    try:
        wait_for_chunks(out, 2, proc)
        if signame == "Ctrl-C":  # a terminal sends SIGINT to the whole foreground group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, getattr(signal, signame))
        proc.wait(timeout=30)
        left = survivors(proc.pid)
        assert left == [], f"still running after {signame}: {left}"
        if signame != "SIGKILL":
            assert proc.returncode == {"SIGTERM": 143, "Ctrl-C": 130}[signame]
            err = proc.stderr.read()
            assert f"sim run --resume {out}" in err and "Traceback" not in err, err
    finally:
        kill_group(proc.pid)
    store = RunStore.open(out)  # the folder is left resumable, and its lock free to take
    assert len(store.completed()) >= 2
    store.close()


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_the_teaching_page_stops_with_its_command(tmp_path, signame):
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port)],
                            cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.5)
        os.kill(proc.pid, getattr(signal, signame))
        proc.wait(timeout=30)
        assert survivors(proc.pid, grace=10) == []  # the server went with it
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # and the port is free again
        if signame == "SIGTERM":
            assert proc.returncode == 143 and "Traceback" not in proc.stderr.read()
    finally:
        kill_group(proc.pid)
