"""The actors: Government, Militia factions, coalition Bases and the coalition Command.

Agents hold state and decide; the formulas live in :mod:`sim.model.rules`. Every
random outcome compares a rule's probability with a uniform from the agent's own
named stream (:mod:`sim.model.streams`): a faction's launch teams, its clashes, the
coalition command. Those uniforms are drawn on a fixed schedule, so scenarios run
with the same seed stay paired draw by draw.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

import mesa

from sim.model import rules
from sim.model.streams import COALITION_DRAWS, TEAM_DRAWS
from sim.scenario.schema import (
    AdaptiveRule,
    Base,
    CoalitionLevers,
    Faction,
    GovernmentLevers,
    Strike,
    Weapon,
)

if TYPE_CHECKING:
    from sim.model.model import IraqModel

ATTACK, WEAPON, TARGET, FOIL, INTERCEPT, HIT, HURT, DEATH, LOCATION, TBI, LAG = range(
    len(TEAM_DRAWS))
SLOTS = len(TEAM_DRAWS)
DEFER, CONSENT, ATTRIBUTION, WHERE = range(len(COALITION_DRAWS))
HOME, SYRIA = 0, 1
"""Where a launch team operates from: the faction's home area (Iraq) or eastern Syria."""
Plan = tuple[str, Weapon, list["BaseSite"], list[float], list["BaseSite"], list[float]]
"""A weapon's targets from one location: name, weapon, sites in Iraq and their cumulative
weights, sites elsewhere and theirs."""


class Government(mesa.Agent):
    """The Iraqi government: four lever intensities, an optional adaptive rule, stability,
    and its embarrassment (attacks and coalition strikes on its soil).
    """

    model: IraqModel

    def __init__(self, model: IraqModel, levers: GovernmentLevers, stability: float) -> None:
        super().__init__(model)
        self.accommodation = levers.accommodation
        self.appeasement = levers.appeasement
        self.persuasion = levers.persuasion
        self.pressure = levers.pressure
        self.rule: AdaptiveRule = levers.adaptive
        self.adaptive = levers.adaptive.enabled
        self.stability = stability
        self.embarrassment = 0.0
        self.clashes_since_review = 0

    def step(self) -> None:
        """End of the day: stability pays the day's costs; on review days the adaptive rule
        sets the levers for the days that follow (from the last seven days' attacks).
        """
        model, m = self.model, self.model.mechanisms
        self.update_stability(model.recorder.attacks_today, model.clashes_today,
                              model.command.strike_cost_today, model.confrontation)
        self.embarrassment = rules.embarrassment_update(
            self.embarrassment, model.recorder.attacks_in_iraq_today,
            model.command.strikes_in_iraq_today, per_attack=m.embarrassment_attack,
            per_strike=m.embarrassment_strike, decay=m.embarrassment_decay)
        if self.adaptive and model.day % self.rule.review_days == 0:
            self.review(model.recorder.attacks_last(7))

    def review(self, weekly_attacks: float) -> None:
        """Apply the adaptive rule: pressure up while attacks are high and the state stable;
        after a clash, less pressure and more persuasion.
        """
        rule = self.rule
        if self.clashes_since_review:
            self.pressure = rules.clip01(self.pressure - rule.clash_pressure_cut)
            self.persuasion = rules.clip01(self.persuasion + rule.clash_persuasion_boost)
        elif weekly_attacks > rule.attack_threshold and self.stability > rule.stability_floor:
            self.pressure = min(rule.max_pressure, self.pressure + rule.pressure_step)
        elif weekly_attacks <= rule.attack_threshold / 2 or self.stability < rule.stability_floor:
            self.pressure = rules.clip01(self.pressure - rule.pressure_step)
        self.clashes_since_review = 0

    def update_stability(self, attacks: int, clashes: int, strike_cost: float,
                         confrontation: bool) -> None:
        """Stability recovers toward its baseline and pays today's costs."""
        m = self.model.mechanisms
        self.stability = rules.stability_update(
            self.stability, attacks, clashes, strike_cost, self.pressure, float(confrontation),
            baseline=m.stability_baseline, recovery=m.stability_recovery,
            attack_cost=m.stability_attack_cost, clash_cost=m.stability_clash_cost,
            pressure_cost=m.stability_pressure_cost, pressure_safe=m.pressure_safe,
            confrontation_cost=m.stability_confrontation_cost)


