"""Compiled loops of the ensemble engine: the factions' day, its uniforms, the running totals.

The factions' part of the day (:meth:`sim.model.ensemble.Ensemble.attack`) goes row by
row: each faction feels the levers, then the launch teams act one after another in the
agent engine's order (faction, then team), and each faction learns once its teams are
done (no other faction's team reads what it learns that day). So a row is the
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


STATE_FIELDS = ("baseline_hostility", "hostility", "stake", "baseline_stake", "capability",
                "resupply", "tension", "deterrence", "syria_share", "baseline_syria_share",
                "receptiveness", "alignment", "emboldenment", "tolerance")
"""A faction's state in a row, side by side: ``state[r, i]`` holds faction ``i``'s
fields in row ``r``, in the order of the constants below (one faction's fields in a
few cache lines, each at a fixed offset)."""
(BASE_HOSTILITY, HOSTILITY, STAKE, BASE_STAKE, CAPABILITY, RESUPPLY, TENSION, DETERRENCE,
 SHARE, BASE_SHARE, RECEPTIVENESS, ALIGNMENT, EMBOLDENMENT, TOLERANCE) = range(
    len(STATE_FIELDS))

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

MARGIN = 1e-9
"""Relative room :func:`chance_above` leaves above the chance, far more than the rounding
of either side (a few units in the last place, below 1e-15)."""


@njit(cache=True, inline="always", error_model="numpy")
def chance_above(capacity: float, logit: float) -> float:
    """A number no smaller than ``attack_probability``'s ``capacity * logistic(logit)``
    as computed with ``exp``, found without ``exp``: a uniform at or above it cannot be
    below the chance, so the team does not attack whatever its chance turns out to be.

    For y = -logit >= 0, e^y = (e^(y/4))^4 >= T(y/4)^4 with T the Taylor polynomial of
    ``exp`` to degree 5 (every term positive), so logistic(logit) = 1 / (1 + e^y) is at
    most 1 / (1 + T(y/4)^4): within 0.3% of it for y up to 4 (a chance above 1.8% of the
    capacity), 7% at y = 8. A positive logit (a chance above half the capacity) gets 2,
    and a NaN gets NaN, which no uniform is at or above.
    """
    if not logit <= 0.0:
        return 2.0 if logit > 0.0 else math.nan
    z = -logit * 0.25
    taylor = 1.0 + z * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z / 120.0))))
    square = taylor * taylor
    return capacity * (1.0 + MARGIN) / (1.0 + square * square)


@njit(cache=True, inline="always", error_model="numpy")
def _respond_to_levers(r, c, state, acc, app, per, pre, emb, escalation, signal, home, syria,
                       capacity, above):
    """``Faction.respond_to_levers`` of every faction of row ``r``, then each faction's
    logit of attacking from home and from Syria (``attack_chances``: a logit until a team
    needs the chance), its capacity, and :func:`chance_above` its chance from either side.

    Each formula is the rule's, operation for operation. The products taken out of the
    faction loop are the leftmost factors of the rules' products (``rate * lever * x``
    multiplies ``rate * lever`` first), and the Syrian restraint's pressure term is the
    rule's ``w_pressure * 0.0``.
    """
    pushed = -math.expm1(-(c[r, SUBSTITUTION] * (pre + emb)))  # syria_share_target's push
    persuade, appease, take_up = (c[r, PERSUASION_RATE] * per, c[r, APPEASEMENT_RATE] * app,
                                  c[r, STAKE_RATE] * acc)
    erode, strain = c[r, EROSION] * pre, c[r, TENSION_RATE] * pre
    kept = 1.0 - c[r, DETERRENCE_DECAY]
    regional, patron = c[r, W_ESCALATION] * escalation, c[r, W_PATRON] * signal
    held_home, held_syria = c[r, W_PRESSURE] * pre, c[r, W_PRESSURE] * 0.0
    for i in range(state.shape[1]):
        b = state[r, i, BASE_HOSTILITY] * (1.0 - persuade * state[r, i, RECEPTIVENESS])
        state[r, i, BASE_HOSTILITY] = b
        h = state[r, i, HOSTILITY]
        h = clip01(h + c[r, DRIFT] * (b - h) - appease * h)
        state[r, i, HOSTILITY] = h
        s = state[r, i, STAKE]
        s = clip01(s + take_up * s * (1.0 - s) + c[r, STAKE_DECAY] * (state[r, i, BASE_STAKE] - s))
        state[r, i, STAKE] = s
        ceiling = 1.0 + c[r, CAPABILITY_GAIN] * s * acc
        cap = state[r, i, CAPABILITY]
        room = ceiling - cap
        regrowth = clip01(state[r, i, RESUPPLY] * (1.0 + c[r, RESUPPLY_GAIN] * s * acc)) * (
            room if room > 0.0 else 0.0)
        cap = cap + regrowth - erode * cap
        state[r, i, CAPABILITY] = cap
        tension = state[r, i, TENSION]
        state[r, i, TENSION] = tension + strain * (1.0 - 0.5 * s) - c[r, TENSION_DECAY] * tension
        d = state[r, i, DETERRENCE] * kept
        state[r, i, DETERRENCE] = d
        base_share = state[r, i, BASE_SHARE]
        target = base_share + (1.0 - base_share) * pushed
        share = state[r, i, SHARE]
        state[r, i, SHARE] = share + c[r, RELOCATION_RATE] * (target - share)
        a = state[r, i, ALIGNMENT]
        motive = (c[r, BASE] + c[r, W_HOSTILITY] * h + regional * a
                  + c[r, W_EMBOLDENMENT] * state[r, i, EMBOLDENMENT] + patron * a)
        home[i] = motive - (held_home + c[r, W_DETERRENCE] * d + c[r, W_STAKE] * s)
        syria[i] = motive - (held_syria + c[r, W_DETERRENCE] * d + c[r, W_STAKE] * s)
        capacity[i] = clip01(cap)
        above[i] = chance_above(capacity[i], max(home[i], syria[i]))


@njit(cache=True, inline="always", error_model="numpy")
def _hurt_and_dead(u_hurt, u_death, mean, dispersion, death_rate, clustering):
    """A hit's people hurt (``people_hurt``) and, among them, the dead (``deaths_among``)."""
    hurt = people_hurt(u_hurt, mean, dispersion)
    dead = 0
    if hurt > 0 and death_rate > 0.0 and u_death < clustering:
        dead = binomial_quantile(u_death / clustering, hurt, min(1.0, death_rate / clustering))
    return hurt, dead


