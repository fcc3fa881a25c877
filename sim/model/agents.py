"""The actors: Government, Militia factions, coalition Bases and the coalition Command.

Agents hold state and decide; the formulas live in :mod:`sim.rules`. Every random
draw goes through the model's generator (``self.model.rng``, uniforms via ``self.model.uniform()``).
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING

import mesa

from sim.model import rules
from sim.scenario.schema import AdaptiveRule, Base, CoalitionLevers, Faction, GovernmentLevers, Weapon

if TYPE_CHECKING:
    from sim.model.model import IraqModel

LEVERS = ("accommodation", "appeasement", "persuasion", "pressure")


class Government(mesa.Agent):
    """The Iraqi government: four lever intensities, an optional adaptive rule, stability."""

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
        self.clashes_since_review = 0

    def step(self) -> None:
        """End of the day: stability pays the day's costs; on review days the adaptive rule
        sets the levers for the days that follow (from the last seven days' attacks).
        """
        model = self.model
        self.update_stability(model.attacks_today, model.clashes_today,
                              model.command.strike_cost_today, model.confrontation)
        if self.adaptive and model.day % self.rule.review_days == 0:
            self.review(model.attacks_last(7))

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
        """End of day: stability recovers and pays today's costs."""
        m = self.model.mechanisms
        self.stability = rules.stability_update(
            self.stability, m.stability_baseline, m.stability_recovery, attacks, clashes,
            strike_cost, self.pressure, float(confrontation), m.stability_attack_cost,
            m.stability_clash_cost, m.stability_pressure_cost, m.pressure_safe,
            m.stability_confrontation_cost)


class Militia(mesa.Agent):
    """A militia faction: decides each day whether to attack, where and with what."""

    model: IraqModel

    def __init__(self, model: IraqModel, faction: Faction, index: int) -> None:
        super().__init__(model)
        # the world a faction reads every day (the same objects as the model's)
        self.government, self.mechanisms, self.region = (model.government, model.mechanisms,
                                                         model.region)
        self.index = index
        self.name, self.label = faction.name, faction.label or faction.name
        self.lat, self.lon = faction.lat, faction.lon
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
        self.targets: list[tuple[str, Weapon, list[BaseSite], list[float]]] = []
        self.target_weights: list[float] = []

    def step(self) -> None:
        """One day: feel the levers, perhaps attack, perhaps clash with the state."""
        self.respond_to_levers()
        self.attacks_today = self.attack()
        self.learn()
        chance = self.clash_chance()
        self.clashed = chance > 0.0 and self.model.uniform() < chance

    def respond_to_levers(self) -> None:
        """Hostility, stake, capability and tension move with the government's levers."""
        gov, m = self.government, self.mechanisms
        self.baseline_hostility = rules.persuasion_update(
            self.baseline_hostility, gov.persuasion, self.receptiveness, m.persuasion_rate)
        self.hostility = rules.hostility_update(
            self.hostility, self.baseline_hostility, gov.appeasement, m.hostility_drift,
            m.appeasement_rate)
        self.stake = rules.stake_update(self.stake, self.baseline_stake, gov.accommodation,
                                        m.stake_rate, m.stake_decay)
        ceiling = rules.capability_ceiling(self.stake, gov.accommodation,
                                           m.accommodation_capability_gain)
        self.capability = rules.capability_update(
            self.capability, ceiling, self.resupply, gov.pressure, self.stake,
            gov.accommodation, m.accommodation_resupply_gain, m.pressure_erosion)
        self.tension = rules.tension_update(self.tension, gov.pressure, self.stake,
                                            m.tension_rate, m.tension_decay)
        self.deterrence *= 1.0 - m.deterrence_decay

    def attack_chance(self) -> float:
        """Today's chance that one launch team attacks."""
        m, region = self.mechanisms, self.region
        motive = rules.attack_motive(
            self.hostility, region.escalation, self.alignment, self.emboldenment,
            region.signal, m.base_propensity, m.w_hostility, m.w_escalation,
            m.w_emboldenment, m.w_patron)
        restraint = rules.attack_restraint(
            self.government.pressure, self.deterrence, self.stake, m.w_pressure,
            m.w_deterrence, m.w_stake)
        return rules.attack_probability(self.capability, motive, restraint)

    def attack(self) -> int:
        """Each launch team attacks with today's chance; returns attacks launched."""
        if not self.targets or self.teams == 0:
            return 0
        chance = self.attack_chance()
        uniform = self.model.uniform
        launched = 0
        for _ in range(self.teams):
            if uniform() >= chance:
                continue
            weapon_name, weapon, bases, cumulative = self.choose_weapon()
            base = bases[bisect_right(cumulative, uniform() * cumulative[-1])]
            if uniform() < self.mechanisms.foil_rate * self.government.pressure:
                self.model.record_foiled(self, base, weapon_name)
                continue
            self.capability = max(0.0, self.capability - self.mechanisms.attack_cost)
            base.receive(self, weapon_name, weapon)
            launched += 1
        return launched

    def choose_weapon(self) -> tuple[str, Weapon, list[BaseSite], list[float]]:
        """Pick a weapon (by the faction's weights among weapons that reach an open site)."""
        if len(self.targets) == 1:
            return self.targets[0]
        draw = self.model.uniform() * self.target_weights[-1]
        return self.targets[bisect_right(self.target_weights, draw)]

    def plan_targets(self, bases: list[BaseSite], weapons: dict[str, Weapon],
                     distances: list[float]) -> None:
        """Which open sites each weapon reaches from home, and how attractive each is.

        ``distances`` are from home to each site in ``bases`` (km). A site's weight is
        sqrt(troops) / (1 + distance / 200 km): larger and nearer sites draw more attacks.
        """
        self.targets = []
        for name, weight in self.weapon_weights.items():
            weapon = weapons[name]
            reach = [(b, d) for b, d in zip(bases, distances, strict=True)
                     if b.open and b.troops > 0 and d <= weapon.range_km]
            if reach and weight > 0:
                cumulative = list(accumulate(b.troops ** 0.5 / (1.0 + d / 200.0)
                                             for b, d in reach))
                self.targets.append((name, weapon, [b for b, _ in reach], cumulative))
        weights = [self.weapon_weights[t[0]] for t in self.targets]
        self.target_weights = list(accumulate(weights))

    def learn(self) -> None:
        """Emboldenment: appeased while attacking, a faction learns that attacks pay."""
        m = self.mechanisms
        self.emboldenment = rules.emboldenment_update(
            self.emboldenment, self.government.appeasement,
            1.0 if self.attacks_today else 0.0, m.emboldenment_gain, m.emboldenment_decay)

    def clash_chance(self) -> float:
        """Chance of an armed clash with the state today (tension past tolerance)."""
        return rules.clash_probability(self.tension, self.tolerance,
                                       self.mechanisms.clash_slope)

    def struck(self, damage: float, revenge: float, deterrence: float) -> None:
        """Suffer a coalition strike: capability cut, revenge raises hostility, deterrence felt."""
        self.capability *= 1.0 - damage
        self.angered(revenge, 2.0 * deterrence)

    def angered(self, revenge: float, deterrence: float) -> None:
        """Feel a strike on oneself or an ally: hostility (x alignment for allies) and deterrence."""
        self.hostility = rules.clip01(self.hostility + revenge)
        self.deterrence += deterrence


class BaseSite(mesa.Agent):
    """A coalition site: resolves each attack as intercepted, no effect, or a hit."""

    model: IraqModel

    def __init__(self, model: IraqModel, base: Base) -> None:
        super().__init__(model)
        self.name, self.label, self.country = base.name, base.label or base.name, base.country
        self.lat, self.lon = base.lat, base.lon
        self.troops, self.open = base.troops, base.open
        self.air_defence, self.hardening = base.air_defence, base.hardening

    def receive(self, attacker: Militia, weapon_name: str, weapon: Weapon) -> None:
        """Resolve one incoming attack and report it to the model."""
        model, m = self.model, self.model.mechanisms
        posture = model.command.force_protection
        rng = model.rng
        injuries = deaths = 0
        if model.uniform() < rules.intercept_probability(
                self.air_defence, weapon.interceptability, posture, m.force_protection_intercept):
            outcome = "intercepted"
        elif model.uniform() < weapon.hit_probability:
            outcome = "hit"
            mean = rules.mean_injuries(weapon.lethality, self.hardening, posture,
                                       m.casualty_scale, m.force_protection_injury)
            injuries, deaths = rules.draw_casualties(rng, mean, m.casualty_dispersion,
                                                     m.death_rate)
        else:
            outcome = "no_effect"
        model.record_attack(attacker, self, weapon_name, outcome, injuries, deaths)


class Command(mesa.Agent):
    """The coalition command: force-protection posture and retaliation policy."""

    model: IraqModel

    def __init__(self, model: IraqModel, levers: CoalitionLevers) -> None:
        super().__init__(model)
        self.retaliation = str(levers.retaliation)
        self.force_protection = levers.force_protection
        self.thresholds = levers.thresholds
        self.last_strike_day = -10**9
        self.strike_cost_today = 0.0
        self.strikes_today = 0

    def step(self) -> None:
        """Decide whether to retaliate today and, if so, against whom."""
        self.strike_cost_today, self.strikes_today = 0.0, 0
        model, t = self.model, self.thresholds
        cooldown = t.cooldown_days // 2 if self.retaliation == "escalatory" else t.cooldown_days
        if model.day - self.last_strike_day < cooldown:
            return
        if not rules.strike_triggered(self.retaliation, model.attacks_last(t.window_days),
                                      model.injuries_last(t.window_days), model.deaths_today,
                                      t.attacks, t.injuries, t.deaths):
            return
        gov = model.government
        if model.uniform() < model.mechanisms.deference * gov.pressure:
            return  # the coalition leaves it to the government this time
        target = model.most_active_faction(t.window_days)
        if target is not None:
            self.strike(target)

    def strike(self, target: Militia) -> None:
        """Strike the attributed faction and bear the consequences."""
        model, m, gov = self.model, self.model.mechanisms, self.model.government
        factor = m.escalatory_factor if self.retaliation == "escalatory" else 1.0
        consent = model.uniform() < rules.consent_probability(
            gov.pressure, gov.appeasement, m.consent_base, m.consent_pressure,
            m.consent_appeasement)
        target.struck(rules.clip01(m.strike_damage * factor), m.revenge * factor,
                      m.strike_deterrence)
        for militia in model.militias:
            if militia is not target:
                militia.angered(m.revenge * factor * m.solidarity * militia.alignment,
                                m.strike_deterrence)
        self.strike_cost_today += m.stability_strike_cost * (1.0 if consent else
                                                              m.unilateral_multiplier)
        self.strikes_today += 1
        self.last_strike_day = model.day
        model.log_event("strike", target.name, "", "", "consented" if consent else "unilateral",
                        0, 0)
