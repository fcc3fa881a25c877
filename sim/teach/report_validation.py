"""HTML handout of a validation folder (``sim validate``): the model against the public record.

Shows the figure validate drew (cumulative attacks and injuries over the record's
dated figures, on calendar dates), the patterns with their targets, coverage and
error by window, the Syria splits, daily attacks by period, every compared figure,
and a glossary of the terms.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from pathlib import Path

import pandas as pd

from sim.analysis.comparison_markdown import numbers
from sim.teach import handout

TERMS = {
    "observed": "The figure of the public record (Pentagon, press) on that date, cumulative "
                "since 17 Oct 2023.",
    "median, p5, p95": "The model's median and 5th to 95th percentile across replications of "
                       "the cumulative count on that date (the shaded band of the figure).",
    "covered": "The record's figure lies within the model's 90% band (for a lower bound, "
               "'at least', the band reaches it).",
    "rel_error": "(model median - observed) / observed; undefined for a figure of 0.",
    "calibration window": "Figures up to the window's end: they may have set the model's "
                          "parameters.",
    "test window": "Later figures: they never set a parameter, so they test the model.",
    "coverage": "Share of figures covered by the 90% band (about 0.9 is well calibrated).",
    "mean |relative error|": "Mean size of the relative error of the median over the figures.",
    "null model": "A constant-rate negative-binomial model fitted to the calibration window: "
                  "the yardstick the model should beat in the test window.",
    "incurred": "For injuries: what happened in the model; the figures are compared with what "
                "the public count showed (later diagnoses lag).",
    "qualifier": "How the record states a figure: reported, approx (about), at_least.",
    "metric, scope": "What a figure counts (attacks, injuries, deaths, casualties: killed plus "
                     "injured; all cumulative) and where: iraq_syria, iraq, syria, or "
                     "iraq_syria_jordan (Tower 22 was in Jordan).",
    "pattern, target, met": "A qualitative shape of the record (a truce week, a lull, the "
                            "Syria share) with the value the model must reach to reproduce it.",
    "share in Syria": "Share of attacks that hit sites in Syria at each dated split of the "
                      "record, with the model's median and 90% band.",
    "attacks per day by period": "Mean daily attacks within a period of the replay: median "
                                 "and 5th-95th percentile across replications.",
}
"""Glossary of the validation handout."""


def _read(folder: Path, name: str) -> pd.DataFrame:
    path = folder / name
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def _shown(frame: pd.DataFrame, renames: dict[str, str] | None = None) -> pd.DataFrame:
    """Floats in a few digits (whole columns without decimals), dates as "24 Oct 2023",
    NaN as -, booleans as yes/NO.
    """
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        known = values.dropna()
        if values.dtype == bool or (values.dtype == object and len(known)
                                    and known.isin([True, False]).all()):
            out[col] = values.map(lambda v: "-" if v != v else "yes" if v else "NO")
        elif pd.api.types.is_float_dtype(values):
            whole = len(known) and (known == known.round()).all()
            out[col] = [("-" if v != v else f"{v:.0f}" if whole else numbers(v)[0])
                        for v in values.to_numpy(float)]
        elif col in ("date", "first", "last"):
            out[col] = [handout.day_label(dt.date.fromisoformat(str(v)[:10])) if v == v else "-"
                        for v in values]
    return out.fillna("-").rename(columns=renames or {})


def render_validation(folder: Path) -> str:
    """The handout of a ``sim validate`` folder."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    table = _read(folder, "validation.csv")
    start = None
    if len(table):
        first = table.iloc[0]
        start = dt.date.fromisoformat(str(first["date"])) - dt.timedelta(days=int(first["day"]) - 1)
    when = f" from {handout.day_label(start)}" if start else ""
    end = meta.get("calibration_end")
    end_text = handout.day_label(dt.date.fromisoformat(end)) if end else "?"
    patterns = _read(folder, "patterns.csv")
    if len(patterns):
        patterns = patterns[["pattern", "record", "model", "target", "met", "note"]]
    summary = pd.DataFrame(meta.get("summary", []))
    splits, periods = _read(folder, "splits.csv"), _read(folder, "periods.csv")
    figures = table[[c for c in ("date", "window", "metric", "scope", "qualifier", "observed",
                                 "model_median", "model_p5", "model_p95", "covered", "rel_error",
                                 "incurred_median", "null_median", "null_covered")
                     if c in table.columns]].copy() if len(table) else table
    if len(figures):
        figures["metric"] = figures["metric"].str.replace("cumulative_", "", regex=False)
    covered = (f"{table['covered'].mean():.0%} of the {len(table)} figures lie within the "
               "model's 90% band" if len(table) else "no figure of the record within the horizon")
    body = f"""<h1>Validation of <code>{escape(str(meta.get('scenario', '?')))}</code> against the
public record</h1>
<p class="note">{meta.get('replications', '?')} replications x {meta.get('days', '?')} days{when}
(seed {escape(str(meta.get('seed', meta.get('root_seed', '?'))))}). Calibration window: figures
dated up to {end_text}; test window: later figures. {covered}.</p>
<h2>The model against the record</h2>
<p class="note">Cumulative attacks and U.S. injuries: the model's median and 90% band across
replications, the record's figures as dots (calibration window) and diamonds (test window).</p>
{handout.file_image(folder / 'validation.png', 'model vs record')}
<h2>Patterns and targets</h2>
{handout.frame_table(_shown(patterns)) if len(patterns) else '<p>none</p>'}
<h2>Coverage and error by window: model and null model</h2>
{handout.frame_table(_shown(summary)) if len(summary) else '<p>none</p>'}
<h2>Share of attacks in Syria at each dated split</h2>
{handout.frame_table(_shown(splits)) if len(splits) else '<p>none within the horizon</p>'}
<h2>Daily attacks by period</h2>
{handout.frame_table(_shown(periods)) if len(periods) else '<p>none within the horizon</p>'}
<h2>Every compared figure</h2>
<details><summary>{len(figures)} figures (click to open)</summary>
{handout.frame_table(_shown(figures, {'model_median': 'median', 'model_p5': 'p5',
                                      'model_p95': 'p95', 'incurred_median': 'incurred',
                                      'null_median': 'null'}))}
</details>
{handout.glossary_html((), (), TERMS)}"""
    return handout.page(f"validation of {meta.get('scenario', '?')}: handout", body)


__all__ = ["TERMS", "render_validation"]
