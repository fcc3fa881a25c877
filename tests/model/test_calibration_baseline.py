"""The baseline reproduces, in distribution, the record of MODEL.md's first four weeks.

Record (Newsweek, November 2023, quoting the Pentagon): attacks on most days from
17 October 2023 at sites in Iraq and Syria, on the order of two a day; at least
56 U.S. troops injured in roughly the first four weeks; no combat deaths.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from sim.experiment import runner
from sim.experiment.results import RunResult
from sim.scenario.load import load

REPS = 100


@cache
def first_four_weeks() -> RunResult:
    return runner.run(load("baseline"), REPS, seed=2023, days=28, workers=2)


def test_baseline_starts_on_the_record_date() -> None:
    result = first_four_weeks()
    assert str(result.daily["date"].min().date()) == "2023-10-17"


def test_attacks_on_most_days_about_two_a_day() -> None:
    result = first_four_weeks()
    share_of_days = (result.daily["attacks"] > 0).mean()
    per_day = result.summary["attacks_day28"].mean() / 28
    assert share_of_days > 0.75
    assert 1.4 < per_day < 2.8


def test_attacks_spread_over_iraq_and_syria() -> None:
    daily = first_four_weeks().daily
    iraq, syria = daily["attacks_iraq"].sum(), daily["attacks_syria"].sum()
    total = daily["attacks"].sum()
    assert iraq / total > 0.25 and syria / total > 0.1
    events = first_four_weeks().events.query("kind == 'attack'")
    per_rep_sites = events.groupby("replication")["base"].nunique()
    assert per_rep_sites.median() >= 4


def test_injuries_by_day_28_centred_near_56() -> None:
    injuries = first_four_weeks().summary["injuries_day28"].to_numpy()
    assert 35 <= np.median(injuries) <= 80
    low, high = np.percentile(injuries, [5, 95])
    assert low < 56 < high
    # heavy tail: most attacks injure nobody, a few injure many
    events = first_four_weeks().events.query("kind == 'attack'")
    assert (events["injuries"] == 0).mean() > 0.7
    assert events["injuries"].max() >= 15


def test_combat_deaths_zero_in_most_replications() -> None:
    deaths = first_four_weeks().summary["deaths_day28"].to_numpy()
    assert (deaths == 0).mean() > 0.5
