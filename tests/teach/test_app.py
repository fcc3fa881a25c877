"""The page's logic, runs and figures, without a browser (tests/teach/test_browser.py
drives the page itself)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sim.experiment import runner
from sim.scenario.load import load
from sim.teach import page_figures, page_runs
from sim.teach import page_model as pm


def test_every_shipped_scenario_builds_with_its_own_settings():
    for name in pm.scenario_names():
        spec = load(name)
        model = pm.TeachingModel(name, pm.settings_of(spec))
        assert model.spec.levers == spec.levers
        assert model.spec.uncertainties == spec.uncertainties
        assert model.settings["seed"] == spec.run.seed


def test_controls_override_the_scenario():
    model = pm.TeachingModel("baseline", {"pressure": 0.9, "gaza": 0.2, "patron_signal": -0.5,
                                          "retaliation": "escalatory", "seed": 3})
    assert model.government.pressure == pytest.approx(0.9)
    assert model.region.gaza == pytest.approx(0.2)
    assert model.region.signal == pytest.approx(-0.5)
    assert model.command.retaliation == "escalatory"
    assert model.settings["appeasement"] == load("baseline").levers.government.appeasement


def test_the_run_replays_the_first_replication_of_its_root_seed():
    """The Run tab's run is row 0 of `sim run SCENARIO --seed ROOT`."""
    spec = load("pressure_led")
    model = pm.TeachingModel("pressure_led", {"seed": 99})
    while model.day < model.days:
        model.step()
    summary = runner.run(spec, replications=2, seed=99).summary
    assert model.recorder.daily_columns()["attacks"].sum() == summary["attacks"].iloc[0]
    assert model.recorder.daily_columns()["attacks"].sum() != summary["attacks"].iloc[1]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("pressure", 1.5, "Pressure must lie in [0, 1]"),
    ("patron_signal", -1.01, "Patron signal must lie in [-1, 1]"),
    ("pressure", None, "Pressure must lie in [0, 1]"),
    ("retaliation", "nuclear", "allowed: none, proportional, escalatory"),
    ("seed", -1, "seed must be a whole number from 0 to 9223372036854775807"),
    ("seed", 2**63, "seed must be a whole number"),
])
def test_out_of_range_values_are_refused_with_what_is_allowed(key, value, message):
    assert message in pm.check_value("baseline", key, value)


@pytest.mark.parametrize(("key", "value"), [("pressure", 0.0), ("pressure", 0.873),
                                            ("patron_signal", -1.0), ("seed", 20231017),
                                            ("retaliation", "none")])
def test_values_in_range_are_accepted(key, value):
    assert pm.check_value("baseline", key, value) == ""


def test_differences_name_each_control_that_differs():
    running = pm.settings_of(load("baseline"))
    assert pm.differences(dict(running), running) == []
    screen = {**running, "pressure": 0.9, "patron_signal": -0.25, "seed": 7}
    assert pm.differences(screen, running) == [
        "pressure 0.90 on the controls, 0.15 in this run",
        "patron signal -0.25 on the controls, +0.30 in this run",
        "seed 7 on the controls, 20231017 in this run"]


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=int)


def test_the_run_figure_draws_the_same_picture_as_a_full_redraw():
    model = pm.TeachingModel("baseline", {"seed": 2})
    figure = page_figures.RunFigure(model)
    first = figure.png()
    for _ in range(40):
        model.step()
    figure.update(model)
    fast = decode(figure.png())
    assert not np.array_equal(fast, decode(first))
    for artist in figure.moving:
        artist.set_animated(False)
    full = decode(page_figures.png(figure.fig))
    assert fast.shape == full.shape
    assert (np.abs(fast - full).max(axis=2) > 40).mean() < 1e-3  # anti-aliasing only


@pytest.mark.parametrize(("value", "least", "top"), [(0, 4, 4), (3, 4, 4), (4, 4, 5),
                                                     (9, 4, 20), (180, 10, 500)])
def test_axis_tops_follow_a_1_2_5_series(value, least, top):
    assert page_figures.headroom(value, least) == top


def spec_with(**settings):
    base = pm.settings_of(pm.base_scenario("baseline"))
    return pm.build_spec("baseline", {**base, **settings})


def test_compare_of_a_setting_with_itself_shows_no_difference_at_all():
    """Common random numbers: the same setting twice gives identical replications."""
    result = page_runs.compare(spec_with(), spec_with(), 5, replications=50)
    assert (result.table["diff"] == 0).all()
    assert (result.table["verdict"] == "").all()
    a, b = result.daily["A"]["attacks"], result.daily["B"]["attacks"]
    pd.testing.assert_frame_equal(a, b)


def test_compare_finds_what_the_pressure_lever_does():
    result = page_runs.compare(spec_with(), spec_with(pressure=0.9), 5, replications=200)
    table = result.table.set_index("outcome")
    assert table.loc["attacks", "verdict"] == "better"
    assert table.loc["min_stability", "verdict"] == "worse"
    assert table.loc["open_confrontation", "verdict"] == "worse"
    assert list(result.daily) == ["A", "B"]
    assert len(result.daily["A"]["attacks"]) == 120


def test_weekly_average_averages_each_replication_over_the_last_seven_days():
    daily = pd.DataFrame({"replication": np.repeat([0, 1], 9), "day": np.tile(np.arange(1, 10), 2),
                          "attacks": [7, 0, 0, 0, 0, 0, 0, 0, 7] + [1] * 9})
    out = page_runs.weekly_average(daily.sample(frac=1, random_state=1))
    first = out[out["replication"] == 0]["value"].to_numpy()
    assert first == pytest.approx([7, 3.5, 7 / 3, 1.75, 1.4, 7 / 6, 1, 0, 1])
    assert (out[out["replication"] == 1]["value"] == 1).all()


def test_explore_sweeps_the_whole_range_with_bands_that_hold_the_median():
    result = page_runs.explore(spec_with(), "patron_signal", 3, replications=40, points=5)
    table = result.table
    assert table["value"].tolist() == pytest.approx([-1, -0.5, 0, 0.5, 1])
    assert (table["attacks_low"] <= table["attacks_median"]).all()
    assert (table["attacks_median"] <= table["attacks_high"]).all()
    assert (table["confrontation_low"] <= table["confrontation"]).all()
    assert (table["confrontation"] <= table["confrontation_high"]).all()
    assert table["attacks_median"].is_monotonic_increasing  # the patron encourages attacks


def test_wilson_interval():
    low, high = page_runs.wilson(np.array([0, 50, 100]), 100)
    assert low[0] == 0 and high[0] == pytest.approx(0.0370, abs=1e-4)
    assert (low[1], high[1]) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert high[2] == 1


def test_explore_and_compare_figures_draw():
    result = page_runs.explore(spec_with(), "pressure", 3, replications=20, points=3)
    for fig in (page_figures.response_figure(result.table, "pressure", 0.15, 120),
                page_figures.tradeoff_figure(result.table, "pressure", 0.15, 120)):
        assert decode(page_figures.png(fig)).shape[1] == 560


def test_the_page_module_loads_with_its_stylesheet():
    from sim.teach import app

    assert ".sim-panel" in app.CSS
    assert callable(app.page)
