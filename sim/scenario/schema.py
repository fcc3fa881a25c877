"""The scenario schema: typed, frozen, validated parameter objects.

A scenario is split the way policy analysts split a decision problem (XLRM):

* ``levers``: what decision makers control (the Iraqi government's four levers,
  the coalition's retaliation policy and force-protection posture);
* ``uncertainties``: exogenous conditions nobody here controls (regional
  escalation, the patron's signal);
* the world (``factions``, ``bases``, ``weapons``) and ``mechanisms`` (model
  coefficients), whose values are uncertain too and can be varied by name;
* ``run`` (start date, horizon, seed, replications) and scheduled ``events``.

Every model refuses unknown keys (``extra="forbid"``) and is immutable. Field
descriptions are the documentation: ``docs/scenarios.md`` is generated from them.
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


class Frozen(BaseModel):
    """Base for all scenario objects: immutable, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle (workers receive the scenario this way) with interned field names.

        Pickle rebuilds the field dictionary with new, un-interned key strings, and
        CPython's specialised attribute lookup (``LOAD_ATTR_WITH_HINT``) checks key
        identity: without interning, every ``mechanisms.<coefficient>`` read in a
        worker takes the slow path and a replication runs about 20% slower there.
        """
        fields = {sys.intern(key): value for key, value in state.get("__dict__", {}).items()}
        super().__setstate__({**state, "__dict__": fields})


# --------------------------------------------------------------------------- run


class Run(Frozen):
    """How the scenario is run."""

    start_date: dt.date = Field(
        dt.date(2023, 10, 17),
        description="Calendar date of day 1 (the first claimed attack was on 17 October 2023).",
    )
    days: int = Field(120, ge=1, le=3650, description="Horizon in days (one step is one day).")
    seed: int = Field(20231017, ge=0, description="Root seed; replication seeds are spawned from it.")
    replications: int = Field(50, ge=1, le=1_000_000, description="Default number of replications.")


# ------------------------------------------------------------------------ levers


class Retaliation(StrEnum):
    """Coalition retaliation policies."""

    none = "none"
    proportional = "proportional"
    escalatory = "escalatory"


class AdaptiveRule(Frozen):
    """An adaptive government rule, reviewed every ``review_days``.

    Adds pressure while weekly attacks exceed ``attack_threshold`` and stability is
    above ``stability_floor``; eases pressure when attacks are low or stability is
    below the floor; after a clash it cuts pressure and shifts toward persuasion.
    """

    enabled: bool = Field(False, description="Whether the rule drives the levers.")
    review_days: int = Field(7, ge=1, le=90, description="Days between reviews.")
    attack_threshold: float = Field(
        10.0, ge=0.0, description="Attacks per 7 days above which pressure is added."
    )
    stability_floor: Unit = Field(0.6, description="Pressure is added only above this stability.")
    pressure_step: Unit = Field(0.1, description="Change in pressure per review.")
    max_pressure: Unit = Field(0.8, description="Pressure the rule never exceeds.")
    clash_pressure_cut: Unit = Field(0.2, description="Pressure removed after a clash.")
    clash_persuasion_boost: Unit = Field(0.2, description="Persuasion added after a clash.")


class GovernmentLevers(Frozen):
    """The Iraqi government's four levers, each an intensity in [0, 1]."""

    accommodation: Unit = Field(
        0.3, description="Integration of factions into state structures (salaries, posts)."
    )
    appeasement: Unit = Field(
        0.3, description="Concessions: tolerating activity, echoing demands (exit timetable)."
    )
    persuasion: Unit = Field(0.3, description="Private mediation and outreach.")
    pressure: Unit = Field(0.15, description="Arrests, raids on launch sites, financial pressure.")
    adaptive: AdaptiveRule = Field(default_factory=AdaptiveRule, description="Adaptive rule.")


class RetaliationThresholds(Frozen):
    """When the coalition command strikes (proportional policy; escalatory halves them)."""

    window_days: int = Field(7, ge=1, le=60, description="Look-back window in days.")
    attacks: float = Field(12.0, ge=0.0, description="Attacks in the window that trigger a strike.")
    injuries: float = Field(8.0, ge=0.0, description="Injuries in the window that trigger a strike.")
    deaths: int = Field(1, ge=1, description="Deaths in one day that trigger a strike at once.")
    cooldown_days: int = Field(7, ge=0, le=365, description="Minimum days between strikes.")


