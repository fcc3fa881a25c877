"""A one-page HTML handout of a run folder: settings, key table and figures.

The file is self-contained (figures embedded as base64 PNG), so it can be mailed
or printed without the run folder.
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.stats import bands, interval_table
from sim.experiment.files import write_text_atomic
from sim.experiment.results import RunResult, read_run

KEY_METRICS = ("attacks", "weekly_attack_rate", "peak_week_attacks", "attacks_day28",
               "injuries", "injuries_day28", "deaths", "strikes", "clashes", "min_stability",
               "open_confrontation", "days_to_deescalation")
"""Rows of the handout's key table."""


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def band_figure(daily: pd.DataFrame, column: str, title: str, cumulative: bool = False) -> Figure:
    """Mean and 90% band across replications of a daily column (optionally cumulated)."""
    frame = daily[["replication", "day", column]].copy()
    if cumulative:
        frame[column] = frame.groupby("replication")[column].cumsum()
    band = bands(frame, by="day", value=column)
    fig = Figure(figsize=(4.2, 2.6), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(band["day"], band["low"], band["high"], alpha=0.25,
                    label="90% of replications")
    ax.plot(band["day"], band["mean"], lw=2, label="mean")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("day")
    ax.legend(fontsize=7)
    return fig


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "-"
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.0f}"


def settings_rows(result: RunResult) -> list[tuple[str, str]]:
    """The scenario's levers, uncertainties and events as (name, value) rows."""
    spec = result.scenario
    gov, coa = spec.levers.government, spec.levers.coalition
    region, patron = spec.uncertainties.region, spec.uncertainties.patron
    rows = [(f"lever: {k}", f"{getattr(gov, k):.2f}")
            for k in ("accommodation", "appeasement", "persuasion", "pressure")]
    rows += [("lever: adaptive rule", "on" if gov.adaptive.enabled else "off"),
             ("lever: coalition retaliation", str(coa.retaliation)),
             ("lever: force protection", f"{coa.force_protection:.2f}"),
             ("uncertainty: Gaza", f"{region.gaza:.2f}"),
             ("uncertainty: Lebanon", f"{region.lebanon:.2f}"),
             ("uncertainty: Red Sea", f"{region.red_sea:.2f}"),
             ("uncertainty: patron signal", f"{patron.signal:+.2f}")]
    for event in spec.events:
        note = f" ({event.note})" if getattr(event, "note", "") else ""
        rows.append((f"event: day {event.day}", f"{event.set} = {event.value}{note}"))
    return rows


def render(result: RunResult) -> str:
    """The handout as one HTML string."""
    spec, meta = result.scenario, result.metadata
    table = interval_table(result.summary).set_index("metric").loc[list(KEY_METRICS)]
    key_rows = "".join(
        f"<tr><td>{escape(m)}</td><td>{_fmt(r['mean'])}</td>"
        f"<td>[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]</td><td>{int(r['n'])}</td></tr>"
        for m, r in table.iterrows())
    settings = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>"
                       for k, v in settings_rows(result))
    daily = result.daily
    figures = [band_figure(daily, "attacks", "Daily attacks"),
               band_figure(daily, "stability", "Stability"),
               band_figure(daily, "injuries", "Cumulative injuries", cumulative=True)]
    images = "".join(f'<img alt="figure" src="data:image/png;base64,{_png(f)}">'
                     for f in figures)
    reps = int(meta.get("replications", daily["replication"].nunique()))
    days = int(meta.get("days", daily["day"].max()))
    start = spec.run.start_date
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(spec.name)}: scenario handout</title>
<style>
body {{ font: 13px/1.35 sans-serif; max-width: 60em; margin: 1.5em auto; color: #222; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }} h2 {{ font-size: 1.1em; margin: 0.8em 0 0.3em; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 1px 8px; border-bottom: 1px solid #ddd; }}
th {{ text-align: left; }} td:nth-child(n+2) {{ text-align: right; }}
.cols {{ display: flex; gap: 2em; }} img {{ width: 32%; }}
.note {{ color: #666; font-size: 0.9em; }}
</style></head><body>
<h1>Scenario <code>{escape(spec.name)}</code></h1>
<p>{escape(spec.description)}</p>
<p class="note">{reps} replications x {days} days from {start} (root seed
{escape(str(meta.get("root_seed", spec.run.seed)))}). Values are stylised assumptions for
analysis and teaching, not intelligence estimates.</p>
<div class="cols">
<div><h2>Settings</h2><table>{settings}</table></div>
<div><h2>Key outcomes</h2><table><tr><th>metric</th><th>mean</th><th>95% interval</th>
<th>n</th></tr>{key_rows}</table></div>
</div>
<h2>Figures (mean and the band holding 90% of replications)</h2>
<div>{images}</div>
</body></html>
"""


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Read a run folder and write its handout (default ``RUN_DIR/report.html``)."""
    result = read_run(Path(run_dir))
    out = Path(out) if out is not None else Path(run_dir) / "report.html"
    return write_text_atomic(out, render(result))


__all__ = ["band_figure", "render", "settings_rows", "write_report"]
