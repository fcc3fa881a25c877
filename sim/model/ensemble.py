"""The ensemble engine: many replications of the same model advanced together as arrays.

Rows are replications. Every state variable of the government, each faction, each site
and the coalition command is an array over rows, and each day applies the rule
functions of :mod:`sim.model.rules` to whole arrays, in the order of the day of
:meth:`sim.model.model.IraqModel.step` (docs/model.md). Randomness is the agent
engine's: row ``r`` reads the uniform at the same coordinate (stream, entity, day,
slot) from its own seed (:mod:`sim.model.streams`), and launch teams are taken one
after another within a day, as the agent engine takes them. So a row is the agent
engine's replication with that seed, draw for draw: the two engines agree in
distribution because they agree replication by replication
(``tests/model/test_ensemble.py``), and scenarios stay paired across engines.
"""

from __future__ import annotations

import numpy as np

from sim.model import rules
from sim.model.ensemble_day import RestOfTheDay, at
from sim.model.ensemble_state import faction_matrix, mechanisms, row_values, site_matrix
from sim.model.ensemble_tables import Tally
from sim.model.streams import COALITION_DRAWS, TEAM_DRAWS, counter, uniforms
from sim.scenario.schema import Event, Scenario

(ATTACK, WEAPON, TARGET, FOIL, INTERCEPT, HIT, HURT, DEATH, LOCATION, TBI,
 LAG) = range(len(TEAM_DRAWS))
