"""Compiled evening of the ensemble engine: clashes, strikes, stability and the public count.

After the launch teams, each row goes through the rest of the agent engine's day
(``IraqModel.step``): clashes with the state and their contagion, open confrontation,
the coalition command's documented strikes and its own retaliation rule
(``Command.act``, ``Command.strike``), deterrence from deaths, the government's
stability and embarrassment (the adaptive review stays in Python: it runs once a
week), and the public injury count (``PublicCount``). Each formula is the rule's of
:mod:`sim.model.rules`, operation for operation and in the same order, and the uniforms
are read at the agent engine's coordinates, so rows stay equal to the agent engine's
replications (``tests/model/test_ensemble.py``). Compiled with numba and cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model.ensemble_kernels import (
    ALIGNMENT,
    CAPABILITY,
    DETERRENCE,
    HOSTILITY,
    SHARE,
    STAKE,
    TENSION,
    TOLERANCE,
    clip01,
    uniform,
)

EVENING_COEFFICIENTS = (
    "clash_slope", "clash_release", "contagion", "confrontation_window",
    "confrontation_factions", "confrontation_cooldown", "deference", "escalatory_factor",
    "consent_base", "consent_pressure", "consent_appeasement", "revenge", "strike_deterrence",
    "strike_damage", "solidarity", "stability_strike_cost", "unilateral_multiplier",
    "death_deterrence", "stability_baseline", "stability_recovery", "stability_attack_cost",
    "stability_clash_cost", "stability_pressure_cost", "pressure_safe",
    "stability_confrontation_cost", "embarrassment_attack", "embarrassment_strike",
    "embarrassment_decay", "report_refresh")
"""Per-row coefficients of :func:`evening`, in the order it reads them."""
(SLOPE, RELEASE, CONTAGION, WINDOW, FACTIONS, COOLDOWN, DEFERENCE, ESCALATORY, CONSENT_BASE,
 CONSENT_PRESSURE, CONSENT_APPEASEMENT, REVENGE, STRIKE_DETERRENCE, DAMAGE, SOLIDARITY,
 STRIKE_COST, UNILATERAL, DEATH_DETERRENCE, BASELINE, RECOVERY, ATTACK_COST, CLASH_COST,
 PRESSURE_COST, PRESSURE_SAFE, CONFRONTATION_COST, PER_ATTACK, PER_STRIKE, DECAY,
 REFRESH) = range(len(EVENING_COEFFICIENTS))
DEFER, CONSENT, ATTRIBUTION, WHERE = range(4)
"""The coalition command's slots (:data:`sim.model.streams.COALITION_DRAWS`)."""


@njit(cache=True, inline="always", error_model="numpy")
def _strike(r, target, u_consent, severity, c, policy, pressure, appeasement, state):
    """``Command.strike`` on faction ``target`` of row ``r``: returns (consent, cost)."""
    factor = (c[r, ESCALATORY] if policy == 2 else 1.0) * severity
    consent = u_consent < clip01(c[r, CONSENT_BASE] + c[r, CONSENT_PRESSURE] * pressure
                                  - c[r, CONSENT_APPEASEMENT] * appeasement)
    revenge = c[r, REVENGE] * factor
    deterrence_gain = c[r, STRIKE_DETERRENCE] * severity
    state[r, target, CAPABILITY] = (state[r, target, CAPABILITY]
                                    * (1.0 - clip01(c[r, DAMAGE] * factor)))
    state[r, target, HOSTILITY] = clip01(state[r, target, HOSTILITY] + revenge)
    state[r, target, DETERRENCE] = state[r, target, DETERRENCE] + 2.0 * deterrence_gain
    for j in range(state.shape[1]):
        if j != target:
            state[r, j, HOSTILITY] = clip01(state[r, j, HOSTILITY] + c[r, REVENGE] * factor
                                            * c[r, SOLIDARITY] * state[r, j, ALIGNMENT])
            state[r, j, DETERRENCE] = (state[r, j, DETERRENCE]
                                       + c[r, STRIKE_DETERRENCE] * severity)
    cost = c[r, STRIKE_COST] * (1.0 if consent else c[r, UNILATERAL])
    return consent, cost


