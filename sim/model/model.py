"""The Mesa model: wires the agents, applies scheduled events, and runs the order of the day.

One step is one day (docs/model.md, "Time, order of a day, events"). The model
knows nothing of files or processes: it takes a validated
:class:`~sim.scenario.schema.Scenario` and a replication seed, and hands back columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np

from sim.model import rules
from sim.model.agents import SLOTS, BaseSite, Command, Government, Militia
from sim.model.outcomes import summarise
from sim.model.recorder import Recorder
from sim.model.reporting import Reporting
from sim.model.streams import COALITION_DRAWS, Streams
from sim.scenario.schema import Event, Scenario


@dataclass
class RegionState:
    """Exogenous conditions: regional drivers and the patron's signal (set by events).

    ``escalation`` is recomputed whenever a driver changes, not on every read.
    """

    gaza: float
    lebanon: float
    red_sea: float
    signal: float
    weights: dict[str, float]
    pause: bool = False
    escalation: float = field(init=False, default=0.0)

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name in ("gaza", "lebanon", "red_sea", "weights") and hasattr(self, "weights"):
            w = self.weights
            object.__setattr__(self, "escalation", rules.regional_escalation(
                self.gaza, self.lebanon, self.red_sea, w_gaza=w["gaza"],
                w_lebanon=w["lebanon"], w_red_sea=w["red_sea"]))


class IraqModel(mesa.Model):
    """Government, militia factions and coalition forces in Iraq and Syria, one day a step.

    Args:
        spec: the validated scenario.
        seed: the replication's seed: the root of every random draw of the run.
        days: horizon (default ``spec.run.days``).

    """

    def __init__(self, spec: Scenario, seed: int = 0, days: int | None = None) -> None:
        super().__init__(rng=seed)
        self.spec, self.mechanisms = spec, spec.mechanisms
        self.days = days if days is not None else spec.run.days
        self.day = 0
        streams = Streams(seed)
        u = spec.uncertainties
        self.region = RegionState(u.region.gaza, u.region.lebanon, u.region.red_sea,
                                  u.patron.signal, spec.mechanisms.escalation_weights.model_dump(),
                                  u.patron.pause)
        self.reporting = Reporting(self.days, streams.table("report", "public_count", self.days, 1),
                                   spec.mechanisms.report_refresh)
        self.weapons = dict(spec.weapons)
        self.government = Government(self, spec.levers.government,
                                     spec.mechanisms.stability_baseline)
        self.command = Command(self, spec.levers.coalition,
                               streams.table("coalition", "command", self.days,
                                             len(COALITION_DRAWS)))
        self.bases = [BaseSite(self, b) for b in spec.bases]
        self.militias = []
        for i, faction in enumerate(spec.factions):
            width = SLOTS * most_teams(spec, faction.name)
            self.militias.append(Militia(
                self, faction, i, streams.table("attack", faction.name, self.days, width), width,
                streams.table("clash", faction.name, self.days, 1),
                streams.table("pause", faction.name, self.days, 1)))
            if self.region.pause:
                self.militias[-1].decide_pause(1)
        self.recorder = Recorder([f.name for f in self.militias], list(self.weapons),
                                 spec.run.start_date)
        lat, lon = np.array([b.lat for b in self.bases]), np.array([b.lon for b in self.bases])
        home, syria = (rules.haversine_km(  # faction x site, in one array call per side
            np.array([[getattr(f, a)] for f in self.militias]),
            np.array([[getattr(f, o)] for f in self.militias]), lat, lon).tolist()
            for a, o in (("lat", "lon"), ("syria_lat", "syria_lon")))
        self.distances_km = list(zip(home, syria, strict=True))
        self.plan_targets()
        self.events_by_day: dict[int, list[Event]] = {}
        for event in spec.events:
            self.events_by_day.setdefault(event.day, []).append(event)
        self.confrontation = False
        self.clashes_today = 0
        self.last_clash_day = -10**9
        self.recent_clashes: list[tuple[int, int]] = []

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """One day: events, factions, clashes, coalition, deaths felt, government (stability,
        embarrassment, review), record.
        """
        self.day += 1
        for event in self.events_by_day.get(self.day, ()):
            self.apply(event)
        for militia in self.militias:
            militia.step()
        self.clashes_today = self.resolve_clashes()
        self.command.step()
        if deaths := self.recorder.deaths_today:
            for militia in self.militias:
                militia.feel_deaths(deaths)
        self.government.step()
        self.record_day()
        if self.day >= self.days:
            self.running = False

    def run(self) -> None:
        """Run the remaining days of the horizon, then set Mesa's counters to the day reached.

        Each day is this class's own public ``step`` (the order of the day). Mesa's
        ``model.step()`` wraps the same method in its event clock, for models that
        schedule events on it: an event object, weak references and a time signal per
        call, about 15 µs a day, a quarter of a 365-day replication. This model
        schedules nothing there, so a batch run calls the day directly; the teaching
        page steps through ``model.step()``. Both give the same tables
        (``tests/model/test_model.py``).
        """
        day = type(self).step
        while self.running:
            day(self)
        self.steps = self.day
        self.time = float(self.day)

    def resolve_clashes(self) -> int:
        """Today's clashes with the state: contagion among factions and open confrontation."""
        m = self.mechanisms
        clashing = [f for f in self.militias if f.clashed]
        for faction in clashing:
            faction.tension *= 1.0 - m.clash_release
            self.recorder.clash(self.day, faction.name)
            self.recent_clashes.append((self.day, faction.index))
            for other in self.militias:
                if other is not faction:
                    other.tension += m.contagion * (1.0 - other.stake)
        if clashing:
            self.government.clashes_since_review += len(clashing)
            self.last_clash_day = self.day
        if self.recent_clashes:
            horizon = self.day - m.confrontation_window
            self.recent_clashes = [(d, i) for d, i in self.recent_clashes if d > horizon]
        if len({i for _, i in self.recent_clashes}) >= m.confrontation_factions:
            self.confrontation = True
        elif self.day - self.last_clash_day >= m.confrontation_cooldown:
            self.confrontation = False
        return len(clashing)

    def record_day(self) -> None:
        """Close the day in the record with the state values of its end."""
        gov, militias, region = self.government, self.militias, self.region
        n = len(militias)
        teams = sum([f.teams for f in militias]) or 1
        self.recorder.reported(self.reporting.close_day(self.day, self.recorder.deaths_today))
        self.recorder.close_day((
            gov.stability, sum([f.hostility for f in militias]) / n,
            sum([f.capability for f in militias]) / n, region.escalation, region.signal,
            gov.accommodation, gov.appeasement, gov.persuasion, gov.pressure,
            gov.embarrassment, sum([f.syria_share * f.teams for f in militias]) / teams,
            self.confrontation))

    # ------------------------------------------------------------------- events

    def apply(self, event: Event) -> None:
        """Apply one scheduled event: set the value its parameter path names.

        Setting a faction's hostility or stake sets its underlying (baseline) value
        too; changing a site re-plans every faction's targets; declaring a pause has
        every faction decide whether it complies.
        """
        holder, attribute = self.holder(event.set)
        if event.set == "uncertainties.patron.pause" and event.value and not self.region.pause:
            for militia in self.militias:
                militia.decide_pause(self.day)
        setattr(holder, attribute, event.value)
        if isinstance(holder, Militia) and attribute in ("hostility", "stake"):
            setattr(holder, f"baseline_{attribute}", event.value)
        if isinstance(holder, BaseSite):
            self.plan_targets()

    def holder(self, path: str) -> tuple[Any, str]:
        """The object and attribute that hold the value a parameter path names."""
        parts = path.split(".")
        if parts[0] == "factions":
            return next(f for f in self.militias if f.name == parts[1]), parts[2]
        if parts[0] == "bases":
            return next(b for b in self.bases if b.name == parts[1]), parts[2]
        holders = {"levers.government": self.government, "levers.coalition": self.command,
                   "levers.government.adaptive": (self.government, "adaptive"),
                   "uncertainties.region": self.region,
                   "uncertainties.patron": self.region}
        found = holders[".".join(parts[:-1])]
        return found if isinstance(found, tuple) else (found, parts[-1])

    def plan_targets(self) -> None:
        """Recompute which open sites each faction's weapons reach."""
        for militia, distances in zip(self.militias, self.distances_km, strict=True):
            militia.plan_targets(self.bases, self.weapons, distances)


def most_teams(spec: Scenario, faction: str) -> int:
    """The most launch teams a faction has on any day (its initial teams or an event's)."""
    path = f"factions.{faction}.teams"
    return max([spec.faction(faction).teams,
                *(int(e.value) for e in spec.events if e.set == path)])


@dataclass
class Columns:
    """One replication as numpy columns (the lean form the backends pass around)."""

    daily: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    summary: dict[str, Any]


def simulate(spec: Scenario, seed: int, days: int | None = None) -> Columns:
    """Run one replication and return its daily and event columns and its summary.

    Args:
        spec: the validated scenario.
        seed: the replication's seed.
        days: horizon; defaults to ``spec.run.days``.

    """
    model = IraqModel(spec, seed=seed, days=days)
    model.run()
    daily = model.recorder.daily_columns()
    return Columns(daily, model.recorder.event_columns(), summarise(daily, spec.mechanisms))
