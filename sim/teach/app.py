"""The teaching page: the model's levers as controls, and three tabs.

Run it with ``sim app`` (or ``make app``) and open http://127.0.0.1:8765.

* The **controls** on the left hold one setting of the scenario: the government's four
  levers, the coalition's retaliation, the region and the patron, and a root seed.
  Each shows its value and takes exact input.
* **Run** steps one replication of the agent engine (the Mesa model) day by day, or
  plays it at a chosen number of days a second: live plots and a map of the day's
  attacks. It runs the settings it was last reset with; a notice lists any control
  that differs, until Reset.
* **Compare** runs the controls' settings (A) and a second lever setting (B) with the
  same 1,000 replications on the ensemble engine: bands, a table of outcomes and
  their differences.
* **Explore** sweeps one control over its whole range (ensemble engine, seconds):
  the response of attacks, stability and confrontation risk, and the trade-off.

A Solara page of its own rather than Mesa's generic SolaraViz: the page needs named
tabs, controls with exact input and plain words for every control.
"""

from __future__ import annotations

import threading
import time
from html import escape
from pathlib import Path
from typing import Any

import solara

from sim.analysis.glossary import unit
from sim.teach import page_runs
from sim.teach.map_view import map_figure
from sim.teach.page_figures import (
    RunFigure,
    compare_figure,
    png,
    response_figure,
    tradeoff_figure,
)
from sim.teach.page_model import (
    BY_KEY,
    CONTROLS,
    LEVERS,
    NUMERIC,
    TeachingModel,
    base_scenario,
    build_spec,
    differences,
    scenario_names,
    settings_of,
    show,
)
from sim.teach.widgets import (
    ChoiceControl,
    NumberControl,
    SeedControl,
    html_table,
    notice,
    paragraph,
)

SPEEDS = [5, 10, 20, 50]
"""Days a second the Run tab can play at."""
FRAME_SECONDS = 0.25
"""How often the Run tab redraws while playing (the model moves on in between)."""
CSS = (Path(__file__).with_name("page.css")).read_text(encoding="utf-8")

# --------------------------------------------------------------------- state
# Module-level reactive values are per browser session in Solara.

scenario = solara.reactive("baseline")
controls = solara.reactive(settings_of(base_scenario("baseline")))
"""The settings on the controls: control key -> value, and ``seed``."""
run_model: solara.Reactive[TeachingModel | None] = solara.reactive(None)
frame = solara.reactive(0)
"""Bumped after the Run tab's model moves, so the plots redraw."""
playing = solara.reactive(False)
speed = solara.reactive(20)
tab = solara.reactive(0)
setting_b = solara.reactive({k: controls.value[k] for k in (*LEVERS, "retaliation")})
comparison: solara.Reactive[tuple[dict, page_runs.Comparison] | None] = solara.reactive(None)
explore_key = solara.reactive("pressure")
explore_reps = solara.reactive(page_runs.EXPLORE_REPS)
response: solara.Reactive[tuple[dict, page_runs.Response] | None] = solara.reactive(None)


def set_control(key: str, value: Any) -> None:
    """Put a value on one control (nothing else changes until a button is pressed)."""
    controls.set({**controls.value, key: value})


def pick_scenario(name: str) -> None:
    """Load a scenario: its values on the controls, its run from day 0, results cleared."""
    playing.set(False)
    values = settings_of(base_scenario(name))
    scenario.set(name)
    controls.set(values)
    setting_b.set({k: values[k] for k in (*LEVERS, "retaliation")})
    comparison.set(None)
    response.set(None)
    reset()


def reset() -> None:
    """Start the Run tab's replication afresh from the controls' settings."""
    playing.set(False)
    run_model.set(TeachingModel(scenario.value, dict(controls.value)))
    frame.set(frame.value + 1)


def advance(model: TeachingModel, days: int) -> None:
    """Step ``model`` up to ``days`` days (not past its horizon)."""
    with model.lock:
        for _ in range(days):
            if model.day >= model.days:
                break
            model.step()


def step(days: int = 1) -> None:
    """Advance the Run tab's replication (up to its horizon) and redraw."""
    advance(run_model.value, days)
    frame.set(frame.value + 1)