@njit(cache=True, inline="always", error_model="numpy")
def _brain_injuries(u_tbi, u_lag, alive, tbi_share, lag_days):
    """Brain injuries among the ``alive`` hurt and the days until they are diagnosed
    (``diagnosis_lag``).
    """
    brain = binomial_quantile(u_tbi, alive, tbi_share)
    lag = 0
    if lag_days > 0.0:
        lag = int(math.log1p(-u_lag) / math.log1p(-(1.0 / (1.0 + lag_days))))
    return brain, lag


@njit(cache=True, error_model="numpy")
def team_day(seeds, offset, day, days, c, state, levers, escalation, signal, complying, pause,
             world, sites, arrivals, today, columns, site_column, faction_column, weapon_column,
             events):
    """The factions' part of the day, row by row: the levers, then every launch team,
    one after another in the agent engine's order, each faction learning
    (``Faction.learn``) once its teams are done; returns the attempts recorded in
    ``events``.

    ``state`` holds the factions' fields (:data:`STATE_FIELDS`), ``c`` the per-row
    coefficients of :data:`LEVER_COEFFICIENTS`, ``levers`` the government's
    accommodation, appeasement, persuasion, pressure and embarrassment. ``world`` holds
    the teams' day-1 coordinates (faction ``i``'s teams from ``first_team[i]`` on), the
    factions' teams, which sides have targets, and the plans: ``plans[f, side]`` is
    (first plan, number of plans) in ``plan_cum``/``plan_weapon``; ``parts[p]`` is
    (start, length) of plan ``p``'s sites in Iraq, then elsewhere, in
    ``site_list``/``site_cum``. ``sites`` holds the per-row site and weapon values and
    the command's posture. ``columns`` are today's columns attacks, intercepted,
    injuries, deaths, foiled. ``events`` gets one line per attempt when it has room for
    them.

    A team whose attack uniform is at or above :func:`chance_above` of its faction's
    chances does not attack from either side: it needs neither its side of the border
    nor the chance (each chance's ``exp`` is taken once a team of the faction on that
    side is below the bound, and only then).
    """
    (counters, first_team, teams, reachable, plans, plan_cum, plan_weapon, parts, site_list,
     site_cum) = world
    air_defence, hardening, interceptability, hit_chance, lethality, posture = sites
    accommodation, appeasement, persuasion, pressure, embarrassment = levers
    c_attacks, c_intercepted, c_injuries, c_deaths, c_foiled = (
        columns[0], columns[1], columns[2], columns[3], columns[4])
    record = events.shape[0] > 0
    count = 0
    n_factions = state.shape[1]
    home, syria = np.empty(n_factions), np.empty(n_factions)
    capacity, above = np.empty(n_factions), np.empty(n_factions)
    ready = np.zeros((n_factions, 2), dtype=np.bool_)
    for r in range(len(seeds)):
        _respond_to_levers(r, c, state, accommodation[r], appeasement[r], persuasion[r],
                           pressure[r], embarrassment[r], escalation[r], signal[r], home, syria,
                           capacity, above)
        seed = seeds[r]
        foil = c[r, FOIL_RATE] * pressure[r]
        embolden = c[r, EMBOLDENMENT_GAIN] * appeasement[r]
        for i in range(n_factions):
            ready[i, 0] = ready[i, 1] = False
            launched = 0
            active = 0 if complying[r, i] and pause[r] else teams[r, i]
            for t in range(first_team[i], first_team[i] + active):
                u_attack = uniform(seed, counters[t, ATTACK] + offset)
                if u_attack >= above[i]:
                    continue
                side = 1 if uniform(seed, counters[t, LOCATION] + offset) < state[r, i, SHARE] else 0
                logits = syria if side == SYRIA else home
                if not ready[i, side]:  # attack_probability, once a team of the faction asks
                    logits[i] = capacity[i] * (1.0 / (1.0 + math.exp(-logits[i])))
                    ready[i, side] = True
                if not (u_attack < logits[i]) or not reachable[i, side]:
                    continue
                # the target (LaunchTeam.choose_target)
                first, n_plans = plans[i, side, 0], plans[i, side, 1]
                p = first + min(_search(plan_cum, first, n_plans,
                                        uniform(seed, counters[t, WEAPON] + offset)
                                        * plan_cum[first + n_plans - 1]), n_plans - 1)
                w = plan_weapon[p]
                i0, ni, o0, no = parts[p, 0], parts[p, 1], parts[p, 2], parts[p, 3]
                avoidance = c[r, AVOIDANCE]  # iraq_site_factor
                factor = clip01(1.0 - embarrassment[r]
                                * (avoidance + (1.0 - avoidance) * state[r, i, STAKE]))
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
                    left = state[r, i, CAPABILITY] - c[r, ATTACK_COST]
                    state[r, i, CAPABILITY] = left if left > 0.0 else 0.0
                    launched += 1
                    fp = posture[r]
                    stop = clip01(air_defence[r, site] * interceptability[r, w]
                                  * (1.0 + c[r, FP_INTERCEPT] * fp))
                    if uniform(seed, counters[t, INTERCEPT] + offset) < stop:
                        outcome = 0
                        today[c_intercepted, r] += 1
                    elif uniform(seed, counters[t, HIT] + offset) < hit_chance[r, w]:
                        outcome = 1
                        mean = (c[r, CASUALTY_SCALE] * lethality[r, w]
                                * (1.0 - hardening[r, site]) * (1.0 - c[r, FP_INJURY] * fp))
                        hurt, dead = _hurt_and_dead(
                            uniform(seed, counters[t, HURT] + offset),
                            uniform(seed, counters[t, DEATH] + offset), mean, c[r, DISPERSION],
                            c[r, DEATH_RATE], c[r, CLUSTERING])
                        hurt_now = hurt - dead
                        if hurt > 0:  # the command hardens every site (hardening_update)
                            gain = c[r, HARDENING_GAIN]
                            for k in range(hardening.shape[1]):
                                hardening[r, k] = hardening[r, k] + gain * (1.0 - hardening[r, k])
                        if hurt_now > 0:  # brain injuries are diagnosed late
                            brain, lag = _brain_injuries(
                                uniform(seed, counters[t, TBI] + offset),
                                uniform(seed, counters[t, LAG] + offset), hurt_now,
                                c[r, TBI_SHARE], c[r, TBI_LAG])
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
                    events[count, 0], events[count, 1] = r, 1 if outcome == 3 else 0
                    events[count, 2], events[count, 3], events[count, 4] = i, site, w
                    events[count, 5], events[count, 6], events[count, 7] = outcome, hurt_now, dead
                    count += 1
            # emboldenment_update (Faction.learn): attacks pay when appeased; no other
            # faction's team reads it today
            e = state[r, i, EMBOLDENMENT]
            attacked = 1.0 if launched > 0 else 0.0
            state[r, i, EMBOLDENMENT] = clip01(e + embolden * attacked * (1.0 - e)
                                               - c[r, EMBOLDENMENT_DECAY] * e)
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
def weekly_outcomes(cumulative, days, calm_attacks, calm_days):
    """Each row's most attacks in the 7 days to any day (``peak_week_attacks``) and
    :func:`sim.model.outcomes.days_to_deescalation`: the first day of the first
    ``calm_days`` days in a row, after the first attack, whose week has at most
    ``calm_attacks`` attacks (NaN without attacks or without such a spell).

    ``cumulative`` holds the attacks of days 1..d in line d (line 0 is zero), so the
    week to day d + 1 is ``cumulative[d + 1] - cumulative[max(0, d - 6)]``; each row
    is read once, day after day.
    """
    rows = cumulative.shape[1]
    peak = np.zeros(rows, dtype=np.int64)
    calm = np.full(rows, np.nan)
    for r in range(rows):
        first, run, done = -1, 0, False
        for d in range(days):
            if first < 0 and cumulative[d + 1, r] > cumulative[d, r]:
                first = d  # the day of the first attack (0-based)
            week = np.int64(cumulative[d + 1, r]) - np.int64(cumulative[max(0, d - 6), r])
            if d == 0 or week > peak[r]:
                peak[r] = week
            if done:
                continue
            run = run + 1 if first >= 0 and d > first and week <= calm_attacks else 0
            if run == calm_days and first >= 0:
                calm[r] = d - calm_days + 2
                done = True
    return peak, calm
