"""Benchmark the ensemble engine against the agent engine (baseline scenario, one core).

Prints, measured side by side in one run:

* replications per second on one core, 365 days, summary tables only: the agent
  engine (``runner.run``, this process) and the ensemble engine on 10,000 rows, and
  their ratio;
* the time of a 2,000-replication band of daily attacks over 120 days (the teaching
  page's ensemble button: run, then the 5-50-95% band);
* the cost per replication as the batch grows (100, 1,000, 10,000, 100,000 rows,
  120 days, summary only), written to ``benchmarks/ensemble_batch_cost.png``;
* peak resident memory of 10^6 replications x 120 days, summary only, through the
  runner with 2 workers (chunks of 10,000 rows), sampled over the whole process tree;
* the first call's cost in a fresh process: importing the compiled loops (numba) and
  loading them from the on-disk cache, and compiling them when there is no cache.

The rates are taken in pairs, one engine then the other, and the ratio is the median of
the pairs' ratios, so that a slow spell of a shared machine hits both sides of a pair.

Usage::

    .venv/bin/python benchmarks/ensemble.py            # everything (about 6 minutes)
    .venv/bin/python benchmarks/ensemble.py --quick    # smaller counts, no 10^6 run
    .venv/bin/python benchmarks/ensemble.py --ratio-only --pairs 5   # the ratio alone
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

FIRST_CALL_CHILD = """
import time
started = time.perf_counter()
from sim.model.ensemble import simulate_batch
from sim.experiment.plan import replication_seeds
from sim.scenario.load import load
spec, seeds = load("baseline"), replication_seeds(1, 2)
imported = time.perf_counter()
simulate_batch(spec, seeds, 2, tables="summary")
first = time.perf_counter()
simulate_batch(spec, seeds, 2, tables="all")
print(f"{imported - started:.2f} {first - imported:.2f} {time.perf_counter() - first:.2f}")
"""
MEMORY_CHILD = """
import sys
from sim.experiment import runner
from sim.scenario.load import load
result = runner.run(load("baseline"), int(sys.argv[1]), 1, 120, workers=2, engine="ensemble",
                    tables="summary")
print(len(result.summary), result.metadata["wall_time_s"], flush=True)
"""


def agents_rate(reps: int, days: int = 365) -> float:
    """Replications per second of the agent engine on one core, summary tables."""
    from sim.experiment import runner
    from sim.scenario.load import load

    spec = load("baseline")
    runner.run(spec, 2, 9, days, tables="summary")  # warm-up
    started = time.perf_counter()
    runner.run(spec, reps, 1, days, tables="summary")
    return reps / (time.perf_counter() - started)


def ensemble_rate(rows: int, days: int = 365) -> float:
    """Replications per second of the ensemble engine on one core, one batch."""
    from sim.experiment.plan import replication_seeds
    from sim.model.ensemble import simulate_batch
    from sim.scenario.load import load

    spec = load("baseline")
    seeds = replication_seeds(1, rows)
    simulate_batch(spec, seeds[:2], 5, tables="summary")  # warm-up
    started = time.perf_counter()
    tally = simulate_batch(spec, seeds, days, tables="summary")
    tally.summary(spec.mechanisms.deescalation_attacks, spec.mechanisms.deescalation_days)
    return rows / (time.perf_counter() - started)


def band_seconds(rows: int = 2000, days: int = 120) -> float:
    """Seconds to run ``rows`` replications and compute the band of daily attacks."""
    from sim.experiment.plan import replication_seeds
    from sim.model.ensemble import simulate_batch
    from sim.scenario.load import load

    spec = load("baseline")
    seeds = replication_seeds(3, rows)
    started = time.perf_counter()
    tally = simulate_batch(spec, seeds, days, tables="summary")
    attacks = np.diff(tally.cum_attacks, axis=0)  # (days, rows)
    np.percentile(attacks, [5, 50, 95], axis=1)
    return time.perf_counter() - started


def batch_costs(sizes: list[int], days: int = 120) -> list[float]:
    """Milliseconds per replication for each batch size."""
    return [1000.0 / ensemble_rate(n, days) for n in sizes]


def plot(sizes: list[int], costs: list[float], agent_ms: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.loglog(sizes, costs, "o-", label="ensemble engine (one batch)")
    ax.axhline(agent_ms, color="tab:red", linestyle="--", label="agent engine")
    ax.set_xlabel("replications in one batch")
    ax.set_ylabel("ms per replication (120 days, one core)")
    ax.set_title("Cost per replication as the batch grows")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def first_call(cold: bool) -> str:
    """Seconds to import the engine and to make its first calls, in a fresh process; with
    ``cold`` the compiled code's cache is an empty folder (so everything compiles)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, **({"NUMBA_CACHE_DIR": cache} if cold else {}))
        out = subprocess.run([sys.executable, "-c", FIRST_CALL_CHILD], capture_output=True,
                             text=True, cwd=HERE.parent, env=env, check=True).stdout.split()
    return (f"imports {out[0]} s, first call (summary tables) {out[1]} s, first call with all "
            f"tables {out[2]} s")


