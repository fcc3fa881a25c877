"""History matching: rule out the worlds whose calibration-window output is implausible.

A candidate world sets every uncertain value a ranges file declares. Each runs the
replay (``historical_2023_24``) over the calibration window only (figures dated up to
14 November 2023), with the same replication seeds in every world, and is compared with
each dated figure ``z`` of that window (cumulative attacks in total, in Iraq and in
Syria; reported injuries; deaths) through the implausibility (Craig et al. 1997;
Vernon, Goldstein and Bower 2010; Andrianakis et al. 2015 for agent-based models)::

    I(x) = |E[f(x)] - z| / sqrt(V_obs + V_md + V_s(x))

* ``E[f(x)]`` and ``V_s(x)``: the mean and variance of the model's figure over the
  world's replications; the record is one realisation, so the whole replication
  variance counts (not its mean's);
* ``V_obs``: the figure's own uncertainty, ``(obs_share * z)^2 + 1`` (a count reported
  "at least" or "about", a day's slippage, a recount);
* ``V_md``: the model discrepancy, ``(discrepancy * z)^2``: how far the best world of
  this model may miss the truth for reasons no parameter mends (the model's structure).

A world is ruled out when its largest implausibility over the figures exceeds the cut-
off (3 by default: Pukelsheim's three-sigma rule holds for any unimodal distribution).
Waves: the first samples the prior box (a Latin hypercube over the declared ranges);
each next wave samples the box around the worlds still in (their range per value,
widened by a twentieth of the prior width), until no value's retained range shrinks by
more than ``--stop`` (default 5%) of its width, or the waves run out. The retained
worlds are the last wave's survivors.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.plots import _figure, _save
from sim.analysis.record import COMPARED_METRICS, calibration_rows, day_index, model_column
from sim.experiment.checkpoint import Checkpoint
from sim.experiment.worlds import figure_chunk, latin_hypercube, run_worlds
from sim.scenario.registry import integer_paths
from sim.scenario.schema import Scenario


class PlausibleError(ValueError):
    """A history match that cannot run or ruled out every world, saying why."""


@dataclass(frozen=True)
class Matching:
    """The history match's settings (every one is stated in the output)."""

    worlds: int = 20_000
    replications: int = 10
    cutoff: float = 3.0
    discrepancy: float = 0.1
    obs_share: float = 0.1
    waves: int = 4
    stop: float = 0.05
    seed: int = 20231017
    window_end: dt.date = dt.date(2023, 11, 14)


def figures(record: pd.DataFrame, spec: Scenario, end: dt.date) -> pd.DataFrame:
    """The calibration-window figures the worlds are matched to, with the model's columns
    and day for each (figures outside the scenario's horizon are left out).
    """
    rows = calibration_rows(record, end).copy()
    rows["day"] = [day_index(d, spec.run.start_date) for d in rows["date"]]
    rows = rows[(rows["day"] >= 1) & (rows["day"] <= spec.run.days)].reset_index(drop=True)
    rows["columns"] = [model_column(m, s) for m, s in zip(rows["metric"], rows["scope"],
                                                             strict=True)]
    if rows.empty:
        raise PlausibleError(f"no figure of the record falls inside {spec.name}'s horizon up "
                             f"to {end}")
    return rows


def implausibility(scores: pd.DataFrame, observed: np.ndarray, matching: Matching
                   ) -> np.ndarray:
    """I per world (rows) and figure (columns) from :func:`figure_chunk`'s means/variances."""
    k = len(observed)
    mean = scores[[f"mean_{i}" for i in range(k)]].to_numpy(float)
    var = scores[[f"var_{i}" for i in range(k)]].to_numpy(float)
    v_obs = (matching.obs_share * observed) ** 2 + 1.0
    v_md = (matching.discrepancy * observed) ** 2
    return np.abs(mean - observed) / np.sqrt(v_obs + v_md + var)


def next_bounds(kept: pd.DataFrame, prior: pd.DataFrame) -> pd.DataFrame:
    """The box the next wave samples: the kept worlds' range per value, widened by a
    twentieth of the prior width, inside the prior.
    """
    pad = (prior.loc["high"] - prior.loc["low"]) / 20
    low = np.maximum(kept.min() - pad, prior.loc["low"])
    high = np.minimum(kept.max() + pad, prior.loc["high"])
    return pd.DataFrame([low, high], index=["low", "high"])


