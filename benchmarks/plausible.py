"""Benchmark the plausible-worlds commands as a user runs them (whole commands, timed from outside).

Prints each against its target (issue 14):

* ``sim plausible --waves 1 --check-worlds 0 --workers 2``: the first wave, 20,000
  candidate worlds over the 145 declared values, 10 replications each, over the
  calibration window: under 5 minutes on 2 cores;
* ``sim compare --all-policies --worlds FOLDER --workers 2``: 11 scenarios x 200
  retained worlds x 20 replications x 120 days: under 3 minutes on 2 cores.

Usage::

    .venv/bin/python benchmarks/plausible.py        # about 2 minutes
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIM = [sys.executable, "-m", "sim"]


def timed(words: list[str]) -> float:
    """Seconds a whole command took."""
    started = time.perf_counter()
    subprocess.run([*SIM, *words], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    """Run both commands and print the figures."""
    with tempfile.TemporaryDirectory() as name:
        matched = Path(name) / "plausible"
        seconds = timed(["plausible", "--waves", "1", "--check-worlds", "0", "--workers", "2",
                         "--out", str(matched)])
        meta = json.loads((matched / "metadata.json").read_text(encoding="utf-8"))
        kept = len(__import__("pandas").read_parquet(matched / "worlds.parquet"))
        print(f"sim plausible, first wave: 20,000 worlds x 10 replications over 145 values, "
              f"2 workers: {seconds:.1f} s whole command, {meta['match_s']:.1f} s matching, "
              f"{kept:,} kept (target < 300 s: {'met' if seconds < 300 else 'NOT met'})")
        compared = Path(name) / "compared"
        seconds = timed(["compare", "--all-policies", "--worlds", str(matched), "--workers", "2",
                         "--out", str(compared)])
        meta = json.loads((compared / "metadata.json").read_text(encoding="utf-8"))
        print(f"sim compare --all-policies --worlds: 11 scenarios x {meta['worlds']} worlds x "
              f"{meta['replications']} replications x {meta['days']} days, 2 workers: "
              f"{seconds:.1f} s whole command ({meta['run_s']:.1f} s runs, "
              f"{meta['analysis_s']:.1f} s analysis) (target < 180 s: "
              f"{'met' if seconds < 180 else 'NOT met'})")


if __name__ == "__main__":
    main()
