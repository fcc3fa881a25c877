"""The ensemble engine's record: tallies, look-back windows, and the agent engine's tables.

Today's tallies for every row, the windows the command and the adaptive rule look back
over, and the same daily, event and summary tables the agent engine's recorder builds.

With ``full=False`` (``--tables summary``) it keeps only what the summary needs: no
daily table, no event log, so memory grows with rows x days x a few integers.
"""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np

from sim.model.ensemble_kernels import close_counts, weekly_outcomes
from sim.model.recorder import EVENT_COLUMNS, VALUE_COLUMNS, count_columns

KINDS = ("attack", "foiled", "strike", "clash")
OUTCOMES = ("intercepted", "hit", "no_effect", "foiled", "consented", "unilateral", "clash")


class Tally:
    """Counts of a batch of rows, one day at a time.

    Args:
        rows: replications in the batch.
        days: horizon.
        factions, weapons, sites: names, in the model's order.
        site_country: each site's country.
        start: the calendar date of day 1.
        full: keep the daily and event tables (else only the summary's inputs).

    """

    def __init__(self, rows: int, days: int, factions: list[str], weapons: list[str],
                 sites: list[str], site_country: list[str], start: dt.date, full: bool) -> None:
        self.rows, self.days, self.full, self.start = rows, days, full, start
        self.factions, self.weapons, self.sites = factions, weapons, sites
        self.names = count_columns(factions, weapons)
        self.column = {name: j for j, name in enumerate(self.names)}
        self.site_country_column = np.array(
            [self.column[f"attacks_{c.lower()}"] for c in site_country])
        self.faction_column = np.array([self.column[f"attacks_{f}"] for f in factions])
        self.weapon_column = np.array([self.column[f"attacks_{w}"] for w in weapons])
        self.evening_columns = np.array([self.column[name] for name in (
            "attacks", "injuries", "deaths", "clashes", "strikes", "attacks_iraq",
            "injuries_reported")])
        self.attempt_columns = np.array([self.column[name] for name in (
            "attacks", "intercepted", "injuries", "deaths", "foiled")])
        self.today = np.zeros((len(self.names), rows), dtype=np.int64)  # column by column
        self.day = 0
        # running totals by day (column d = days 1..d), for the look-back windows
        self.cum_attacks = np.zeros((days + 1, rows), dtype=np.int32)
        self.cum_injuries = np.zeros((days + 1, rows), dtype=np.int32)
        self.cum_by_faction = np.zeros((days + 1, len(factions), rows), dtype=np.int32)
        self.totals = np.zeros((len(self.names), rows), dtype=np.int64)
        self.first28 = np.zeros((len(self.names), rows), dtype=np.int64)
        self.min_stability = np.full(rows, np.inf)
        self.confrontation_days = np.zeros(rows, dtype=np.int64)
        self.last_values: tuple = ()
        if full:
            self.counts = np.zeros((rows, days, len(self.names)), dtype=np.int32)
            self.values = np.zeros((rows, days, len(VALUE_COLUMNS)))
            self.flags = np.zeros((rows, days), dtype=bool)
        self.events: list[tuple[np.ndarray, ...]] = []

    # ------------------------------------------------------------------ today

    def new_day(self) -> None:
        """Start a day."""
        self.day += 1
        self.today[:] = 0

    def attempt_events(self, lines: np.ndarray) -> None:
        """The day's launch attempts as event lines (already counted in ``today``): row,
        kind, faction, site, weapon, outcome (0 intercepted, 1 hit, 2 no effect,
        3 foiled before launch), injuries, deaths.
        """
        rows, kind, faction, site, weapon, outcome, injuries, deaths = lines.T.copy()
        self._event(rows, kind, faction, site, weapon, outcome, injuries, deaths)

    def strike_events(self, rows: np.ndarray, target: np.ndarray, consent: np.ndarray) -> None:
        """Coalition strikes, one per row (already counted in ``today``)."""
        none = np.full(len(rows), -1)
        zero = np.zeros(len(rows), dtype=np.int64)
        self._event(rows, 2, target, none, none, np.where(consent, 4, 5), zero, zero)

    def clash_events(self, rows: np.ndarray, faction: int) -> None:
        """Clashes between a faction and the state (already counted in ``today``)."""
        none = np.full(len(rows), -1)
        zero = np.zeros(len(rows), dtype=np.int64)
        self._event(rows, 3, faction, none, none, zero + 6, zero, zero)

    def _event(self, rows: np.ndarray, kind: int | np.ndarray, faction: int | np.ndarray,
               site: np.ndarray, weapon: np.ndarray, outcome: np.ndarray,
               injuries: np.ndarray, deaths: np.ndarray) -> None:
        if self.full:
            n = len(rows)
            self.events.append((rows, np.full(n, self.day), np.broadcast_to(kind, (n,)),
                                np.broadcast_to(faction, (n,)), site, weapon, outcome,
                                injuries, deaths))

    # ---------------------------------------------------------------- windows

    def _window(self, cumulative: np.ndarray, days: int) -> np.ndarray:
        """The closed days of the window (today's tally is added by the caller)."""
        return cumulative[self.day - 1] - cumulative[max(0, self.day - days)]

    def attacks_last(self, days: int) -> np.ndarray:
        """Attacks in the last ``days`` days, today included, per row."""
        return self._window(self.cum_attacks, days) + self.today[self.column["attacks"]]

    # ------------------------------------------------------------------ close

    def close_day(self, stability: np.ndarray, confrontation: np.ndarray,
                  values: tuple | None) -> None:
        """Keep today's counts and the day's state values (VALUE_COLUMNS, then the flag);
        ``values`` may be None on a day whose values no table keeps (summary tables
        before the last day).
        """
        d, today = self.day - 1, self.today
        close_counts(self.day, today, self.column["attacks"], self.column["injuries"],
                     self.faction_column, self.cum_attacks, self.cum_injuries,
                     self.cum_by_faction, self.totals, self.first28, self.min_stability,
                     stability, self.confrontation_days, confrontation)
        if values is None:
            return
        self.last_values = tuple(np.array(v, dtype=float, copy=True) for v in values)
        if self.full:
            self.counts[:, d] = today.T
            for j, value in enumerate(values[:-1]):
                self.values[:, d, j] = value
            self.flags[:, d] = values[-1]

    def close(self) -> Tally:
        """Drop the look-back windows once the days are over (they serve the command and
        the review only); returns the tally.
        """
        self.cum_injuries = self.cum_by_faction = None
        return self

    @classmethod
    def merge(cls, parts: list[Tally]) -> Tally:
        """The closed tallies of consecutive blocks of rows, as one tally."""
        merged = copy.copy(parts[0])
        merged.rows = sum(part.rows for part in parts)
        for name, axis in (("today", 1), ("cum_attacks", 1), ("totals", 1), ("first28", 1),
                           ("min_stability", 0), ("confrontation_days", 0)):
            setattr(merged, name, np.concatenate([getattr(p, name) for p in parts], axis=axis))
        merged.last_values = tuple(np.concatenate(values)
                                   for values in zip(*(p.last_values for p in parts),
                                                     strict=True))
        if merged.full:
            for name in ("counts", "values", "flags"):
                setattr(merged, name, np.concatenate([getattr(p, name) for p in parts]))
        merged.events, start = [], 0
        for part in parts:
            merged.events += [(rows + start, *rest) for rows, *rest in part.events]
            start += part.rows
        return merged

    # ----------------------------------------------------------------- tables

    def daily_columns(self) -> dict[str, np.ndarray]:
        """The daily table, rows one after another (the agent engine's columns)."""
        n, days = self.rows, self.day
        start = np.datetime64(self.start, "D")
        columns = {"day": np.tile(np.arange(1, days + 1, dtype=np.int32), n),
                   "date": np.tile((start + np.arange(days)).astype("datetime64[ns]"), n)}
        for j, name in enumerate(self.names):
            columns[name] = self.counts[:, :days, j].reshape(-1).copy()
        for j, name in enumerate(VALUE_COLUMNS):
            columns[name] = self.values[:, :days, j].reshape(-1).copy()
        columns["open_confrontation"] = self.flags[:, :days].reshape(-1).copy()
        return columns

    def event_columns(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The event log: each event's row, and the agent engine's event columns."""
        if not self.events:
            empty = {name: np.array([], dtype=np.int32 if name in ("day", "injuries", "deaths")
                                    else object) for name in EVENT_COLUMNS}
            return np.array([], dtype=np.int64), empty
        parts = [np.concatenate(part) for part in zip(*self.events, strict=True)]
        rows, day, kind, faction, site, weapon, outcome, injuries, deaths = parts
        order = np.argsort(rows, kind="stable")
        sites = np.array([*self.sites, ""], dtype=object)
        weapons = np.array([*self.weapons, ""], dtype=object)
        columns = {
            "day": day[order].astype(np.int32),
            "kind": np.array(KINDS, dtype=object)[kind[order]],
            "faction": np.array(self.factions, dtype=object)[faction[order]],
            "base": sites[site[order]], "weapon": weapons[weapon[order]],
            "outcome": np.array(OUTCOMES, dtype=object)[outcome[order]],
            "injuries": injuries[order].astype(np.int32),
            "deaths": deaths[order].astype(np.int32)}
        return rows[order], columns

    def summary(self, calm_attacks: int, calm_days: int) -> dict[str, np.ndarray]:
        """The agent engine's summary outcomes (:func:`sim.model.outcomes.summarise`) for
        every row, as arrays.
        """
        c, days = self.column, self.day
        total = self.totals[c["attacks"]]
        peak, calm = weekly_outcomes(self.cum_attacks, days, calm_attacks, calm_days)
        with np.errstate(invalid="ignore", divide="ignore"):
            syria = np.where(total > 0, self.totals[c["attacks_syria"]] / total, np.nan)
        values = dict(zip(VALUE_COLUMNS, self.last_values, strict=False))
        return {
            "attacks": total, "weekly_attack_rate": total / days * 7,
            "peak_week_attacks": peak,
            "attacks_day28": self.first28[c["attacks"]], "syria_share": syria,
            "injuries": self.totals[c["injuries"]],
            "injuries_day28": self.first28[c["injuries"]],
            "injuries_reported": self.totals[c["injuries_reported"]],
            "deaths": self.totals[c["deaths"]], "deaths_day28": self.first28[c["deaths"]],
            "intercepted": self.totals[c["intercepted"]], "foiled": self.totals[c["foiled"]],
            "strikes": self.totals[c["strikes"]], "clashes": self.totals[c["clashes"]],
            "min_stability": self.min_stability, "final_stability": values["stability"],
            "open_confrontation": self.confrontation_days > 0,
            "confrontation_days": self.confrontation_days,
            "days_to_deescalation": calm,
            "final_mean_capability": values["mean_capability"],
            "final_mean_hostility": values["mean_hostility"],
        }
