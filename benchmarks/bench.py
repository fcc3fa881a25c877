"""Benchmark the runner on the baseline scenario (365 days, daily data recorded).

Prints: median ms per replication on one core; runs/s with 1 and 2 workers and the
speed-up (pairs of runs taken in turn, so a slow spell of a shared machine hits both
sides); the end-to-end speed-up of the command ``sim run baseline --reps 400 --days
365`` with 2 workers against 1 (whole processes, start-up and files included); the
machine's own ceiling for that speed-up (two independent processes that share
nothing); how well common random numbers pair (paired over unpaired interval width,
``sim compare baseline drawdown persuasion_led --reps 60``); Mesa's ``batch_run`` on
the same model (see mesa_adapter.py) and our throughput relative to it; peak resident
memory of a 10,000-run sweep streamed to disk, measured in a subprocess. Usage::

    .venv/bin/python benchmarks/bench.py            # full (several minutes)
    .venv/bin/python benchmarks/bench.py --quick    # smaller counts
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

DAYS = 365


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"nproc={os.cpu_count()}, cpu={cpu}, python={platform.python_version()}, "
            f"load average={os.getloadavg()[0]:.2f}")


def per_replication(repeats: int) -> list[float]:
    """Milliseconds of each of ``repeats`` replications (after one warm-up)."""
    from sim.experiment.plan import replication_seeds
    from sim.model.model import simulate
    from sim.scenario.load import load

    spec = load("baseline")
    seeds = replication_seeds(1, repeats + 1)
    simulate(spec, seeds[0], DAYS)  # warm-up
    times = []
    for seed in seeds[1:]:
        started = time.perf_counter()
        simulate(spec, seed, DAYS)
        times.append((time.perf_counter() - started) * 1e3)
    return times


def end_to_end(workers: int, reps: int = 400) -> float:
    """Wall seconds of the whole command ``sim run baseline --reps R --days 365 --workers W``."""
    sim = Path(sys.executable).with_name("sim")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([str(sim), "run", "baseline", "--reps", str(reps), "--days", str(DAYS),
                        "--workers", str(workers), "--out", str(Path(tmp) / "run")],
                       check=True, stdout=subprocess.DEVNULL, cwd=HERE.parent)
        return time.perf_counter() - started


def crn_ratios(seeds: list[int], reps: int = 60) -> dict[tuple[str, str], list[float]]:
    """Paired over unpaired 95% interval width of each difference from the baseline.

    The comparison of ``sim compare baseline drawdown persuasion_led --reps 60`` (its
    default root seed first, then others): for attacks and injuries, the width of the
    paired interval of the difference over the width of the scenario's own interval.
    """
    import sim

    ratios: dict[tuple[str, str], list[float]] = {}
    for seed in seeds:
        table = sim.compare(["baseline", "drawdown", "persuasion_led"], replications=reps,
                            seed=seed, workers=2).table
        for row in table[(table["scenario"] != "baseline")
                         & table["metric"].isin(["attacks", "injuries"])].itertuples():
            width = (row.diff_ci_high - row.diff_ci_low) / (row.ci_high - row.ci_low)
            ratios.setdefault((row.scenario, row.metric), []).append(width)
    return ratios


def throughput(runs: int, workers: int) -> float:
    """Replications per second of ``runner.run`` in memory (the runner alone)."""
    from sim.experiment import runner
    from sim.scenario.load import load

    spec = load("baseline")
    started = time.perf_counter()
    result = runner.run(spec, replications=runs, days=DAYS, seed=1, workers=workers)
    elapsed = time.perf_counter() - started
    assert len(result.summary) == runs
    return runs / elapsed


def batch_run_throughput(runs: int, processes: int) -> float:
    import mesa
    from mesa_adapter import BatchIraqModel

    started = time.perf_counter()
    out = mesa.batch_run(BatchIraqModel, parameters={"days": DAYS}, number_processes=processes,
                         data_collection_period=1, max_steps=DAYS,
                         display_progress=False, rng=list(range(runs)))
    elapsed = time.perf_counter() - started
    assert len(out) == runs * DAYS
    return runs / elapsed


CEILING_CHILD = """
import sys, time
from sim.experiment.plan import replication_seeds
from sim.model.model import simulate
from sim.scenario.load import load
spec = load("baseline"); n = int(sys.argv[1])
seeds = replication_seeds(2, n + 1)
simulate(spec, seeds[0], 365)
print("ready", flush=True)
sys.stdin.readline()
started = time.perf_counter()
for seed in seeds[1:]:
    simulate(spec, seed, 365)
