"""The ensemble engine's starting state: every value of a scenario as an array over rows.

Rows are replications. A value the caller varies by row (a sweep, a Sobol design, a
set of plausible worlds) is an array of one value per row; every other value is the
scenario's, repeated. :func:`row_values` reads the parameter paths of the registry
(:mod:`sim.scenario.registry`), so a row can vary anything the agent engine lets a
scenario set, except the values that shape the world's geometry (a faction's home,
weapon mix and targets, a site's coordinates, troops and occupation, a weapon's reach):
those are shared by all rows of a batch and changed by scenario or by event only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace

import numpy as np

from sim.scenario import registry
from sim.scenario.schema import Scenario

POLICIES = ("none", "proportional", "escalatory")
"""Retaliation policies by code (the order of ``levers.coalition.retaliation``'s choices)."""
SHARED_ONLY = ("run.",)
"""Path prefixes a batch cannot vary by row (the run itself)."""
SHARED_FIELDS = {"lat", "lon", "syria_lat", "syria_lon", "troops", "open", "range_km"}
"""Faction and site fields that shape targets: shared by all rows."""


class RowValueError(ValueError):
    """A per-row value the ensemble engine cannot take, naming the path and why."""


def row_values(spec: Scenario, rows: int, varied: Mapping[str, np.ndarray] | None,
               ) -> dict[str, np.ndarray]:
    """Every numeric or boolean parameter of ``spec`` as an array of ``rows`` values.

    Args:
        spec: the scenario (shared values).
        rows: the number of rows (replications) in the batch.
        varied: parameter path -> one value per row (checked against the registry's
            bounds and kinds).

    Raises:
        RowValueError: for an unknown path, a path that cannot vary by row, a wrong
            length, or a value outside the parameter's bounds.

    """
    known = {p.path: p for p in registry.parameters(spec)}
    values: dict[str, np.ndarray] = {}
    for path, param in known.items():
        if isinstance(param.value, bool):
            values[path] = np.full(rows, param.value, dtype=bool)
        elif isinstance(param.value, int | float):
            values[path] = np.full(rows, param.value, dtype=float)
    for path, given in (varied or {}).items():
        if path not in known:
            raise RowValueError(f"{path}: no such parameter; "
                                f"{registry.unknown_message(path, sorted(known))}")
        field = path.rsplit(".", 1)[-1]
        if path.startswith(SHARED_ONLY) or ".weapons." in path or (
                path.startswith(("factions.", "bases.", "weapons.")) and field in SHARED_FIELDS):
            raise RowValueError(f"{path}: shapes the world's targets and cannot differ by row "
                                "in one batch; run the values as separate scenarios")
        array = np.asarray(given)
        if array.shape != (rows,):
            raise RowValueError(f"{path}: {array.shape} values given, one per row expected "
                                f"({rows})")
        param = known[path]
        if param.type in ("integer", "number") and (
                not np.all(np.isfinite(array.astype(float)))
                or (param.low is not None and np.any(array < param.low))
                or (param.high is not None and np.any(array > param.high))):
            raise RowValueError(f"{path}: values must lie in [{param.low}, {param.high}]")
        if param.type == "choice":
            raise RowValueError(f"{path}: a choice ({', '.join(param.choices)}) cannot vary by "
                                "row; run each choice as its own scenario")
        values[path] = array.astype(bool if param.type == "boolean" else float)
    return values


def mechanisms(values: Mapping[str, np.ndarray]) -> SimpleNamespace:
    """The coefficients: a float where every row shares the value, else an array."""
    out = {}
    for path, array in values.items():
        if not path.startswith("mechanisms."):
            continue
        name = path[len("mechanisms."):].replace(".", "_")
        out[name] = float(array[0]) if np.all(array == array[0]) else array
    return SimpleNamespace(**out)


def faction_matrix(values: Mapping[str, np.ndarray], names: list[str], field: str,
                   ) -> np.ndarray:
    """A faction attribute as a (rows, factions) float array."""
    return np.stack([values[f"factions.{n}.{field}"] for n in names], axis=1).astype(float)


def site_matrix(values: Mapping[str, np.ndarray], names: list[str], field: str) -> np.ndarray:
    """A site attribute as a (rows, sites) float array."""
    return np.stack([values[f"bases.{n}.{field}"] for n in names], axis=1).astype(float)
