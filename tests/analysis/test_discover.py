"""Scenario discovery: PRIM finds the box that holds the cases of interest, leaves out the
dimensions that do not matter, and reads sweep and sensitivity folders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.analysis import discover as sd
from sim.cli import main

pytest.importorskip("ema_workbench")


def test_a_planted_box_is_found_and_an_irrelevant_dimension_left_free():
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.uniform(0, 1, (3000, 3)), columns=["a", "b", "noise"])
    interest = (x["a"] > 0.7) & (x["b"] < 0.4)
    (box,) = sd.find_boxes(x, interest.to_numpy(), density=0.8, max_dims=3)
    limits = box.limits.set_index("dimension")
    assert set(limits.index) == {"a", "b"}
    assert 0.62 < limits.loc["a", "low"] < 0.78 and limits.loc["a", "high"] == x["a"].max()
    assert 0.32 < limits.loc["b", "high"] < 0.5 and limits.loc["b", "low"] == x["b"].min()
    assert box.stats["density"] >= 0.8 and box.stats["coverage"] >= 0.8
    assert box.meets_density
    assert "a >= 0." in box.describe() and "b <= 0." in box.describe()


def test_a_second_box_is_found_among_the_cases_the_first_leaves():
    rng = np.random.default_rng(8)
    x = pd.DataFrame(rng.uniform(0, 1, (4000, 2)), columns=["a", "b"])
    interest = ((x["a"] > 0.8) | (x["b"] > 0.8)).to_numpy()
    first, second = sd.find_boxes(x, interest, density=0.9, max_dims=1, boxes=2)
    assert {first.limits["dimension"].item(), second.limits["dimension"].item()} == {"a", "b"}


@pytest.mark.parametrize(("text", "expected"), [
    ("open_confrontation>=0.5", sd.Condition("open_confrontation", ">=", 0.5)),
    ("attacks > q90", sd.Condition("attacks", ">", 90.0, quantile=True)),
    ("min_stability<0.45", sd.Condition("min_stability", "<", 0.45)),
])
def test_conditions_parse(text, expected):
    assert sd.parse_condition(text, ["attacks", "open_confrontation", "min_stability"]) == expected


def test_a_percentile_condition_marks_the_top_of_the_outcome():
    condition = sd.parse_condition("attacks>q90", ["attacks"])
    values = np.arange(1000.0)
    assert condition(values).sum() == 100
    assert not condition(np.array([np.nan, 1.0, 2.0]))[0]


@pytest.mark.parametrize(("text", "message"), [
    ("attacks=3", "OUTCOME>VALUE"), ("bombs>3", "no outcome 'bombs'"),
    ("attacks>q100", "between 0 and 100")])
def test_bad_conditions_are_refused_with_the_reason(text, message):
    with pytest.raises(sd.DiscoverError, match=message):
        sd.parse_condition(text, ["attacks"])


def test_nothing_or_everything_of_interest_is_refused():
    x = pd.DataFrame({"a": np.linspace(0, 1, 50)})
    with pytest.raises(sd.DiscoverError, match="loosen"):
        sd.find_boxes(x, np.zeros(50, bool))
    with pytest.raises(sd.DiscoverError, match="tighten"):
        sd.find_boxes(x, np.ones(50, bool))


def test_design_points_of_a_sensitivity_folder_are_the_cases(tmp_path):
    rng = np.random.default_rng(9)
    design = pd.DataFrame(rng.uniform(0, 1, (400, 2)), columns=["mechanisms.x", "mechanisms.y"])
    design.to_parquet(tmp_path / "design.parquet", index=False)
    attacks = 100 * design["mechanisms.y"] + rng.normal(0, 1, 400)
    pd.DataFrame({"point": np.arange(400)[::-1], "attacks": attacks[::-1],
                  "attacks_var": 1.0}).to_csv(tmp_path / "scores.csv", index=False)
    (tmp_path / "metadata.json").write_text(json.dumps({"method": "sobol", "scenario": "t"}))
    x, outcomes, _, unit = sd.load_cases(tmp_path)
    assert unit == "design point" and list(outcomes.columns) == ["attacks"]
    np.testing.assert_allclose(outcomes["attacks"], attacks)  # rows follow the design
    (box,) = sd.find_boxes(x, (outcomes["attacks"] > 80).to_numpy(), max_dims=2)
    assert box.limits["dimension"].tolist() == ["mechanisms.y"]


def test_a_folder_that_is_not_a_result_is_refused(tmp_path):
    with pytest.raises(sd.DiscoverError, match=r"no metadata\.json"):
        sd.load_cases(tmp_path)
    (tmp_path / "metadata.json").write_text(json.dumps({"scenarios": ["baseline"]}))
    with pytest.raises(sd.DiscoverError, match="neither a sweep"):
        sd.load_cases(tmp_path)


def test_cli_finds_where_pressure_brings_confrontation_in_a_sweep(tmp_path, capsys):
    """High pressure with fast-building tension brings open confrontation; the adaptive
    rule's ceiling (unused in the baseline) never enters the box."""
    sweep = tmp_path / "sweep"
    assert main(["sweep", "baseline", "--vary", "levers.government.pressure=0:1:6",
                 "--vary", "levers.government.adaptive.max_pressure=0.2:1:3", "--reps", "20",
                 "--days", "120", "--set", "mechanisms.tension_rate=0.04",
                 "--out", str(sweep)]) == 0
    out = tmp_path / "found"
    assert main(["discover", str(sweep), "--where", "open_confrontation>=0.5",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Box 1: levers.government.pressure >= 0." in printed
    limits = pd.read_csv(out / "boxes.csv")
    assert limits["dimension"].tolist() == ["levers.government.pressure"]
    assert limits["low"].item() > 0.3
    summary = pd.read_csv(sweep / "summary.csv")
    high = summary[summary["levers.government.pressure"] >= limits["low"].item()]
    low = summary[summary["levers.government.pressure"] < limits["low"].item()]
    assert high["open_confrontation"].mean() > 0.5 > low["open_confrontation"].mean()
    for name in ("discover.md", "trajectory.csv", "tradeoff.png", "boxes.png", "metadata.json"):
        assert (out / name).is_file(), name


def test_cli_refuses_a_bad_condition_in_one_line_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "metadata.json").write_text(json.dumps({"axes": {"levers.government.pressure":
                                                                 [0, 1]}}))
    pd.DataFrame({"point": [0, 1], "replication": [0, 0], "seed": [1, 1],
                  "levers.government.pressure": [0.0, 1.0], "attacks": [3, 4]}).to_csv(
        tmp_path / "summary.csv", index=False)
    out = tmp_path / "found"
    assert main(["discover", str(tmp_path), "--where", "attacks=3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "OUTCOME>VALUE" in err[0]
    assert not out.exists()
