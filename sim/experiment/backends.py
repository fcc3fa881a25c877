"""Execution backends: where chunks of replications run.

Three backends share one small interface, :class:`Backend`: ``map(fn, tasks)``
calls ``fn(*task)`` for every task and yields the results as they finish (in any
order; the runner puts them back in order). Results do not depend on the
backend: each replication draws only from its own seed.

* :class:`InProcess`: this process, one task after another (``workers=1``).
* :class:`ProcessPool`: a local pool of worker processes (default for ``workers > 1``).
* :class:`DaskCluster`: a Dask distributed scheduler (``--scheduler tcp://host:8786``
  or the ``SIM_SCHEDULER`` environment variable), for runs one machine cannot do
  fast enough. Each worker machine needs this package installed.

Only a bounded number of tasks is in flight at once, so memory stays flat however
many replications a run has.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

SCHEDULER_ENV = "SIM_SCHEDULER"
"""Environment variable naming a Dask scheduler address (used when none is given)."""

BACKENDS = ("serial", "processes", "dask")


class TaskError(Exception):
    """A task that could not run at all (its worker died or the cluster lost it)."""


class BackendError(ValueError):
    """A backend that cannot be used as asked (unknown name, Dask without a scheduler)."""


class ClusterUnreachable(ConnectionError):
    """The Dask scheduler did not answer."""


CONNECT_TIMEOUT = "10s"
"""How long to wait for a Dask scheduler to answer."""


class Backend(Protocol):
    """Runs tasks somewhere and yields ``(task_index, result_or_exception)`` as they finish."""

    name: str
    workers: int
    shares_files: bool

    def start(self) -> None:
        """Start workers or connect (before anything else starts a thread here)."""
        ...

    def map(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[tuple[int, Any]]:
        """Yield ``(i, fn(*tasks[i]))`` as each finishes; the exception if it raised."""
        ...

    def close(self) -> None:
        """Release processes or connections."""
        ...


PRELOAD = ["sim.experiment.runner", "sim.model.model", "pyarrow.parquet"]
"""What workers need imported before their first task (Mesa, the model, pyarrow: about
a second of imports, paid once, never once per worker)."""


def preload() -> None:
    """A worker's first act: take a worker's signals (it dies with its parent), then
    import :data:`PRELOAD`.
    """
    from sim.experiment.processes import become_worker

    become_worker()
    for module in PRELOAD:
        importlib.import_module(module)


def start_method() -> str:
    """How the process pool starts its workers.

    ``fork`` when this process runs no other thread, not even a native one (the command
    line, which starts its workers before it imports numpy): the workers are copies of
    it and start at once.
    ``forkserver`` otherwise (a notebook, a web server, Dask: forking a process that
    runs threads can deadlock the child): a clean server process imports
    :data:`PRELOAD` once and the workers are forked from it.
    """
    if threads() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "forkserver"


def threads() -> int:
    """Threads of this process, native ones included (numpy's BLAS and pyarrow start some)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count() + 1  # unknown native threads: assume some


class InProcess:
    """Run tasks in this process, in order."""

    name = "serial"
    shares_files = True

    def __init__(self) -> None:
        self.workers = 1

    def start(self) -> None:
        """Nothing to start."""

    def map(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[tuple[int, Any]]:
        """Yield each task's result in turn."""
        for i, task in enumerate(tasks):
            try:
                yield i, fn(*task)
            except Exception as exc:  # the runner records it; the rest go on
                yield i, exc

    def close(self) -> None:
        """Nothing to release."""


class ProcessPool:
    """A local pool of worker processes.

    Args:
        workers: processes.
        in_flight: tasks submitted ahead per worker (keeps memory bounded).

    """

    name = "processes"
    shares_files = True

    def __init__(self, workers: int, in_flight: int = 3) -> None:
        self.workers = workers
        self.in_flight = in_flight
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[tuple[int, Any]]:
        """Yield results as workers finish them."""
        self.start()
        pool = self._pool
        assert pool is not None
        yield from _bounded(lambda task: pool.submit(fn, *task), tasks,
                            self.workers * self.in_flight)

    def start(self) -> None:
        """Start the workers now (see :func:`start_method`); nothing if they are running.

        Each worker imports :data:`PRELOAD` as it starts, while this process goes on
        (loading the scenario, planning): the imports overlap the caller's work.
        """
        if self._pool is not None:
            return
        method = start_method()
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            from multiprocessing import forkserver

            context.set_forkserver_preload(PRELOAD)
            forkserver.ensure_running()  # the server's imports start now
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                         initializer=preload)
        if method == "fork":
            self._pool.submit(int)  # forks every worker now (with fork, all at once)

    def close(self) -> None:
        """Shut the pool down (cancelling tasks not started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _bounded(submit: Callable[[tuple], Future], tasks: Iterable[tuple], limit: int,
             ) -> Iterator[tuple[int, Any]]:
    """Keep at most ``limit`` futures pending; yield ``(index, result or exception)``."""
    pending: dict[Future, int] = {}
    source = enumerate(tasks)
    exhausted = False
    while True:
        while not exhausted and len(pending) < limit:
            try:
                i, task = next(source)
            except StopIteration:
                exhausted = True
                break
            pending[submit(task)] = i
        if not pending:
            return
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            i = pending.pop(future)
            try:
                yield i, future.result()
            except Exception as exc:  # the task's own error, or the pool's (a worker died)
                yield i, exc


class DaskCluster:
    """A Dask distributed cluster reached through its scheduler.

    Args:
        address: the scheduler, e.g. ``tcp://10.0.0.5:8786``.
        in_flight: tasks submitted ahead per worker thread.
        client: an existing ``distributed.Client`` to use instead of connecting.

    """

    name = "dask"
    shares_files = False

    def __init__(self, address: str | None = None, in_flight: int = 3,
                 client: Any = None, security: Any = None) -> None:
        from distributed import Client

        self._own = client is None
        if client is None:
            if str(address).startswith("tls://") and security is None:
                from distributed.security import Security

                if Security().tls_ca_file is None:  # nor set in the Dask configuration
                    raise BackendError(f"{address}: a tls:// scheduler needs --tls-ca-file, "
                                       "--tls-cert and --tls-key (docs/performance.md)")
            try:
                client = Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT,
                                security=security)
            except (OSError, TimeoutError) as exc:
                raise ClusterUnreachable(
                    f"{address}: the Dask scheduler did not answer within {CONNECT_TIMEOUT} "
                    f"({type(exc).__name__}); check the address and that the scheduler runs "
                    "(docs/performance.md)") from None
        self.client = client
        self.address = address or self.client.scheduler.address
        self.in_flight = in_flight
        threads = sum(self.client.nthreads().values())
        self.workers = max(1, threads)

    def start(self) -> None:
        """The client connected when it was made."""

    def map(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[tuple[int, Any]]:
        """Submit tasks to the cluster and yield results as they come back."""
        from distributed import as_completed

        client = self.client
        limit = self.workers * self.in_flight
        source = enumerate(tasks)
        index: dict[Any, int] = {}
        shared: dict[int, Any] = {}

        def submit_next() -> Any:
            try:
                i, task = next(source)
            except StopIteration:
                return None
            task = tuple(_scatter_once(client, shared, arg) for arg in task)
            future = client.submit(fn, *task, pure=False)
            index[future] = i
            return future

        first = [f for f in (submit_next() for _ in range(limit)) if f is not None]
        if not first:
            return
        queue = as_completed(first, loop=client.loop)
        for future in queue:
            i = index.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # the task's own error, or the cluster's
                result = exc
            future.release()
            yield i, result
            following = submit_next()
            if following is not None:
                queue.add(following)

    def close(self) -> None:
        """Disconnect (the cluster itself keeps running)."""
        if self._own:
            self.client.close()


def _scatter_once(client: Any, shared: dict[int, Any], arg: Any) -> Any:
    """Send large shared arguments (the scenario) to the workers once, not per task."""
    from sim.scenario.schema import Scenario

    if not isinstance(arg, Scenario):
        return arg
    key = id(arg)
    if key not in shared:
        shared[key] = (arg, client.scatter(arg, broadcast=True, hash=False))
    return shared[key][1]


def default_workers() -> int:
    """Workers to use by default: the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tls_security(ca_file: str | None, cert: str | None, key: str | None) -> Any:
    """Dask TLS settings from certificate files (None when none is given).

    Raises:
        BackendError: when only some of the three files are given.

    """
    given = [ca_file, cert, key]
    if not any(given):
        return None
    if not all(given):
        raise BackendError("TLS needs all three of --tls-ca-file, --tls-cert and --tls-key")
    from distributed.security import Security

    return Security(tls_ca_file=ca_file, tls_client_cert=cert, tls_client_key=key,
                    require_encryption=True)


def scheduler_address(scheduler: str | None) -> tuple[str | None, str]:
    """The Dask scheduler to use and where it came from ("option", "SIM_SCHEDULER" or "")."""
    if scheduler:
        return scheduler, "option"
    from_env = os.environ.get(SCHEDULER_ENV) or None
    return from_env, SCHEDULER_ENV if from_env else ""


def is_open_address(address: str) -> bool:
    """Whether a Dask address is plain ``tcp://`` to a host other than this one."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", ""):
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def make_backend(backend: str | Backend | None = None, workers: int = 1,
                 scheduler: str | None = None, security: Any = None) -> Backend:
    """Choose a backend.

    Args:
        backend: ``"serial"``, ``"processes"``, ``"dask"``, a backend object, or None
            to choose: Dask when a scheduler is given (or ``SIM_SCHEDULER`` is set),
            else a process pool when ``workers > 1``, else this process.
        workers: processes for the local pool.
        scheduler: Dask scheduler address (``tcp://host:port`` or ``tls://host:port``).
        security: Dask TLS settings (:func:`tls_security`) for a ``tls://`` scheduler.

    Raises:
        BackendError: for an unknown backend name or Dask without a scheduler.
        ClusterUnreachable: when the Dask scheduler does not answer.

    """
    if backend is not None and not isinstance(backend, str):
        return backend
    scheduler, _source = scheduler_address(scheduler)
    if backend is None:
        backend = "dask" if scheduler else "processes" if workers > 1 else "serial"
    if backend == "serial":
        return InProcess()
    if backend == "processes":
        return ProcessPool(max(1, workers))
    if backend == "dask":
        if not scheduler:
            raise BackendError(f"the dask backend needs a scheduler address (--scheduler "
                               f"tls://HOST:PORT or {SCHEDULER_ENV})")
        return DaskCluster(scheduler, security=security)
    raise BackendError(f"unknown backend '{backend}'; allowed: {', '.join(BACKENDS)}")
