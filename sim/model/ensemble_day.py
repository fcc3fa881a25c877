"""The ensemble engine's day after the factions: events, clashes, command, government, close.

Each runs for every row at once and mirrors its agent-engine counterpart
(:mod:`sim.model.model`, :mod:`sim.model.agents`) line for line on arrays; the engine class
(:class:`sim.model.ensemble.Ensemble`) mixes them in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.model import rules
from sim.model.ensemble_state import POLICIES
from sim.scenario.schema import Event

CONSENT_SLOT, DEFER_SLOT, ATTRIBUTION_SLOT, WHERE_SLOT = 1, 0, 2, 3


def at(value: float | np.ndarray, rows: np.ndarray) -> float | np.ndarray:
    """A coefficient for ``rows``: the shared float, or the rows' values."""
    return value[rows] if isinstance(value, np.ndarray) else value


def col(value: float | np.ndarray) -> float | np.ndarray:
    """A coefficient beside a (rows, factions) array: the float, or a column of rows."""
    return value[:, None] if isinstance(value, np.ndarray) else value


class RestOfTheDay:
    """Events, clashes, command, government and the day's close, on arrays over rows."""

    # attributes set by the engine (sim.model.ensemble.Ensemble)
    rows: int
    day: int
    m: Any
    f: dict[str, np.ndarray]

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

    # ----------------------------------------------------------------- clashes

    def resolve_clashes(self: Any) -> np.ndarray:
        """Today's clashes with the state: contagion, open confrontation; clashes per row."""
        m, f = self.m, self.f
        clashes = np.zeros(self.rows, dtype=np.int64)
        for i in range(len(self.names)):
            rows = np.flatnonzero(self.clashed[:, i])
            if not len(rows):
                continue
            f["tension"][rows, i] = f["tension"][rows, i] * (1.0 - at(m.clash_release, rows))
            self.tally.clash(rows, i)
            self.faction_clash_day[rows, i] = self.day
            for j in range(len(self.names)):
                if j != i:
                    f["tension"][rows, j] = f["tension"][rows, j] + at(m.contagion, rows) * (
                        1.0 - f["stake"][rows, j])
            clashes[rows] += 1
        some = clashes > 0
        self.clashes_since_review[some] += clashes[some]
        self.last_clash_day[some] = self.day
        horizon = self.day - np.asarray(m.confrontation_window)
        recent = (self.faction_clash_day > np.reshape(horizon, (-1, 1))).sum(axis=1)
        start = recent >= np.asarray(m.confrontation_factions)
        end = ~start & (self.day - self.last_clash_day >= np.asarray(m.confrontation_cooldown))
        self.confrontation = np.where(start, True, np.where(end, False, self.confrontation))
        return clashes

    # ----------------------------------------------------------------- command

    def command(self: Any) -> tuple[np.ndarray, np.ndarray]:
        """Documented strikes, then the command's own rule; (strike cost, strikes in Iraq)."""
        m, t, tally = self.m, self.thresholds, self.tally
        cost = np.zeros(self.rows)
        in_iraq = np.zeros(self.rows, dtype=np.int64)
        everyone = np.arange(self.rows)
        u = self.draws("coalition", "command", [0, 1, 2, 3], everyone)
        for strike in self.scheduled.get(self.day, ()):
            target = np.full(self.rows, self.names.index(strike.faction))
            self.strike(everyone, target, u[:, CONSENT_SLOT], strike.severity,
                        np.full(self.rows, str(strike.country) == "Iraq"), cost, in_iraq)
        escalatory = self.policy == 2
        cooldown = np.where(escalatory, t.cooldown_days // 2, t.cooldown_days)
        factor = np.where(escalatory, 0.5, 1.0)
        due = ((self.policy != 0) & (self.day - self.last_strike_day >= cooldown)
               & ((tally.today_column("deaths") >= t.deaths)
                  | (tally.attacks_last(t.window_days) >= factor * t.attacks)
                  | (tally.injuries_last(t.window_days) >= factor * t.injuries)))
        due &= ~(u[:, DEFER_SLOT] < at(m.deference, everyone) * self.gov["pressure"])
        by_faction = tally.attacks_by_faction(t.window_days)
        best = by_faction.max(axis=1)
        due &= best > 0
        rows = np.flatnonzero(due)
        if len(rows):
            tied = by_faction[rows] == best[rows, None]
            pick = (u[rows, ATTRIBUTION_SLOT] * tied.sum(axis=1)).astype(np.int64)
            target = np.argmax(np.cumsum(tied, axis=1) > pick[:, None], axis=1)
            syria = u[rows, WHERE_SLOT] < self.f["syria_share"][rows, target]
            self.strike(rows, target, u[rows, CONSENT_SLOT], 1.0, ~syria, cost, in_iraq)
        return cost, in_iraq

    def strike(self: Any, rows: np.ndarray, target: np.ndarray, u_consent: np.ndarray,
               severity: float, in_iraq: np.ndarray, cost: np.ndarray,
               strikes_in_iraq: np.ndarray) -> None:
        """The command strikes faction ``target[k]`` in row ``rows[k]`` (``Command.strike``)."""
        m, f, gov = self.m, self.f, self.gov
        factor = np.where(self.policy[rows] == 2, at(m.escalatory_factor, rows), 1.0) * severity
        consent = u_consent < rules.consent_probability(
            gov["pressure"][rows], gov["appeasement"][rows], base=at(m.consent_base, rows),
            per_pressure=at(m.consent_pressure, rows),
            per_appeasement=at(m.consent_appeasement, rows))
        revenge = at(m.revenge, rows) * factor
        deterrence = at(m.strike_deterrence, rows) * severity
        f["capability"][rows, target] = f["capability"][rows, target] * (
            1.0 - rules.clip01(at(m.strike_damage, rows) * factor))
        f["hostility"][rows, target] = rules.clip01(f["hostility"][rows, target] + revenge)
        f["deterrence"][rows, target] = f["deterrence"][rows, target] + 2.0 * deterrence
        for j in range(len(self.names)):
            other = target != j
            r = rows[other]
            if not len(r):
                continue
            f["hostility"][r, j] = rules.clip01(
                f["hostility"][r, j] + at(m.revenge, r) * np.asarray(factor)[other]
                * at(m.solidarity, r) * f["alignment"][r, j])
            f["deterrence"][r, j] = f["deterrence"][r, j] + at(m.strike_deterrence, r) * severity
        cost[rows] += at(m.stability_strike_cost, rows) * np.where(
            consent, 1.0, at(m.unilateral_multiplier, rows))
        self.last_strike_day[rows] = self.day
        self.tally.strike(rows, target, consent)
        strikes_in_iraq[rows] += in_iraq.astype(np.int64)

    # -------------------------------------------------------------- government

    def government(self: Any, clashes: np.ndarray, strike_cost: np.ndarray,
                   strikes_in_iraq: np.ndarray) -> None:
        """Stability, embarrassment and, on review days, the adaptive rule."""
        m, g, tally = self.m, self.gov, self.tally
        self.stability = rules.stability_update(
            self.stability, tally.today_column("attacks"), clashes, strike_cost,
            g["pressure"], self.confrontation.astype(float), baseline=m.stability_baseline,
            recovery=m.stability_recovery, attack_cost=m.stability_attack_cost,
            clash_cost=m.stability_clash_cost, pressure_cost=m.stability_pressure_cost,
            pressure_safe=m.pressure_safe, confrontation_cost=m.stability_confrontation_cost)
        self.embarrassment = rules.embarrassment_update(
            self.embarrassment, tally.today_column("attacks_iraq"), strikes_in_iraq,
            per_attack=m.embarrassment_attack, per_strike=m.embarrassment_strike,
            decay=m.embarrassment_decay)
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

    def record_day(self: Any, deaths: np.ndarray) -> None:
        """The public injury count (observation model) and the day's state values."""
        self.known += self.arrivals[:, self.day]
        u = self.draws("report", "public_count", [0], np.arange(self.rows))[:, 0]
        refresh = (deaths > 0) | (u < self.m.report_refresh)
        self.tally.reported(np.where(refresh, self.known - self.public, 0))
        self.public = np.where(refresh, self.known, self.public)
        f, g, n = self.f, self.gov, len(self.names)
        teams = f["teams"].sum(axis=1)
        teams = np.where(teams == 0, 1, teams)
        self.tally.close_day((
            self.stability, f["hostility"].sum(axis=1) / n, f["capability"].sum(axis=1) / n,
            self.escalation, self.signal, g["accommodation"], g["appeasement"],
            g["persuasion"], g["pressure"], self.embarrassment,
            (f["syria_share"] * f["teams"]).sum(axis=1) / teams, self.confrontation))