print(time.perf_counter() - started, flush=True)
"""


def independent_throughput(runs: int, processes: int) -> float:
    """Runs/s of ``processes`` independent single-core loops started together.

    Each process runs ``runs`` replications in a plain loop; nothing is sent between
    them. Their combined rate over the rate of one is the most any runner could gain
    from more processes on this machine.
    """
    procs = [subprocess.Popen([sys.executable, "-c", CEILING_CHILD, str(runs)], cwd=HERE.parent,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(processes)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    elapsed = [float(proc.stdout.readline()) for proc in procs]
    for proc in procs:
        proc.wait()
    return processes * runs / max(elapsed)


SWEEP_CHILD = """
import sys
from pathlib import Path
from sim.experiment import runner
from sim.scenario.load import load
out = Path(sys.argv[1]); runs = int(sys.argv[2]); workers = int(sys.argv[3])
result = runner.run(load("baseline"), replications=runs, days=365, seed=1, workers=workers, out=out)
print(len(result.summary), result.metadata["wall_time_s"])
"""


def sweep_memory(runs: int, workers: int) -> tuple[float, float, float, float]:
    """Peak RSS (MB) of a streamed sweep: whole process tree (sampled) and largest process."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep"
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", SWEEP_CHILD, str(out), str(runs),
                                 str(workers)], cwd=HERE.parent, stdout=subprocess.PIPE,
                                text=True)
        parent = psutil.Process(proc.pid)
        peak_tree = peak_one = 0
        while proc.poll() is None:
            try:
                procs = [parent, *parent.children(recursive=True)]
                rss = [p.memory_info().rss for p in procs]
            except psutil.Error:
                continue
            peak_tree = max(peak_tree, sum(rss))
            peak_one = max(peak_one, max(rss))
            time.sleep(0.1)
        stdout = proc.communicate()[0]
        assert proc.returncode == 0, stdout
        elapsed = time.perf_counter() - started
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    return peak_tree / 1e6, peak_one / 1e6, elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument("--runs", type=int, help="runs for the throughput tests")
    parser.add_argument("--sweep", type=int, help="runs in the memory sweep")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-batch-run", action="store_true")
    parser.add_argument("--skip-crn", action="store_true")
    parser.add_argument("--pairs", type=int, default=5,
                        help="1-worker/2-worker pairs of runs (median reported)")
    args = parser.parse_args()
    runs = args.runs or (200 if args.quick else 1000)
    sweep = args.sweep or (1000 if args.quick else 10_000)
    print(f"machine: {machine()}")
    print(f"baseline scenario, {DAYS} days, daily data recorded")
    times = per_replication(10 if args.quick else 30)
    q1, median, q3 = statistics.quantiles(times, n=4)
    print(f"one core: median {median:.2f} ms per replication (quartiles {q1:.2f}-{q3:.2f})")
    cold = throughput(runs, 2)  # includes starting the forkserver (once per session)
    pairs = []
    for _ in range(args.pairs):  # in turn, so a slow spell of the machine hits both
        pairs.append((throughput(runs, 1), throughput(runs, 2)))
    for one, two in pairs:
        print(f"runner, {runs} runs: 1 worker {one:.1f} runs/s; 2 workers {two:.1f} runs/s; "
              f"speed-up {two / one:.2f}")
    one = statistics.median(p[0] for p in pairs)
    two = statistics.median(p[1] for p in pairs)
    speedup = statistics.median(p[1] / p[0] for p in pairs)
    print(f"runner, median of {len(pairs)} pairs: 1 worker {one:.1f} runs/s; 2 workers "
          f"{two:.1f} runs/s; speed-up {speedup:.2f} (target >= 1.8)")
    print(f"  2 workers, first pool of the session (worker start-up included): "
          f"{cold:.1f} runs/s")
    ends = []
    for _ in range(args.pairs):
        ends.append((end_to_end(1), end_to_end(2)))
    print("end to end, `sim run baseline --reps 400 --days 365`: " + "; ".join(
        f"{a:.2f} s / {b:.2f} s = {a / b:.2f}" for a, b in ends))
    print(f"end to end, median of {len(ends)} pairs: 1 worker {statistics.median(a for a, _ in ends):.2f} s, "
          f"2 workers {statistics.median(b for _, b in ends):.2f} s, speed-up "
          f"{statistics.median(a / b for a, b in ends):.2f} (target >= 1.7)")
    ceiling = []
    for _ in range(args.pairs):
        alone = independent_throughput(runs // 4, 1)
        ceiling.append(independent_throughput(runs // 4, 2) / alone)
    print(f"machine ceiling: 2 independent processes, {runs // 4} runs each, no runner: "
          f"{statistics.median(ceiling):.2f}x one process "
          f"(each pair: {', '.join(f'{c:.2f}' for c in ceiling)})")
    if not args.skip_crn:
        ratios = crn_ratios([20231017, *range(1, 5)] if not args.quick else [20231017])
        for (scenario, metric), values in ratios.items():
            print(f"common random numbers, {scenario} {metric}: paired / unpaired interval "
                  f"width {values[0]:.2f} at the default seed" + (
                      f"; over {len(values)} root seeds median {statistics.median(values):.2f}, "
                      f"max {max(values):.2f}" if len(values) > 1 else "")
                  + " (target <= 0.5 for attacks)")
    if not args.skip_batch_run:
        b1 = batch_run_throughput(runs, 1)
        b2 = batch_run_throughput(runs, 2)
        print(f"mesa.batch_run, {runs} runs: 1 process {b1:.1f} runs/s; 2 processes "
              f"{b2:.1f} runs/s")
        print(f"runner / batch_run throughput: 1 worker {one / b1:.2f}x; 2 workers "
              f"{two / b2:.2f}x (target >= 2x)")
    if not args.skip_sweep:
        tree, one_proc, elapsed, size = sweep_memory(sweep, 2)
        print(f"sweep of {sweep} runs streamed to disk (2 workers): {elapsed:.0f} s, "
              f"folder {size:.0f} MB, peak RSS {tree:.0f} MB whole process tree "
              f"(largest process {one_proc:.0f} MB) (target < 1500 MB)")


if __name__ == "__main__":
    main()