class CoalitionLevers(Frozen):
    """The U.S.-led coalition's command: posture and retaliation policy."""

    retaliation: Retaliation = Field(
        Retaliation.proportional, strict=False,
        description="Retaliation policy: none, proportional, escalatory."
    )
    force_protection: Unit = Field(
        0.5, description="Force-protection posture: raises interception, lowers injuries."
    )
    thresholds: RetaliationThresholds = Field(default_factory=RetaliationThresholds)


class Levers(Frozen):
    """What decision makers control."""

    government: GovernmentLevers = Field(default_factory=GovernmentLevers)
    coalition: CoalitionLevers = Field(default_factory=CoalitionLevers)


# ----------------------------------------------------------------- uncertainties


class Region(Frozen):
    """Regional escalation drivers, each in [0, 1] (1 = most intense)."""

    gaza: Unit = Field(0.9, description="Intensity of the Gaza war (a truce lowers it).")
    lebanon: Unit = Field(0.5, description="Hezbollah's escalation on the Lebanese border.")
    red_sea: Unit = Field(0.5, description="Houthi missile and drone attacks.")


class Patron(Frozen):
    """The external patron's signal to aligned factions."""

    signal: float = Field(
        0.3, ge=-1.0, le=1.0, description="-1 = restrain ... 0 = neutral ... +1 = encourage."
    )


class Uncertainties(Frozen):
    """Exogenous conditions nobody in the model controls."""

    region: Region = Field(default_factory=Region)
    patron: Patron = Field(default_factory=Patron)


# --------------------------------------------------------------------- the world


class Weapon(Frozen):
    """A weapon type a faction can use (stylised effectiveness values)."""

    label: str = Field("", description="Human-readable name.")
    range_km: float = Field(gt=0, description="Operational reach from the home area, km.")
    hit_probability: Unit = Field(description="Chance an un-intercepted round hits the site.")
    interceptability: Unit = Field(description="Multiplier on a base's air defence.")
    lethality: NonNeg = Field(description="Mean injuries per hit on an unhardened site.")


class Faction(Frozen):
    """A militia faction (stylised profile for analysis and teaching)."""

    name: Ident = Field(description="Identifier used in events and column names.")
    label: str = Field("", description="Human-readable name.")
    home_area: str = Field("", description="Name of the home area.")
    lat: float = Field(ge=-90, le=90, description="Home area latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Home area longitude, degrees.")
    teams: int = Field(ge=0, le=50, description="Launch teams: most attacks it can mount a day.")
    capability: Unit = Field(1.0, description="Initial capability as a share of its own means.")
    emboldenment: Unit = Field(0.0, description="Initial emboldenment (attacks have paid before).")
    resupply: Unit = Field(description="Daily regeneration rate of capability.")
    hostility: Unit = Field(description="Baseline hostility toward the coalition.")
    alignment: Unit = Field(description="Alignment with the patron (response to its signal).")
    stake: Unit = Field(description="Integration in the state (its stake).")
    receptiveness: Unit = Field(description="Receptiveness to persuasion.")
    tolerance: Unit = Field(description="Tension it tolerates before it fights the state.")
    weapons: dict[Ident, NonNeg] = Field(description="Weapon name -> relative weight of use.")


class Country(StrEnum):
    """Countries hosting coalition sites."""

    iraq = "Iraq"
    syria = "Syria"
    jordan = "Jordan"


class Base(Frozen):
    """A coalition site (public coordinates; troop and defence values stylised)."""

    name: Ident = Field(description="Identifier used in events and tables.")
    label: str = Field("", description="Human-readable name.")
    country: Country = Field(strict=False, description="Iraq, Syria or Jordan.")
    lat: float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees.")
    troops: int = Field(ge=0, le=100_000, description="Stylised U.S. troop level.")
    air_defence: Unit = Field(description="Chance an incoming interceptable round is stopped.")
    hardening: Unit = Field(description="Share of a hit's injuries prevented by hardening.")
    open: bool = Field(True, description="Whether the site is occupied (can be attacked).")


