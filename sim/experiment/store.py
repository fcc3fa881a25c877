"""Run folders built chunk by chunk, resumable, and renamed into place when complete.

A plan runs into ``OUT.partial/``:

* ``plan.json``: what to run (the resolved scenarios, seeds, horizon, chunk size);
* ``chunks/E-NNNNNN.json``: one marker per finished chunk (its summary rows and
  failures), written last, so a killed run leaves only whole chunks;
* each scenario's folder (``OUT.partial`` itself for a single run, else
  ``OUT.partial/<label>/``) with ``daily.parquet/`` and ``events.parquet/``: Parquet
  datasets of one part per chunk, written by the worker that ran it (nothing is
  merged at the end; ``pandas.read_parquet`` reads the folder as one table).

:meth:`RunStore.finish` writes each scenario's ``summary.csv``, ``metadata.json`` and
``failures.csv`` from the markers; :meth:`RunStore.commit` renames ``OUT.partial`` to
``OUT`` and then removes the markers.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from sim.experiment.files import write_json, write_text_atomic
from sim.experiment.plan import Plan

PARTIAL = ".partial"
"""Suffix of the folder a run is built in; renamed to the final name when complete."""
TABLES = ("daily", "events")


class RunStore:
    """The in-progress folder of a plan.

    Args:
        final: the folder the run becomes.
        plan: what runs.
        kind: ``"run"`` (one scenario, its tables at the top) or ``"comparison"``
            (one subfolder per scenario).
        extra: entries for each scenario's ``metadata.json`` (command, ...).

    """

    def __init__(self, final: Path, plan: Plan, kind: str, extra: dict[str, Any]) -> None:
        self.final, self.plan, self.kind, self.extra = Path(final), plan, kind, extra
        self.partial = self.final.with_name(self.final.name + PARTIAL)
        self.chunks = self.partial / "chunks"

    @classmethod
    def create(cls, out: Path, plan: Plan, kind: str = "run",
               extra: dict[str, Any] | None = None) -> RunStore:
        """Start a new run folder.

        Raises:
            FileExistsError: when ``out`` or its in-progress folder exists already.

        """
        store = cls(Path(out), plan, kind, extra or {})
        if store.final.exists():
            raise FileExistsError(f"{store.final} exists already; choose another --out")
        if store.partial.exists():
            raise FileExistsError(f"{store.partial} holds an interrupted run; finish it with "
                                  f"'sim {'compare' if kind == 'comparison' else 'run'} "
                                  f"--resume {store.final}'")
        store.chunks.mkdir(parents=True)
        write_json(store.partial / "plan.json", {"kind": kind, "plan": plan.to_json(),
                                                 "extra": store.extra})
        return store

    @classmethod
    def open(cls, folder: Path) -> RunStore:
        """Reopen an interrupted run (``folder`` is ``OUT`` or ``OUT.partial``).

        Raises:
            FileNotFoundError: when there is no interrupted run there.

        """
        folder = Path(folder)
        final = (folder.with_name(folder.name[:-len(PARTIAL)]) if folder.name.endswith(PARTIAL)
                 else folder)
        partial = final.with_name(final.name + PARTIAL)
        if not (partial / "plan.json").exists():
            state = "is complete" if final.exists() else "does not exist"
            raise FileNotFoundError(f"no interrupted run at {partial} ({final} {state})")
        saved = json.loads((partial / "plan.json").read_text(encoding="utf-8"))
        return cls(final, Plan.from_json(saved["plan"]), saved["kind"], saved["extra"])

    # --------------------------------------------------------------- chunks

    def entry_dir(self, entry: int) -> Path:
        """The folder of one scenario's tables (inside the in-progress folder)."""
        return self.partial if self.kind == "run" else self.partial / self.plan.entries[entry].label

    def table_dirs(self, entry: int) -> dict[str, Path]:
        """Where each table's parts go: ``daily.parquet/`` and ``events.parquet/``."""
        return {kind: self.entry_dir(entry) / f"{kind}.parquet" for kind in TABLES}

    def _marker(self, entry: int, chunk: int) -> Path:
        return self.chunks / f"{entry:03d}-{chunk:06d}.json"

    def records(self) -> list[dict[str, Any]]:
        """Every readable chunk marker, in entry and chunk order (a marker a crash left
        unreadable counts as a chunk not done: it runs again).
        """
        found = []
        for path in sorted(self.chunks.glob("*.json")):
            try:
                found.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return found

    def completed(self) -> set[tuple[int, int]]:
        """(entry, chunk) of chunks written in full and without failures."""
        return {(r["entry"], r["chunk"]) for r in self.records() if not r["failures"]}

    def write_chunk(self, chunk: Any) -> None:
        """Record a finished chunk: its table parts (unless its worker wrote them), then
        its marker.
        """
        self._marker(chunk.entry, chunk.index).unlink(missing_ok=True)
        if not chunk.written:
            label = self.plan.entries[chunk.entry].label
            write_parts(self.table_dirs(chunk.entry), chunk.index, label,
                        {"daily": chunk.daily, "events": chunk.events})
        write_json(self._marker(chunk.entry, chunk.index), {
            "entry": chunk.entry, "chunk": chunk.index, "jobs": chunk.jobs,
            "seconds": chunk.seconds, "summary": chunk.summary, "failures": chunk.failures},
            durable=False)

    # ------------------------------------------------------------- finishing

    def finish(self, wall_time: float, info: dict[str, Any]) -> None:
        """Write each scenario's summary.csv, failures.csv and metadata.json from the markers.

        Args:
            wall_time: seconds the run took (this session).
            info: backend facts for metadata.json (backend, workers).

        """
        from sim.experiment.results import FAILURE_COLUMNS, run_metadata, summary_table

        records = self.records()
        for e, entry in enumerate(self.plan.entries):
            mine = [r for r in records if r["entry"] == e]
            rows = [row for r in mine for row in r["summary"]]
            failed = [row for r in mine for row in r["failures"]]
            folder = self.entry_dir(e)
            for kind, path in self.table_dirs(e).items():
                if not any(path.glob("part-*.parquet")):
                    write_parts({kind: path}, 0, entry.label, {kind: {}}, empty=True)
            write_text_atomic(folder / "summary.csv",
                              summary_table(entry.scenario, rows).to_csv(index=False))
            if failed:
                import pandas as pd

                write_text_atomic(folder / "failures.csv", pd.DataFrame(
                    failed, columns=list(FAILURE_COLUMNS)).to_csv(index=False))
            extra = {**self.extra, **info, "label": entry.label, "sources": list(entry.sources),
                     "source_hash": entry.source_hash, "chunk_size": self.plan.chunk_size,
                     "compute_s": round(sum(r["seconds"] for r in mine), 3)}
            meta = run_metadata(entry.scenario, self.plan.root_seed, self.plan.days,
                                [row["seed"] for row in rows], wall_time, failed=len(failed),
                                extra=extra)
            write_json(folder / "metadata.json", meta)

    def commit(self) -> Path:
        """Rename the finished folder to its final name, then drop the markers."""
        os.replace(self.partial, self.final)
        shutil.rmtree(self.final / "chunks", ignore_errors=True)
        (self.final / "plan.json").unlink(missing_ok=True)
        return self.final


