"""Behaviour rules: small pure functions, state and levers in, probability or new state out.

No Mesa, no I/O, no random generators. Coefficients are keyword-only (a swap of two
coefficients cannot go unnoticed). Each rule works on floats and on numpy arrays
(element-wise), so the agent engine and the ensemble engine call the same code.
Random outcomes are functions of uniforms drawn elsewhere (:mod:`sim.model.streams`).
``docs/model.md`` states each formula with its default coefficients.
"""

from __future__ import annotations

import math

import numpy as np

Num = float | np.ndarray


def clip01(x: Num) -> Num:
    """Clip to [0, 1]."""
    try:
        return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
    except ValueError:  # an array's truth value is ambiguous: clip element-wise
        return np.clip(x, 0.0, 1.0)


def positive(x: Num) -> Num:
    """max(x, 0), element-wise for arrays."""
    try:
        return x if x > 0.0 else 0.0
    except ValueError:  # an array
        return np.maximum(x, 0.0)


def logistic(x: Num) -> Num:
    """The logistic function 1 / (1 + e^-x)."""
    return 1.0 / (1.0 + (math.exp(-x) if type(x) is float else np.exp(-x)))


def regional_escalation(gaza: Num, lebanon: Num, red_sea: Num, *, w_gaza: float,
                        w_lebanon: float, w_red_sea: float) -> Num:
    """Regional escalation in [0, 1]: weighted mean of the three drivers."""
    total = w_gaza + w_lebanon + w_red_sea
    total = np.where(total == 0.0, 1.0, total) if isinstance(total, np.ndarray) else (
        total or 1.0)
    return (w_gaza * gaza + w_lebanon * lebanon + w_red_sea * red_sea) / total


def attack_motive(hostility: Num, escalation: Num, alignment: Num, emboldenment: Num,
                  patron_signal: Num, *, base: float, w_hostility: float, w_escalation: float,
                  w_emboldenment: float, w_patron: float) -> Num:
    """Motive to attack (logit units).

    base + w_h * hostility + w_r * escalation * alignment + w_e * emboldenment
    + w_p * patron_signal * alignment (the signal is negative when restraining).
    """
    return (base + w_hostility * hostility + w_escalation * escalation * alignment
            + w_emboldenment * emboldenment + w_patron * patron_signal * alignment)


def attack_restraint(pressure: Num, deterrence: Num, stake: Num, *, w_pressure: float,
                     w_deterrence: float, w_stake: float) -> Num:
    """Restraint on attacking (logit units): w_p * pressure + w_d * deterrence + w_s * stake."""
    return w_pressure * pressure + w_deterrence * deterrence + w_stake * stake


def attack_probability(capacity: Num, motive: Num, restraint: Num) -> Num:
    """Daily chance that one launch team attacks: capacity x logistic(motive - restraint)."""
    return clip01(capacity) * logistic(motive - restraint)


def hostility_update(hostility: Num, baseline: Num, appeasement: Num, *, drift: float,
                     appeasement_rate: float) -> Num:
    """One day of hostility: it drifts back to the faction's underlying hostility and
    falls fast under appeasement (a temporary quiet that ends when appeasement does).

    h' = h + drift (h0 - h) - appeasement_rate * appeasement * h.
    """
    return clip01(hostility + drift * (baseline - hostility)
                  - appeasement_rate * appeasement * hostility)


def persuasion_update(baseline: Num, persuasion: Num, receptiveness: Num, *, rate: float) -> Num:
    """One day of persuasion on the underlying hostility h0: slow, durable, and in
    proportion to receptiveness (nearly useless on hardliners).

    h0' = h0 (1 - rate * persuasion * receptiveness).
    """
    return baseline * (1.0 - rate * persuasion * receptiveness)


def emboldenment_update(emboldenment: Num, appeasement: Num, attacked: Num, *, gain: float,
                        decay: float) -> Num:
    """One day of emboldenment: learned that attacks pay when appeased while attacking.

    e' = e + gain * appeasement * attacked * (1 - e) - decay * e, with attacked in {0, 1}.
    """
    return clip01(emboldenment + gain * appeasement * attacked * (1.0 - emboldenment)
                  - decay * emboldenment)


def stake_update(stake: Num, baseline: Num, accommodation: Num, *, rate: float,
                 decay: float) -> Num:
    """One day of stake in the state.

    Accommodation is taken up in proportion to the stake a faction already has
    (factions inside government absorb posts and salaries; hardliners little), and
    the stake relaxes to its baseline without it:
    s' = s + rate * accommodation * s (1 - s) + decay (s0 - s).
    """
    return clip01(stake + rate * accommodation * stake * (1.0 - stake) + decay * (baseline - stake))