class Militia(mesa.Agent):
    """A militia faction: decides each day whether to attack, where and with what.

    Args:
        model: the model.
        faction: the faction's profile.
        index: its position in the model's list (its attack column).
        draws: the launch teams' uniforms, ``width`` a day (``SLOTS`` per team).
        width: draws a day (``SLOTS`` x the most teams the faction can have).
        clash_draws: one uniform a day for its clash with the state.
        pause_draws: one uniform a day for its decision on a declared pause.

    """

    model: IraqModel

    def __init__(self, model: IraqModel, faction: Faction, index: int, draws: Sequence[float],
                 width: int, clash_draws: Sequence[float], pause_draws: Sequence[float]) -> None:
        super().__init__(model)
        # the world a faction reads every day (the same objects as the model's)
        self.government, self.mechanisms, self.region = (model.government, model.mechanisms,
                                                         model.region)
        self.index, self.draws, self.width, self.clash_draws = index, draws, width, clash_draws
        self.pause_draws = pause_draws
        self.name, self.label = faction.name, faction.label or faction.name
        self.lat, self.lon = faction.lat, faction.lon
        self.syria_lat, self.syria_lon = faction.syria_lat, faction.syria_lon
        self.baseline_syria_share = self.syria_share = faction.syria_share
        self.complying = False
        self.teams, self.resupply = faction.teams, faction.resupply
        self.baseline_hostility, self.baseline_stake = faction.hostility, faction.stake
        self.alignment, self.receptiveness = faction.alignment, faction.receptiveness
        self.tolerance = faction.tolerance
        self.weapon_weights = dict(faction.weapons)
        self.capability = faction.capability
        self.hostility, self.stake = faction.hostility, faction.stake
        self.emboldenment = faction.emboldenment
        self.tension = self.deterrence = 0.0
        self.attacks_today = 0
        self.clashed = False
        self.targets: list[list[Plan]] = [[], []]
        self.target_weights: list[list[float]] = [[], []]

    def step(self) -> None:
        """One day: feel the levers, perhaps attack, learn, perhaps clash with the state."""
        self.respond_to_levers()
        self.attacks_today = self.attack()
        self.learn()
        self.clashed = self.clash_draws[self.model.day - 1] < self.clash_chance()

    def respond_to_levers(self) -> None:
        """Hostility, stake, capability and tension move with the government's levers."""
        gov, m = self.government, self.mechanisms
        self.baseline_hostility = rules.persuasion_update(
            self.baseline_hostility, gov.persuasion, self.receptiveness, rate=m.persuasion_rate)
        self.hostility = rules.hostility_update(
            self.hostility, self.baseline_hostility, gov.appeasement, drift=m.hostility_drift,
            appeasement_rate=m.appeasement_rate)
        self.stake = rules.stake_update(self.stake, self.baseline_stake, gov.accommodation,
                                        rate=m.stake_rate, decay=m.stake_decay)
        ceiling = rules.capability_ceiling(self.stake, gov.accommodation,
                                           gain=m.accommodation_capability_gain)
        self.capability = rules.capability_update(
            self.capability, ceiling, self.resupply, gov.pressure, self.stake, gov.accommodation,
            resupply_gain=m.accommodation_resupply_gain, erosion=m.pressure_erosion)
        self.tension = rules.tension_update(self.tension, gov.pressure, self.stake,
                                            rate=m.tension_rate, decay=m.tension_decay)
        self.deterrence *= 1.0 - m.deterrence_decay
        target = rules.syria_share_target(self.baseline_syria_share, gov.pressure,
                                          gov.embarrassment, substitution=m.substitution)
        self.syria_share = rules.relocation_update(self.syria_share, target,
                                                   rate=m.relocation_rate)

    def attack_chance(self, where: int = HOME) -> float:
        """Today's chance that one launch team attacks from ``where`` (HOME or SYRIA)."""
        return self.attack_chances()[where]

    def attack_chances(self) -> tuple[float, float]:
        """Today's chance that one launch team attacks, from home and from eastern Syria:
        the Iraqi state's pressure restrains launches from Iraq only.
        """
        m, region = self.mechanisms, self.region
        motive = rules.attack_motive(
            self.hostility, region.escalation, self.alignment, self.emboldenment, region.signal,
            base=m.base_propensity, w_hostility=m.w_hostility, w_escalation=m.w_escalation,
            w_emboldenment=m.w_emboldenment, w_patron=m.w_patron)
        return tuple(rules.attack_probability(self.capability, motive, rules.attack_restraint(
            pressure, self.deterrence, self.stake, w_pressure=m.w_pressure,
            w_deterrence=m.w_deterrence, w_stake=m.w_stake))
            for pressure in (self.government.pressure, 0.0))

    def attack(self) -> int:
        """Each launch team, from home or from eastern Syria, attacks with today's chance
        there; returns attacks launched. A faction complying with a declared pause
        launches nothing.
        """
        if self.teams == 0 or (self.complying and self.region.pause):
            return 0
        draws, today = self.draws, (self.model.day - 1) * self.width
        chance = self.attack_chances()
        foil = self.mechanisms.foil_rate * self.government.pressure
        at_home = rules.iraq_site_factor(self.government.embarrassment, self.stake,
                                         avoidance=self.mechanisms.avoidance)
        launched = 0
        for first in range(today, today + self.teams * SLOTS, SLOTS):
            where = SYRIA if draws[first + LOCATION] < self.syria_share else HOME
            if draws[first + ATTACK] >= chance[where] or not self.targets[where]:
                continue
            weapon_name, weapon, site = self.choose_target(where, draws[first + WEAPON],
                                                           draws[first + TARGET], at_home)
            if where == HOME and draws[first + FOIL] < foil:
                self.model.recorder.foiled(self.model.day, self.name, site.name, weapon_name)
                continue
            self.capability = max(0.0, self.capability - self.mechanisms.attack_cost)
            site.receive(self, weapon_name, weapon, draws, first)
            launched += 1
        return launched

    def choose_target(self, where: int, u_weapon: float, u_target: float, at_home: float,
                      ) -> tuple[str, Weapon, BaseSite]:
        """A weapon (by the faction's weights among weapons that reach an open site from
        ``where``) and a site: sites in Iraq weigh ``at_home`` times their usual weight.
        """
        weights = self.target_weights[where]
        name, weapon, iraq, iraq_cum, other, other_cum = self.targets[where][
            bisect_right(weights, u_weapon * weights[-1])]
        in_iraq = iraq_cum[-1] * at_home if iraq else 0.0
        elsewhere = other_cum[-1] if other else 0.0
        if in_iraq + elsewhere <= 0.0:  # only sites in Iraq reach, and all are avoided
            at_home, in_iraq = 1.0, iraq_cum[-1]
        x = u_target * (in_iraq + elsewhere)
        if x < in_iraq:
            return name, weapon, iraq[min(bisect_right(iraq_cum, x / at_home), len(iraq) - 1)]
        return name, weapon, other[min(bisect_right(other_cum, x - in_iraq), len(other) - 1)]

    def plan_targets(self, bases: list[BaseSite], weapons: dict[str, Weapon],
                     distances: tuple[list[float], list[float]]) -> None:
        """Which open sites each weapon reaches from home and from eastern Syria, and how
        attractive each is.

        ``distances`` are from home and from the Syrian area to each site in ``bases``
        (km); a site's weight is :func:`sim.model.rules.site_weight` (larger and nearer
        sites draw more attacks). Sites in Iraq and elsewhere are kept apart, so the
        state's embarrassment can shift the choice between them day by day.
        """
        for where, from_here in enumerate(distances):
            plans: list[Plan] = []
            for name, weight in self.weapon_weights.items():
                weapon = weapons[name]
                reach = [(b, d) for b, d in zip(bases, from_here, strict=True)
                         if b.open and b.troops > 0 and d <= weapon.range_km]
                if not reach or weight <= 0:
                    continue
                iraq = [(b, d) for b, d in reach if b.country == "Iraq"]
                other = [(b, d) for b, d in reach if b.country != "Iraq"]
                plans.append((name, weapon, [b for b, _ in iraq], cumulative(iraq),
                              [b for b, _ in other], cumulative(other)))
            self.targets[where] = plans
            self.target_weights[where] = list(accumulate(self.weapon_weights[p[0]]
                                                         for p in plans))

    def learn(self) -> None:
        """Emboldenment: appeased while attacking, a faction learns that attacks pay."""
        m = self.mechanisms
        self.emboldenment = rules.emboldenment_update(
            self.emboldenment, self.government.appeasement, 1.0 if self.attacks_today else 0.0,
            gain=m.emboldenment_gain, decay=m.emboldenment_decay)

    def clash_chance(self) -> float:
        """Chance of an armed clash with the state today (tension past tolerance)."""
        return rules.clash_probability(self.tension, self.tolerance,
                                       slope=self.mechanisms.clash_slope)

    def decide_pause(self, day: int) -> None:
        """A pause is declared today: decide once whether to comply while it lasts."""
        self.complying = self.pause_draws[day - 1] < rules.pause_compliance(
            self.alignment, compliance=self.mechanisms.pause_compliance)

    def feel_deaths(self, deaths: int) -> None:
        """U.S. deaths make the coalition's escalation credible: deterrence rises."""
        self.deterrence += self.mechanisms.death_deterrence * deaths

    def struck(self, damage: float, revenge: float, deterrence: float) -> None:
        """Suffer a coalition strike: capability cut, revenge raises hostility, deterrence felt."""
        self.capability *= 1.0 - damage
        self.angered(revenge, 2.0 * deterrence)

    def angered(self, revenge: float, deterrence: float) -> None:
        """Feel a strike on oneself or an ally: hostility (x alignment for allies) and deterrence."""
        self.hostility = rules.clip01(self.hostility + revenge)
        self.deterrence += deterrence


