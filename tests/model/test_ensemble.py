"""The ensemble engine against the agent engine: one model, two engines.

Three kinds of evidence, strongest first:

1. Row for row: with the same seeds, the two engines give identical daily, event and
   summary tables on every shipped scenario, under a change of any parameter in the
   registry, and with parameters that differ by row.
2. In distribution: with different seeds, 1,000 replications per engine and scenario
   pass two-sample tests on every key outcome and on the daily attack series.
3. The distribution test has power: a coefficient changed by 10% in one engine only
   makes it fail (the mutation check).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiment import runner
from sim.experiment.plan import replication_seeds
from sim.model.ensemble import simulate_batch
from sim.model.ensemble_state import RowValueError
from sim.model.model import simulate
from sim.scenario import registry
from sim.scenario.load import load, override, shipped_scenarios
from sim.scenario.schema import Scenario

SCENARIOS = sorted(p.stem for p in shipped_scenarios())
OUTCOMES = ("attacks", "injuries", "deaths", "strikes", "clashes", "min_stability",
            "open_confrontation")
DISTRIBUTION_REPS = 1000
FAMILY_ALPHA = 1e-3
"""Chance, per scenario, that the distribution test fails although the engines agree."""


def same_tables(spec: Scenario, reps: int = 8, days: int | None = None, seed: int = 11) -> None:
    agents = runner.run(spec, reps, seed, days)
    batch = runner.run(spec, reps, seed, days, engine="ensemble")
    for name in ("daily", "events", "summary"):
        pd.testing.assert_frame_equal(getattr(agents, name).reset_index(drop=True),
                                      getattr(batch, name).reset_index(drop=True),
                                      obj=f"{spec.name} {name}")


# ------------------------------------------------------------------ row for row


@pytest.mark.parametrize("name", SCENARIOS)
def test_engines_agree_row_for_row_on_every_shipped_scenario(name):
    same_tables(load(name))


def changed(param: registry.Parameter) -> object:
    """A different value within the parameter's bounds."""
    if param.type == "boolean":
        return not param.value
    if param.type == "choice":
        return next(c for c in param.choices if c != param.value)
    if param.type == "integer":
        return param.value + 1 if param.high is None or param.value < param.high else \
            param.value - 1
    low, high = float(param.low), float(param.high)
    value = float(param.value)
    return value * 1.3 if low <= value * 1.3 <= high and value != 0 else (low + high) / 2


REPLAY = load("historical_2023_24")
PATHS = [p.path for p in registry.parameters(REPLAY)
         if not p.path.startswith("run.") and p.type != "date"]


@pytest.mark.slow
def test_every_parameter_changes_both_engines_alike():
    """Walk the registry: each parameter changed in turn, both engines run with the same
    seeds; a parameter that one engine ignored (or read differently) breaks equality."""
    seeds = replication_seeds(5, 3)
    skipped = []
    for path in PATHS:
        param = registry.parameter(path, REPLAY)
        try:
            spec = override(REPLAY, {path: changed(param)})
        except Exception:  # a value the schema refuses in combination (rare): say so
            skipped.append(path)
            continue
        agents = [simulate(spec, s, 45) for s in seeds]
        tally = simulate_batch(spec, seeds, 45)
        daily = tally.daily_columns()
        for r, one in enumerate(agents):
            for column, values in one.daily.items():
                mine = daily[column][r * 45:(r + 1) * 45]
                if values.dtype.kind == "f":
                    np.testing.assert_allclose(mine, values, rtol=1e-12, atol=1e-12,
                                               err_msg=f"{path}: {column}")
                else:
                    assert (mine == values).all(), f"{path}: {column}"
    assert len(skipped) < 5, skipped


def test_rows_can_differ_in_any_value_and_stay_each_a_replication():
    spec = load("historical_2023_24")
    seeds = replication_seeds(3, 4)
    varied = {"mechanisms.base_propensity": np.array([-6.5, -6.0, -5.5, -6.2]),
              "levers.government.pressure": np.array([0.0, 0.3, 0.6, 0.9]),
              "factions.kataib_hezbollah.hostility": np.array([0.5, 0.6, 0.9, 1.0]),
              "bases.al_tanf.air_defence": np.array([0.1, 0.3, 0.5, 0.9]),
              "uncertainties.patron.signal": np.array([-0.5, 0.0, 0.3, 1.0])}
    tally = simulate_batch(spec, seeds, 60, varied)
    daily = tally.daily_columns()
    for r, seed in enumerate(seeds):
        one = simulate(override(spec, {k: float(v[r]) for k, v in varied.items()}), seed, 60)
        assert (daily["attacks"][r * 60:(r + 1) * 60] == one.daily["attacks"]).all()
        assert (daily["injuries_reported"][r * 60:(r + 1) * 60]
                == one.daily["injuries_reported"]).all()


