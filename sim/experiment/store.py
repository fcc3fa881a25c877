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
from sim.experiment.lock import LOCK_NAME, RunLocked, acquire, describe, holder, is_alive, release, write_lock
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
        """Start a new run folder, locked by this process.

        ``OUT.partial`` appears whole (plan, progress folder and lock are written under a
        temporary name first), so a run killed at any moment leaves either nothing or a
        folder ``--resume`` can finish.

        Raises:
            FileExistsError: when ``out`` or its in-progress folder exists already.

        """
        store = cls(Path(out), plan, kind, extra or {})
        store.refuse_existing()
        store.final.parent.mkdir(parents=True, exist_ok=True)
        _clear_stale_starts(store.final.parent, store.partial.name)
        tmp = store.final.with_name(f".{store.partial.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "chunks").mkdir(parents=True)
        write_json(tmp / "plan.json", {"kind": kind, "plan": plan.to_json(),
                                       "extra": store.extra})
        write_lock(tmp)
        try:
            os.rename(tmp, store.partial)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            store.refuse_existing()  # another process created it meanwhile
            raise
        return store

    def refuse_existing(self) -> None:
        """Refuse to start over a finished or an interrupted run.

        Raises:
            FileExistsError: naming what is there and what to do.

        """
        command = "compare" if self.kind == "comparison" else "run"
        if self.final.exists():
            raise FileExistsError(f"{self.final} exists already (a finished run); choose "
                                  "another --out")
        if self.partial.exists():
            owner = holder(self.partial / LOCK_NAME)
            if owner is not None and is_alive(owner):
                raise RunLocked(f"{self.partial} is being written by {describe(owner)}; "
                                "wait for it to finish or choose another --out")
            raise FileExistsError(f"{self.partial} holds an interrupted run; finish it with "
                                  f"'sim {command} --resume {self.final}' or choose another "
                                  "--out")

    @classmethod
    def open(cls, folder: Path) -> RunStore:
        """Reopen an interrupted run (``folder`` is ``OUT`` or ``OUT.partial``) and lock it.

        Raises:
            FileNotFoundError: when there is no interrupted run there (the message says
                whether the run is complete or absent).
            RunLocked: when another running process is writing it.

        """
        folder = Path(folder)
        final = (folder.with_name(folder.name[:-len(PARTIAL)]) if folder.name.endswith(PARTIAL)
                 else folder)
        partial = final.with_name(final.name + PARTIAL)
        if not partial.exists():
            if final.exists():
                _clear_progress(final)  # a run killed just after its last rename
                raise FileNotFoundError(f"no interrupted run at {final}: the run is complete")
            raise FileNotFoundError(f"no interrupted run at {final}: nothing there")
        acquire(partial)
        try:
            saved = json.loads((partial / "plan.json").read_text(encoding="utf-8"))
            return cls(final, Plan.from_json(saved["plan"]), saved["kind"], saved["extra"])
        except (OSError, ValueError, KeyError) as exc:
            release(partial)
            raise FileNotFoundError(f"{partial} cannot be resumed: its plan.json is missing or "
                                    f"unreadable ({exc}); remove the folder and run again") from None

    def close(self) -> None:
        """Release the lock (the in-progress folder stays for ``--resume``)."""
        if self.partial.exists():
            release(self.partial)

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
            "seconds": chunk.seconds, "summary": list(chunk.summary), "failures": chunk.failures},
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
        """Rename the finished folder to its final name, then drop the progress files."""
        os.replace(self.partial, self.final)
        _clear_progress(self.final)
        return self.final


def _clear_stale_starts(parent: Path, name: str) -> None:
    """Remove the temporary folders of runs killed while they were being created."""
    import psutil

    for path in parent.glob(f".{name}.*.tmp"):
        pid = path.name[len(name) + 2:-len(".tmp")]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _clear_progress(folder: Path) -> None:
    """Remove a finished run's progress files (markers, plan, lock) if any are left."""
    shutil.rmtree(folder / "chunks", ignore_errors=True)
    for name in ("plan.json", LOCK_NAME):
        (folder / name).unlink(missing_ok=True)


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
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, path)
        except OSError as exc:  # pyarrow's errors do not name the file
            tmp.unlink(missing_ok=True)
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


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
