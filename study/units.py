"""Independent work units, run in this process or on a Dask cluster, with the same results.

A unit is a picklable description of one piece of work (a study's family x engine, an
SBC block); ``Executor.map`` maps one function over the units and returns the results in
the units' order, whatever order they finished in and wherever they ran. Every unit
derives its seeds from its own key, so the results depend on the flags only.

* ``Executor()``: in this process, one unit after the other;
* ``Executor(workers=K)``: a local Dask cluster of ``K`` single-threaded worker processes;
* ``Executor(scheduler=ADDRESS)``: an existing Dask cluster (``dask scheduler`` and
  ``dask worker ADDRESS``; the workers need this project importable).

The command line runs a run of several units on one worker per core unless told otherwise
(``default_workers``).

Dask reschedules the units of a worker that dies (up to its ``allowed-failures``); a
unit that raises is returned as a ``UnitFailure`` naming the unit and its error, and the
other units go on.

Compiled code is never freed by the process that compiled it: every model PyMC compiles
(with PyTensor's Numba backend) leaves its sections mapped, about 33 memory maps per SMC
fit, and a process past the kernel's limit (``/proc/sys/vm/max_map_count``, 65,530 by
default) aborts with ``LLVM ERROR: Unable to allocate section memory!``. Engines fitted one
data set at a time get there after about 2,000 fits. So a worker that holds more than
``recycle_share`` of that limit after a unit is restarted by its nanny before it is given
another; in this process, where nothing can be restarted, the executor says so once.

The local cluster's workers run without Dask's statistical profiler
(``distributed.worker.profile``; ``WORKER_CONFIG``). It samples the running unit's stack
every 10 ms and keeps what it saw, a tree per one-second cycle for the last 1,000 cycles,
for the dashboard this suite does not start. On a unit of minutes that walks PyTensor's
deep and varied stacks it grows and then slows the unit itself: full-rank ADVI's fits,
one data set after another in one unit, took 2 to 3 s each for about 30 s, then 9 to 13 s
each, the worker growing by about 30 MB a fit, against 2 to 3 s and 3 MB a fit without it
(``benchmarks/worker_profiler.py``). Workers of an existing cluster
(``--scheduler``) are started by their owner: start them with
``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` for the same speed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from study import stopping

CONNECT_TIMEOUT_S = 5
WORKERS_ENV = "CONJUGATE_CHECK_WORKERS"  # overrides the default number of worker processes
RECYCLE_SHARE = 0.5  # a worker past this share of the kernel's memory-map limit is restarted
RESTART_TIMEOUT_S = 180  # a busy machine takes a while to end a big process and start another
# Dask settings each of the local cluster's nannies gives its worker, restarted or new (the module
# docstring says why); nested, as dask.config.merge takes them. A nanny's own merge of its config
# is shallow, so it is given the whole of this process's configuration with these merged in.
WORKER_CONFIG = {"distributed": {"worker": {"profile": {"enabled": False}}}}
# How long the loop that hands out units waits at most for one to finish before it looks after the
# workers and the units' time limits; a unit that finishes sooner is seen at once (``_first_done``).
POLL_S = 0.1


def default_workers(units: int, *, least: int = 2) -> int:
    """Worker processes for a run of ``units`` work units when neither --workers nor --scheduler is given.

    One per core this process may use, and at most one per unit; 0 (the units run in this
    process) where that is one, or where there are fewer than ``least`` units: a cluster's
    start-up (2 to 3 s) buys nothing then. The environment variable
    ``CONJUGATE_CHECK_WORKERS`` sets the number instead (the test suite sets 0: its runner
    already runs one test file per core). The results do not depend on it.

    Raises
    ------
    ValueError
        When ``CONJUGATE_CHECK_WORKERS`` is not a whole number of at least 0.
    """
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        if not text.isdigit():
            raise ValueError(f"{WORKERS_ENV} must be a whole number of at least 0, not {text!r}")
        return int(text)
    workers = min(len(os.sched_getaffinity(0)), units)
    return workers if workers > 1 and units >= least else 0


class SchedulerUnreachable(ValueError):
    """The Dask scheduler named by ``--scheduler`` cannot be reached."""


class UnitFailure(RuntimeError):
    """A unit raised; the message names the unit and the error."""


class Executor:
    """Where the units run: this process, a local Dask cluster, or an existing one.

    Use as a context manager; the cluster (if any) starts on entry and stops on exit.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        scheduler: str | None = None,
        unit_timeout: float | None = None,
        recycle_share: float = RECYCLE_SHARE,
    ):
        if workers is not None and scheduler is not None:
            raise ValueError("give --workers or --scheduler, not both")
        if unit_timeout is not None and workers is None and scheduler is None:
            workers = 1  # a unit that runs too long can be stopped only in a process of its own
        self.workers, self.scheduler, self.unit_timeout = workers, scheduler, unit_timeout
        self.recycle_share = recycle_share
        self.workerless_s = 2 * RESTART_TIMEOUT_S  # a local cluster without a worker this long gets new ones
        self._workerless_since: float | None = None
        self._checked = 0.0
        self.client = None
        self._cluster = None

    @property
    def where(self) -> str:
        """Where the units run, in words."""
        limit = f", each unit stopped after {self.unit_timeout:g} s" if self.unit_timeout else ""
        if self.scheduler:
            return f"the Dask cluster at {self.scheduler}{limit}"
        if self.workers:
            return f"a local Dask cluster of {self.workers} worker process(es){limit}"
        return "this process"

    def __enter__(self) -> Executor:
        return self.start() if self.client is None else self

    def start(self) -> Executor:
        """Start the local cluster or connect to the scheduler (nothing for in-process runs).

        Raises
        ------
        SchedulerUnreachable
            When ``scheduler`` does not answer within ``CONNECT_TIMEOUT_S`` seconds.
        """
        if self.scheduler is None and self.workers is None:
            return self
        import dask
        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
            except (OSError, TimeoutError, ValueError) as err:
                raise SchedulerUnreachable(
                    f"cannot reach the Dask scheduler at {self.scheduler!r}: {_first_line(err)}"
                ) from None
            return self
        # Ctrl-C reaches the whole process group: the workers ignore it, and this process stops them
        with stopping.ignored(signal.SIGINT):
            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                # no dashboard; its HTTP server (health, metrics) on a free port, so that clusters
                # running side by side do not compete for Dask's default port 8787
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": ":0"},
                silence_logs=logging.CRITICAL,  # a unit's error comes back as its UnitFailure
                config=dask.config.merge(dask.config.config, WORKER_CONFIG),  # to each worker's nanny
            )
        self.client = Client(self._cluster)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started one."""
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
        self.client = self._cluster = None

    def map(
        self,
        fn: Callable[[Any], Any],
        units: Sequence[Any],
        *,
        label: Callable[[Any], str] = str,
        log: Callable[[str], None] | None = None,
        on_result: Callable[[Any, Any], None] | None = None,
        long: Callable[[Any], Any] | None = None,
    ) -> list[Any]:
        """Return ``[fn(unit) for unit in units]``, run here or on the cluster, logging each finished unit.

        A unit that raises does not stop the others: its place in the list holds a
        ``UnitFailure`` naming the unit (``label(unit)``) and the error, for the caller to
        report. ``on_result(unit, result)`` is called as each unit finishes, in the order
        they finish (a long measurement keeps what it has when it is stopped). On a
        cluster, the units are handed out longest first by ``long(unit)`` (a bool, a number or
        a tuple of them; ties keep their order), so that the shorter ones fill the workers
        around the long ones rather than leave one worker alone with a long one at the end;
        the results keep the units' order.
        """
        log = log or (lambda msg: print(msg, file=sys.stderr))
        start, total = time.perf_counter(), len(units)

        def done(k: int, unit: Any, result: Any) -> None:
            state = "FAILED" if isinstance(result, UnitFailure) else "done"
            log(f"[{k}/{total}] {label(unit)} {state} ({time.perf_counter() - start:.0f} s)")
            if on_result is not None:
                on_result(unit, result)

        if self.client is None:
            out, warned = [], False
            for i, unit in enumerate(units):
                out.append(_run(fn, unit, label))
                done(i + 1, unit, out[-1])
                if not warned and memory_map_share() > self.recycle_share:
                    warned = True
                    log(
                        f"warning: this process holds {memory_map_share():.0%} of the memory maps the "
                        "kernel allows, and compiled models are never freed; a long run may abort "
                        "with 'LLVM ERROR'. Run with --workers K, whose processes are restarted."
                    )
            return out
        order = list(range(len(units)))
        if long:
            order.sort(key=lambda i: long(units[i]), reverse=True)
        return self._map_on_cluster(fn, units, label, done, log, order)

    def _map_on_cluster(self, fn, units, label, done, log, order: list[int]) -> list[Any]:
        """``map`` on the cluster: each unit stopped after ``unit_timeout`` s, workers recycled.

        No more units are handed out than the cluster has threads, so that each starts as it
        is submitted and its clock runs from then, and a worker is idle when its unit comes
        back; it gets its next unit before ``done`` reads the result (a study's caller judges
        a family and hands out its plots there, a second or more). A unit over its time is
        reported as a ``UnitFailure`` and its worker restarted by its nanny (which ends the
        process, whatever the unit is doing); a worker that holds more than ``recycle_share``
        of the kernel's memory maps after its unit is restarted the same way before it gets
        another. The other units go on.
        """
        slots = max(1, sum(w["nthreads"] for w in self.client.scheduler_info()["workers"].values()))
        results: list[Any] = [None] * len(units)
        waiting, running, k = order[::-1], {}, 0
        self._workerless_since = None

        def hand_out() -> None:
            while waiting and len(running) < slots:
                i = waiting.pop()
                future = self.client.submit(_run_counted, fn, units[i], label, pure=False)
                running[future] = (i, time.monotonic())

        while waiting or running:
            hand_out()
            finished = [f for f in running if f.done()]
            if not finished:
                _first_done(list(running), POLL_S)
                self._keep_workers(log)
                finished = [f for f in running if f.done()]
            landed = []
            for future in finished:
                i, _ = running.pop(future)
                try:
                    results[i], worker, share = future.result()
                except Exception as err:  # noqa: BLE001 - a lost worker, or a failure outside fn
                    results[i], worker, share = _failure(units[i], label, err), None, 0.0
                landed.append(i)
                if worker is not None and share > self.recycle_share:
                    log(f"restarting the worker that ran {label(units[i])}: it holds {share:.0%} of its maps")
                    status = self.client.restart_workers(
                        [worker], timeout=RESTART_TIMEOUT_S, raise_for_error=False
                    )
                    if status.get(worker) != "OK":
                        log(f"the restart of {worker} ended {status.get(worker)!r}")
            hand_out()  # the freed workers get their next units before the caller reads these results
            for i in landed:
                k += 1
                done(k, units[i], results[i])
            limit = self.unit_timeout or float("inf")
            late = [f for f, (_, t) in running.items() if time.monotonic() - t > limit]
            for future in late:
                i, _ = running.pop(future)
                results[i] = UnitFailure(
                    f"unit {label(units[i])} stopped: it ran past --engine-timeout {self.unit_timeout:g} s"
                )
                self._stop(future)
                k += 1
                done(k, units[i], results[i])
        return results

    def _keep_workers(self, log) -> None:
        """Start a new worker when a local cluster has had none for ``workerless_s`` seconds.

        A nanny whose worker did not come back from a restart in time is closed by the
        scheduler, and a local cluster does not replace it: its units would wait for ever.
        Checked at most once a second.
        """
        now = time.monotonic()
        if now - self._checked < 1.0:
            return
        self._checked = now
        if self.client.scheduler_info()["workers"]:
            self._workerless_since = None
            return
        self._workerless_since = self._workerless_since or now
        if self._cluster is not None and now - self._workerless_since > self.workerless_s:
            log(f"the cluster has had no worker for {self.workerless_s:g} s: starting new ones")
            self._cluster.scale(len(self._cluster.worker_spec) + (self.workers or 1))
            self._workerless_since = None

    def _stop(self, future) -> None:
        """Cancel a running unit and have its worker process restarted (it may be stuck anywhere)."""
        processing = self.client.processing()
        workers = [w for w, keys in processing.items() if future.key in keys]
        future.cancel()
        if workers:
            self.client.restart_workers(workers, timeout=30, raise_for_error=False)


def memory_map_share() -> float:
    """Return the share of the kernel's memory-map limit this process holds (0 where unknown)."""
    try:
        with open("/proc/self/maps") as f:
            maps = sum(1 for _ in f)
        with open("/proc/sys/vm/max_map_count") as f:
            return maps / int(f.read())
    except (OSError, ValueError):
        return 0.0


