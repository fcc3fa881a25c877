"""Scenario loading: errors name file, key, value and what is allowed; extends merge rules."""

from __future__ import annotations

import pickle
import re
import sys
from pathlib import Path

import pytest

from sim import cli
from sim.scenario.errors import ScenarioError
from sim.scenario.load import SCENARIO_DIR as SHIPPED
from sim.scenario.load import load, load_with_sources, override, shipped_scenarios


def extending(baseline: Path, body: str) -> str:
    return f'extends = "{baseline.as_posix()}"\n{body}'


# Each case: file body (after `extends = baseline`), key path, bad value, words of "allowed".
BAD = {
    "unknown_top_level_key": ("pressur = 1\n", "pressur", "1", "allowed keys here: name"),
    "unknown_nested_key": ("[levers.government]\npressur = 0.5\n", "levers.government.pressur",
                           "0.5", "allowed keys here: accommodation, appeasement"),
    "unknown_faction_key": ('[[factions]]\nname = "kataib_hezbollah"\nhostilty = 0.5\n',
                            "factions.kataib_hezbollah.hostilty", "0.5", "hostility"),
    "string_for_number": ('[levers.government]\npressure = "high"\n',
                          "levers.government.pressure", "'high'", "must be a valid number"),
    "string_for_integer": ('[run]\ndays = "many"\n', "run.days", "'many'",
                           "must be a valid integer"),
    "out_of_range": ("[levers.government]\npressure = 1.5\n", "levers.government.pressure",
                     "1.5", ">= 0.0 and <= 1.0"),
    "faction_out_of_range": ('[[factions]]\nname = "kataib_hezbollah"\nhostility = 2\n',
                             "factions.kataib_hezbollah.hostility", "2", "<= 1.0"),
    "bad_enum": ('[levers.coalition]\nretaliation = "nuclear"\n', "levers.coalition.retaliation",
                 "'nuclear'", "'none', 'proportional' or 'escalatory'"),
    "event_unknown_faction": (
        '[[events]]\nday = 5\nset = "factions.kataib_hezbolah.hostility"\nvalue = 0.5\n',
        "events[1].set", "'factions.kataib_hezbolah.hostility'",
        "did you mean factions.kataib_hezbollah.hostility"),
    "event_unknown_base": (
        '[[events]]\nday = 5\nset = "bases.tower22.open"\nvalue = false\n',
        "events[1].set", "'bases.tower22.open'", "did you mean bases.tower_22.open"),
    "event_unknown_target": ('[[events]]\nday = 3\nset = "regio.gaza"\nvalue = 0.2\n',
                             "events[1].set", "'regio.gaza'", "paths start with bases"),
    "event_old_path": ('[[events]]\nday = 3\nset = "region.gaza"\nvalue = 0.2\n',
                       "events[1].set", "'region.gaza'",
                       'write set = "uncertainties.region.gaza"'),
    "event_not_settable": ('[[events]]\nday = 3\nset = "mechanisms.tension_rate"\n'
                           'value = 0.2\n', "events[1].set", "'mechanisms.tension_rate'",
                           "cannot change during a run; events may set: bases.<base>.air_defence"),
    "event_after_horizon": ('[run]\ndays = 30\n[[events]]\nday = 31\n'
                            'set = "uncertainties.region.gaza"\nvalue = 0.1\n', "events[1].day",
                            "31", "within the horizon 1..30"),
    "event_day_zero": ('[[events]]\nday = 0\nset = "uncertainties.region.gaza"\nvalue = 0.1\n',
                       "events[1].day", "0", ">= 1"),
    "event_value_out_of_range": ('[[events]]\nday = 5\nset = "levers.government.pressure"\n'
                                 'value = 1.5\n', "events[1].value", "1.5", "<= 1.0"),
    "event_value_wrong_type": ('[[events]]\nday = 5\nset = "levers.government.pressure"\n'
                               'value = "lots"\n', "events[1].value", "'lots'",
                               "must be a valid number"),
    "event_bad_choice": ('[[events]]\nday = 5\nset = "levers.coalition.retaliation"\n'
                         'value = "nuclear"\n', "events[1].value", "'nuclear'",
                         "one of none, proportional, escalatory"),
    "event_unknown_key": ('[[events]]\nday = 3\nset = "uncertainties.region.gaza"\n'
                          'value = 0.2\nvlaue = 1\n', "events[1].vlaue", "1",
                          "allowed keys here: day, set, value, note"),
    "unknown_weapon": ('[[factions]]\nname = "kataib_hezbollah"\nweapons = { sling = 2 }\n',
                       "factions.kataib_hezbollah.weapons", "'sling'",
                       "allowed: ['crbm', 'drone', 'rocket']"),
    "new_faction_incomplete": ('[[factions]]\nname = "new_group"\nhostility = 0.5\n',
                               "factions.new_group.", "(missing)", "required key is missing"),
    "weights_not_a_table": ("[mechanisms]\nescalation_weights = [1, 2]\n",
                            "mechanisms.escalation_weights", "[1, 2]",
                            "must be a valid dictionary"),
    "infinite_coefficient": ("[mechanisms]\nw_hostility = inf\n", "mechanisms.w_hostility",
                             "inf", "finite number"),
    "huge_coefficient": ("[mechanisms]\ncasualty_scale = 1e308\n",
                         "mechanisms.casualty_scale", "1e+308", "<= 10.0"),
    "infinite_lethality": ("[weapons.drone]\nlethality = inf\n", "weapons.drone.lethality",
                           "inf", "finite number"),
    "duplicate_faction": ('[[factions]]\nname = "badr_organization"\nstake = 0.5\n'
                          '[[factions]]\nname = "badr_organization"\nstake = 0.6\n',
                          "factions.badr_organization", "'badr_organization'",
                          "appears twice"),
    "empty_factions": ("factions = []\n", "factions", "[]", "an empty list changes nothing"),
    "empty_events": ("events = []\n", "events", "[]", "an empty list changes nothing"),
}