def play(stop: threading.Event) -> None:
    """While playing: advance the run at ``speed`` days a second of wall time, and redraw
    every :data:`FRAME_SECONDS` (a frame shows however many days passed since the last).
    """
    model = run_model.value
    owed, last, drawn = 0.0, time.perf_counter(), 0.0
    while playing.value and not stop.is_set() and model.day < model.days:
        now = time.perf_counter()
        owed += (now - last) * speed.value
        last = now
        if owed >= 1:
            advance(model, int(owed))
            owed -= int(owed)
        if now - drawn >= FRAME_SECONDS or model.day >= model.days:
            frame.set(frame.value + 1)
            drawn = now
        time.sleep(0.01)
    playing.set(False)


# ------------------------------------------------------------------ controls


@solara.component
def Controls() -> None:
    """The left column: scenario, levers, region and patron, seed."""
    values = controls.value
    name = scenario.value
    with solara.Column(classes=["sim-panel"], gap="6px"):
        solara.Select("Scenario", values=scenario_names(), value=name, on_value=pick_scenario)
        paragraph(escape(base_scenario(name).description), "sim-description")
        paragraph("<b>Government levers</b> (0 = not used, 1 = all-out)", "sim-group")
        for key in LEVERS:
            NumberControl(name, key, values[key], lambda v, k=key: set_control(k, v))
        ChoiceControl(name, "retaliation", values["retaliation"],
                      lambda v: set_control("retaliation", v))
        paragraph("<b>Region and patron</b> (at day 1; scheduled events still apply)",
                  "sim-group")
        for control in CONTROLS:
            if control.group == "region":
                NumberControl(name, control.key, values[control.key],
                              lambda v, k=control.key: set_control(k, v))
        SeedControl(values["seed"], lambda v: set_control("seed", v))
        paragraph("Values are stylised assumptions for teaching, not intelligence estimates.",
                  "sim-small")


# ------------------------------------------------------------------------ run


def status_line(model: TeachingModel) -> str:
    """``Day 12 of 120 (28 Oct 2023): 31 attacks, 40 injured so far; stability 0.70``."""
    columns = model.recorder.daily_columns()
    n = model.day
    when = ""
    if n:
        date = columns["date"][n - 1].astype("datetime64[D]").item()
        when = f" ({date.day} {date:%b %Y})"
    stability = f"; stability {columns['stability'][n - 1]:.2f}" if n else ""
    return (f"Day {n} of {model.days}{when}: {int(columns['attacks'].sum())} attacks, "
            f"{int(columns['injuries'].sum())} injured so far{stability}")


def settings_text(name: str, values: dict[str, Any], keys: tuple[str, ...] | None = None) -> str:
    """The settings in words, for the line under a result."""
    keys = keys or tuple(BY_KEY)
    parts = ", ".join(f"{BY_KEY[k].label.lower()} {show(k, values[k])}" for k in keys)
    return f"scenario {name}: {parts}; seed {values['seed']}"


@solara.component
def RunTab() -> None:
    """Step or play one replication; live plots and the map."""
    model = run_model.value
    _ = frame.value  # redraw when the model moves
    figure = solara.use_memo(lambda: RunFigure(model), [id(model)])
    solara.use_thread(play, dependencies=[playing.value, id(model)], intrusive_cancel=False)
    notice(differences(controls.value, model.settings, (scenario.value, model.scenario_name)),
           "Press Reset to start a run with the controls' settings.")
    with solara.Row(gap="8px", classes=["sim-buttons"]):
        solara.Button("Reset", on_click=reset, color="primary")
        solara.Button("Step", on_click=lambda: step(1), disabled=playing.value)
        solara.Button("Step a week", on_click=lambda: step(7), disabled=playing.value)
        solara.Button("Pause" if playing.value else "Play",
                      on_click=lambda: playing.set(not playing.value),
                      disabled=model.day >= model.days, color="secondary")
        solara.Text("days a second:", classes=["sim-small"])
        solara.ToggleButtonsSingle(value=speed.value, values=SPEEDS, on_value=speed.set,
                                   dense=True)
    with model.lock:  # the play thread does not move the model while it is drawn
        status = status_line(model)
        figure.update(model)
        plots, places = figure.png(), png(map_figure(model))
    solara.Text(status, classes=["sim-status"])
    with solara.Row(classes=["sim-figures"]):
        solara.Image(plots, classes=["sim-figure", "sim-run-figure"])
        solara.Image(places, classes=["sim-figure", "sim-map"])
    paragraph(f"<b>This run:</b> {escape(settings_text(model.scenario_name, model.settings))}; "
              f"replication 1 of the seed, as the first row of <code>sim run "
              f"{escape(model.scenario_name)} --seed {model.settings['seed']}</code>.",
              "sim-settings")


