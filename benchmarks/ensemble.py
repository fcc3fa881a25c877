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
  runner with 2 workers (chunks of 10,000 rows), sampled over the whole process tree.

Usage::

    .venv/bin/python benchmarks/ensemble.py            # everything (about 15 minutes)
    .venv/bin/python benchmarks/ensemble.py --quick    # smaller counts, no 10^6 run
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

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
    import numpy as np

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
    args = parser.parse_args()
    agent = agents_rate(60 if args.quick else 300)
    rows = 2000 if args.quick else 10_000
    ensemble = ensemble_rate(rows)
    print(f"365 days, summary tables, one core: agent engine {agent:.1f} replications/s; "
          f"ensemble engine ({rows} rows) {ensemble:.0f} replications/s; ratio "
          f"{ensemble / agent:.1f} (target >= 100)", flush=True)
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
    if not args.quick:
        peak, out = peak_memory(1_000_000)
        print(f"10^6 replications x 120 days, summary only, 2 workers: peak RSS {peak:.0f} MB "
              f"(target < 2,048 MB); rows and seconds: {out}", flush=True)


if __name__ == "__main__":
    main()
