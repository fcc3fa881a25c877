"""The teaching page: a Mesa SolaraViz page over the shipped scenarios.

Run it with ``sim app`` (or ``make app``) and open http://127.0.0.1:8765.

The page shows one replication day by day (Step, Play, Reset), live plots of
daily attacks, stability and cumulative injuries, a map of the day's attacks,
and an ensemble of 500 replications of the current settings (the ensemble engine, the same
model on arrays) with its 90% band.

How settings take effect: picking a scenario restarts the page with that
scenario's own values on every slider. Sliders and the retaliation selector
take effect when you press Reset (SolaraViz re-creates the model from them);
they do not change a model that is already running.
"""

from __future__ import annotations

from functools import cache
from html import escape
from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz

from sim.analysis.stats import bands, interval_table
from sim.model.model import IraqModel
from sim.scenario.load import load, override, shipped_scenarios
from sim.scenario.registry import parameter, value_of
from sim.scenario.schema import Scenario

ENSEMBLE_REPS = 500
"""Replications the ensemble button runs."""



def scenario_names() -> list[str]:
    """Names of the shipped scenarios, sorted."""
    return [path.stem for path in shipped_scenarios()]


@cache
def base_scenario(name: str) -> Scenario:
    """The shipped scenario ``name``, loaded once per process."""
    return load(name)


CONTROLS: dict[str, tuple[str, str]] = {
    "accommodation": ("levers.government.accommodation", "Accommodation (lever)"),
    "appeasement": ("levers.government.appeasement", "Appeasement (lever)"),
    "persuasion": ("levers.government.persuasion", "Persuasion (lever)"),
    "pressure": ("levers.government.pressure", "Pressure (lever)"),
    "gaza": ("uncertainties.region.gaza", "Gaza war intensity"),
    "lebanon": ("uncertainties.region.lebanon", "Lebanon border escalation"),
    "red_sea": ("uncertainties.region.red_sea", "Red Sea (Houthi) attacks"),
    "patron_signal": ("uncertainties.patron.signal", "Patron signal (-1 restrain, +1 encourage)"),
    "retaliation": ("levers.coalition.retaliation", "Coalition retaliation"),
}
"""The page's controls: keyword -> (parameter path, label). Bounds come from the registry."""


def settings_of(spec: Scenario) -> dict[str, Any]:
    """The page's control values that reproduce a scenario's own settings."""
    return {key: value_of(spec, path) for key, (path, _label) in CONTROLS.items()}


def build_spec(scenario: str, **settings: Any) -> Scenario:
    """A shipped scenario with the page's settings applied (see :func:`settings_of`)."""
    changes = {CONTROLS[key][0]: value for key, value in settings.items() if value is not None}
    return override(base_scenario(scenario), changes)


class TeachingModel(IraqModel):
    """:class:`~sim.model.IraqModel` built from keyword settings, as SolaraViz needs.

    Args:
        scenario_name: a shipped scenario (its world, events and other settings).
        accommodation, appeasement, persuasion, pressure: government levers in [0, 1]
            (None keeps the scenario's value).
        gaza, lebanon, red_sea: regional drivers at day 1 in [0, 1]; the scenario's
            scheduled events still apply later (a truce, for example).
        patron_signal: the patron's signal at day 1, -1 (restrain) .. +1 (encourage).
        retaliation: coalition retaliation policy: none, proportional or escalatory.
        seed: the replication's seed.

    """

    def __init__(self, scenario_name: str = "baseline", accommodation: float | None = None,
                 appeasement: float | None = None, persuasion: float | None = None,
                 pressure: float | None = None, gaza: float | None = None,
                 lebanon: float | None = None, red_sea: float | None = None,
                 patron_signal: float | None = None, retaliation: str | None = None,
                 seed: int = 1) -> None:
        spec = build_spec(scenario_name, accommodation=accommodation, appeasement=appeasement,
                          persuasion=persuasion, pressure=pressure, gaza=gaza, lebanon=lebanon,
                          red_sea=red_sea, patron_signal=patron_signal, retaliation=retaliation)
        super().__init__(spec, seed=int(seed))
        self.scenario_name = scenario_name
        self.seed_value = int(seed)


