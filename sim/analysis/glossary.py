"""What every outcome and statistic means, its unit and which way is better: one place for all handouts.

Used by ``comparison.md``, ``differences.png`` and the HTML handouts of ``sim report``,
so that a term reads the same everywhere. Pure data and small functions: no files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One outcome of ``summary.csv``: what it is, its unit, which way is better, its range."""

    meaning: str
    unit: str
    """Unit for an axis or a table; ``{days}`` is replaced by the horizon."""
    better: int
    """-1: lower is better; +1: higher is better; 0: neither (a description, not a goal)."""
    low: float | None = 0.0
    """Lowest value the outcome can take (None: unbounded)."""
    high: float | None = None
    """Highest value the outcome can take (None: unbounded)."""


METRICS: dict[str, Metric] = {
    "attacks": Metric("Attacks on coalition sites launched over the horizon (intercepted ones "
                      "included; attacks foiled before launch are not).",
                      "attacks over {days} days", -1),
    "weekly_attack_rate": Metric("Attacks per 7 days averaged over the horizon "
                                 "(attacks / days x 7).", "attacks per 7 days", -1),
    "peak_week_attacks": Metric("Most attacks in any 7 consecutive days.",
                                "attacks in the worst 7 days", -1),
    "attacks_day28": Metric("Attacks in the first 28 days.", "attacks in the first 28 days", -1),
    "syria_share": Metric("Share of a replication's attacks that hit sites in Syria (the rest "
                          "hit Iraq).", "share of attacks", 0, 0.0, 1.0),
    "injuries": Metric("U.S. personnel injured over the horizon: what happened, including brain "
                       "injuries diagnosed later.", "injured over {days} days", -1),
    "injuries_day28": Metric("U.S. personnel injured in the first 28 days.",
                             "injured in the first 28 days", -1),
    "injuries_reported": Metric("Injuries as the public count showed them by the end of the "
                                "horizon (later diagnoses lag).", "reported injured", -1),
    "deaths": Metric("U.S. personnel killed over the horizon.", "deaths over {days} days", -1),
    "deaths_day28": Metric("U.S. personnel killed in the first 28 days.",
                           "deaths in the first 28 days", -1),
    "intercepted": Metric("Attacks intercepted by air defence (part of attacks).",
                          "attacks intercepted over {days} days", 0),
    "foiled": Metric("Attacks foiled by Iraqi forces before launch (not in attacks).",
                     "attacks foiled over {days} days", 0),
    "strikes": Metric("Coalition retaliatory strikes on the factions.",
                      "strikes over {days} days", -1),
    "clashes": Metric("Armed clashes between Iraqi government forces and a faction.",
                      "clashes over {days} days", -1),
    "min_stability": Metric("Lowest value of the Iraqi stability index (0 to 1) over the horizon.",
                            "stability index (0-1)", 1, 0.0, 1.0),
    "final_stability": Metric("The stability index on the last day.", "stability index (0-1)", 1,
                              0.0, 1.0),
    "open_confrontation": Metric("Whether open confrontation between the government and a "
                                 "faction broke out (0 or 1 per replication; its mean is the "
                                 "share of replications).", "share of replications", -1, 0.0, 1.0),
    "confrontation_days": Metric("Days of open confrontation.",
                                 "days of confrontation over {days} days", -1),
    "days_to_deescalation": Metric("Day on which the first run of 14 calm days began (at most 2 "
                                   "attacks in the trailing 7 days); undefined when none did, so "
                                   "its mean is over the replications that de-escalated.",
                                   "day of the horizon", -1, 1.0),
    "final_mean_capability": Metric("The factions' mean capability (arms, money, fighters) on "
                                    "the last day.", "capability index", -1),
    "final_mean_hostility": Metric("The factions' mean hostility to the coalition (0 to 1) on "
                                   "the last day.", "hostility index (0-1)", -1, 0.0, 1.0),
}
"""Every outcome of ``summary.csv`` (``sim.model.outcomes.SUMMARY_METRICS``)."""

TERMS: dict[str, str] = {
    "replication": "One run of the model with its own random seed; a scenario is run many "
                   "times and summarised across replications.",
    "median": "The middle value across replications (half lie below, half above); the line "
              "in every figure.",
    "90% of replications": "The 5th to 95th percentile across replications: the spread of "
                           "single runs (the shaded band of the figures).",
    "95% interval": "Uncertainty of the model's average from a finite number of replications "
                    "(t-interval of the mean); narrower than the spread of single runs. Bounds "
                    "of counts, rates and shares are clipped to the values they can take.",
    "paired difference": "Scenario minus reference, replication by replication with the same "
                         "seed (common random numbers), then averaged; its 95% interval is "
                         "usually far narrower than the scenarios' own intervals.",
    "clear": "The paired 95% interval of the difference excludes zero. Better or worse says "
             "which way that is good for the outcome; with many comparisons some clear "
             "differences arise by chance.",
    "7-day rolling mean": "The mean of a day and the six before it; daily counts are smoothed "
                          "this way before their band is drawn, so the band is not a staircase.",
}
"""Statistical terms used by the handouts."""


def metric(name: str) -> Metric:
    """The glossary entry of an outcome (a neutral, unbounded entry for an unknown name)."""
    return METRICS.get(name, Metric(name.replace("_", " "), name.replace("_", " "), 0, None))


def unit(name: str, days: int | None = None) -> str:
    """The outcome's unit, with the horizon filled in (``"attacks over 120 days"``)."""
    text = metric(name).unit
    return text.format(days=days) if days is not None else text.replace(" over {days} days", "")


def better_word(name: str) -> str:
    """``"lower is better"``, ``"higher is better"`` or ``"neither better nor worse"``."""
    better = metric(name).better
    return {-1: "lower is better", 1: "higher is better"}.get(better, "neither better nor worse")


def clip(name: str, low: float, high: float) -> tuple[float, float]:
    """An interval's bounds clipped to the values the outcome can take (NaN stays NaN)."""
    entry = metric(name)
    if entry.low is not None:
        low, high = (max(v, entry.low) if v == v else v for v in (low, high))
    if entry.high is not None:
        low, high = (min(v, entry.high) if v == v else v for v in (low, high))
    return low, high


def clip_difference(name: str, low: float, high: float) -> tuple[float, float]:
    """A difference's bounds kept within what two values of the outcome can differ by (only
    for outcomes bounded on both sides, such as shares: within -1 and 1).
    """
    entry = metric(name)
    if entry.low is None or entry.high is None:
        return low, high
    span = entry.high - entry.low
    return tuple(min(max(v, -span), span) if v == v else v for v in (low, high))  # type: ignore[return-value]


def verdict(name: str, low: float, high: float) -> str:
    """What a difference with paired interval [low, high] says for the outcome.

    ``"better"`` or ``"worse"`` when the interval excludes zero and the outcome has a
    better direction; ``"higher"`` or ``"lower"`` for a neutral outcome; ``""`` when
    the interval includes zero (or is undefined).
    """
    if not (low > 0 or high < 0):  # includes zero, or NaN
        return ""
    sign = 1 if low > 0 else -1
    better = metric(name).better
    if better == 0:
        return "higher" if sign > 0 else "lower"
    return "better" if sign == better else "worse"


__all__ = ["METRICS", "TERMS", "Metric", "better_word", "clip", "clip_difference", "metric", "unit",
           "verdict"]
