"""The ensemble engine's record: tallies, look-back windows, and the agent engine's tables.

Today's tallies for every row, the windows the command and the adaptive rule look back
over, and the same daily, event and summary tables the agent engine's recorder builds.

With ``full=False`` (``--tables summary``) it keeps only what the summary needs: no
daily table, no event log, so memory grows with rows x days x a few integers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

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
        self.today = np.zeros((rows, len(self.names)), dtype=np.int64)
        self.day = 0
        # running totals by day (column d = days 1..d), for the look-back windows
        self.cum_attacks = np.zeros((days + 1, rows), dtype=np.int32)
        self.cum_injuries = np.zeros((days + 1, rows), dtype=np.int32)
        self.cum_by_faction = np.zeros((days + 1, rows, len(factions)), dtype=np.int32)
        self.totals = np.zeros((rows, len(self.names)), dtype=np.int64)
        self.first28 = np.zeros((rows, len(self.names)), dtype=np.int64)
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

    def today_column(self, name: str) -> np.ndarray:
        """Today's count so far of one column, per row."""
        return self.today[:, self.column[name]]

    def attempts(self, rows: np.ndarray, faction: np.ndarray, site: np.ndarray,
                 weapon: np.ndarray, outcome: np.ndarray, injuries: np.ndarray,
                 deaths: np.ndarray) -> None:
        """The day's launch attempts, rows possibly repeated: outcome 0 intercepted,
        1 hit, 2 no effect (attacks that reached their sites), 3 foiled before launch.
        """
        c, width = self.column, len(self.names)
        reached = outcome != 3
        r = rows[reached] * width
        ones = np.ones(len(r))
        index = np.concatenate([
            r + c["attacks"], r + c["intercepted"], r + c["injuries"], r + c["deaths"],
            r + self.site_country_column[site[reached]], r + self.faction_column[faction[reached]],
            r + self.weapon_column[weapon[reached]], rows[~reached] * width + c["foiled"]])
        weight = np.concatenate([
            ones, (outcome[reached] == 0).astype(float), injuries[reached], deaths[reached],
            ones, ones, ones, np.ones(int((~reached).sum()))])
        self.today += np.bincount(index, weight, minlength=self.today.size).astype(
            np.int64).reshape(self.today.shape)
        self._event(rows, np.where(reached, 0, 1), faction, site, weapon, outcome, injuries,
                    deaths)

    def strike(self, rows: np.ndarray, target: np.ndarray, consent: np.ndarray) -> None:
        """Coalition strikes, one per row."""
        self.today[rows, self.column["strikes"]] += 1
        none = np.full(len(rows), -1)
        zero = np.zeros(len(rows), dtype=np.int64)
        self._event(rows, 2, target, none, none, np.where(consent, 4, 5), zero, zero)

    def clash(self, rows: np.ndarray, faction: int) -> None:
        """Clashes between a faction and the state."""
        self.today[rows, self.column["clashes"]] += 1
        none = np.full(len(rows), -1)
        zero = np.zeros(len(rows), dtype=np.int64)
        self._event(rows, 3, faction, none, none, zero + 6, zero, zero)

    def reported(self, change: np.ndarray) -> None:
        """Today's change of the public injury count."""
        self.today[:, self.column["injuries_reported"]] += change

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
        return self._window(self.cum_attacks, days) + self.today[:, self.column["attacks"]]

    def injuries_last(self, days: int) -> np.ndarray:
        """Injuries in the last ``days`` days, today included, per row."""
        return self._window(self.cum_injuries, days) + self.today[:, self.column["injuries"]]

    def attacks_by_faction(self, days: int) -> np.ndarray:
        """Attacks of each faction in the last ``days`` days, today included: (rows, F)."""
        return self._window(self.cum_by_faction, days) + self.today[:, self.faction_column]

    # ------------------------------------------------------------------ close

    def close_day(self, values: tuple) -> None:
        """Keep today's counts and the day's state values (VALUE_COLUMNS, then the flag)."""
        d = self.day - 1
        self.cum_attacks[d + 1] = self.cum_attacks[d] + self.today[:, self.column["attacks"]]
        self.cum_injuries[d + 1] = self.cum_injuries[d] + self.today[:, self.column["injuries"]]
        self.cum_by_faction[d + 1] = self.cum_by_faction[d] + self.today[:, self.faction_column]
        self.totals += self.today
        if self.day <= 28:
            self.first28 += self.today
        self.min_stability = np.minimum(self.min_stability, values[0])
        self.confrontation_days += values[-1]
        self.last_values = tuple(np.array(v, dtype=float, copy=True) for v in values)
        if self.full:
            self.counts[:, d] = self.today
            for j, value in enumerate(values[:-1]):
                self.values[:, d, j] = value
            self.flags[:, d] = values[-1]

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
        attacks = np.diff(self.cum_attacks[:days + 1], axis=0).T
        total = self.totals[:, c["attacks"]]
        weekly = np.cumsum(attacks, axis=1)
        weekly[:, 7:] = weekly[:, 7:] - weekly[:, :-7]
        with np.errstate(invalid="ignore", divide="ignore"):
            syria = np.where(total > 0, self.totals[:, c["attacks_syria"]] / total, np.nan)
        values = dict(zip(VALUE_COLUMNS, self.last_values, strict=False))
        return {
            "attacks": total, "weekly_attack_rate": total / days * 7,
            "peak_week_attacks": weekly.max(axis=1),
            "attacks_day28": self.first28[:, c["attacks"]], "syria_share": syria,
            "injuries": self.totals[:, c["injuries"]],
            "injuries_day28": self.first28[:, c["injuries"]],
            "injuries_reported": self.totals[:, c["injuries_reported"]],
            "deaths": self.totals[:, c["deaths"]], "deaths_day28": self.first28[:, c["deaths"]],
            "intercepted": self.totals[:, c["intercepted"]], "foiled": self.totals[:, c["foiled"]],
            "strikes": self.totals[:, c["strikes"]], "clashes": self.totals[:, c["clashes"]],
            "min_stability": self.min_stability, "final_stability": values["stability"],
            "open_confrontation": self.confrontation_days > 0,
            "confrontation_days": self.confrontation_days,
            "days_to_deescalation": deescalation(attacks, weekly, calm_attacks, calm_days),
            "final_mean_capability": values["mean_capability"],
            "final_mean_hostility": values["mean_hostility"],
        }


def deescalation(attacks: np.ndarray, weekly: np.ndarray, calm_attacks: int,
                 calm_days: int) -> np.ndarray:
    """:func:`sim.model.outcomes.days_to_deescalation` for every row at once."""
    rows, days = attacks.shape
    out = np.full(rows, np.nan)
    any_attack = attacks.sum(axis=1) > 0
    first = np.argmax(attacks > 0, axis=1)
    calm = (weekly <= calm_attacks) & (np.arange(days)[None, :] > first[:, None])
    run = np.zeros(rows, dtype=np.int64)
    for i in range(days):
        run = np.where(calm[:, i], run + 1, 0)
        hit = (run == calm_days) & np.isnan(out) & any_attack
        out[hit] = i - calm_days + 2
    return out