def _run_counted(fn: Callable[[Any], Any], unit: Any, label: Callable[[Any], str]) -> tuple[Any, str, float]:
    """Run one unit on a Dask worker; return its result, the worker's address and its memory-map share."""
    from distributed import get_worker

    result = _run(fn, unit, label)
    return result, get_worker().address, memory_map_share()


def _run(fn: Callable[[Any], Any], unit: Any, label: Callable[[Any], str]) -> Any:
    """Run one unit; a unit that raises returns a ``UnitFailure`` naming it and the error."""
    try:
        return fn(unit)
    except Exception as err:  # noqa: BLE001 - reported with the unit that raised
        return _failure(unit, label, err)


def _failure(unit: Any, label: Callable[[Any], str], err: BaseException) -> UnitFailure:
    """Return the ``UnitFailure`` of ``unit``: its label, the error's type and first line."""
    return UnitFailure(f"unit {label(unit)} failed: {type(err).__name__}: {_first_line(err)}")


def _first_done(futures: list, timeout: float) -> None:
    """Return as soon as one of ``futures`` is done, or after ``timeout`` seconds.

    A unit of power takes a fraction of a second: the loop that hands out the units used to
    look every 0.1 s, which left each worker idle about 0.05 s a unit, waiting to be seen
    (``benchmarks/unit_dispatch.py``: 100 units of 0.3 s on 2 workers took 18.8 s, 15 s of work).
    """
    from distributed import wait

    with contextlib.suppress(TimeoutError):  # dask.distributed.TimeoutError is the builtin's
        wait(futures, timeout=timeout, return_when="FIRST_COMPLETED")


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def eta_log(total: int, prefix: str) -> Callable[[str], None]:
    """Return a progress logger for ``total`` units: each call prints ``prefix msg; about N s left``."""
    start = time.perf_counter()
    count = [0]

    def log(msg: str) -> None:
        count[0] += 1
        left = (time.perf_counter() - start) / count[0] * (total - count[0])
        end = "\n" if count[0] == total else ""
        print(f"\r{prefix} {msg}; about {left:.0f} s left   ", end=end, file=sys.stderr, flush=True)

    return log


def run_all_or_raise(
    fn: Callable[[Any], Any], todo: list, *, prefix: str, label: Callable[[Any], str], executor=None
) -> list:
    """Run every unit of ``todo`` (here, or spread by ``executor``) with a progress line.

    Raises
    ------
    RuntimeError
        The first unit that raised, named, with its error's first line.
    """
    rows = (executor or Executor()).map(fn, todo, label=label, log=eta_log(len(todo), prefix))
    failed = [r for r in rows if isinstance(r, UnitFailure)]
    if failed:
        raise RuntimeError(str(failed[0]))
    return rows