def model_params(name: str) -> dict[str, Any]:
    """SolaraViz inputs: sliders start at the scenario's own values, within registry bounds."""
    spec = base_scenario(name)
    params: dict[str, Any] = {"scenario_name": name}
    for key, (path, label) in CONTROLS.items():
        param = parameter(path, spec)
        if param.type == "choice":
            params[key] = {"type": "Select", "label": label, "value": param.value,
                           "values": list(param.choices)}
        else:
            params[key] = {"type": "SliderFloat", "label": label, "value": param.value,
                           "min": param.low, "max": param.high, "step": 0.05}
    params["seed"] = {"type": "SliderInt", "label": "Seed", "value": 1, "min": 1, "max": 100,
                      "step": 1}
    return params


# ------------------------------------------------------------------- figures


def timeseries_figure(model: IraqModel) -> Figure:
    """Daily attacks with a 7-day average, stability, and cumulative injuries so far."""
    n, days = model.day, model.days
    x = np.arange(1, n + 1)
    counts = values = model.recorder.daily_columns()
    attacks = counts["attacks"][:n].astype(float)
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    ax1.bar(x, attacks, color="#c7c7c7", width=1.0, label="attacks")
    if n:
        week = np.convolve(attacks, np.ones(7))[:n] / np.minimum(np.arange(1, n + 1), 7)
        ax1.plot(x, week, color="#d62728", lw=2, label="7-day average")
    ax1.set_ylabel("attacks / day")
    ax1.legend(loc="upper right", fontsize=8)
    ax1.set_title(f"Day {n} of {days}: {int(attacks.sum())} attacks, "
                  f"{int(counts['injuries'][:n].sum())} injuries", fontsize=10)
    ax2.plot(x, values["stability"][:n], color="#1f77b4", lw=2)
    confront = values["open_confrontation"][:n]
    if confront.any():
        ax2.fill_between(x, 0, 1, where=confront, color="#ff7f0e", alpha=0.25,
                         label="open confrontation")
        ax2.legend(loc="lower left", fontsize=8)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("stability")
    ax3.plot(x, np.cumsum(counts["injuries"][:n]), color="#9467bd", lw=2)
    ax3.set_ylabel("cumulative injuries")
    ax3.set_xlabel("day")
    ax3.set_xlim(0, days + 1)
    return fig


