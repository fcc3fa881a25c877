"""The mechanisms added for validity: both sides of the border, declared pauses, documented
strikes, deaths and deterrence, the observation model, and clustered deaths.

Each test isolates one mechanism (its coefficient switched on or off, everything else
equal, the same seeds) and asserts the behaviour docs/model.md describes.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import rules
from sim.model.agents import HOME, SYRIA
from sim.model.model import IraqModel, simulate
from sim.model.reporting import Reporting
from sim.scenario.load import load, override
from sim.scenario.schema import Event, Scenario, Strike

SEEDS = range(30)


def totals(spec: Scenario, column: str, seeds=SEEDS, days: int | None = None) -> float:
    """Mean over replications of a daily column's total."""
    return float(np.mean([simulate(spec, s, days).daily[column].sum() for s in seeds]))


# ------------------------------------------------------------------- rules


def test_syria_share_target_rises_with_pressure_and_embarrassment():
    low = rules.syria_share_target(0.2, 0.0, 0.0, substitution=1.0)
    assert low == pytest.approx(0.2)
    half = 0.2 + 0.8 * (1 - np.exp(-0.5))
    assert rules.syria_share_target(0.2, 0.5, 0.0, substitution=1.0) == pytest.approx(half)
    assert rules.syria_share_target(0.2, 0.2, 0.3, substitution=1.0) == pytest.approx(half)
    assert rules.syria_share_target(0.2, 1.0, 1.0, substitution=10.0) == pytest.approx(1.0)
    pushes = np.array([0.0, 0.3, 0.6, 0.9])
    shares = rules.syria_share_target(0.2, pushes, 0.0, substitution=2.0)
    assert (np.diff(shares) > 0).all() and (np.diff(shares, 2) < 0).all()  # diminishing
    assert rules.syria_share_target(0.2, 0.5, 0.5, substitution=0.0) == pytest.approx(0.2)


def test_relocation_closes_a_share_of_the_gap():
    assert rules.relocation_update(0.2, 0.6, rate=0.25) == pytest.approx(0.3)
    assert rules.relocation_update(0.6, 0.2, rate=1.0) == pytest.approx(0.2)


def test_embarrassment_rises_with_attacks_and_strikes_in_iraq_and_fades():
    kw = {"per_attack": 0.04, "per_strike": 0.1, "decay": 0.05}
    assert rules.embarrassment_update(0.0, 2, 1, **kw) == pytest.approx(0.18)
    assert rules.embarrassment_update(0.5, 0, 0, **kw) == pytest.approx(0.475)
    assert rules.embarrassment_update(0.9, 10, 3, **kw) == 1.0


def test_sites_in_iraq_are_avoided_most_by_factions_with_a_stake():
    kw = {"avoidance": 0.5}
    assert rules.iraq_site_factor(0.0, 0.9, **kw) == 1.0
    assert rules.iraq_site_factor(0.6, 0.0, **kw) == pytest.approx(0.7)
    assert rules.iraq_site_factor(0.6, 1.0, **kw) == pytest.approx(0.4)


def test_pause_compliance_is_alignment_times_the_coefficient():
    assert rules.pause_compliance(0.9, compliance=1.0) == pytest.approx(0.9)
    assert rules.pause_compliance(0.9, compliance=0.5) == pytest.approx(0.45)
    assert rules.pause_compliance(0.9, compliance=2.0) == 1.0


def test_binomial_quantile_matches_scipy():
    from scipy.stats import binom

    u = np.random.default_rng(1).uniform(size=2000)
    draws = np.array([rules.binomial_quantile(x, 12, 0.3) for x in u])
    assert draws.mean() == pytest.approx(12 * 0.3, rel=0.05)
    for x in (0.01, 0.3, 0.5, 0.77, 0.99):
        assert rules.binomial_quantile(x, 12, 0.3) == binom.ppf(x, 12, 0.3)


def test_clustered_deaths_keep_the_mean_and_come_together():
    u = np.random.default_rng(2).uniform(size=40_000)
    alike = np.array([rules.deaths_among(x, 40, death_rate=0.02, clustering=1.0) for x in u])
    clustered = np.array([rules.deaths_among(x, 40, death_rate=0.02, clustering=0.2)
                          for x in u])
    assert alike.mean() == pytest.approx(0.8, rel=0.05)
    assert clustered.mean() == pytest.approx(0.8, rel=0.05)
    assert (clustered >= 3).mean() > 3 * (alike >= 3).mean()
    assert (clustered == 0).mean() > (alike == 0).mean()


def test_diagnosis_lag_is_geometric_with_the_stated_mean():
    u = np.random.default_rng(3).uniform(size=50_000)
    lags = np.array([rules.diagnosis_lag(x, mean_days=7.0) for x in u])
    assert lags.mean() == pytest.approx(7.0, rel=0.03)
    assert rules.diagnosis_lag(0.5, mean_days=0.0) == 0
    assert rules.diagnosis_lag(0.1, mean_days=7.0) <= rules.diagnosis_lag(0.9, mean_days=7.0)


