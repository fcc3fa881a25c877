"""The ensemble engine's day after the factions: events, the evening, the review, the close.

Each runs for every row at once and mirrors its agent-engine counterpart
(:mod:`sim.model.model`, :mod:`sim.model.agents`) on arrays, the evening row by row in
compiled code (:mod:`sim.model.ensemble_evening`); the engine class
(:class:`sim.model.ensemble.Ensemble`) mixes them in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.model import rules
from sim.model.ensemble_evening import evening
from sim.model.ensemble_state import POLICIES
from sim.scenario.schema import Event


def at(value: float | np.ndarray, rows: np.ndarray) -> float | np.ndarray:
    """A coefficient for ``rows``: the shared float, or the rows' values."""
    return value[rows] if isinstance(value, np.ndarray) else value


class RestOfTheDay:
    """Events, clashes, command, government and the day's close, on arrays over rows."""

    # attributes set by the engine (sim.model.ensemble.Ensemble)
    rows: int
    day: int
    m: Any
    f: dict[str, np.ndarray]
    state: np.ndarray

    # ------------------------------------------------------------------ events

    def apply(self: Any, event: Event) -> None:
        """Set the value an event's path names, in every row (``IraqModel.apply``)."""
        path, value = event.set, event.value
        parts = path.split(".")
        if path == "uncertainties.patron.pause":
            newly = ~self.pause if value else np.zeros(self.rows, dtype=bool)
            if newly.any():
                self.decide_pause(self.day, newly)
            self.pause[:] = bool(value)
        elif path == "uncertainties.patron.signal":
            self.signal[:] = value
        elif parts[:2] == ["uncertainties", "region"]:
            self.region[parts[2]][:] = value
            self.escalation = self._escalation()
        elif path.startswith("levers.government.adaptive"):
            self.adaptive[:] = bool(value)
        elif parts[:2] == ["levers", "government"]:
            self.gov[parts[2]][:] = value
        elif path == "levers.coalition.retaliation":
            self.policy[:] = POLICIES.index(str(value))
        elif path == "levers.coalition.force_protection":
            self.force_protection[:] = value
        elif parts[0] == "factions":
            i, field = self.names.index(parts[1]), parts[2]
            self.f[field][:, i] = value
            if field in ("hostility", "stake"):
                self.f[f"baseline_{field}"][:, i] = value
        elif parts[0] == "bases":
            s = [b.name for b in self.sites].index(parts[1])
            field = parts[2]
            if field in ("open", "troops"):
                (self.open if field == "open" else self.troops)[s] = value
                self.plan_targets()
            else:
                (self.air_defence if field == "air_defence" else self.hardening)[:, s] = value
        else:  # the registry lets no other path be an event
            raise ValueError(f"{path}: not a path an event may set")

    # ------------------------------------------------------------------ evening

    def evening(self: Any) -> None:
        """Clashes, the command's strikes, deterrence from deaths, stability,
        embarrassment and the public count, row by row
        (:func:`sim.model.ensemble_evening.evening`); then, on review days, the adaptive
        rule.
        """
        g, tally = self.gov, self.tally
        today = self.scheduled.get(self.day, ())
        scheduled = np.array([[self.names.index(s.faction), s.severity,
                               float(str(s.country) == "Iraq")] for s in today],
                             dtype=float).reshape(-1, 3)
        strikes = np.empty((self.rows, len(today) + 1, 2), dtype=np.int64)
        offset = self.day_offset()
        evening(self.seeds, offset, self.day, self.evening_coef, self.clash_counters,
                self.coalition_counter, self.report_counter, self.state, self.clashed,
                self.faction_clash_day, self.last_clash_day, self.clashes_since_review,
                self.confrontation, scheduled, self.threshold_values, self.policy,
                self.last_strike_day, g["pressure"], g["appeasement"], tally.today,
                tally.evening_columns, tally.cum_attacks, tally.cum_injuries,
                tally.cum_by_faction, tally.faction_column, self.stability, self.embarrassment,
                self.arrivals, self.known, self.public, strikes)
        if tally.full:
            for i in range(len(self.names)):
                tally.clash_events(np.flatnonzero(self.clashed[:, i]), i)
            for k in range(strikes.shape[1]):
                rows = np.flatnonzero(strikes[:, k, 0] >= 0)
                tally.strike_events(rows, strikes[rows, k, 0], strikes[rows, k, 1] > 0)
        if self.day % self.rule.review_days == 0 and self.adaptive.any():
            self.review(np.flatnonzero(self.adaptive), tally.attacks_last(7))

    def review(self: Any, rows: np.ndarray, weekly: np.ndarray) -> None:
        """The adaptive rule in ``rows`` (``Government.review``)."""
        rule, g = self.rule, self.gov
        weekly, stability = weekly[rows], self.stability[rows]
        pressure, persuasion = g["pressure"][rows], g["persuasion"][rows]
        clashed = self.clashes_since_review[rows] > 0
        up = ~clashed & (weekly > rule.attack_threshold) & (stability > rule.stability_floor)
        down = ~clashed & ~up & ((weekly <= rule.attack_threshold / 2)
                                 | (stability < rule.stability_floor))
        new = np.where(clashed, rules.clip01(pressure - rule.clash_pressure_cut), pressure)
        new = np.where(up, np.minimum(rule.max_pressure, pressure + rule.pressure_step), new)
        new = np.where(down, rules.clip01(pressure - rule.pressure_step), new)
        g["persuasion"][rows] = np.where(
            clashed, rules.clip01(persuasion + rule.clash_persuasion_boost), persuasion)
        g["pressure"][rows] = new
        self.clashes_since_review[rows] = 0

    # ----------------------------------------------------------------- the close

    def record_day(self: Any) -> None:
        """The day's counts and state values."""
        if not self.tally.full and self.day < self.days:  # no table keeps today's values
            self.tally.close_day(self.stability, self.confrontation, None)
            return
        f, g, n = self.f, self.gov, len(self.names)
        teams = f["teams"].sum(axis=1)
        teams = np.where(teams == 0, 1, teams)
        self.tally.close_day(self.stability, self.confrontation, (
            self.stability, f["hostility"].sum(axis=1) / n, f["capability"].sum(axis=1) / n,
            self.escalation, self.signal, g["accommodation"], g["appeasement"],
            g["persuasion"], g["pressure"], self.embarrassment,
            (f["syria_share"] * f["teams"]).sum(axis=1) / teams, self.confrontation))
