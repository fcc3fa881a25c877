"""The replay's patterns against hand-built daily tables whose answers are known."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.analysis import patterns
from sim.analysis.record import COLUMNS

START, DAYS, REPS = dt.date(2023, 10, 17), 120, 10


def day(date: dt.date) -> int:
    return (date - START).days + 1


def fake_daily(quiet_truce: bool = True, lull_attacks: int = 0) -> pd.DataFrame:
    """Replication r: one attack in Iraq every day and one in Syria every other day, none in
    the truce week (unless told otherwise), ``lull_attacks`` on each of 5-12 Feb 2024;
    6 injuries reported for 8 incurred on day 30; 3 deaths on day 104 in replications 0-2.
    """
    rows = []
    truce = range(day(patterns.TRUCE_WEEK[0]), day(patterns.TRUCE_WEEK[1]) + 1)
    lull = range(day(patterns.LULL[0]), day(patterns.LULL[1]) + 1)
    for rep in range(REPS):
        for d in range(1, DAYS + 1):
            iraq, syria = 1, d % 2
            if d in truce and quiet_truce:
                iraq = syria = 0
            if d in lull:
                iraq, syria = lull_attacks, 0
            if d >= day(patterns.SECOND_PAUSE) and d not in lull:
                iraq = syria = 0
            rows.append({"replication": rep, "day": d, "attacks_iraq": iraq,
                         "attacks_syria": syria, "injuries": 8 if d == 30 else 0,
                         "injuries_reported": 6 if d == 30 else 0,
                         "deaths": 3 if (d == 104 and rep < 3) else 0,
                         "attacks_kataib_hezbollah": iraq + syria if rep == 0 else 0,
                         "attacks_harakat_al_nujaba": 0})
    daily = pd.DataFrame(rows)
    daily["attacks"] = daily["attacks_iraq"] + daily["attacks_syria"]
    return daily


def fake_record(rows):
    frame = pd.DataFrame([{**{c: "" for c in COLUMNS}, "qualifier": "reported", "outlet": "o",
                           "title": "t", "source_date": "2024-01-01", **row} for row in rows])
    frame["value"] = frame["value"].astype(float)
    return frame


def test_split_table_gives_each_dated_split_beside_the_model():
    date = dt.date(2023, 12, 1)  # day 46: 46 in Iraq less 7 truce days = 39, Syria 23 - 3 = 20
    record = fake_record([
        {"date": date, "metric": "cumulative_attacks", "scope": scope, "value": value}
        for scope, value in (("iraq", 40.0), ("syria", 60.0), ("iraq_syria", 100.0))])
    splits = patterns.split_table(fake_daily(), record, START, DAYS)
    assert len(splits) == 1
    row = splits.iloc[0]
    assert row["window"] == "test" and row["record_share"] == pytest.approx(0.6)
    truce_days = range(day(patterns.TRUCE_WEEK[0]), day(patterns.TRUCE_WEEK[1]) + 1)
    iraq = sum(1 for d in range(1, 47) if d not in truce_days)
    syria = sum(d % 2 for d in range(1, 47) if d not in truce_days)
    assert row["model_share"] == pytest.approx(syria / (iraq + syria))
    assert row["error"] == pytest.approx(syria / (iraq + syria) - 0.6)
    assert patterns.split_error(splits)["met"] == bool(abs(row["error"]) <= 0.10)


def test_truce_week_and_lull():
    quiet = patterns.truce_week(fake_daily(), START)
    assert quiet["model"] == 0 and quiet["met"]
    busy = patterns.truce_week(fake_daily(quiet_truce=False), START)
    assert busy["model"] == 7 + 4 and not busy["met"]  # Syria on odd days 39-45
    assert patterns.lull(fake_daily(), START)["met"]
    noisy = patterns.lull(fake_daily(lull_attacks=1), START)
    assert noisy["model"] == pytest.approx(1.0) and not noisy["met"]


def test_casualties_use_the_reported_series_and_show_what_happened():
    record = fake_record([{"date": patterns.CASUALTIES_DATE, "metric": "cumulative_casualties",
                           "scope": "iraq_syria_jordan", "value": 8.0}])
    row = patterns.casualties(fake_daily(), record, START)
    # reported: 6 injuries, plus 3 deaths in 3 of 10 replications -> median 6
    assert row["model"] == 6
    assert row["met"] == bool(abs(6 / 8 - 1) <= patterns.TARGETS["casualties_error"])
    assert "incurred (what happened) median 8" in row["note"]


def test_mass_death_day_share_and_defiance():
    daily = fake_daily()
    row = patterns.mass_death_day(daily)
    assert row["model"] == pytest.approx(0.3) and row["met"]
    kh = patterns.defiance(daily, START, "kataib_hezbollah", "none")
    assert kh["model"] == 0 and kh["met"] is None  # attacks stop before the call
    with_lull = fake_daily(lull_attacks=1)
    assert patterns.defiance(with_lull, START, "kataib_hezbollah", "none")["model"] == 0.1


def test_pattern_table_only_includes_what_the_horizon_reaches():
    daily = fake_daily()
    short = daily[daily["day"] <= 30]
    table = pd.DataFrame({"window": ["test"], "metric": ["cumulative_attacks"],
                          "scope": ["iraq_syria"], "rel_error": [0.05]})
    record = fake_record([{"date": dt.date(2023, 11, 1), "metric": "cumulative_attacks",
                           "scope": "iraq_syria", "value": 1.0}])
    splits = patterns.split_table(short, record, START, 30)
    rows = patterns.pattern_table(short, record, table, splits, START, 30)
    assert not rows["pattern"].str.contains("truce|Feb").any()
    full = patterns.pattern_table(daily, record, table, splits, START, DAYS)
    assert full["pattern"].str.contains("truce").any()
    assert full["pattern"].str.contains("5-12 Feb").any()
    assert np.isclose(full.iloc[0]["model"], 0.05) and full.iloc[0]["met"]