def capability_ceiling(stake: Num, accommodation: Num, *, gain: float) -> Num:
    """Capability ceiling (1 = the faction's own means) grown by state resources."""
    return 1.0 + gain * stake * accommodation


def capability_update(capability: Num, ceiling: Num, resupply: Num, pressure: Num, stake: Num,
                      accommodation: Num, *, resupply_gain: float, erosion: float) -> Num:
    """One day of capability: logistic resupply toward the ceiling, eroded by pressure.

    c' = c + r (1 + g * stake * accommodation) c_room - erosion * pressure * c,
    where c_room = max(ceiling - c, 0) and the regrowth rate is capped at 1
    (capability never overshoots the ceiling).
    """
    room = ceiling - capability
    regrowth = clip01(resupply * (1.0 + resupply_gain * stake * accommodation)) * positive(room)
    return capability + regrowth - erosion * pressure * capability


def tension_update(tension: Num, pressure: Num, stake: Num, *, rate: float, decay: float) -> Num:
    """One day of tension with the state: t' = t + rate * pressure * (1 - stake/2) - decay * t."""
    return tension + rate * pressure * (1.0 - 0.5 * stake) - decay * tension


def clash_probability(tension: Num, tolerance: Num, *, slope: float) -> Num:
    """Daily chance of an armed clash with the state: slope x (tension - tolerance), in [0,1]."""
    return clip01(slope * (tension - tolerance))


def site_weight(troops: Num, distance_km: Num) -> Num:
    """Attractiveness of a site as a target: sqrt(troops) / (1 + distance / 200 km)."""
    return np.sqrt(troops) / (1.0 + distance_km / 200.0)


def intercept_probability(air_defence: Num, interceptability: Num, force_protection: Num, *,
                          gain: float) -> Num:
    """Chance an incoming round is intercepted: defence x interceptability x (1 + gain x fp)."""
    return clip01(air_defence * interceptability * (1.0 + gain * force_protection))


def mean_injuries(lethality: Num, hardening: Num, force_protection: Num, *, scale: float,
                  protection_cut: float) -> Num:
    """Mean people hurt by one hit: scale x lethality x (1 - hardening) x (1 - cut x fp)."""
    return scale * lethality * (1.0 - hardening) * (1.0 - protection_cut * force_protection)


MAX_CASUALTIES = 100_000
"""Cap on the people hurt by one hit (a bound for the inverse transform; never reached
within the schema's bounds in practice: the tail beyond it has probability below 1e-12)."""


def people_hurt(u: float, mean: float, *, dispersion: float) -> int:
    """People hurt by one hit: the negative-binomial quantile of a uniform ``u``.

    The count is negative binomial with the given mean and shape k (variance mean +
    mean^2 / k): with small k most hits hurt no one and a few hurt many. It is drawn
    by inverse transform, so a given ``u`` gives a count that rises with the mean
    (paired scenarios stay paired).
    """
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


def binomial_quantile(u: float, n: int, p: float) -> int:
    """The binomial(n, p) quantile of a uniform ``u`` (inverse transform)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    pmf = (1.0 - p) ** n
    odds = p / (1.0 - p)
    cdf, k = pmf, 0
    while u >= cdf and k < n and pmf > 0.0:
        pmf *= (n - k) / (k + 1) * odds
        k += 1
        cdf += pmf
    return k


def deaths_among(u: float, hurt: int, *, death_rate: float, clustering: float = 1.0) -> int:
    """How many of ``hurt`` people die, from one uniform ``u``.

    Deaths cluster: only a share ``clustering`` of hits can kill (a round into
    sleeping quarters, not into an empty yard), and in those each person dies with
    chance ``death_rate / clustering`` (capped at 1), so the mean stays ``death_rate``
    per person while deaths come several at a time. ``u < clustering`` marks a lethal
    hit, and ``u / clustering`` (again uniform) gives the binomial count in it.
    """
    if hurt <= 0 or death_rate <= 0.0 or u >= clustering:
        return 0
    return binomial_quantile(u / clustering, hurt, min(1.0, death_rate / clustering))


def diagnosis_lag(u: float, *, mean_days: float) -> int:
    """Days until an injury is diagnosed: the geometric quantile of ``u`` with mean
    ``mean_days`` (0 = the same day).
    """
    if mean_days <= 0.0:
        return 0
    p = 1.0 / (1.0 + mean_days)
    return int(math.log1p(-u) / math.log1p(-p))


def syria_share_target(baseline: Num, pressure: Num, embarrassment: Num, *,
                       substitution: float) -> Num:
    """Share of a faction's launches it wants to make from eastern Syria.

    Pressure from the Iraqi state and the state's embarrassment push launches across
    the border, out of the state's reach (substitution, Moore 1998), with diminishing
    returns: s* = s0 + (1 - s0) x (1 - exp(-substitution x (pressure + embarrassment))).
    """
    push = substitution * (pressure + embarrassment)
    return baseline + (1.0 - baseline) * -(np.expm1(-push) if type(push) is not float
                                           else math.expm1(-push))


def relocation_update(share: Num, target: Num, *, rate: float) -> Num:
    """One day of relocation: s' = s + rate (s* - s)."""
    return share + rate * (target - share)


