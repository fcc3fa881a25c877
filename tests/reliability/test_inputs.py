"""Bad input and system faults end in one line and exit status 1 or 2, never a traceback.

Files that are not scenarios, options outside the schema's bounds, folders that
cannot be written, a full disk, an unreachable cluster, a closed pipe; and the model
runs at every bound the schema allows.
"""

from __future__ import annotations

import errno
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.model.model import simulate
from sim.scenario import registry
from sim.scenario.load import load, override

ROOT = Path(__file__).resolve().parents[2]


def one_line_error(capsys, code: int, expected: int, *words: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == expected, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# ---------------------------------------------------------------- scenario files


@pytest.mark.parametrize(("content", "words"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", ("not a UTF-8 text file",)),
    ("pressure = 'caf\u00e9'\n".encode("latin-1"), ("not a UTF-8 text file",)),
    (b"x = 1\x00\n", ("not a text file",)),
    (("a = " + "[" * 5000 + "]" * 5000 + "\n").encode(), ("nested too deeply",)),
    (("a = " + "[" * 20 + "1" + "]" * 20 + "\n").encode(), ("nested too deeply",)),
    (b"x = " + b"1" * 1_100_000 + b"\n", ("must be under 1000 kB",)),
])
def test_files_that_are_not_scenarios_are_refused(tmp_path, capsys, content, words):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    for command in (["check", str(path)], ["run", str(path), "--reps", "1", "--days", "2",
                                            "--out", str(tmp_path / "out")]):
        one_line_error(capsys, main(command), 2, "bad.toml", *words)
    assert not (tmp_path / "out").exists()


def test_a_very_long_extends_chain_is_refused(tmp_path, capsys):
    (tmp_path / "f0.toml").write_text('extends = "baseline"\n', encoding="utf-8")
    for i in range(1, 1200):
        (tmp_path / f"f{i}.toml").write_text(f'extends = "f{i - 1}.toml"\n', encoding="utf-8")
    one_line_error(capsys, main(["check", str(tmp_path / "f1199.toml")]), 2,
                   "extends chain longer than 20 files")


@pytest.mark.parametrize("body", [
    "[mechanisms]\ncasualty_scale = 1e308\n", "[weapons.drone]\nlethality = inf\n",
    "[mechanisms]\nw_hostility = nan\n", "[run]\nseed = -1\n", "[run]\ndays = 100000\n",
    '[[factions]]\nname = "badr_organization"\nteams = 1000\n',
])
def test_values_outside_the_bounds_the_model_runs_in_are_refused(write_toml, capsys, body):
    path = write_toml("v.toml", f'extends = "baseline"\n{body}')
    one_line_error(capsys, main(["check", str(path)]), 2, "v.toml", "allowed")


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "baseline", "--reps", "1000000000"], ("--reps", "outside 1..1000000")),
    (["run", "baseline", "--days", "100000"], ("--days", "outside 1..3650")),
    (["run", "baseline", "--seed", "-1"], ("--seed", "outside 0..")),
    (["run", "baseline", "--workers", "1000"], ("--workers", "at most 4 per core")),
    (["run", "baseline", "--reps", "many"], ("--reps", "not a whole number")),
    (["compare", "baseline", "--reps", "1"], ("--reps must be at least 2",)),
    (["validate", "historical_2023_24", "--reps", "1"], ("at least 20 replications",)),
    (["run", "baseline", "--backend", "dask"], ("needs a scheduler address",)),
    (["run", "baseline", "--scheduler", "tls://127.0.0.1:1", "--tls-cert", "x"],
     ("all three of --tls-ca-file",)),
    (["app", "--port", "70000"], ("--port", "outside 1..65535")),
    (["calibrate", "--window-end", "14 Nov"], ("not a date",)),
    (["exercise", "99"], ("no exercise '99'",)),
])
def test_options_are_checked_against_their_bounds(tmp_path, capsys, argv, words):
    out = tmp_path / "out"
    one_line_error(capsys, main([*argv, "--out", str(out)] if argv[0] in ("run", "compare",
                                "validate") else argv), 2, *words)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_unreachable_scheduler_ends_in_a_sentence(tmp_path, capsys):
    code = main(["run", "baseline", "--reps", "2", "--days", "2", "--scheduler",
                 "tcp://127.0.0.1:9", "--out", str(tmp_path / "out")])
    one_line_error(capsys, code, 1, "tcp://127.0.0.1:9", "did not answer",
                   "check the address")