def write_parts(dirs: dict[str, Path], chunk: int, label: str,
                tables: dict[str, dict[str, np.ndarray]], empty: bool = False) -> None:
    """Write one chunk's tables as Parquet parts (``part-NNNNNN.parquet``), each atomically.

    A table with no rows removes the chunk's part (a chunk re-run after a failure
    overwrites what it wrote before). With ``empty`` a table with no rows is written
    with its columns, so a dataset folder is never empty.
    """
    import pyarrow.parquet as pq

    for kind, columns in tables.items():
        folder = dirs[kind]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{chunk:06d}.parquet"
        if not columns and not empty:
            path.unlink(missing_ok=True)
            continue
        table = _arrow(label, columns) if columns else _empty_table(kind)
        tmp = folder / f".{path.name}.{os.getpid()}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, path)


def _arrow(label: str, columns: dict[str, np.ndarray]) -> Any:
    """A pyarrow table of one chunk, scenario column first, strings as strings."""
    import pyarrow as pa

    n = len(columns["replication"])
    arrays = {"scenario": pa.array([label] * n, type=pa.string())}
    for name, values in columns.items():
        arrays[name] = (pa.array(values, type=pa.string()) if values.dtype == object
                        else pa.array(values))
    return pa.table(arrays)


def _empty_table(kind: str) -> Any:
    import pyarrow as pa

    if kind == "events":
        from sim.model.recorder import EVENT_COLUMNS

        types = {"day": pa.int32(), "injuries": pa.int32(), "deaths": pa.int32()}
        fields = [("scenario", pa.string()), ("replication", pa.int64()),
                  *((c, types.get(c, pa.string())) for c in EVENT_COLUMNS)]
    else:
        fields = [("scenario", pa.string()), ("replication", pa.int64()), ("day", pa.int32())]
    return pa.schema(fields).empty_table()
