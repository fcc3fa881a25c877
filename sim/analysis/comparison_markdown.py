"""comparison.md: the scenarios' lever settings, then one short table per outcome, and the figures.

The tables here (:func:`lever_table`, :func:`outcome_rows`, :func:`clear_differences`)
are also what the HTML handout of a comparison shows (``sim report``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from sim.analysis import glossary
from sim.analysis.compare import KEY_METRICS
from sim.model.outcomes import SUMMARY_METRICS
from sim.scenario.registry import summary_values
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.analysis.comparison import Comparison

LEVER_COLUMNS = ("accommodation", "appeasement", "persuasion", "pressure", "adaptive rule",
                 "retaliation", "force protection")
"""The settings every comparison shows: the four government levers, the adaptive rule and
the coalition's retaliation and force protection."""

FIGURES = (("weekly_attacks.png", "attacks per 7 days over time, one panel per scenario: median "
            "across replications and the band holding 90% of them; the reference's median dashed"),
           ("stability.png", "the Iraqi stability index per day, drawn the same way"),
           ("differences.png", "each scenario's paired difference from the reference on the key "
            "outcomes, coloured by whether it is better or worse, ordered by effect"))
"""The figures of a comparison folder and what each shows."""

CLIPPED = ("Interval bounds of the scenarios' means are clipped to the values the outcome can "
           "take: at zero for counts, rates and days, and at zero and one for shares and indices "
           "(a t-interval of a mean near zero can otherwise reach below zero). Differences are "
           "not clipped at zero (they can be negative); those of shares and indices are kept "
           "within -1 and 1.")


def numbers(*values: float, sign: bool = False) -> list[str]:
    """Numbers shown alike: one decimal when the largest is 10 or more, two from 1, else
    three; ``-`` for NaN; ``sign``: a leading + on positive values.
    """
    finite = [abs(v) for v in values if v == v]
    largest = max(finite, default=0.0)
    places = 1 if largest >= 10 else 2 if largest >= 1 else 3
    plus = "+" if sign else ""
    return [f"{v:{plus}.{places}f}" if v == v else "-" for v in values]


def interval(low: float, high: float) -> str:
    """``[low, high]`` shown alike, or ``-`` when undefined."""
    a, b = numbers(low, high)
    return "-" if low != low else f"[{a}, {b}]"


def lever_table(specs: Mapping[str, Scenario], reference: str | None = None) -> pd.DataFrame:
    """One row per scenario: the four government levers, the adaptive rule, the coalition's
    retaliation and force protection, and what else differs from the reference (uncertainties,
    dated events).
    """
    base = specs.get(reference) if reference is not None else None
    rows = []
    for label, spec in specs.items():
        gov, coa = spec.levers.government, spec.levers.coalition
        row = {"scenario": label}
        row.update({k: f"{getattr(gov, k):.2f}" for k in LEVER_COLUMNS[:4]})
        row["adaptive rule"] = "on" if gov.adaptive.enabled else "off"
        row["retaliation"] = str(coa.retaliation)
        row["force protection"] = f"{coa.force_protection:.2f}"
        row["other differences"] = "" if base is None else _other_differences(spec, base)
        rows.append(row)
    return pd.DataFrame(rows)


def _other_differences(spec: Scenario, base: Scenario) -> str:
    ours, theirs = summary_values(spec), summary_values(base)
    shown = {f"levers.government.{k}" for k in LEVER_COLUMNS[:4]} | {
        "levers.government.adaptive.enabled", "levers.coalition.retaliation",
        "levers.coalition.force_protection"}
    changed = [f"{path.split('.', 1)[1]} = {ours[path]}" for path in ours
               if path not in shown and ours[path] != theirs.get(path)]
    if [e.model_dump() for e in spec.events] != [e.model_dump() for e in base.events]:
        changed.append(f"{len(spec.events)} dated event(s)")
    return "; ".join(changed)


