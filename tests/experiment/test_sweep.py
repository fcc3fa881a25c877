"""Sweeps: axes checked against the registry, the same seeds at every point, tables that
respond to what the model reads and stay flat where it reads nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.sweep import Sweep, sweep_table
from sim.cli import main
from sim.experiment.sweep import SweepError, grid_points, parse_axis, run_sweep
from sim.scenario.load import load

BASELINE = load("baseline")


def test_an_axis_is_a_grid_of_values_within_the_bounds():
    axis = parse_axis("levers.government.pressure=0:1:5", BASELINE)
    assert axis.values == (0.0, 0.25, 0.5, 0.75, 1.0)
    teams = parse_axis("factions.kataib_hezbollah.teams=1:4:7", BASELINE)
    assert teams.values == (1, 2, 3, 4)  # whole numbers, each once
    both = grid_points([axis, teams])
    assert len(both) == 20 and both[1] == {"levers.government.pressure": 0.0,
                                           "factions.kataib_hezbollah.teams": 2.0}


@pytest.mark.parametrize("text, message", [
    ("levers.government.pressure", "PATH=LOW:HIGH:N"),
    ("levers.government.presure=0:1:3", "did you mean"),
    ("levers.coalition.retaliation=0:1:3", "cannot be swept"),
    ("levers.government.pressure=0:1:1", "N = 1"),
    ("levers.government.pressure=0:2:3", "outside"),
    ("levers.government.pressure=a:1:3", "numbers"),
])
def test_bad_axes_are_refused_with_the_reason(text, message):
    with pytest.raises(SweepError, match=message):
        parse_axis(text, BASELINE)


def test_a_value_the_model_does_not_read_gives_a_flat_sweep():
    """max_pressure belongs to the adaptive rule, which the baseline does not use."""
    axis = parse_axis("levers.government.adaptive.max_pressure=0.2:1:3", BASELINE)
    summary, _ = run_sweep(BASELINE, [axis], 6, days=40)
    table = sweep_table(summary, [axis.path])
    assert (table["diff"].fillna(0) == 0).all()
    attacks = summary.pivot(index="replication", columns="point", values="attacks")
    assert (attacks.nunique(axis=1) == 1).all()


def test_pressure_lowers_attacks_paired_and_brings_confrontation():
    axis = parse_axis("levers.government.pressure=0:1:3", BASELINE)
    summary, meta = run_sweep(BASELINE, [axis], 40, days=120)
    table = sweep_table(summary, [axis.path]).set_index(["point", "metric"])
    assert table.loc[(2, "attacks"), "diff_ci_high"] < 0  # fewer attacks, paired by seed
    assert table.loc[(2, "open_confrontation"), "mean"] > 0.5
    assert table.loc[(0, "open_confrontation"), "mean"] == 0
    assert meta["points"] == 3 and meta["engine"] == "ensemble"
    seeds = summary.pivot(index="replication", columns="point", values="seed")
    assert (seeds.nunique(axis=1) == 1).all()  # the same seeds at every point


def test_both_engines_give_the_same_sweep_including_values_that_shape_the_targets():
    axes = [parse_axis("mechanisms.foil_rate=0:0.8:2", BASELINE),
            parse_axis("bases.al_tanf.troops=100:300:2", BASELINE)]  # point by point
    fast, _ = run_sweep(BASELINE, axes, 3, days=30)
    slow, _ = run_sweep(BASELINE, axes, 3, days=30, engine="agents")
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)


def test_cli_writes_the_folder_and_figure(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "baseline", "--vary", "levers.government.pressure=0:1:3",
                 "--vary", "levers.government.appeasement=0:0.5:2", "--reps", "4",
                 "--days", "30", "--out", str(out)]) == 0
    for name in ("summary.csv", "sweep.csv", "sweep.md", "heatmaps.png", "metadata.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "sweep.csv")
    assert table["point"].nunique() == 6
    assert np.isfinite(table.loc[table["metric"] == "attacks", "mean"]).all()
    assert "6 points x 4 replications" in capsys.readouterr().out


def test_cli_refuses_a_bad_axis_in_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "baseline", "--vary", "levers.government.pressure=0:3:4",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "outside" in err[0]
    assert not out.exists()


def test_sweep_tables_pair_each_point_with_the_first():
    summary = pd.DataFrame({"point": [0, 0, 1, 1], "replication": [0, 1, 0, 1],
                            "seed": [5, 6, 5, 6], "x": [0.0, 0.0, 1.0, 1.0],
                            **{m: [1.0, 3.0, 2.0, 5.0] for m in
                               __import__("sim.model.outcomes").model.outcomes.SUMMARY_METRICS}})
    table = sweep_table(summary, ["x"]).set_index(["point", "metric"])
    assert table.loc[(1, "attacks"), "mean"] == 3.5
    assert table.loc[(1, "attacks"), "diff"] == 1.5  # (2 - 1 + 5 - 3) / 2
    assert table.loc[(0, "attacks"), "diff"] == 0
    wide = Sweep(summary, sweep_table(summary, ["x"]), ["x"], {}).wide(["attacks"])
    assert list(wide["attacks"]) == [2.0, 3.5]
