"""A lock file that keeps two processes from writing one run folder, cleared when stale.

The lock names its holder: process id, host, the process's start time and its
command line. A lock whose process no longer runs (it was killed) is stale and is
cleared by the next process that asks; a lock held by a running process is refused
with a message that says which process holds it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

LOCK_NAME = "lock"


class RunLocked(FileExistsError):
    """The run folder is being written by another running process."""


def _me() -> dict[str, Any]:
    import psutil

    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": psutil.Process().create_time(), "command": " ".join(sys.argv)}


def holder(path: Path) -> dict[str, Any] | None:
    """Who holds the lock at ``path`` (None when nobody does or the file is unreadable)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_alive(owner: dict[str, Any]) -> bool:
    """Whether the lock's owner still runs (on another host: assumed so)."""
    import psutil

    if owner.get("host") != socket.gethostname():
        return True
    try:
        process = psutil.Process(int(owner["pid"]))
        return abs(process.create_time() - float(owner["started"])) < 0.01
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def describe(owner: dict[str, Any]) -> str:
    """'process 1234 on host (sim run baseline ..., started 2026-11-25 07:30:12)'."""
    started = dt.datetime.fromtimestamp(float(owner.get("started", 0))).strftime(
        "%Y-%m-%d %H:%M:%S")
    return (f"process {owner.get('pid')} on {owner.get('host')} "
            f"({owner.get('command', '?')}, started {started})")


def write_lock(folder: Path) -> Path:
    """Write this process's lock into ``folder`` (a folder not yet visible to others)."""
    path = Path(folder) / LOCK_NAME
    path.write_text(json.dumps(_me()), encoding="utf-8")
    return path


def acquire(folder: Path) -> Path:
    """Take the lock of an existing run folder, clearing a stale one.

    Raises:
        RunLocked: when a running process holds it.

    """
    path = Path(folder) / LOCK_NAME
    for _attempt in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            owner = holder(path)
            if owner is not None and owner.get("pid") == os.getpid():
                return path  # this process holds it already
            if owner is not None and is_alive(owner):
                raise RunLocked(f"{folder} is being written by {describe(owner)}; wait for "
                                "it to finish, or stop it and then resume") from None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # stale: its process was stopped without clearing it
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(_me()))
        return path
    raise RunLocked(f"{folder}: could not take its lock (another process keeps taking it)")


def release(folder: Path) -> None:
    """Clear this process's lock in ``folder`` (nothing if another process holds it)."""
    path = Path(folder) / LOCK_NAME
    owner = holder(path)
    if owner is not None and owner.get("pid") == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