# -------------------------------------------------------------------- compare


OUTCOME_NAMES = {"attacks": "Attacks", "injuries": "Injured", "deaths": "Deaths",
                 "min_stability": "Lowest stability", "open_confrontation": "Open confrontation"}
"""Row names of the Compare tab's table (units from the glossary beside them)."""


def outcome_rows(result: page_runs.Comparison, days: int) -> list[list[str]]:
    """The Compare tab's table: outcome, A, B, B - A and what the difference says."""
    rows = []
    for r in result.table.itertuples():
        digits = 2 if r.outcome in ("min_stability", "open_confrontation", "deaths") else 0
        f = f"{{:.{digits}f}}"
        word = r.verdict or "no clear difference"
        rows.append([
            f"{OUTCOME_NAMES[r.outcome]} <small>({escape(unit(r.outcome, days))})</small>",
            f"{f.format(r.a_mean)} <small>[{f.format(r.a_low)}, {f.format(r.a_high)}]</small>",
            f"{f.format(r.b_mean)} <small>[{f.format(r.b_low)}, {f.format(r.b_high)}]</small>",
            f"{f.format(r.diff)} <small>[{f.format(r.diff_low)}, {f.format(r.diff_high)}]"
            "</small>",
            f'<span class="sim-{word.split()[0]}">{word}</span>'])
    return rows


@solara.lab.task
def run_comparison(name: str, values: dict[str, Any], b: dict[str, Any]) -> None:
    """Run settings A (``values``) and B (``values`` with ``b``) and keep the result."""
    both = {**values, **b}
    result = page_runs.compare(build_spec(name, values), build_spec(name, both), values["seed"])
    comparison.set(({"A": dict(values), "B": both, "scenario": name}, result))


@solara.component
def CompareTab() -> None:
    """Setting A (the controls) against setting B (set here), same seeds, with bands."""
    name, values, b = scenario.value, controls.value, setting_b.value
    busy = run_comparison.pending

    paragraph(f"<b>A</b> is the controls on the left. <b>B</b> is the lever setting below; "
              f"everything else in B (region, patron, seed) is A's. Both run the same "
              f"{page_runs.COMPARE_REPS:,} replications on the ensemble engine (the same "
              f"model on arrays), so differences are the settings', not chance's.", "sim-small")
    with solara.Row(classes=["sim-ab"]):
        with solara.Column(classes=["sim-setting"]):
            paragraph(f"<b>A</b> (the controls): "
                      f"{escape(settings_text(name, values, (*LEVERS, 'retaliation')))}",
                      "sim-setting-a")
        with solara.Column(classes=["sim-setting"]):
            paragraph("<b>B</b>:", "sim-setting-b")
            for key in LEVERS:
                NumberControl(name, key, b[key],
                              lambda v, k=key: setting_b.set({**setting_b.value, k: v}),
                              label=f"B: {BY_KEY[key].label}")
            ChoiceControl(name, "retaliation", b["retaliation"],
                          lambda v: setting_b.set({**setting_b.value, "retaliation": v}),
                          label="B: Coalition retaliation")
    with solara.Row():
        solara.Button(f"Compare A and B ({page_runs.COMPARE_REPS:,} replications each)",
                      on_click=lambda: run_comparison(name, values, b), disabled=busy,
                      color="primary")
        if busy:
            solara.Text("running ... (the first run after starting the page also compiles "
                        "the ensemble engine: up to 15 s)", classes=["sim-small"])
    if run_comparison.error:
        solara.Error(f"The comparison failed: {run_comparison.exception}")
    if comparison.value is None:
        return
    ran, result = comparison.value
    spec = base_scenario(ran["scenario"])
    scenarios = (name, ran["scenario"])
    changed = [*differences({**values, **b}, ran["B"], scenarios),
               *differences(values, ran["A"], scenarios)]
    notice(list(dict.fromkeys(changed)), "Press Compare again to run the settings now shown.")
    paragraph(f"<b>Ran</b> {escape(settings_text(ran['scenario'], ran['A']))}; B: "
              f"{escape(settings_text(ran['scenario'], ran['B'], (*LEVERS, 'retaliation')))}."
              f" {result.replications:,} replications each in {result.seconds:.1f} s.",
              "sim-compare-ran")
    html_table(["outcome", "A: mean [95% interval]", "B: mean [95% interval]",
                "B - A [95% interval, paired]", "B against A"],
               outcome_rows(result, spec.run.days), "sim-table")
    with solara.Row(classes=["sim-figures"]):
        solara.Image(png(compare_figure(result.daily, spec.run.start_date)),
                     classes=["sim-figure", "sim-compare-figure"])


