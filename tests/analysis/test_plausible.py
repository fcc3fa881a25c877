"""History matching on a case with a known answer, the implausibility measure, and the command.

A synthetic record is generated from a world whose values are known: a typical
realisation of the replay in that world (each figure the median of 101 replications; a
single replication can be a tail event, e.g. one hit that hurts a hundred people, which
the three-sigma rule rules out by design: docs/plausible.md). History matching must keep
the true values, narrow the value the record identifies (the attack intercept) and leave
alone a value the model does not read (the adaptive rule's ceiling; the rule is off in
the replay).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis import plausible as pl
from sim.analysis.record import load_record
from sim.cli import main
from sim.scenario.load import load

REPLAY = load("historical_2023_24")
PRIOR = pd.DataFrame({"mechanisms.base_propensity": [-7.5, -5.0],
                      "mechanisms.casualty_scale": [1.0, 5.0],
                      "levers.government.adaptive.max_pressure": [0.2, 1.0]},
                     index=["low", "high"])
TRUTH = {"mechanisms.base_propensity": -6.1667, "mechanisms.casualty_scale": 3.0322,
         "levers.government.adaptive.max_pressure": 0.6}


@pytest.fixture(scope="module")
def matched():
    points = pl.figures(load_record(), REPLAY, pl.Matching().window_end)
    values = pl.realisations(REPLAY, pd.DataFrame([TRUTH]), points, 101, seed=99)
    record = points[["date", "metric", "qualifier", "scope"]].assign(
        value=np.median(values, axis=0))
    matching = pl.Matching(worlds=1000, replications=8, waves=3, seed=5)
    return pl.history_match(REPLAY, PRIOR, record, matching), record


def test_the_true_world_is_kept_and_the_identified_value_narrowed(matched):
    found, _ = matched
    ranges = found.ranges.set_index("path")
    for path, value in TRUTH.items():
        assert ranges.loc[path, "kept_min"] <= value <= ranges.loc[path, "kept_max"], path
    intercept = ranges.loc["mechanisms.base_propensity"]
    assert intercept["width_share"] < 0.6
    assert intercept["informed"] > 0.5
    assert intercept["kept_q05"] < TRUTH["mechanisms.base_propensity"] < intercept["kept_q95"]


def test_a_value_the_model_does_not_read_stays_unidentified(matched):
    found, _ = matched
    unread = found.ranges.set_index("path").loc["levers.government.adaptive.max_pressure"]
    assert unread["informed"] < 0.25
    assert unread["width_share"] > 0.8


def test_the_waves_narrow_then_stop_and_the_kept_worlds_cover_the_figures(matched):
    found, record = matched
    assert 1 <= len(found.waves) <= 3
    assert found.waves["kept"].iloc[0] < found.waves["tried"].iloc[0]
    assert found.figures["inside"].mean() >= 0.9
    assert (found.kept["max_implausibility"] <= 3).all()
    assert len(found.figures) == len(record)


def test_implausibility_counts_observation_discrepancy_and_noise():
    scores = pd.DataFrame({"mean_0": [10.0, 20.0], "var_0": [0.0, 15.0]})
    observed = np.array([10.0])
    matching = pl.Matching(discrepancy=0.1, obs_share=0.1)
    values = pl.implausibility(scores, observed, matching)[:, 0]
    # |20 - 10| / sqrt((0.1*10)^2 + 1 + (0.1*10)^2 + 15) = 10 / sqrt(18)
    np.testing.assert_allclose(values, [0.0, 10 / np.sqrt(18)])


def test_the_next_wave_samples_around_the_kept_worlds_inside_the_prior():
    prior = pd.DataFrame({"a": [0.0, 10.0], "b": [0.0, 1.0]}, index=["low", "high"])
    kept = pd.DataFrame({"a": [2.0, 4.0], "b": [0.0, 1.0]})
    bounds = pl.next_bounds(kept, prior)
    assert bounds["a"].tolist() == [1.5, 4.5] and bounds["b"].tolist() == [0.0, 1.0]


def test_when_every_world_is_ruled_out_the_message_says_what_to_change():
    points = pl.figures(load_record(), REPLAY, pl.Matching().window_end)
    record = points[["date", "metric", "qualifier", "scope"]].assign(value=5000.0)
    with pytest.raises(pl.PlausibleError, match="raise --discrepancy or --cutoff"):
        pl.history_match(REPLAY, PRIOR, record, pl.Matching(worlds=20, replications=2))


def test_cli_matches_checks_and_feeds_a_comparison_across_worlds(tmp_path, capsys):
    out = tmp_path / "plausible"
    assert main(["plausible", "--worlds", "300", "--reps", "4", "--waves", "2",
                 "--check-worlds", "20", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Predictive check" in printed and "Calibration window:" in printed
    for name in ("worlds.parquet", "waves.csv", "ranges.csv", "figures.csv", "predictive.csv",
                 "plausible.md", "ranges.png", "pairs.png", "metadata.json"):
        assert (out / name).is_file(), name
    check = pd.read_csv(out / "predictive.csv")
    assert (pd.to_datetime(check["date"]) > pd.Timestamp("2023-11-14")).all()

    compared = tmp_path / "compared"
    assert main(["compare", "baseline", "persuasion_led", "pressure_led", "--worlds", str(out),
                 "--max-worlds", "15", "--reps", "4", "--days", "60", "--workers", "1",
                 "--out", str(compared)]) == 0
    table = pd.read_csv(compared / "robustness.csv")
    assert set(table["scenario"]) == {"persuasion_led", "pressure_led"}
    effects = pd.read_parquet(compared / "effects.parquet")
    assert effects["world"].nunique() == 15
    pressure = table[(table["scenario"] == "pressure_led") & (table["outcome"] == "attacks")]
    assert pressure["median_effect"].item() < 0  # pressure cuts attacks in these worlds


def test_run_in_worlds_gives_each_world_the_run_of_its_values(tmp_path):
    worlds = pd.DataFrame({"mechanisms.base_propensity": [-6.5, -5.8],
                           "uncertainties.patron.signal": [0.1, 0.5]})
    worlds.to_parquet(tmp_path / "worlds.parquet", index=False)
    out = tmp_path / "run"
    assert main(["run", "baseline", "--worlds", str(tmp_path), "--reps", "3", "--days", "30",
                 "--seed", "4", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv")
    daily = pd.read_parquet(out / "daily.parquet")
    assert summary["world"].tolist() == [0, 0, 0, 1, 1, 1]
    assert len(daily) == 6 * 30 and {"world", "replication", "seed"} <= set(daily.columns)
    from sim.experiment.plan import replication_seeds
    from sim.model.model import simulate
    from sim.scenario.load import override

    for w, row in worlds.iterrows():
        spec = override(load("baseline"), row.to_dict())
        for r, seed in enumerate(replication_seeds(4, 3)):
            expected = simulate(spec, seed, 30).summary["attacks"]
            got = summary[(summary["world"] == w) & (summary["replication"] == r)]["attacks"]
            assert got.item() == expected
    assert main(["run", "baseline", "--worlds", str(tmp_path), "--engine", "agents",
                 "--out", str(tmp_path / "x")]) == 2


def test_a_stopped_history_match_is_finished_by_resume_with_the_same_worlds(
        tmp_path, monkeypatch, capsys):
    import sim.experiment.worlds as worlds_module

    words = ["plausible", "--worlds", "60", "--reps", "3", "--waves", "2", "--check-worlds",
             "0"]
    monkeypatch.setattr(worlds_module, "ENSEMBLE_CHUNK", 30)  # ten worlds a chunk
    whole = tmp_path / "whole"
    assert main([*words, "--out", str(whole)]) == 0
    real, calls = pl.figure_chunk, []

    def flaky(*task):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("power cut")
        return real(*task)

    monkeypatch.setattr(pl, "figure_chunk", flaky)
    stopped = tmp_path / "stopped"
    assert main([*words, "--out", str(stopped)]) == 1
    assert f"sim plausible --resume {stopped}" in capsys.readouterr().err
    monkeypatch.setattr(pl, "figure_chunk", real)
    assert main(["plausible", "--resume", str(stopped)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(stopped / "worlds.parquet"),
                                  pd.read_parquet(whole / "worlds.parquet"))
