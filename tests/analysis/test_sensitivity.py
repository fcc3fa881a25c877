"""Global sensitivity: a factor the model does not read gets no index, one it reads gets
most of it; designs, noise and the command's folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis import sensitivity as sa
from sim.cli import main
from sim.experiment.design import run_design
from sim.scenario.load import load
from sim.scenario.schema import Range

BASELINE = load("baseline")


def with_ranges(*ranges: Range):
    return BASELINE.model_copy(update={"ranges": list(ranges)})


SPEC = with_ranges(
    Range(path="mechanisms.base_propensity", low=-7.0, high=-5.5, group="intercept",
          reason="test: moves every attack"),
    # the adaptive rule is off in the baseline: its ceiling is read by nothing
    Range(path="levers.government.adaptive.max_pressure", low=0.2, high=1.0,
          group="unused", reason="test: read by nothing"),
    Range(path="mechanisms.casualty_scale", low=1.0, high=4.0, group="casualties",
          reason="test: moves injuries, not attacks"))


@pytest.fixture(scope="module")
def sobol():
    prob = sa.problem(SPEC)
    design = sa.sample("sobol", prob, 64, seed=3)
    scores, _ = run_design(SPEC, prob["names"], design, 4, seed=3, days=40)
    return prob, design, scores, sa.analyse("sobol", prob, design, scores, seed=3)


def index(table: pd.DataFrame, outcome: str, factor: str, name: str) -> float:
    row = table[(table["outcome"] == outcome) & (table["factor"] == factor)
                & (table["index"] == name) & (table["n"] == table["n"].max())]
    return float(row["value"].iloc[0])


def test_a_factor_the_model_does_not_read_has_no_sobol_index(sobol):
    _, design, _, table = sobol
    assert len(design) == 64 * (3 + 2)
    for outcome in ("attacks", "injuries", "min_stability"):
        assert index(table, outcome, "unused", "ST") == 0.0  # the same seeds: no change at all
    assert index(table, "attacks", "intercept", "ST") > 0.8
    # injuries per hit move attacks only through the coalition's retaliation (injury threshold)
    assert index(table, "attacks", "casualties", "ST") < 0.05
    assert index(table, "injuries", "casualties", "ST") > 0.1


def test_convergence_and_noise_are_reported(sobol):
    _, _, scores, table = sobol
    assert set(table["n"]) == {64, 32}
    noise = sa.noise_share(scores, 4).set_index("outcome")
    assert 0 <= noise.loc["attacks", "noise_share"] < 0.2  # the intercept dominates noise


def test_morris_screening_gives_no_effect_to_an_unread_factor():
    prob = sa.problem(SPEC)
    design = sa.sample("morris", prob, 8, seed=4)
    assert len(design) == 8 * (3 + 1)
    scores, _ = run_design(SPEC, prob["names"], design, 3, seed=4, days=30)
    table = sa.analyse("morris", prob, design, scores, seed=4)
    assert index(table, "attacks", "unused", "mu_star") == 0.0
    assert index(table, "attacks", "intercept", "mu_star") > 5


def test_ungrouped_factors_are_the_paths():
    prob = sa.problem(SPEC, grouped=False)
    assert sa.factors(prob) == [r.path for r in SPEC.ranges]


def test_a_scenario_without_ranges_and_a_bad_n_are_refused():
    with pytest.raises(sa.SensitivityError, match="declares no"):
        sa.problem(BASELINE)
    with pytest.raises(sa.SensitivityError, match="power of two"):
        sa.sample("sobol", sa.problem(SPEC), 100, seed=1)


def test_cli_writes_indices_noise_and_the_ranking(tmp_path, capsys):
    out = tmp_path / "sens"
    assert main(["sensitivity", "ranges_iraq_2023", "--method", "morris", "--n", "4",
                 "--reps", "2", "--days", "20", "--out", str(out)]) == 0
    for name in ("design.parquet", "scores.csv", "indices.csv", "noise.csv", "sensitivity.md",
                 "ranking.png", "metadata.json"):
        assert (out / name).is_file(), name
    indices = pd.read_csv(out / "indices.csv")
    assert np.isfinite(indices.loc[indices["index"] == "mu_star", "value"]).all()
    assert "attacks (mu_star" in capsys.readouterr().out
    assert main(["sensitivity", "baseline", "--out", str(tmp_path / "none")]) == 2
    assert "declares no [[ranges]]" in capsys.readouterr().err


def test_the_agent_engine_scores_a_design_exactly_as_the_ensemble_does():
    prob = sa.problem(SPEC, grouped=False)
    design = sa.sample("morris", prob, 2, seed=5)
    integer = sa.integer_paths(SPEC, prob["names"])
    ensemble, meta = run_design(SPEC, prob["names"], design, 3, seed=5, days=30, integer=integer)
    agents, meta_agents = run_design(SPEC, prob["names"], design, 3, seed=5, days=30,
                                     integer=integer, engine="agents")
    assert (meta["engine"], meta_agents["engine"]) == ("ensemble", "agents")
    pd.testing.assert_frame_equal(agents, ensemble)
    assert ensemble["attacks"].nunique() > 1  # the design moves attacks
