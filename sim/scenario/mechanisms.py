"""Model coefficients (``[mechanisms]``): every rule's coefficient, bounded, with its meaning.

docs/model.md states each formula with these defaults and its source; the shipped
scenarios override some (the calibrated ones, and values the world file sets).
"""

from __future__ import annotations

from pydantic import Field

from sim.scenario.fields import Frozen, Unit, coefficient


class EscalationWeights(Frozen):
    """Weights of the three regional drivers in the escalation index."""

    gaza: float = coefficient(0.6, 10.0, "Weight of the Gaza war.")
    lebanon: float = coefficient(0.25, 10.0, "Weight of the Lebanese front.")
    red_sea: float = coefficient(0.15, 10.0, "Weight of the Red Sea front.")


class Mechanisms(Frozen):
    """Model coefficients (see docs/model.md for each formula)."""

    base_propensity: float = Field(-2.6, ge=-20, le=20, allow_inf_nan=False,
                                   description="Intercept of the attack logit.")
    w_hostility: float = coefficient(5.0, 20.0, "Logit weight of hostility.")
    w_escalation: float = coefficient(1.6, 20.0, "Logit weight of regional escalation x "
                                      "alignment.")
    w_emboldenment: float = coefficient(6.0, 20.0, "Logit weight of emboldenment.")
    w_patron: float = coefficient(1.5, 20.0, "Logit weight of the patron's signal x alignment.")
    w_pressure: float = coefficient(1.2, 20.0, "Logit restraint weight of pressure.")
    w_deterrence: float = coefficient(1.0, 20.0, "Logit restraint weight of deterrence.")
    w_stake: float = coefficient(2.5, 20.0, "Logit restraint weight of stake.")
    escalation_weights: EscalationWeights = Field(default_factory=EscalationWeights)
    hostility_drift: Unit = Field(0.05, description="Daily return of hostility to its underlying "
                                  "level.")
    appeasement_rate: Unit = Field(0.1, description="Daily hostility reduction per appeasement.")
    persuasion_rate: Unit = Field(0.02, description="Daily reduction of underlying hostility "
                                  "per (persuasion x receptiveness).")
    emboldenment_gain: Unit = Field(0.04, description="Emboldenment per day appeased while "
                                    "attacking.")
    emboldenment_decay: Unit = Field(0.015, description="Daily decay of emboldenment.")
    stake_rate: Unit = Field(0.03, description="Daily growth of stake per accommodation.")
    stake_decay: Unit = Field(0.02, description="Daily return of stake to baseline.")
    accommodation_capability_gain: float = coefficient(
        1.0, 10.0, "Capability ceiling gain per (stake x accommodation).")
    accommodation_resupply_gain: float = coefficient(
        1.5, 10.0, "Resupply gain per (stake x accommodation).")
    attack_cost: Unit = Field(0.012, description="Capability used by one attack.")
    pressure_erosion: Unit = Field(0.01, description="Daily capability eroded per pressure.")
    foil_rate: Unit = Field(0.35, description="Chance per pressure that an attack is foiled.")
    tension_rate: Unit = Field(0.04, description="Daily tension per pressure (x (1 - stake/2)).")
    tension_decay: Unit = Field(0.05, description="Daily decay of tension.")
    clash_slope: float = coefficient(0.3, 10.0, "Daily clash chance per unit tension over "
                                     "tolerance.")
    clash_release: Unit = Field(0.3, description="Share of tension released by a clash.")
    contagion: Unit = Field(0.12, description="Tension added to other factions by a clash.")
    confrontation_factions: int = Field(
        2, ge=1, le=50, description="Distinct factions clashing within the window that start it.")
    confrontation_window: int = Field(10, ge=1, le=365, description="Window for confrontation, "
                                      "days.")
    confrontation_cooldown: int = Field(21, ge=1, le=365, description="Clash-free days that end "
                                        "it.")
    stability_baseline: Unit = Field(0.75, description="Stability the state returns to.")
    stability_recovery: Unit = Field(0.05, description="Daily return of stability to baseline.")
    stability_attack_cost: Unit = Field(0.001, description="Stability lost per attack.")
    stability_clash_cost: Unit = Field(0.03, description="Stability lost per clash.")
    stability_confrontation_cost: Unit = Field(0.005, description="Daily loss in confrontation.")
    stability_pressure_cost: Unit = Field(0.012, description="Daily loss per pressure over safe.")
    pressure_safe: Unit = Field(0.4, description="Pressure level that costs no stability.")
    stability_strike_cost: Unit = Field(0.015, description="Stability lost per coalition strike.")
    unilateral_multiplier: float = coefficient(2.0, 10.0, "Cost multiplier without consent.")
    consent_base: Unit = Field(0.3, description="Consent chance with no pressure or appeasement.")
    consent_pressure: Unit = Field(0.6, description="Consent chance added per pressure.")
    consent_appeasement: Unit = Field(0.3, description="Consent chance removed per appeasement.")
    deference: Unit = Field(0.5, description="Strikes withheld per pressure (coalition defers).")
    strike_damage: Unit = Field(0.15, description="Capability share destroyed by a strike.")
    strike_deterrence: Unit = Field(0.06, description="Deterrence added to all factions.")
    revenge: Unit = Field(0.3, description="Hostility added to the struck faction.")
    solidarity: Unit = Field(0.1, description="Share of the revenge felt by other factions "
                             "(x alignment).")
    escalatory_factor: float = coefficient(1.5, 10.0, "Damage and revenge multiplier, "
                                           "escalatory.")
    deterrence_decay: Unit = Field(0.05, description="Daily decay of deterrence.")
    casualty_scale: float = coefficient(1.45, 10.0, "Global multiplier on injuries per hit.")
    casualty_dispersion: float = coefficient(
        0.2, 100.0, "Negative-binomial shape of people hurt per hit (small = heavy tail).",
        low=0.01)
    death_rate: Unit = Field(0.006, description="Chance that each injury is a death instead "
                             "(mean over hits).")
    death_clustering: float = Field(
        0.2, ge=0.001, le=1.0, allow_inf_nan=False, description="Share of hits in which "
        "anyone can die (deaths cluster in those hits: the per-person death chance there is "
        "death_rate / death_clustering); 1 = every hit alike.")
    substitution: float = coefficient(1.0, 10.0, "Cross-border substitution: how far pressure "
                                      "and the state's embarrassment move the target share of "
                                      "launches into Syria.")
    relocation_rate: Unit = Field(0.05, description="Daily share of the gap to the target "
                                  "Syria share that launch teams close.")
    embarrassment_attack: Unit = Field(0.04, description="Embarrassment of the Iraqi state per "
                                       "attack on a site in Iraq.")
    embarrassment_strike: Unit = Field(0.1, description="Embarrassment per coalition strike on "
                                       "Iraqi soil.")
    avoidance: Unit = Field(0.8, description="How much factions without a stake in the state "
                            "avoid sites in Iraq as its embarrassment mounts (those with a "
                            "full stake avoid them fully).")
    embarrassment_decay: Unit = Field(0.05, description="Daily decay of embarrassment.")
    death_deterrence: float = coefficient(0.5, 10.0, "Deterrence added to every faction per "
                                          "U.S. death (the coalition's escalation becomes "
                                          "credible).")
    pause_compliance: float = coefficient(1.0, 10.0, "Chance of complying with a declared pause "
                                          "per unit alignment, capped at 1 (set in advance, "
                                          "not fitted).")
    tbi_share: Unit = Field(0.5, description="Share of injuries that are brain injuries "
                            "(diagnosed late).")
    tbi_lag_days: float = coefficient(7.0, 180.0, "Mean days from a brain injury to its "
                                      "diagnosis (geometric).")
    report_refresh: Unit = Field(0.3, description="Daily chance that the public injury count "
                                 "is brought up to date (it always is after deaths).")
    hardening_gain: Unit = Field(0.0, description="Share of a site's remaining exposure removed "
                                 "after each hit that hurts people (it adapts: shelters, "
                                 "dispersal, warning).")
    force_protection_intercept: float = coefficient(0.4, 10.0, "Interception gain per posture.")
    force_protection_injury: Unit = Field(0.4, description="Injury cut per posture.")
    deescalation_attacks: int = Field(
        2, ge=0, le=1000, description="Trailing 7-day attacks at or below which a day counts "
        "as calm.")
    deescalation_days: int = Field(14, ge=1, le=365, description="Consecutive calm days for "
                                   "de-escalation.")
