"""Scenario discovery: the box of conditions under which an outcome of interest happens (PRIM).

Reads a finished ``sim sweep`` or ``sim sensitivity`` folder: its conditions (the swept
values, or the design's values for every declared range) and outcomes. A condition such
as ``open_confrontation>=0.5`` or ``attacks>q90`` marks the cases of interest: the
replications of a sweep (each replication is a case), or the design points of a
sensitivity run (each point's mean over its replications is a case). PRIM (the EMA
Workbench's implementation; Friedman and Fisher 1999, Bryant and Lempert 2010) peels
the space of conditions down to boxes rich in cases of interest; each box is reported
with

* coverage: the share of all cases of interest that fall inside the box;
* density: the share of cases inside the box that are of interest;
* mass: the share of all cases inside the box;
* its restricted dimensions, each with its limits against the range explored and a
  quasi-p value (how likely a restriction this strong is by chance).

From the peeling trajectory the reported box is the one with the highest coverage among
those with at least the asked density and at most the asked number of restricted
dimensions (or, if none reaches the density, the densest such box, flagged).
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from sim.analysis.plots import _figure, _save
from sim.experiment.files import write_folder_atomic

OPERATORS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
PATTERN = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<)\s*(q?)(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$")


class DiscoverError(ValueError):
    """A discovery that cannot run as asked, saying why."""


@dataclass(frozen=True)
class Condition:
    """An outcome of interest: ``outcome op value``, the value a number or a quantile."""

    outcome: str
    op: str
    value: float
    quantile: bool = False

    def threshold(self, values: np.ndarray) -> float:
        """The number compared against (the quantile of ``values`` for ``qNN``)."""
        if not self.quantile:
            return self.value
        return float(np.nanquantile(values, self.value / 100))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Which cases are of interest (a missing value never is)."""
        values = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return np.isfinite(values) & OPERATORS[self.op](values, self.threshold(values))

    def __str__(self) -> str:
        value = f"q{self.value:g}" if self.quantile else f"{self.value:g}"
        return f"{self.outcome}{self.op}{value}"


def parse_condition(text: str, outcomes: list[str]) -> Condition:
    """``OUTCOME>VALUE`` (also ``>=``, ``<``, ``<=``; VALUE a number or ``qNN``, a percentile)."""
    match = PATTERN.match(text)
    if not match:
        raise DiscoverError(f"--where {text!r}: write OUTCOME>VALUE (or >=, <, <=), VALUE a "
                            "number or qNN for a percentile, e.g. open_confrontation>=0.5 or "
                            "attacks>q90")
    outcome, op, quantile, number = match.groups()
    if outcome not in outcomes:
        raise DiscoverError(f"--where {text!r}: no outcome {outcome!r}; allowed: "
                            f"{', '.join(outcomes)}")
    value = float(number)
    if quantile and not 0 < value < 100:
        raise DiscoverError(f"--where {text!r}: a percentile qNN takes NN between 0 and 100")
    return Condition(outcome, op, value, bool(quantile))


def load_cases(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], str]:
    """The conditions (one column per varied value), the outcomes and the metadata of a sweep
    or sensitivity folder, and what a case is (``"replication"`` or ``"design point"``).
    """
    folder = Path(folder)
    meta_file = folder / "metadata.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DiscoverError(f"{folder}: no metadata.json; give the folder of a finished "
                            "`sim sweep` or `sim sensitivity`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DiscoverError(f"{meta_file}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise DiscoverError(f"{meta_file}: not a metadata object")
    try:
        if "axes" in meta:
            summary = pd.read_csv(folder / "summary.csv")
            paths = list(meta["axes"])
            outcomes = summary.drop(columns=["point", "replication", "seed", *paths])
            return summary[paths].astype(float), outcomes, meta, "replication"
        if "method" in meta:
            design = pd.read_parquet(folder / "design.parquet")
            scores = pd.read_csv(folder / "scores.csv").sort_values("point")
            outcomes = scores[[c for c in scores.columns
                               if c != "point" and not c.endswith("_var")]]
            return design.astype(float), outcomes.reset_index(drop=True), meta, "design point"
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise DiscoverError(f"{folder}: an incomplete sweep or sensitivity folder ({exc})") \
            from None
    raise DiscoverError(f"{meta_file}: neither a sweep (no 'axes') nor a sensitivity run (no "
                        "'method'); give the folder of `sim sweep` or `sim sensitivity`")


