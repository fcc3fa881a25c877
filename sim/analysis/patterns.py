"""Patterns of the replay held against the record: the targets `sim validate` prints.

A point comparison (cumulative counts at dated figures) can hide what a replay gets
wrong. These are the patterns the record shows beyond the totals, each with a stated
target (issue "Validity" of the project; docs/calibration.md): the test-window
attack counts, where attacks happened (the Iraq/Syria split), the truce week, the
lull of February 2024, U.S. killed and injured by mid-February, and a day with
three or more deaths. Two checks of the pause mechanism are reported without a
target: how often Kata'ib Hezbollah and Harakat al-Nujaba defy the patron's call of
29 January 2024 (the record: Kata'ib Hezbollah complied, al-Nujaba did not).

Every function here is pure: a run's daily table and the record in, a table out.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.analysis.record import CALIBRATION_END, cumulative_by_replication, day_index

TRUCE_WEEK = (dt.date(2023, 11, 24), dt.date(2023, 11, 30))
LULL = (dt.date(2024, 2, 5), dt.date(2024, 2, 12))
CASUALTIES_DATE = dt.date(2024, 2, 12)
SECOND_PAUSE = dt.date(2024, 1, 30)
"""The first full day after the patron's call to stand down (29 January 2024)."""
TARGETS = {
    "attacks_mare": 0.10, "split_error": 0.10, "truce_median": 2.0, "lull_rate": 0.25,
    "casualties_error": 0.35, "mass_death_low": 0.03, "mass_death_high": 0.60,
}
"""The targets (issue "Validity"): each pattern's bound."""


def _days(daily: pd.DataFrame, start: dt.date, first: dt.date, last: dt.date) -> pd.DataFrame:
    a, b = day_index(first, start), day_index(last, start)
    return daily[(daily["day"] >= a) & (daily["day"] <= b)]


def attack_error(table: pd.DataFrame) -> dict:
    """Test-window cumulative attack totals: mean |relative error| of the median."""
    rows = table[(table["window"] == "test") & (table["metric"] == "cumulative_attacks")
                 & table["scope"].isin(["iraq_syria", "iraq_syria_jordan"])]
    value = float(rows["rel_error"].abs().mean()) if len(rows) else float("nan")
    return {"pattern": "test-window attack totals: mean |relative error| of the median",
            "record": f"{len(rows)} Pentagon totals after {CALIBRATION_END}",
            "model": value, "target": f"<= {TARGETS['attacks_mare']:.2f}",
            "met": bool(value <= TARGETS["attacks_mare"])}


def split_table(daily: pd.DataFrame, record: pd.DataFrame, start: dt.date, days: int,
                end: dt.date = CALIBRATION_END) -> pd.DataFrame:
    """Share of attacks in Syria at every date the record splits the count by country:
    the record's share beside the model's median (and 5-95%) share.
    """
    attacks = record[record["metric"] == "cumulative_attacks"]
    by_date = attacks.pivot_table(index="date", columns="scope", values="value", aggfunc="max")
    if not {"iraq", "syria"} <= set(by_date.columns):
        return pd.DataFrame(columns=["date", "window", "record_share", "model_share",
                                     "model_p5", "model_p95", "error"])
    by_date = by_date.dropna(subset=["iraq", "syria"])
    iraq = cumulative_by_replication(daily, ("attacks_iraq",))
    syria = cumulative_by_replication(daily, ("attacks_syria",))
    rows = []
    for date, row in by_date.iterrows():
        day = day_index(date, start)
        if not 1 <= day <= days:
            continue
        total = iraq.loc[day] + syria.loc[day]
        share = (syria.loc[day] / total.where(total > 0)).dropna().to_numpy()
        observed = row["syria"] / (row["iraq"] + row["syria"])
        median = float(np.median(share)) if len(share) else float("nan")
        rows.append({"date": date, "window": "calibration" if date <= end else "test",
                     "record_share": observed, "model_share": median,
                     "model_p5": float(np.percentile(share, 5)) if len(share) else np.nan,
                     "model_p95": float(np.percentile(share, 95)) if len(share) else np.nan,
                     "error": median - observed})
    return pd.DataFrame(rows)


def split_error(splits: pd.DataFrame) -> dict:
    """The largest test-window split error."""
    test = splits[splits["window"] == "test"] if len(splits) else splits
    value = float(test["error"].abs().max()) if len(test) else float("nan")
    return {"pattern": "share of attacks in Syria: largest test-window error",
            "record": f"{len(test)} dated Pentagon splits after {CALIBRATION_END} "
            f"(Syria {test['record_share'].min():.2f}-{test['record_share'].max():.2f})"
            if len(test) else "no dated split",
            "model": value, "target": f"<= {TARGETS['split_error']:.2f}",
            "met": bool(value <= TARGETS["split_error"])}