def test_a_scheduler_from_the_environment_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIM_SCHEDULER", "tcp://127.0.0.1:9")
    main(["run", "baseline", "--reps", "2", "--days", "2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert "using the Dask scheduler tcp://127.0.0.1:9 (from SIM_SCHEDULER)" in err


def test_plain_tcp_to_another_host_is_warned_about():
    from sim.experiment.backends import is_open_address

    assert is_open_address("tcp://10.0.0.5:8786") and is_open_address("tcp://cluster:8786")
    assert not is_open_address("tcp://127.0.0.1:8786")
    assert not is_open_address("tls://10.0.0.5:8786")


# ----------------------------------------------------------- the file system


@pytest.mark.parametrize(("code", "words"), [
    (errno.EACCES, ("Permission denied", "check the folder's permissions")),
    (errno.EROFS, ("Read-only file system", "choose another --out")),
    (errno.ENOSPC, ("No space left on device", "free some space")),
])
def test_a_folder_that_cannot_be_written_ends_in_a_sentence(tmp_path, capsys, monkeypatch,
                                                              code, words):
    real = os.mkdir

    def refuse(path, *args, **kwargs):
        if str(tmp_path / "locked") in str(path):
            raise OSError(code, os.strerror(code), str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", refuse)
    out = tmp_path / "locked" / "run"
    line = one_line_error(capsys, main(["run", "baseline", "--reps", "2", "--days", "3",
                                        "--out", str(out)]), 1, *words)
    assert "locked" in line  # the path is named


def test_an_out_folder_under_a_file_ends_in_a_sentence(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    one_line_error(capsys, main(["run", "baseline", "--reps", "2", "--days", "3", "--out",
                                 str(tmp_path / "afile" / "run")]), 1, "afile",
                   "File exists", "in the way where a folder is needed")


@pytest.mark.parametrize("metadata", ["not json {", json.dumps({"scenario": "x"})])
def test_report_of_a_damaged_run_folder_ends_in_a_sentence(tmp_path, capsys, metadata):
    (tmp_path / "metadata.json").write_text(metadata)
    one_line_error(capsys, main(["report", str(tmp_path)]), 2,
                   "not a run, comparison or validation folder")


def test_a_closed_pipe_ends_quietly(tmp_path):
    command = (f"{sys.executable} -m sim run baseline --reps 2 --days 5 --out {tmp_path / 'r'}"
               f" | head -c 10")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------- the model at its bounds


def at_bounds(baseline):
    for param in registry.parameters(baseline):
        if param.type in ("number", "integer") and not param.path.startswith("run."):
            for value in (param.low, param.high):
                yield param.path, value


def test_the_model_runs_at_every_bound_of_every_number(baseline):
    """Every numeric value at its lowest and its highest allowed value, one at a time:
    the model runs and its outputs are finite."""
    failures = []
    for path, value in at_bounds(baseline):
        spec = override(baseline, {path: value})
        try:
            cols = simulate(spec, 12345, 15)
        except Exception as exc:  # collected, so that one run shows every failure
            failures.append(f"{path} = {value}: {type(exc).__name__}: {exc}")
            continue
        numbers = [v for v in cols.summary.values() if isinstance(v, float)]
        if not all(math.isfinite(v) or math.isnan(v) for v in numbers) or not np.isfinite(
                cols.daily["stability"]).all():
            failures.append(f"{path} = {value}: outputs not finite")
    assert not failures, "\n".join(failures)


def test_the_horizon_and_start_date_at_their_bounds(baseline):
    for changes in ({"run.days": 3650}, {"run.start_date": registry.parameter(
            "run.start_date").high}, {"run.start_date": registry.parameter(
            "run.start_date").low, "run.days": 3650}):
        spec = override(load("baseline"), changes)
        cols = simulate(spec, 7, spec.run.days)
        assert len(cols.daily["day"]) == spec.run.days
