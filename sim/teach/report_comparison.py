"""HTML handouts of a comparison folder (``sim compare``) and of a comparison across worlds.

A comparison: every scenario's lever settings, which differences from the reference
are clear, the comparison table, the figures (drawn again from the run folders, so
an older folder gets today's figures) and a glossary. Across worlds (``sim compare
--worlds``, robustness.csv): which conclusions hold in nearly every plausible world
and which are fragile, with the spread of effects across worlds.
"""

from __future__ import annotations

import json
import tempfile
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import glossary
from sim.analysis.compare import KEY_METRICS
from sim.analysis.comparison_files import write_figures
from sim.analysis.comparison_markdown import (
    FIGURES,
    clear_differences,
    interval,
    lever_table,
    numbers,
)
from sim.experiment.results import read_run
from sim.teach import handout
from sim.teach.handout import Markup

TERMS = ("replication", "median", "90% of replications", "95% interval", "paired difference",
         "clear")


def _settings(specs: dict, reference: str) -> str:
    rows = lever_table(specs, reference)
    described = {label: spec.description for label, spec in specs.items()}
    rows["description"] = rows["scenario"].map(described)
    return handout.frame_table(rows)


def _cell(metric: str, r: pd.Series) -> Markup:
    low, high = glossary.clip(metric, r["ci_low"], r["ci_high"])
    (mean,) = numbers(r["mean"])
    top = f"{escape(mean)} <span class=\"note\">{interval(low, high)}</span>"
    if r["scenario"] == r["reference"]:
        return Markup(f"{top}<br><span class=\"note\">(reference)</span>")
    word = glossary.verdict(metric, r["diff_ci_low"], r["diff_ci_high"])
    (diff,) = numbers(r["diff"], sign=True)
    diff += f" {word}" if word else " (not clear)"
    return Markup(f"{top}<br>{handout.verdict_cell(diff, word)}")


def comparison_table_html(table: pd.DataFrame, metrics: tuple[str, ...] = KEY_METRICS) -> str:
    """Rows scenarios, columns outcomes: mean [95% interval], then the difference from the
    reference coloured by whether it is clearly better or worse.
    """
    rows = []
    for label, part in table.groupby("scenario", sort=False):
        by_metric = part.set_index("metric")
        rows.append([label, *[_cell(m, by_metric.loc[m]) for m in metrics]])
    return handout.table(["scenario", *metrics], rows, range(1, len(metrics) + 1))


def _difference(metric: str, r: object) -> str:
    low, high = glossary.clip_difference(metric, r.diff_ci_low, r.diff_ci_high)  # type: ignore[attr-defined]
    diff, low, high = numbers(r.diff, low, high, sign=True)  # type: ignore[attr-defined]
    return f"{diff} [{low}, {high}]"


def clear_in_words(table: pd.DataFrame, days: int, metrics: tuple[str, ...] = KEY_METRICS) -> str:
    """One line per scenario: the outcomes on which it is clearly better, worse or different."""
    clear = clear_differences(table, metrics)
    items = []
    for label in dict.fromkeys(table.loc[table["scenario"] != table["reference"], "scenario"]):
        part = clear[clear["scenario"] == label]
        if part.empty:
            items.append(f"<li><b>{escape(label)}</b>: no clear difference on these outcomes</li>")
            continue
        said = []
        for word in ("better", "worse", "higher", "lower"):
            chosen = part[part["verdict"] == word]
            if chosen.empty:
                continue
            what = ", ".join(f"{r.metric} {_difference(r.metric, r)} ({glossary.unit(r.metric, days)})"
                             for r in chosen.itertuples())
            said.append(str(handout.verdict_cell(f"{word} on", word)) + " " + escape(what))
        items.append(f"<li><b>{escape(label)}</b>: {'; '.join(said)}</li>")
    return f"<ul>{''.join(items)}</ul>"


def render_comparison(folder: Path) -> str:
    """The handout of a ``sim compare`` folder."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    table = pd.read_csv(folder / "comparison.csv", keep_default_na=False, na_values=[""])
    reference, days = str(meta["reference"]), int(meta["days"])
    labels = list(meta.get("scenarios") or dict.fromkeys(table["scenario"]))
    runs = {label: read_run(folder / label) for label in labels}
    specs = {label: run.scenario for label, run in runs.items()}
    start = specs[reference].run.start_date
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_figures(Path(tmp), runs, table, reference, days)
        images = "".join(f"<h3>{escape(p.name)}</h3><p class=\"note\">{escape(text)}</p>"
                         + handout.file_image(p, p.name)
                         for p, (_, text) in zip(paths, FIGURES, strict=True))
    failed = (f" {meta['failed']} replication(s) failed; the comparison uses the seeds that "
              "completed in every scenario." if meta.get("failed") else "")
    body = f"""<h1>Comparison with <code>{escape(reference)}</code></h1>