def truce_week(daily: pd.DataFrame, start: dt.date) -> dict:
    """Attacks in the truce week (24-30 November 2023): median across replications."""
    per_rep = _days(daily, start, *TRUCE_WEEK).groupby("replication")["attacks"].sum()
    value = float(per_rep.median())
    return {"pattern": "truce week (24-30 Nov 2023): median attacks",
            "record": "1 (none from 24 Nov, a single rocket on 29 Nov)", "model": value,
            "target": f"<= {TARGETS['truce_median']:g}",
            "met": bool(value <= TARGETS["truce_median"]),
            "note": f"quiet week in {float((per_rep == 0).mean()):.0%} of replications"}


def lull(daily: pd.DataFrame, start: dt.date) -> dict:
    """Mean attacks a day on 5-12 February 2024 (no faction decision scheduled)."""
    value = float(_days(daily, start, *LULL)["attacks"].mean())
    return {"pattern": "5-12 Feb 2024: mean attacks a day", "record": "0 (none from 5 Feb)",
            "model": value, "target": f"< {TARGETS['lull_rate']:.2f}",
            "met": bool(value < TARGETS["lull_rate"])}


def casualties(daily: pd.DataFrame, record: pd.DataFrame, start: dt.date) -> dict:
    """U.S. killed plus injured by 12 February 2024: the reported series (what a briefing
    would have said) against the record, with what happened beside it.
    """
    rows = record[(record["metric"] == "cumulative_casualties")
                  & (record["date"] == CASUALTIES_DATE)]
    observed = float(rows["value"].iloc[0]) if len(rows) else float("nan")
    day = day_index(CASUALTIES_DATE, start)
    if day > int(daily["day"].max()):
        return {}
    reported = cumulative_by_replication(daily, ("injuries_reported", "deaths")).loc[day]
    incurred = cumulative_by_replication(daily, ("injuries", "deaths")).loc[day]
    value = float(reported.median())
    error = value / observed - 1.0
    return {"pattern": "U.S. killed plus injured by 12 Feb 2024 (reported series): median",
            "record": f"{observed:.0f} (Military Times, 13 Feb 2024)", "model": value,
            "target": f"within {TARGETS['casualties_error']:.0%} of the record",
            "met": bool(abs(error) <= TARGETS["casualties_error"]),
            "note": f"error {error:+.0%}; incurred (what happened) median "
            f"{incurred.median():.0f}, 5-95% {incurred.quantile(0.05):.0f}-"
            f"{incurred.quantile(0.95):.0f}"}


def mass_death_day(daily: pd.DataFrame) -> dict:
    """Share of replications with a day of three or more U.S. deaths (Tower 22)."""
    worst = daily.groupby("replication")["deaths"].max()
    value = float((worst >= 3).mean())
    low, high = TARGETS["mass_death_low"], TARGETS["mass_death_high"]
    return {"pattern": "a day with 3 or more U.S. deaths: share of replications",
            "record": "1 day (Tower 22, 28 Jan 2024)", "model": value,
            "target": f"{low:.2f}-{high:.2f}", "met": bool(low <= value <= high),
            "note": f"any U.S. death in {float((worst > 0).mean()):.0%} of replications"}


def defiance(daily: pd.DataFrame, start: dt.date, faction: str, record_says: str) -> dict:
    """Share of replications in which a faction attacks after the patron's call of
    29 January 2024 (no target: the mechanism's implication, reported honestly).
    """
    column = f"attacks_{faction}"
    if column not in daily:
        return {}
    after = daily[daily["day"] >= day_index(SECOND_PAUSE, start)]
    value = float((after.groupby("replication")[column].sum() > 0).mean())
    return {"pattern": f"{faction} attacks after 29 Jan 2024: share of replications",
            "record": record_says, "model": value, "target": "(reported, no target)",
            "met": None}


def pattern_table(daily: pd.DataFrame, record: pd.DataFrame, table: pd.DataFrame,
                  splits: pd.DataFrame, start: dt.date, days: int) -> pd.DataFrame:
    """Every pattern with its target that the run's horizon reaches."""
    last = start + dt.timedelta(days=days - 1)
    rows = [attack_error(table), split_error(splits)]
    if last >= TRUCE_WEEK[1]:
        rows.append(truce_week(daily, start))
    if last >= LULL[1]:
        rows.append(lull(daily, start))
    if last >= CASUALTIES_DATE:
        rows.append(casualties(daily, record, start))
    rows.append(mass_death_day(daily))
    if last >= SECOND_PAUSE:
        rows += [defiance(daily, start, "kataib_hezbollah",
                          "none: suspended on 30 Jan (Reuters, 30 Jan 2024)"),
                 defiance(daily, start, "harakat_al_nujaba",
                          "yes: said it would continue (Reuters, 2 Feb 2024)")]
    frame = pd.DataFrame([r for r in rows if r])
    if "note" not in frame:
        frame["note"] = ""
    return frame.fillna({"note": ""})
