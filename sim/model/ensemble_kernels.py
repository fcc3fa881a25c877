"""Compiled loops of the ensemble engine: the factions' day, its uniforms, the running totals.

The factions' part of the day (:meth:`sim.model.ensemble.Ensemble.attack`) goes row by
row: each faction feels the levers, then the launch teams act one after another in the
agent engine's order (faction, then team), then the factions learn. So a row is the
agent engine's sequence of decisions with the agent engine's arithmetic: the uniforms
of :mod:`sim.model.streams` (SplitMix64 at each coordinate), the target choice of
``LaunchTeam.choose_target``, and the rules of :mod:`sim.model.rules` (the levers'
updates, ``attack_probability``, ``people_hurt``, ``deaths_among``,
``binomial_quantile``, ``diagnosis_lag``...), written out here operation for operation,
in the same order and with the same C library functions as Python's ``math`` (no
fast-math: the compiler may not reorder or fuse floating-point operations). The rules
module stays the readable reference; ``tests/model/test_ensemble.py`` holds the two
engines equal, table for table. ``error_model="numpy"`` only drops the checks for a
division by zero, which no value within the schema's bounds reaches.

Compiled with numba on first use and cached on disk (``cache=True``): a process that
finds the cache loads the machine code instead of compiling it (about 0.7 s against
10-20 s; benchmarks/README.md).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.model.rules import MAX_CASUALTIES

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_UNIT = 2.0 ** -53
# slots of a launch team's day (sim.model.streams.TEAM_DRAWS)
ATTACK, WEAPON, TARGET, FOIL, INTERCEPT, HIT, HURT, DEATH, LOCATION, TBI, LAG = range(11)
SYRIA = 1
EVENT_FIELDS = 8
"""An attempt's record: row, kind (0 reached, 1 foiled), faction, site, weapon, outcome
(0 intercepted, 1 hit, 2 no effect, 3 foiled), injuries, deaths."""


@njit(cache=True, inline="always", error_model="numpy")
def uniform(seed: np.uint64, where: np.uint64) -> float:
    """The uniform at coordinate ``where`` of ``seed`` (:func:`sim.model.streams.uniforms`)."""
    z = seed + where * _GAMMA
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return float(z >> _S11) * _UNIT


@njit(cache=True, error_model="numpy")
def binomial_quantile(u: float, n: int, p: float) -> int:
    """:func:`sim.model.rules.binomial_quantile`."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    pmf = (1.0 - p) ** float(n)
    odds = p / (1.0 - p)
    cdf, k = pmf, 0
    while u >= cdf and k < n and pmf > 0.0:
        pmf *= (n - k) / (k + 1) * odds
        k += 1
        cdf += pmf
    return k


@njit(cache=True, error_model="numpy")
def people_hurt(u: float, mean: float, dispersion: float) -> int:
    """:func:`sim.model.rules.people_hurt`."""
    if mean <= 0.0:
        return 0
    q = mean / (dispersion + mean)
    pmf = (1.0 - q) ** dispersion
    cdf, x = pmf, 0
    while u >= cdf and pmf > 0.0 and x < MAX_CASUALTIES:
        pmf *= (x + dispersion) / (x + 1) * q
        x += 1
        cdf += pmf
    return x


@njit(cache=True, inline="always", error_model="numpy")
def _search(cum: np.ndarray, start: int, length: int, x: float) -> int:
    """``np.searchsorted(cum[start:start + length], x, side="right")``."""
    lo, hi = 0, length
    while lo < hi:
        mid = (lo + hi) // 2
        if x < cum[start + mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True, inline="always", error_model="numpy")
