"""The model's parts on their own: events, clashes and confrontation, the coalition command."""

from __future__ import annotations

import pytest

from sim.model.agents import BaseSite, Militia
from sim.model.model import IraqModel, most_teams
from sim.scenario import registry
from sim.scenario.load import load, override
from sim.scenario.schema import Event


def with_events(spec, *events):
    return spec.model_copy(update={"events": [Event(day=d, set=s, value=v) for d, s, v in events]})


def new_value(param):
    """A value different from the current one, within the parameter's bounds."""
    if param.type == "boolean":
        return not param.value
    if param.type == "choice":
        return next(c for c in param.choices if c != param.value)
    if param.type == "integer":
        return param.value + 1 if param.value < param.high else param.value - 1
    return param.low + 0.37 * (param.high - param.low) if param.value != param.low + 0.37 * (
        param.high - param.low) else param.high


# --------------------------------------------------------------------- events


@pytest.mark.parametrize("path", [p.path for p in registry.parameters(load("baseline"),
                                                                     events=True)])
def test_every_event_path_sets_the_value_it_names(baseline, path):
    param = registry.parameter(path, baseline)
    value = new_value(param)
    model = IraqModel(baseline, seed=1, days=5)
    holder, attribute = model.holder(path)
    assert getattr(holder, attribute) == param.value  # the scenario's value at the start
    model.apply(Event(day=1, set=path, value=value))
    assert getattr(holder, attribute) == value


def test_events_take_effect_on_their_day_before_the_factions_act(baseline):
    model = IraqModel(with_events(baseline, (3, "levers.government.pressure", 0.9)), seed=1,
                      days=5)
    model.step()
    model.step()
    assert model.government.pressure == baseline.levers.government.pressure
    model.step()
    assert model.government.pressure == 0.9
    assert model.recorder.values[-1][8] == 0.9  # the day's record carries the new lever


def test_setting_a_factions_hostility_sets_its_underlying_level(baseline):
    model = IraqModel(baseline, seed=1, days=3)
    model.apply(Event(day=1, set="factions.kataib_hezbollah.hostility", value=0.2))
    kh = model.militias[0]
    assert kh.baseline_hostility == kh.hostility == 0.2
    model.step()  # hostility stays near the new underlying level, not back toward 0.85
    assert kh.hostility < 0.21


def test_closing_a_site_removes_it_from_every_factions_targets(baseline):
    model = IraqModel(with_events(baseline, (2, "bases.al_tanf.open", False)), seed=1, days=3)
    reach = lambda: {b.name for m in model.militias for plans in m.targets  # noqa: E731
                     for _, _, iraq, _, other, _ in plans for b in (*iraq, *other)}
    assert "al_tanf" in reach()
    model.step()
    model.step()
    assert "al_tanf" not in reach()


def test_holder_names_the_right_object(baseline):
    model = IraqModel(baseline, seed=1, days=2)
    assert model.holder("levers.government.pressure") == (model.government, "pressure")
    assert model.holder("levers.government.adaptive.enabled") == (model.government, "adaptive")
    assert model.holder("uncertainties.patron.signal") == (model.region, "signal")
    holder, attribute = model.holder("factions.badr_organization.stake")
    assert isinstance(holder, Militia) and (holder.name, attribute) == ("badr_organization",
                                                                          "stake")
    holder, attribute = model.holder("bases.erbil.troops")
    assert isinstance(holder, BaseSite) and (holder.name, attribute) == ("erbil", "troops")


def test_most_teams_counts_events_that_add_teams(baseline):
    spec = with_events(baseline, (5, "factions.badr_organization.teams", 4))
    assert most_teams(spec, "badr_organization") == 4
    model = IraqModel(spec, seed=3, days=10)
    model.run()  # four teams draw from the stream without running past it
    assert model.militias[-1].teams == 4


def test_a_batch_run_equals_stepping_through_mesas_clock(baseline):
    from sim.model.model import simulate

    stepped = IraqModel(baseline, seed=11, days=60)
    while stepped.running:
        stepped.step()  # Mesa's public step: its event clock, then the day
    batch = IraqModel(baseline, seed=11, days=60)
    batch.run()
    assert stepped.recorder.rows == batch.recorder.rows
    assert stepped.recorder.values == batch.recorder.values
    assert stepped.recorder.events == batch.recorder.events
    assert (batch.steps, batch.time) == (stepped.steps, stepped.time) == (60, 60.0)
    assert simulate(baseline, 11, 60).daily["attacks"].tolist() == [
        row[0] for row in batch.recorder.rows]


# -------------------------------------------------------- clashes, confrontation


def quiet_model(baseline, **mechanisms):
    """A model in which nothing clashes on its own (tolerance at its maximum)."""
    spec = override(baseline, {**{f"factions.{f.name}.tolerance": 1.0 for f in baseline.factions},
                               **{f"mechanisms.{k}": v for k, v in mechanisms.items()}})
    return IraqModel(spec, seed=1, days=120)


