"""The files of a comparison folder: tables, Markdown, figures and the reused run folders.

Written into the comparison's in-progress folder, which is renamed into place only
when every file is there (see :class:`sim.experiment.store.RunStore`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from sim.analysis import compare, plots
from sim.analysis.stats import bands, weekly_attacks
from sim.experiment.files import write_text_atomic
from sim.experiment.results import StoredRunResult

if TYPE_CHECKING:
    from sim.analysis.comparison import Comparison


def write_comparison_files(folder: Path, comparison: Comparison) -> None:
    """Fill the comparison folder (run subfolders of scenarios run here are already in it)."""
    import pandas as pd

    folder = Path(folder)
    meta, table, runs = comparison.metadata, comparison.table, comparison.runs
    reference = comparison.reference
    for label, result in runs.items():
        target = folder / label
        if not target.exists():  # a run folder reused from elsewhere, or an in-memory run
            target.mkdir()
            result.write_into(target)
    write_text_atomic(folder / "comparison.csv", table.to_csv(index=False))
    write_text_atomic(folder / "comparison.md", markdown_report(comparison))
    write_text_atomic(folder / "summary.csv", comparison.summary().to_csv(index=False))
    write_text_atomic(folder / "scenarios.csv", comparison.scenarios().to_csv(index=False))
    failures = [r.failures.assign(scenario=label) for label, r in runs.items() if len(r.failures)]
    if failures:
        write_text_atomic(folder / "failures.csv",
                          pd.concat(failures, ignore_index=True).to_csv(index=False))
    weekly = {label: bands(weekly_attacks(r.daily), by="week") for label, r in runs.items()}
    plots.plot_bands(weekly, reference, folder / "weekly_attacks.png",
                     ylabel="attacks per 7 days",
                     title="Weekly attacks on coalition sites (median and 90% band)")
    stability = {label: bands(r.daily, by="day", value="stability") for label, r in runs.items()}
    plots.plot_bands(stability, reference, folder / "stability.png", ylabel="stability index",
                     title="Iraqi stability index (median and 90% band)", from_zero=False)
    plots.plot_differences(table, folder / "differences.png")
    write_text_atomic(folder / "metadata.json", json.dumps(meta, indent=2, default=str))
    for result in runs.values():  # the tables read for the figures are not needed again
        if isinstance(result, StoredRunResult):
            result.release()


def markdown_report(comparison: Comparison) -> str:
    """comparison.md: a short header, then the full table."""
    meta = comparison.metadata
    failed = (f"\n\n{meta['failed']} replication(s) failed (failures.csv); the comparison "
              "uses the seeds that completed in every scenario." if meta["failed"] else "")
    return (
        f"# Comparison with {meta['reference']}\n\n"
        f"{len(meta['scenarios'])} scenarios, {meta['replications']} replications each, "
        f"{meta['days']} days, root seed {meta['root_seed']} (the same replication seeds "
        f"for every scenario).{failed}\n\n"
        "`mean` and its 95% t-interval over replications; `diff`: mean of the per-replication "
        f"differences from {meta['reference']} (paired by seed) and its 95% t-interval; "
        "`*`: that interval excludes zero. See docs/compare.md.\n\n"
        + compare.markdown(comparison.table))