def peak_memory(replications: int) -> tuple[float, str]:
    """Peak RSS (MB) of the whole process tree of a summary-only ensemble run."""
    import psutil

    child = subprocess.Popen([sys.executable, "-c", MEMORY_CHILD, str(replications)],
                             stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    peak = 0.0
    process = psutil.Process(child.pid)
    while child.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree) / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.2)
    return peak, (child.stdout.read() if child.stdout else "").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, no 10^6 run")
    parser.add_argument("--pairs", type=int, default=3, help="pairs of rate measurements")
    parser.add_argument("--skip-memory", action="store_true", help="no 10^6 run")
    parser.add_argument("--ratio-only", action="store_true",
                        help="only the rates of the two engines and their ratio")
    args = parser.parse_args()
    rows = 2000 if args.quick else 10_000
    agents, ensembles, ratios = [], [], []
    for _ in range(args.pairs):
        agents.append(agents_rate(60 if args.quick else 300))
        ensembles.append(ensemble_rate(rows))
        ratios.append(ensembles[-1] / agents[-1])
        print(f"  pair: agent engine {agents[-1]:.1f} replications/s; ensemble engine "
              f"{ensembles[-1]:.0f} replications/s; ratio {ratios[-1]:.1f}", flush=True)
    agent, ensemble, ratio = (float(np.median(x)) for x in (agents, ensembles, ratios))
    print(f"365 days, summary tables, one core, median of {args.pairs} pairs: agent engine "
          f"{agent:.1f} replications/s; ensemble engine ({rows} rows) {ensemble:.0f} "
          f"replications/s; ratio {ratio:.1f} (target >= 100)", flush=True)
    if args.ratio_only:
        return
    print(f"2,000-replication band of daily attacks, 120 days: {band_seconds():.2f} s "
          "(target < 1 s)", flush=True)
    sizes = [100, 1000, 10_000] if args.quick else [100, 1000, 10_000, 100_000]
    costs = batch_costs(sizes)
    agent_120 = 1000.0 / agents_rate(40 if args.quick else 200, 120)
    for n, c in zip(sizes, costs, strict=True):
        print(f"  batch of {n:>7}: {c:.3f} ms per replication (agent engine {agent_120:.2f})",
              flush=True)
    plot(sizes, costs, agent_120, HERE / "ensemble_batch_cost.png")
    print(f"  -> {HERE / 'ensemble_batch_cost.png'}")
    print(f"first call, cache on disk: {first_call(cold=False)}", flush=True)
    print(f"first call, empty cache (compiling): {first_call(cold=True)}", flush=True)
    if not args.quick and not args.skip_memory:
        peak, out = peak_memory(1_000_000)
        print(f"10^6 replications x 120 days, summary only, 2 workers: peak RSS {peak:.0f} MB "
              f"(target < 2,048 MB); rows and seconds: {out}", flush=True)


if __name__ == "__main__":
    main()