def clash(model, *indices):
    """Advance to the next day with the given factions clashing (nothing else happening)."""
    model.day += 1
    for i, militia in enumerate(model.militias):
        militia.clashed = i in indices
    return model.resolve_clashes()


def test_one_factions_clash_does_not_start_open_confrontation(baseline):
    model = quiet_model(baseline)
    assert clash(model, 0) == 1 and not model.confrontation
    assert model.recorder.today[5] == 1  # counted as a clash today


def test_two_factions_within_the_window_start_it_and_it_ends_after_the_cooldown(baseline):
    model = quiet_model(baseline, confrontation_window=10, confrontation_cooldown=21)
    clash(model, 0)
    for _ in range(8):
        clash(model)
    clash(model, 1)  # day 10: the second faction within the 10-day window
    assert model.confrontation
    for _ in range(20):
        clash(model)
        assert model.confrontation  # clash-free, but not yet 21 days
    clash(model)
    assert not model.confrontation


def test_two_factions_outside_the_window_do_not_start_it(baseline):
    model = quiet_model(baseline, confrontation_window=10)
    clash(model, 0)
    for _ in range(10):
        clash(model)
    clash(model, 1)  # day 12: the first clash left the window
    assert not model.confrontation


def test_a_clash_releases_tension_and_spreads_it_by_contagion(baseline):
    model = quiet_model(baseline, clash_release=0.3, contagion=0.12)
    for militia in model.militias:
        militia.tension = 0.5
    clash(model, 0)
    assert model.militias[0].tension == pytest.approx(0.35)
    badr = model.militias[4]
    assert badr.tension == pytest.approx(0.5 + 0.12 * (1 - badr.stake))
    assert model.government.clashes_since_review == 1


# ------------------------------------------------------------- the command


def command_model(baseline, policy="proportional", pressure=0.0, deference=0.5, cooldown=7):
    spec = override(baseline, {"levers.coalition.retaliation": policy,
                               "levers.government.pressure": pressure,
                               "mechanisms.deference": deference,
                               "levers.coalition.thresholds.cooldown_days": cooldown,
                               "levers.coalition.thresholds.attacks": 1.0})
    return IraqModel(spec, seed=2, days=60)


def attacks_by(model, index, count=3):
    """Record ``count`` attacks by faction ``index`` today."""
    militia = model.militias[index]
    for _ in range(count):
        model.recorder.attack(model.day, index, militia.name, "erbil", "Iraq", "rocket",
                              "no_effect", 0, 0)


def strike_days(model, faction=1, days=20):
    struck = []
    for _ in range(days):
        model.day += 1
        attacks_by(model, faction)
        model.command.step()
        if model.command.last_strike_day == model.day:
            struck.append(model.day)
        model.recorder.close_day((0.7, 0.5, 1.0, 0.5, 0.3, 0.5, 0.1, 0.3, 0.0, False))
    return struck


def test_strikes_respect_the_cooldown(baseline):
    model = command_model(baseline, deference=0.0, cooldown=7)
    assert strike_days(model) == [1, 8, 15]


def test_escalatory_policy_halves_the_cooldown(baseline):
    model = command_model(baseline, policy="escalatory", deference=0.0, cooldown=7)
    assert strike_days(model) == [1, 4, 7, 10, 13, 16, 19]


def test_no_retaliation_never_strikes(baseline):
    assert strike_days(command_model(baseline, policy="none", deference=0.0)) == []


def test_full_deference_to_full_pressure_withholds_every_strike(baseline):
    assert strike_days(command_model(baseline, pressure=1.0, deference=1.0)) == []
    # half the chance: some days withheld, some not (the draws are the command's own)
    some = strike_days(command_model(baseline, pressure=1.0, deference=0.5, cooldown=0), days=60)
    assert 10 < len(some) < 50


def test_the_strike_hits_the_most_active_faction(baseline):
    model = command_model(baseline, deference=0.0)
    model.day = 1
    attacks_by(model, 3, count=2)
    attacks_by(model, 1, count=5)
    hostility = model.militias[1].hostility
    model.command.step()
    assert model.recorder.events[-1][1:3] == ("strike", "harakat_al_nujaba")
    assert model.militias[1].hostility > hostility  # revenge
    assert model.command.strike_cost_today > 0


def test_attribution_breaks_ties_with_its_uniform_and_needs_an_attack(baseline):
    model = command_model(baseline)
    command = model.command
    assert command.attribute([0, 0, 0, 0, 0], 0.5) is None
    assert command.attribute([2, 0, 2, 0, 0], 0.2).name == "kataib_hezbollah"
    assert command.attribute([2, 0, 2, 0, 0], 0.7).name == "kataib_sayyid_al_shuhada"
