"""Scenario analysis of militia attacks on coalition forces and Iraqi policy levers.

The public API (imported on first use, so ``import sim`` stays light)::

    import sim

    spec = sim.load("baseline")                                  # a shipped name or a path
    spec = sim.override(spec, {"levers.government.pressure": 0.6})
    result = sim.run(spec, replications=50, workers=2)           # daily, events, summary
    table = sim.compare(["baseline", "pressure_led"], replications=30).table
    for p in sim.parameters(spec, kind="lever"):                 # the parameter registry
        print(p.path, p.allowed(), p.value)

* :func:`load` - a scenario file or shipped scenario name -> a validated :class:`Scenario`;
* :func:`override` - a copy with values replaced by parameter path;
* :func:`parameters` / :func:`parameter` - the registry of every settable value;
* :func:`run` - one scenario's replications -> :class:`RunResult` (tables in memory, or a
  run folder with ``out=``);
* :func:`compare` - scenarios with common random numbers -> :class:`Comparison` (the
  paired table ``sim compare`` writes, and each scenario's run);
* :func:`simulate` - one replication -> numpy columns;
* :class:`ScenarioError` - what every bad scenario, path or value raises.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_API = {
    "load": "sim.scenario.load", "override": "sim.scenario.load",
    "Scenario": "sim.scenario.schema", "ScenarioError": "sim.scenario.errors",
    "parameters": "sim.scenario.registry", "parameter": "sim.scenario.registry",
    "Parameter": "sim.scenario.registry", "simulate": "sim.model.model",
    "run": "sim.experiment.runner", "RunResult": "sim.experiment.results",
    "read_run": "sim.experiment.results", "compare": "sim.analysis.comparison",
    "Comparison": "sim.analysis.comparison",
}
__all__ = ["Comparison", "Parameter", "RunResult", "Scenario", "ScenarioError", "compare", "load",
           "override", "parameter", "parameters", "read_run", "run", "simulate"]

if TYPE_CHECKING:
    from sim.analysis.comparison import Comparison, compare
    from sim.experiment.results import RunResult, read_run
    from sim.experiment.runner import run
    from sim.model.model import simulate
    from sim.scenario.errors import ScenarioError
    from sim.scenario.load import load, override
    from sim.scenario.registry import Parameter, parameter, parameters
    from sim.scenario.schema import Scenario


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _API:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
