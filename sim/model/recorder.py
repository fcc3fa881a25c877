"""The daily record of one replication: today's tallies, look-back windows, tables.

The model reports each attack, foiled attack, strike and clash here as it happens,
and closes each day with the day's state values. The recorder answers the windows
the coalition command and the adaptive rule look back over (attacks and injuries in
the last days, attacks by faction), and builds the daily and event columns at the end.
"""

from __future__ import annotations

import datetime as dt
from itertools import chain

import numpy as np

COUNTRIES = ("Iraq", "Syria", "Jordan")
EVENT_COLUMNS = ("day", "kind", "faction", "base", "weapon", "outcome", "injuries", "deaths")
COUNT_COLUMNS = ("attacks", "intercepted", "injuries", "deaths", "strikes", "clashes", "foiled",
                 "injuries_reported")
"""The first daily count columns; per-country, per-faction and per-weapon counts follow."""
ATTACKS, INTERCEPTED, INJURIES, DEATHS, STRIKES, CLASHES, FOILED, REPORTED = range(
    len(COUNT_COLUMNS))
VALUE_COLUMNS = ("stability", "mean_hostility", "mean_capability", "escalation", "patron_signal",
                 "accommodation", "appeasement", "persuasion", "pressure", "embarrassment",
                 "syria_launch_share")
"""Daily state values, then the ``open_confrontation`` flag."""


def count_columns(factions: list[str], weapons: list[str]) -> tuple[str, ...]:
    """Names of the daily count columns for these factions and weapons."""
    return (*COUNT_COLUMNS, *(f"attacks_{c.lower()}" for c in COUNTRIES),
            *(f"attacks_{f}" for f in factions), *(f"attacks_{w}" for w in weapons))


class Recorder:
    """Tallies of one replication, one row per day.

    Args:
        factions: faction names, in the model's order.
        weapons: weapon names.
        start: the calendar date of day 1.

    """

    def __init__(self, factions: list[str], weapons: list[str], start: dt.date) -> None:
        self.names = count_columns(factions, weapons)
        column = {name: j for j, name in enumerate(self.names)}
        self.country_column = {c: column[f"attacks_{c.lower()}"] for c in COUNTRIES}
        self.faction_column = [column[f"attacks_{f}"] for f in factions]
        self.weapon_column = {w: column[f"attacks_{w}"] for w in weapons}
        self.start = start
        self.today: list[int] = [0] * len(self.names)
        self.rows: list[list[int]] = []
        self.values: list[tuple] = []
        self.events: list[tuple] = []

    # ----------------------------------------------------------------- today

    def attack(self, day: int, faction: int, faction_name: str, base: str, country: str,
               weapon: str, outcome: str, injuries: int, deaths: int) -> None:
        """Count one attack that reached a site (intercepted, no effect or a hit)."""
        today = self.today
        today[ATTACKS] += 1
        if outcome == "intercepted":
            today[INTERCEPTED] += 1
        today[INJURIES] += injuries
        today[DEATHS] += deaths
        today[self.country_column[country]] += 1
        today[self.faction_column[faction]] += 1
        today[self.weapon_column[weapon]] += 1
        self.events.append((day, "attack", faction_name, base, weapon, outcome, injuries, deaths))

    def foiled(self, day: int, faction_name: str, base: str, weapon: str) -> None:
        """Count one attack foiled before launch."""
        self.today[FOILED] += 1
        self.events.append((day, "foiled", faction_name, base, weapon, "foiled", 0, 0))

    def strike(self, day: int, faction_name: str, consented: bool) -> None:
        """Count one coalition strike on a faction."""
        self.today[STRIKES] += 1
        self.events.append((day, "strike", faction_name, "", "", "consented" if consented
                            else "unilateral", 0, 0))

    def clash(self, day: int, faction_name: str) -> None:
        """Count one armed clash between a faction and the state."""
        self.today[CLASHES] += 1
        self.events.append((day, "clash", faction_name, "", "", "clash", 0, 0))

    @property
    def attacks_today(self) -> int:
        """Attacks so far today."""
        return self.today[ATTACKS]

    def reported(self, change: int) -> None:
        """The public injury count changed by ``change`` today (the observation model)."""
        self.today[REPORTED] += change

    @property
    def attacks_in_iraq_today(self) -> int:
        """Attacks so far today on sites in Iraq."""
        return self.today[self.country_column["Iraq"]]

    @property
    def deaths_today(self) -> int:
        """Deaths so far today."""
        return self.today[DEATHS]

    def close_day(self, values: tuple) -> None:
        """Keep today's counts and state values (:data:`VALUE_COLUMNS` then the
        confrontation flag) and start a new day.
        """
        self.rows.append(self.today)
        self.today = [0] * len(self.names)
        self.values.append(values)

    # --------------------------------------------------------------- windows

    def window(self, days: int) -> list[list[int]]:
        """Count rows of the last ``days`` days, today's tally included."""
        first = max(0, len(self.rows) - (days - 1))
        return [*self.rows[first:], self.today] if days > 1 else [self.today]

    def attacks_last(self, days: int) -> int:
        """Attacks in the last ``days`` days, today included."""
        return sum([row[ATTACKS] for row in self.window(days)])

    def injuries_last(self, days: int) -> int:
        """Injuries in the last ``days`` days, today included."""
        return sum([row[INJURIES] for row in self.window(days)])

    def attacks_by_faction(self, days: int) -> list[int]:
        """Attacks of each faction in the last ``days`` days, today included."""
        window = self.window(days)
        return [sum([row[j] for row in window]) for j in self.faction_column]

    # ---------------------------------------------------------------- tables

    def daily_columns(self) -> dict[str, np.ndarray]:
        """The daily table as numpy columns, one entry per closed day, in table order."""
        n = len(self.rows)
        start = np.datetime64(self.start, "D")
        columns = {"day": np.arange(1, n + 1, dtype=np.int32),
                   "date": (start + np.arange(n)).astype("datetime64[ns]")}
        width = len(self.names)
        counts = np.fromiter(chain.from_iterable(self.rows), dtype=np.int32,
                             count=n * width).reshape(n, width)
        for j, name in enumerate(self.names):
            columns[name] = counts[:, j].copy()
        width = len(VALUE_COLUMNS) + 1
        values = np.fromiter(chain.from_iterable(self.values), dtype=float,
                             count=n * width).reshape(n, width)
        for j, name in enumerate(VALUE_COLUMNS):
            columns[name] = values[:, j].copy()
        columns["open_confrontation"] = values[:, -1].astype(bool)
        return columns

    def event_columns(self) -> dict[str, np.ndarray]:
        """The event log as numpy columns (day and casualties int32, the rest strings)."""
        rows = list(zip(*self.events, strict=True)) or [()] * len(EVENT_COLUMNS)
        columns: dict[str, np.ndarray] = {}
        for name, values in zip(EVENT_COLUMNS, rows, strict=True):
            dtype = np.int32 if name in ("day", "injuries", "deaths") else object
            columns[name] = np.array(values, dtype=dtype)
        return columns
