"""sim.ema: the model as an EMA Workbench ReplicatorModel, run with perform_experiments on a
small design (levers, uncertainties and outcomes from the registry and the ranges file)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("ema_workbench")

from ema_workbench import Sample, SequentialEvaluator
from ema_workbench.util import EMAError

from sim import ema
from sim.experiment.design import OUTCOMES
from sim.experiment.plan import replication_seeds
from sim.scenario.errors import ScenarioError
from sim.scenario.load import load
from sim.scenario.schema import Range

DAYS, REPS, SCENARIOS, POLICIES = 60, 3, 4, 2
SPEC = load("ranges_iraq_2023")
PRESSURE = ema.name_of("levers.government.pressure")
# The adaptive rule is off in the baseline: its ceiling is read by nothing.
UNUSED = "levers.government.adaptive.max_pressure"


def perform(model, scenarios=SCENARIOS, policies=POLICIES):
    with SequentialEvaluator(model) as evaluator:
        return evaluator.perform_experiments(scenarios=scenarios, policies=policies,
                                             uncertainty_sampling_kwargs={"rng": 1},
                                             lever_sampling_kwargs={"rng": 2})


def replicated(engine="ensemble", **kwargs):
    return ema.model("ranges_iraq_2023", replications=REPS, days=DAYS, engine=engine,
                     per_replication=True, **kwargs)


@pytest.fixture(scope="module")
def design():
    return perform(replicated())


def test_the_table_comes_from_the_registry_and_the_ranges_file(design):
    model = replicated()
    assert [path for p in model.uncertainties for path in p.variable_name] == [
        r.path for r in SPEC.ranges]
    assert [p.variable_name[0] for p in model.levers] == list(ema.LEVERS)
    assert all((p.lower_bound, p.upper_bound) == (0.0, 1.0) for p in model.levers)
    assert model.replications == [{"seed": s} for s in replication_seeds(SPEC.run.seed, REPS)]
    experiments, outcomes = design
    names = [p.name for p in (*model.uncertainties, *model.levers)]
    assert len(names) == len(SPEC.ranges) + 4 == 149
    assert set(names) <= set(experiments.columns)
    assert len(experiments.columns) == len(names) + 3  # and scenario, policy, model
    assert experiments["scenario"].nunique() == SCENARIOS
    assert experiments["policy"].nunique() == POLICIES
    assert sorted(outcomes) == sorted(o + ema.PER_REPLICATION for o in OUTCOMES)
    for values in outcomes.values():
        assert values.shape == (SCENARIOS * POLICIES, REPS)
    assert np.all(outcomes["attacks_by_replication"] > 0)


def test_names_map_back_to_paths():
    for p in (*ema.uncertainties(SPEC), *ema.levers(SPEC)):
        assert p.name.isidentifier() and ema.path_of(p.name) == p.variable_name[0]
    assert ema.name_of("factions.kataib_hezbollah.hostility") == \
        "factions__kataib_hezbollah__hostility"
    with pytest.raises(ValueError, match="no Workbench name"):
        ema.name_of("factions._hidden.hostility")


def test_the_means_are_the_replications_averaged(design):
    _, means = perform(ema.model(replications=REPS, days=DAYS))
    assert set(means) == set(OUTCOMES) and means["attacks"].shape == (SCENARIOS * POLICIES,)
    for outcome in OUTCOMES:
        with warnings.catch_warnings():  # syria_share: a row of NaN (no attacks) stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nanmean(design[1][outcome + ema.PER_REPLICATION], axis=1)
        np.testing.assert_allclose(means[outcome], expected, rtol=1e-12)


def test_the_same_experiments_twice_give_the_same_outcomes(design):
    experiments, outcomes = perform(replicated())
    for name, values in outcomes.items():
        np.testing.assert_array_equal(values, design[1][name])
    labels = ["scenario", "policy", "model"]  # the Workbench numbers samples per process
    assert experiments.drop(columns=labels).equals(design[0].drop(columns=labels))


def test_the_agents_engine_gives_the_ensembles_outcomes(design):
    _, outcomes = perform(replicated("agents"))
    for name, values in outcomes.items():
        np.testing.assert_array_equal(values, design[1][name])


def test_a_value_read_by_nothing_changes_nothing_while_pressure_changes_attacks():
    spec = SPEC.model_copy(update={"ranges": [
        Range(path=UNUSED, low=0.2, high=1.0, reason="test: read by nothing")]})
    model = ema.model(spec, replications=REPS, days=DAYS, per_replication=True)
    assert [p.name for p in model.uncertainties] == [ema.name_of(UNUSED)]
    worlds = [Sample("low", **{ema.name_of(UNUSED): 0.2}),
              Sample("high", **{ema.name_of(UNUSED): 1.0})]
    policies = [Sample("soft", **{PRESSURE: 0.0}), Sample("hard", **{PRESSURE: 1.0})]
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(worlds, policies)
    row = {pair: i for i, pair in enumerate(zip(experiments["scenario"], experiments["policy"],
                                                strict=True))}
    assert sorted(row) == sorted((w, p) for w in ("low", "high") for p in ("soft", "hard"))
    for values in outcomes.values():  # replication by replication
        for policy in ("soft", "hard"):
            np.testing.assert_array_equal(values[row["low", policy]], values[row["high", policy]])
    attacks = outcomes["attacks_by_replication"]
    soft, hard = attacks[row["low", "soft"]], attacks[row["low", "hard"]]
    assert np.all(hard < soft), attacks  # full pressure: fewer attacks, seed by seed


def test_a_constant_is_set_in_every_experiment():
    fixed = ema.model(replications=REPS, days=DAYS, per_replication=True,
                      constants={"levers.government.pressure": 0.6})
    assert PRESSURE not in [p.name for p in fixed.levers] and len(fixed.levers) == 3
    _, by_constant = perform(fixed, scenarios=2, policies=0)
    _, by_policy = perform(replicated(), scenarios=2, policies=[Sample("p", **{PRESSURE: 0.6})])
    np.testing.assert_array_equal(by_constant["attacks_by_replication"],
                                  by_policy["attacks_by_replication"])


def test_a_bad_value_or_path_is_one_line_naming_the_file_the_path_and_what_is_allowed():
    model = ema.model(replications=2, days=10)
    with pytest.raises(EMAError) as caught:
        perform(model, scenarios=1, policies=[Sample("bad", **{PRESSURE: 1.5})])
    cause = caught.value.__cause__
    assert isinstance(cause, ScenarioError) and "\n" not in str(cause)
    assert str(cause).endswith("scenarios/ranges_iraq_2023.toml: levers.government.pressure = "
                               "1.5: the registry allows a number >= 0.0 and <= 1.0")
    with pytest.raises(ScenarioError, match=r"did you mean levers\.government\.pressure"):
        ema.model(constants={"levers.government.presure": 0.5})
    with pytest.raises(ScenarioError, match=r"run\.days = 30: the run is set by sim.ema.model"):
        ema.model(constants={"run.days": 30})
    with pytest.raises(ScenarioError, match=r"pressure = 2: each end .* <= 1\.0"):
        ema.parameter("levers.government.pressure", 0, 2)
    with pytest.raises(ScenarioError, match=r"coalition\.retaliation = .* a choice"):
        ema.parameter("levers.coalition.retaliation")
    with pytest.raises(ValueError, match="engine = 'gpu': allowed: ensemble, agents"):
        ema.model(engine="gpu")
    with pytest.raises(ValueError, match="replications = 0"):
        ema.model(replications=0)


def test_the_workbench_is_optional(monkeypatch):
    code = ("import sys, sim, sim.ema; sim.load('baseline'); "
            "print('ema_workbench' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    monkeypatch.setitem(sys.modules, "ema_workbench", None)
    ema._workbench.cache_clear()
    try:
        with pytest.raises(ImportError, match=r'pip install -e "\.\[ema\]"'):
            ema.model()
    finally:
        monkeypatch.undo()
        ema._workbench.cache_clear()
