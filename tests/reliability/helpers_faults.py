"""Running ``sim`` in a child process with a fault injected at a chosen moment.

A moment is a function of the package wrapped so that, when it is reached, the child
sends itself a signal (SIGKILL, SIGTERM or SIGINT) or raises an OS error. Nothing in
the package knows about it: the child is a short script that patches, then calls
``sim.cli.main``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# moment -> (module, attribute, which call fires: 1 = the first)
MOMENTS = {
    "creating": ("sim.experiment.store", "write_lock", 1),
    "started": ("sim.experiment.runner", "execute", 1),
    "mid-chunk": ("sim.model.model", "simulate", 3),
    "between-chunks": ("sim.experiment.store.RunStore", "write_chunk", 2),
    "finishing": ("sim.experiment.store.RunStore", "finish", 1),
    "renaming": ("sim.experiment.store.RunStore", "commit", 1),
    "cleaning-up": ("sim.experiment.store", "_clear_progress", 1),
    "writing-a-part": ("pyarrow.parquet", "write_table", 3),
    "renaming-a-file": ("os", "replace", 4),
}

CHILD = """
import importlib, os, signal, sys
module_name, attribute, nth, action = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
argv = sys.argv[5:]
if module_name.endswith("RunStore"):
    holder = importlib.import_module(module_name.rsplit(".", 1)[0]).RunStore
else:
    holder = importlib.import_module(module_name)
real = getattr(holder, attribute)
calls = [0]

def fault(*args, **kwargs):
    calls[0] += 1
    if calls[0] == nth:
        if action == "enospc":  # as pyarrow reports it: no file named
            raise OSError(28, "No space left on device")
        os.kill(os.getpid(), getattr(signal, action))
    return real(*args, **kwargs)

setattr(holder, attribute, fault)
from sim.cli import main
sys.exit(main(argv))
"""


def run_with_fault(moment: str, action: str, argv: list[str], cwd: Path,
                   timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``sim ARGV`` with ``action`` (a signal name or ``enospc``) at ``moment``."""
    module, attribute, nth = MOMENTS[moment]
    return subprocess.run([sys.executable, "-c", CHILD, module, attribute, str(nth), action,
                           *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def survivors(session: int, grace: float = 5.0) -> list[int]:
    """Processes still alive in a session after ``grace`` seconds (none expected)."""
    import psutil

    deadline = time.monotonic() + grace
    while True:
        alive = [p.pid for p in psutil.process_iter(["pid"])
                 if _session(p.pid) == session and p.pid != os.getpid()]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def kill_group(session: int) -> None:
    """Kill whatever a test left running in its session."""
    for pid in survivors(session, grace=0):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
