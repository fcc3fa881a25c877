"""The ensemble engine: many replications of the same model advanced together as arrays.

Rows are replications. Every state variable of the government, each faction, each site
and the coalition command is an array over rows, and each day goes through the day of
:meth:`sim.model.model.IraqModel.step` (docs/model.md) for every row: the factions'
part and the evening in compiled loops, row by row (:mod:`sim.model.ensemble_kernels`,
:mod:`sim.model.ensemble_evening`: the formulas of :mod:`sim.model.rules`, operation for
operation), events and the adaptive review on arrays. Randomness is the agent
engine's: row ``r`` reads the uniform at the same coordinate (stream, entity, day,
slot) from its own seed (:mod:`sim.model.streams`), and launch teams are taken one
after another within a day, as the agent engine takes them. So a row is the agent
engine's replication with that seed, draw for draw: the two engines agree in
distribution because they agree replication by replication
(``tests/model/test_ensemble.py``), and scenarios stay paired across engines.
"""

from __future__ import annotations

import numpy as np

from sim.model import ensemble_kernels as kernels
from sim.model import rules
from sim.model.ensemble_day import RestOfTheDay, at
from sim.model.ensemble_evening import EVENING_COEFFICIENTS
from sim.model.ensemble_state import (
    POLICIES,
    faction_matrix,
    mechanisms,
    row_values,
    site_matrix,
)
from sim.model.ensemble_tables import Tally
from sim.model.streams import SLOT_BITS, TEAM_DRAWS, counter, uniforms
from sim.scenario.schema import Event, Scenario

SLOTS = len(TEAM_DRAWS)
"""Uniforms a launch team reads each day (:data:`sim.model.streams.TEAM_DRAWS`)."""
BLOCK = 2048
"""Rows advanced together by :func:`simulate_batch` (larger batches run block by block)."""
GOVERNMENT_LEVERS = ("accommodation", "appeasement", "persuasion", "pressure")
FACTION_FIELDS = ("hostility", "stake", "capability", "emboldenment", "alignment",
                  "receptiveness", "tolerance", "resupply", "teams", "syria_share")


