"""The Mesa model: wires the agents, applies scheduled events, records each day.

One step is one day. The model knows nothing of files or processes: it takes a
validated :class:`~sim.schema.Scenario` and a seed, and hands back tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import mesa
import numpy as np
import pandas as pd

from sim import rules
from sim.agents import BaseSite, Command, Government, Militia
from sim.schema import Event, Scenario

COUNTRIES = ("Iraq", "Syria", "Jordan")
EVENT_COLUMNS = ("day", "kind", "faction", "base", "weapon", "outcome", "injuries", "deaths")


@dataclass
class RegionState:
    """Exogenous conditions: regional drivers and the patron's signal (set by events)."""

    gaza: float
    lebanon: float
    red_sea: float
    signal: float
    weights: tuple[float, float, float]

    @property
    def escalation(self) -> float:
        """Regional escalation in [0, 1]."""
        return rules.regional_escalation(self.gaza, self.lebanon, self.red_sea, self.weights)


class IraqModel(mesa.Model):
    """Government, militia factions and coalition forces in Iraq and Syria, one day a step.

    Args:
        spec: the validated scenario.
        rng: seed (int or SeedSequence) or generator: the run's one random root.

    """

    def __init__(self, spec: Scenario, rng: int | np.random.SeedSequence | None = None,
                 days: int | None = None) -> None:
        super().__init__(rng=rng)
        self.spec = spec
        self.mechanisms = spec.mechanisms
        self.days = days if days is not None else spec.run.days
        self.day = 0
        u = spec.uncertainties
        self.region = RegionState(u.region.gaza, u.region.lebanon, u.region.red_sea,
                                  u.patron.signal, spec.mechanisms.escalation_weights)
        self.weapons = dict(spec.weapons)
        self.government = Government(self, spec.levers.government,
                                     spec.mechanisms.stability_baseline)
        self.command = Command(self, spec.levers.coalition)
        self.bases = [BaseSite(self, b) for b in spec.bases]
        self.militias = [Militia(self, f, i) for i, f in enumerate(spec.factions)]
        self.plan_targets()
        self.events_by_day: dict[int, list[Event]] = {}
        for event in spec.events:
            self.events_by_day.setdefault(event.day, []).append(event)
        self._init_records()
        self.confrontation = False
        self.last_clash_day = -10**9
        self.recent_clashes: list[tuple[int, int]] = []

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """One day: events, government, factions, clashes, coalition, stability, record."""
        self.day += 1
        for event in self.events_by_day.get(self.day, ()):
            self.apply(event)
        self._start_day()
        self.government.step()
        for militia in self.militias:
            militia.step()
        clashes = self.resolve_clashes()
        self.command.step()
        self.government.update_stability(self.attacks_today, clashes,
                                         self.command.strike_cost_today, self.confrontation)
        self._record(clashes)
        if self.day >= self.days:
            self.running = False

    def run(self) -> None:
        """Run every day of the horizon."""
        while self.running:
            self.step()

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
        horizon = self.day - m.confrontation_window
        self.recent_clashes = [(d, i) for d, i in self.recent_clashes if d > horizon]
        if len({i for _, i in self.recent_clashes}) >= m.confrontation_factions:
            self.confrontation = True
        elif self.day - self.last_clash_day >= m.confrontation_cooldown:
            self.confrontation = False
        return len(clashing)

    # ------------------------------------------------------------------- events

    def apply(self, event: Event) -> None:
        """Apply one scheduled event (paths validated at load)."""
        head, _, rest = event.set.partition(".")
        value = event.value
        if head == "government":
            if rest == "adaptive.enabled":
                self.government.adaptive = bool(value)
            else:
                setattr(self.government, rest, float(value))
        elif head == "coalition":
            setattr(self.command, rest, value if rest == "retaliation" else float(value))
        elif head == "region":
            setattr(self.region, rest, float(value))
        elif head == "patron":
            self.region.signal = float(value)
        elif head == "faction":
            name, _, attr = rest.partition(".")
            faction = next(f for f in self.militias if f.name == name)
            if attr in ("hostility", "stake"):
                setattr(faction, f"baseline_{attr}", float(value))
            setattr(faction, attr, int(value) if attr == "teams" else float(value))
        elif head == "base":
            name, _, attr = rest.partition(".")
            base = next(b for b in self.bases if b.name == name)
            cast = {"open": bool, "troops": int}.get(attr, float)
            setattr(base, attr, cast(value))
            self.plan_targets()

    def plan_targets(self) -> None:
        """Recompute which open sites each faction's weapons reach."""
        for militia in self.militias:
            militia.plan_targets(self.bases, self.weapons)

    # --------------------------------------------------------------- recording

    def _init_records(self) -> None:
        n = self.days
        names = ["attacks", "intercepted", "injuries", "deaths", "strikes", "clashes", "foiled",
                 *(f"attacks_{c.lower()}" for c in COUNTRIES),
                 *(f"attacks_{f.name}" for f in self.militias),
                 *(f"attacks_{w}" for w in self.weapons)]
        self.daily_counts = {name: np.zeros(n, dtype=np.int32) for name in names}
        self.daily_values = {name: np.zeros(n) for name in (
            "stability", "mean_hostility", "mean_capability", "escalation", "patron_signal",
            "accommodation", "appeasement", "persuasion", "pressure")}
        self.daily_values["open_confrontation"] = np.zeros(n, dtype=bool)
        self.events: list[tuple] = []
        self.attacks_by_faction = np.zeros((n, len(self.militias)), dtype=np.int32)

    def _start_day(self) -> None:
        self.attacks_today = self.injuries_today = self.deaths_today = 0
        self._i = self.day - 1

    def record_attack(self, attacker: Militia, base: BaseSite, weapon: str, outcome: str,
                      injuries: int, deaths: int) -> None:
        """Count one attack in today's tallies and the event log."""
        i, counts = self._i, self.daily_counts
        self.attacks_today += 1
        self.injuries_today += injuries
        self.deaths_today += deaths
        counts["attacks"][i] += 1
        counts[f"attacks_{base.country.lower()}"][i] += 1
        counts[f"attacks_{attacker.name}"][i] += 1
        counts[f"attacks_{weapon}"][i] += 1
        counts["intercepted"][i] += outcome == "intercepted"
        counts["injuries"][i] += injuries
        counts["deaths"][i] += deaths
        self.attacks_by_faction[i, attacker.index] += 1
        self.log_event("attack", attacker.name, base.name, weapon, outcome, injuries, deaths)

    def record_foiled(self, attacker: Militia, base: BaseSite, weapon: str) -> None:
        """Count one attack foiled before launch by government pressure."""
        self.daily_counts["foiled"][self._i] += 1
        self.log_event("foiled", attacker.name, base.name, weapon, "foiled", 0, 0)

    def log_event(self, kind: str, faction: str, base: str, weapon: str, outcome: str,
                  injuries: int, deaths: int) -> None:
        """Append one row to the event log."""
        self.events.append((self.day, kind, faction, base, weapon, outcome, injuries, deaths))

    def _record(self, clashes: int) -> None:
        i, values, gov = self._i, self.daily_values, self.government
        self.daily_counts["strikes"][i] = self.command.strikes_today
        self.daily_counts["clashes"][i] = clashes
        values["stability"][i] = gov.stability
        values["mean_hostility"][i] = sum(f.hostility for f in self.militias) / len(self.militias)
        values["mean_capability"][i] = (sum(f.capability for f in self.militias)
                                        / len(self.militias))
        values["escalation"][i] = self.region.escalation
        values["patron_signal"][i] = self.region.signal
        for lever in ("accommodation", "appeasement", "persuasion", "pressure"):
            values[lever][i] = getattr(gov, lever)
        values["open_confrontation"][i] = self.confrontation

    def attacks_last(self, days: int) -> int:
        """Attacks in the last ``days`` days, today included."""
        i = self.day
        return int(self.daily_counts["attacks"][max(0, i - days):i].sum())

    def injuries_last(self, days: int) -> int:
        """Injuries in the last ``days`` days, today included."""
        i = self.day
        return int(self.daily_counts["injuries"][max(0, i - days):i].sum())

    def most_active_faction(self, days: int) -> Militia | None:
        """The faction with most attacks in the window (attribution); ties by the rng."""
        i = self.day
        totals = self.attacks_by_faction[max(0, i - days):i].sum(axis=0)
        best = totals.max()
        if best == 0:
            return None
        candidates = np.flatnonzero(totals == best)
        pick = candidates[0] if len(candidates) == 1 else self.rng.choice(candidates)
        return self.militias[int(pick)]

    # ------------------------------------------------------------------ output

    def daily_table(self) -> pd.DataFrame:
        """One row per day of the horizon run so far."""
        n = self.day
        start = self.spec.run.start_date
        frame = pd.DataFrame({"day": np.arange(1, n + 1, dtype=np.int32)})
        frame["date"] = pd.to_datetime([start + dt.timedelta(days=d) for d in range(n)])
        for name, column in self.daily_counts.items():
            frame[name] = column[:n]
        for name, column in self.daily_values.items():
            frame[name] = column[:n]
        return frame

    def event_table(self) -> pd.DataFrame:
        """One row per attack, foiled attack, strike and clash."""
        frame = pd.DataFrame(self.events, columns=list(EVENT_COLUMNS))
        return frame.astype({"day": "int32", "injuries": "int32", "deaths": "int32"})