def cumulative(sites: list[tuple[BaseSite, float]]) -> list[float]:
    """Cumulative target weights of (site, distance) pairs."""
    return list(accumulate(float(rules.site_weight(b.troops, d)) for b, d in sites))


class BaseSite(mesa.Agent):
    """A coalition site: resolves each attack as intercepted, no effect, or a hit."""

    model: IraqModel

    def __init__(self, model: IraqModel, base: Base) -> None:
        super().__init__(model)
        self.name, self.label, self.country = base.name, base.label or base.name, str(base.country)
        self.lat, self.lon = base.lat, base.lon
        self.troops, self.open = base.troops, base.open
        self.air_defence, self.hardening = base.air_defence, base.hardening

    def receive(self, attacker: Militia, weapon_name: str, weapon: Weapon, draws: Sequence[float],
                first: int) -> None:
        """Resolve one incoming attack with the attacking team's uniforms (``draws`` from
        ``first``) and record it.
        """
        model, m = self.model, self.model.mechanisms
        posture = model.command.force_protection
        injuries = deaths = 0
        if draws[first + INTERCEPT] < rules.intercept_probability(
                self.air_defence, weapon.interceptability, posture,
                gain=m.force_protection_intercept):
            outcome = "intercepted"
        elif draws[first + HIT] < weapon.hit_probability:
            outcome = "hit"
            mean = rules.mean_injuries(weapon.lethality, self.hardening, posture,
                                       scale=m.casualty_scale,
                                       protection_cut=m.force_protection_injury)
            hurt = rules.people_hurt(draws[first + HURT], mean, dispersion=m.casualty_dispersion)
            deaths = rules.deaths_among(draws[first + DEATH], hurt, death_rate=m.death_rate,
                                        clustering=m.death_clustering)
            injuries = hurt - deaths
            if hurt:  # the command adapts at every site: shelters, dispersal, warning
                for site in model.bases:
                    site.hardening = rules.hardening_update(site.hardening,
                                                            gain=m.hardening_gain)
            if injuries:
                brain = rules.binomial_quantile(draws[first + TBI], injuries, m.tbi_share)
                model.reporting.injured(model.day, injuries - brain, brain, rules.diagnosis_lag(
                    draws[first + LAG], mean_days=m.tbi_lag_days))
        else:
            outcome = "no_effect"
        model.recorder.attack(model.day, attacker.index, attacker.name, self.name, self.country,
                              weapon_name, outcome, injuries, deaths)