def clip01(x: float) -> float:
    """:func:`sim.model.rules.clip01` of one number."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


LEVER_COEFFICIENTS = (
    "persuasion_rate", "hostility_drift", "appeasement_rate", "stake_rate", "stake_decay",
    "accommodation_capability_gain", "accommodation_resupply_gain", "pressure_erosion",
    "tension_rate", "tension_decay", "deterrence_decay", "substitution", "relocation_rate",
    "base_propensity", "w_hostility", "w_escalation", "w_emboldenment", "w_patron",
    "w_pressure", "w_deterrence", "w_stake", "avoidance", "emboldenment_gain",
    "emboldenment_decay", "foil_rate", "attack_cost", "force_protection_intercept",
    "casualty_scale", "force_protection_injury", "casualty_dispersion", "death_rate",
    "death_clustering", "hardening_gain", "tbi_share", "tbi_lag_days")
"""Per-row coefficients of :func:`team_day`, in the order of the constants below."""
(PERSUASION_RATE, DRIFT, APPEASEMENT_RATE, STAKE_RATE, STAKE_DECAY, CAPABILITY_GAIN,
 RESUPPLY_GAIN, EROSION, TENSION_RATE, TENSION_DECAY, DETERRENCE_DECAY, SUBSTITUTION,
 RELOCATION_RATE, BASE, W_HOSTILITY, W_ESCALATION, W_EMBOLDENMENT, W_PATRON, W_PRESSURE,
 W_DETERRENCE, W_STAKE, AVOIDANCE, EMBOLDENMENT_GAIN, EMBOLDENMENT_DECAY, FOIL_RATE,
 ATTACK_COST, FP_INTERCEPT, CASUALTY_SCALE, FP_INJURY, DISPERSION, DEATH_RATE, CLUSTERING,
 HARDENING_GAIN, TBI_SHARE, TBI_LAG) = range(len(LEVER_COEFFICIENTS))


@njit(cache=True, error_model="numpy")
def team_day(seeds, offset, day, days, c, f, accommodation, appeasement, persuasion,
             pressure, embarrassment, escalation, signal, complying, pause, world, sites,
             arrivals, today, columns, site_column, faction_column, weapon_column, launched,
             events):
    """The factions' part of the day, row by row: the levers, then
    every launch team, one after another in the agent engine's order, then what the
    factions learn (``Faction.learn``); returns the attempts recorded in ``events``.

    ``f`` holds the (rows, factions) fields baseline_hostility, hostility, stake,
    baseline_stake, capability, resupply, tension, deterrence, syria_share,
    baseline_syria_share, receptiveness, alignment, emboldenment; ``c`` the per-row
    coefficients of :data:`LEVER_COEFFICIENTS`. ``world`` holds the teams' day-1
    coordinates, faction and index, the factions' teams, which sides have targets, and
    the plans: ``plans[f, side]`` is (first plan, number of plans) in
    ``plan_cum``/``plan_weapon``; ``parts[p]`` is (start, length) of plan ``p``'s sites in
    Iraq, then elsewhere, in ``site_list``/``site_cum``. ``sites`` holds the per-row site
    and weapon values and the command's posture. ``columns`` are today's columns
    attacks, intercepted, injuries, deaths, foiled. ``events`` gets one line per attempt
    when it has room for them.
    """
    (counters, team_faction, team_index, teams, reachable, plans, plan_cum, plan_weapon,
     parts, site_list, site_cum) = world
    air_defence, hardening, interceptability, hit_chance, lethality, posture = sites
    (base_hostility, hostility, stake, base_stake, capability, resupply, tension, deterrence,
     share, base_share, receptiveness, alignment, emboldenment) = f
    c_attacks, c_intercepted, c_injuries, c_deaths, c_foiled = (
        columns[0], columns[1], columns[2], columns[3], columns[4])
    record = events.shape[0] > 0
    count = 0
    n_sites, n_factions = hardening.shape[1], capability.shape[1]
    home, syria, at_home = np.empty(n_factions), np.empty(n_factions), np.empty(n_factions)
    capacity, ready = np.empty(n_factions), np.zeros((n_factions, 2), dtype=np.bool_)
    for r in range(len(seeds)):
        # the levers (Faction.respond_to_levers), then each faction's chance per launch
        # team from home and from Syria (attack_chances) and its weight on sites in Iraq
        # (iraq_site_factor): each formula the rule's, operation for operation
        acc, app, per, pre, emb = (accommodation[r], appeasement[r], persuasion[r],
                                   pressure[r], embarrassment[r])
        pushed = -math.expm1(-(c[r, SUBSTITUTION] * (pre + emb)))  # the same for every faction
        for i in range(hostility.shape[1]):
            b = base_hostility[r, i] * (1.0 - c[r, PERSUASION_RATE] * per * receptiveness[r, i])
            base_hostility[r, i] = b
            h = hostility[r, i]
            h = clip01(h + c[r, DRIFT] * (b - h) - c[r, APPEASEMENT_RATE] * app * h)
            hostility[r, i] = h
            s = stake[r, i]
            s = clip01(s + c[r, STAKE_RATE] * acc * s * (1.0 - s)
                        + c[r, STAKE_DECAY] * (base_stake[r, i] - s))
            stake[r, i] = s
            ceiling = 1.0 + c[r, CAPABILITY_GAIN] * s * acc
            cap = capability[r, i]
            room = ceiling - cap
            regrowth = clip01(resupply[r, i] * (1.0 + c[r, RESUPPLY_GAIN] * s * acc)) * (
                room if room > 0.0 else 0.0)
            cap = cap + regrowth - c[r, EROSION] * pre * cap
            capability[r, i] = cap
            tn = tension[r, i]
            tension[r, i] = tn + c[r, TENSION_RATE] * pre * (1.0 - 0.5 * s) - c[r, TENSION_DECAY] * tn
            d = deterrence[r, i] * (1.0 - c[r, DETERRENCE_DECAY])
            deterrence[r, i] = d
            bs = base_share[r, i]
            target = bs + (1.0 - bs) * pushed
            share[r, i] = share[r, i] + c[r, RELOCATION_RATE] * (target - share[r, i])
            a = alignment[r, i]
            motive = (c[r, BASE] + c[r, W_HOSTILITY] * h + c[r, W_ESCALATION] * escalation[r] * a
                      + c[r, W_EMBOLDENMENT] * emboldenment[r, i] + c[r, W_PATRON] * signal[r] * a)
            capacity[i] = clip01(cap)
            restraint = c[r, W_PRESSURE] * pre + c[r, W_DETERRENCE] * d + c[r, W_STAKE] * s
            home[i] = motive - restraint  # a logit until a team needs the chance
            restraint = c[r, W_PRESSURE] * 0.0 + c[r, W_DETERRENCE] * d + c[r, W_STAKE] * s
            syria[i] = motive - restraint
            ready[i, 0] = ready[i, 1] = False
            at_home[i] = clip01(1.0 - emb * (c[r, AVOIDANCE] + (1.0 - c[r, AVOIDANCE]) * s))
        seed = seeds[r]
        foil = c[r, FOIL_RATE] * pressure[r]
        for t in range(len(team_faction)):
            i = team_faction[t]
            if teams[r, i] <= team_index[t] or (complying[r, i] and pause[r]):
                continue
            side = 1 if uniform(seed, counters[t, LOCATION] + offset) < share[r, i] else 0
            logits = syria if side == SYRIA else home
            if not ready[i, side]:  # attack_probability, once a team of the faction asks
                logits[i] = capacity[i] * (1.0 / (1.0 + math.exp(-logits[i])))
                ready[i, side] = True
            chance = logits[i]
            if not (uniform(seed, counters[t, ATTACK] + offset) < chance) or not reachable[i, side]:
                continue
            # the target (LaunchTeam.choose_target)
            first, n_plans = plans[i, side, 0], plans[i, side, 1]
            p = first + min(_search(plan_cum, first, n_plans,
                                    uniform(seed, counters[t, WEAPON] + offset)
                                    * plan_cum[first + n_plans - 1]), n_plans - 1)
            w = plan_weapon[p]
            i0, ni, o0, no = parts[p, 0], parts[p, 1], parts[p, 2], parts[p, 3]
            factor = at_home[i]
            in_iraq = site_cum[i0 + ni - 1] * factor if ni > 0 else 0.0
            elsewhere = site_cum[o0 + no - 1] if no > 0 else 0.0
            if in_iraq + elsewhere <= 0.0:
                factor = 1.0
                in_iraq = site_cum[i0 + ni - 1]
            x = uniform(seed, counters[t, TARGET] + offset) * (in_iraq + elsewhere)
            site = 0
            if x < in_iraq:
                if ni > 0:
                    site = site_list[i0 + min(_search(site_cum, i0, ni, x / factor), ni - 1)]
            elif no > 0:
                site = site_list[o0 + min(_search(site_cum, o0, no, x - in_iraq), no - 1)]
            # foiled before launch, intercepted, no effect, or a hit (BaseSite.receive)
            outcome, hurt_now, dead = 3, 0, 0
            if side != SYRIA and uniform(seed, counters[t, FOIL] + offset) < foil:
                today[c_foiled, r] += 1
            else:
                left = capability[r, i] - c[r, ATTACK_COST]
                capability[r, i] = left if left > 0.0 else 0.0
                launched[r, i] += 1
                fp = posture[r]
                stop = clip01(air_defence[r, site] * interceptability[r, w]
                               * (1.0 + c[r, FP_INTERCEPT] * fp))
                if uniform(seed, counters[t, INTERCEPT] + offset) < stop:
                    outcome = 0
                    today[c_intercepted, r] += 1
                elif uniform(seed, counters[t, HIT] + offset) < hit_chance[r, w]:
                    outcome = 1
                    mean = (c[r, CASUALTY_SCALE] * lethality[r, w] * (1.0 - hardening[r, site])
                            * (1.0 - c[r, FP_INJURY] * fp))
                    hurt = people_hurt(uniform(seed, counters[t, HURT] + offset), mean, c[r, DISPERSION])
                    rate, cluster = c[r, DEATH_RATE], c[r, CLUSTERING]
                    u = uniform(seed, counters[t, DEATH] + offset)
                    if hurt > 0 and rate > 0.0 and u < cluster:
                        dead = binomial_quantile(u / cluster, hurt, min(1.0, rate / cluster))
                    hurt_now = hurt - dead
                    if hurt > 0:  # the command hardens every site (hardening_update)
                        gain = c[r, HARDENING_GAIN]
                        for k in range(n_sites):
                            hardening[r, k] = hardening[r, k] + gain * (1.0 - hardening[r, k])
                    if hurt_now > 0:  # brain injuries are diagnosed late (diagnosis_lag)
                        brain = binomial_quantile(uniform(seed, counters[t, TBI] + offset), hurt_now,
                                                  c[r, TBI_SHARE])
                        lag = 0
                        if c[r, TBI_LAG] > 0.0:
                            lag = int(math.log1p(-uniform(seed, counters[t, LAG] + offset))
                                      / math.log1p(-(1.0 / (1.0 + c[r, TBI_LAG]))))
                        arrivals[day, r] += hurt_now - brain
                        if brain > 0 and day + lag <= days:
                            arrivals[day + lag, r] += brain
                    today[c_injuries, r] += hurt_now
                    today[c_deaths, r] += dead
                else:
                    outcome = 2
                today[c_attacks, r] += 1
                today[site_column[site], r] += 1
                today[faction_column[i], r] += 1
                today[weapon_column[w], r] += 1
            if record:
                line = events[count]
                line[0], line[1], line[2], line[3] = r, 1 if outcome == 3 else 0, i, site
                line[4], line[5], line[6], line[7] = w, outcome, hurt_now, dead
                count += 1
        for i in range(n_factions):  # emboldenment_update: attacks pay when appeased
            e = emboldenment[r, i]
            attacked = 1.0 if launched[r, i] > 0 else 0.0
            emboldenment[r, i] = clip01(e + c[r, EMBOLDENMENT_GAIN] * appeasement[r] * attacked
                                         * (1.0 - e) - c[r, EMBOLDENMENT_DECAY] * e)
    return count


@njit(cache=True, error_model="numpy")
def close_counts(day, today, attacks, injuries, faction_column, cum_attacks, cum_injuries,
                 cum_by_faction, totals, first28, min_stability, stability,
                 confrontation_days, confrontation):
    """A day's counts into the running totals of :class:`sim.model.ensemble_tables.Tally`."""
    rows = today.shape[1]
    for r in range(rows):
        cum_attacks[day, r] = cum_attacks[day - 1, r] + today[attacks, r]
        cum_injuries[day, r] = cum_injuries[day - 1, r] + today[injuries, r]
        if stability[r] < min_stability[r]:
            min_stability[r] = stability[r]
        confrontation_days[r] += confrontation[r]
    for i in range(len(faction_column)):
        for r in range(rows):
            cum_by_faction[day, i, r] = cum_by_faction[day - 1, i, r] + today[faction_column[i], r]
    for k in range(today.shape[0]):
        for r in range(rows):
            totals[k, r] += today[k, r]
            if day <= 28:
                first28[k, r] += today[k, r]


@njit(cache=True, error_model="numpy")
def calm_spell(cumulative, weekly, calm_attacks, calm_days):
    """:func:`sim.model.outcomes.days_to_deescalation` of every row: the first day of the
    first ``calm_days`` days in a row, after the first attack, whose week has at most
    ``calm_attacks`` attacks (NaN without attacks or without such a spell). Arrays are
    (days + 1, rows) cumulative attacks and (days, rows) weekly attacks.
    """
    days, rows = weekly.shape
    out = np.full(rows, np.nan)
    first = np.full(rows, -1)
    run = np.zeros(rows, dtype=np.int64)
    done = np.zeros(rows, dtype=np.bool_)
    for d in range(days):
        for r in range(rows):
            if first[r] < 0 and cumulative[d + 1, r] > cumulative[d, r]:
                first[r] = d
    for d in range(days):
        for r in range(rows):
            if done[r]:
                continue
            if first[r] >= 0 and d > first[r] and weekly[d, r] <= calm_attacks:
                run[r] += 1
            else:
                run[r] = 0
            if run[r] == calm_days and first[r] >= 0:
                out[r] = d - calm_days + 2
                done[r] = True
    return out