def ranges_table(prior: pd.DataFrame, tried: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """Per value, from the last wave: prior range; retained range (5-95% of kept worlds, and
    min-max); the retained 5-95% width as a share of the prior width; and the share of
    worlds kept in each fifth of the sampled range (``keep_by_fifth``) with its spread
    (``informed``: the largest minus the smallest; near 0, the record says nothing about
    the value; large, it rules out part of its range). Sorted by ``informed``.
    """
    kept = tried[keep]
    width = (prior.loc["high"] - prior.loc["low"]).replace(0, np.nan)
    q05, q95 = kept.quantile(0.05), kept.quantile(0.95)
    fifths = []
    for path in prior.columns:
        values = tried[path].to_numpy(float)
        lo, hi = values.min(), values.max()
        bins = np.clip(((values - lo) / ((hi - lo) or 1.0) * 5).astype(int), 0, 4)
        fifths.append([float(keep[bins == b].mean()) if (bins == b).any() else np.nan
                       for b in range(5)])
    fifths = np.array(fifths)
    table = pd.DataFrame({
        "path": prior.columns, "prior_low": prior.loc["low"].to_numpy(),
        "prior_high": prior.loc["high"].to_numpy(), "kept_q05": q05.to_numpy(),
        "kept_q95": q95.to_numpy(), "kept_min": kept.min().to_numpy(),
        "kept_max": kept.max().to_numpy(), "width_share": ((q95 - q05) / width).to_numpy(),
        "keep_by_fifth": [" ".join(f"{v:.2f}" for v in row) for row in fifths],
        "informed": np.nanmax(fifths, axis=1) - np.nanmin(fifths, axis=1)})
    return table.sort_values("informed", ascending=False).reset_index(drop=True)


@dataclass
class Plausible:
    """A finished history match."""

    kept: pd.DataFrame
    waves: pd.DataFrame
    ranges: pd.DataFrame
    figures: pd.DataFrame
    matching: Matching
    metadata: dict[str, Any] = field(default_factory=dict)
    check: pd.DataFrame | None = None

    def write_into(self, folder: Path) -> None:
        """worlds.parquet, waves.csv, ranges.csv, figures.csv, predictive.csv, plausible.md,
        two figures, metadata.json.
        """
        from tabulate import tabulate

        self.kept.to_parquet(folder / "worlds.parquet", index=False)
        self.waves.to_csv(folder / "waves.csv", index=False)
        self.ranges.to_csv(folder / "ranges.csv", index=False)
        self.figures.to_csv(folder / "figures.csv", index=False)
        plot_ranges(self, folder / "ranges.png")
        plot_pairs(self, folder / "pairs.png")
        settings = {**asdict(self.matching), "window_end": str(self.matching.window_end)}
        (folder / "metadata.json").write_text(json.dumps(
            {**self.metadata, "matching": settings}, indent=2, default=str))
        text = [f"# Plausible worlds of `{self.metadata.get('scenario')}`\n",
                self.summary(), "\n## Waves\n",
                tabulate(self.waves, headers="keys", tablefmt="github", showindex=False),
                "\n## Retained against prior ranges (most informed first)\n",
                tabulate(self.ranges.head(25), headers="keys", tablefmt="github",
                         showindex=False, floatfmt=".4g"),
                "\n## Calibration-window figures and the retained worlds' 90% band\n",
                tabulate(self.figures, headers="keys", tablefmt="github", showindex=False,
                         floatfmt=".4g")]
        if self.check is not None:
            self.check.to_csv(folder / "predictive.csv", index=False)
            text += ["\n## Predictive check: the test window (never used to rule worlds out)\n",
                     tabulate(check_summary(self.check), headers="keys", tablefmt="github",
                              showindex=False, floatfmt=".3g"), "",
                     tabulate(self.check, headers="keys", tablefmt="github", showindex=False,
                              floatfmt=".4g")]
        (folder / "plausible.md").write_text("\n".join(text) + "\n", encoding="utf-8")

    def summary(self) -> str:
        """Tried, kept, and which values the record pins down."""
        last = self.waves.iloc[-1]
        pinned = self.ranges[self.ranges["informed"] >= 0.3]
        waves = f"{len(self.waves)} wave" + ("s" if len(self.waves) != 1 else "")
        return (f"{int(self.waves['tried'].sum()):,} worlds tried in {waves} over "
                f"{len(self.ranges)} uncertain values; {int(last['kept']):,} of the last wave's "
                f"{int(last['tried']):,} are not ruled out (implausibility <= "
                f"{self.matching.cutoff:g} on all {len(self.figures)} figures). "
                f"The record rules out part of the range of {len(pinned)} values (the share of "
                "worlds kept differs by 0.3 or more between fifths of the range"
                + (f": {', '.join(pinned['path'].head(6))}" if len(pinned) else "")
                + "); the others stay unidentified by this record.")


def history_match(spec: Scenario, prior: pd.DataFrame, record: pd.DataFrame,
                  matching: Matching, *, backend: Any = None,
                  checkpoint: Checkpoint | None = None,
                  progress: Callable[[str, int, int], None] | None = None) -> Plausible:
    """Run the waves; a ``checkpoint`` keeps each wave's finished chunks for ``--resume``.

    Args:
        spec: the replay the worlds run (its horizon is cut to the window's last figure).
        prior: the ranges, a frame with rows ``low``/``high`` and one column per path.
        record: the dated public record (:func:`sim.analysis.record.load_record`).
        matching: the settings.
        backend: a started backend, or its name.
        checkpoint: keeps each wave's scores (a wave is sampled again from its seed).
        progress: called with (wave label, done, total) replications.

    """
    points = figures(record, spec, matching.window_end)
    observed = points["value"].to_numpy(float)
    extra = (list(points["columns"]), [int(d) for d in points["day"]])
    whole = integer_paths(spec, list(prior.columns))
    bounds, rows, kept = prior, [], pd.DataFrame()
    for wave in range(1, matching.waves + 1):
        worlds = latin_hypercube(bounds, matching.worlds, matching.seed + wave, whole)
        point = checkpoint.stage(f"wave-{wave}") if checkpoint is not None else None
        done = (lambda n, w=wave: progress(f"wave {w}", n, matching.worlds * matching.replications)
                ) if progress else None
        scores = run_worlds(figure_chunk, spec, worlds, matching.replications, matching.seed,
                            extra, backend=backend, checkpoint=point, progress=done)
        worst = implausibility(scores, observed, matching).max(axis=1)
        keep = worst <= matching.cutoff
        if not keep.any():
            raise PlausibleError(
                f"wave {wave}: all {len(worlds):,} worlds are ruled out (smallest largest "
                f"implausibility {worst.min():.2f} > cut-off {matching.cutoff:g}); widen the "
                "ranges, raise --discrepancy or --cutoff")
        new = worlds[keep].assign(world=np.flatnonzero(keep), max_implausibility=worst[keep],
                                  wave=wave)
        narrowed = next_bounds(new[prior.columns], prior)
        shrink = _shrink(bounds, narrowed)
        rows.append({"wave": wave, "tried": len(worlds), "kept": int(keep.sum()),
                     "kept_share": round(float(keep.mean()), 4),
                     "largest_shrink": round(shrink, 4)})
        kept, bounds, last = new, narrowed, (worlds, keep)
        if shrink < matching.stop:
            break
    paths = list(prior.columns)
    runs = realisations(spec, sample_of(kept, paths, 500, matching.seed), points,
                        matching.replications, matching.seed, backend=backend)
    band = pd.concat([points[["date", "metric", "scope", "value"]].rename(
        columns={"value": "observed"}), band_table(runs, points)], axis=1)
    return Plausible(kept.reset_index(drop=True), pd.DataFrame(rows),
                     ranges_table(prior, *last), band, matching)


def _shrink(before: pd.DataFrame, after: pd.DataFrame) -> float:
    width = (before.loc["high"] - before.loc["low"]).replace(0, np.nan)
    return float(np.nanmax(1 - (after.loc["high"] - after.loc["low"]) / width))


def realisations(spec: Scenario, worlds: pd.DataFrame, points: pd.DataFrame,
                 replications: int, seed: int, *, backend: Any = None) -> np.ndarray:
    """Every replication's value of every figure in every world: shape (runs, figures)."""
    extra = (list(points["columns"]), [int(d) for d in points["day"]], True)
    table = run_worlds(figure_chunk, spec, worlds, replications, seed, extra, backend=backend)
    return table[[f"value_{k}" for k in range(len(points))]].to_numpy(float)


def band_table(values: np.ndarray, points: pd.DataFrame, label: str = "") -> pd.DataFrame:
    """Each figure against the runs' median and 90% band (5-95%), and whether it is inside."""
    low, mid, high = np.quantile(values, [0.05, 0.5, 0.95], axis=0)
    observed = points["value"].to_numpy(float)
    return pd.DataFrame({f"{label}median": mid, f"{label}q05": low, f"{label}q95": high,
                         f"{label}inside": (low <= observed) & (observed <= high)})


def sample_of(kept: pd.DataFrame, paths: list[str], n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` retained worlds (their values only), a fixed random choice."""
    return kept[paths].sample(min(n, len(kept)), random_state=seed).reset_index(drop=True)


def predictive_check(spec: Scenario, kept: pd.DataFrame, paths: list[str],
                     record: pd.DataFrame, matching: Matching, *, worlds: int = 200,
                     backend: Any = None) -> pd.DataFrame:
    """The replay's whole horizon in up to ``worlds`` retained worlds, against the test-window
    figures (dated after the window, never used to rule worlds out), beside the single
    calibrated model run as many times with the same seeds.
    """
    test = record[(record["date"] > matching.window_end)
                  & record["metric"].isin(COMPARED_METRICS)].copy()
    test["day"] = [day_index(d, spec.run.start_date) for d in test["date"]]
    test = test[(test["day"] >= 1) & (test["day"] <= spec.run.days)].reset_index(drop=True)
    test["columns"] = [model_column(m, s) for m, s in zip(test["metric"], test["scope"],
                                                             strict=True)]
    if test.empty:
        raise PlausibleError(f"no test-window figure inside {spec.name}'s horizon")
    chosen = sample_of(kept, paths, worlds, matching.seed)
    ensemble = realisations(spec, chosen, test, matching.replications, matching.seed,
                            backend=backend)
    single = realisations(spec, pd.DataFrame(index=range(1)), test,
                          matching.replications * len(chosen), matching.seed, backend=backend)
    table = test[["date", "metric", "scope", "value"]].rename(columns={"value": "observed"})
    return pd.concat([table, band_table(ensemble, test, "worlds_"),
                      band_table(single, test, "calibrated_")], axis=1)


def check_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the 90% band and error of the median (mean absolute relative error over
    figures above zero), retained worlds beside the calibrated model, by kind of figure.
    """
    kinds = {"attack totals": (table["metric"] == "cumulative_attacks")
             & table["scope"].str.startswith("iraq_syria"),
             "country split": (table["metric"] == "cumulative_attacks")
             & table["scope"].isin(["iraq", "syria"]),
             "injuries and casualties": table["metric"].isin(["cumulative_injuries",
                                                              "cumulative_casualties"]),
             "deaths": table["metric"] == "cumulative_deaths",
             "all": pd.Series(True, index=table.index)}
    rows = []
    for kind, mask in kinds.items():
        part = table[mask]
        if part.empty:
            continue
        positive = part[part["observed"] > 0]
        row = {"figures": kind, "n": len(part)}
        for who in ("worlds_", "calibrated_"):
            row[f"{who}coverage"] = float(part[f"{who}inside"].mean())
            row[f"{who}mare"] = (float(np.mean(np.abs(positive[f"{who}median"]
                                                      - positive["observed"])
                                               / positive["observed"]))
                                 if len(positive) else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def plot_ranges(found: Plausible, path: Path, top: int = 30) -> Path:
    """For the values the record informs most: prior range (grey) and retained 5-95% (blue)
    as shares of the prior; beside it the share of worlds kept in each fifth of the range.
    """
    table = found.ranges.head(top)[::-1]
    fig = _figure(10, 1.2 + 0.24 * len(table))
    bars, heat = fig.subplots(1, 2, width_ratios=[3, 1.2], sharey=True)
    width = (table["prior_high"] - table["prior_low"]).replace(0, np.nan)
    low = (table["kept_q05"] - table["prior_low"]) / width
    high = (table["kept_q95"] - table["prior_low"]) / width
    y = np.arange(len(table))
    bars.barh(y, np.ones(len(table)), color="lightgray", label="prior range")
    bars.barh(y, high - low, left=low, color="tab:blue", label="retained (5-95% of worlds)")
    bars.set_yticks(y, [p[-42:] for p in table["path"]], fontsize=6)
    bars.set_xlabel("position in the prior range")
    bars.legend(fontsize=7, loc="lower right")
    shares = np.array([[float(v) for v in row.split()] for row in table["keep_by_fifth"]])
    image = heat.imshow(shares, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                        extent=(0, 5, -0.5, len(table) - 0.5), origin="lower")
    heat.set_xticks(np.arange(5) + 0.5, ["1st", "2nd", "3rd", "4th", "5th"], fontsize=7)
    heat.set_xlabel("fifth of the range")
    fig.colorbar(image, ax=heat, label="share of worlds kept")
    fig.suptitle(f"What the record informs: the {len(table)} most informed of "
                 f"{len(found.ranges)} values", fontsize=10)
    return _save(fig, path)


def plot_pairs(found: Plausible, path: Path, top: int = 4) -> Path:
    """Pairwise scatter of the retained worlds over the most narrowed values."""
    paths = list(found.ranges["path"].head(top))
    n = len(paths)
    fig = _figure(2.2 * n, 2.2 * n)
    axes = fig.subplots(n, n, squeeze=False)
    for i, a in enumerate(paths):
        for j, b in enumerate(paths):
            ax = axes[i, j]
            if i == j:
                ax.hist(found.kept[a], bins=20, color="tab:blue", alpha=0.7)
            else:
                ax.scatter(found.kept[b], found.kept[a], s=2, alpha=0.3)
            if i == n - 1:
                ax.set_xlabel(b.rsplit(".", 1)[-1], fontsize=7)
            if j == 0:
                ax.set_ylabel(a.rsplit(".", 1)[-1], fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle(f"Retained worlds ({len(found.kept):,})", fontsize=10)
    return _save(fig, path)
