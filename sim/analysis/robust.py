"""A robust lever search's tables and figures: the Pareto set and where shipped policies sit.

Written by ``sim robust``: every mix tried (levers, objectives, feasible, on the
front), the feasible Pareto set, the shipped policy scenarios scored in the same
futures (and which mixes of the set beat them on every objective), the futures
themselves, a Markdown summary and a figure of the trade-offs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.plots import _figure, _save
from sim.experiment.files import write_folder_atomic
from sim.experiment.robust import LEVERS, Criteria, dominated_by

SHORT = {path: path.rsplit(".", 1)[-1] for path in LEVERS}
"""Lever columns by their last word in printed tables."""


@dataclass
class Robust:
    """A finished search: mixes tried, shipped policies, futures, criteria, metadata."""

    trials: pd.DataFrame
    policies: pd.DataFrame
    futures: pd.DataFrame
    criteria: Criteria
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def front(self) -> pd.DataFrame:
        """The feasible mixes no other feasible mix beats on every objective, by attacks."""
        return self.trials[self.trials["pareto"]].sort_values("attacks_q").reset_index(drop=True)

    def placed_policies(self) -> pd.DataFrame:
        """The shipped policies, with the mixes of the set that beat them on every objective."""
        table = self.policies.copy()
        table["beaten_by_trials"] = dominated_by(table, self.front) if len(self.front) else ""
        return table

    def summary(self) -> str:
        """Two sentences: how many mixes, how many feasible, how many on the front."""
        c = self.criteria
        return (f"{len(self.trials)} lever mixes, each in {len(self.futures)} futures x "
                f"{self.metadata.get('replications')} replications; "
                f"{int(self.trials['feasible'].sum())} keep the chance of open confrontation "
                f"<= {c.max_confrontation:g} and the q{100 * (1 - c.quantile):.0f} of minimum "
                f"stability >= {c.min_stability:g}; {len(self.front)} of them form the Pareto "
                f"set (q{100 * c.quantile:.0f} of attacks, confrontation, stability).")

    def printable(self, table: pd.DataFrame) -> pd.DataFrame:
        """Short column names for printing."""
        return table.rename(columns=SHORT)

    def write(self, out: Path) -> Path:
        """Write the tables, robust.md, pareto.png and metadata.json into a new folder."""
        return write_folder_atomic(out, self.write_into)

    def write_into(self, folder: Path) -> None:
        """Write the files into an existing folder."""
        from tabulate import tabulate

        self.trials.to_csv(folder / "trials.csv", index=False)
        self.front.to_csv(folder / "pareto.csv", index=False)
        placed = self.placed_policies()
        placed.to_csv(folder / "policies.csv", index=False)
        self.futures.to_parquet(folder / "futures.parquet", index=False)
        plot_pareto(self, folder / "pareto.png")
        (folder / "metadata.json").write_text(json.dumps(self.metadata, indent=2, default=str))
        columns = ["trial", *LEVERS, "attacks_q", "confrontation", "stability_low",
                   "attacks_mean"]
        parts = [f"# Robust levers: `{self.metadata.get('scenario')}`\n", self.summary(), "",
                 "## Pareto set (feasible mixes)\n",
                 tabulate(self.printable(self.front[columns]), headers="keys",
                          tablefmt="github", showindex=False, floatfmt=".3g"),
                 "\n## Shipped policies in the same futures\n",
                 "A policy with `other_changes` is more than a lever mix (events, the "
                 "coalition's posture, the adaptive rule, the patron): the front was not "
                 "searched over those, so being beaten or not says less about it.\n",
                 tabulate(self.printable(placed[["scenario", *LEVERS, "attacks_q",
                                                 "confrontation", "stability_low", "feasible",
                                                 "beaten_by_trials", "other_changes"]]),
                          headers="keys", tablefmt="github", showindex=False, floatfmt=".3g")]
        (folder / "robust.md").write_text("\n".join(parts) + "\n", encoding="utf-8")


def plot_pareto(found: Robust, path: Path) -> Path:
    """Attacks in a bad future against confrontation risk and against stability: every mix
    tried (grey: breaks the cap or the floor), the Pareto set, and the shipped policies.
    """
    c = found.criteria
    fig = _figure(11, 4.4)
    axes = fig.subplots(1, 2)
    trials, front, policies = found.trials, found.front, found.policies
    for ax, y, label in ((axes[0], "confrontation", "chance of open confrontation"),
                         (axes[1], "stability_low",
                          f"minimum stability, q{100 * (1 - c.quantile):.0f} of futures")):
        bad = trials[~trials["feasible"]]
        ok = trials[trials["feasible"]]
        ax.scatter(bad["attacks_q"], bad[y], s=10, color="lightgray", label="infeasible mix")
        ax.scatter(ok["attacks_q"], ok[y], s=12, color="tab:blue", alpha=0.5,
                   label="feasible mix")
        ax.scatter(front["attacks_q"], front[y], s=30, color="tab:red", label="Pareto set")
        ax.scatter(policies["attacks_q"], policies[y], s=60, marker="D", color="black",
                   label="shipped policy")
        for row in policies.itertuples():
            ax.annotate(row.scenario, (row.attacks_q, getattr(row, y)), fontsize=7,
                        xytext=(4, 3), textcoords="offset points")
        limit = c.max_confrontation if y == "confrontation" else c.min_stability
        ax.axhline(limit, color="tab:red", linestyle=":", linewidth=1,
                   label="cap" if y == "confrontation" else "floor")
        ax.set_xlabel(f"attacks over {found.metadata.get('days')} days, q{100 * c.quantile:.0f} "
                      "of futures")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Lever mixes across {len(found.futures)} futures "
                 f"({found.metadata.get('scenario')})", fontsize=11)
    return _save(fig, path)
