"""Ranges as data: every uncertain value's plausible range, checked against the registry."""

from __future__ import annotations

import pytest

from sim.scenario import registry
from sim.scenario.errors import ScenarioError
from sim.scenario.load import load, shipped_scenarios

DEFINITIONS = {"mechanisms.confrontation_factions", "mechanisms.confrontation_window",
               "mechanisms.confrontation_cooldown", "mechanisms.deescalation_attacks",
               "mechanisms.deescalation_days"}
"""Coefficients that define outcomes (windows and counts), not uncertain values."""
RANGES = load("ranges_iraq_2023")


def test_the_shipped_file_gives_every_uncertain_value_a_range_and_a_reason():
    declared = {r.path: r for r in RANGES.ranges}
    for param in registry.parameters(RANGES):
        uncertain = param.kind == "coefficient" or (
            (param.kind == "uncertainty" and param.type == "number"
            and param.path.split(".")[-1] not in ("lat", "lon", "syria_lat", "syria_lon")
            and ".weapons." not in param.path and not param.path.startswith("weapons."))
            or param.path.split(".")[-1] in ("hit_probability", "interceptability",
                                              "lethality"))
        if uncertain and param.path not in DEFINITIONS and param.type == "number":
            assert param.path in declared, f"{param.path} has no range"
    for item in RANGES.ranges:
        param = registry.parameter(item.path, RANGES)
        assert param.low <= item.low < item.high <= param.high, item.path
        assert len(item.reason) > 10 and item.group, item.path


def test_an_exploration_file_is_not_a_policy_to_compare():
    assert RANGES.kind == "exploration"
    assert "ranges_iraq_2023" not in {p.stem for p in shipped_scenarios("policy")}


def write_ranges(write_toml, body: str, name: str = "r.toml"):
    return write_toml(name, f'extends = "baseline"\n{body}')


@pytest.mark.parametrize("body, key, allowed", [
    ('[[ranges]]\npath = "mechanisms.nope"\nlow = 0\nhigh = 1\nreason = "why not"\n',
     "ranges[1].path", "parameter registry"),
    ('[[ranges]]\npath = "levers.coalition.retaliation"\nlow = 0\nhigh = 1\nreason = "why"\n',
     "ranges[1].path", "is a choice"),
    ('[[ranges]]\npath = "mechanisms.foil_rate"\nlow = 0.1\nhigh = 1.5\nreason = "why"\n',
     "ranges[1].high", "<= 1.0"),
    ('[[ranges]]\npath = "mechanisms.foil_rate"\nlow = 0.5\nhigh = 0.2\nreason = "why"\n',
     "ranges[1]", "below high"),
    ('[[ranges]]\npath = "mechanisms.foil_rate"\nlow = 0.1\nhigh = 0.5\n',
     "ranges[1].reason", "required"),
])
def test_a_bad_range_is_refused_naming_file_key_and_what_is_allowed(write_toml, body, key,
                                                                    allowed):
    path = write_ranges(write_toml, body)
    with pytest.raises(ScenarioError) as info:
        load(path)
    message = str(info.value)
    assert path.name in message and key in message and allowed in message, message


def test_a_file_narrows_an_inherited_range_by_its_path(write_toml):
    path = write_toml("narrow.toml", 'extends = "ranges_iraq_2023"\n[[ranges]]\n'
                      'path = "mechanisms.foil_rate"\nlow = 0.3\nhigh = 0.4\n'
                      'reason = "a narrower judgement"\n')
    loaded = load(path)
    mine = [r for r in loaded.ranges if r.path == "mechanisms.foil_rate"]
    assert len(mine) == 1 and (mine[0].low, mine[0].high) == (0.3, 0.4)
    assert len(loaded.ranges) == len(RANGES.ranges)


def test_one_path_twice_in_one_file_is_refused(write_toml):
    body = ('[[ranges]]\npath = "mechanisms.foil_rate"\nlow = 0.1\nhigh = 0.5\nreason = "first"\n'
            '[[ranges]]\npath = "mechanisms.foil_rate"\nlow = 0.2\nhigh = 0.5\nreason = "second"\n')
    with pytest.raises(ScenarioError, match="given twice"):
        load(write_ranges(write_toml, body))