def map_figure(model: IraqModel) -> Figure:
    """Bases and faction home areas by longitude and latitude, with today's attacks."""
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.subplots()
    homes = {f.name: f for f in model.militias}
    bases = {b.name: b for b in model.bases}
    for event in model.recorder.events:
        day, kind, faction, base = event[:4]
        if day == model.day and kind == "attack":
            f, b = homes[faction], bases[base]
            color = "#d62728" if event[5] == "hit" else "#ff9896"
            ax.plot([f.lon, b.lon], [f.lat, b.lat], color=color, lw=1.2, alpha=0.8)
    for b in model.bases:
        ax.scatter(b.lon, b.lat, s=20 + b.troops / 10, marker="s",
                   color="#1f77b4" if b.open else "#bbbbbb", edgecolor="black", zorder=3)
        ax.annotate(b.label.split(" (")[0], (b.lon, b.lat), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    for f in model.militias:
        ax.scatter(f.lon, f.lat, s=40 + 60 * f.capability, marker="^", color="#2ca02c",
                   edgecolor="black", zorder=3)
        ax.annotate(f.label, (f.lon, f.lat), fontsize=7, color="#2ca02c",
                    xytext=(3, -9), textcoords="offset points")
    today = int(model.recorder.daily_columns()["attacks"][-1]) if model.day else 0
    ax.set_title(f"Day {model.day}: {today} attacks (lines: faction home -> site; dark = hit)",
                 fontsize=10)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    return fig


def ensemble_figure(daily: Any) -> Figure:
    """Daily attacks and stability across replications: mean and 90% band."""
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, column, color in ((axes[0], "attacks", "#d62728"),
                              (axes[1], "stability", "#1f77b4")):
        band = bands(daily, by="day", value=column)
        ax.fill_between(band["day"], band["low"], band["high"], color=color, alpha=0.25,
                        label="90% band")
        ax.plot(band["day"], band["mean"], color=color, lw=2, label="mean")
        ax.set_ylabel(column)
        ax.legend(loc="upper right", fontsize=8)
    axes[1].set_xlabel("day")
    return fig


# ----------------------------------------------------------------- components


def paragraph(html: str, css_class: str = "") -> None:
    """A paragraph of trusted HTML (solara.Markdown would fetch KaTeX from a CDN)."""
    solara.HTML(tag="p", unsafe_innerHTML=html, classes=[css_class] if css_class else [])


def TimeSeries(model: IraqModel) -> None:
    """Live plots of the running replication, under a one-line status."""
    n = model.day
    counts = model.recorder.daily_columns()
    solara.Text(f"Day {n} of {model.days}: {int(counts['attacks'].sum())} "
                f"attacks, {int(counts['injuries'].sum())} injuries so far",
                classes=["sim-status"])
    solara.FigureMatplotlib(timeseries_figure(model), format="png")


def AttackMap(model: IraqModel) -> None:
    """The day's attacks on a longitude/latitude map."""
    solara.FigureMatplotlib(map_figure(model), format="png")


@solara.component
def Ensemble(model: IraqModel) -> None:
    """A button that runs ENSEMBLE_REPS replications of the current settings on the ensemble
    engine (about a second) and shows the 90% band.
    """
    result, set_result = solara.use_state(None)
    busy, set_busy = solara.use_state(False)

    def run_ensemble() -> None:
        from sim.experiment import runner  # heavy only when pressed

        set_busy(True)
        try:
            seed = getattr(model, "seed_value", model.spec.run.seed)
            outcome = runner.run(model.spec, replications=ENSEMBLE_REPS, seed=seed,
                                 days=model.days, engine="ensemble")
            set_result((id(model), outcome))
        finally:
            set_busy(False)

    with solara.Column():
        solara.Button(f"Run ensemble ({ENSEMBLE_REPS} replications)", on_click=run_ensemble,
                      disabled=busy, color="secondary")
        if busy:
            solara.Text("running ...")
        if result is not None:
            key, outcome = result
            if key != id(model):
                solara.Text("Settings changed since this ensemble ran (press the button again).")
            table = interval_table(outcome.summary).set_index("metric")
            attacks, low, high = table.loc["attacks", ["mean", "ci_low", "ci_high"]]
            share = float(outcome.summary["open_confrontation"].mean())
            paragraph(
                f"<b>{ENSEMBLE_REPS} replications</b> of these settings: attacks {attacks:.0f} "
                f"(95% interval of the mean {low:.0f} to {high:.0f}); open confrontation in "
                f"{share:.0%} of runs; mean minimum stability "
                f"{table.loc['min_stability', 'mean']:.2f}.", "sim-ensemble")
            solara.FigureMatplotlib(ensemble_figure(outcome.daily), format="png")
        else:
            paragraph("The band shows where 90% of replications lie on each day.")


picked = solara.reactive("baseline")
"""The scenario the page shows (one per browser session)."""


@solara.component
def Overview(model: IraqModel) -> None:
    """The scenario picker, the settings running now, and when changes take effect."""
    solara.Select("Scenario", value=picked.value, values=scenario_names(), on_value=picked.set)
    spec = model.spec
    gov = spec.levers.government
    region = spec.uncertainties.region
    paragraph(f"<b>Scenario:</b> <code>{escape(model.scenario_name)}</code>: "
              f"{escape(spec.description)}")
    paragraph(
        f"<b>Now running:</b> accommodation {gov.accommodation:.2f}, appeasement "
        f"{gov.appeasement:.2f}, persuasion {gov.persuasion:.2f}, pressure {gov.pressure:.2f}; "
        f"Gaza {region.gaza:.2f}, Lebanon {region.lebanon:.2f}, Red Sea {region.red_sea:.2f}, "
        f"patron signal {spec.uncertainties.patron.signal:+.2f}; retaliation "
        f"{spec.levers.coalition.retaliation}; seed {model.seed_value}; "
        f"{len(spec.events)} scheduled events.", "sim-settings")
    paragraph(
        "<b>When changes take effect:</b> picking a scenario restarts the page with that "
        "scenario's values on the sliders. Sliders and the retaliation selector take effect "
        "when you press <b>Reset</b> (the model is re-created); they do not change the run "
        "under way. Step advances one day (or <i>Render Interval</i> days); Play runs on.")
    paragraph("Values are stylised assumptions for teaching, not intelligence estimates.")


@solara.component
def Page() -> None:
    """The page: SolaraViz keyed on the picked scenario, so a new pick starts afresh."""
    name = picked.value
    model = solara.use_memo(lambda: TeachingModel(scenario_name=name), [name])
    components = [(Overview, 0), (TimeSeries, 0), (AttackMap, 0), (Ensemble, 0)]
    SolaraViz(model, components=components, model_params=model_params(name),
              name=f"Militia attacks and the Iraqi government's levers: {name}",
              play_interval=150).key(f"viz-{name}")


page = Page