class Command(mesa.Agent):
    """The coalition command: force-protection posture and retaliation policy.

    Args:
        model: the model.
        levers: the coalition's levers.
        draws: its uniforms, one after another a day (:data:`COALITION_DRAWS`).

    """

    model: IraqModel

    def __init__(self, model: IraqModel, levers: CoalitionLevers, draws: Sequence[float]) -> None:
        super().__init__(model)
        self.retaliation = str(levers.retaliation)
        self.force_protection = levers.force_protection
        self.thresholds = levers.thresholds
        self.draws = draws
        self.last_strike_day = -10**9
        self.strike_cost_today = 0.0
        self.strikes_in_iraq_today = 0
        self.scheduled: dict[int, list[Strike]] = {}
        for strike in model.spec.strikes:
            self.scheduled.setdefault(strike.day, []).append(strike)

    def step(self) -> None:
        """Carry out today's documented strikes (a replay's input), then decide whether to
        retaliate today and, if so, against whom.
        """
        self.strike_cost_today = 0.0
        self.strikes_in_iraq_today = 0
        model, t, record = self.model, self.thresholds, self.model.recorder
        today = (model.day - 1) * len(COALITION_DRAWS)
        for strike in self.scheduled.get(model.day, ()):
            target = next(f for f in model.militias if f.name == strike.faction)
            self.strike(target, self.draws[today + CONSENT], strike.severity,
                        str(strike.country))
        cooldown = t.cooldown_days // 2 if self.retaliation == "escalatory" else t.cooldown_days
        if model.day - self.last_strike_day < cooldown:
            return
        if not rules.strike_triggered(
                self.retaliation, record.attacks_last(t.window_days),
                record.injuries_last(t.window_days), record.deaths_today,
                attacks_threshold=t.attacks, injuries_threshold=t.injuries,
                deaths_threshold=t.deaths):
            return
        draws = self.draws
        if draws[today + DEFER] < model.mechanisms.deference * model.government.pressure:
            return  # the coalition leaves it to the government this time
        target = self.attribute(record.attacks_by_faction(t.window_days),
                                draws[today + ATTRIBUTION])
        if target is not None:
            where = "Syria" if draws[today + WHERE] < target.syria_share else "Iraq"
            self.strike(target, draws[today + CONSENT], 1.0, where)

    def attribute(self, attacks: list[int], u: float) -> Militia | None:
        """The faction with most attacks in the window (ties broken by ``u``); None if none."""
        best = max(attacks)
        if best == 0:
            return None
        candidates = [i for i, total in enumerate(attacks) if total == best]
        return self.model.militias[candidates[int(u * len(candidates))]]

    def strike(self, target: Militia, u_consent: float, severity: float = 1.0,
               country: str = "Iraq") -> None:
        """Strike a faction (where its teams are: in Iraq or in Syria) and bear the
        consequences; ``severity`` scales damage, revenge and deterrence.
        """
        model, m, gov = self.model, self.model.mechanisms, self.model.government
        factor = (m.escalatory_factor if self.retaliation == "escalatory" else 1.0) * severity
        consent = u_consent < rules.consent_probability(
            gov.pressure, gov.appeasement, base=m.consent_base, per_pressure=m.consent_pressure,
            per_appeasement=m.consent_appeasement)
        target.struck(rules.clip01(m.strike_damage * factor), m.revenge * factor,
                      m.strike_deterrence * severity)
        for militia in model.militias:
            if militia is not target:
                militia.angered(m.revenge * factor * m.solidarity * militia.alignment,
                                m.strike_deterrence * severity)
        if country == "Iraq":
            self.strikes_in_iraq_today += 1
        self.strike_cost_today += m.stability_strike_cost * (1.0 if consent else
                                                              m.unilateral_multiplier)
        self.last_strike_day = model.day
        model.recorder.strike(model.day, target.name, consent)
