"""The observation model: what the public count of U.S. injuries shows, day by day.

What happened and what was reported are kept apart. An injury that is not a brain
injury is known the day it happens; a traumatic brain injury is diagnosed days
later (a geometric lag, :func:`sim.model.rules.diagnosis_lag`). The public count
is brought up to date only on some days (a briefing that gives a new figure, chance
``report_refresh`` a day) and always on a day with deaths (a recount); between
refreshes it repeats the last figure (a stale repeat). The daily column
``injuries_reported`` is the day's change of the public count, so its cumulative sum
is the figure a reader of the day's news would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence


class Reporting:
    """Diagnoses pending, injuries known, and the public count of one replication.

    Args:
        days: the horizon (diagnoses later than it are never reported).
        refresh_draws: one uniform a day (stream ``report``).
        refresh: daily chance the public count is brought up to date.

    """

    def __init__(self, days: int, refresh_draws: Sequence[float], refresh: float) -> None:
        self.days, self.draws, self.refresh = days, refresh_draws, refresh
        self.arrivals = [0] * (days + 2)
        self.known = 0
        self.public = 0

    def injured(self, day: int, at_once: int, later: int, lag: int) -> None:
        """Injuries of one hit on ``day``: ``at_once`` known today, ``later`` (brain
        injuries) diagnosed ``lag`` days later.
        """
        self.arrivals[day] += at_once
        if later and day + lag <= self.days:
            self.arrivals[day + lag] += later

    def close_day(self, day: int, deaths_today: int) -> int:
        """End of ``day``: today's diagnoses become known; the public count is refreshed
        by chance or after deaths. Returns the change of the public count.
        """
        self.known += self.arrivals[day]
        if deaths_today > 0 or self.draws[day - 1] < self.refresh:
            change, self.public = self.known - self.public, self.known
            return change
        return 0
