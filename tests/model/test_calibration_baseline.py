"""The baseline reproduces, in distribution, the record of MODEL.md's first four weeks.

Record (Newsweek, November 2023, quoting the Pentagon): attacks on most days from
17 October 2023 at sites in Iraq and Syria, on the order of two a day, about half of them in Syria
by mid-November; at least 56 U.S. troops injured in roughly the first four weeks (the
public count); no combat deaths.
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


def test_attacks_spread_over_iraq_and_syria_near_the_record_split() -> None:
    """By 14 November 2023 the Pentagon counted 27 attacks in Iraq and 28 in Syria."""
    summary = first_four_weeks().summary
    assert 0.35 < summary["syria_share"].median() < 0.65
    events = first_four_weeks().events.query("kind == 'attack'")
    per_rep_sites = events.groupby("replication")["base"].nunique()
    assert per_rep_sites.median() >= 4


def test_reported_injuries_by_day_28_centred_near_56() -> None:
    """The public count (the observation model's reported series) near the record's 56-59."""
    daily = first_four_weeks().daily
    reported = daily.groupby("replication")["injuries_reported"].sum().to_numpy()
    incurred = first_four_weeks().summary["injuries_day28"].to_numpy()
    assert 35 <= np.median(reported) <= 80
    low, high = np.percentile(reported, [5, 95])
    assert low < 56 < high
    assert np.median(reported) < np.median(incurred)  # brain injuries are diagnosed late
    # heavy tail: most attacks injure nobody, a few injure many
    events = first_four_weeks().events.query("kind == 'attack'")
    assert (events["injuries"] == 0).mean() > 0.7
    assert events["injuries"].max() >= 15


def test_combat_deaths_zero_in_most_replications() -> None:
    deaths = first_four_weeks().summary["deaths_day28"].to_numpy()
    assert (deaths == 0).mean() > 0.5