@dataclass
class Box:
    """One box found by PRIM, at the chosen point of its peeling trajectory."""

    stats: dict[str, float]
    limits: pd.DataFrame
    trajectory: pd.DataFrame
    chosen: int
    meets_density: bool

    def describe(self, digits: int = 3) -> str:
        """The box in words: its restricted dimensions and what it holds."""
        if self.limits.empty:
            where = "no restriction (the cases of interest are spread over the whole space)"
        else:
            parts = []
            for row in self.limits.itertuples():
                low_cut = row.low > row.range_low
                high_cut = row.high < row.range_high
                if low_cut and high_cut:
                    parts.append(f"{row.dimension} in [{row.low:.{digits}g}, {row.high:.{digits}g}]")
                elif low_cut:
                    parts.append(f"{row.dimension} >= {row.low:.{digits}g}")
                else:
                    parts.append(f"{row.dimension} <= {row.high:.{digits}g}")
                parts[-1] += f" (explored {row.range_low:.{digits}g} to {row.range_high:.{digits}g})"
            where = " and ".join(parts)
        return (f"{where}: coverage {self.stats['coverage']:.2f}, density "
                f"{self.stats['density']:.2f}, mass {self.stats['mass']:.3f}")


def find_boxes(x: pd.DataFrame, interest: np.ndarray, *, density: float = 0.8,
               max_dims: int = 4, boxes: int = 1, peel_alpha: float = 0.05,
               mass_min: float = 0.05) -> list[Box]:
    """Run PRIM and choose a box on each peeling trajectory.

    Args:
        x: conditions, one column per varied value (constant columns are dropped).
        interest: which cases are of interest (booleans, one per row of ``x``).
        density: the least density a chosen box should have.
        max_dims: the most restricted dimensions a chosen box may have.
        boxes: how many boxes to find (each next one among the cases left outside).
        peel_alpha: the share of cases peeled at each step.
        mass_min: the least mass a box may have.

    """
    try:
        with warnings.catch_warnings():  # the Workbench warns that ipyparallel is missing
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError:
        raise DiscoverError('sim discover needs the EMA Workbench: pip install -e ".[ema]"') \
            from None
    interest = np.asarray(interest, dtype=bool)
    if not interest.any():
        raise DiscoverError("no case is of interest: loosen --where")
    if interest.all():
        raise DiscoverError("every case is of interest: tighten --where")
    varied = x.loc[:, x.nunique() > 1].reset_index(drop=True)
    if varied.empty:
        raise DiscoverError("no condition varies in this folder")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        algorithm = prim.Prim(varied, interest.astype(int), peel_alpha=peel_alpha,
                              mass_min=mass_min)
        found = []
        for _ in range(boxes):
            box = algorithm.find_box()
            if box is None:
                break
            found.append(_choose(box, varied, density, max_dims))
    return found


def _choose(box: Any, x: pd.DataFrame, density: float, max_dims: int) -> Box:
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    allowed = trajectory[trajectory["res_dim"] <= max_dims]
    if allowed.empty:
        allowed = trajectory.iloc[:1]
    dense = allowed[allowed["density"] >= density]
    meets = not dense.empty
    chosen = int(dense["coverage"].idxmax() if meets else allowed["density"].idxmax())
    stats, _ = box.inspect(chosen, style="data")[0]
    lims, qp = box.box_lims[chosen], box.p_values[chosen]
    rows = []
    for dim in qp:
        low, high = float(lims[dim].iloc[0]), float(lims[dim].iloc[1])
        rows.append({"dimension": dim, "low": low, "high": high,
                     "range_low": float(x[dim].min()), "range_high": float(x[dim].max()),
                     "qp_low": _qp(qp[dim][0]), "qp_high": _qp(qp[dim][1])})
    limits = pd.DataFrame(rows, columns=["dimension", "low", "high", "range_low", "range_high",
                                         "qp_low", "qp_high"])
    keep = ("coverage", "density", "mass", "res_dim", "n")
    return Box({k: float(stats[k]) for k in keep}, limits, trajectory, chosen, meets)


def _qp(value: float) -> float:
    return float("nan") if value is None or value < 0 else float(value)


