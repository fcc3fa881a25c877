"""Unit tests of sim.rules: each rule on floats and on arrays, and its boundary behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model import rules

RNG_SEED = 12345
GRID = np.linspace(0.0, 1.0, 6)


def elementwise(func, *arrays, **fixed):
    """Call ``func`` once on arrays and once per element on floats; both must agree."""
    vectorised = np.asarray(func(*arrays, **fixed), dtype=float)
    one_by_one = np.array([func(*(float(a[i]) for a in arrays), **fixed)
                           for i in range(len(arrays[0]))], dtype=float)
    np.testing.assert_allclose(vectorised, one_by_one, rtol=1e-12, atol=1e-12)
    return vectorised


def grid(n: int = 6, seed: int = 0, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, n)


# ------------------------------------------------------------- float == array


@pytest.mark.parametrize(("func", "args", "fixed"), [
    (rules.clip01, (np.array([-1.0, -0.01, 0.0, 0.3, 1.0, 1.7]),), {}),
    (rules.logistic, (np.linspace(-8, 8, 9),), {}),
    (rules.regional_escalation, (grid(seed=1), grid(seed=2), grid(seed=3)),
     {"w_gaza": 0.6, "w_lebanon": 0.25, "w_red_sea": 0.15}),
    (rules.attack_motive, (grid(seed=1), grid(seed=2), grid(seed=3), grid(seed=4),
                           grid(seed=5, low=-1)),
     {"base": -2.6, "w_hostility": 3.0, "w_escalation": 1.6, "w_emboldenment": 4.0,
      "w_patron": 1.5}),
    (rules.attack_restraint, (grid(seed=1), grid(seed=2), grid(seed=3)),
     {"w_pressure": 1.2, "w_deterrence": 1.5, "w_stake": 2.5}),
    (rules.attack_probability, (grid(seed=1, high=1.5), grid(seed=2, low=-3, high=3),
                                grid(seed=3, high=3)), {}),
    (rules.hostility_update, (grid(seed=1), grid(seed=2), grid(seed=3)),
     {"drift": 0.05, "appeasement_rate": 0.1}),
    (rules.persuasion_update, (grid(seed=1), grid(seed=2), grid(seed=3)), {"rate": 0.02}),
    (rules.emboldenment_update, (grid(seed=1), grid(seed=2), np.array([0, 1, 0, 1, 1, 0.0])),
     {"gain": 0.04, "decay": 0.03}),
    (rules.stake_update, (grid(seed=1), grid(seed=2), grid(seed=3)),
     {"rate": 0.03, "decay": 0.005}),
    (rules.capability_ceiling, (grid(seed=1), grid(seed=2)), {"gain": 1.0}),
    (rules.capability_update, (grid(seed=1, high=2), grid(seed=2, low=1, high=2),
                               grid(seed=3, high=0.1), grid(seed=4), grid(seed=5), grid(seed=6)),
     {"resupply_gain": 1.5, "erosion": 0.01}),
    (rules.tension_update, (grid(seed=1), grid(seed=2), grid(seed=3)),
     {"rate": 0.03, "decay": 0.05}),
    (rules.clash_probability, (grid(seed=1), grid(seed=2)), {"slope": 0.6}),
    (rules.intercept_probability, (grid(seed=1), grid(seed=2), grid(seed=3)), {"gain": 0.4}),
    (rules.mean_injuries, (grid(seed=1, high=10), grid(seed=2), grid(seed=3)),
     {"scale": 1.45, "protection_cut": 0.4}),
    (rules.consent_probability, (grid(seed=1), grid(seed=2)),
     {"base": 0.3, "per_pressure": 0.6, "per_appeasement": 0.3}),
    (rules.stability_update, (grid(seed=1), grid(seed=2, high=5), grid(seed=3, high=2),
                              grid(seed=4, high=0.05), grid(seed=5), grid(seed=6)),
     {"baseline": 0.75, "recovery": 0.05, "attack_cost": 0.001, "clash_cost": 0.03,
      "pressure_cost": 0.012, "pressure_safe": 0.4, "confrontation_cost": 0.005}),
    (rules.site_weight, (grid(seed=1, high=1000), grid(seed=2, high=900)), {}),
    (rules.haversine_km, (grid(seed=1, low=30, high=37), grid(seed=2, low=38, high=45),
                          grid(seed=3, low=30, high=37), grid(seed=4, low=38, high=45)), {}),
])
def test_rule_gives_same_result_on_floats_and_arrays(func, args, fixed):
    elementwise(func, *args, **fixed)


def test_stability_update_is_elementwise_in_pressure_too():
    pressure = np.array([0.0, 0.3, 0.4, 0.5, 0.9])
    fixed = {"baseline": 0.75, "recovery": 0.05, "attack_cost": 0.001, "clash_cost": 0.03,
             "pressure_cost": 0.012, "pressure_safe": 0.4, "confrontation_cost": 0.005}
    out = rules.stability_update(np.full(5, 0.7), 2, 0, 0.0, pressure, 0.0, **fixed)
    each = [rules.stability_update(0.7, 2, 0, 0.0, float(p), 0.0, **fixed) for p in pressure]
    np.testing.assert_allclose(out, each)
    assert out[0] == out[1] == out[2] > out[3] > out[4]  # no cost up to the safe level


# ---------------------------------------------------------------- boundaries


def test_clip01_bounds_and_passes_inside():
    assert rules.clip01(-0.5) == 0.0
    assert rules.clip01(1.5) == 1.0
    assert rules.clip01(0.25) == 0.25
    np.testing.assert_array_equal(rules.clip01(np.array([-2.0, 0.5, 3.0])), [0.0, 0.5, 1.0])


def test_logistic_symmetry_and_midpoint():
    assert rules.logistic(0.0) == 0.5
    x = np.linspace(-10, 10, 41)
    np.testing.assert_allclose(rules.logistic(x) + rules.logistic(-x), 1.0)
    assert rules.logistic(40.0) <= 1.0 and rules.logistic(-40.0) >= 0.0
    assert np.all(np.diff(rules.logistic(x)) > 0)


def test_regional_escalation_is_weighted_mean():
    def escalation(g, lb, r, weights):
        return rules.regional_escalation(g, lb, r, w_gaza=weights[0], w_lebanon=weights[1],
                                         w_red_sea=weights[2])

    assert escalation(1.0, 1.0, 1.0, (0.6, 0.25, 0.15)) == pytest.approx(1.0)
    assert escalation(1.0, 0.0, 0.0, (2.0, 1.0, 1.0)) == pytest.approx(0.5)
    assert escalation(0.4, 0.4, 0.4, (0.0, 0.0, 0.0)) == 0.0  # weights all zero


def test_attack_probability_in_unit_interval_and_capacity_scaled():
    motive = np.linspace(-20, 20, 9)
    p = rules.attack_probability(1.0, motive, 0.0)
    assert np.all((p >= 0) & (p <= 1))
    assert rules.attack_probability(0.0, 5.0, 0.0) == 0.0
    assert rules.attack_probability(2.0, 0.0, 0.0) == pytest.approx(0.5)  # capacity clipped
    assert rules.attack_probability(0.5, 1.0, 1.0) == pytest.approx(0.25)


def test_motive_rises_and_restraint_lowers_probability():
    kw = {"base": -2.6, "w_hostility": 3.0, "w_escalation": 1.6, "w_emboldenment": 4.0,
          "w_patron": 1.5}
    low = rules.attack_motive(0.2, 0.5, 0.8, 0.0, 0.0, **kw)
    high = rules.attack_motive(0.9, 0.5, 0.8, 0.0, 0.0, **kw)
    restrained = rules.attack_motive(0.9, 0.5, 0.8, 0.0, -1.0, **kw)
    assert high > low and restrained < high
    # the patron's signal acts in proportion to alignment
    aligned = high - rules.attack_motive(0.9, 0.5, 0.8, 0.0, -1.0, **kw)
    loose = (rules.attack_motive(0.9, 0.5, 0.2, 0.0, 0.0, **kw)
             - rules.attack_motive(0.9, 0.5, 0.2, 0.0, -1.0, **kw))
    assert aligned == pytest.approx(4 * loose)
    r = rules.attack_restraint(0.5, 0.2, 0.6, w_pressure=1.2, w_deterrence=1.5, w_stake=2.5)
    assert r == pytest.approx(1.2 * 0.5 + 1.5 * 0.2 + 2.5 * 0.6)


def test_hostility_falls_faster_under_appeasement_than_persuasion_at_equal_lever():
    lever, receptiveness = 0.6, 1.0  # even the most receptive faction
    h_app = h_per = h0 = 0.8
    h0_per = h0
    for _ in range(14):
        h_app = rules.hostility_update(h_app, h0, lever, drift=0.05, appeasement_rate=0.1)
        h0_per = rules.persuasion_update(h0_per, lever, receptiveness, rate=0.02)
        h_per = rules.hostility_update(h_per, h0_per, 0.0, drift=0.05, appeasement_rate=0.1)
    assert h_app < h_per < h0


def test_appeasement_quiet_is_temporary_and_persuasion_durable():
    h0 = 0.8
    h = h0
    for _ in range(30):
        h = rules.hostility_update(h, h0, 0.9, drift=0.05, appeasement_rate=0.1)
    for _ in range(120):  # appeasement stops: hostility returns to its underlying level
        h = rules.hostility_update(h, h0, 0.0, drift=0.05, appeasement_rate=0.1)
    assert h == pytest.approx(h0, abs=1e-2)
    base = h0
    for _ in range(30):
        base = rules.persuasion_update(base, 0.9, 0.7, rate=0.02)
    assert base < h0 * 0.75  # the underlying level itself has moved


def test_hostility_stays_in_unit_interval():
    h = rules.hostility_update(np.array([0.0, 1.0, 0.5]), np.array([1.0, 1.0, 0.0]), 1.0,
                               drift=1.0, appeasement_rate=1.0)
    assert np.all((h >= 0) & (h <= 1))


def test_persuasion_scales_with_receptiveness():
    receptiveness = np.array([0.0, 0.1, 0.5, 1.0])
    drop = 0.8 - rules.persuasion_update(0.8, 0.9, receptiveness, rate=0.02)
    assert drop[0] == 0.0
    np.testing.assert_allclose(drop[1:] / receptiveness[1:], drop[-1])  # proportional
    assert rules.persuasion_update(0.8, 0.0, 1.0, rate=0.02) == 0.8


def test_emboldenment_only_when_appeased_while_attacking():
    assert rules.emboldenment_update(0.0, 0.9, 0.0, gain=0.04, decay=0.03) == 0.0
    assert rules.emboldenment_update(0.0, 0.0, 1.0, gain=0.04, decay=0.03) == 0.0
    assert rules.emboldenment_update(0.0, 0.9, 1.0, gain=0.04, decay=0.03) == pytest.approx(0.036)
    assert rules.emboldenment_update(0.5, 0.0, 0.0, gain=0.04, decay=0.03) == pytest.approx(0.485)
    assert rules.emboldenment_update(1.0, 1.0, 1.0, gain=1.0, decay=0.0) <= 1.0


def test_stake_grows_with_accommodation_in_proportion_to_stake():
    inside = rules.stake_update(0.6, 0.6, 1.0, rate=0.03, decay=0.005) - 0.6
    hardliner = rules.stake_update(0.1, 0.1, 1.0, rate=0.03, decay=0.005) - 0.1
    assert inside > hardliner > 0
    assert rules.stake_update(0.7, 0.5, 0.0, rate=0.03, decay=0.005) < 0.7  # relaxes to baseline
    assert rules.stake_update(0.0, 0.0, 1.0, rate=0.03, decay=0.005) == 0.0
    assert rules.stake_update(1.0, 1.0, 1.0, rate=1.0, decay=0.0) <= 1.0


@pytest.mark.parametrize("resupply", [0.01, 0.03, 0.1, 0.3])
def test_capability_never_rises_above_ceiling_from_regrowth(resupply):
    ceiling = rules.capability_ceiling(0.8, 1.0, gain=1.0)
    assert ceiling == pytest.approx(1.8)
    c = 0.1
    for _ in range(2000):
        c = rules.capability_update(c, ceiling, resupply, 0.0, 0.8, 1.0, resupply_gain=1.5, erosion=0.01)
        assert c <= ceiling + 1e-12

def test_capability_never_overshoots_ceiling_even_at_schema_extremes():
    ceiling = rules.capability_ceiling(0.8, 1.0, gain=1.0)
    c = rules.capability_update(0.1, ceiling, 1.0, 0.0, 0.8, 1.0, resupply_gain=1.5, erosion=0.01)
    assert c <= ceiling + 1e-12


def test_capability_above_ceiling_gets_no_regrowth():
    caps = np.linspace(0.0, 3.0, 13)
    out = rules.capability_update(caps, 1.0, 0.5, 0.0, 0.5, 0.5, resupply_gain=1.5, erosion=0.01)
    assert np.all(out <= np.maximum(caps, 1.0) + 1e-12)
    np.testing.assert_array_equal(out[caps >= 1.0], caps[caps >= 1.0])  # above: no regrowth


def test_capability_eroded_by_pressure_and_faster_regrowth_with_accommodation():
    base = rules.capability_update(0.5, 1.0, 0.03, 0.0, 0.5, 0.0, resupply_gain=1.5, erosion=0.01)
    pressed = rules.capability_update(0.5, 1.0, 0.03, 1.0, 0.5, 0.0, resupply_gain=1.5, erosion=0.01)
    accommodated = rules.capability_update(0.5, 1.0, 0.03, 0.0, 0.5, 1.0, resupply_gain=1.5, erosion=0.01)
    assert pressed == pytest.approx(base - 0.005)
    assert accommodated > base


def test_tension_rises_with_pressure_and_less_for_integrated_factions():
    assert rules.tension_update(0.0, 0.0, 0.0, rate=0.03, decay=0.05) == 0.0
    outsider = rules.tension_update(0.0, 1.0, 0.0, rate=0.03, decay=0.05)
    insider = rules.tension_update(0.0, 1.0, 1.0, rate=0.03, decay=0.05)
    assert outsider == pytest.approx(0.03) and insider == pytest.approx(0.015)
    assert rules.tension_update(0.5, 0.0, 0.0, rate=0.03, decay=0.05) == pytest.approx(0.475)


def test_clash_probability_zero_at_or_below_tolerance_and_clipped():
    tension = np.array([0.0, 0.3, 0.5, 0.6, 5.0])
    p = rules.clash_probability(tension, 0.5, slope=0.6)
    np.testing.assert_allclose(p, [0.0, 0.0, 0.0, 0.06, 1.0])
    assert rules.clash_probability(0.49, 0.5, slope=100.0) == 0.0


def test_intercept_probability_clipped_and_rising_with_posture():
    assert rules.intercept_probability(0.9, 1.0, 1.0, gain=0.4) == 1.0
    assert rules.intercept_probability(0.5, 0.8, 0.0, gain=0.4) == pytest.approx(0.4)
    assert rules.intercept_probability(0.5, 0.8, 1.0, gain=0.4) == pytest.approx(0.56)
    assert rules.intercept_probability(0.0, 1.0, 1.0, gain=0.4) == 0.0


def test_mean_injuries_falls_with_hardening_and_posture():
    assert rules.mean_injuries(6.0, 0.0, 0.0, scale=1.0, protection_cut=0.4) == 6.0
    assert rules.mean_injuries(6.0, 1.0, 0.0, scale=1.0, protection_cut=0.4) == 0.0
    assert rules.mean_injuries(6.0, 0.5, 1.0, scale=2.0,
                               protection_cut=0.4) == pytest.approx(6.0 * 0.5 * 0.6 * 2.0)


def test_consent_probability_clipped():
    def consent(p, a, base, per_pressure):
        return rules.consent_probability(p, a, base=base, per_pressure=per_pressure,
                                         per_appeasement=0.3)

    assert consent(1.0, 0.0, 0.3, 0.9) == 1.0
    assert consent(0.0, 1.0, 0.1, 0.6) == 0.0
    assert consent(0.5, 0.5, 0.3, 0.6) == pytest.approx(0.45)


@pytest.mark.parametrize(("policy", "attacks", "injuries", "deaths", "expected"), [
    ("none", 100, 100, 5, False),
    ("proportional", 11, 7, 0, False),
    ("proportional", 12, 0, 0, True),
    ("proportional", 0, 8, 0, True),
    ("proportional", 0, 0, 1, True),
    ("escalatory", 6, 0, 0, True),
    ("escalatory", 0, 4, 0, True),
    ("escalatory", 5, 3, 0, False),
    ("escalatory", 0, 0, 1, True),
])
def test_strike_triggered_per_policy(policy, attacks, injuries, deaths, expected):
    assert rules.strike_triggered(policy, attacks, injuries, deaths, attacks_threshold=12.0,
                                  injuries_threshold=8.0, deaths_threshold=1) is expected


def test_stability_update_clipped_and_recovers():
    kw = {"baseline": 0.75, "recovery": 0.05, "attack_cost": 0.001, "clash_cost": 0.03,
          "pressure_cost": 0.012, "pressure_safe": 0.4, "confrontation_cost": 0.005}
    assert rules.stability_update(0.5, 0, 0, 0.0, 0.0, 0.0, **kw) == pytest.approx(0.5125)
    assert rules.stability_update(0.0, 0, 100, 0.0, 0.0, 0.0, **kw) == 0.0
    assert rules.stability_update(1.0, 0, 0, 0.0, 0.0, 0.0,
                                  **{**kw, "baseline": 2.0, "recovery": 1.0}) == 1.0


def test_haversine_known_distance():
    assert rules.haversine_km(33.0, 44.0, 33.0, 44.0) == pytest.approx(0.0)
    # one degree of latitude is about 111.2 km on a sphere of radius 6371 km
    assert rules.haversine_km(33.0, 44.0, 34.0, 44.0) == pytest.approx(111.19, abs=0.05)


# ------------------------------------------------------------ casualties


def test_people_hurt_is_the_negative_binomial_and_heavy_tailed():
    from scipy import stats

    u = np.random.default_rng(RNG_SEED).random(40_000)
    mean, k = 3.0, 0.2
    hurt = np.array([rules.people_hurt(x, mean, dispersion=k) for x in u])
    assert (hurt == 0).mean() > 0.5  # most hits injure no one
    assert hurt.max() > 10 * hurt.mean()  # a few injure many
    expected = stats.nbinom(k, k / (k + mean))
    se = math.sqrt(expected.var() / len(u))
    assert hurt.mean() == pytest.approx(mean, abs=4 * se)
    for x in (0, 1, 2, 5, 20):  # the distribution, not only the mean
        assert (hurt <= x).mean() == pytest.approx(expected.cdf(x), abs=0.01)


def test_people_hurt_rises_with_the_mean_for_the_same_uniform():
    u = np.random.default_rng(1).random(500)
    low = np.array([rules.people_hurt(x, 2.0, dispersion=0.2) for x in u])
    high = np.array([rules.people_hurt(x, 4.0, dispersion=0.2) for x in u])
    assert np.all(high >= low) and high.sum() > low.sum()  # paired draws stay paired
    assert rules.people_hurt(0.99, 0.0, dispersion=0.2) == 0


def test_deaths_among_is_binomial():
    from scipy import stats

    u = np.random.default_rng(2).random(40_000)
    deaths = np.array([rules.deaths_among(x, 20, death_rate=0.05) for x in u])
    assert deaths.mean() == pytest.approx(1.0, abs=0.03)
    assert (deaths == 0).mean() == pytest.approx(stats.binom(20, 0.05).pmf(0), abs=0.01)
    assert rules.deaths_among(0.5, 0, death_rate=0.5) == 0
    assert rules.deaths_among(0.999, 7, death_rate=1.0) == 7
    assert all(rules.deaths_among(x, 5, death_rate=0.3) <= 5 for x in (0.0, 0.5, 0.9999999))


@pytest.mark.parametrize("func", [rules.hostility_update, rules.tension_update,
                                  rules.stability_update, rules.attack_motive])
def test_coefficients_are_keyword_only(func):
    import inspect

    params = inspect.signature(func).parameters.values()
    assert any(p.kind is p.KEYWORD_ONLY for p in params)
    with pytest.raises(TypeError):
        func(*([0.5] * len(params)))
