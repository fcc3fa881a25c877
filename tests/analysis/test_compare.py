"""Paired comparisons, figures and the ``sim compare`` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis import compare, plots
from sim.analysis.stats import bands, mean_interval, weekly_attacks
from sim.cli import main
from sim.experiment import runner
from sim.experiment.plan import replication_seeds
from sim.model.outcomes import SUMMARY_METRICS
from sim.scenario.load import load, shipped_scenarios

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_FILES = {"daily.parquet", "events.parquet", "summary.csv", "metadata.json"}


def summary_table(seeds, **metrics) -> pd.DataFrame:
    return pd.DataFrame({"seed": seeds, **metrics})


@pytest.fixture(scope="module")
def short_runs():
    """Baseline and pressure-led, 3 replications of 20 days, same seeds."""
    return {name: runner.run(load(name), replications=3, seed=7, days=20)
            for name in ("baseline", "pressure_led")}


# ------------------------------------------------------------ interval arithmetic


def test_mean_interval_matches_a_hand_computation():
    x = np.array([2.0, 4.0, 9.0])
    # mean 5; sample variance ((-3)^2 + (-1)^2 + 4^2) / 2 = 13; se = sqrt(13 / 3)
    t = stats.t.ppf(0.975, 2)  # 4.3027
    half = t * np.sqrt(13 / 3)
    mean, low, high = mean_interval(x)
    assert mean == pytest.approx(5.0)
    assert (low, high) == pytest.approx((5.0 - half, 5.0 + half))
    assert half == pytest.approx(8.957, abs=1e-3)


def test_paired_difference_interval_matches_a_hand_computation():
    ref = summary_table([11, 22, 33, 44], attacks=[10.0, 12.0, 14.0, 20.0])
    # the other scenario's rows are shuffled: pairing must follow the seed, not the row
    other = summary_table([44, 22, 11, 33], attacks=[19.0, 15.0, 11.0, 14.0])
    # differences by seed: 11 -> 1, 22 -> 3, 33 -> 0, 44 -> -1; mean 0.75
    diffs = np.array([1.0, 3.0, 0.0, -1.0])
    sd = np.sqrt(((diffs - 0.75) ** 2).sum() / 3)  # sqrt(8.75 / 3)
    half = stats.t.ppf(0.975, 3) * sd / 2
    table = compare.comparison_table({"ref": ref, "other": other}, "ref", metrics=("attacks",))
    row = table.set_index("scenario").loc["other"]
    assert row["diff"] == pytest.approx(0.75)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((0.75 - half, 0.75 + half))
    assert row["n_pairs"] == 4
    assert row["significant"] == ""  # the interval spans zero
    assert row["mean"] == pytest.approx(14.75)


def test_paired_interval_is_narrower_than_the_unpaired_spread():
    rng = np.random.default_rng(1)
    noise = rng.normal(100, 20, size=30)
    ref = summary_table(range(30), attacks=noise)
    other = summary_table(range(30), attacks=noise - 5 + rng.normal(0, 1, size=30))
    row = compare.comparison_table({"ref": ref, "other": other}, "ref",
                                   metrics=("attacks",)).iloc[1]
    assert row["significant"] == "*"
    assert row["diff_ci_high"] - row["diff_ci_low"] < (row["ci_high"] - row["ci_low"]) / 5


def test_mark_requires_the_interval_to_exclude_zero():
    assert compare.mark(0.1, 2.0) == "*"
    assert compare.mark(-2.0, -0.1) == "*"
    assert compare.mark(-0.1, 2.0) == ""
    assert compare.mark(0.0, 0.0) == ""
    assert compare.mark(float("nan"), float("nan")) == ""


def test_undefined_values_are_left_out_of_the_pairs():
    ref = summary_table([1, 2, 3], days_to_deescalation=[10.0, np.nan, 30.0])
    other = summary_table([1, 2, 3], days_to_deescalation=[12.0, 5.0, np.nan])
    row = compare.comparison_table({"ref": ref, "other": other}, "ref",
                                   metrics=("days_to_deescalation",)).iloc[1]
    assert row["n"] == 2
    assert row["n_pairs"] == 1
    assert row["diff"] == pytest.approx(2.0)
    assert np.isnan(row["diff_ci_low"])


def test_tables_with_different_seeds_are_refused():
    ref = summary_table([1, 2, 3], attacks=[1.0, 2.0, 3.0])
    other = summary_table([1, 2, 4], attacks=[1.0, 2.0, 3.0])
    with pytest.raises(compare.PairingError, match="seeds differ"):
        compare.comparison_table({"ref": ref, "other": other}, "ref")


def test_unknown_reference_is_refused():
    ref = summary_table([1, 2], attacks=[1.0, 2.0])
    with pytest.raises(KeyError, match="nope"):
        compare.comparison_table({"ref": ref}, "nope")


# ------------------------------------------------------------------- pairing


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(short_runs):
    base = short_runs["baseline"].summary
    table = compare.comparison_table({"a": base, "b": base.sample(frac=1, random_state=3)}, "a")
    defined = table[table["n_pairs"] > 1]
    assert len(defined) > 0
    assert (defined["diff"] == 0).all()
    assert (defined["diff_ci_low"] == 0).all()
    assert (defined["diff_ci_high"] == 0).all()
    assert (defined["significant"] == "").all()


def test_table_shape_and_columns(short_runs):
    summaries = {name: r.summary for name, r in short_runs.items()}
    table = compare.comparison_table(summaries, "pressure_led")
    assert list(table.columns) == list(compare.COLUMNS)
    assert len(table) == 2 * len(SUMMARY_METRICS)
    assert list(table["scenario"].unique()) == ["pressure_led", "baseline"]  # reference first
    assert list(table["metric"].iloc[:len(SUMMARY_METRICS)]) == list(SUMMARY_METRICS)
    assert (table["reference"] == "pressure_led").all()
    bounded = table.dropna(subset=["ci_low"])
    assert (bounded["ci_low"] <= bounded["mean"]).all()
    assert (bounded["mean"] <= bounded["ci_high"]).all()
    headers, rows = compare.compact_rows(table)
    assert headers == ["scenario", *compare.KEY_METRICS]
    assert [r[0] for r in rows] == ["pressure_led", "baseline"]
    assert rows[0][1].endswith("(ref)")
    md = compare.markdown(table)
    assert md.count("\n") == len(table) + 2


def test_weekly_attacks_drops_a_final_partial_week():
    daily = pd.DataFrame({"replication": 0, "day": np.arange(1, 17),
                          "date": pd.date_range("2023-10-17", periods=16), "attacks": 1})
    weekly = weekly_attacks(daily)
    assert list(weekly["week"]) == [1, 2]
    assert (weekly["value"] == 7).all()
    short = weekly_attacks(daily.iloc[:3])
    assert list(short["value"]) == [7.0]  # 3 attacks in 3 days, as a 7-day rate


def test_bands_bracket_the_median(short_runs):
    band = bands(short_runs["baseline"].daily, by="day", value="stability")
    assert len(band) == 20
    assert (band["low"] <= band["median"]).all()
    assert (band["median"] <= band["high"]).all()


# -------------------------------------------------------------------- figures


def _check_png(path: Path) -> None:
    from matplotlib import image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(path)
    height, width = pixels.shape[:2]
    assert 200 <= width <= 4000
    assert 150 <= height <= 4000


def test_figures_are_valid_pngs_and_leave_no_pyplot_state(tmp_path, short_runs):
    summaries = {name: r.summary for name, r in short_runs.items()}
    table = compare.comparison_table(summaries, "baseline")
    weekly = {name: bands(weekly_attacks(r.daily), by="week")
              for name, r in short_runs.items()}
    paths = [
        plots.plot_bands(weekly, "baseline", tmp_path / "weekly.png", ylabel="attacks",
                         title="weekly"),
        plots.plot_differences(table, tmp_path / "diff.png"),
    ]
    for path in paths:
        _check_png(path)
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


# ------------------------------------------------------------------ command line


def test_every_shipped_scenario_runs_in_a_comparison(tmp_path, capsys):
    out = tmp_path / "all"
    assert main(["compare", "--all-policies", "--reps", "2", "--days", "20", "--workers", "1",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    names = [load(p).name for p in shipped_scenarios("policy")]
    assert "historical_2023_24" not in names  # a replay, not a policy
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["reference"] == "baseline"
    assert sorted(meta["scenarios"]) == sorted(names)
    assert meta["scenarios"][0] == "baseline"
    assert meta["days"] == 20
    assert meta["seeds"] == replication_seeds(meta["root_seed"], 2)
    for name in names:
        assert RUN_FILES <= {p.name for p in (out / name).iterdir()}
        run_meta = json.loads((out / name / "metadata.json").read_text())
        assert run_meta["seeds"] == meta["seeds"]
        assert name in printed
    for figure in ("weekly_attacks.png", "stability.png", "differences.png"):
        _check_png(out / figure)
    table = pd.read_csv(out / "comparison.csv", keep_default_na=False, na_values=[""])
    assert len(table) == len(names) * len(SUMMARY_METRICS)
    assert "comparison.md" in printed
    assert not list(tmp_path.glob(".*.tmp"))  # nothing left of the temporary folder


def test_compare_cli_pairs_by_seed_and_does_not_depend_on_workers(tmp_path):
    args = ["compare", "baseline", "baseline", "pressure_led", "--reps", "3", "--days", "15"]
    assert main([*args, "--workers", "1", "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    one = pd.read_csv(tmp_path / "one" / "comparison.csv")
    two = pd.read_csv(tmp_path / "two" / "comparison.csv")
    pd.testing.assert_frame_equal(one, two)
    itself = one[(one["scenario"] == "baseline_2") & (one["n_pairs"] > 1)]
    assert (itself["diff"] == 0).all()
    assert (itself["diff_ci_high"] - itself["diff_ci_low"] == 0).all()


def test_run_folders_are_reused_without_rerunning(tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["compare", "baseline", "pressure_led", "--reps", "3", "--days", "15",
                 "--seed", "5", "--workers", "1", "--out", str(first)]) == 0
    run_folder = tmp_path / "run"
    assert main(["run", "gaza_truce", "--reps", "3", "--days", "15", "--seed", "5",
                 "--out", str(run_folder)]) == 0
    capsys.readouterr()
    again = tmp_path / "again"
    # a comparison folder, a run folder and a name to run with the folders' seeds
    assert main(["compare", str(first), str(run_folder), "patron_restraint", "--workers", "1",
                 "--out", str(again)]) == 0
    assert "1 run, 3 read from folders" in capsys.readouterr().out
    old = pd.read_csv(first / "comparison.csv")
    new = pd.read_csv(again / "comparison.csv")
    pd.testing.assert_frame_equal(old, new[new["scenario"].isin(old["scenario"])]
                                  .reset_index(drop=True))
    meta = json.loads((again / "metadata.json").read_text())
    assert meta["seeds"] == replication_seeds(5, 3)
    assert meta["scenarios"] == ["baseline", "pressure_led", "gaza_truce", "patron_restraint"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("folders")
    made = {}
    for key, extra in {"a": [], "seed": ["--seed", "2"], "days": ["--days", "10"],
                       "reps": ["--reps", "3"]}.items():
        args = ["--reps", "2", "--days", "12", "--seed", "1"]
        for i in range(0, len(extra), 2):
            args[args.index(extra[i]) + 1] = extra[i + 1]
        made[key] = root / key
        assert main(["run", "baseline", *args, "--out", str(made[key])]) == 0
    return made


@pytest.mark.parametrize(("argv", "message"), [
    (["compare", "no_such_scenario"], "no_such_scenario"),
    (["compare", "baseline", "--reps", "1"], "--reps must be at least 2"),
    (["compare", "baseline", "--reps", "0"], "--reps: 0 is outside 1..1000000"),
    (["compare"], "nothing to compare"),
    (["compare", "baseline", "--all-policies"], "not both"),
    (["compare", "baseline", "pressure_led", "--reference", "gaza_truce"],
     "--reference gaza_truce is not among"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("key", "message"), [
    ("seed", "seeds differ from {a} (root seed 2 vs 1)"),
    ("reps", "seeds differ from {a} (3 vs 2 replications)"),
    ("days", "days differ from {a} (10 vs 12 days)"),
])
def test_mismatched_folders_exit_2_saying_why(folders, key, message, capsys, tmp_path):
    assert main(["compare", str(folders["a"]), str(folders[key]),
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message.format(a=folders["a"]) in err or message.format(a="a") in err
    assert str(folders[key].name) in err


def test_options_that_contradict_a_folder_exit_2(folders, capsys, tmp_path):
    assert main(["compare", str(folders["a"]), "pressure_led", "--seed", "9",
                 "--out", str(tmp_path / "out")]) == 2
    assert "--seed 9 differs" in capsys.readouterr().err
    assert main(["compare", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_an_existing_output_folder_is_refused(tmp_path, capsys):
    assert main(["compare", "baseline", "--reps", "2", "--days", "5", "--out",
                 str(tmp_path)]) == 2
    assert "exists already" in capsys.readouterr().err


# ----------------------------------------------------------------- trade-offs


@pytest.fixture(scope="module")
def ninety_days():
    """30 replications of 90 days of five scenarios, same seeds, compared with baseline."""
    names = ("baseline", "pressure_led", "escalatory_retaliation", "gaza_truce",
             "patron_restraint")
    summaries = {name: runner.run(load(name), replications=30, seed=11, days=90,
                                  workers=2).summary for name in names}
    return compare.comparison_table(summaries, "baseline").set_index(["scenario", "metric"])


def _diff(table: pd.DataFrame, scenario: str, metric: str) -> tuple[float, str]:
    row = table.loc[(scenario, metric)]
    return row["diff"], row["significant"]


def test_comparison_shows_the_pressure_trade_off(ninety_days):
    """Pressure lowers attacks but raises clashes and costs stability (MODEL.md)."""
    attacks, mark = _diff(ninety_days, "pressure_led", "attacks")
    assert attacks < 0 and mark == "*"
    clashes, mark = _diff(ninety_days, "pressure_led", "clashes")
    assert clashes > 0 and mark == "*"
    stability, mark = _diff(ninety_days, "pressure_led", "min_stability")
    assert stability < 0 and mark == "*"


def test_comparison_shows_retaliation_and_regional_effects(ninety_days):
    """Escalatory retaliation strikes more and costs stability; a truce and patron
    restraint lower attacks (MODEL.md trade-offs)."""
    strikes, mark = _diff(ninety_days, "escalatory_retaliation", "strikes")
    assert strikes > 0 and mark == "*"
    stability, mark = _diff(ninety_days, "escalatory_retaliation", "min_stability")
    assert stability < 0 and mark == "*"
    for scenario in ("gaza_truce", "patron_restraint"):
        attacks, mark = _diff(ninety_days, scenario, "attacks")
        assert attacks < 0 and mark == "*", scenario


def test_every_shipped_replay_runs_a_short_horizon(tmp_path):
    for path in shipped_scenarios("replay"):
        out = tmp_path / path.stem
        assert main(["run", str(path), "--reps", "2", "--days", "20", "--out", str(out)]) == 0
        assert (out / "daily.parquet").is_dir()