def outcome_rows(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric's rows, formatted: scenario, mean, 95% interval (clipped to the outcome's
    range), difference from the reference, its paired 95% interval, and whether it is clear.
    """
    rows = []
    for r in table[table["metric"] == metric].itertuples(index=False):
        low, high = glossary.clip(metric, r.ci_low, r.ci_high)
        dlow, dhigh = glossary.clip_difference(metric, r.diff_ci_low, r.diff_ci_high)
        mean, low, high = numbers(r.mean, low, high)
        diff, dlow, dhigh = numbers(r.diff, dlow, dhigh, sign=True)
        is_ref = r.scenario == r.reference
        word = glossary.verdict(metric, r.diff_ci_low, r.diff_ci_high)
        rows.append({"scenario": r.scenario, "n": r.n, "mean": mean,
                     "95% interval": f"[{low}, {high}]" if low != "-" else "-",
                     "difference": "(reference)" if is_ref else diff,
                     "paired 95% interval": "" if is_ref
                     else f"[{dlow}, {dhigh}]" if dlow != "-" else "-",
                     "clear?": "" if is_ref else (f"yes, {word}" if word else "no")})
    return pd.DataFrame(rows)


def clear_differences(table: pd.DataFrame, metrics: Sequence[str] = KEY_METRICS) -> pd.DataFrame:
    """The differences whose paired interval excludes zero: scenario, metric, difference,
    interval and verdict (better, worse, higher, lower), in the table's order.
    """
    rows = []
    for r in table[table["metric"].isin(metrics)].itertuples(index=False):
        word = glossary.verdict(r.metric, r.diff_ci_low, r.diff_ci_high)
        if word and r.scenario != r.reference:
            rows.append({"scenario": r.scenario, "metric": r.metric, "diff": r.diff,
                         "diff_ci_low": r.diff_ci_low, "diff_ci_high": r.diff_ci_high,
                         "verdict": word})
    return pd.DataFrame(rows, columns=["scenario", "metric", "diff", "diff_ci_low",
                                       "diff_ci_high", "verdict"])


def glance_rows(table: pd.DataFrame, metrics: Sequence[str] = KEY_METRICS) -> pd.DataFrame:
    """One row per scenario other than the reference, one column per metric: the difference
    and its verdict when clear (``-28.4 better``), else ``(-0.25)`` (not clear).
    """
    rows = []
    for label, part in table.groupby("scenario", sort=False):
        by_metric = part.set_index("metric")
        if label == by_metric["reference"].iloc[0]:
            continue
        row = {"scenario": label}
        for metric in metrics:
            r = by_metric.loc[metric]
            word = glossary.verdict(metric, r["diff_ci_low"], r["diff_ci_high"])
            (diff,) = numbers(r["diff"], sign=True)
            row[metric] = f"{diff} {word}" if word else f"({diff})"
        rows.append(row)
    return pd.DataFrame(rows)


def _md(frame: pd.DataFrame) -> str:
    cells = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def markdown_report(comparison: Comparison) -> str:
    """comparison.md: header, settings, figures, clear differences, one section per outcome."""
    meta, table = comparison.metadata, comparison.table
    reference, days = meta["reference"], int(meta["days"])
    specs = {label: run.scenario for label, run in comparison.runs.items()}
    start = specs[reference].run.start_date if reference in specs else None
    when = f" from {start.day} {start:%b %Y}" if isinstance(start, dt.date) else ""
    failed = (f"\n\n{meta['failed']} replication(s) failed (failures.csv); the comparison "
              "uses the seeds that completed in every scenario." if meta["failed"] else "")
    metrics = [*KEY_METRICS, *[m for m in SUMMARY_METRICS if m not in KEY_METRICS]]
    metrics = [m for m in metrics if m in set(table["metric"])]
    contents = " · ".join(f"[{m}](#{m})" for m in metrics)
    parts = [
        f"# Comparison with {reference}\n\n"
        f"{len(meta['scenarios'])} scenarios, {meta['replications']} replications each, "
        f"{days} days{when}, root seed {meta['root_seed']} (the same replication seeds for "
        f"every scenario).{failed}\n\n"
        "Sections: [settings](#settings) · [figures](#figures) · "
        f"[clear differences](#clear-differences) · outcomes: {contents}\n",
        "## Settings\n\nThe government's four levers (0 to 1), its adaptive rule, and the "
        f"coalition's retaliation and force protection; `other differences`: what else differs "
        f"from {reference}.\n\n" + _md(lever_table(specs, reference)),
        "## Figures\n\n" + "".join(f"* [{name}]({name}): {text}\n" for name, text in FIGURES)
        + "\n![differences](differences.png)\n",
        "## Clear differences\n\n"
        f"Difference from {reference} (mean of the per-replication differences, paired by "
        "seed); `better`/`worse` when its 95% interval excludes zero, says which way that is "
        "good for the outcome (`higher`/`lower` for an outcome that is neither); in brackets "
        "when the interval includes zero.\n\n" + _md(glance_rows(table)),
        "## How to read the outcome tables\n\n"
        "`mean`: over the `n` replications in which the outcome is defined, with its 95% "
        f"t-interval. `difference`: mean of the per-replication differences from {reference} "
        "(paired by seed) with its 95% t-interval; `clear?`: whether that interval excludes "
        f"zero, and whether the change is better or worse. {CLIPPED} See docs/compare.md.\n",
    ]
    for m in metrics:
        entry = glossary.metric(m)
        parts.append(f"## {m}\n\n{entry.meaning} Unit: {glossary.unit(m, days)}; "
                     f"{glossary.better_word(m)}.\n\n" + _md(outcome_rows(table, m)))
    return "\n".join(parts)


__all__ = ["CLIPPED", "FIGURES", "LEVER_COLUMNS", "clear_differences", "glance_rows",
           "interval", "lever_table", "markdown_report", "numbers", "outcome_rows"]
