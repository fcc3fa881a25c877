import json
import tomllib

import pytest

from sim.analysis import calibrate
from sim.analysis.record import load_record
from sim.cli import main
from sim.scenario.load import load

TINY = calibrate.Settings(replications=4, seed=7, grid_points=3, maxiter=3, rounds=1)


@pytest.fixture(scope="module")
def spec():
    return load("historical_2023_24")


@pytest.fixture(scope="module")
def record():
    return load_record()


@pytest.fixture(scope="module")
def tiny_fit(spec, record):
    return calibrate.fit(spec, record, TINY)


def test_same_seed_same_fitted_values(spec, record, tiny_fit):
    again = calibrate.fit(spec, record, TINY)
    assert again.values == tiny_fit.values
    assert again.objective == tiny_fit.objective


def test_fit_stays_in_bounds_and_reports_quality(tiny_fit):
    for name, value in tiny_fit.values.items():
        lo, hi = calibrate.PARAMETERS[name]
        assert lo <= value <= hi
    quality = tiny_fit.quality()
    assert quality["objective"] == pytest.approx(tiny_fit.objective)
    assert quality["objective"] <= min(e["objective"] for e in tiny_fit.evaluations) + 1e-12
    assert tiny_fit.days == 29  # the window ends on 14 November 2023, day 29
    json.dumps(tiny_fit.to_json(), default=str)


def test_test_window_figures_never_change_the_fit(spec, record, tiny_fit):
    later = record["date"] > calibrate.CALIBRATION_END
    changed = record.copy()
    changed.loc[later, "value"] = changed.loc[later, "value"] * 5 + 100
    assert calibrate.fit(spec, changed, TINY).values == tiny_fit.values


def test_calibration_window_figures_do_change_the_fit(spec, record, tiny_fit):
    attacks = (record["date"] <= calibrate.CALIBRATION_END) & (
        record["metric"] == "cumulative_attacks")
    changed = record.copy()
    changed.loc[attacks, "value"] = changed.loc[attacks, "value"] * 3
    assert calibrate.fit(spec, changed, TINY).values != tiny_fit.values


def test_objective_sees_only_the_window(spec, record):
    points = calibrate.objective_points(record, spec, calibrate.CALIBRATION_END)
    assert (points["date"] <= calibrate.CALIBRATION_END).all()
    assert not points.loc[points["value"] == 0, "in_objective"].any()


OLD = """# header comment stays
extends = "world_iraq_2023.toml"

[mechanisms]
base_propensity = -2.6  # old
casualty_scale = 1.45

[other]
x = 1
"""


def test_calibration_text_rewrites_only_the_values():
    text = calibrate.calibration_text(OLD, {"base_propensity": -3.25, "casualty_scale": 2.0})
    assert text.startswith("# header comment stays\n")
    data = tomllib.loads(text)
    assert data["mechanisms"] == {"base_propensity": -3.25, "casualty_scale": 2.0}
    assert data["other"] == {"x": 1} and data["extends"] == "world_iraq_2023.toml"


def test_calibration_text_adds_missing_keys():
    text = calibrate.calibration_text('extends = "w.toml"\n', {"casualty_scale": 1.5})
    assert tomllib.loads(text)["mechanisms"] == {"casualty_scale": 1.5}


def test_write_calibration_is_atomic_and_leaves_no_temp(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(OLD)
    calibrate.write_calibration({"base_propensity": -4.5, "casualty_scale": 1.0}, path)
    assert tomllib.loads(path.read_text())["mechanisms"]["base_propensity"] == -4.5
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.toml"]


def _cli(tmp_path, *extra):
    return main(["calibrate", "--reps", "3", "--grid", "3", "--maxiter", "0", "--rounds", "1",
                 "--seed", "5", "--toml", str(tmp_path / "calibration.toml"), *extra])


def test_cli_dry_run_writes_report_but_no_toml(tmp_path, capsys):
    (tmp_path / "calibration.toml").write_text(OLD)
    assert _cli(tmp_path, "--dry-run", "--out", str(tmp_path / "fit")) == 0
    report = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert report["written_to"] is None
    assert (tmp_path / "calibration.toml").read_text() == OLD
    assert "mechanisms.base_propensity" in capsys.readouterr().out


def test_cli_writes_the_fitted_values(tmp_path):
    (tmp_path / "calibration.toml").write_text(OLD)
    assert _cli(tmp_path, "--out", str(tmp_path / "fit")) == 0
    report = json.loads((tmp_path / "fit" / "fit.json").read_text())
    written = tomllib.loads((tmp_path / "calibration.toml").read_text())["mechanisms"]
    assert written == report["fitted"]