@dataclass
class Discovery:
    """A finished discovery: the condition, the cases and the boxes."""

    condition: Condition
    threshold: float
    cases: int
    of_interest: int
    unit: str
    boxes: list[Box]
    metadata: dict[str, Any] = field(default_factory=dict)

    def report(self) -> str:
        """The findings in words, one paragraph per box."""
        lines = [f"{self.condition} (threshold {self.threshold:.4g}) in {self.of_interest:,} of "
                 f"{self.cases:,} {self.unit}s ({self.of_interest / self.cases:.1%})."]
        for k, box in enumerate(self.boxes, 1):
            flag = "" if box.meets_density else (
                f" (no box on the trajectory reaches density {self.metadata['density']}: "
                "the densest is shown)")
            lines.append(f"Box {k}{flag}: {box.describe()}.")
        return "\n".join(lines)

    def write(self, out: Path) -> Path:
        """Write discover.md, boxes.csv, trajectory.csv, the figures and metadata.json into a
        new folder, atomically.
        """
        return write_folder_atomic(out, self.write_into)

    def write_into(self, folder: Path) -> None:
        """Write the files into an existing folder."""
        from tabulate import tabulate

        limits = pd.concat([b.limits.assign(box=k) for k, b in enumerate(self.boxes, 1)],
                           ignore_index=True) if self.boxes else pd.DataFrame()
        limits.to_csv(folder / "boxes.csv", index=False)
        trajectory = pd.concat([b.trajectory.assign(box=k, chosen=b.trajectory.index == b.chosen)
                                for k, b in enumerate(self.boxes, 1)], ignore_index=True)
        trajectory.to_csv(folder / "trajectory.csv", index=False)
        plot_tradeoff(self, folder / "tradeoff.png")
        plot_boxes(self, folder / "boxes.png")
        (folder / "metadata.json").write_text(json.dumps(self.metadata, indent=2, default=str))
        parts = [f"# Scenario discovery: {self.condition}\n", self.report() + "\n"]
        for k, box in enumerate(self.boxes, 1):
            parts += [f"## Box {k}\n",
                      tabulate(pd.DataFrame([box.stats]), headers="keys", tablefmt="github",
                               showindex=False, floatfmt=".3g"), "",
                      tabulate(box.limits, headers="keys", tablefmt="github", showindex=False,
                               floatfmt=".4g")]
        (folder / "discover.md").write_text("\n".join(parts) + "\n", encoding="utf-8")


def plot_tradeoff(found: Discovery, path: Path) -> Path:
    """Coverage against density along each peeling trajectory, the chosen box marked."""
    fig = _figure(5.5, 4.2)
    ax = fig.subplots()
    for k, box in enumerate(found.boxes, 1):
        t = box.trajectory
        points = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=14,
                            marker="o" if k == 1 else "s")
        ax.scatter([t["coverage"].iloc[box.chosen]], [t["density"].iloc[box.chosen]], s=120,
                   facecolors="none", edgecolors="red", linewidths=1.5,
                   label=f"box {k} (chosen)")
        if k == 1:
            fig.colorbar(points, ax=ax, label="restricted dimensions").locator = \
                MaxNLocator(integer=True)
    ax.set_xlabel("coverage (share of the cases of interest inside)")
    ax.set_ylabel("density (share inside that is of interest)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"PRIM peeling trajectory: {found.condition}", fontsize=10)
    return _save(fig, path)


def plot_boxes(found: Discovery, path: Path) -> Path:
    """Each restricted dimension on its explored range (0 to 1), the box's limits drawn."""
    rows = [(k, r) for k, b in enumerate(found.boxes, 1) for r in b.limits.itertuples()]
    fig = _figure(7, 1.2 + 0.45 * max(1, len(rows)))
    ax = fig.subplots()
    for y, (k, row) in enumerate(rows[::-1]):
        span = (row.range_high - row.range_low) or 1.0
        low, high = (row.low - row.range_low) / span, (row.high - row.range_low) / span
        ax.plot([0, 1], [y, y], color="lightgray", linewidth=6, solid_capstyle="butt")
        ax.plot([low, high], [y, y], color=f"C{k - 1}", linewidth=6, solid_capstyle="butt")
        ax.text(low, y + 0.28, f"{row.low:.3g}", fontsize=7, ha="center")
        ax.text(high, y + 0.28, f"{row.high:.3g}", fontsize=7, ha="center")
    ax.set_yticks(range(len(rows)), [f"box {k}: {r.dimension}"[:48] for k, r in rows[::-1]],
                  fontsize=8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.7, len(rows) - 0.3 if rows else 0.7)
    ax.set_xlabel("position in the range explored (0 = lowest, 1 = highest)")
    ax.set_title(f"Where {found.condition} happens", fontsize=10)
    return _save(fig, path)
