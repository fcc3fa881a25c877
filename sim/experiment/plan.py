"""Plans: which scenarios, with which replication seeds, over which horizon, in which chunks.

Replication seeds come from ``SeedSequence(root_seed).spawn(n)``: replication ``i``
of every scenario in a plan gets the same seed (common random numbers), and results
do not depend on how many workers, or which backend, ran them. A plan is cut into
tasks of ``chunk_size`` consecutive replications of one scenario.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.scenario import registry
from sim.scenario.schema import Scenario

MAX_REPLICATIONS: int = registry.parameter("run.replications").high
MAX_DAYS: int = registry.parameter("run.days").high


ENGINES = ("agents", "ensemble")
"""The two engines of the one model."""
TABLES = ("all", "summary")
"""Which tables a run keeps."""
ENSEMBLE_CHUNK = 10_000
"""Most rows the ensemble engine advances together in one chunk (memory stays bounded:
about 1 kB per row and day of horizon with every table, far less with summaries only)."""


def replication_seeds(root_seed: int, replications: int) -> list[int]:
    """Integer seeds for each replication, spawned from one root.

    Args:
        root_seed: the scenario's (or command line's) seed, >= 0.
        replications: how many.

    Returns:
        One 63-bit integer per replication; ``simulate(spec, seed)`` replays it.

    """
    children = np.random.SeedSequence(root_seed).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


@dataclass(frozen=True)
class Entry:
    """One scenario of a plan, under a label unique within the plan."""

    label: str
    scenario: Scenario
    sources: tuple[str, ...] = ()
    source_hash: str = ""


@dataclass(frozen=True)
class Task:
    """A chunk of consecutive replications of one entry: ``(replication, seed)`` jobs."""

    entry: int
    chunk: int
    jobs: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Plan:
    """Scenarios x replication seeds x horizon, cut into chunks.

    Build it with :func:`make_plan`, which checks the numbers against the schema's bounds.
    """

    entries: tuple[Entry, ...]
    root_seed: int
    replications: int
    days: int
    chunk_size: int
    seeds: tuple[int, ...] = field(default=(), repr=False)
    engine: str = "agents"
    tables: str = "all"

    def tasks(self) -> list[Task]:
        """Every chunk of every entry, entry by entry."""
        jobs = list(enumerate(self.seeds))
        return [Task(e, i, tuple(jobs[first:first + self.chunk_size]))
                for e in range(len(self.entries))
                for i, first in enumerate(range(0, self.replications, self.chunk_size))]

    def chunks_per_entry(self) -> int:
        """How many chunks each entry is cut into."""
        return math.ceil(self.replications / self.chunk_size)

    def to_json(self) -> dict[str, Any]:
        """What ``plan.json`` of a run folder holds (resolved scenarios included)."""
        return {"root_seed": self.root_seed, "replications": self.replications,
                "days": self.days, "chunk_size": self.chunk_size, "engine": self.engine,
                "tables": self.tables,
                "entries": [{"label": e.label, "sources": list(e.sources),
                             "source_hash": e.source_hash,
                             "scenario": e.scenario.model_dump(mode="json")}
                            for e in self.entries]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """The plan saved by :meth:`to_json`."""
        entries = [Entry(e["label"], Scenario.model_validate_json(json.dumps(e["scenario"])),
                         tuple(e["sources"]), e["source_hash"]) for e in data["entries"]]
        return make_plan(entries, data["replications"], data["root_seed"], data["days"],
                         chunk_size=data["chunk_size"], engine=data.get("engine", "agents"),
                         tables=data.get("tables", "all"))


def make_plan(entries: Sequence[Entry | Scenario], replications: int | None = None,
              seed: int | None = None, days: int | None = None, workers: int = 1,
              chunk_size: int | None = None, engine: str = "agents", tables: str = "all",
              ) -> Plan:
    """A plan over ``entries`` with shared seeds.

    Args:
        entries: scenarios (labelled by name, made unique) or entries.
        replications: per scenario (default: the first scenario's ``run.replications``).
        seed: root seed (default: the first scenario's ``run.seed``).
        days: horizon (default: the first scenario's ``run.days``).
        workers: workers the plan will run on (sets the default chunk size).
        chunk_size: replications per chunk (default :func:`default_chunk_size`; for the
            ensemble engine, large chunks: :data:`ENSEMBLE_CHUNK` rows at most, enough to
            give every worker a share).
        engine: ``"agents"`` (the Mesa agent model) or ``"ensemble"`` (the same model on
            arrays, :mod:`sim.model.ensemble`).
        tables: ``"all"`` or ``"summary"`` (no daily table and no event log).

    Raises:
        ValueError: for numbers outside the schema's bounds (the message says which).

    """
    if not entries:
        raise ValueError("a plan needs at least one scenario")
    items = [e if isinstance(e, Entry) else Entry(e.name, e) for e in entries]
    first = items[0].scenario.run
    n = first.replications if replications is None else replications
    root = first.seed if seed is None else seed
    horizon = first.days if days is None else days
    check_range("replications", n, 1, MAX_REPLICATIONS)
    check_range("days", horizon, 1, MAX_DAYS)
    check_range("seed", root, 0, 2**63 - 1)
    if engine not in ENGINES:
        raise ValueError(f"engine = {engine!r}: allowed: {', '.join(ENGINES)}")
    if tables not in TABLES:
        raise ValueError(f"tables = {tables!r}: allowed: {', '.join(TABLES)}")
    if chunk_size is None and engine == "ensemble":
        chunk_size = min(ENSEMBLE_CHUNK, max(1, math.ceil(n / max(1, workers))))
    size = chunk_size or default_chunk_size(n * len(items), workers)
    size = math.ceil(n / math.ceil(n / min(size, n)))  # even chunks within a scenario
    return Plan(tuple(unique_labels(items)), root, n, horizon, size,
                tuple(replication_seeds(root, n)), engine, tables)


def check_range(name: str, value: int, low: int, high: int) -> None:
    """Refuse a number outside [low, high], naming it.

    Raises:
        ValueError: "replications = 0: must be >= 1 and <= 1000000".

    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} = {value!r}: must be a whole number >= {low} and <= {high}")


def unique_labels(entries: Sequence[Entry]) -> list[Entry]:
    """The entries with labels made unique (a second ``baseline`` becomes ``baseline_2``)."""
    seen: dict[str, int] = {}
    out = []
    for entry in entries:
        count = seen.get(entry.label, 0) + 1
        seen[entry.label] = count
        label = entry.label if count == 1 else f"{entry.label}_{count}"
        out.append(Entry(label, entry.scenario, entry.sources, entry.source_hash))
    return out


def default_chunk_size(replications: int, workers: int) -> int:
    """Replications per chunk: about 32 chunks per worker, between 1 and 100.

    Small enough that workers finish close together (the last chunk is a short tail),
    large enough that sending tasks and results costs little.
    """
    return max(1, min(100, math.ceil(replications / (max(1, workers) * 32))))
