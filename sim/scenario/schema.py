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
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.scenario.fields import EVENT, LEVER_EVENT, Frozen, Ident, Unit, coefficient
from sim.scenario.mechanisms import EscalationWeights, Mechanisms

__all__ = ["EVENT", "LEVER_EVENT", "EscalationWeights", "Frozen", "Ident", "Mechanisms", "Unit",
           "coefficient"]


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
    """The external patron's signal to aligned factions, and any pause it declares."""

    signal: float = Field(
        0.3, ge=-1.0, le=1.0, description="-1 = restrain ... 0 = neutral ... +1 = encourage.",
        json_schema_extra=EVENT)
    pause: bool = Field(
        False, description="A declared pause in attacks (a truce the factions say they observe, "
        "or the patron's call to stand down). When it is declared each faction decides once "
        "whether to comply (chance pause_compliance x alignment); compliant factions launch "
        "nothing until it is lifted.", json_schema_extra=EVENT)


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
    syria_area: str = Field("", max_length=120, description="Name of its operating area in "
                            "eastern Syria.")
    syria_lat: float = Field(34.45, ge=-90, le=90, description="Latitude of its launch cells in "
                             "eastern Syria, degrees (default Abu Kamal).")
    syria_lon: float = Field(40.92, ge=-180, le=180, description="Longitude of its launch cells "
                             "in eastern Syria, degrees.")
    syria_share: Unit = Field(0.0, description="Initial share of its launch teams operating "
                              "from eastern Syria (out of reach of the Iraqi state).")
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


class Strike(Frozen):
    """A documented coalition strike, scheduled in a replay (an exogenous input)."""

    day: int = Field(ge=1, le=3650, description="Day of the strike (day 1 = start_date).")
    faction: Ident = Field(description="The faction struck (its name).")
    country: Country = Field(strict=False, description="Where the strike fell: Iraq or Syria.")
    severity: float = Field(1.0, ge=0.0, le=10.0, allow_inf_nan=False,
                            description="Damage, revenge and deterrence relative to one "
                            "ordinary strike.")
    note: str = Field("", max_length=500, description="What happened (free text, with source).")


class Range(Frozen):
    """The plausible range of one uncertain value, for exploration (sensitivity, discovery)."""

    path: str = Field(max_length=200, description="The value's parameter path (`sim params`).")
    low: float = Field(ge=-1e6, le=1e6, allow_inf_nan=False, description="Lowest plausible "
                       "value (within the parameter's bounds).")
    high: float = Field(ge=-1e6, le=1e6, allow_inf_nan=False, description="Highest plausible "
                        "value (above low, within the parameter's bounds).")
    group: str = Field("", max_length=80, description="A group of values that vary together "
                       "in a grouped sensitivity analysis (free text).")
    reason: str = Field(min_length=3, max_length=300, description="Why this range: a source, "
                        "or 'unidentified: ...'.")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"low = {self.low} must be below high = {self.high}")
        return self


# ---------------------------------------------------------------------- scenario


class Scenario(Frozen):
    """A complete, validated scenario."""

    name: Ident = Field(description="Scenario name (defaults to the file name).")
    description: str = Field("", max_length=500, description="One line on what the scenario "
                             "represents.")
    notes: str = Field("", max_length=20_000, description="A paragraph on what it represents "
                       "and assumes.")
    kind: Literal["policy", "replay", "exploration"] = Field(
        "policy", description="'policy' (compared by `sim compare --all-policies`), 'replay' "
        "(a historical replay for validation) or 'exploration' (declares ranges for "
        "exploration; not compared).")
    run: Run = Field(default_factory=Run)
    levers: Levers = Field(default_factory=Levers)
    uncertainties: Uncertainties = Field(default_factory=Uncertainties)
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    weapons: dict[Ident, Weapon] = Field(min_length=1, description="Weapon types by name.")
    factions: list[Faction] = Field(min_length=1, max_length=100, description="Militia factions.")
    bases: list[Base] = Field(min_length=1, max_length=200, description="Coalition sites.")
    events: list[Event] = Field(default_factory=list, max_length=10_000,
                                description="Scheduled changes.")
    ranges: list[Range] = Field(default_factory=list, max_length=10_000,
                                description="Plausible ranges of uncertain values "
                                "(exploration).")
    strikes: list[Strike] = Field(default_factory=list, max_length=10_000,
                                  description="Documented coalition strikes, on top of the "
                                  "command's own decisions.")

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        for kind, items in (("factions", self.factions), ("bases", self.bases)):
            names = [item.name for item in items]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{kind}: duplicate name(s) {dupes}")
        paths = [r.path for r in self.ranges]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ValueError(f"ranges: a path given twice {dupes}")
        names = {f.name for f in self.factions}
        for i, strike in enumerate(self.strikes):
            if strike.faction not in names:
                raise ValueError(f"strikes[{i + 1}].faction = {strike.faction!r}: no such "
                                 f"faction; allowed: {sorted(names)}")
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
