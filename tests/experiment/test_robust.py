"""Robust lever search: futures within the ranges, mixes paired across futures, a Pareto set
that no feasible mix beats, a search that continues where it stopped, and the command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment import robust as rb
from sim.experiment.plan import replication_seeds
from sim.scenario.load import load

SPEC = load("ranges_iraq_2023")
SMALL = {"replications": 2, "seed": 11, "days": 60, "criteria": rb.Criteria()}


def test_futures_are_a_latin_hypercube_inside_the_ranges_without_the_levers():
    futures = rb.sample_futures(SPEC, 50, seed=4)
    ranges = {r.path: r for r in SPEC.ranges}
    assert len(futures) == 50 and not set(futures.columns) & set(rb.LEVERS)
    for path in futures.columns:
        r = ranges[path]
        assert futures[path].between(r.low, r.high).all(), path
        # a Latin hypercube: one value in each of the 50 equal slices of the range
        if r.high > r.low and (futures[path] % 1).any():
            slices = np.floor((futures[path] - r.low) / (r.high - r.low) * 50).clip(0, 49)
            assert sorted(slices.astype(int)) == list(range(50)), path
    pd.testing.assert_frame_equal(futures, rb.sample_futures(SPEC, 50, seed=4))


def test_the_scenarios_own_levers_and_the_same_levers_given_score_the_same():
    futures = rb.sample_futures(SPEC, 4, seed=1)
    seeds = replication_seeds(5, 3)
    own = {p: float(getattr(SPEC.levers.government, p.rsplit(".", 1)[-1])) for p in rb.LEVERS}
    a = rb.score_chunk(SPEC, [{}], 0, futures, seeds, 60)
    b = rb.score_chunk(SPEC, [own, {**own, "levers.government.pressure": 1.0}], 0, futures,
                       seeds, 60)
    pd.testing.assert_frame_equal(a, b[b["mix"] == 0].reset_index(drop=True))
    hard = b[b["mix"] == 1]
    assert hard["open_confrontation"].mean() > a["open_confrontation"].mean()


def test_the_pareto_set_holds_exactly_the_mixes_nobody_beats():
    scores = pd.DataFrame({"attacks_q": [10, 12, 9, 10, 15],
                           "confrontation": [0.1, 0.0, 0.2, 0.1, 0.0],
                           "stability_low": [0.5, 0.5, 0.4, 0.6, 0.5]})
    # row 0 is beaten by row 3 (same attacks and risk, more stability); row 4 by row 1
    assert rb.pareto(scores).tolist() == [False, True, True, True, False]


def test_a_policy_is_placed_against_the_front_and_its_other_changes_named():
    front = pd.DataFrame({"trial": [4, 7], "attacks_q": [10.0, 12.0],
                          "confrontation": [0.05, 0.0], "stability_low": [0.3, 0.4]})
    policies = pd.DataFrame({"attacks_q": [11.0, 9.0], "confrontation": [0.05, 0.0],
                             "stability_low": [0.3, 0.5]})
    assert rb.dominated_by(policies, front) == ["4", ""]
    assert rb.other_changes(load("baseline"), SPEC) == ""
    assert rb.other_changes(load("pressure_led"), SPEC) == ""
    assert rb.other_changes(load("drawdown"), SPEC) == "events"
    assert rb.other_changes(load("escalatory_retaliation"), SPEC) == "levers.coalition.retaliation"


def test_the_search_keeps_its_study_and_continues_where_it_stopped(tmp_path):
    futures = rb.sample_futures(SPEC, 5, seed=2)
    storage = tmp_path / "study.db"
    first, _ = rb.search(SPEC, futures, 8, storage, batch=4, **SMALL)
    assert len(first) == 8
    more, _ = rb.search(SPEC, futures, 12, storage, batch=4, **SMALL)
    assert len(more) == 12
    pd.testing.assert_frame_equal(more.iloc[:8][first.columns].drop(columns="pareto"),
                                  first.drop(columns="pareto"))
    feasible = more[more["feasible"] & more["repeat_of"].isna()]
    front = more[more["pareto"]]
    assert len(front) >= 1 and front["feasible"].all()
    for row in feasible.itertuples():  # nothing feasible beats a mix of the front
        if row.pareto:
            beats = ((feasible["attacks_q"] <= row.attacks_q)
                     & (feasible["confrontation"] <= row.confrontation)
                     & (feasible["stability_low"] >= row.stability_low)
                     & ((feasible["attacks_q"] < row.attacks_q)
                        | (feasible["confrontation"] < row.confrontation)
                        | (feasible["stability_low"] > row.stability_low)))
            assert not beats.any()


@pytest.mark.parametrize(("criteria", "message"), [
    (rb.Criteria(quantile=0.3), "--quantile"), (rb.Criteria(max_confrontation=2), "--max-confrontation"),
    (rb.Criteria(min_stability=-1), "--min-stability")])
def test_bad_criteria_are_refused(criteria, message):
    with pytest.raises(rb.RobustError, match=message):
        criteria.check()


def test_cli_writes_the_pareto_set_and_the_policies(tmp_path, capsys):
    out = tmp_path / "robust"
    assert main(["robust", "--trials", "8", "--futures", "4", "--reps", "2", "--days", "40",
                 "--batch", "4", "--out", str(out)]) == 0
    for name in ("trials.csv", "pareto.csv", "policies.csv", "futures.parquet", "robust.md",
                 "pareto.png", "metadata.json"):
        assert (out / name).is_file(), name
    assert (out / "study.db").is_file()  # the optuna study, kept with the result
    policies = pd.read_csv(out / "policies.csv")
    assert "baseline" in set(policies["scenario"]) and "replay" not in set(policies["scenario"])
    printed = capsys.readouterr().out
    assert "8 lever mixes, each in 4 futures x 2 replications" in printed
    assert main(["robust", "--resume", str(out), "--trials", "9"]) == 2
    assert "drop --trials" in capsys.readouterr().err


def test_a_stopped_search_is_finished_by_resume(tmp_path, monkeypatch, capsys):
    real, calls = rb.score_chunk, []

    def flaky(*task):
        calls.append(1)
        if len(calls) > 2:
            raise RuntimeError("power cut")
        return real(*task)

    monkeypatch.setattr(rb, "score_chunk", flaky)
    out = tmp_path / "robust"
    words = ["robust", "--trials", "12", "--futures", "3", "--reps", "2", "--days", "30",
             "--batch", "4", "--out", str(out)]
    assert main(words) == 1
    assert f"sim robust --resume {out}" in capsys.readouterr().err
    assert (tmp_path / "robust.partial" / "study.db").is_file() and not out.exists()
    monkeypatch.undo()
    assert main(["robust", "--resume", str(out)]) == 0
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 12 and trials["trial"].is_unique
