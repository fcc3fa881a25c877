"""The Mesa model: wires the agents, applies scheduled events, records each day.

One step is one day. The model knows nothing of files or processes: it takes a
validated :class:`~sim.schema.Scenario` and a seed, and hands back tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

import mesa
import numpy as np
import pandas as pd

from sim.model import rules
from sim.model.agents import BaseSite, Command, Government, Militia
from sim.scenario.schema import Event, Scenario

COUNTRIES = ("Iraq", "Syria", "Jordan")
EVENT_COLUMNS = ("day", "kind", "faction", "base", "weapon", "outcome", "injuries", "deaths")
COUNT_COLUMNS = ("attacks", "intercepted", "injuries", "deaths", "strikes", "clashes", "foiled")
"""The first daily count columns; per-country, per-faction and per-weapon counts follow."""
ATTACKS, INTERCEPTED, INJURIES, DEATHS, STRIKES, CLASHES, FOILED = range(len(COUNT_COLUMNS))

VALUE_COLUMNS = ("stability", "mean_hostility", "mean_capability", "escalation", "patron_signal",
                 "accommodation", "appeasement", "persuasion", "pressure")


@dataclass
class RegionState:
    """Exogenous conditions: regional drivers and the patron's signal (set by events).

    ``escalation`` is recomputed whenever a driver changes, not on every read.
    """

    gaza: float
    lebanon: float
    red_sea: float
    signal: float
    weights: tuple[float, float, float]
    escalation: float = field(init=False, default=0.0)

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name in ("gaza", "lebanon", "red_sea", "weights") and hasattr(self, "weights"):
            object.__setattr__(self, "escalation", rules.regional_escalation(
                self.gaza, self.lebanon, self.red_sea, self.weights))


def _weights(spec: Scenario) -> tuple[float, float, float]:
    w = spec.mechanisms.escalation_weights
    return (w.gaza, w.lebanon, w.red_sea)


UNIFORM_BLOCK = 512
"""Uniform draws taken from the generator at a time (see :meth:`IraqModel.uniform`)."""


class IraqModel(mesa.Model):
    """Government, militia factions and coalition forces in Iraq and Syria, one day a step.

    Args:
        spec: the validated scenario.
        rng: seed (int or SeedSequence) or generator: the run's one random root.

    """

    def __init__(self, spec: Scenario, rng: int | np.random.SeedSequence | None = None,
                 days: int | None = None) -> None:
        super().__init__(rng=rng)
        self._uniforms: list[float] = []
        self.spec = spec
        self.mechanisms = spec.mechanisms
        self.days = days if days is not None else spec.run.days
        self.day = 0
        u = spec.uncertainties
        self.region = RegionState(u.region.gaza, u.region.lebanon, u.region.red_sea,
                                  u.patron.signal, _weights(spec))
        self.weapons = dict(spec.weapons)
        self.government = Government(self, spec.levers.government,
                                     spec.mechanisms.stability_baseline)
        self.command = Command(self, spec.levers.coalition)
        self.bases = [BaseSite(self, b) for b in spec.bases]
        self.militias = [Militia(self, f, i) for i, f in enumerate(spec.factions)]
        self.distances_km = rules.haversine_km(  # faction x site, in one array call
            np.array([[f.lat] for f in self.militias]), np.array([[f.lon] for f in self.militias]),
            np.array([b.lat for b in self.bases]), np.array([b.lon for b in self.bases])).tolist()
        self.plan_targets()
        self.events_by_day: dict[int, list[Event]] = {}
        for event in spec.events:
            self.events_by_day.setdefault(event.day, []).append(event)
        self._init_records()
        self.confrontation = False
        self.clashes_today = 0
        self.last_clash_day = -10**9
        self.recent_clashes: list[tuple[int, int]] = []

    def uniform(self) -> float:
        """One uniform draw in [0, 1) from the model's generator.

        Draws are taken from ``self.rng`` in blocks of :data:`UNIFORM_BLOCK` (a scalar
        ``rng.random()`` costs about half a microsecond, a list pop a tenth of that);
        the run stays a function of its one seed.
        """
        try:
            return self._uniforms.pop()
        except IndexError:
            self._uniforms = self.rng.random(UNIFORM_BLOCK).tolist()
            return self._uniforms.pop()

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """One day: events, factions, clashes, coalition, government (stability, review), record."""
        self.day += 1
        for event in self.events_by_day.get(self.day, ()):
            self.apply(event)
        for militia in self.militias:
            militia.step()
        self.clashes_today = self.resolve_clashes()
        self.command.step()
        self.government.step()
        self._record(self.clashes_today)
        if self.day >= self.days:
            self.running = False

    def run(self) -> None:
        """Run every day of the horizon.

        Calls the day's :meth:`step` directly: Mesa's wrapped ``step`` goes through its
        event list (an event object and a reschedule per day), about a fifth of a
        short run's time, and this model schedules nothing else on it.
        """
        day = self._user_step
        while self.running:
            self.steps += 1
            day()
        self.time = float(self.steps)

    def resolve_clashes(self) -> int:
        """Today's clashes with the state: contagion among factions and open confrontation."""
        m = self.mechanisms
        clashing = [f for f in self.militias if f.clashed]
        for faction in clashing:
            faction.tension *= 1.0 - m.clash_release
            self.log_event("clash", faction.name, "", "", "clash", 0, 0)
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

    # ------------------------------------------------------------------- events

    def apply(self, event: Event) -> None:
        """Apply one scheduled event (its path and value were checked at load)."""
        parts = event.set.split(".")
        value = event.value
        if parts[0] == "factions":
            faction = next(f for f in self.militias if f.name == parts[1])
            if parts[2] in ("hostility", "stake"):
                setattr(faction, f"baseline_{parts[2]}", value)
            setattr(faction, parts[2], value)
        elif parts[0] == "bases":
            base = next(b for b in self.bases if b.name == parts[1])
            setattr(base, parts[2], value)
            self.plan_targets()
        elif event.set == "levers.government.adaptive.enabled":
            self.government.adaptive = value
        else:
            holder = {"levers.government": self.government, "levers.coalition": self.command,
                      "uncertainties.region": self.region}.get(".".join(parts[:-1]))
            if holder is None:  # uncertainties.patron.signal
                self.region.signal = value
            else:
                setattr(holder, parts[-1], value)

    def plan_targets(self) -> None:
        """Recompute which open sites each faction's weapons reach."""
        for militia, distances in zip(self.militias, self.distances_km, strict=True):
            militia.plan_targets(self.bases, self.weapons, distances)

    # --------------------------------------------------------------- recording

    def _init_records(self) -> None:
        names = [*COUNT_COLUMNS,
                 *(f"attacks_{c.lower()}" for c in COUNTRIES),
                 *(f"attacks_{f.name}" for f in self.militias),
                 *(f"attacks_{w}" for w in self.weapons)]
        column = {name: j for j, name in enumerate(names)}
        # Today's counts are tallied in a plain list (one slot per count column) and kept
        # as one row per day; numpy arrays are built only when asked (``daily_columns``).
        self._count_names = tuple(names)
        self._tally = [0] * len(names)
        self._count_rows: list[list[int]] = []
        self._value_rows: list[tuple] = []
        self._country_column = {c: column[f"attacks_{c.lower()}"] for c in COUNTRIES}
        self._faction_column = [column[f"attacks_{f.name}"] for f in self.militias]
        self._weapon_column = {w: column[f"attacks_{w}"] for w in self.weapons}
        self.events: list[tuple] = []

    @property
    def attacks_today(self) -> int:
        """Attacks so far today."""
        return self._tally[ATTACKS]

    @property
    def injuries_today(self) -> int:
        """Injuries so far today."""
        return self._tally[INJURIES]

    @property
    def deaths_today(self) -> int:
        """Deaths so far today."""
        return self._tally[DEATHS]

    @property
    def daily_counts(self) -> dict[str, np.ndarray]:
        """Daily counts by column name, one entry per day of the horizon (zero after today)."""
        padded = self._padded_columns()
        return {name: padded[name] for name in self._count_names}

    @property
    def daily_values(self) -> dict[str, np.ndarray]:
        """Daily state values by column name, one entry per day of the horizon."""
        padded = self._padded_columns()
        return {name: padded[name] for name in (*VALUE_COLUMNS, "open_confrontation")}

    def _padded_columns(self) -> dict[str, np.ndarray]:
        """:meth:`daily_columns` padded with zeros to the whole horizon."""
        padded = {}
        for name, column in self.daily_columns().items():
            padded[name] = np.zeros(self.days, dtype=column.dtype)
            padded[name][:len(column)] = column
        return padded

    def record_attack(self, attacker: Militia, base: BaseSite, weapon: str, outcome: str,
                      injuries: int, deaths: int) -> None:
        """Count one attack in today's tallies and the event log."""
        tally = self._tally
        tally[ATTACKS] += 1
        if outcome == "intercepted":
            tally[INTERCEPTED] += 1
        tally[INJURIES] += injuries
        tally[DEATHS] += deaths
        tally[self._country_column[base.country]] += 1
        tally[self._faction_column[attacker.index]] += 1
        tally[self._weapon_column[weapon]] += 1
        self.events.append((self.day, "attack", attacker.name, base.name, weapon, outcome,
                            injuries, deaths))

    def record_foiled(self, attacker: Militia, base: BaseSite, weapon: str) -> None:
        """Count one attack foiled before launch by government pressure."""
        self._tally[FOILED] += 1
        self.events.append((self.day, "foiled", attacker.name, base.name, weapon, "foiled", 0, 0))

    def log_event(self, kind: str, faction: str, base: str, weapon: str, outcome: str,
                  injuries: int, deaths: int) -> None:
        """Append one row to the event log."""
        self.events.append((self.day, kind, faction, base, weapon, outcome, injuries, deaths))

    def _record(self, clashes: int) -> None:
        gov, militias, tally = self.government, self.militias, self._tally
        tally[STRIKES] = self.command.strikes_today
        tally[CLASHES] = clashes
        self._count_rows.append(tally)
        self._tally = [0] * len(tally)
        region = self.region
        self._value_rows.append((
            gov.stability, sum([f.hostility for f in militias]) / len(militias),
            sum([f.capability for f in militias]) / len(militias), region.escalation,
            region.signal, gov.accommodation, gov.appeasement, gov.persuasion, gov.pressure,
            self.confrontation))

    def _window(self, days: int) -> list[list[int]]:
        """Count rows of the last ``days`` days, today's tally included."""
        return [*self._count_rows[max(0, self.day - days):self.day], self._tally]

    def attacks_last(self, days: int) -> int:
        """Attacks in the last ``days`` days, today included."""
        return sum([row[ATTACKS] for row in self._window(days)])

    def injuries_last(self, days: int) -> int:
        """Injuries in the last ``days`` days, today included."""
        return sum([row[INJURIES] for row in self._window(days)])

    def most_active_faction(self, days: int) -> Militia | None:
        """The faction with most attacks in the window (attribution); ties by the rng."""
        window = self._window(days)
        totals = [sum([row[j] for row in window]) for j in self._faction_column]
        best = max(totals)
        if best == 0:
            return None
        candidates = [i for i, total in enumerate(totals) if total == best]
        pick = candidates[0] if len(candidates) == 1 else self.rng.choice(candidates)
        return self.militias[int(pick)]

    # ------------------------------------------------------------------ output

    def daily_columns(self) -> dict[str, np.ndarray]:
        """The daily table as numpy columns (one entry per day run so far), in table order."""
        n = self.day
        start = np.datetime64(self.spec.run.start_date, "D")
        columns = {"day": np.arange(1, n + 1, dtype=np.int32),
                   "date": (start + np.arange(n)).astype("datetime64[ns]")}
        width = len(self._count_names)
        counts = np.fromiter(chain.from_iterable(self._count_rows), dtype=np.int32,
                             count=n * width).reshape(n, width)
        for j, name in enumerate(self._count_names):
            columns[name] = counts[:, j].copy()
        width = len(VALUE_COLUMNS) + 1  # the values, then the confrontation flag
        values = np.fromiter(chain.from_iterable(self._value_rows), dtype=float,
                             count=n * width).reshape(n, width)
        for j, name in enumerate(VALUE_COLUMNS):
            columns[name] = values[:, j].copy()
        columns["open_confrontation"] = values[:, -1].astype(bool)
        return columns

    def daily_table(self) -> pd.DataFrame:
        """One row per day of the horizon run so far."""
        return pd.DataFrame(self.daily_columns())

    def event_columns(self) -> dict[str, np.ndarray]:
        """The event log as numpy columns (day and casualties int32, the rest strings)."""
        rows = list(zip(*self.events, strict=True)) or [()] * len(EVENT_COLUMNS)
        columns: dict[str, np.ndarray] = {}
        for name, values in zip(EVENT_COLUMNS, rows, strict=True):
            if name in ("day", "injuries", "deaths"):
                columns[name] = np.array(values, dtype=np.int32)
            else:
                columns[name] = np.array(values, dtype=object)
        return columns

    def event_table(self) -> pd.DataFrame:
        """One row per attack, foiled attack, strike and clash."""
        return pd.DataFrame(self.event_columns())
