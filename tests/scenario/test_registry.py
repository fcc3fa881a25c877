"""The parameter registry: one name per value, used by overrides, --set, events and tables."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from sim import cli
from sim.scenario import registry
from sim.scenario.errors import ScenarioError
from sim.scenario.load import override


def test_every_numeric_parameter_has_finite_bounds(baseline):
    for param in registry.parameters(baseline):
        if param.type in ("number", "integer"):
            assert param.low is not None and param.high is not None, param.path
            assert math.isfinite(param.low) and math.isfinite(param.high), param.path
            assert param.low <= param.value <= param.high, param.path
        if param.type == "date":
            assert param.low <= param.value <= param.high


def test_paths_are_unique_and_cover_the_world(baseline):
    paths = [p.path for p in registry.parameters(baseline)]
    assert len(paths) == len(set(paths))
    for faction in baseline.factions:
        assert f"factions.{faction.name}.hostility" in paths
        for weapon in faction.weapons:
            assert f"factions.{faction.name}.weapons.{weapon}" in paths
    for base in baseline.bases:
        assert f"bases.{base.name}.open" in paths
    assert "mechanisms.escalation_weights.gaza" in paths
    assert "weapons.drone.lethality" in paths
    assert not any(p.endswith((".name", ".label", ".home_area")) for p in paths)


@pytest.mark.parametrize(("path", "kind"), [
    ("levers.government.pressure", "lever"), ("levers.coalition.thresholds.attacks", "lever"),
    ("bases.tower_22.open", "lever"), ("bases.tower_22.troops", "lever"),
    ("bases.tower_22.air_defence", "uncertainty"), ("uncertainties.patron.signal", "uncertainty"),
    ("factions.badr_organization.stake", "uncertainty"), ("weapons.rocket.range_km", "uncertainty"),
    ("mechanisms.tension_rate", "coefficient"), ("run.days", "run"),
])
def test_kinds_follow_the_xlrm_split(baseline, path, kind):
    assert registry.parameter(path, baseline).kind == kind


def test_generic_list_uses_placeholders_and_schema_defaults():
    generic = {p.path: p for p in registry.parameters()}
    assert generic["levers.government.pressure"].value == 0.15
    assert "factions.<faction>.hostility" in generic
    assert "factions.<faction>.weapons.<weapon>" in generic
    assert generic["levers.coalition.retaliation"].choices == ("none", "proportional", "escalatory")
    assert registry.parameter("bases.<base>.open").event


def test_events_may_set_only_what_the_schema_marks(baseline):
    settable = {p.generic for p in registry.parameters(baseline, events=True)}
    assert "levers.government.pressure" in settable
    assert "factions.<faction>.hostility" in settable
    assert "bases.<base>.open" in settable
    assert "mechanisms.tension_rate" not in settable
    assert "run.days" not in settable


def test_check_coerces_and_refuses_with_the_allowed_range(baseline):
    pressure = registry.parameter("levers.government.pressure", baseline)
    assert pressure.check(1) == 1.0
    with pytest.raises(ValueError, match=r"<= 1"):
        pressure.check(1.5)
    with pytest.raises(ValueError, match="not a switch"):
        pressure.check(True)
    assert registry.parameter("bases.harir.open", baseline).check(False) is False
    with pytest.raises(ValueError, match="one of none, proportional, escalatory"):
        registry.parameter("levers.coalition.retaliation", baseline).check("nuclear")


def test_unknown_paths_suggest_the_nearest(baseline):
    with pytest.raises(registry.UnknownParameter, match=r"did you mean levers\.government\.pressure"):
        registry.parameter("levers.government.presure", baseline)
    with pytest.raises(registry.UnknownParameter, match=r"allowed after 'mechanisms\.'"):
        registry.parameter("mechanisms.zzz_unknown_thing_entirely", baseline)


def test_override_reaches_every_kind_of_path(baseline):
    changed = override(baseline, {
        "levers.government.pressure": 0.7, "factions.badr_organization.weapons.drone": 0.5,
        "mechanisms.escalation_weights.gaza": 1.0, "bases.harir.open": False,
        "run.start_date": dt.date(2023, 11, 1), "levers.coalition.retaliation": "none"})
    assert changed.levers.government.pressure == 0.7
    assert changed.faction("badr_organization").weapons["drone"] == 0.5
    assert changed.mechanisms.escalation_weights.gaza == 1.0
    assert changed.base("harir").open is False
    assert changed.run.start_date == dt.date(2023, 11, 1)
    assert str(changed.levers.coalition.retaliation) == "none"
    for path, value in {"levers.government.pressure": 0.7, "bases.harir.open": False}.items():
        assert registry.value_of(changed, path) == value


def test_a_shorter_horizon_by_override_leaves_later_events_unused(write_toml, baseline_path):
    from sim.scenario.load import load

    replay = load("historical_2023_24")
    assert override(replay, {"run.days": 50}).run.days == 50
    path = write_toml("short.toml", 'extends = "historical_2023_24"\n[run]\ndays = 50\n')
    with pytest.raises(ScenarioError, match=r"events\[\d+\]\.day = 88: the day must be within"):
        load(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("levers.government.pressure=0.6", ("levers.government.pressure", 0.6)),
    ("bases.harir.open = false", ("bases.harir.open", False)),
    ("run.days=30", ("run.days", 30)),
    ("run.start_date=2023-11-01", ("run.start_date", dt.date(2023, 11, 1))),
    ("levers.coalition.retaliation=escalatory", ("levers.coalition.retaliation", "escalatory")),
    ('levers.coalition.retaliation="none"', ("levers.coalition.retaliation", "none")),
])
def test_parse_assignment_reads_toml_values(text, expected):
    assert registry.parse_assignment(text) == expected


def test_parse_assignment_needs_an_equals_sign():
    with pytest.raises(ValueError, match="expected PATH=VALUE"):
        registry.parse_assignment("levers.government.pressure")


def test_summary_values_name_levers_and_uncertainties_by_path(baseline):
    values = registry.summary_values(baseline)
    assert values["levers.government.pressure"] == 0.15
    assert values["uncertainties.patron.signal"] == 0.3
    assert values["levers.coalition.retaliation"] == "proportional"
    assert not any(key.startswith(("factions", "bases", "mechanisms", "run")) for key in values)


# ----------------------------------------------------------------- command line


def test_set_on_the_command_line_changes_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "baseline", "--reps", "2", "--days", "5", "--out", str(out),
                     "--set", "levers.government.pressure=0.6",
                     "--set", "levers.coalition.retaliation=none"]) == 0
    import pandas as pd

    summary = pd.read_csv(out / "summary.csv")
    assert (summary["levers.government.pressure"] == 0.6).all()
    assert (summary["levers.coalition.retaliation"] == "none").all()


@pytest.mark.parametrize(("option", "message"), [
    ("levers.government.pressure=1.5", "(--set): levers.government.pressure = 1.5"),
    ("levers.government.presure=0.5", "did you mean levers.government.pressure"),
    ("levers.government.pressure", "--set 'levers.government.pressure': expected PATH=VALUE"),
])
def test_bad_set_options_exit_2_and_name_the_problem(tmp_path, capsys, option, message):
    out = tmp_path / "run"
    assert cli.main(["run", "baseline", "--reps", "1", "--days", "2", "--set", option,
                     "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_check_applies_set_options(capsys):
    assert cli.main(["check", "baseline", "--set", "run.days=20"]) == 0
    assert "20 days" in capsys.readouterr().out


def test_params_lists_paths_kinds_and_values(capsys):
    assert cli.main(["params", "--kind", "lever"]) == 0
    out = capsys.readouterr().out
    assert "levers.government.pressure" in out and "0.15" in out
    assert "mechanisms." not in out
    assert cli.main(["params", "--generic", "--events"]) == 0
    out = capsys.readouterr().out
    assert "factions.<faction>.hostility" in out and "run.days" not in out
