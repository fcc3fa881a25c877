"""The public record: dated figures on attacks on U.S. forces, and how a model is read against it.

``data/record.csv`` holds one row per dated public figure (a cumulative count of
attacks, injuries or deaths since 17 October 2023, or the injuries of one attack),
each with its source: outlet, title, date and, where known, a URL.

The record is split in time. Figures dated on or before :data:`CALIBRATION_END`
form the calibration window (they may set parameters); later figures form the
test window (they may only be compared with). :func:`calibration_rows` is the one
door through which calibration sees the record.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

RECORD_PATH = Path(__file__).resolve().parents[2] / "data" / "record.csv"
CALIBRATION_END = dt.date(2023, 11, 14)
"""Last day (inclusive) of the calibration window: the Pentagon's update of 14 November 2023."""

COLUMNS = ("date", "metric", "value", "qualifier", "scope", "outlet", "title", "source_date",
           "url", "note")
COMPARED_METRICS = ("cumulative_attacks", "cumulative_injuries", "cumulative_deaths",
                    "cumulative_casualties")
"""Metrics ``sim validate`` compares with the model (cumulative since day 1)."""
METRICS = (*COMPARED_METRICS, "attack_injuries")
QUALIFIERS = ("reported", "at_least", "approx", "more_than")
LOWER_BOUNDS = ("at_least", "more_than")
"""Qualifiers of figures that bound the truth from below: a model band covers such a
figure when its upper end reaches it."""
SCOPES = ("iraq_syria", "iraq_syria_jordan", "iraq", "syria")
_SOURCE_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class RecordError(ValueError):
    """A record file that cannot be used, naming the row and the problem."""


def load_record(path: Path | str = RECORD_PATH) -> pd.DataFrame:
    """Read and check the record.

    Args:
        path: a CSV file with the columns in :data:`COLUMNS`.

    Returns:
        One row per figure: ``date`` as ``datetime.date``, ``value`` as float, plus a
        ``row`` column (1-based line number of the data row) for reference.

    Raises:
        RecordError: on a missing column, an unknown metric, qualifier or scope, a bad
            date or value, or a row without its source (outlet, title, source date).

    """
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise RecordError(f"{path}: missing column(s) {missing}; expected {list(COLUMNS)}")
    rows = []
    for i, raw in enumerate(frame.to_dict("records"), start=1):
        rows.append(_check_row(path, i, raw))
    out = pd.DataFrame(rows, columns=["row", *COLUMNS])
    return out.sort_values(["date", "metric", "row"], kind="stable").reset_index(drop=True)


def _check_row(path: Path, i: int, raw: dict) -> dict:
    where = f"{path.name} row {i}"
    try:
        date = dt.date.fromisoformat(raw["date"].strip())
    except ValueError:
        raise RecordError(f"{where}: date = {raw['date']!r}: must be YYYY-MM-DD") from None
    try:
        value = float(raw["value"])
    except ValueError:
        raise RecordError(f"{where}: value = {raw['value']!r}: must be a number") from None
    if not np.isfinite(value) or value < 0:
        raise RecordError(f"{where}: value = {raw['value']!r}: must be a count >= 0")
    for key, allowed in (("metric", METRICS), ("qualifier", QUALIFIERS), ("scope", SCOPES)):
        if raw[key] not in allowed:
            raise RecordError(f"{where}: {key} = {raw[key]!r}: allowed: {', '.join(allowed)}")
    for key in ("outlet", "title", "source_date"):
        if not raw[key].strip():
            raise RecordError(f"{where}: {key} is empty: every figure needs its source")
    if not _SOURCE_DATE.match(raw["source_date"].strip()):
        raise RecordError(f"{where}: source_date = {raw['source_date']!r}: must be YYYY-MM-DD "
                          "or YYYY-MM")
    url = raw["url"].strip()
    if url and not url.startswith(("http://", "https://")):
        raise RecordError(f"{where}: url = {url!r}: must start with http:// or https://")
    return {**{k: raw[k].strip() for k in COLUMNS}, "row": i, "date": date, "value": value}


def window_of(date: dt.date, end: dt.date = CALIBRATION_END) -> str:
    """``"calibration"`` for dates on or before ``end``, else ``"test"``."""
    return "calibration" if date <= end else "test"


def calibration_rows(record: pd.DataFrame, end: dt.date = CALIBRATION_END) -> pd.DataFrame:
    """The figures calibration may use: compared metrics dated on or before ``end``.

    This is the only view of the record that calibration receives; later figures are
    dropped here, before any objective sees the data.
    """
    keep = (record["date"] <= end) & record["metric"].isin(COMPARED_METRICS)
    return record.loc[keep].reset_index(drop=True)


def day_index(date: dt.date, start: dt.date) -> int:
    """Model day of a calendar date (day 1 = ``start``)."""
    return (date - start).days + 1


def model_column(metric: str, scope: str, reported: bool = True) -> tuple[str, ...]:
    """Daily-table columns whose sum is the model's counterpart of a figure.

    Attacks are counted by country, so the scope matters; the model does not split
    injuries or deaths by country, so those use the totals (all sites). Injury
    figures are compared with what the public count showed (``injuries_reported``,
    the observation model) unless ``reported`` is False (what happened).
    """
    if metric == "cumulative_attacks":
        if scope == "iraq":
            return ("attacks_iraq",)
        if scope == "syria":
            return ("attacks_syria",)
        return ("attacks_iraq", "attacks_syria") if scope == "iraq_syria" else ("attacks",)
    if metric == "cumulative_injuries":
        return ("injuries_reported",) if reported else ("injuries",)
    if metric == "cumulative_deaths":
        return ("deaths",)
    if metric == "cumulative_casualties":
        return ("injuries_reported", "deaths") if reported else ("injuries", "deaths")
    raise ValueError(f"metric {metric!r} is not compared with the model")


def cumulative_by_replication(daily: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Cumulative sum of ``columns`` by day: one row per day, one column per replication."""
    values = daily[list(columns)].sum(axis=1)
    table = (daily.assign(_v=values).pivot_table(index="day", columns="replication", values="_v",
                                                 aggfunc="sum").sort_index())
    return table.cumsum()


def model_at_points(daily: pd.DataFrame, points: pd.DataFrame, start: dt.date) -> np.ndarray:
    """The model's cumulative value at each figure's date, per replication.

    Args:
        daily: a run's daily table (columns ``replication``, ``day`` and counts).
        points: record rows with compared metrics, dated within the run's horizon.
        start: the run's start date (day 1).

    Returns:
        Array of shape (len(points), replications).

    """
    cache: dict[tuple[str, ...], pd.DataFrame] = {}
    out = []
    for point in points.itertuples():
        columns = model_column(point.metric, point.scope)
        if columns not in cache:
            cache[columns] = cumulative_by_replication(daily, columns)
        out.append(cache[columns].loc[day_index(point.date, start)].to_numpy(dtype=float))
    return np.array(out).reshape(len(out), -1) if out else np.zeros((0, 0))
