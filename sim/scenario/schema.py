"""The scenario schema: typed, frozen, validated parameter objects (the X, L and R of XLRM).

A scenario is split the way policy analysts split a decision problem (XLRM):

* ``levers``: what decision makers control (the Iraqi government's four levers,
  the coalition's retaliation policy and force-protection posture);
* ``uncertainties``: exogenous conditions nobody here controls (regional
  escalation, the patron's signal);
* the world (``factions``, ``bases``, ``weapons``) and ``mechanisms`` (model
  coefficients), whose values are uncertain too and can be varied by name;
* ``run`` (start date, horizon, seed, replications) and scheduled ``events``.

Every model refuses unknown keys (``extra="forbid"``) and is immutable. Every number
has finite bounds within which the model runs. Field descriptions are the
documentation: ``docs/scenarios.md`` is generated from them, and the parameter
registry (:mod:`sim.scenario.registry`) reads bounds, kinds and which values an
event may set from here.
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
EVENT: dict[str, Any] = {"event": True}
"""Field marker: a scheduled event may set this value (``[[events]] set = PATH``)."""
LEVER_EVENT: dict[str, Any] = {"event": True, "kind": "lever"}
"""Field marker for world values that are decisions (a site's occupation and troops)."""


def coefficient(default: float, high: float, description: str, low: float = 0.0) -> Any:
    """A bounded non-negative model coefficient (a pydantic field)."""
    return Field(default, ge=low, le=high, allow_inf_nan=False, description=description)


class Frozen(BaseModel):
    """Base for all scenario objects: immutable, unknown keys refused, no inf or NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

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
        dt.date(2023, 10, 17), ge=dt.date(1900, 1, 1), le=dt.date(2100, 12, 31),
        description="Calendar date of day 1 (the first claimed attack was on 17 October 2023).",
    )
    days: int = Field(120, ge=1, le=3650, description="Horizon in days (one step is one day).")
    seed: int = Field(20231017, ge=0, le=2**63 - 1,
                      description="Root seed; replication seeds are spawned from it.")
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

    enabled: bool = Field(False, description="Whether the rule drives the levers.",
                          json_schema_extra=EVENT)
    review_days: int = Field(7, ge=1, le=90, description="Days between reviews.")
    attack_threshold: float = coefficient(10.0, 1000.0, "Attacks per 7 days above which "
                                          "pressure is added.")
    stability_floor: Unit = Field(0.6, description="Pressure is added only above this stability.")
    pressure_step: Unit = Field(0.1, description="Change in pressure per review.")
    max_pressure: Unit = Field(0.8, description="Pressure the rule never exceeds.")
    clash_pressure_cut: Unit = Field(0.2, description="Pressure removed after a clash.")
    clash_persuasion_boost: Unit = Field(0.2, description="Persuasion added after a clash.")


class GovernmentLevers(Frozen):
    """The Iraqi government's four levers, each an intensity in [0, 1]."""

    accommodation: Unit = Field(
        0.3, description="Integration of factions into state structures (salaries, posts).",
        json_schema_extra=EVENT)
    appeasement: Unit = Field(
        0.3, description="Concessions: tolerating activity, echoing demands (exit timetable).",
        json_schema_extra=EVENT)
    persuasion: Unit = Field(0.3, description="Private mediation and outreach.",
                             json_schema_extra=EVENT)
    pressure: Unit = Field(0.15, description="Arrests, raids on launch sites, financial pressure.",
                           json_schema_extra=EVENT)
    adaptive: AdaptiveRule = Field(default_factory=AdaptiveRule, description="Adaptive rule.")


class RetaliationThresholds(Frozen):
    """When the coalition command strikes (proportional policy; escalatory halves them)."""

    window_days: int = Field(7, ge=1, le=60, description="Look-back window in days.")
    attacks: float = coefficient(12.0, 1000.0, "Attacks in the window that trigger a strike.")
    injuries: float = coefficient(8.0, 10000.0, "Injuries in the window that trigger a strike.")
    deaths: int = Field(1, ge=1, le=1000, description="Deaths in one day that trigger a strike "
                        "at once.")
    cooldown_days: int = Field(7, ge=0, le=365, description="Minimum days between strikes.")


class CoalitionLevers(Frozen):
    """The U.S.-led coalition's command: posture and retaliation policy."""

    retaliation: Retaliation = Field(
        Retaliation.proportional, strict=False,
        description="Retaliation policy: none, proportional, escalatory.", json_schema_extra=EVENT)
    force_protection: Unit = Field(
        0.5, description="Force-protection posture: raises interception, lowers injuries.",
        json_schema_extra=EVENT)
    thresholds: RetaliationThresholds = Field(default_factory=RetaliationThresholds)


class Levers(Frozen):
    """What decision makers control."""

    government: GovernmentLevers = Field(default_factory=GovernmentLevers)
    coalition: CoalitionLevers = Field(default_factory=CoalitionLevers)


# ----------------------------------------------------------------- uncertainties


class Region(Frozen):
    """Regional escalation drivers, each in [0, 1] (1 = most intense)."""

    gaza: Unit = Field(0.9, description="Intensity of the Gaza war (a truce lowers it).",
                       json_schema_extra=EVENT)
    lebanon: Unit = Field(0.5, description="Hezbollah's escalation on the Lebanese border.",
                          json_schema_extra=EVENT)
    red_sea: Unit = Field(0.5, description="Houthi missile and drone attacks.",
                          json_schema_extra=EVENT)


class Patron(Frozen):
    """The external patron's signal to aligned factions."""

    signal: float = Field(
        0.3, ge=-1.0, le=1.0, description="-1 = restrain ... 0 = neutral ... +1 = encourage.",
        json_schema_extra=EVENT)


class Uncertainties(Frozen):
    """Exogenous conditions nobody in the model controls."""

    region: Region = Field(default_factory=Region)
    patron: Patron = Field(default_factory=Patron)


# --------------------------------------------------------------------- the world


class Weapon(Frozen):
    """A weapon type a faction can use (stylised effectiveness values)."""

    label: str = Field("", max_length=120, description="Human-readable name.")
    range_km: float = Field(ge=1, le=5000, description="Operational reach from the home area, km.")
    hit_probability: Unit = Field(description="Chance an un-intercepted round hits the site.")
    interceptability: Unit = Field(description="Multiplier on a base's air defence.")
    lethality: float = Field(ge=0, le=100, description="Mean injuries per hit on an unhardened "
                             "site.")


class Faction(Frozen):
    """A militia faction (stylised profile for analysis and teaching)."""

    name: Ident = Field(description="Identifier used in parameter paths and column names.")
    label: str = Field("", max_length=120, description="Human-readable name.")
    home_area: str = Field("", max_length=120, description="Name of the home area.")
    lat: float = Field(ge=-90, le=90, description="Home area latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Home area longitude, degrees.")
    teams: int = Field(ge=0, le=50, description="Launch teams: most attacks it can mount a day.",
                       json_schema_extra=EVENT)
    capability: Unit = Field(1.0, description="Initial capability as a share of its own means.")
    emboldenment: Unit = Field(0.0, description="Initial emboldenment (attacks have paid before).")
    resupply: Unit = Field(description="Daily regeneration rate of capability.",
                           json_schema_extra=EVENT)
    hostility: Unit = Field(description="Baseline hostility toward the coalition.",
                            json_schema_extra=EVENT)
    alignment: Unit = Field(description="Alignment with the patron (response to its signal).",
                            json_schema_extra=EVENT)
    stake: Unit = Field(description="Integration in the state (its stake).",
                        json_schema_extra=EVENT)
    receptiveness: Unit = Field(description="Receptiveness to persuasion.",
                                json_schema_extra=EVENT)
    tolerance: Unit = Field(description="Tension it tolerates before it fights the state.",
                            json_schema_extra=EVENT)
    weapons: dict[Ident, Annotated[float, Field(ge=0, le=100)]] = Field(
        description="Weapon name -> relative weight of use.")


class Country(StrEnum):
    """Countries hosting coalition sites."""

    iraq = "Iraq"
    syria = "Syria"
    jordan = "Jordan"


class Base(Frozen):
    """A coalition site (public coordinates; troop and defence values stylised)."""

    name: Ident = Field(description="Identifier used in parameter paths and tables.")
    label: str = Field("", max_length=120, description="Human-readable name.")
    country: Country = Field(strict=False, description="Iraq, Syria or Jordan.")
    lat: float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees.")
    troops: int = Field(ge=0, le=100_000, description="Stylised U.S. troop level.",
                        json_schema_extra=LEVER_EVENT)
    air_defence: Unit = Field(description="Chance an incoming interceptable round is stopped.",
                              json_schema_extra=EVENT)
    hardening: Unit = Field(description="Share of a hit's injuries prevented by hardening.",
                            json_schema_extra=EVENT)
    open: bool = Field(True, description="Whether the site is occupied (can be attacked).",
                       json_schema_extra=LEVER_EVENT)


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
    death_rate: Unit = Field(0.006, description="Chance that each injury is a death instead.")
    force_protection_intercept: float = coefficient(0.4, 10.0, "Interception gain per posture.")
    force_protection_injury: Unit = Field(0.4, description="Injury cut per posture.")
    deescalation_attacks: int = Field(
        2, ge=0, le=1000, description="Trailing 7-day attacks at or below which a day counts "
        "as calm.")
    deescalation_days: int = Field(14, ge=1, le=365, description="Consecutive calm days for "
                                   "de-escalation.")


# ------------------------------------------------------------------------ events


class Event(Frozen):
    """A change scheduled on a day: ``set`` names what changes, ``value`` its new value.

    ``set`` is a parameter path that events may set (``sim params --events`` lists
    them), for example ``levers.government.pressure``, ``uncertainties.region.gaza``,
    ``uncertainties.patron.signal``, ``levers.coalition.retaliation``,
    ``factions.<name>.hostility`` or ``bases.<name>.open``.
    """

    day: int = Field(ge=1, le=3650, description="Day on which it takes effect (day 1 = "
                     "start_date).")
    set: str = Field(max_length=200, description="What changes: a parameter path (see above).")
    value: bool | int | float | str = Field(description="The new value.")
    note: str = Field("", max_length=500, description="Why (free text).")


# ---------------------------------------------------------------------- scenario


class Scenario(Frozen):
    """A complete, validated scenario."""

    name: Ident = Field(description="Scenario name (defaults to the file name).")
    description: str = Field("", max_length=500, description="One line on what the scenario "
                             "represents.")
    notes: str = Field("", max_length=20_000, description="A paragraph on what it represents "
                       "and assumes.")
    kind: Literal["policy", "replay"] = Field(
        "policy", description="'policy' (compared by `sim compare --all-policies`) or 'replay' "
        "(a historical replay for validation).")
    run: Run = Field(default_factory=Run)
    levers: Levers = Field(default_factory=Levers)
    uncertainties: Uncertainties = Field(default_factory=Uncertainties)
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    weapons: dict[Ident, Weapon] = Field(min_length=1, description="Weapon types by name.")
    factions: list[Faction] = Field(min_length=1, max_length=100, description="Militia factions.")
    bases: list[Base] = Field(min_length=1, max_length=200, description="Coalition sites.")
    events: list[Event] = Field(default_factory=list, max_length=10_000,
                                description="Scheduled changes.")

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
