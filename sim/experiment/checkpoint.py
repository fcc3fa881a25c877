"""Resumable work folders for designs, sweeps and searches: finished chunks kept, the rest rerun.

A long exploration (a Sobol design, a sweep, a lever search) builds its folder in
``OUT.partial/``:

* ``job.json``: what the command was asked (enough to start it again);
* ``chunks/NNNNNN.parquet``: one table per finished chunk, written atomically, so a
  killed run leaves only whole chunks;
* anything else the command keeps while it runs (its design, a search's study);
* ``lock``: the process writing it (a second process is refused; a stale lock of a
  killed process is cleared).

``--resume OUT`` reopens the folder, keeps the finished chunks and runs the others with
the same seeds, so a resumed result equals an uninterrupted one. When the command is
done it writes its outputs into the folder, drops ``chunks/`` and the lock, and renames
the folder to ``OUT``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.files import write_bytes_atomic, write_json
from sim.experiment.lock import LOCK_NAME, RunLocked, acquire, describe, holder, is_alive, release, write_lock

PARTIAL = ".partial"


class Checkpoint:
    """The in-progress folder of one exploration command.

    Args:
        final: the folder the result becomes.
        command: the command's name (``sensitivity``, ``sweep``, ``robust``), for messages.

    """

    def __init__(self, final: Path, command: str) -> None:
        self.final, self.command = Path(final), command
        self.partial = self.final.with_name(self.final.name + PARTIAL)
        self.chunks = self.partial / "chunks"

    @classmethod
    def create(cls, out: Path, command: str, job: dict[str, Any]) -> Checkpoint:
        """Start a new folder holding ``job``, locked by this process.

        Raises:
            FileExistsError: when ``out`` or its in-progress folder exists (saying what to do).

        """
        point = cls(Path(out), command)
        point.refuse_existing()
        point.final.parent.mkdir(parents=True, exist_ok=True)
        tmp = point.final.with_name(f".{point.partial.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "chunks").mkdir(parents=True)
        write_json(tmp / "job.json", {"command": command, **job})
        write_lock(tmp)
        try:
            os.rename(tmp, point.partial)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            point.refuse_existing()
            raise
        return point

    @classmethod
    def open(cls, folder: Path, command: str) -> Checkpoint:
        """Reopen an interrupted folder (``OUT`` or ``OUT.partial``) and take its lock.

        Raises:
            FileNotFoundError: when nothing interrupted is there (saying what is).
            RunLocked: when a running process writes it.

        """
        folder = Path(folder)
        final = (folder.with_name(folder.name[:-len(PARTIAL)]) if folder.name.endswith(PARTIAL)
                 else folder)
        point = cls(final, command)
        if not point.partial.exists():
            state = "it is complete" if final.exists() else "nothing there"
            raise FileNotFoundError(f"no interrupted {command} at {final}: {state}")
        acquire(point.partial)
        try:
            job = point.job
        except (OSError, ValueError) as exc:
            release(point.partial)
            raise FileNotFoundError(f"{point.partial} cannot be resumed: its job.json is "
                                    f"missing or unreadable ({exc}); remove the folder and "
                                    "run again") from None
        if job.get("command") != command:
            release(point.partial)
            raise FileNotFoundError(f"{point.partial} holds a `sim {job.get('command')}`, not "
                                    f"a `sim {command}`; resume it with that command")
        return point

    def refuse_existing(self) -> None:
        """Refuse to start over a finished or an interrupted result."""
        if self.final.exists():
            raise FileExistsError(f"{self.final} exists already; choose another --out")
        if self.partial.exists():
            owner = holder(self.partial / LOCK_NAME)
            if owner is not None and is_alive(owner):
                raise RunLocked(f"{self.partial} is being written by {describe(owner)}; wait "
                                "for it to finish or choose another --out")
            raise FileExistsError(f"{self.partial} holds an interrupted {self.command}; finish "
                                  f"it with 'sim {self.command} --resume {self.final}' or "
                                  "choose another --out")

    @property
    def job(self) -> dict[str, Any]:
        """What the command was asked (``job.json``)."""
        return json.loads((self.partial / "job.json").read_text(encoding="utf-8"))

    def done(self) -> dict[int, pd.DataFrame]:
        """The finished chunks' tables by chunk number (an unreadable one is not done)."""
        found = {}
        for path in sorted(self.chunks.glob("*.parquet")):
            try:
                found[int(path.stem)] = pd.read_parquet(path)
            except (OSError, ValueError):
                continue
        return found

    def stage(self, name: str) -> Checkpoint:
        """The same folder, keeping its finished chunks in ``chunks/NAME/``: one stage of a
        job that runs several designs in turn (the waves of a history match).
        """
        view = Checkpoint(self.final, self.command)
        view.chunks = self.chunks / name
        view.chunks.mkdir(parents=True, exist_ok=True)
        return view

    def save(self, chunk: int, frame: pd.DataFrame) -> None:
        """Keep a finished chunk's table."""
        write_bytes_atomic(self.chunks / f"{chunk:06d}.parquet",
                           frame.to_parquet(index=False), durable=False)

    def finish(self, fill: Callable[[Path], Any]) -> Path:
        """Write the outputs (``fill(folder)``), drop the progress files, rename into place."""
        fill(self.partial)
        shutil.rmtree(self.chunks, ignore_errors=True)
        (self.partial / "job.json").unlink(missing_ok=True)
        release(self.partial)
        os.replace(self.partial, self.final)
        return self.final

    def close(self) -> None:
        """Release the lock (the folder stays for ``--resume``)."""
        if self.partial.exists():
            release(self.partial)