def test_a_site_hardens_after_hits_that_hurt():
    assert rules.hardening_update(0.4, gain=0.25) == pytest.approx(0.55)
    assert rules.hardening_update(0.4, gain=0.0) == pytest.approx(0.4)


# --------------------------------------------------------- both sides of the border


def test_pressure_foils_and_restrains_launches_from_iraq_only(baseline):
    model = IraqModel(override(baseline, {"levers.government.pressure": 1.0}), seed=1, days=3)
    kh = model.militias[0]
    assert kh.attack_chance(HOME) < kh.attack_chance(SYRIA)
    calm = IraqModel(override(baseline, {"levers.government.pressure": 0.0}), seed=1, days=3)
    assert calm.militias[0].attack_chance(HOME) == pytest.approx(
        calm.militias[0].attack_chance(SYRIA))


def test_with_all_teams_in_syria_nothing_is_foiled(baseline):
    everyone_in_syria = baseline.model_copy(update={"factions": [
        f.model_copy(update={"syria_share": 1.0}) for f in baseline.factions]})
    spec = override(everyone_in_syria, {"levers.government.pressure": 1.0,
                                        "mechanisms.substitution": 0.0})
    assert totals(spec, "foiled", range(10)) == 0
    at_home = override(spec, {"mechanisms.foil_rate": 1.0}).model_copy(update={"factions": [
        f.model_copy(update={"syria_share": 0.0}) for f in baseline.factions]})
    assert totals(at_home, "foiled", range(10)) > 10


def test_launch_teams_move_into_syria_under_pressure_and_embarrassment(baseline):
    spec = override(baseline, {"levers.government.pressure": 0.8, "mechanisms.substitution": 1.0,
                               "mechanisms.relocation_rate": 0.1})
    model = IraqModel(spec, seed=3, days=60)
    before = [m.syria_share for m in model.militias]
    model.run()
    after = [m.syria_share for m in model.militias]
    assert all(a > b for a, b in zip(after, before, strict=True))
    still = IraqModel(override(spec, {"mechanisms.substitution": 0.0}), seed=3, days=60)
    still.run()
    assert [m.syria_share for m in still.militias] == pytest.approx(before)


def test_teams_in_syria_hit_sites_in_syria_more_often(baseline):
    def share(syria_share: float) -> float:
        spec = baseline.model_copy(update={"factions": [
            f.model_copy(update={"syria_share": syria_share}) for f in baseline.factions]})
        spec = override(spec, {"mechanisms.substitution": 0.0})
        return totals(spec, "attacks_syria", range(15)) / totals(spec, "attacks", range(15))

    assert share(1.0) > share(0.0) + 0.2


def test_embarrassment_turns_attacks_away_from_sites_in_iraq(baseline):
    model = IraqModel(baseline, seed=1, days=3)
    kh = model.militias[0]
    weights = kh.target_weights[HOME]
    i = next(i for i, plan in enumerate(kh.targets[HOME]) if plan[2] and plan[4])  # the drone
    u_weapon = ((weights[i - 1] if i else 0.0) + weights[i]) / 2 / weights[-1]
    picks = {}
    for factor in (1.0, 0.05):
        sites = [kh.choose_target(HOME, u_weapon, u, factor)[2] for u in np.linspace(0, 0.999, 400)]
        picks[factor] = np.mean([s.country == "Iraq" for s in sites])
    assert picks[0.05] < picks[1.0]


# -------------------------------------------------------------------- pauses


def paused(spec: Scenario, compliance: float, day: int = 1, until: int | None = None):
    events = [Event(day=day, set="uncertainties.patron.pause", value=True)]
    if until:
        events.append(Event(day=until, set="uncertainties.patron.pause", value=False))
    return override(spec, {"mechanisms.pause_compliance": compliance}).model_copy(
        update={"events": events})


def test_full_compliance_silences_every_faction_while_the_pause_lasts(baseline):
    spec = paused(baseline, compliance=10.0, day=5, until=20)  # clip01(10 x alignment) = 1
    for seed in range(5):
        daily = simulate(spec, seed, 40).daily
        assert daily["attacks"][4:19].sum() == 0
        assert daily["attacks"][19:].sum() > 0  # lifted: attacks resume


def test_no_compliance_changes_nothing(baseline):
    quiet = paused(baseline, compliance=0.0, day=5, until=20)
    for seed in range(5):
        assert (simulate(quiet, seed, 40).daily["attacks"]
                == simulate(baseline, seed, 40).daily["attacks"]).all()


def test_compliance_follows_alignment(baseline):
    spec = paused(baseline, compliance=1.0, day=2)
    complied = []
    for seed in range(400):
        model = IraqModel(spec, seed=seed, days=3)
        model.step()
        model.step()  # day 2: the pause is declared and each faction decides
        complied.append([m.complying for m in model.militias])
    alignment = np.array([f.alignment for f in baseline.factions])
    np.testing.assert_allclose(np.mean(complied, axis=0), alignment, atol=0.07)


