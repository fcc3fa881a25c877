"""A constant-rate negative-binomial null model of the record: a baseline the agent model must beat.

Each count series (attacks, injuries, casualties = injuries + deaths, deaths) is read as
i.i.d. daily counts, negative binomial with mean ``mu`` and shape ``k`` (variance
``mu + mu**2 / k``), constant over the whole horizon. No escalation, no truce, no
Tower 22: only a rate and its overdispersion, fitted by maximum likelihood to the
calibration window and nothing else.

Fitting (:func:`fit_null`). A metric's cumulative figures dated on or before ``end``
become increments between consecutive figures, the first from 0 at day 0. An increment
over ``d`` days is a sum of ``d`` i.i.d. NB(mu, k) days, i.e. NB(d*mu, d*k), so the
log-likelihood of (mu, k) is a sum over increments. Both are optimised on the log scale
(Nelder-Mead, deterministic start mu = total/days, k = 1); k is bounded to
[:data:`K_MIN`, :data:`K_MAX`] (the upper bound is the Poisson limit: with few figures
the likelihood often rises towards it). Series are built as follows:

* attacks use scope ``iraq_syria``; if the window has none, every scope that is not a
  single country (and failing that the sum of ``iraq`` and ``syria`` figures on dates
  having both);
* injuries, deaths and casualties use every figure of the metric that is not a single
  country;
* two figures of one date: the larger is kept (the later-listed on a tie);
* a figure *below* the last kept one (a decreasing cumulative count: impossible, so a
  stale or differently-defined count) is dropped, which merges its increment into the
  next interval. A figure *equal* to the last one is kept: a zero increment is a valid
  observation (NB gives it positive probability) and merging it would only discard
  information;
* qualifiers (``at_least``, ``approx``, ...) are ignored: figures are read as reported,
  rounded to whole counts;
* a metric whose figures in the window are all zero (deaths: no U.S. combat death before
  Tower 22) gets ``mu = 0``: its prediction is a point mass at 0;
* casualties: figures of ``cumulative_casualties`` if the window has them; otherwise
  derived on the injuries dates as injuries plus the latest deaths figure on or before
  that date (0 if none). Deaths were 0 throughout the calibration window, so on the
  current record the casualties series is the injuries series.

The share of attacks in Syria is a constant ``p``: syria / (iraq + syria) at the latest
date on or before ``end`` having both a ``syria`` and an ``iraq`` figure (``None`` when
there is none).

Prediction (:meth:`NullModel.predict`): Monte Carlo, per metric one path of daily draws
per replicate from a fixed seed, cumulated, so the cumulative count at day ``t`` is
NB(t*mu, t*k) and every quantile is non-decreasing in ``t``; scope ``syria`` (``iraq``)
thins each day's attacks binomially with ``p`` (``1 - p``), so the cumulative count is
binomial(total, p). Scope ``iraq_syria_jordan`` uses the ``iraq_syria`` fit: the null
model has no separate rate for Jordan. A query's result depends only on (seed, draws,
metric, scope, day), never on the other queries.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.record import CALIBRATION_END, calibration_rows, day_index

ATTACKS = "cumulative_attacks"
INJURIES = "cumulative_injuries"
DEATHS = "cumulative_deaths"
CASUALTIES = "cumulative_casualties"
COUNT_METRICS = (ATTACKS, INJURIES, CASUALTIES, DEATHS)
"""Metrics the null model fits (each a cumulative count since day 1)."""
TOTAL_SCOPE = "iraq_syria"
COUNTRY_SCOPES = ("iraq", "syria")
"""Scopes of figures that count the attacks in one country."""
K_MIN, K_MAX = 1e-3, 1e4
"""Bounds of the shape ``k``."""
SEED = 20231017
DRAWS = 10_000
QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class NullFit:
    """The fitted daily NB(mu, k) of one metric.

    Attributes:
        metric: the record metric, e.g. ``"cumulative_attacks"``.
        mu: mean count per day (0: the prediction is a point mass at 0).
        k: shape (variance per day ``mu + mu**2 / k``). When ``mu`` is 0 every NB is the
            point mass at 0 and ``k`` is set to :data:`K_MAX` (the Poisson limit), unfitted.
        days_used: days covered by the figures (model day of the last figure used).
        figures_used: dated figures in the series after merging (see module docstring).

    """

    metric: str
    mu: float
    k: float
    days_used: int
    figures_used: int

    @property
    def point_mass(self) -> bool:
        """True when the prediction is a point mass at 0 (no event in the window)."""
        return self.mu == 0.0


@dataclass(frozen=True)
class NullModel:
    """Constant-rate negative-binomial null model, fitted by :func:`fit_null`.

    Attributes:
        fits: one :class:`NullFit` per metric, by metric name.
        syria_share: constant share of attacks in Syria, or ``None`` if the calibration
            window has no Iraq/Syria split.
        start: day 1 of the model.
        end: last day (inclusive) of the calibration window the fit read.

    """

    fits: dict[str, NullFit]
    syria_share: float | None
    start: dt.date
    end: dt.date

    def predict(self, points: pd.DataFrame, seed: int = SEED, draws: int = DRAWS,
                ) -> pd.DataFrame:
        """The null model's median and 90% band of each queried cumulative count.

        Args:
            points: columns ``date`` (date, or anything ``pd.Timestamp`` reads),
                ``metric`` and ``scope``, e.g. rows of the record.
            seed: seed of the Monte Carlo draws.
            draws: number of Monte Carlo replicates.

        Returns:
            Columns ``null_median``, ``null_p5``, ``null_p95`` on ``points``'s index: the
            0.5, 0.05 and 0.95 quantiles (numpy's linear interpolation) of the cumulative
            count from day 1 to the point's date (0 for dates before ``start``). ``nan``
            for a metric without a fit, for a single-country scope of a metric other than
            attacks, and for a single-country scope when :attr:`syria_share` is ``None``.

        """
        out = pd.DataFrame(np.nan, index=points.index,
                           columns=["null_median", "null_p5", "null_p95"])
        days = np.array([day_index(pd.Timestamp(d).date(), self.start) for d in points["date"]],
                        dtype=int)
        keys = [(metric, _part(scope)) for metric, scope
                in zip(points["metric"], points["scope"], strict=True)]
        for key in sorted(set(keys)):
            metric, part = key
            if metric not in self.fits or (part != "total" and (
                    metric != ATTACKS or self.syria_share is None)):
                continue
            rows = np.array([k == key for k in keys])
            table = _path_quantiles(self.fits[metric], part, self.syria_share or 0.0,
                                    np.unique(days[rows]), seed, draws)
            for position in np.flatnonzero(rows):
                out.iloc[position] = table[int(days[position])]
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: dates, Syria share and each metric's fit."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "syria_share": self.syria_share,
            "fits": {m: {"mu": f.mu, "k": f.k,
                         "days_used": f.days_used, "figures_used": f.figures_used,
                         "point_mass": f.point_mass}
                     for m, f in self.fits.items()},
        }


def fit_null(record: pd.DataFrame, start: dt.date, end: dt.date = CALIBRATION_END) -> NullModel:
    """Fit the null model to the calibration window of the record.

    Reads only :func:`~sim.analysis.record.calibration_rows` of ``record`` and its rows of
    scope ``iraq`` or ``syria`` dated on or before ``end``: test-window figures never
    reach the fit.

    Args:
        record: the record (:func:`~sim.analysis.record.load_record`), or any frame with
            columns ``date``, ``metric``, ``value``, ``scope`` (and ``row``, optional).
        start: day 1 (the date of day 0's zero count plus one day).
        end: last day (inclusive) of the calibration window.

    Returns:
        The fitted :class:`NullModel`; metrics without any figure in the window are
        left out of :attr:`NullModel.fits`.

    """
    window = _window(record, end)
    fits: dict[str, NullFit] = {}
    for metric in COUNT_METRICS:
        dated = _series(window, metric)
        if metric == CASUALTIES and not dated:
            dated = _derived_casualties(window)
        series = [(day_index(date, start), value) for date, value in dated
                  if day_index(date, start) >= 1]
        if series:
            fits[metric] = fit_series(metric, series)
    return NullModel(fits=fits, syria_share=_syria_share(window), start=start, end=end)


def fit_series(metric: str, figures: list[tuple[int, float]]) -> NullFit:
    """Maximum-likelihood NB(mu, k) of daily counts from dated cumulative figures.

    Args:
        metric: name stored in the result.
        figures: (model day, cumulative value) pairs, already cleaned: days increasing
            and positive, values non-decreasing (see :func:`_clean`).

    Returns:
        The fit; ``mu = 0`` (and ``k =`` :data:`K_MAX`, unfitted) when every figure is 0.

    """
    from scipy.optimize import minimize  # imported here: workers and `sim --help` never need it

    days = np.array([d for d, _ in figures], dtype=float)
    values = np.array([v for _, v in figures], dtype=float)
    span = np.diff(np.concatenate([[0.0], days]))
    counts = np.diff(np.concatenate([[0.0], values]))
    total, last = float(values[-1]), int(days[-1])
    if total == 0:
        return NullFit(metric, 0.0, K_MAX, last, len(figures))

    def negative_loglik(theta: np.ndarray) -> float:
        mu = np.exp(theta[0])
        k = np.clip(np.exp(theta[1]), K_MIN, K_MAX)
        return -float(nb_logpmf(counts, span * mu, span * k).sum())

    theta = np.array([np.log(total / last), 0.0])
    for _ in range(2):  # a restart from the optimum: Nelder-Mead can stop on a ridge
        theta = minimize(negative_loglik, theta, method="Nelder-Mead",
                         options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000}).x
    mu, k = float(np.exp(theta[0])), float(np.clip(np.exp(theta[1]), K_MIN, K_MAX))
    return NullFit(metric, mu, k, last, len(figures))


def nb_logpmf(x: np.ndarray, mean: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Log-probability of ``x`` under NB with the given mean and shape (elementwise)."""
    from scipy.special import gammaln, xlogy

    return (gammaln(x + shape) - gammaln(shape) - gammaln(x + 1)
            + xlogy(shape, shape / (shape + mean)) + xlogy(x, mean / (shape + mean)))


def _window(record: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Everything the fit may read: calibration rows plus country-split rows up to ``end``."""
    if "row" not in record.columns:
        record = record.assign(row=np.arange(1, len(record) + 1))
    calibration = calibration_rows(record, end)
    split = record.loc[record["scope"].isin(COUNTRY_SCOPES) & (record["date"] <= end)]
    window = pd.concat([calibration, split], ignore_index=True).drop_duplicates(subset="row")
    return window.sort_values(["date", "row"], kind="stable").reset_index(drop=True)


def _series(window: pd.DataFrame, metric: str) -> list[tuple[dt.date, float]]:
    """A metric's cleaned (date, cumulative value) figures, by the rules of the module."""
    rows = window.loc[window["metric"] == metric]
    if metric == ATTACKS:
        total = rows.loc[rows["scope"] == TOTAL_SCOPE]
        if total.empty:
            total = rows.loc[~rows["scope"].isin(COUNTRY_SCOPES)]
        if total.empty:
            return _clean(_country_sums(rows))
        return _clean(_figures(total))
    return _clean(_figures(rows.loc[~rows["scope"].isin(COUNTRY_SCOPES)]))


def _figures(rows: pd.DataFrame) -> list[tuple[dt.date, float]]:
    """One (date, value) per date: the larger value of a date, the later-listed on a tie."""
    best: dict[dt.date, float] = {}
    for row in rows.sort_values(["date", "row"], kind="stable").itertuples():
        value = float(np.round(row.value))
        if row.date not in best or value >= best[row.date]:
            best[row.date] = value
    return sorted(best.items())


def _country_sums(rows: pd.DataFrame) -> list[tuple[dt.date, float]]:
    """Iraq + Syria attacks on each date having both figures."""
    iraq = dict(_figures(rows.loc[rows["scope"] == "iraq"]))
    syria = dict(_figures(rows.loc[rows["scope"] == "syria"]))
    return sorted((d, iraq[d] + syria[d]) for d in iraq.keys() & syria.keys())


def _clean(figures: list[tuple[dt.date, float]]) -> list[tuple[dt.date, float]]:
    """Drop figures below the last kept one (their increment merges into the next)."""
    kept: list[tuple[dt.date, float]] = []
    for date, value in figures:
        if not kept or value >= kept[-1][1]:
            kept.append((date, value))
    return kept


def _derived_casualties(window: pd.DataFrame) -> list[tuple[dt.date, float]]:
    """Injuries plus the latest deaths figure on or before each injuries date (0 if none)."""
    deaths = _series(window, DEATHS)
    out = []
    for date, injured in _series(window, INJURIES):
        dead = [value for when, value in deaths if when <= date]
        out.append((date, injured + (dead[-1] if dead else 0.0)))
    return _clean(out)


def _syria_share(window: pd.DataFrame) -> float | None:
    """Share of attacks in Syria, syria / (iraq + syria), at the latest date having both."""
    rows = window.loc[window["metric"] == ATTACKS]
    iraq = dict(_figures(rows.loc[rows["scope"] == "iraq"]))
    syria = dict(_figures(rows.loc[rows["scope"] == "syria"]))
    for date in sorted(iraq.keys() & syria.keys(), reverse=True):
        if iraq[date] + syria[date] > 0:
            return syria[date] / (iraq[date] + syria[date])
    return None


def _part(scope: str) -> str:
    """The part of the total a scope counts: ``"iraq"``, ``"syria"`` or ``"total"``."""
    return scope if scope in COUNTRY_SCOPES else "total"


def _path_quantiles(fit: NullFit, part: str, syria_share: float, days: np.ndarray, seed: int,
                    draws: int) -> dict[int, tuple[float, float, float]]:
    """(median, p5, p95) of the cumulative count of ``part`` at each of ``days``.

    ``draws`` paths of daily NB(mu, k) counts from day 1 to the last wanted day, cumulated;
    for a country, each day's count is split binomially (Syria with ``syria_share``, Iraq
    the rest, so the two paths add up to the total's). The streams depend only on
    (seed, metric), so a day's result does not depend on the other days asked for.
    """
    out = {int(d): (0.0, 0.0, 0.0) for d in days}
    wanted = {int(d) for d in days if d > 0}
    if not wanted or fit.point_mass:
        return out
    tag = zlib.crc32(fit.metric.encode())
    counts_rng = np.random.default_rng([seed, tag])
    split_rng = np.random.default_rng([seed, tag, 1])
    p = fit.k / (fit.k + fit.mu)
    total = np.zeros(draws, dtype=np.int64)
    for day in range(1, max(wanted) + 1):
        daily = counts_rng.negative_binomial(fit.k, p, size=draws)
        if part != "total":
            syria = split_rng.binomial(daily, syria_share)
            daily = syria if part == "syria" else daily - syria
        total += daily
        if day in wanted:
            p5, median, p95 = np.quantile(total, QUANTILES)
            out[day] = (float(median), float(p5), float(p95))
    return out
