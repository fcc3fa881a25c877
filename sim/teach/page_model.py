"""What the teaching page's controls set, and the model they build.

Pure Python (no Solara), so the page's logic is tested without a browser. The page
holds its settings as a plain dict: one entry per :data:`CONTROLS` key plus ``seed``.
The seed is a root seed, as ``sim run --seed`` takes: the Run tab replays replication 1
of that root (the first row of ``sim run SCENARIO --seed ROOT``) and the ensembles run
replications 1, 2, ... of it, so the band's first replication is the run on screen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from sim.experiment.plan import replication_seeds
from sim.model.model import IraqModel
from sim.scenario.load import load, override, shipped_scenarios
from sim.scenario.registry import Parameter, parameter, value_of
from sim.scenario.schema import Scenario

SEED_MAX = 2**63 - 1
"""Largest root seed (``run.seed``'s bound)."""


@dataclass(frozen=True)
class Control:
    """One control of the page: the parameter it sets and how it is shown."""

    key: str
    path: str
    label: str
    group: str
    """``"government"``, ``"coalition"`` or ``"region"``: where the control sits on the page."""


CONTROLS: tuple[Control, ...] = (
    Control("accommodation", "levers.government.accommodation", "Accommodation", "government"),
    Control("appeasement", "levers.government.appeasement", "Appeasement", "government"),
    Control("persuasion", "levers.government.persuasion", "Persuasion", "government"),
    Control("pressure", "levers.government.pressure", "Pressure", "government"),
    Control("retaliation", "levers.coalition.retaliation", "Coalition retaliation", "coalition"),
    Control("gaza", "uncertainties.region.gaza", "Gaza war intensity", "region"),
    Control("lebanon", "uncertainties.region.lebanon", "Lebanon border escalation", "region"),
    Control("red_sea", "uncertainties.region.red_sea", "Red Sea (Houthi) attacks", "region"),
    Control("patron_signal", "uncertainties.patron.signal", "Patron signal", "region"),
)
"""The page's controls, in the order shown. Bounds and meanings come from the registry."""

BY_KEY: dict[str, Control] = {c.key: c for c in CONTROLS}
LEVERS: tuple[str, ...] = tuple(c.key for c in CONTROLS if c.group == "government")
"""The government's four levers (the Compare tab's settings)."""
NUMERIC: tuple[str, ...] = tuple(c.key for c in CONTROLS if c.key != "retaliation")
"""Controls that take a number (the Explore tab's choices)."""


def scenario_names() -> list[str]:
    """Names of the shipped scenarios, sorted."""
    return [path.stem for path in shipped_scenarios()]


@cache
def base_scenario(name: str) -> Scenario:
    """The shipped scenario ``name``, loaded once per process."""
    return load(name)


@cache
def control_parameter(scenario: str, key: str) -> Parameter:
    """The registry's entry for a control in a shipped scenario (bounds, meaning, value)."""
    return parameter(BY_KEY[key].path, base_scenario(scenario))


def settings_of(spec: Scenario) -> dict[str, Any]:
    """The control values that reproduce a scenario's own settings, with its root seed."""
    values: dict[str, Any] = {c.key: value_of(spec, c.path) for c in CONTROLS}
    values["seed"] = spec.run.seed
    return values


def build_spec(scenario: str, settings: dict[str, Any]) -> Scenario:
    """A shipped scenario with the page's settings applied (the seed is not part of it)."""
    changes = {BY_KEY[key].path: value for key, value in settings.items()
               if key in BY_KEY and value is not None}
    return override(base_scenario(scenario), changes)


def check_value(scenario: str, key: str, value: Any) -> str:
    """Why ``value`` cannot be set on control ``key`` ("" when it can)."""
    if key == "seed":
        ok = isinstance(value, int) and 0 <= value <= SEED_MAX
        return "" if ok else f"seed must be a whole number from 0 to {SEED_MAX}"
    param = control_parameter(scenario, key)
    if param.type == "choice":
        return "" if value in param.choices else f"allowed: {', '.join(param.choices)}"
    if value is None or not param.low <= value <= param.high:
        return f"{BY_KEY[key].label} must lie in [{param.low:g}, {param.high:g}]"
    return ""


def show(key: str, value: Any) -> str:
    """A control's value as the page writes it (two decimals, a sign for the patron)."""
    if key == "seed" or isinstance(value, str):
        return str(value)
    return f"{value:+.2f}" if key == "patron_signal" else f"{value:.2f}"


def differences(screen: dict[str, Any], running: dict[str, Any],
                scenarios: tuple[str, str] | None = None) -> list[str]:
    """Where the controls on screen differ from the settings of a run, in words.

    ``["pressure 0.90 on the controls, 0.15 in this run", ...]``; empty when they agree.
    ``scenarios`` (on screen, in the run): when they differ, that is the one difference
    named, since every other value belongs to another scenario.
    """
    if scenarios and scenarios[0] != scenarios[1]:
        return [f"scenario {scenarios[0]} on the controls, {scenarios[1]} in this run"]
    out = []
    for key in [*BY_KEY, "seed"]:
        if key in screen and screen.get(key) != running.get(key):
            label = BY_KEY[key].label.lower() if key in BY_KEY else "seed"
            out.append(f"{label} {show(key, screen.get(key))} on the controls, "
                       f"{show(key, running.get(key))} in this run")
    return out


def run_seed(root: int) -> int:
    """The seed of replication 1 of root seed ``root`` (what the Run tab replays)."""
    return replication_seeds(int(root), 1)[0]


class TeachingModel(IraqModel):
    """:class:`~sim.model.IraqModel` for the page: a shipped scenario, the controls' values
    and a root seed, replaying replication 1 of that root.

    Args:
        scenario_name: a shipped scenario (its world, events and other settings).
        settings: control key -> value (see :data:`CONTROLS`; missing keys keep the
            scenario's value) and ``seed``, the root seed (default: the scenario's).

    """

    def __init__(self, scenario_name: str = "baseline",
                 settings: dict[str, Any] | None = None) -> None:
        spec = base_scenario(scenario_name)
        chosen = {**settings_of(spec), **(settings or {})}
        super().__init__(build_spec(scenario_name, chosen), seed=run_seed(chosen["seed"]))
        self.scenario_name = scenario_name
        self.settings = chosen
        """The settings this model was built with (to compare with the controls)."""
        self.lock = threading.RLock()
        """Held while the page steps or draws the model (the play thread steps it)."""
