"""Where processes are started and stopped: signals, workers that die with their parent.

* :func:`die_with_parent` makes the calling process exit when its parent dies (a
  worker whose ``sim run`` was killed with SIGKILL stops instead of running on);
  :func:`become_worker` also leaves Ctrl-C to the parent.
* :func:`stop_on_signals` turns SIGTERM (and SIGHUP) into :class:`Terminated`, so the
  ``finally`` blocks that stop worker pools run before the command exits with 143.
* :func:`serve` runs a server process (the teaching page) in the foreground and takes
  it down with the command, whatever stops the command.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence

PR_SET_PDEATHSIG = 1
"""Linux prctl option: the signal a process receives when its parent exits."""


class Terminated(BaseException):
    """The command was asked to stop (SIGTERM or SIGHUP); exit status 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal's number (143 for SIGTERM), as a shell reports it."""
        return 128 + self.signum


def become_worker() -> None:
    """A worker's signals: Ctrl-C is the parent's to handle (it stops the pool), SIGTERM
    ends the worker at once, and the worker dies with its parent.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    die_with_parent()


def die_with_parent() -> None:
    """Exit when the process that started this one dies.

    Two watches: the operating-system parent (SIGTERM from the kernel on Linux, else a
    thread polling for it), and, for a worker made by ``multiprocessing``, the process
    that made the pool (a thread waiting on its sentinel): a worker forked from a fork
    server has the server as its parent, and the server outlives a killed ``sim run``
    as long as its workers do.
    """
    import multiprocessing

    creator = multiprocessing.parent_process()
    if creator is not None:
        threading.Thread(target=_exit_after, args=(creator.sentinel,), daemon=True,
                         name="die-with-creator").start()
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="die-with-parent").start()


def _exit_after(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])  # ready when the process behind it has exited
    os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    Ctrl-C (SIGINT) already raises ``KeyboardInterrupt``. Either way the blocks that
    close worker pools and release locks run, and the caller prints how to resume.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, raise_terminated)
                for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(command: Sequence[str], env: dict[str, str]) -> int:
    """Run a server in the foreground until it exits or this process is stopped.

    The server dies with this process (even on SIGKILL of this one); Ctrl-C, SIGTERM
    and SIGHUP stop it, wait for it to exit, and go on to the caller
    (``KeyboardInterrupt`` or :class:`Terminated`).

    Returns:
        The server's exit status when it exits by itself.

    """
    proc = subprocess.Popen(list(command), env=env, preexec_fn=die_with_parent)
    try:
        with stop_on_signals():
            return proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
