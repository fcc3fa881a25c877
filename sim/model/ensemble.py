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
from sim.model.ensemble_day import RestOfTheDay, at, col
from sim.model.ensemble_state import (
    POLICIES,
    faction_matrix,
    mechanisms,
    row_values,
    site_matrix,
)
from sim.model.ensemble_tables import Tally
from sim.model.streams import COALITION_DRAWS, SLOT_BITS, TEAM_DRAWS, counter, uniforms
from sim.scenario.schema import Event, Scenario

(ATTACK, WEAPON, TARGET, FOIL, INTERCEPT, HIT, HURT, DEATH, LOCATION, TBI,
 LAG) = range(len(TEAM_DRAWS))
SLOTS = len(TEAM_DRAWS)
HOME, SYRIA = 0, 1
"""Where a launch team operates from (as in :mod:`sim.model.agents`, which this module
does not import: it needs no Mesa)."""
DEFER, CONSENT, ATTRIBUTION, WHERE = range(len(COALITION_DRAWS))
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
        self.weapon_interceptability, self.weapon_hit, self.weapon_lethality = (
            np.stack([v[f"weapons.{name}.{field}"] for name, _ in self.weapons], axis=1)
            for field in ("interceptability", "hit_probability", "lethality"))
        lat, lon = np.array([b.lat for b in self.sites]), np.array([b.lon for b in self.sites])
        self.distances = [(rules.haversine_km(f.lat, f.lon, lat, lon).tolist(),
                           rules.haversine_km(f.syria_lat, f.syria_lon, lat, lon).tolist())
                          for f in spec.factions]
        self.plan_targets()
        self.team_faction = np.array([i for i, t in enumerate(self.max_teams) for _ in range(t)],
                                     dtype=np.int64)
        self.team_index = np.array([k for t in self.max_teams for k in range(t)], dtype=np.int64)
        self.team_counters = np.stack([  # day-1 coordinates of each team's slots
            counter("attack", self.names[i], 1, k * SLOTS + np.arange(SLOTS))
            for i, k in zip(self.team_faction, self.team_index, strict=True)]).reshape(
            len(self.team_faction), SLOTS)
        self.clash_counters = np.array([counter("clash", name, 1, 0) for name in self.names],
                                       dtype=np.uint64)[None, :]
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
        self.reachable = np.array([[bool(side) for side in plans] for plans in self.targets])

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
        """One day for every row, in the agent engine's order.

        The factions' part of the day runs for all factions and launch teams at once:
        no faction's response to the levers depends on another's attacks that day, and
        the one thing that does carry over from attack to attack within a day (the
        command's adaptation after an injurious hit) is applied hit by hit, in the
        agent engine's order of factions and teams (:meth:`receive`).
        """
        self.day += 1
        self.tally.new_day()
        for event in self.events_by_day.get(self.day, ()):
            self.apply(event)
        self.respond_to_levers()
        launched = self.attack()
        self.learn(launched)
        u = uniforms(self.seeds[:, None], self.clash_counters + self.day_offset())
        self.clashed = u < rules.clash_probability(self.f["tension"], self.f["tolerance"],
                                                   slope=col(self.m.clash_slope))
        clashes = self.resolve_clashes()
        strike_cost, strikes_in_iraq = self.command()
        deaths = self.tally.today_column("deaths")
        if deaths.any():
            self.f["deterrence"] += (self.m.death_deterrence * deaths)[:, None]
        self.government(clashes, strike_cost, strikes_in_iraq)
        self.record_day(deaths)

    def day_offset(self) -> np.uint64:
        """What today adds to a day-1 counter (the day field of the coordinate)."""
        return np.uint64(self.day - 1) << np.uint64(SLOT_BITS)

    def respond_to_levers(self) -> None:
        """Every faction feels the levers (the agent engine's ``respond_to_levers``)."""
        f, m, g = self.f, self.m, {k: v[:, None] for k, v in self.gov.items()}
        f["baseline_hostility"] = rules.persuasion_update(
            f["baseline_hostility"], g["persuasion"], f["receptiveness"],
            rate=col(m.persuasion_rate))
        f["hostility"] = rules.hostility_update(
            f["hostility"], f["baseline_hostility"], g["appeasement"],
            drift=col(m.hostility_drift), appeasement_rate=col(m.appeasement_rate))
        f["stake"] = rules.stake_update(f["stake"], f["baseline_stake"], g["accommodation"],
                                        rate=col(m.stake_rate), decay=col(m.stake_decay))
        ceiling = rules.capability_ceiling(f["stake"], g["accommodation"],
                                           gain=col(m.accommodation_capability_gain))
        f["capability"] = rules.capability_update(
            f["capability"], ceiling, f["resupply"], g["pressure"], f["stake"],
            g["accommodation"], resupply_gain=col(m.accommodation_resupply_gain),
            erosion=col(m.pressure_erosion))
        f["tension"] = rules.tension_update(f["tension"], g["pressure"], f["stake"],
                                            rate=col(m.tension_rate), decay=col(m.tension_decay))
        f["deterrence"] = f["deterrence"] * (1.0 - col(m.deterrence_decay))
        target = rules.syria_share_target(f["baseline_syria_share"], g["pressure"],
                                          self.embarrassment[:, None],
                                          substitution=col(m.substitution))
        f["syria_share"] = rules.relocation_update(f["syria_share"], target,
                                                   rate=col(m.relocation_rate))

    def chances(self) -> tuple[np.ndarray, np.ndarray]:
        """Each faction's chance per launch team, from home and from Syria: (rows, F)."""
        f, m = self.f, self.m
        motive = rules.attack_motive(
            f["hostility"], self.escalation[:, None], f["alignment"], f["emboldenment"],
            self.signal[:, None], base=col(m.base_propensity), w_hostility=col(m.w_hostility),
            w_escalation=col(m.w_escalation), w_emboldenment=col(m.w_emboldenment),
            w_patron=col(m.w_patron))
        return tuple(np.broadcast_to(rules.attack_probability(
            f["capability"], motive, rules.attack_restraint(
                pressure, f["deterrence"], f["stake"], w_pressure=col(m.w_pressure),
                w_deterrence=col(m.w_deterrence), w_stake=col(m.w_stake))), f["stake"].shape)
            for pressure in (self.gov["pressure"][:, None], 0.0))

    def attack(self) -> np.ndarray:
        """Every launch team of every faction, in the agent engine's order (faction, then
        team); returns attacks launched per row and faction.
        """
        f, m, n = self.f, self.m, self.rows
        launched = np.zeros((n, len(self.names)), dtype=np.int64)
        able = (f["teams"] > 0) & ~(self.complying & self.pause[:, None])
        of, team = self.team_faction, self.team_index
        exists = able[:, of] & (f["teams"][:, of] > team[None, :])
        if not exists.any():
            return launched
        home, syria = self.chances()
        first = uniforms(self.seeds[:, None, None],
                         self.team_counters[None, :, [LOCATION, ATTACK]] + self.day_offset())
        where = np.where(first[:, :, 0] < f["syria_share"][:, of], SYRIA, HOME)
        chance = np.where(where == SYRIA, syria[:, of], home[:, of])
        go = exists & (first[:, :, 1] < chance) & self.reachable[of, where]
        rows, slot = np.nonzero(go)  # row by row, teams in the agent engine's order
        if not len(rows):
            return launched
        where, faction = where[rows, slot], of[slot]
        u = uniforms(self.seeds[rows][:, None], self.team_counters[slot] + self.day_offset())
        weapon = np.zeros(len(rows), dtype=np.int64)
        site = np.zeros(len(rows), dtype=np.int64)
        at_home = rules.iraq_site_factor(self.embarrassment[:, None], f["stake"],
                                         avoidance=col(m.avoidance))
        at_home = np.broadcast_to(at_home, f["stake"].shape)
        for i in np.unique(faction):
            k = np.flatnonzero(faction == i)
            weapon[k], site[k] = self.choose_targets(i, where[k], u[k, WEAPON], u[k, TARGET],
                                                     at_home[rows[k], i])
        foil = np.broadcast_to(m.foil_rate * self.gov["pressure"], (n,))
        foiled = (where == HOME) & (u[:, FOIL] < foil[rows])
        kept = ~foiled
        np.add.at(launched, (rows[kept], faction[kept]), 1)
        for k in range(int(launched.max(initial=0))):  # attack by attack, as the agents do
            more = launched > k
            f["capability"][more] = np.maximum(0.0, f["capability"][more]
                                               - np.broadcast_to(col(m.attack_cost),
                                                                 launched.shape)[more])
        self.receive(rows, faction, weapon, site, u, foiled)
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

    def receive(self, rows: np.ndarray, faction: np.ndarray, weapon: np.ndarray,
                site: np.ndarray, u: np.ndarray, foiled: np.ndarray) -> None:
        """Resolve the day's attempts (foiled before launch, or reached their sites:
        intercepted, no effect, or a hit with its casualties) and record them.

        Hits change every site's hardening when they hurt people, so hits are taken in
        the order of the attempts within each row: first hits of every row, then
        second hits, and so on.
        """
        m = self.m
        posture = self.force_protection[rows]
        intercepted = ~foiled & (u[:, INTERCEPT] < rules.intercept_probability(
            self.air_defence[rows, site], self.weapon_interceptability[rows, weapon], posture,
            gain=at(m.force_protection_intercept, rows)))
        hit = ~foiled & ~intercepted & (u[:, HIT] < self.weapon_hit[rows, weapon])
        injuries = np.zeros(len(rows), dtype=np.int64)
        deaths = np.zeros(len(rows), dtype=np.int64)
        hits = np.flatnonzero(hit)
        if len(hits):
            hit_rows = rows[hits]
            starts = np.r_[True, hit_rows[1:] != hit_rows[:-1]]
            index = np.arange(len(hits))
            rank = index - np.maximum.accumulate(np.where(starts, index, 0))
            for r in range(int(rank.max()) + 1):
                h = hits[rank == r]
                self.resolve_hits(h, rows[h], site[h], weapon[h], posture[h], u[h],
                                  injuries, deaths)
        outcome = np.where(foiled, 3, np.where(intercepted, 0, np.where(hit, 1, 2)))
        self.tally.attempts(rows, faction, site, weapon, outcome, injuries, deaths)

    def resolve_hits(self, h: np.ndarray, r: np.ndarray, site: np.ndarray, weapon: np.ndarray,
                     posture: np.ndarray, u: np.ndarray, injuries: np.ndarray,
                     deaths: np.ndarray) -> None:
        """Casualties of hits in distinct rows; the command adapts where people were hurt."""
        m = self.m
        mean = rules.mean_injuries(self.weapon_lethality[r, weapon], self.hardening[r, site],
                                   posture, scale=at(m.casualty_scale, r),
                                   protection_cut=at(m.force_protection_injury, r))
        hurt = rules.people_hurt_many(u[:, HURT], mean, dispersion=at(m.casualty_dispersion, r))
        dead = rules.deaths_among_many(u[:, DEATH], hurt, death_rate=at(m.death_rate, r),
                                       clustering=at(m.death_clustering, r))
        deaths[h], injuries[h] = dead, hurt - dead
        adapted = r[hurt > 0]
        if len(adapted):
            gain = m.hardening_gain
            self.hardening[adapted] = rules.hardening_update(
                self.hardening[adapted],
                gain=gain[adapted][:, None] if isinstance(gain, np.ndarray) else gain)
        sick = np.flatnonzero(hurt - dead > 0)
        if len(sick):
            rr, hurt_now = r[sick], (hurt - dead)[sick]
            brain = rules.binomial_quantile_many(u[sick, TBI], hurt_now, at(m.tbi_share, rr))
            lag = rules.diagnosis_lag_many(u[sick, LAG], mean_days=at(m.tbi_lag_days, rr))
            np.add.at(self.arrivals, (rr, self.day), hurt_now - brain)
            late = (brain > 0) & (self.day + lag <= self.days)
            np.add.at(self.arrivals, (rr[late], self.day + lag[late]), brain[late])

    def learn(self, launched: np.ndarray) -> None:
        """Emboldenment of every faction (attacks pay when appeased)."""
        m = self.m
        self.f["emboldenment"] = rules.emboldenment_update(
            self.f["emboldenment"], self.gov["appeasement"][:, None],
            (launched > 0).astype(float), gain=col(m.emboldenment_gain),
            decay=col(m.emboldenment_decay))

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
