"""Try the tool as a hostile user would and tally what happens (docs/reliability.md).

Each case runs ``python -m sim ...`` in a fresh process from a checkout (``--repo``,
default this one) and is classed by what the user sees: a traceback; a clean refusal
(exit status 1 or 2, no traceback; "one line" when the message is a single line); or
acceptance (exit status 0). Cases of bad input should be refused; the recovery cases
(a run stopped at some moment, then ``--resume``) should finish with the tables of a
run never stopped. Usage::

    .venv/bin/python benchmarks/faults.py                 # this checkout
    .venv/bin/python benchmarks/faults.py --repo ../old   # an older checkout, to compare
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN = ["run", "baseline", "--reps", "2", "--days", "3"]


@dataclass
class Case:
    """One thing a user might do, and whether the tool should accept it."""

    family: str
    name: str
    argv: list[str]
    files: dict[str, bytes | str] | None = None
    valid: bool = False
    inject: str = ""  # python run in the child before the command (patching, umask)


EXTENDS = ["baseline"]
"""What the generated variants extend (an older checkout needs a path: see --extends)."""


def scenario(body: str) -> dict[str, str]:
    return {"s.toml": 'extends = "{EXTENDS}"\n' + body}


FILES = [
    ("binary file", {"s.toml": b"\x89PNG\r\n\x1a\n\x00\x00\xff"}),
    ("Latin-1 file", {"s.toml": "notes = 'caf\u00e9'\n".encode("latin-1")}),
    ("NUL byte", {"s.toml": b"notes = 'a'\x00\n"}),
    ("array nested 5000 deep", {"s.toml": "a = " + "[" * 5000 + "]" * 5000 + "\n"}),
    ("table nested 20 deep", {"s.toml": "a = " + "[" * 20 + "1" + "]" * 20 + "\n"}),
    ("file of 1.1 MB", {"s.toml": "a = " + "1" * 1_100_000 + "\n"}),
    ("malformed TOML", scenario("[levers.government\npressure = 1\n")),
    ("unknown top-level key", scenario("pressur = 1\n")),
    ("unknown nested key", scenario("[levers.government]\npressur = 0.5\n")),
    ("string for a number", scenario('[levers.government]\npressure = "high"\n')),
    ("switch for a number", scenario("[levers.government]\npressure = true\n")),
    ("lever above its range", scenario("[levers.government]\npressure = 1.5\n")),
    ("coefficient inf", scenario("[mechanisms]\nw_hostility = inf\n")),
    ("coefficient nan", scenario("[mechanisms]\nw_hostility = nan\n")),
    ("coefficient 1e308", scenario("[mechanisms]\nw_hostility = 1e308\n")),
    ("casualty_scale 1e308", scenario("[mechanisms]\ncasualty_scale = 1e308\n")),
    ("lethality inf", scenario("[weapons.drone]\nlethality = inf\n")),
    ("negative teams", scenario('[[factions]]\nname = "badr_organization"\nteams = -1\n')),
    ("1000 teams", scenario('[[factions]]\nname = "badr_organization"\nteams = 1000\n')),
    ("same faction twice in a file", scenario(
        '[[factions]]\nname = "badr_organization"\nstake = 0.5\n'
        '[[factions]]\nname = "badr_organization"\nstake = 0.6\n')),
    ("factions = [] in a variant", scenario("factions = []\n")),
    ("bases = [] in a variant", scenario("bases = []\n")),
    ("events = [] in a variant", scenario("events = []\n")),
    ("unknown weapon", scenario('[[factions]]\nname = "badr_organization"\n'
                                'weapons = { sling = 2 }\n')),
    ("new faction missing keys", scenario('[[factions]]\nname = "new_group"\n')),
    ("event after the horizon", scenario(
        '[run]\ndays = 30\n[[events]]\nday = 31\nset = "uncertainties.region.gaza"\nvalue = 0.1\n')),
    ("event on day 0", scenario(
        '[[events]]\nday = 0\nset = "uncertainties.region.gaza"\nvalue = 0.1\n')),
    ("event on an unknown path", scenario('[[events]]\nday = 3\nset = "regio.gaza"\nvalue = 0.2\n')),
    ("event on a coefficient", scenario(
        '[[events]]\nday = 3\nset = "mechanisms.tension_rate"\nvalue = 0.2\n')),
    ("event value out of range", scenario(
        '[[events]]\nday = 5\nset = "levers.government.pressure"\nvalue = 1.5\n')),
    ("event value of the wrong type", scenario(
        '[[events]]\nday = 5\nset = "levers.government.pressure"\nvalue = "lots"\n')),
    ("unknown retaliation policy", scenario('[levers.coalition]\nretaliation = "nuclear"\n')),
    ("start date as text", scenario('[run]\nstart_date = "yesterday"\n')),
    ("start date in year 3000", scenario("[run]\nstart_date = 3000-01-01\n")),
    ("days 100000 in the file", scenario("[run]\ndays = 100000\n")),
    ("seed -1 in the file", scenario("[run]\nseed = -1\n")),
    ("extends a missing file", {"s.toml": 'extends = "nowhere.toml"\n'}),
    ("extends itself", {"s.toml": 'extends = "s.toml"\n'}),
    ("extends a number", {"s.toml": "extends = 5\n"}),
    ("a good variant", scenario("[levers.government]\npressure = 0.6\n")),
]

FLAGS = [
    ("--reps 0", [*RUN[:2], "--reps", "0", "--days", "3"]),
    ("--reps 1000000000", [*RUN[:2], "--reps", "1000000000", "--days", "3"]),
    ("--reps abc", [*RUN[:2], "--reps", "abc"]),
    ("--days 0", [*RUN[:4], "--days", "0"]),
    ("--days 100000", [*RUN[:4], "--days", "100000"]),
    ("--seed -1", [*RUN, "--seed", "-1"]),
    ("--seed 2**64", [*RUN, "--seed", str(2**64)]),
    ("--workers 0", [*RUN, "--workers", "0"]),
    ("--workers 1000", [*RUN, "--workers", "1000"]),
    ("validate --reps 1", ["validate", "historical_2023_24", "--reps", "1", "--days", "3"]),
    ("compare --reps 1", ["compare", "baseline", "--reps", "1", "--days", "3"]),
    ("--set unknown path", [*RUN, "--set", "levers.government.presure=0.5"]),
    ("--set value out of range", [*RUN, "--set", "levers.government.pressure=2"]),
    ("--set without =", [*RUN, "--set", "levers.government.pressure"]),
    ("--backend dask without a scheduler", [*RUN, "--backend", "dask"]),
    ("unreachable scheduler", [*RUN, "--scheduler", "tcp://127.0.0.1:9"]),
    ("app --port 70000", ["app", "--port", "70000"]),
    ("calibrate --window-end 14Nov", ["calibrate", "--window-end", "14Nov", "--dry-run"]),
    ("exercise 99", ["exercise", "99"]),
    ("run without a scenario", ["run"]),
    ("unknown shipped name", ["run", "no_such_scenario"]),
    ("--resume of nothing", ["run", "--resume", "nowhere"]),
    ("report of an empty folder", ["report", "."]),
    ("check of a missing file", ["check", "missing.toml"]),
]

OS_CASES = [
    ("--out under a file", [*RUN, "--out", "afile/run"], {"afile": "x"}, ""),
    ("no permission to write", [*RUN, "--out", "locked/run"], None,
     "import os, errno\nreal = os.mkdir\n"
     "def mkdir(p, *a, **k):\n    if 'locked' in str(p): raise PermissionError(errno.EACCES, "
     "'Permission denied', str(p))\n    return real(p, *a, **k)\nos.mkdir = mkdir\n"),
    ("read-only file system", [*RUN, "--out", "ro/run"], None,
     "import os, errno\nreal = os.mkdir\n"
     "def mkdir(p, *a, **k):\n    if 'ro' in str(p): raise OSError(errno.EROFS, "
     "'Read-only file system', str(p))\n    return real(p, *a, **k)\nos.mkdir = mkdir\n"),
    ("disk full while writing", [*RUN, "--out", "full/run"], None,
     "import os, errno, pyarrow.parquet as pq\nreal = pq.write_table\n"
     "def write(*a, **k):\n    raise OSError(errno.ENOSPC, 'No space left on device', "
     "str(a[1]))\npq.write_table = write\n"),
    ("report with metadata that is not JSON", ["report", "r"], {"r/metadata.json": "{not"}, ""),
    ("report with metadata lacking keys", ["report", "r"], {"r/metadata.json": "{}"}, ""),
]


def child_code(inject: str) -> str:
    return (inject + "import sys\nsys.argv[0] = 'sim'\nfrom sim.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")


def run_case(repo: Path, argv: list[str], files: dict | None, inject: str,
             timeout: float = 120) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in (files or {}).items():
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                content = content.replace("{EXTENDS}", EXTENDS[0]).encode()
            path.write_bytes(content)
        if files and "s.toml" in files:
            argv = [a if a != "baseline" or argv[0] not in ("run", "check") else "s.toml"
                    for a in argv]
        try:
            done = subprocess.run([sys.executable, "-c", child_code(inject), *argv], cwd=tmp,
                                  capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "PYTHONPATH": str(repo)})
        except subprocess.TimeoutExpired:
            return -1, "timed out"
        return done.returncode, done.stderr


def classify(code: int, err: str) -> str:
    if "Traceback" in err:
        return "traceback"
    if code == 0:
        return "accepted"
    if code in (1, 2):
        lines = [line for line in err.strip().splitlines() if line.strip()]
        return "refused (one line)" if len(lines) == 1 else "refused (several lines)"
    return f"exit {code}"


def tables_hash(folder: Path) -> str:
    import pandas as pd

    digest = hashlib.sha256()
    for name in ("daily.parquet", "events.parquet"):
        digest.update(pd.util.hash_pandas_object(pd.read_parquet(folder / name),
                                                 index=False).values.tobytes())
    digest.update((folder / "summary.csv").read_bytes())
    return digest.hexdigest()


MOMENTS = {"started": "sim.experiment.runner.execute", "mid-chunk": "sim.model.model.simulate",
           "after chunks": "sim.experiment.store.RunStore.write_chunk",
           "finishing": "sim.experiment.store.RunStore.finish",
           "before the rename": "sim.experiment.store.RunStore.commit",
           "after the rename": "sim.experiment.store._clear_progress"}


def kill_at(target: str, signame: str, nth: int) -> str:
    module, _, attr = target.rpartition(".")
    owner = f"importlib.import_module('{module}')"
    if module.endswith("RunStore"):
        owner = f"importlib.import_module('{module.rsplit('.', 1)[0]}').RunStore"
    return (f"import importlib, os, signal\nowner = {owner}\nreal = getattr(owner, '{attr}')\n"
            "calls = [0]\n"
            f"def hook(*a, **k):\n    calls[0] += 1\n    if calls[0] == {nth}:\n"
            f"        os.kill(os.getpid(), signal.{signame})\n    return real(*a, **k)\n"
            f"setattr(owner, '{attr}', hook)\n")


def recovery_cases(repo: Path) -> list[tuple[str, str]]:
    """(name, outcome) of runs stopped at each moment by each signal, then resumed."""
    argv = ["run", "baseline", "--reps", "6", "--days", "20", "--seed", "4"]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(tmp) / "whole"
        run_case_in(repo, [*argv, "--out", str(whole)], tmp, "")
        reference = tables_hash(whole)
        for moment, target in MOMENTS.items():
            for signame in ("SIGKILL", "SIGTERM", "SIGINT"):
                folder = Path(tmp) / f"{moment}-{signame}".replace(" ", "-")
                nth = 3 if moment == "mid-chunk" else 2 if moment == "after chunks" else 1
                code, err = run_case_in(repo, [*argv, "--out", str(folder)], tmp,
                                        kill_at(target, signame, nth))
                stopped = classify(code, err)
                resumed = "not needed" if (folder / "summary.csv").exists() and not \
                    folder.with_name(folder.name + ".partial").exists() else None
                if resumed is None:
                    rcode, rerr = run_case_in(repo, ["run", "--resume", str(folder)], tmp, "")
                    if rcode != 0:
                        rcode, rerr = run_case_in(repo, ["run", "baseline", "--resume",
                                                         str(folder)], tmp, "")
                    resumed = classify(rcode, rerr)
                same = folder.exists() and (folder / "summary.csv").exists() and \
                    tables_hash(folder) == reference
                outcome = "recovered" if same and "traceback" not in stopped else "not recovered"
                out.append((f"{moment}, {signame}: stop {stopped}, resume {resumed}", outcome))
    return out


def run_case_in(repo: Path, argv: list[str], cwd: str, inject: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", child_code(inject), *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(repo)})
    return done.returncode, done.stderr


def orphans(repo: Path) -> list[tuple[str, str]]:
    """SIGKILL and SIGTERM of `sim run --workers 2`: processes alive 5 s later."""
    import psutil

    out = []
    for signame in ("SIGKILL", "SIGTERM"):
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.Popen([sys.executable, "-c", child_code(""), "run", "baseline",
                                     "--reps", "40", "--days", "3000", "--workers", "2",
                                     "--out", "run"], cwd=tmp, start_new_session=True,
                                    stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    env={**os.environ, "PYTHONPATH": str(repo)})
            time.sleep(6)
            os.kill(proc.pid, getattr(signal, signame))
            proc.wait()
            time.sleep(5)
            left = [p.pid for p in psutil.process_iter() if _sid(p.pid) == proc.pid]
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            out.append((f"{signame} of a 2-worker run: {len(left)} processes left",
                        "clean" if not left else "left running"))
    return out


def _sid(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=HERE.parent, help="checkout to try")
    parser.add_argument("--skip-slow", action="store_true", help="no recovery or orphan cases")
    parser.add_argument("--extends", default="baseline",
                        help="what generated scenario files extend (default: the shipped "
                        "baseline by name; an older checkout needs its baseline's path)")
    args = parser.parse_args()
    EXTENDS[0] = args.extends
    rows: list[tuple[str, str, str, bool]] = []
    for name, files in FILES:
        for command in (["check", "s.toml"], ["run", "s.toml", "--reps", "2", "--days", "3",
                                              "--out", "out"]):
            code, err = run_case(args.repo, command, files, "")
            rows.append(("scenario file", f"{command[0]}: {name}", classify(code, err),
                         name == "a good variant"))
    for name, argv in FLAGS:
        code, err = run_case(args.repo, [*argv, "--out", "out"] if argv[0] in (
            "run", "compare", "validate") and "--resume" not in argv else argv, None, "")
        rows.append(("option", name, classify(code, err), False))
    for name, argv, files, inject in OS_CASES:
        code, err = run_case(args.repo, argv, files, inject)
        rows.append(("system", name, classify(code, err), False))
    for family, name, outcome, valid in rows:
        wrong = (outcome == "accepted") != valid or outcome.startswith(("traceback", "exit"))
        print(f"{'!' if wrong else ' '} {family:14} {name:48} {outcome}")
    slow = [] if args.skip_slow else [*recovery_cases(args.repo), *orphans(args.repo)]
    for name, outcome in slow:
        print(f"{'!' if outcome not in ('recovered', 'clean') else ' '} {'recovery':14} "
              f"{name:48} {outcome}")
    invalid = [r for r in rows if not r[3]]
    print(f"\n{len(rows) + len(slow)} cases: {len(invalid)} bad inputs or faults, "
          f"{sum(r[2] == 'traceback' for r in rows)} tracebacks, "
          f"{sum(r[2].startswith('refused') for r in invalid)} refused cleanly "
          f"({sum(r[2] == 'refused (one line)' for r in invalid)} in one line), "
          f"{sum(r[2] == 'accepted' for r in invalid)} accepted although wrong; "
          f"{sum(o == 'recovered' for _, o in slow)} of "
          f"{sum(n.startswith(tuple(MOMENTS)) for n, _ in slow)} stopped runs recovered; "
          f"{sum(o == 'clean' for _, o in slow)} of {sum('2-worker' in n for n, _ in slow)} "
          "stopped pools left nothing running")


if __name__ == "__main__":
    main()
