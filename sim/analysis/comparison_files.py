"""The files of a comparison folder: tables, Markdown, figures and the reused run folders.

Written into the comparison's in-progress folder, which is renamed into place only
when every file is there (see :class:`sim.experiment.store.RunStore`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sim.analysis import comparison_markdown, plots
from sim.analysis.stats import bands, weekly_attacks
from sim.experiment.files import write_text_atomic
from sim.experiment.results import RunResult, StoredRunResult

if TYPE_CHECKING:
    import pandas as pd

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
    write_figures(folder, runs, table, reference, int(meta["days"]))
    write_text_atomic(folder / "metadata.json", json.dumps(meta, indent=2, default=str))
    for result in runs.values():  # the tables read for the figures are not needed again
        if isinstance(result, StoredRunResult):
            result.release()


def write_figures(folder: Path, runs: Mapping[str, RunResult], table: pd.DataFrame,
                  reference: str, days: int) -> list[Path]:
    """weekly_attacks.png, stability.png and differences.png of a comparison, into ``folder``."""
    weekly = {label: bands(weekly_attacks(r.daily), by="week") for label, r in runs.items()}
    stability = {label: bands(r.daily, by="day", value="stability") for label, r in runs.items()}
    return [plots.plot_bands(weekly, reference, Path(folder) / "weekly_attacks.png",
                             ylabel="attacks per 7 days",
                             title="Weekly attacks on coalition sites (median and 90% band)"),
            plots.plot_bands(stability, reference, Path(folder) / "stability.png",
                             ylabel="stability index (0-1)",
                             title="Iraqi stability index (median and 90% band)",
                             from_zero=False),
            plots.plot_differences(table, Path(folder) / "differences.png", days=days)]


def markdown_report(comparison: Comparison) -> str:
    """comparison.md: settings, figures, clear differences and one section per outcome
    (see :mod:`sim.analysis.comparison_markdown`).
    """
    return comparison_markdown.markdown_report(comparison)
