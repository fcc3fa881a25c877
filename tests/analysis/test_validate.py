import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.analysis.record import COLUMNS
from sim.analysis.validate import compare, period_table, window_summary
from sim.cli import main

START = dt.date(2023, 10, 17)


def fake_daily():
    """5 replications x 6 days; replication r has r + 1 attacks in Iraq on day 1 and one in
    Syria every day, injuries 10 * r on day 2 (half reported that day, half on day 4), a
    death on day 6 in replication 4."""
    rows = []
    for rep in range(5):
        for day in range(1, 7):
            iraq = rep + 1 if day == 1 else 0
            rows.append({"replication": rep, "day": day, "attacks_iraq": iraq,
                         "attacks_syria": 1, "attacks_jordan": 1 if day == 6 else 0,
                         "injuries": 10 * rep if day == 2 else 0,
                         "injuries_reported": 5 * rep if day == 2 else 5 * rep if day == 4
                         else 0,
                         "deaths": 1 if (rep == 4 and day == 6) else 0})
    daily = pd.DataFrame(rows)
    daily["attacks"] = daily["attacks_iraq"] + daily["attacks_syria"] + daily["attacks_jordan"]
    return daily


def fake_record(rows):
    frame = pd.DataFrame([{**{c: "" for c in COLUMNS}, "qualifier": "reported", "outlet": "o",
                           "title": "t", "source_date": "2023-10-20", **row} for row in rows])
    frame["value"] = frame["value"].astype(float)
    return frame


def test_compare_matches_a_hand_computation():
    record = fake_record([
        # day 3, Iraq+Syria: replication r has (r + 1) + 3 = 4..8 -> median 6,
        # p5 = 4 + 0.05 * 4 = 4.2, p95 = 8 - 0.05 * 4 = 7.8
        {"date": dt.date(2023, 10, 19), "metric": "cumulative_attacks", "scope": "iraq_syria",
         "value": 5.0},
        # day 6, with Jordan: (r + 1) + 6 + 1 = 8..12 -> median 10, band [8.2, 11.8]; 14 not covered
        {"date": dt.date(2023, 10, 22), "metric": "cumulative_attacks",
         "scope": "iraq_syria_jordan", "value": 14.0},
        # day 4 reported injuries 0, 10, 20, 30, 40 -> median 20, band [2, 38]
        {"date": dt.date(2023, 10, 20), "metric": "cumulative_injuries", "scope": "iraq_syria",
         "value": 25.0},
        # deaths at day 6: 0, 0, 0, 0, 1 -> median 0, band [0, 0.8]
        {"date": dt.date(2023, 10, 22), "metric": "cumulative_deaths", "scope": "iraq_syria",
         "value": 0.0},
        # outside the horizon and a non-compared metric: ignored
        {"date": dt.date(2023, 10, 30), "metric": "cumulative_attacks", "scope": "iraq_syria",
         "value": 30.0},
        {"date": dt.date(2023, 10, 19), "metric": "attack_injuries", "scope": "iraq_syria",
         "value": 3.0},
    ])
    table = compare(fake_daily(), record, START, days=6, end=dt.date(2023, 10, 20))
    table = table.sort_values(["day", "metric"]).reset_index(drop=True)
    table = table.iloc[[1, 0, 2, 3]].reset_index(drop=True)
    assert list(table["metric"]) == ["cumulative_injuries", "cumulative_attacks",
                                     "cumulative_attacks", "cumulative_deaths"]
    assert list(table["day"]) == [4, 3, 6, 6]
    assert list(table["window"]) == ["calibration", "calibration", "test", "test"]
    np.testing.assert_allclose(table["model_median"], [20, 6, 10, 0])
    np.testing.assert_allclose(table["model_p5"], [2, 4.2, 8.2, 0])
    np.testing.assert_allclose(table["model_p95"], [38, 7.8, 11.8, 0.8])
    assert list(table["covered"]) == [True, True, False, True]
    np.testing.assert_allclose(table["rel_error"][:3], [-5 / 25, 1 / 5, -4 / 14])
    assert np.isnan(table["rel_error"][3])

    # what happened beside what was reported: injuries only
    assert table["incurred_median"][0] == 20 and table["incurred_median"][1:].isna().all()
    assert {"null_median", "null_p5", "null_p95", "null_covered", "null_rel_error"} <= set(table)

    summary = window_summary(table)
    overall = summary[summary["metric"] == "all"].set_index("window")
    assert overall.loc["calibration", "model_coverage"] == 1.0
    assert overall.loc["calibration", "model_mean_abs_rel_error"] == pytest.approx(0.2)
    assert overall.loc["test", "model_coverage"] == 0.5
    assert overall.loc["test", "model_mean_abs_rel_error"] == pytest.approx(4 / 14)
    assert overall.loc["all", "figures"] == 4
    by_metric = summary.set_index(["window", "metric"])
    assert by_metric.loc[("test", "cumulative_attacks"), "figures"] == 1


def test_a_lower_bound_is_covered_when_the_band_reaches_it():
    record = fake_record([
        # day 6 with Jordan: band [8.2, 11.8]; "at least 8" and "more than 5" are covered
        # (the truth may be higher), "reported 5" is not, "at least 14" is not
        {"date": dt.date(2023, 10, 22), "metric": "cumulative_attacks",
         "scope": "iraq_syria_jordan", "value": v, "qualifier": q}
        for v, q in ((8.0, "at_least"), (5.0, "more_than"), (5.0, "reported"),
                     (14.0, "at_least"))])
    table = compare(fake_daily(), record, START, days=6, end=dt.date(2023, 10, 19))
    assert list(table["covered"]) == [True, True, False, False]


def test_period_table_means_by_period():
    daily = fake_daily()
    start = dt.date(2023, 11, 20)  # days 1-4 before the truce, 5-6 inside it
    periods = period_table(daily, start, days=6).set_index("period")
    # before the truce (days 1-4): replication r has (r + 1 + 4) / 4 -> median (3 + 4) / 4
    assert periods.loc["before the truce", "attacks_per_day_median"] == pytest.approx(7 / 4)
    assert periods.loc["before the truce", "days"] == 4
    # truce days 5-6: 1 and 2 attacks a day -> 1.5, attacks on every day
    assert periods.loc["Gaza truce", "attacks_per_day_median"] == pytest.approx(1.5)
    assert periods.loc["Gaza truce", "share_days_with_attack"] == 1.0
    assert "lull" not in periods.index


def test_cli_validate_writes_table_and_figure(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate", "historical_2023_24", "--reps", "20", "--days", "40",
                 "--out", str(out)]) == 0
    for name in ("validation.csv", "validation.md", "validation.png", "periods.csv",
                 "splits.csv", "patterns.csv", "metadata.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "validation.csv")
    assert set(table["window"]) == {"calibration", "test"}
    assert (table["day"] <= 40).all()
    assert "calibration" in capsys.readouterr().out
    assert main(["validate", "historical_2023_24", "--reps", "20", "--days", "5",
                 "--out", str(out)]) == 2  # the folder exists: refused
    assert "exists already" in capsys.readouterr().err


def test_cli_validate_refuses_too_few_replications_for_its_band(tmp_path, capsys):
    assert main(["validate", "historical_2023_24", "--reps", "1", "--out",
                 str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err
    assert "at least 20 replications" in err and "5th to 95th percentile" in err
    assert not (tmp_path / "v").exists()
