"""The page's model and figures, without a browser."""

from __future__ import annotations

import inspect

import pytest

from sim.scenario.load import load
from sim.teach import app


def test_every_shipped_scenario_builds_with_its_own_settings():
    for name in app.scenario_names():
        spec = load(name)
        model = app.TeachingModel(scenario_name=name, **app.settings_of(spec))
        assert model.spec.levers == spec.levers
        assert model.spec.uncertainties == spec.uncertainties


def test_sliders_override_the_scenario():
    model = app.TeachingModel(scenario_name="baseline", pressure=0.9, gaza=0.2,
                              patron_signal=-0.5, retaliation="escalatory", seed=3)
    assert model.government.pressure == pytest.approx(0.9)
    assert model.region.gaza == pytest.approx(0.2)
    assert model.region.signal == pytest.approx(-0.5)
    assert model.command.retaliation == "escalatory"


def test_model_params_match_the_constructor():
    names = set(inspect.signature(app.TeachingModel.__init__).parameters) - {"self"}
    params = app.model_params("baseline")
    assert set(params) <= names
    assert "scenario" not in names  # SolaraViz passes its own `scenario` object on Reset
    for lever in ("accommodation", "appeasement", "persuasion", "pressure", "gaza",
                  "patron_signal", "retaliation"):
        assert params[lever]["type"] in ("SliderFloat", "Select")


def test_figures_draw_the_days_attacks():
    model = app.TeachingModel(seed=2)
    for _ in range(10):
        model.step()
    assert len(app.timeseries_figure(model).axes) == 3
    fig = app.map_figure(model)
    today = int(model.recorder.daily_columns()["attacks"][model.day - 1])
    assert len(fig.axes[0].lines) == today


def test_same_seed_same_run():
    a, b = app.TeachingModel(seed=5), app.TeachingModel(seed=5)
    for _ in range(20):
        a.step()
        b.step()
    assert (a.recorder.daily_columns()["attacks"] == b.recorder.daily_columns()["attacks"]).all()