<p class="note">{len(labels)} scenarios, {meta['replications']} replications each, {days} days
from {handout.day_label(start)}, root seed {meta['root_seed']}: the same replication seeds for
every scenario, so differences are paired by seed.{failed}</p>
<h2>Settings</h2>
<p class="note">The government's four levers (0 to 1), its adaptive rule and the coalition's
retaliation and force protection; other differences from {escape(reference)} after them.</p>
{_settings(specs, reference)}
<h2>Clear differences from {escape(reference)}</h2>
<p class="note">A difference is clear when its paired 95% interval excludes zero; better or worse
says which way that is good for the outcome. With many comparisons a few clear differences
arise by chance: weigh their size and mechanism.</p>
{clear_in_words(table, days)}
<h2>The comparison table</h2>
<p class="note">Each cell: the mean over replications with its 95% interval (bounds clipped to
the values the outcome can take), then the paired difference from {escape(reference)}. Every
outcome, with all intervals, is in comparison.md.</p>
{comparison_table_html(table)}
<h2>Figures</h2>
{images}
{handout.glossary_html(KEY_METRICS, TERMS, days=days)}"""
    return handout.page(f"comparison with {reference}: handout", body)


# ---------------------------------------------------------------- across worlds

STATUS = {"better": "better in at least 90% of worlds",
          "worse": "worse in at least 90% of worlds",
          "no better": "better in at most 10% of worlds (worse or equal elsewhere)",
          "no worse": "worse in at most 10% of worlds", "no difference":
          "neither better nor worse in at least 90% of worlds",
          "fragile": "no conclusion holds in 90% of worlds: it depends on the world",
          "higher, lower, no higher, no lower": "the same for an outcome that is neither better "
                                                "nor worse (syria_share)"}
"""What each robustness status means (:func:`sim.analysis.robustness.verdict`)."""


def _specs(names: list[str]) -> dict:
    from sim.scenario.load import load

    specs = {}
    for name in names:
        try:
            specs[name] = load(name)
        except Exception:  # a scenario file that moved or a name no longer shipped
            continue
    return specs


def _status(outcome: str, status: str) -> str:
    """A robustness status in the outcome's terms: for an outcome that is neither better nor
    worse (syria_share), "better" means higher, so it reads "higher", "no higher", ...
    """
    if glossary.metric(outcome).better:
        return status
    return {"better": "higher", "worse": "lower", "no better": "no higher",
            "no worse": "no lower"}.get(status, status)


def robust_list(table: pd.DataFrame) -> str:
    """One line per scenario: its robust conclusions grouped by status (better first)."""
    items = []
    for label, part in table[table["status"] != "fragile"].groupby("scenario", sort=False):
        said = []
        for status, rows in part.groupby("status", sort=False):
            outcomes = ", ".join(rows["outcome"])
            said.append(f"{handout.verdict_cell(status, status)} on {escape(outcomes)}")
        items.append(f"<li><b>{escape(label)}</b>: {'; '.join(said)}</li>")
    return "".join(items)


def worlds_figure(effects: pd.DataFrame, outcomes: list[str], days: int) -> str:
    """Each world's effect per scenario and outcome (a dot per world), as a base64 PNG."""
    names = list(dict.fromkeys(effects["scenario"]))
    fig = handout.figure(3.0 * len(outcomes), 0.3 * len(names) + 1.4)
    axes = np.atleast_1d(fig.subplots(1, len(outcomes), sharey=True))
    rng = np.random.default_rng(0)
    for ax, outcome in zip(axes, outcomes, strict=True):
        sign = glossary.metric(outcome).better
        for y, name in enumerate(names):
            values = effects.loc[effects["scenario"] == name, outcome].to_numpy(float)
            colours = np.where(values * sign > 0, "#0072B2",
                               np.where(values * sign < 0, "#D55E00", "0.6"))
            ax.scatter(values, y + rng.uniform(-0.25, 0.25, len(values)), s=4, c=colours,
                       alpha=0.6, linewidths=0)
        ax.axvline(0, color="0.2", linewidth=0.8)
        ax.set_title(f"{outcome} ({glossary.better_word(outcome)})", fontsize=8)
        ax.set_xlabel(f"effect, {glossary.unit(outcome, days)}", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].set_ylim(len(names) - 0.5, -0.5)
    fig.suptitle("Effect in each world (dot): blue better, orange worse than the reference",
                 fontsize=9)
    return handout.png_of(fig)