@pytest.mark.parametrize("rows", [1, 2])
def test_a_batch_of_one_or_two_rows_is_each_rows_agent_run(rows):
    """Small batches (a size-one array compares like a scalar in numpy) with values that
    drive the state to its clips (embarrassment, hostility) stay exact."""
    spec = override(load("baseline"), {"mechanisms.w_hostility": 9.0,
                                       "mechanisms.embarrassment_attack": 0.08})
    seeds = replication_seeds(1, rows)
    m = spec.mechanisms
    tally = simulate_batch(spec, seeds, 120, tables="summary")
    summary = tally.summary(m.deescalation_attacks, m.deescalation_days)
    for r, seed in enumerate(seeds):
        expected = simulate(spec, seed, 120).summary
        for name in ("attacks", "injuries", "deaths", "syria_share", "min_stability"):
            assert summary[name][r] == expected[name], name


def test_values_that_shape_the_world_cannot_differ_by_row():
    spec = load("baseline")
    with pytest.raises(RowValueError, match=r"bases\.al_tanf\.troops"):
        simulate_batch(spec, [1, 2], 5, {"bases.al_tanf.troops": np.array([100, 200])})
    with pytest.raises(RowValueError, match="one per row"):
        simulate_batch(spec, [1, 2], 5, {"mechanisms.foil_rate": np.array([0.1])})
    with pytest.raises(RowValueError, match=r"\[0.0, 1.0\]"):
        simulate_batch(spec, [1, 2], 5, {"mechanisms.foil_rate": np.array([0.1, 1.5])})


def test_summary_only_keeps_the_summary_and_no_tables():
    spec = load("baseline")
    full = runner.run(spec, 6, 2, 40, engine="ensemble")
    lean = runner.run(spec, 6, 2, 40, engine="ensemble", tables="summary")
    assert lean.daily.empty and lean.events.empty
    pd.testing.assert_frame_equal(full.summary, lean.summary)


# ----------------------------------------------------------------- in distribution


@cache
def sample(name: str, engine: str, mutation: tuple[tuple[str, float], ...] = ()) -> tuple:
    """Summary outcomes and daily attacks of DISTRIBUTION_REPS replications; the two
    engines get different root seeds (independent samples)."""
    spec = load(name)
    if mutation:
        spec = override(spec, dict(mutation))
    seed = 1 if engine == "agents" else 2
    result = runner.run(spec, DISTRIBUTION_REPS, seed, workers=2, engine=engine)
    weekly = (result.daily.assign(week=(result.daily["day"] - 1) // 28)
              .groupby(["replication", "week"])["attacks"].sum().unstack())
    return result.summary, weekly


def distribution_failures(first: tuple, second: tuple) -> list[str]:
    """Outcomes and 4-week attack totals whose two samples differ (Mann-Whitney U, with a
    Bonferroni bound that keeps the chance of a false failure below FAMILY_ALPHA)."""
    (a, a_weeks), (b, b_weeks) = first, second
    tests = [(o, a[o].astype(float), b[o].astype(float)) for o in OUTCOMES]
    tests += [(f"attacks in weeks {4 * w + 1}-{4 * w + 4}", a_weeks[w], b_weeks[w])
              for w in a_weeks.columns]
    bound = FAMILY_ALPHA / len(tests)
    failures = []
    for label, x, y in tests:
        if np.ptp(np.concatenate([x, y])) == 0:
            continue  # a constant outcome (no clashes anywhere): nothing to test
        p = stats.mannwhitneyu(x, y, alternative="two-sided").pvalue
        if p < bound:
            failures.append(f"{label}: p = {p:.2g}")
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_engines_agree_in_distribution(name):
    failures = distribution_failures(sample(name, "agents"), sample(name, "ensemble"))
    assert not failures, f"{name}: {failures}"


@pytest.mark.slow
def test_the_distribution_test_notices_a_ten_percent_change():
    """The mutation check: the ensemble with casualty_scale 10% higher, the agents as
    shipped, the same test: it must fail."""
    spec = load("baseline")
    mutated = (("mechanisms.casualty_scale", spec.mechanisms.casualty_scale * 1.1),)
    failures = distribution_failures(sample("baseline", "agents"),
                                     sample("baseline", "ensemble", mutated))
    assert any(f.startswith("injuries") for f in failures), failures