@njit(cache=True, error_model="numpy")
def evening(seeds, offset, day, c, clash_counters, coalition_counter, report_counter, state,
            clashed, faction_clash_day, last_clash_day, clashes_since_review, confrontation,
            scheduled, thresholds, policy, last_strike_day, pressure, appeasement,
            today, columns, cum_attacks, cum_injuries, cum_by_faction, faction_column,
            stability, embarrassment, arrivals, known, public, strikes):
    """The evening of every row, in place.

    ``state`` holds the factions' fields (:data:`sim.model.ensemble_kernels.STATE_FIELDS`),
    ``scheduled`` holds today's documented strikes (faction, severity, 1 if in Iraq),
    ``thresholds`` the command's (cooldown days, window days, deaths, attacks,
    injuries), ``columns`` today's columns attacks, injuries, deaths, clashes, strikes,
    attacks in Iraq, injuries reported. ``strikes[r, k]`` gets (target, consent) of
    strike ``k`` (documented ones, then the command's own), target -1 where none.
    """
    c_attacks, c_injuries, c_deaths, c_clashes, c_strikes, c_iraq, c_reported = (
        columns[0], columns[1], columns[2], columns[3], columns[4], columns[5], columns[6])
    cooldown_days, window_days = int(thresholds[0]), int(thresholds[1])
    n_factions = state.shape[1]
    closed = day - 1
    since = max(0, day - window_days)
    rule = len(scheduled)
    for r in range(len(seeds)):
        seed = seeds[r]
        # clashes with the state (Faction.clash_chance, IraqModel.resolve_clashes)
        clashes = 0
        for i in range(n_factions):
            chance = clip01(c[r, SLOPE] * (state[r, i, TENSION] - state[r, i, TOLERANCE]))
            clashed[r, i] = chance > 0.0 and uniform(seed, clash_counters[i] + offset) < chance
            clashes += 1 if clashed[r, i] else 0
        for i in range(n_factions if clashes > 0 else 0):  # release and contagion
            if not clashed[r, i]:
                continue
            state[r, i, TENSION] = state[r, i, TENSION] * (1.0 - c[r, RELEASE])
            faction_clash_day[r, i] = day
            for j in range(n_factions):
                if j != i:
                    state[r, j, TENSION] = (state[r, j, TENSION]
                                            + c[r, CONTAGION] * (1.0 - state[r, j, STAKE]))
        today[c_clashes, r] += clashes
        if clashes > 0:
            clashes_since_review[r] += clashes
            last_clash_day[r] = day
        horizon = day - c[r, WINDOW]
        recent = 0  # factions that clashed within the window (none if the last clash is older)
        for i in range(n_factions if last_clash_day[r] > horizon else 0):
            if faction_clash_day[r, i] > horizon:
                recent += 1
        if recent >= c[r, FACTIONS]:
            confrontation[r] = True
        elif day - last_clash_day[r] >= c[r, COOLDOWN]:
            confrontation[r] = False
        # the coalition command: documented strikes, then its own rule
        cost, in_iraq = 0.0, 0
        u_consent = -1.0  # drawn when the first strike needs it
        if rule:
            u_consent = uniform(seed, coalition_counter + np.uint64(CONSENT) + offset)
        for k in range(rule):
            target = int(scheduled[k, 0])
            consent, paid = _strike(r, target, u_consent, scheduled[k, 1], c, policy[r],
                                    pressure[r], appeasement[r], state)
            cost += paid
            last_strike_day[r] = day
            today[c_strikes, r] += 1
            strikes[r, k, 0], strikes[r, k, 1] = target, consent
            in_iraq += int(scheduled[k, 2])
        strikes[r, rule, 0] = -1
        escalatory = policy[r] == 2
        cooldown = cooldown_days // 2 if escalatory else cooldown_days
        factor = 0.5 if escalatory else 1.0
        if (policy[r] != 0 and day - last_strike_day[r] >= cooldown
                and (today[c_deaths, r] >= thresholds[2]
                     or cum_attacks[closed, r] - cum_attacks[since, r] + today[c_attacks, r]
                     >= factor * thresholds[3]
                     or cum_injuries[closed, r] - cum_injuries[since, r] + today[c_injuries, r]
                     >= factor * thresholds[4])
                and not (uniform(seed, coalition_counter + np.uint64(DEFER) + offset)
                         < c[r, DEFERENCE] * pressure[r])):
            best, tied = 0, 0
            for i in range(n_factions):
                count = (cum_by_faction[closed, i, r] - cum_by_faction[since, i, r]
                         + today[faction_column[i], r])
                if count > best:
                    best, tied = count, 1
                elif count == best:
                    tied += 1
            if best > 0:
                pick = int(uniform(seed, coalition_counter + np.uint64(ATTRIBUTION) + offset)
                           * tied)
                target = 0
                for i in range(n_factions):
                    count = (cum_by_faction[closed, i, r] - cum_by_faction[since, i, r]
                             + today[faction_column[i], r])
                    if count == best:
                        if pick == 0:
                            target = i
                            break
                        pick -= 1
                syria = (uniform(seed, coalition_counter + np.uint64(WHERE) + offset)
                         < state[r, target, SHARE])
                if not rule:
                    u_consent = uniform(seed, coalition_counter + np.uint64(CONSENT) + offset)
                consent, paid = _strike(r, target, u_consent, 1.0, c, policy[r], pressure[r],
                                        appeasement[r], state)
                cost += paid
                last_strike_day[r] = day
                today[c_strikes, r] += 1
                strikes[r, rule, 0], strikes[r, rule, 1] = target, consent
                in_iraq += 0 if syria else 1
        # deterrence from deaths, then the government (Government.update)
        deaths = today[c_deaths, r]
        if deaths > 0:
            for i in range(n_factions):
                state[r, i, DETERRENCE] = (state[r, i, DETERRENCE]
                                           + c[r, DEATH_DETERRENCE] * deaths)
        over = pressure[r] - c[r, PRESSURE_SAFE]
        over = over if over > 0.0 else 0.0
        loss = (c[r, ATTACK_COST] * today[c_attacks, r] + c[r, CLASH_COST] * clashes + cost
                + c[r, PRESSURE_COST] * over
                + c[r, CONFRONTATION_COST] * (1.0 if confrontation[r] else 0.0))
        s = stability[r]
        stability[r] = clip01(s + c[r, RECOVERY] * (c[r, BASELINE] - s) - loss)
        embarrassment[r] = clip01(embarrassment[r] * (1.0 - c[r, DECAY])
                                   + c[r, PER_ATTACK] * today[c_iraq, r]
                                   + c[r, PER_STRIKE] * in_iraq)
        # the public count (PublicCount.close_day)
        known[r] += arrivals[day, r]
        if deaths > 0 or uniform(seed, report_counter + offset) < c[r, REFRESH]:
            today[c_reported, r] += known[r] - public[r]
            public[r] = known[r]