# -------------------------------------------------------------------- explore


@solara.lab.task
def run_explore(name: str, values: dict[str, Any], key: str, reps: int) -> None:
    """Sweep control ``key`` with the other settings from ``values``; keep the result."""
    result = page_runs.explore(build_spec(name, values), key, values["seed"], reps)
    response.set(({**values, "scenario": name}, result))


@solara.component
def ExploreTab() -> None:
    """One control over its whole range: response curves and the trade-off."""
    name, values = scenario.value, controls.value
    busy = run_explore.pending

    paragraph(f"Sweeps one control over its whole range in {page_runs.EXPLORE_POINTS} steps, "
              "every other setting as on the controls, the same replications at every "
              "value (ensemble engine).", "sim-small")
    with solara.Row(classes=["sim-buttons"]):
        labels = {BY_KEY[k].label: k for k in NUMERIC}
        solara.Select("Control to vary", values=list(labels),
                      value=BY_KEY[explore_key.value].label,
                      on_value=lambda label: explore_key.set(labels[label]), dense=True,
                      classes=["sim-explore-key"])
        solara.Text("replications per value:", classes=["sim-small"])
        solara.ToggleButtonsSingle(value=explore_reps.value, values=[100, 200, 500],
                                   on_value=explore_reps.set, dense=True)
        solara.Button("Explore", disabled=busy, color="primary", on_click=lambda: run_explore(
            name, values, explore_key.value, explore_reps.value))
        if busy:
            solara.Text("running ...", classes=["sim-small"])
    if run_explore.error:
        solara.Error(f"The sweep failed: {run_explore.exception}")
    if response.value is None:
        return
    ran, result = response.value
    others = tuple(k for k in BY_KEY if k != result.key)
    notice(differences({k: v for k, v in values.items() if k != result.key}, ran,
                       (name, ran["scenario"])), "Press Explore again to run the settings now shown.")
    paragraph(f"<b>Ran</b> {escape(BY_KEY[result.key].label.lower())} over its range, "
              f"{result.replications:,} replications at each of {len(result.table)} values "
              f"({result.replications * len(result.table):,} runs) in {result.seconds:.1f} s; "
              f"other settings: {escape(settings_text(ran['scenario'], ran, others))}.",
              "sim-explore-ran")
    days = base_scenario(ran["scenario"]).run.days
    with solara.Row(classes=["sim-figures"]):
        solara.Image(png(response_figure(result.table, result.key, ran[result.key], days)),
                     classes=["sim-figure", "sim-response"])
        solara.Image(png(tradeoff_figure(result.table, result.key, ran[result.key], days)),
                     classes=["sim-figure", "sim-tradeoff"])


# ----------------------------------------------------------------------- page


@solara.component
def Page() -> None:
    """The page: title, controls on the left, the three tabs on the right."""
    solara.Style(CSS)
    if run_model.value is None:
        reset()
        return
    with solara.Column(classes=["sim-page"], gap="8px"):
        solara.HTML(tag="h1", unsafe_innerHTML="Militia attacks and the Iraqi government's "
                    "levers", classes=["sim-title"])
        with solara.Row(classes=["sim-layout"], gap="16px"):
            Controls()
            with solara.Column(classes=["sim-main"]):
                with solara.lab.Tabs(value=tab.value, on_value=tab.set, lazy=True):
                    with solara.lab.Tab("Run"):
                        RunTab()
                    with solara.lab.Tab("Compare"):
                        CompareTab()
                    with solara.lab.Tab("Explore"):
                        ExploreTab()


page = Page