class Ensemble(RestOfTheDay):
    """Many replications of one scenario, one row each.

    Args:
        spec: the validated scenario.
        seeds: one replication seed per row (the agent engine's seeds).
        days: horizon (default ``spec.run.days``).
        varied: parameter path -> one value per row (:func:`row_values`).
        tables: ``"all"`` keeps the daily and event tables; ``"summary"`` only what the
            summary needs.
        values: every parameter's values by row, already from :func:`row_values` (then
            ``varied`` is not read).

    """

    def __init__(self, spec: Scenario, seeds: np.ndarray, days: int | None = None,
                 varied: dict[str, np.ndarray] | None = None, tables: str = "all",
                 values: dict[str, np.ndarray] | None = None) -> None:
        self.spec, self.days = spec, days if days is not None else spec.run.days
        self.seeds = np.asarray(seeds, dtype=np.uint64) & np.uint64(0xFFFFFFFFFFFFFFFF)
        n = self.rows = len(self.seeds)
        v = self.values = values if values is not None else row_values(spec, n, varied)
        self.m = mechanisms(v)
        self.day = 0
        lever = spec.levers
        self.gov = {name: v[f"levers.government.{name}"].copy() for name in GOVERNMENT_LEVERS}
        self.adaptive = v["levers.government.adaptive.enabled"].copy()
        self.rule = lever.government.adaptive
        self.stability = v["mechanisms.stability_baseline"].copy()
        self.embarrassment = np.zeros(n)
        self.clashes_since_review = np.zeros(n, dtype=np.int64)
        self.policy = np.full(n, POLICIES.index(str(lever.coalition.retaliation)))
        self.force_protection = v["levers.coalition.force_protection"].copy()
        self.thresholds = lever.coalition.thresholds
        self.last_strike_day = np.full(n, -10**9, dtype=np.int64)
        self.scheduled: dict[int, list] = {}
        for strike in spec.strikes:
            self.scheduled.setdefault(strike.day, []).append(strike)
        self.region = {name: v[f"uncertainties.region.{name}"].copy()
                       for name in ("gaza", "lebanon", "red_sea")}
        self.signal = v["uncertainties.patron.signal"].copy()
        self.pause = v["uncertainties.patron.pause"].copy()
        self.escalation = self._escalation()
        # factions: (rows, factions) arrays, views of one (rows, factions, fields) array
        self.names = [f.name for f in spec.factions]
        self.state = np.zeros((n, len(self.names), len(kernels.STATE_FIELDS)))
        self.f = {name: self.state[:, :, k] for k, name in enumerate(kernels.STATE_FIELDS)}
        for name in FACTION_FIELDS:
            if name != "teams":
                self.f[name][:] = faction_matrix(v, self.names, name)
        self.f["teams"] = faction_matrix(v, self.names, "teams").astype(np.int64)
        for name in ("hostility", "stake", "syria_share"):
            self.f[f"baseline_{name}"][:] = self.f[name]
        self.complying = np.zeros((n, len(self.names)), dtype=bool)
        self.clashed = np.zeros((n, len(self.names)), dtype=bool)
        self.max_teams = [max([int(self.f["teams"][:, i].max()),
                               *(int(e.value) for e in spec.events
                                 if e.set == f"factions.{name}.teams")])
                          for i, name in enumerate(self.names)]
        # sites
        self.sites = list(spec.bases)
        site_names = [b.name for b in self.sites]
        self.air_defence = site_matrix(v, site_names, "air_defence")
        self.hardening = site_matrix(v, site_names, "hardening")
        self.open = [b.open for b in self.sites]
        self.troops = [b.troops for b in self.sites]
        self.in_iraq = np.array([str(b.country) == "Iraq" for b in self.sites])
        self.country = [str(b.country) for b in self.sites]
        self.weapons = list(spec.weapons.items())
        self.weapon_interceptability, self.weapon_hit, self.weapon_lethality = (
            np.stack([v[f"weapons.{name}.{field}"] for name, _ in self.weapons], axis=1)
            for field in ("interceptability", "hit_probability", "lethality"))
        lat, lon = np.array([b.lat for b in self.sites]), np.array([b.lon for b in self.sites])
        self.distances = [(rules.haversine_km(f.lat, f.lon, lat, lon).tolist(),
                           rules.haversine_km(f.syria_lat, f.syria_lon, lat, lon).tolist())
                          for f in spec.factions]
        self.plan_targets()
        self.first_team = np.cumsum([0, *self.max_teams])  # faction i's teams, in order
        self.team_counters = np.array([  # day-1 coordinates of each team's slots
            counter("attack", name, 1, k * SLOTS + np.arange(SLOTS))
            for name, teams in zip(self.names, self.max_teams, strict=True)
            for k in range(teams)], dtype=np.uint64).reshape(-1, SLOTS)
        self.lever_coef = self.per_row(kernels.LEVER_COEFFICIENTS)
        self.no_events = np.zeros((0, kernels.EVENT_FIELDS), dtype=np.int64)
        self.event_buffer = np.zeros((n * len(self.team_counters) if tables == "all" else 0,
                                      kernels.EVENT_FIELDS), dtype=np.int64)
        self.clash_counters = np.array([counter("clash", name, 1, 0) for name in self.names],
                                       dtype=np.uint64)
        self.coalition_counter = np.uint64(counter("coalition", "command", 1, 0))
        self.report_counter = np.uint64(counter("report", "public_count", 1, 0))
        self.evening_coef = self.per_row(EVENING_COEFFICIENTS)
        self.threshold_values = np.array([float(getattr(self.thresholds, name)) for name in (
            "cooldown_days", "window_days", "deaths", "attacks", "injuries")])
        self.events_by_day: dict[int, list[Event]] = {}
        for event in spec.events:
            self.events_by_day.setdefault(event.day, []).append(event)
        # clashes, confrontation, reporting
        self.confrontation = np.zeros(n, dtype=bool)
        self.last_clash_day = np.full(n, -10**9, dtype=np.int64)
        self.faction_clash_day = np.full((n, len(self.names)), -10**9, dtype=np.int64)
        self.arrivals = np.zeros((self.days + 2, n), dtype=np.int64)  # day by day
        self.known = np.zeros(n, dtype=np.int64)
        self.public = np.zeros(n, dtype=np.int64)
        self.tally = Tally(n, self.days, self.names, [w for w, _ in self.weapons],
                           site_names, self.country, spec.run.start_date,
                           full=tables == "all")
        if self.pause.any():
            self.decide_pause(1, self.pause)

    # ------------------------------------------------------------------ helpers

    def per_row(self, names: tuple[str, ...]) -> np.ndarray:
        """Coefficients of the mechanisms, one line per row (a row's values side by side)."""
        return np.stack([np.broadcast_to(np.asarray(getattr(self.m, name), dtype=float),
                                         (self.rows,)) for name in names], axis=1)

    def _escalation(self) -> np.ndarray:
        m = self.m
        return rules.regional_escalation(
            self.region["gaza"], self.region["lebanon"], self.region["red_sea"],
            w_gaza=m.escalation_weights_gaza, w_lebanon=m.escalation_weights_lebanon,
            w_red_sea=m.escalation_weights_red_sea)

    def plan_targets(self) -> None:
        """Which open sites each faction's weapons reach from home and from Syria."""
        self.targets, self.target_weights = [], []
        for faction, distances in zip(self.spec.factions, self.distances, strict=True):
            plans_by_side, weights_by_side = [], []
            for from_here in distances:
                plans = []
                for w, (name, weapon) in enumerate(self.weapons):
                    weight = faction.weapons.get(name, 0.0)
                    reach = [(s, d) for s, d in enumerate(from_here)
                             if self.open[s] and self.troops[s] > 0 and d <= weapon.range_km]
                    if not reach or weight <= 0:
                        continue
                    iraq = [(s, d) for s, d in reach if self.in_iraq[s]]
                    other = [(s, d) for s, d in reach if not self.in_iraq[s]]
                    plans.append((w, weight, *(self._cumulative(part) for part in (iraq, other))))
                plans_by_side.append(plans)
                weights_by_side.append(list(np.cumsum([p[1] for p in plans]).tolist()))
            self.targets.append(plans_by_side)
            self.target_weights.append(weights_by_side)
        self.reachable = np.array([[bool(side) for side in plans] for plans in self.targets])
        self.plan = self._flat_plans()

    def _flat_plans(self) -> tuple[np.ndarray, ...]:
        """The plans as flat arrays for :func:`sim.model.ensemble_kernels.team_day`."""
        plans = np.zeros((len(self.targets), 2, 2), dtype=np.int64)
        plan_cum, plan_weapon, parts, site_list, site_cum = [], [], [], [], []
        for i, (by_side, weights_by_side) in enumerate(
                zip(self.targets, self.target_weights, strict=True)):
            for side, (side_plans, weights) in enumerate(zip(by_side, weights_by_side,
                                                             strict=True)):
                plans[i, side] = len(plan_weapon), len(side_plans)
                plan_cum += weights
                for w, _, *sides in side_plans:
                    plan_weapon.append(w)
                    line = []
                    for sites, cum in sides:
                        line += [len(site_list), len(sites)]
                        site_list += sites
                        site_cum += cum
                    parts.append(line)
        return (plans, np.array(plan_cum, dtype=float), np.array(plan_weapon, dtype=np.int64),
                np.array(parts, dtype=np.int64).reshape(-1, 4),
                np.array(site_list, dtype=np.int64), np.array(site_cum, dtype=float))

    def _cumulative(self, part: list[tuple[int, float]]) -> tuple[list[int], list[float]]:
        total, cum = 0.0, []
        for s, d in part:
            total += float(rules.site_weight(self.troops[s], d))
            cum.append(total)
        return [s for s, _ in part], cum

    # ------------------------------------------------------------------ the day

    def run(self) -> Ensemble:
        """Run every day of the horizon."""
        while self.day < self.days:
            self.step()
        return self

    def step(self) -> None:
        """One day for every row, in the agent engine's order: the day's events, the
        factions' part (:meth:`attack`: within a row, faction by faction and launch team
        by launch team, so the command's adaptation after an injurious hit reaches the
        next attack as in the agent engine), the evening (:meth:`evening`), the close.
        """
        self.day += 1
        self.tally.new_day()
        for event in self.events_by_day.get(self.day, ()):
            self.apply(event)
        self.attack()
        self.evening()
        self.record_day()

    def day_offset(self) -> np.uint64:
        """What today adds to a day-1 counter (the day field of the coordinate)."""
        return np.uint64((self.day - 1) << SLOT_BITS)

    def attack(self) -> None:
        """The factions' part of the day, row by row
        (:func:`sim.model.ensemble_kernels.team_day`): each faction feels the levers,
        then every launch team, in the agent engine's order (faction, then team), takes
        its side of the border, its decision, target, foiling, interception, hit and
        casualties, with the command's adaptation after each injurious hit, and the day's
        counts; each faction learns once its teams are done.
        """
        g, tally = self.gov, self.tally
        events = self.event_buffer if tally.full else self.no_events
        world = (self.team_counters, self.first_team, self.f["teams"], self.reachable,
                 *self.plan)
        sites = (self.air_defence, self.hardening, self.weapon_interceptability,
                 self.weapon_hit, self.weapon_lethality, self.force_protection)
        levers = (g["accommodation"], g["appeasement"], g["persuasion"], g["pressure"],
                  self.embarrassment)
        count = kernels.team_day(
            self.seeds, self.day_offset(), self.day, self.days, self.lever_coef, self.state,
            levers, self.escalation, self.signal, self.complying, self.pause, world, sites,
            self.arrivals, tally.today, tally.attempt_columns, tally.site_country_column,
            tally.faction_column, tally.weapon_column, events)
        if count:
            tally.attempt_events(events[:count])

    def decide_pause(self, day: int, rows: np.ndarray) -> None:
        """A pause is declared on ``day`` in ``rows``: each faction decides once."""
        chosen = np.flatnonzero(rows)
        for i, name in enumerate(self.names):
            u = uniforms(self.seeds[chosen], counter("pause", name, day, 0))
            self.complying[chosen, i] = u < rules.pause_compliance(
                self.f["alignment"][chosen, i], compliance=at(self.m.pause_compliance, chosen))



def simulate_batch(spec: Scenario, seeds: np.ndarray | list[int], days: int | None = None,
                   varied: dict[str, np.ndarray] | None = None, tables: str = "all",
                   ) -> Tally:
    """Run one batch of replications (one per seed) and return its tables.

    Rows are independent, so a large batch runs as blocks of at most :data:`BLOCK`
    rows, one after another, whose tables are then put together: a block's state stays
    in the processor's cache from one day to the next.

    Args:
        spec: the validated scenario.
        seeds: replication seeds (``sim.experiment.plan.replication_seeds``).
        days: horizon; defaults to ``spec.run.days``.
        varied: parameter path -> one value per row.
        tables: ``"all"`` or ``"summary"``.

    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    if len(seeds) <= BLOCK:
        return Ensemble(spec, seeds, days, varied, tables).run().tally
    values = row_values(spec, len(seeds), varied)
    parts = []
    for start in range(0, len(seeds), BLOCK):
        block = slice(start, start + BLOCK)
        ensemble = Ensemble(spec, seeds[block], days, tables=tables,
                            values={path: array[block] for path, array in values.items()})
        parts.append(ensemble.run().tally.close())
    return Tally.merge(parts)
