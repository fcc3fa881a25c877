"""Benchmark the exploration commands as a user runs them (whole commands, timed from outside).

Prints each against its target (issue 13) where it has one:

* ``sim sweep baseline --vary levers.government.pressure=0:1:11 --reps 100``: under 10 s;
* ``sim sensitivity ranges_iraq_2023 --method sobol --n 1024 --reps 20 --days 120
  --workers 2`` (26 grouped factors, 28,672 design points): under 2 minutes on 2 cores;
  also the model time the command reports;
* ``sim robust --workers 2`` (200 mixes x 40 futures x 5 replications, 120 days);
* ``sim discover`` on the sweep's folder.

Each command runs ``--repeat`` times (default 3 for the short ones, 1 for Sobol) in a
fresh process and the median is printed, so start-up and imports count as a user meets
them. Usage::

    .venv/bin/python benchmarks/explore.py            # about 6 minutes
    .venv/bin/python benchmarks/explore.py --quick    # Sobol at N = 256 (about 2 minutes)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIM = [sys.executable, "-m", "sim"]


def timed(words: list[str], out: Path) -> tuple[float, dict]:
    """Seconds the whole command took, and its metadata.json."""
    started = time.perf_counter()
    subprocess.run([*SIM, *words, "--out", str(out)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    return seconds, json.loads((out / "metadata.json").read_text(encoding="utf-8"))


def median_of(words: list[str], tmp: Path, name: str, repeat: int) -> tuple[float, dict]:
    """The median time of ``repeat`` runs (each into its own folder) and the last metadata."""
    times, meta = [], {}
    for k in range(repeat):
        seconds, meta = timed(words, tmp / f"{name}-{k}")
        times.append(seconds)
    return statistics.median(times), meta


def verdict(seconds: float, target: float) -> str:
    """'met' or 'NOT met' against a target in seconds."""
    return f"(target < {target:.0f} s: {'met' if seconds < target else 'NOT met'})"


def main() -> None:
    """Run the commands and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Sobol at N = 256")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the short commands")
    args = parser.parse_args()
    n = 256 if args.quick else 1024
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        sweep, meta = median_of(["sweep", "baseline", "--vary",
                                 "levers.government.pressure=0:1:11", "--reps", "100"],
                                tmp, "sweep", args.repeat)
        print(f"sim sweep (11 points x 100 replications, 120 days): {sweep:.1f} s whole command, "
              f"{meta['wall_time_s']:.1f} s model {verdict(sweep, 10)}")
        found, _ = median_of(["discover", str(tmp / "sweep-0"), "--where",
                              "open_confrontation>=0.5"], tmp, "discover", args.repeat)
        print(f"sim discover on that sweep: {found:.1f} s")
        robust, meta = median_of(["robust", "--workers", "2"], tmp, "robust", 1)
        print(f"sim robust (200 mixes x 40 futures x 5 replications, 120 days, 2 workers): "
              f"{robust:.1f} s")
        sobol, meta = median_of(["sensitivity", "ranges_iraq_2023", "--method", "sobol", "--n",
                                 str(n), "--reps", "20", "--days", "120", "--workers", "2"],
                                tmp, "sobol", 1)
        target = verdict(sobol, 120) if n == 1024 else "(the target is for N = 1,024)"
        print(f"sim sensitivity sobol N={n} x 20 replications, {meta['points']} points, "
              f"{len(meta['factors'])} factors, 2 workers: {sobol:.1f} s whole command, "
              f"{meta['wall_time_s']:.1f} s model {target}")


if __name__ == "__main__":
    main()