class Mechanisms(Frozen):
    """Model coefficients (see docs/model.md for each formula)."""

    base_propensity: float = Field(-2.6, ge=-20, le=20, description="Intercept of the attack logit.")
    w_hostility: NonNeg = Field(5.0, description="Logit weight of hostility.")
    w_escalation: NonNeg = Field(1.6, description="Logit weight of regional escalation x alignment.")
    w_emboldenment: NonNeg = Field(6.0, description="Logit weight of emboldenment.")
    w_patron: NonNeg = Field(1.5, description="Logit weight of the patron's signal x alignment.")
    w_pressure: NonNeg = Field(1.2, description="Logit restraint weight of pressure.")
    w_deterrence: NonNeg = Field(1.0, description="Logit restraint weight of deterrence.")
    w_stake: NonNeg = Field(2.5, description="Logit restraint weight of stake.")
    escalation_weights: tuple[NonNeg, NonNeg, NonNeg] = Field(
        (0.6, 0.25, 0.15), strict=False, description="Weights of gaza, lebanon, red_sea in escalation."
    )
    hostility_drift: Unit = Field(0.05, description="Daily return of hostility to its underlying "
                                  "level.")
    appeasement_rate: Unit = Field(0.1, description="Daily hostility reduction per appeasement.")
    persuasion_rate: Unit = Field(0.02, description="Daily reduction of underlying hostility "
                                  "per (persuasion x receptiveness).")
    emboldenment_gain: Unit = Field(0.04, description="Emboldenment per day appeased while attacking.")
    emboldenment_decay: Unit = Field(0.015, description="Daily decay of emboldenment.")
    stake_rate: Unit = Field(0.03, description="Daily growth of stake per accommodation.")
    stake_decay: Unit = Field(0.02, description="Daily return of stake to baseline.")
    accommodation_capability_gain: NonNeg = Field(
        1.0, description="Capability ceiling gain per (stake x accommodation)."
    )
    accommodation_resupply_gain: NonNeg = Field(
        1.5, description="Resupply gain per (stake x accommodation)."
    )
    attack_cost: Unit = Field(0.012, description="Capability used by one attack.")
    pressure_erosion: Unit = Field(0.01, description="Daily capability eroded per pressure.")
    foil_rate: Unit = Field(0.35, description="Chance per pressure that an attack is foiled.")
    tension_rate: Unit = Field(0.04, description="Daily tension per pressure (x (1 - stake/2)).")
    tension_decay: Unit = Field(0.05, description="Daily decay of tension.")
    clash_slope: NonNeg = Field(0.3, description="Daily clash chance per unit tension over tolerance.")
    clash_release: Unit = Field(0.3, description="Share of tension released by a clash.")
    contagion: Unit = Field(0.12, description="Tension added to other factions by a clash.")
    confrontation_factions: int = Field(
        2, ge=1, description="Distinct factions clashing within the window that start it."
    )
    confrontation_window: int = Field(10, ge=1, description="Window for confrontation, days.")
    confrontation_cooldown: int = Field(21, ge=1, description="Clash-free days that end it.")
    stability_baseline: Unit = Field(0.75, description="Stability the state returns to.")
    stability_recovery: Unit = Field(0.05, description="Daily return of stability to baseline.")
    stability_attack_cost: Unit = Field(0.001, description="Stability lost per attack.")
    stability_clash_cost: Unit = Field(0.03, description="Stability lost per clash.")
    stability_confrontation_cost: Unit = Field(0.005, description="Daily loss in confrontation.")
    stability_pressure_cost: Unit = Field(0.012, description="Daily loss per pressure over safe.")
    pressure_safe: Unit = Field(0.4, description="Pressure level that costs no stability.")
    stability_strike_cost: Unit = Field(0.015, description="Stability lost per coalition strike.")
    unilateral_multiplier: NonNeg = Field(2.0, description="Cost multiplier without consent.")
    consent_base: Unit = Field(0.3, description="Consent chance with no pressure or appeasement.")
    consent_pressure: Unit = Field(0.6, description="Consent chance added per pressure.")
    consent_appeasement: Unit = Field(0.3, description="Consent chance removed per appeasement.")
    deference: Unit = Field(0.5, description="Strikes withheld per pressure (coalition defers).")
    strike_damage: Unit = Field(0.15, description="Capability share destroyed by a strike.")
    strike_deterrence: Unit = Field(0.06, description="Deterrence added to all factions.")
    revenge: Unit = Field(0.3, description="Hostility added to the struck faction.")
    solidarity: Unit = Field(0.1, description="Share of the revenge felt by other factions "
                             "(x alignment).")
    escalatory_factor: NonNeg = Field(1.5, description="Damage and revenge multiplier, escalatory.")
    deterrence_decay: Unit = Field(0.05, description="Daily decay of deterrence.")
    casualty_scale: NonNeg = Field(1.45, description="Global multiplier on injuries per hit.")
    casualty_dispersion: float = Field(
        0.2, gt=0, le=100, description="Negative-binomial shape k (smaller = heavier tail)."
    )
    death_rate: Unit = Field(0.006, description="Chance that each injury is a death instead.")
    force_protection_intercept: NonNeg = Field(0.4, description="Interception gain per posture.")
    force_protection_injury: Unit = Field(0.4, description="Injury cut per posture.")
    deescalation_attacks: int = Field(
        2, ge=0, description="Trailing 7-day attacks at or below which a day counts as calm."
    )
    deescalation_days: int = Field(14, ge=1, description="Consecutive calm days for de-escalation.")