def render_worlds(folder: Path) -> str:
    """The handout of a ``sim compare --worlds`` folder (robustness.csv)."""
    from sim.analysis.robustness import ROBUST_SHARE, SHOWN

    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    table = pd.read_csv(folder / "robustness.csv", keep_default_na=False, na_values=[""])
    reference, days = str(meta.get("reference")), int(meta.get("days", 0)) or None
    names = list(meta.get("scenarios") or dict.fromkeys(table["scenario"]))
    specs = _specs([reference, *[n for n in names if n != reference]])
    outcomes = list(dict.fromkeys(table["outcome"]))
    rows = []
    for label, part in table.groupby("scenario", sort=False):
        by = part.set_index("outcome")
        cells = [label]
        for outcome in outcomes:
            if outcome not in by.index:
                cells.append("-")
                continue
            r = by.loc[outcome]
            share = r.get("share_better") if glossary.metric(outcome).better else r.get(
                "share_higher")
            word = {"better": "better", "worse": "worse"}.get(r["status"], "")
            effect, q05, q95 = numbers(r["median_effect"], r["q05"], r["q95"], sign=True)
            text = (f"{effect} [{q05}, {q95}]; {share:.0%} "
                    f"{'better' if glossary.metric(outcome).better else 'higher'}")
            cells.append(Markup(f"{escape(text)}<br>{handout.verdict_cell(r['status'], word)}"))
        rows.append(cells)
    table["status"] = [_status(o, s) for o, s in zip(table["outcome"], table["status"],
                                                      strict=True)]
    robust_items = robust_list(table)
    fragile = table[(table["status"] == "fragile") & table["outcome"].isin(SHOWN)]
    fragile_items = "".join(f"<li><b>{escape(r.scenario)}</b>, {escape(r.outcome)}: "
                            f"{escape(str(r.decided_by) or '-')}</li>"
                            for r in fragile.itertuples())
    figure = ""
    effects_path = folder / "effects.parquet"
    if effects_path.is_file():
        effects = pd.read_parquet(effects_path)
        shown = [o for o in SHOWN if o in effects.columns]
        figure = handout.image(worlds_figure(effects, shown, days or 0), "effects by world")
    settings = (_settings(specs, reference) if reference in specs
                else '<p class="note">(the scenarios could not be read by name)</p>')
    body = f"""<h1>Comparison with <code>{escape(reference)}</code> across
{meta.get('worlds')} plausible worlds</h1>
<p class="note">{len(names)} scenarios, {meta.get('replications')} replications per world and
scenario (the same seeds), {days} days, root seed {meta.get('root_seed')}; worlds from
{escape(str(meta.get('worlds_file')))}. Command: <code>{escape(str(meta.get('command', '')))}
</code></p>
<h2>Settings</h2>
<p class="note">As the scenarios read now (any --set of the command above is not shown).</p>
{settings}
<h2>Robust conclusions</h2>
<p class="note">A conclusion is robust when it holds in at least {ROBUST_SHARE:.0%} of the
worlds: {'; '.join(f'{k}: {v}' for k, v in STATUS.items() if k != 'fragile')}.</p>
<ul>{robust_items or '<li>none</li>'}</ul>
<h2>Fragile conclusions and what decides them</h2>
<ul>{fragile_items or '<li>none</li>'}</ul>
<h2>The table</h2>
<p class="note">Each cell: the median effect across worlds [5th to 95th percentile], the share
of worlds in which the scenario does better (or is higher), and the conclusion.</p>
{handout.table(["scenario", *outcomes], rows, range(1, len(outcomes) + 1))}
<h2>Effects world by world</h2>
{figure}
{handout.glossary_html(outcomes, ("replication", "paired difference"), {
        "world": "One set of values of the uncertain parameters that the calibration window "
                 "cannot rule out (sim plausible); the effect in a world is the mean paired "
                 "difference over its replications.", **STATUS}, days=days)}"""
    return handout.page(f"comparison across worlds with {reference}: handout", body)


__all__ = ["STATUS", "clear_in_words", "comparison_table_html", "render_comparison",
           "render_worlds", "worlds_figure"]
