"""The model in the EMA Workbench: a ``ReplicatorModel`` built from the registry and a ranges file.

Nobody writes the Workbench's table of parameter names and ranges by hand: it comes
from the parameter registry (:mod:`sim.scenario.registry`) and a scenario's
``[[ranges]]`` (``scenarios/ranges_iraq_2023.toml`` declares 145)::

    from ema_workbench import SequentialEvaluator
    from sim import ema

    model = ema.model("ranges_iraq_2023", replications=10, days=60)
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=50, policies=4)

* :func:`uncertainties` - one Workbench parameter per declared range (not the levers);
* :func:`levers` - the four government levers over their registry bounds;
* :func:`outcomes` - the summary outcomes of :data:`sim.experiment.design.OUTCOMES`,
  each the mean over an experiment's replications (or every replication's value);
* :func:`model` - the ``ReplicatorModel`` with them; :func:`parameter` makes a
  Workbench parameter of any other numeric registry path.

Names. The Workbench 3.0 wants names that are Python identifiers (a model's name
must be one; a dotted parameter name gives a DeprecationWarning). A parameter is
named by its path with ``.`` written ``__`` (``levers__government__pressure``;
:func:`name_of` and :func:`path_of` convert, both ways, for every registry path), and
its ``variable_name`` is the path itself, so the model's function receives values by
registry path. The experiments table has the ``__`` names as columns.

Replications and seeds. The model's ``replications`` are ``{"seed": s}`` for the seeds
of :func:`sim.experiment.plan.replication_seeds` (root ``seed``, default the scenario's
``run.seed``); the Workbench passes each as a keyword argument, so every experiment runs
the same seeds (common random numbers) and experiments pair, as ``sim compare`` pairs.

Engines. ``agents`` runs the Mesa model once per replication. ``ensemble`` runs all
replications of an experiment as one batch when the Workbench asks for the first, and
answers the others from it (a row of a batch is the agent engine's replication with that
seed, draw for draw, so both engines give the same outcomes). One batch costs about the
same from 3 to 50 replications (about 0.1 s over 120 days), the agent engine 25 to 45 ms
per replication (docs/explore.md, "In the EMA Workbench").

The Workbench is an optional extra (``pip install -e ".[ema]"``): it is imported by
this module's functions, on first use; ``import sim`` never imports it.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.experiment.design import OUTCOMES
from sim.experiment.plan import MAX_DAYS, MAX_REPLICATIONS, check_range, replication_seeds
from sim.scenario import registry
from sim.scenario.errors import ScenarioError
from sim.scenario.load import load_with_sources, override
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from ema_workbench import ReplicatorModel
    from ema_workbench.em_framework.outcomes import Outcome
    from ema_workbench.em_framework.parameters import Parameter

ENGINES = ("ensemble", "agents")
"""The engines a model can run on (same outcomes; they differ only in speed)."""
LEVERS = registry.GOVERNMENT_LEVERS
"""The Iraqi government's four levers: the Workbench's levers."""
SEP = "__"
"""What a dot of a registry path becomes in a Workbench name."""
DIRECTION = {"attacks": -1, "syria_share": 0, "injuries": -1, "deaths": -1, "clashes": -1,
             "min_stability": 1, "open_confrontation": -1}
"""Each outcome's kind for the Workbench's search: minimise (-1), maximise (1) or info (0)."""
PER_REPLICATION = "_by_replication"
"""Suffix of the per-replication outcomes (the Workbench refuses two outcome classes of
one name in a process, so they cannot share the mean's name)."""


@functools.cache
def _workbench() -> ModuleType:
    """The ``ema_workbench`` package, or an ImportError that says how to install it."""
    try:
        with warnings.catch_warnings():  # "ipyparallel not installed": not needed here
            warnings.simplefilter("ignore", UserWarning)
            import ema_workbench
    except ImportError as exc:
        raise ImportError(f"sim.ema needs the EMA Workbench ({exc}); install it with "
                          "pip install -e \".[ema]\"") from exc
    return ema_workbench


def name_of(path: str) -> str:
    """The Workbench name of a registry path: ``levers.government.pressure`` ->
    ``levers__government__pressure``.

    Raises:
        ValueError: when the name would not be an identifier or not map back.

    """
    name = path.replace(".", SEP)
    if not name.isidentifier() or path_of(name) != path or any(
            part.startswith("_") or part.endswith("_") for part in path.split(".")):
        raise ValueError(f"{path}: has no Workbench name (a part starts or ends with '_', or "
                         "is not a Python name)")
    return name


def path_of(name: str) -> str:
    """The registry path of a Workbench name (the inverse of :func:`name_of`); a path is
    returned unchanged.
    """
    return name.replace(SEP, ".")


def parameter(path: str, low: float | None = None, high: float | None = None,
              spec: Scenario | None = None) -> Parameter:
    """A Workbench parameter for a registry path, over ``[low, high]`` (default: the
    registry's bounds), named :func:`name_of` ``(path)`` with the path as its variable name.

    Args:
        path: a number, whole number or switch of the registry (``sim params``).
        low: the lower end (within the registry's bounds).
        high: the upper end.
        spec: the scenario whose faction and base names the path uses (default: generic).

    Raises:
        ScenarioError: one line naming the path and what is allowed.

    """
    ema = _workbench()
    where = f"({spec.name})" if spec is not None else "(sim.ema)"
    try:
        param = registry.parameter(path, spec)
    except registry.UnknownParameter as exc:
        raise ScenarioError(where, path, low, str(exc)) from None
    if param.type == "boolean":
        return ema.BooleanParameter(name_of(path), variable_name=path)
    if param.type not in ("number", "integer") or path.startswith("run."):
        raise ScenarioError(where, path, param.value, f"a {param.type}; a Workbench parameter "
                            "needs a number, whole number or switch that is not run.*")
    low = param.low if low is None else low
    high = param.high if high is None else high
    for end in (low, high):
        if end is None or not math.isfinite(end) or (param.low is not None and end < param.low) \
                or (param.high is not None and end > param.high):
            raise ScenarioError(where, path, end, f"each end of the range must be "
                                f"{param.allowed()}")
    if param.type == "integer":
        return ema.IntegerParameter(name_of(path), math.ceil(low), math.floor(high),
                                    variable_name=path)
    return ema.RealParameter(name_of(path), float(low), float(high), variable_name=path)


def uncertainties(spec: Scenario) -> list[Parameter]:
    """One Workbench parameter per range the scenario declares, the government's levers
    left out (they are :func:`levers`); an empty list for a scenario without ranges.
    """
    return [parameter(r.path, r.low, r.high, spec) for r in spec.ranges if r.path not in LEVERS]


def levers(spec: Scenario | None = None) -> list[Parameter]:
    """The four government levers (:data:`LEVERS`), each over its registry bounds ([0, 1])."""
    return [parameter(path, spec=spec) for path in LEVERS]


def outcomes(per_replication: bool = False) -> list[Outcome]:
    """The summary outcomes (:data:`sim.experiment.design.OUTCOMES`).

    Args:
        per_replication: False: a ``ScalarOutcome`` per outcome, the mean over an
            experiment's replications (replications with no value, such as ``syria_share``
            without attacks, left out; ``open_confrontation`` is the share of replications
            with one), with its kind for the Workbench's search (:data:`DIRECTION`).
            True: an ``ArrayOutcome`` ``<outcome>_by_replication`` of every replication's
            value, in the order of the seeds.

    """
    ema = _workbench()
    if per_replication:
        return [ema.ArrayOutcome(o + PER_REPLICATION, variable_name=o, function=_values)
                for o in OUTCOMES]
    return [ema.ScalarOutcome(o, kind=DIRECTION[o], function=_mean) for o in OUTCOMES]


def _mean(values: Sequence[float]) -> float:
    """The mean of the values that are numbers (NaN when none is)."""
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    return float(array.mean()) if len(array) else math.nan


def _values(values: Sequence[float]) -> np.ndarray:
    """Every replication's value, as floats."""
    return np.asarray(values, dtype=float)


class Replication:
    """The Workbench model's function: one replication of a scenario with the given values.

    Called as ``function(seed=..., **values)``: ``values`` by registry path (uncertainties
    and levers) or by Workbench name (constants); returns every outcome's value.

    Args:
        spec: the scenario (values not given stay as it has them).
        source: the scenario file (named in error messages).
        seeds: the replications' seeds (the ensemble engine runs them as one batch).
        days: horizon.
        engine: ``"ensemble"`` or ``"agents"``.

    """

    def __init__(self, spec: Scenario, source: Path | str, seeds: Sequence[int], days: int,
                 engine: str) -> None:
        self.spec, self.source, self.seeds = spec, source, [int(s) for s in seeds]
        self.days, self.engine = days, engine
        self.known = {p.path: p for p in registry.parameters(spec)}
        self._batch: tuple[tuple, dict[int, int], dict[str, np.ndarray]] | None = None

    def __call__(self, seed: int | None = None, **given: Any) -> dict[str, float]:
        """Run the replication with ``seed`` and return its outcomes."""
        if seed is None:
            raise ValueError("sim.ema: every replication needs seed=...; set the model's "
                             "replications with sim.ema.model(replications=N)")
        values = {path: self.check(path, value) for path, value in
                  ((path_of(key), value) for key, value in given.items())}
        if self.engine == "agents":
            from sim.model.model import simulate

            summary = simulate(self.scenario(values), int(seed), self.days).summary
            return {o: float(summary[o]) for o in OUTCOMES}
        key = tuple(sorted(values.items(), key=lambda item: item[0]))
        if self._batch is None or self._batch[0] != key or int(seed) not in self._batch[1]:
            self._batch = self.run_batch(key, values, int(seed))
        _, rows, table = self._batch
        return {o: float(table[o][rows[int(seed)]]) for o in OUTCOMES}

    def run_batch(self, key: tuple, values: dict[str, Any], seed: int,
                  ) -> tuple[tuple, dict[int, int], dict[str, np.ndarray]]:
        """All replications of an experiment (or only ``seed``, if it is not one of them) as
        one ensemble batch: the values, each seed's row, each outcome's column.
        """
        from sim.model.ensemble import simulate_batch

        seeds = self.seeds if seed in self.seeds else [seed]
        spec = self.scenario(values)
        mech = spec.mechanisms
        summary = simulate_batch(spec, seeds, self.days, tables="summary").summary(
            mech.deescalation_attacks, mech.deescalation_days)
        return (key, {s: i for i, s in enumerate(seeds)},
                {o: np.asarray(summary[o], dtype=float) for o in OUTCOMES})

    def check(self, path: str, value: Any) -> Any:
        """The value as the scenario stores it.

        Raises:
            ScenarioError: one line naming the scenario file, the path, the value and what
                is allowed (an unknown path, a ``run.*`` value, a value out of bounds).

        """
        param = self.known.get(path)
        if param is None:
            raise ScenarioError(self.source, path, value,
                                registry.unknown_message(path, sorted(self.known)))
        if path.startswith("run."):
            raise ScenarioError(self.source, path, value, "the run is set by sim.ema.model("
                                "days=, seed=, replications=), not by an experiment")
        if isinstance(value, np.generic):
            value = value.item()
        if param.type == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif param.type == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        try:
            return param.check(value)
        except ValueError:
            raise ScenarioError(self.source, path, value,
                                f"the registry allows {param.allowed()}") from None

    def scenario(self, values: Mapping[str, Any]) -> Scenario:
        """The scenario with the values set (re-validated)."""
        return override(self.spec, values, source=str(self.source)) if values else self.spec

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for a worker process without its last batch."""
        return {**self.__dict__, "_batch": None}


def model(scenario: str | Path | Scenario = "ranges_iraq_2023", *, replications: int = 10,
          days: int | None = None, seed: int | None = None, engine: str = "ensemble",
          constants: Mapping[str, Any] | None = None, per_replication: bool = False,
          name: str | None = None) -> ReplicatorModel:
    """The scenario as an EMA Workbench ``ReplicatorModel``.

    Args:
        scenario: a shipped scenario's name, a file's path, or a loaded scenario; its
            ``[[ranges]]`` are the uncertainties.
        replications: per experiment, the same seeds in every experiment.
        days: horizon (default the scenario's ``run.days``).
        seed: root seed of the replication seeds (default the scenario's ``run.seed``).
        engine: ``"ensemble"`` (one batch per experiment) or ``"agents"`` (the Mesa model
            per replication); the outcomes are the same.
        constants: registry path -> value fixed in every experiment (Workbench
            ``Constant`` objects; a path given here is no longer an uncertainty or lever).
        per_replication: outcomes of every replication instead of their means
            (:func:`outcomes`).
        name: the model's name (an identifier; default the scenario's name).

    Returns:
        A model with :func:`uncertainties`, :func:`levers`, :func:`outcomes`, the constants
        and ``replications`` = ``[{"seed": s}, ...]``; its ``function`` is a
        :class:`Replication`.

    Raises:
        ScenarioError: for a bad scenario, a bad constant's path or value.
        ValueError: for an unknown engine, or numbers out of bounds.
        ImportError: when the Workbench is not installed.

    """
    ema = _workbench()
    if engine not in ENGINES:
        raise ValueError(f"engine = {engine!r}: allowed: {', '.join(ENGINES)}")
    if isinstance(scenario, Scenario):
        spec, source = scenario, f"({scenario.name or 'scenario'})"
    else:
        loaded = load_with_sources(scenario)
        spec, source = loaded.scenario, loaded.sources[-1]
    horizon = spec.run.days if days is None else days
    root = spec.run.seed if seed is None else seed
    check_range("replications", replications, 1, MAX_REPLICATIONS)
    check_range("days", horizon, 1, MAX_DAYS)
    check_range("seed", root, 0, 2**63 - 1)
    seeds = replication_seeds(root, replications)
    function = Replication(spec, source, seeds, horizon, engine)
    fixed = {path: function.check(path, value) for path, value in (constants or {}).items()}
    title = name or re.sub(r"\W", "_", spec.name or "sim")
    result = ema.ReplicatorModel(title if title.isidentifier() else f"sim_{title}", function)
    result.uncertainties = [p for p in uncertainties(spec) if path_of(p.name) not in fixed]
    result.levers = [p for p in levers(spec) if path_of(p.name) not in fixed]
    result.outcomes = outcomes(per_replication)
    result.constants = [ema.Constant(name_of(path), value) for path, value in fixed.items()]
    result.replications = [{"seed": s} for s in seeds]
    return result