def check_message(message: str, file: Path, key: str, value: str, allowed: str) -> None:
    """The one-line message names the file, the key path, the bad value and what is allowed."""
    assert "\n" not in message
    assert file.name in message, message
    assert key in message, message
    assert value in message, message
    assert allowed in message, message


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_values_raise_clear_errors(case, baseline_path, write_toml):
    body, key, value, allowed = BAD[case]
    path = write_toml(f"{case}.toml", extending(baseline_path, body))
    with pytest.raises(ScenarioError, match=re.escape(key)) as info:
        load(path)
    check_message(str(info.value), path, key, value, allowed)


def test_boolean_for_number_is_refused(baseline_path, write_toml):
    path = write_toml("bool.toml", extending(baseline_path, "[levers.government]\npressure = true\n"))
    with pytest.raises(ScenarioError, match=r"levers\.government\.pressure"):
        load(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError, match="no such file") as info:
        load(path)
    check_message(str(info.value), path, "(file)", "nowhere.toml", "scenario .toml file")


def test_unknown_shipped_name_lists_the_shipped_ones():
    with pytest.raises(ScenarioError, match=r"shipped: .*baseline"):
        load("no_such_scenario_name")


def test_a_shipped_name_means_the_shipped_file_even_beside_a_local_copy(tmp_path, monkeypatch):
    local = tmp_path / "scenarios"
    local.mkdir()
    (local / "baseline.toml").write_text('extends = "baseline"\n[levers.government]\n'
                                         'pressure = 0.9\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load("baseline").levers.government.pressure == 0.15
    assert load("scenarios/baseline.toml").levers.government.pressure == 0.9


def test_a_copy_that_extends_by_name_works_anywhere(tmp_path):
    text = (SHIPPED / "pressure_led.toml").read_text(encoding="utf-8")
    copy = tmp_path / "elsewhere" / "my_pressure.toml"
    copy.parent.mkdir()
    copy.write_text(text.replace("pressure = 0.8", "pressure = 0.7"), encoding="utf-8")
    spec = load(copy)
    assert spec.name == "my_pressure" and spec.levers.government.pressure == 0.7


@pytest.mark.parametrize("parent", ["baseline", "pressure_led", "balanced_mix",
                                    "historical_2023_24"])
def test_extends_by_shipped_name_works_from_any_folder_and_any_cwd(parent, tmp_path,
                                                                   monkeypatch):
    # The exercise sheets' copies (docs/exercises/) extend these names from anywhere.
    copy = tmp_path / "students" / "copy.toml"
    copy.parent.mkdir()
    copy.write_text(f'extends = "{parent}"\n\n[levers.government]\npersuasion = 0.85\n',
                    encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    spec = load(copy)
    assert spec.levers.government.persuasion == 0.85
    assert spec.levers.government.pressure == load(parent).levers.government.pressure


def test_a_relative_extends_that_misses_suggests_the_shipped_name(write_toml):
    path = write_toml("mine.toml", 'extends = "baseline.toml"\n')
    with pytest.raises(ScenarioError, match='write extends = "baseline"'):
        load(path)


def test_missing_extends_target(write_toml):
    path = write_toml("child.toml", 'extends = "parent_missing.toml"\n')
    with pytest.raises(ScenarioError, match=r"extends = 'parent_missing\.toml'") as info:
        load(path)
    check_message(str(info.value), path, "extends", "parent_missing.toml",
                  "path relative to the extending file")


def test_extends_not_a_string(write_toml):
    path = write_toml("child.toml", "extends = 5\n")
    with pytest.raises(ScenarioError, match="extends = 5") as info:
        load(path)
    check_message(str(info.value), path, "extends", "5", "a file name such as")


def test_cyclic_extends(write_toml):
    a = write_toml("a.toml", 'extends = "b.toml"\n')
    write_toml("b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="cyclic extends") as info:
        load(a)
    message = str(info.value)
    check_message(message, Path("b.toml"), "extends", "a.toml", "cyclic extends")
    assert re.search(r"a\.toml -> .*b\.toml -> .*a\.toml", message)


def test_self_extends_is_cyclic(write_toml):
    path = write_toml("loop.toml", 'extends = "loop.toml"\n')
    with pytest.raises(ScenarioError, match="cyclic extends"):
        load(path)


def test_malformed_toml(baseline_path, write_toml):
    path = write_toml("broken.toml", extending(baseline_path, "[levers.government\npressure = 1\n"))
    with pytest.raises(ScenarioError, match="valid TOML") as info:
        load(path)
    check_message(str(info.value), path, "(syntax)", "line 2", "must be valid TOML")


def test_error_in_parent_names_the_parent_file(baseline_path, write_toml):
    parent = write_toml("parent.toml", extending(baseline_path, "[run]\ndays = 0\n"))
    child = write_toml("child.toml", 'extends = "parent.toml"\n[levers.government]\npressure = 0.2\n')
    with pytest.raises(ScenarioError) as info:
        load(child)
    check_message(str(info.value), parent, "run.days", "0", ">= 1")
    assert "child.toml" not in str(info.value)


def test_error_attributes(baseline_path, write_toml):
    path = write_toml("x.toml", extending(baseline_path, "[levers.government]\npressure = 1.5\n"))
    with pytest.raises(ScenarioError) as info:
        load(path)
    err = info.value
    assert (Path(err.file).name, err.key, err.value) == ("x.toml", "levers.government.pressure", 1.5)
    assert "<= 1.0" in err.allowed


# ------------------------------------------------------------------- the CLI


def test_cli_check_bad_file_exit_2_one_line(baseline_path, write_toml, capsys):
    path = write_toml("bad.toml", extending(baseline_path, "[levers.government]\npressure = 1.5\n"))
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in err
    check_message(lines[0], path, "levers.government.pressure", "1.5", "<= 1.0")


def test_cli_check_good_and_bad_together(baseline_path, write_toml, capsys):
    bad = write_toml("bad.toml", extending(baseline_path, "pressur = 1\n"))
    assert cli.main(["check", str(baseline_path), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("ok: ") and len(err.strip().splitlines()) == 1


def test_cli_check_missing_file(tmp_path, capsys):
    assert cli.main(["check", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_run_bad_file_writes_nothing(baseline_path, write_toml, tmp_path, capsys):
    path = write_toml("bad.toml", extending(baseline_path, '[levers.government]\npressure = "x"\n'))
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--reps", "1", "--days", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


# ------------------------------------------------------------------ extends


PARENT = """
name = "parent"
description = "the parent"
notes = "parent notes"

[run]
days = 40
seed = 7

[levers.government]
pressure = 0.2
persuasion = 0.4

[weapons.rocket]
range_km = 200
hit_probability = 0.3
interceptability = 0.8
lethality = 5.0

[[factions]]
name = "alpha"
lat = 33.0
lon = 44.0
teams = 2
resupply = 0.03
hostility = 0.8
alignment = 0.9
stake = 0.1
receptiveness = 0.2
tolerance = 0.5
weapons = { rocket = 1.0 }

[[bases]]
name = "site_a"
country = "Iraq"
lat = 33.5
lon = 43.0
troops = 500
air_defence = 0.4
hardening = 0.4

[[events]]
day = 5
set = "uncertainties.region.gaza"
value = 0.5
"""

CHILD = """
extends = "parent.toml"

[run]
days = 50

[levers.government]
pressure = 0.6

[[factions]]
name = "alpha"
hostility = 0.3

[[factions]]
name = "beta"
lat = 34.0
lon = 44.5
teams = 1
resupply = 0.02
hostility = 0.4
alignment = 0.5
stake = 0.7
receptiveness = 0.6
tolerance = 0.7
weapons = { rocket = 1.0 }

[[bases]]
name = "site_a"
troops = 100

[[events]]
day = 10
set = "levers.government.pressure"
value = 0.1
"""


@pytest.fixture
def family(write_toml) -> tuple[Path, Path]:
    return write_toml("parent.toml", PARENT), write_toml("child.toml", CHILD)


def test_tables_merge_deeply(family):
    _, child = family
    spec = load(child)
    assert spec.run.days == 50 and spec.run.seed == 7  # days replaced, seed inherited
    assert spec.levers.government.pressure == 0.6
    assert spec.levers.government.persuasion == 0.4  # sibling key inherited


def test_factions_and_bases_patched_by_name(family):
    _, child = family
    spec = load(child)
    alpha = spec.faction("alpha")
    assert alpha.hostility == 0.3
    assert (alpha.teams, alpha.alignment, alpha.lat) == (2, 0.9, 33.0)  # others kept
    assert [f.name for f in spec.factions] == ["alpha", "beta"]  # new name added
    site = spec.base("site_a")
    assert site.troops == 100 and site.air_defence == 0.4 and len(spec.bases) == 1


def test_events_appended(family):
    _, child = family
    spec = load(child)
    assert [(e.day, e.set) for e in spec.events] == [(5, "uncertainties.region.gaza"),
                                                     (10, "levers.government.pressure")]


def test_own_keys_not_inherited(family):
    parent, child = family
    assert load(parent).name == "parent"
    spec = load(child)
    assert spec.name == "child"  # defaults to the file name
    assert spec.description == "" and spec.notes == ""


def test_sources_listed_parent_first(family):
    _, child = family
    loaded = load_with_sources(child)
    assert [p.name for p in loaded.sources] == ["parent.toml", "child.toml"]
    assert len(loaded.source_hash) == 64


def test_event_error_in_child_numbered_within_child(family, write_toml):
    write_toml("grandchild.toml", 'extends = "child.toml"\n[[events]]\nday = 3\n'
               'set = "factions.gamma.hostility"\nvalue = 0.1\n')
    with pytest.raises(ScenarioError, match=r"grandchild\.toml: events\[1\]\.set"):
        load(family[1].parent / "grandchild.toml")


def test_every_shipped_scenario_loads():
    paths = shipped_scenarios()
    assert {p.stem for p in paths} >= {"baseline", "pressure_led", "gaza_truce"}
    for path in paths:
        assert load(path).name == path.stem


# ------------------------------------------------------------------ override


def test_override_nested_named_and_weapon(family):
    spec = load(family[1])
    new = override(spec, {"levers.government.pressure": 0.9,
                          "factions.beta.tolerance": 0.2,
                          "weapons.rocket.hit_probability": 0.5,
                          "uncertainties.region.gaza": 0.1})
    assert new.levers.government.pressure == 0.9
    assert new.faction("beta").tolerance == 0.2 and new.faction("alpha").tolerance == 0.5
    assert new.weapons["rocket"].hit_probability == 0.5
    assert new.uncertainties.region.gaza == 0.1
    assert spec.levers.government.pressure == 0.6  # the original is untouched


@pytest.mark.parametrize(("path", "value", "match"), [
    ("levers.government.pressur", 0.5, "did you mean levers.government.pressure"),
    ("factions.gamma.tolerance", 0.5, "unknown parameter path"),
    ("levers.government.pressure", 1.5, r"levers\.government\.pressure = 1\.5: .*<= 1\.0"),
    ("factions.beta.hostility", "x", r"factions\.beta\.hostility = 'x'"),
])
def test_override_errors(family, path, value, match):
    with pytest.raises(ScenarioError, match=match):
        override(load(family[1]), {path: value})


def test_pickled_scenario_is_equal_and_keeps_interned_field_names(baseline):
    """Workers receive the scenario pickled; its field names must stay interned (identical
    objects), or CPython's specialised attribute reads fall back to the slow path there."""
    restored = pickle.loads(pickle.dumps(baseline))
    assert restored == baseline
    for part in (restored, restored.mechanisms, restored.factions[0], restored.levers.government):
        assert part.__dict__ and all(key is sys.intern(key) for key in part.__dict__)