SLOTS = len(TEAM_DRAWS)
HOME, SYRIA = 0, 1
"""Where a launch team operates from (as in :mod:`sim.model.agents`, which this module
does not import: it needs no Mesa)."""
DEFER, CONSENT, ATTRIBUTION, WHERE = range(len(COALITION_DRAWS))
POLICIES = ("none", "proportional", "escalatory")
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

    """

    def __init__(self, spec: Scenario, seeds: np.ndarray, days: int | None = None,
                 varied: dict[str, np.ndarray] | None = None, tables: str = "all") -> None:
        self.spec, self.days = spec, days if days is not None else spec.run.days
        self.seeds = np.asarray(seeds, dtype=np.uint64) & np.uint64(0xFFFFFFFFFFFFFFFF)
        n = self.rows = len(self.seeds)
        v = self.values = row_values(spec, n, varied)
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
        # factions: (rows, factions) arrays
        self.names = [f.name for f in spec.factions]
        self.f = {name: faction_matrix(v, self.names, name) for name in FACTION_FIELDS}
        self.f["teams"] = self.f["teams"].astype(np.int64)
        self.f["baseline_hostility"] = self.f["hostility"].copy()
        self.f["baseline_stake"] = self.f["stake"].copy()
        self.f["baseline_syria_share"] = self.f["syria_share"].copy()
        self.f["tension"] = np.zeros((n, len(self.names)))
        self.f["deterrence"] = np.zeros((n, len(self.names)))
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
        self.weapon_interceptability = np.array([w.interceptability for _, w in self.weapons])
        self.weapon_hit = np.array([w.hit_probability for _, w in self.weapons])
        self.weapon_lethality = np.array([w.lethality for _, w in self.weapons])
        lat, lon = np.array([b.lat for b in self.sites]), np.array([b.lon for b in self.sites])
        self.distances = [(rules.haversine_km(f.lat, f.lon, lat, lon).tolist(),
                           rules.haversine_km(f.syria_lat, f.syria_lon, lat, lon).tolist())
                          for f in spec.factions]
        self.plan_targets()
        self.events_by_day: dict[int, list[Event]] = {}
        for event in spec.events:
            self.events_by_day.setdefault(event.day, []).append(event)
        # clashes, confrontation, reporting
        self.confrontation = np.zeros(n, dtype=bool)
        self.last_clash_day = np.full(n, -10**9, dtype=np.int64)
        self.faction_clash_day = np.full((n, len(self.names)), -10**9, dtype=np.int64)
        self.arrivals = np.zeros((n, self.days + 2), dtype=np.int64)
        self.known = np.zeros(n, dtype=np.int64)
        self.public = np.zeros(n, dtype=np.int64)
        self.tally = Tally(n, self.days, self.names, [w for w, _ in self.weapons],
                           site_names, self.country, spec.run.start_date,
                           full=tables == "all")
        if self.pause.any():
            self.decide_pause(1, self.pause)

    # ------------------------------------------------------------------ helpers

    def draws(self, stream: str, entity: str, slots: list[int], rows: np.ndarray,
              ) -> np.ndarray:
        """Uniforms of ``rows`` at today's ``slots`` of a stream: (len(rows), len(slots))."""
        where = counter(stream, entity, self.day, np.asarray(slots))
        return uniforms(self.seeds[rows][:, None], where[None, :])

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
        """One day for every row, in the agent engine's order."""
        self.day += 1
        self.tally.new_day()
        for event in self.events_by_day.get(self.day, ()):
            self.apply(event)
        for i, name in enumerate(self.names):
            self.respond_to_levers(i)
            launched = self.attack(i, name)
            self.learn(i, launched)
            u = self.draws("clash", name, [0], np.arange(self.rows))[:, 0]
            self.clashed[:, i] = u < rules.clash_probability(
                self.f["tension"][:, i], self.f["tolerance"][:, i], slope=self.m.clash_slope)
        clashes = self.resolve_clashes()
        strike_cost, strikes_in_iraq = self.command()
        deaths = self.tally.today_column("deaths")
        if deaths.any():
            self.f["deterrence"] += (self.m.death_deterrence * deaths)[:, None]
        self.government(clashes, strike_cost, strikes_in_iraq)
        self.record_day(deaths)

    def respond_to_levers(self, i: int) -> None:
        """Faction ``i`` feels the levers (the agent engine's ``respond_to_levers``)."""
        f, m, g = self.f, self.m, self.gov
        f["baseline_hostility"][:, i] = rules.persuasion_update(
            f["baseline_hostility"][:, i], g["persuasion"], f["receptiveness"][:, i],
            rate=m.persuasion_rate)
        f["hostility"][:, i] = rules.hostility_update(
            f["hostility"][:, i], f["baseline_hostility"][:, i], g["appeasement"],
            drift=m.hostility_drift, appeasement_rate=m.appeasement_rate)
        f["stake"][:, i] = rules.stake_update(f["stake"][:, i], f["baseline_stake"][:, i],
                                              g["accommodation"], rate=m.stake_rate,
                                              decay=m.stake_decay)
        ceiling = rules.capability_ceiling(f["stake"][:, i], g["accommodation"],
                                           gain=m.accommodation_capability_gain)
        f["capability"][:, i] = rules.capability_update(
            f["capability"][:, i], ceiling, f["resupply"][:, i], g["pressure"],
            f["stake"][:, i], g["accommodation"], resupply_gain=m.accommodation_resupply_gain,
            erosion=m.pressure_erosion)
        f["tension"][:, i] = rules.tension_update(f["tension"][:, i], g["pressure"],
                                                  f["stake"][:, i], rate=m.tension_rate,
                                                  decay=m.tension_decay)
        f["deterrence"][:, i] = f["deterrence"][:, i] * (1.0 - m.deterrence_decay)
        target = rules.syria_share_target(f["baseline_syria_share"][:, i], g["pressure"],
                                          self.embarrassment, substitution=m.substitution)
        f["syria_share"][:, i] = rules.relocation_update(f["syria_share"][:, i], target,
                                                         rate=m.relocation_rate)

    def chances(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Faction ``i``'s chance per launch team, from home and from Syria."""
        f, m = self.f, self.m
        motive = rules.attack_motive(
            f["hostility"][:, i], self.escalation, f["alignment"][:, i],
            f["emboldenment"][:, i], self.signal, base=m.base_propensity,
            w_hostility=m.w_hostility, w_escalation=m.w_escalation,
            w_emboldenment=m.w_emboldenment, w_patron=m.w_patron)
        return tuple(rules.attack_probability(f["capability"][:, i], motive,
                                              rules.attack_restraint(
            pressure, f["deterrence"][:, i], f["stake"][:, i], w_pressure=m.w_pressure,
            w_deterrence=m.w_deterrence, w_stake=m.w_stake))
            for pressure in (self.gov["pressure"], 0.0))

    def attack(self, i: int, name: str) -> np.ndarray:
        """Faction ``i``'s launch teams, one after another; returns attacks launched per row."""
        f, m = self.f, self.m
        launched = np.zeros(self.rows, dtype=np.int64)
        able = (f["teams"][:, i] > 0) & ~(self.complying[:, i] & self.pause)
        if not able.any():
            return launched
        home, syria = (np.broadcast_to(c, (self.rows,)) for c in self.chances(i))
        foil = m.foil_rate * self.gov["pressure"]
        foil = np.broadcast_to(foil, (self.rows,))
        at_home = np.broadcast_to(rules.iraq_site_factor(
            self.embarrassment, f["stake"][:, i], avoidance=m.avoidance), (self.rows,))
        for team in range(self.max_teams[i]):
            rows = np.flatnonzero(able & (f["teams"][:, i] > team))
            if not len(rows):
                continue
            first = self.draws("attack", name, [team * SLOTS + LOCATION, team * SLOTS + ATTACK],
                               rows)
            where = np.where(first[:, 0] < f["syria_share"][rows, i], SYRIA, HOME)
            chance = np.where(where == SYRIA, syria[rows], home[rows])
            go = first[:, 1] < chance
            for side in (HOME, SYRIA):
                if not self.targets[i][side]:
                    go &= where != side
            rows, where = rows[go], where[go]
            if not len(rows):
                continue
            u = self.draws("attack", name, [team * SLOTS + k for k in range(SLOTS)], rows)
            weapon, site = self.choose_targets(i, where, u[:, WEAPON], u[:, TARGET],
                                               at_home[rows])
            foiled = (where == HOME) & (u[:, FOIL] < foil[rows])
            if foiled.any():
                self.tally.foiled(rows[foiled], i, site[foiled], weapon[foiled])
            keep = ~foiled
            rows, u, weapon, site = rows[keep], u[keep], weapon[keep], site[keep]
            f["capability"][rows, i] = np.maximum(0.0, f["capability"][rows, i] - m.attack_cost)
            self.receive(rows, i, weapon, site, u)
            launched[rows] += 1
        return launched

    def choose_targets(self, i: int, where: np.ndarray, u_weapon: np.ndarray,
                       u_target: np.ndarray, at_home: np.ndarray,
                       ) -> tuple[np.ndarray, np.ndarray]:
        """The agent engine's ``choose_target`` for many attacks at once: weapon and site
        indices (the same searches on the same cumulative weights, grouped by plan).
        """
        weapon = np.zeros(len(where), dtype=np.int64)
        site = np.zeros(len(where), dtype=np.int64)
        for side in (HOME, SYRIA):
            on_side = np.flatnonzero(where == side)
            if not len(on_side):
                continue
            weights = np.asarray(self.target_weights[i][side])
            plan_of = np.searchsorted(weights, u_weapon[on_side] * weights[-1], side="right")
            for p in np.unique(plan_of):
                j = on_side[plan_of == p]
                w, _, (iraq, iraq_cum), (other, other_cum) = self.targets[i][side][p]
                factor = at_home[j].astype(float)
                in_iraq = iraq_cum[-1] * factor if iraq else np.zeros(len(j))
                elsewhere = other_cum[-1] if other else 0.0
                stuck = in_iraq + elsewhere <= 0.0
                if stuck.any():
                    factor = np.where(stuck, 1.0, factor)
                    in_iraq = np.where(stuck, iraq_cum[-1], in_iraq)
                x = u_target[j] * (in_iraq + elsewhere)
                home = x < in_iraq
                if iraq:
                    pick = np.searchsorted(iraq_cum, x[home] / factor[home], side="right")
                    site[j[home]] = np.asarray(iraq)[np.minimum(pick, len(iraq) - 1)]
                if other:
                    pick = np.searchsorted(other_cum, x[~home] - in_iraq[~home], side="right")
                    site[j[~home]] = np.asarray(other)[np.minimum(pick, len(other) - 1)]
                weapon[j] = w
        return weapon, site

    def receive(self, rows: np.ndarray, i: int, weapon: np.ndarray, site: np.ndarray,
                u: np.ndarray) -> None:
        """Resolve attacks that reached their sites (one per row): intercepted, no effect,
        or a hit with its casualties; record them.
        """
        m = self.m
        interceptability = self.weapon_interceptability[weapon]
        hit_chance = self.weapon_hit[weapon]
        lethality = self.weapon_lethality[weapon]
        posture = self.force_protection[rows]
        intercepted = u[:, INTERCEPT] < rules.intercept_probability(
            self.air_defence[rows, site], interceptability, posture,
            gain=at(m.force_protection_intercept, rows))
        hit = ~intercepted & (u[:, HIT] < hit_chance)
        injuries = np.zeros(len(rows), dtype=np.int64)
        deaths = np.zeros(len(rows), dtype=np.int64)
        if hit.any():
            h = np.flatnonzero(hit)
            r = rows[h]
            mean = rules.mean_injuries(lethality[h], self.hardening[r, site[h]], posture[h],
                                       scale=at(m.casualty_scale, r),
                                       protection_cut=at(m.force_protection_injury, r))
            hurt = rules.people_hurt_many(u[h, HURT], mean,
                                          dispersion=at(m.casualty_dispersion, r))
            dead = rules.deaths_among_many(u[h, DEATH], hurt, death_rate=at(m.death_rate, r),
                                           clustering=at(m.death_clustering, r))
            deaths[h], injuries[h] = dead, hurt - dead
            adapted = r[hurt > 0]
            if len(adapted):
                self.hardening[adapted] = rules.hardening_update(
                    self.hardening[adapted], gain=at(m.hardening_gain, adapted)[:, None]
                    if np.ndim(m.hardening_gain) else m.hardening_gain)
            hurt_rows = np.flatnonzero(injuries > 0)
            if len(hurt_rows):
                rr = rows[hurt_rows]
                brain = rules.binomial_quantile_many(u[hurt_rows, TBI], injuries[hurt_rows],
                                                     at(m.tbi_share, rr))
                lag = rules.diagnosis_lag_many(u[hurt_rows, LAG],
                                               mean_days=at(m.tbi_lag_days, rr))
                np.add.at(self.arrivals, (rr, self.day), injuries[hurt_rows] - brain)
                late = (brain > 0) & (self.day + lag <= self.days)
                np.add.at(self.arrivals, (rr[late], self.day + lag[late]), brain[late])
        outcome = np.where(intercepted, 0, np.where(hit, 1, 2))
        self.tally.attacks(rows, i, site, weapon, outcome, injuries, deaths)

    def learn(self, i: int, launched: np.ndarray) -> None:
        """Emboldenment of faction ``i`` (attacks pay when appeased)."""
        m = self.m
        self.f["emboldenment"][:, i] = rules.emboldenment_update(
            self.f["emboldenment"][:, i], self.gov["appeasement"],
            (launched > 0).astype(float), gain=m.emboldenment_gain, decay=m.emboldenment_decay)

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

    Args:
        spec: the validated scenario.
        seeds: replication seeds (``sim.experiment.plan.replication_seeds``).
        days: horizon; defaults to ``spec.run.days``.
        varied: parameter path -> one value per row.
        tables: ``"all"`` or ``"summary"``.

    """
    ensemble = Ensemble(spec, np.asarray(seeds, dtype=np.uint64), days, varied, tables)
    return ensemble.run().tally