def embarrassment_update(embarrassment: Num, attacks_in_iraq: Num, strikes_in_iraq: Num, *,
                         per_attack: float, per_strike: float, decay: float) -> Num:
    """One day of the Iraqi state's embarrassment in [0, 1]: attacks on sites in Iraq and
    coalition strikes on Iraqi soil raise it; it fades.

    E' = clip01(E (1 - decay) + per_attack x attacks + per_strike x strikes).
    """
    return clip01(embarrassment * (1.0 - decay) + per_attack * attacks_in_iraq
                  + per_strike * strikes_in_iraq)


def iraq_site_factor(embarrassment: Num, stake: Num, *, avoidance: float) -> Num:
    """Weight on sites in Iraq, relative to sites elsewhere: factions avoid embarrassing
    the state at home, those with a stake in it most,
    1 - embarrassment x (avoidance + (1 - avoidance) x stake).
    """
    return clip01(1.0 - embarrassment * (avoidance + (1.0 - avoidance) * stake))


def pause_compliance(alignment: Num, *, compliance: float) -> Num:
    """Chance a faction complies with a declared pause: compliance x alignment."""
    return clip01(compliance * alignment)


def hardening_update(hardening: Num, *, gain: float) -> Num:
    """A site's hardening after a hit that hurt people: h' = h + gain (1 - h)."""
    return hardening + gain * (1.0 - hardening)


# ------------------------------------------- quantiles of many uniforms at once (ensemble)
# The same recurrences as the scalar functions above, element by element and in the same
# order of operations, so the ensemble engine draws the counts the agent engine draws.


BLOCK = 32
"""Steps of a quantile recurrence taken at once (a running product and sum over a block
of counts: the same multiplications and additions, in the same order, as the scalar loop)."""


def consent_probability(pressure: Num, appeasement: Num, *, base: float, per_pressure: float,
                        per_appeasement: float) -> Num:
    """Chance the government consents to a coalition strike (else the coalition acts alone)."""
    return clip01(base + per_pressure * pressure - per_appeasement * appeasement)


def strike_triggered(policy: str, attacks_window: float, injuries_window: float,
                     deaths_today: int, *, attacks_threshold: float, injuries_threshold: float,
                     deaths_threshold: int) -> bool:
    """Whether the coalition's retaliation policy calls for a strike today.

    ``none`` never strikes; ``proportional`` strikes when attacks or injuries in
    the window reach their thresholds or deaths today reach theirs; ``escalatory``
    uses half the thresholds.
    """
    if policy == "none":
        return False
    factor = 0.5 if policy == "escalatory" else 1.0
    return (deaths_today >= deaths_threshold
            or attacks_window >= factor * attacks_threshold
            or injuries_window >= factor * injuries_threshold)


def stability_update(stability: Num, attacks: Num, clashes: Num, strike_cost: Num, pressure: Num,
                     confrontation: Num, *, baseline: float, recovery: float, attack_cost: float,
                     clash_cost: float, pressure_cost: float, pressure_safe: float,
                     confrontation_cost: float) -> Num:
    """One day of the stability index in [0, 1].

    It recovers toward its baseline and pays for attacks, clashes, coalition
    strikes, pressure above a safe level, and each day of open confrontation.
    """
    over = positive(pressure - pressure_safe)
    loss = (attack_cost * attacks + clash_cost * clashes + strike_cost
            + pressure_cost * over + confrontation_cost * confrontation)
    return clip01(stability + recovery * (baseline - stability) - loss)


def haversine_km(lat1: Num, lon1: Num, lat2: Num, lon2: Num) -> Num:
    """Great-circle distance in km between points given in degrees."""
    lat1, lon1, lat2, lon2 = (np.radians(v) for v in (lat1, lon1, lat2, lon2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))
