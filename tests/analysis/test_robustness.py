"""Comparisons across worlds: effects paired world by world, what holds in 90% of worlds,
and worlds files checked against the registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis import robustness as rb
from sim.experiment.design import OUTCOMES
from sim.scenario.load import load

BASELINE = load("baseline")


@pytest.mark.parametrize(("better", "worse", "expected"), [
    (0.95, 0.05, "better"), (0.0, 0.92, "worse"), (0.0, 0.6, "no better"),
    (0.5, 0.05, "no worse"), (0.02, 0.03, "no difference"), (0.6, 0.4, "fragile")])
def test_the_verdict_is_what_holds_in_nine_worlds_of_ten(better, worse, expected):
    assert rb.verdict(better, worse) == expected


def runs_frame(effect: np.ndarray, reps: int = 4) -> pd.DataFrame:
    worlds = len(effect)
    base = {"world": np.repeat(np.arange(worlds), reps), "replication": np.tile(np.arange(reps),
                                                                                worlds)}
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1, worlds * reps)
    ref = pd.DataFrame({**base, **{o: 50 + noise for o in OUTCOMES}, "scenario": "ref"})
    other = ref.assign(scenario="x", attacks=ref["attacks"] + np.repeat(effect, reps))
    return pd.concat([ref, other], ignore_index=True)


def test_effects_are_paired_replication_by_replication_within_each_world():
    effect = np.array([-5.0, -3.0, 2.0])
    per_world = rb.effects(runs_frame(effect), "ref")
    np.testing.assert_allclose(per_world["attacks"], effect)  # the noise cancels in pairs
    assert (per_world["se_attacks"] == 0).all() and (per_world["injuries"] == 0).all()


def test_a_sign_that_holds_in_every_world_is_robust_and_a_split_one_fragile():
    worlds = pd.DataFrame({"mechanisms.w_hostility": np.linspace(3, 9, 20)})
    effect = np.where(worlds["mechanisms.w_hostility"] > 6, 4.0, -4.0)
    table = rb.robustness(rb.effects(runs_frame(effect), "ref"), worlds, discover=False)
    attacks = table[table["outcome"] == "attacks"].iloc[0]
    assert attacks["status"] == "fragile" and attacks["share_better"] == 0.5
    assert table[table["outcome"] == "injuries"].iloc[0]["status"] == "no difference"
    table = rb.robustness(rb.effects(runs_frame(-np.abs(effect)), "ref"), worlds,
                          discover=False)
    assert table[table["outcome"] == "attacks"].iloc[0]["status"] == "better"


def test_worlds_files_are_checked_against_the_registry(tmp_path):
    good = tmp_path / "good.parquet"
    pd.DataFrame({"world": [3, 7], "max_implausibility": [1.0, 2.0],
                  "mechanisms.w_hostility": [4.0, 5.0]}).to_parquet(good)
    assert list(rb.read_worlds(good, BASELINE).columns) == ["mechanisms.w_hostility"]
    assert len(rb.read_worlds(good, BASELINE, limit=1, seed=3)) == 1
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"mechanisms.w_hostilty": [4.0]}).to_parquet(bad)
    with pytest.raises(rb.WorldsError, match=r"column 'mechanisms\.w_hostilty'"):
        rb.read_worlds(bad, BASELINE)
    out = tmp_path / "out.parquet"
    pd.DataFrame({"levers.government.pressure": [1.5]}).to_parquet(out)
    with pytest.raises(rb.WorldsError, match=r"pressure = 1\.5: outside"):
        rb.read_worlds(out, BASELINE)
    with pytest.raises(rb.WorldsError, match="no such file"):
        rb.read_worlds(tmp_path / "none", BASELINE)