# ------------------------------------------------------------------------ events

EVENT_TARGETS = {
    "government": ("accommodation", "appeasement", "persuasion", "pressure", "adaptive.enabled"),
    "coalition": ("retaliation", "force_protection"),
    "region": ("gaza", "lebanon", "red_sea"),
    "patron": ("signal",),
    "faction": ("hostility", "alignment", "stake", "receptiveness", "tolerance", "teams",
                "resupply"),
    "base": ("open", "troops", "air_defence", "hardening"),
}


class Event(Frozen):
    """A change scheduled on a day: ``set`` names what changes, ``value`` its new value.

    ``set`` is one of ``government.<lever>``, ``government.adaptive.enabled``,
    ``coalition.retaliation``, ``coalition.force_protection``,
    ``region.<gaza|lebanon|red_sea>``, ``patron.signal``,
    ``faction.<name>.<attribute>`` or ``base.<name>.<open|troops|air_defence|hardening>``.
    """

    day: int = Field(ge=1, description="Day on which it takes effect (day 1 = start_date).")
    set: str = Field(description="What changes, as a dotted path (see above).")
    value: bool | int | float | str = Field(description="The new value.")
    note: str = Field("", description="Why (free text).")


# ---------------------------------------------------------------------- scenario


class Scenario(Frozen):
    """A complete, validated scenario."""

    name: Ident = Field(description="Scenario name (defaults to the file name).")
    description: str = Field("", description="One line on what the scenario represents.")
    notes: str = Field("", description="A paragraph on what it represents and assumes.")
    kind: Literal["policy", "replay"] = Field(
        "policy", description="'policy' (compared by `sim compare --all-policies`) or 'replay' "
        "(a historical replay for validation).")
    run: Run = Field(default_factory=Run)
    levers: Levers = Field(default_factory=Levers)
    uncertainties: Uncertainties = Field(default_factory=Uncertainties)
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    weapons: dict[Ident, Weapon] = Field(description="Weapon types by name.")
    factions: list[Faction] = Field(min_length=1, description="Militia factions.")
    bases: list[Base] = Field(min_length=1, description="Coalition sites.")
    events: list[Event] = Field(default_factory=list, description="Scheduled changes.")

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        for kind, items in (("factions", self.factions), ("bases", self.bases)):
            names = [item.name for item in items]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{kind}: duplicate name(s) {dupes}")
        for faction in self.factions:
            unknown = sorted(set(faction.weapons) - set(self.weapons))
            if unknown:
                raise ValueError(
                    f"factions.{faction.name}.weapons: unknown weapon(s) {unknown}; "
                    f"allowed: {sorted(self.weapons)}"
                )
        return self

    def faction(self, name: str) -> Faction:
        """Return the faction called ``name``."""
        return next(f for f in self.factions if f.name == name)

    def base(self, name: str) -> Base:
        """Return the base called ``name``."""
        return next(b for b in self.bases if b.name == name)


def event_value_type(scenario_data: dict[str, Any], path: str) -> tuple[type[Frozen], str]:
    """Return the schema class and field that an event path sets.

    Args:
        scenario_data: the merged scenario dict (to know faction and base names).
        path: the event's ``set`` path.

    Raises:
        ValueError: with a message saying what is allowed.

    """
    head, _, rest = path.partition(".")
    if head not in EVENT_TARGETS:
        raise ValueError(f"unknown target '{head}'; allowed: {sorted(EVENT_TARGETS)}")
    if head in ("faction", "base"):
        name, _, attr = rest.partition(".")
        plural = head + "s"
        names = [item.get("name") for item in scenario_data.get(plural, [])]
        if name not in names:
            raise ValueError(f"unknown {head} '{name}'; allowed: {names}")
        rest = attr
    if rest not in EVENT_TARGETS[head]:
        allowed = [f"{head}.{a}" if head not in ("faction", "base") else f"{head}.<name>.{a}"
                   for a in EVENT_TARGETS[head]]
        raise ValueError(f"cannot set '{rest}' of {head}; allowed: {allowed}")
    cls: dict[str, type[Frozen]] = {
        "government": GovernmentLevers, "coalition": CoalitionLevers, "region": Region,
        "patron": Patron, "faction": Faction, "base": Base,
    }
    if rest == "adaptive.enabled":
        return AdaptiveRule, "enabled"
    return cls[head], rest