def test_a_pause_declared_at_the_start_is_decided_on_day_one(baseline):
    spec = override(baseline, {"uncertainties.patron.pause": True,
                               "mechanisms.pause_compliance": 10.0})
    assert totals(spec, "attacks", range(3), days=20) == 0


# ---------------------------------------------------- strikes, deaths, deterrence


def test_a_documented_strike_happens_on_its_day_and_embarrasses_the_state_in_iraq(baseline):
    spec = override(baseline, {"levers.coalition.retaliation": "none",
                               "mechanisms.embarrassment_attack": 0.0})
    for country, embarrassed in (("Iraq", True), ("Syria", False)):
        struck = spec.model_copy(update={"strikes": [
            Strike(day=3, faction="harakat_al_nujaba", country=country, severity=2.0)]})
        model, control = IraqModel(struck, seed=1, days=5), IraqModel(spec, seed=1, days=5)
        for _ in range(3):
            model.step()
            control.step()
        strikes = [(e[0], e[2]) for e in model.recorder.events if e[1] == "strike"]
        assert strikes == [(3, "harakat_al_nujaba")]
        assert model.militias[1].capability < control.militias[1].capability
        assert model.militias[1].hostility > control.militias[1].hostility  # revenge
        assert (model.government.embarrassment > 0) is embarrassed
        assert control.government.embarrassment == 0


def test_unknown_faction_in_a_strike_is_refused(baseline):
    with pytest.raises(ValueError, match=r"strikes\[1\]\.faction"):
        Scenario.model_validate({**baseline.model_dump(), "strikes": [
            {"day": 2, "faction": "nobody", "country": "Iraq"}]})


def test_us_deaths_raise_every_factions_deterrence(baseline):
    model = IraqModel(override(baseline, {"mechanisms.death_deterrence": 0.5}), seed=1, days=3)
    before = [m.deterrence for m in model.militias]
    for militia in model.militias:
        militia.feel_deaths(3)
    assert [m.deterrence for m in model.militias] == pytest.approx([b + 1.5 for b in before])


def test_death_deterrence_lowers_attacks_after_deaths():
    spec = load("historical_2023_24")
    deaths_seeds = [s for s in range(60) if simulate(spec, s).daily["deaths"].sum() > 0][:15]
    assert len(deaths_seeds) >= 10
    low = override(spec, {"mechanisms.death_deterrence": 0.0})
    assert totals(spec, "attacks", deaths_seeds) < totals(low, "attacks", deaths_seeds)


# --------------------------------------------------------- the observation model


def test_reporting_lags_brain_injuries_and_repeats_stale_counts():
    never = Reporting(10, [0.99] * 10, refresh=0.5)
    never.injured(1, 2, 3, lag=4)
    assert [never.close_day(d, 0) for d in range(1, 11)] == [0] * 10  # never refreshed
    always = Reporting(10, [0.0] * 10, refresh=0.5)
    always.injured(1, 2, 3, lag=4)
    assert [always.close_day(d, 0) for d in range(1, 11)] == [2, 0, 0, 0, 3, 0, 0, 0, 0, 0]
    recount = Reporting(10, [0.99] * 10, refresh=0.5)
    recount.injured(1, 2, 3, lag=4)
    assert [recount.close_day(d, 1 if d == 6 else 0) for d in range(1, 11)] == [
        0, 0, 0, 0, 0, 5, 0, 0, 0, 0]


def test_diagnoses_after_the_horizon_are_never_reported():
    late = Reporting(5, [0.0] * 5, refresh=1.0)
    late.injured(4, 1, 2, lag=3)
    assert sum(late.close_day(d, 0) for d in range(1, 6)) == 1


def test_reported_injuries_never_exceed_incurred_and_catch_up_with_full_refresh(baseline):
    for seed in range(5):
        daily = simulate(baseline, seed).daily
        assert (np.cumsum(daily["injuries_reported"]) <= np.cumsum(daily["injuries"])).all()
    prompt = override(baseline, {"mechanisms.report_refresh": 1.0,
                                 "mechanisms.tbi_share": 0.0})
    for seed in range(5):
        daily = simulate(prompt, seed).daily
        assert (daily["injuries_reported"] == daily["injuries"]).all()


def test_the_command_adapts_after_hits_that_hurt(baseline):
    adapting = override(baseline, {"mechanisms.hardening_gain": 0.2})
    fixed = override(baseline, {"mechanisms.hardening_gain": 0.0})
    assert totals(adapting, "injuries", range(20)) < 0.8 * totals(fixed, "injuries", range(20))
    model = IraqModel(adapting, seed=2, days=60)
    start = [b.hardening for b in model.bases]
    model.run()
    assert all(b.hardening >= h for b, h in zip(model.bases, start, strict=True))
    assert any(b.hardening > h for b, h in zip(model.bases, start, strict=True))
