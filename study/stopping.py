"""Stopping cleanly: Ctrl-C and SIGTERM end a run with one line, nothing half-written, no process left.

``compare.py`` calls :func:`install` first thing, before its heavy imports. From then on
either signal raises :class:`Stopped` in the main thread, wherever it is (importing,
sampling, comparing, plotting, writing). ``Stopped`` is a ``BaseException`` but not a
``KeyboardInterrupt`` on purpose: PyMC's samplers, nutpie and PyMC's ADVI catch
``KeyboardInterrupt`` and return the draws made so far, which the study would then judge
as if complete. ``Stopped`` unwinds the run instead: the staging folder is removed
(``report.files.write_all``), the plot workers and Dask's cluster stop with their
context managers, and :func:`finish` then ends every process the run started that is
still alive (the plot workers' fork server, PyMC's chain processes, Dask's nannies),
prints one line and returns the exit status, 128 + the signal's number (130, 143).

A second signal while the run unwinds ends it at once, the same way, without waiting
for the unwinding. :func:`surfaced` raises ``Stopped`` again where code must not go on
after a stop (around the study's and SBC's engine calls, before they judge the draws),
even if the engine swallowed the exception or it came back as another error.

``CONJUGATE_CHECK_PAUSE_AT=STAGE`` (for the tests) makes the run print
``compare.py: at STAGE`` on stderr and wait there, so that a signal can be sent at that
point from outside; the stages are those :func:`checkpoint` is called with.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
PAUSE_S = 120  # how long a paused run waits for its signal
_received: int | None = None
_written: str | None = None  # the output folder, once its files are all in place
_mask_before_fork: set[signal.Signals] = set()  # this thread's signal mask before a fork (install)
_fork_hooked = False  # install's fork hooks are registered (they cannot be removed)


class Stopped(BaseException):  # noqa: N818 - not an error: the user asked for it
    """The run was asked to stop (SIGINT or SIGTERM); ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def install() -> None:
    """Turn SIGINT and SIGTERM into :class:`Stopped`; make writing past a file-size limit an OSError.

    Without the last, a process over its file-size limit (``ulimit -f``) is killed by
    SIGXFSZ in the middle of a write, instead of failing that write with EFBIG.
    """
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    global _fork_hooked
    if not _fork_hooked:  # once per process: stacked hooks would save and restore each other's mask
        os.register_at_fork(before=_hold, after_in_parent=_release, after_in_child=_in_forked_child)
        _fork_hooked = True


def _hold() -> None:
    global _mask_before_fork
    _mask_before_fork = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)


def _release() -> None:
    """After a fork, in the run: the mask it had before (a fork inside :func:`held` stays held)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, _mask_before_fork)


def _in_forked_child() -> None:
    """Leave stopping to the run in a process forked from it (PyMC's chain processes).

    It would otherwise inherit :func:`_on_signal`: Ctrl-C to the process group would raise
    :class:`Stopped` inside the chain, which PyMC's chain loop reports to a parent that is
    already unwinding, and the chain dies printing a traceback. Instead it ignores SIGINT,
    and SIGTERM (what :func:`end_children` sends) ends it at once, without a word. The run
    stops it either way: PyMC aborts its chains as ``Stopped`` unwinds the sampler, and
    :func:`finish` ends any left. The signals are held across the fork itself, so that
    none reaches the child before this is in place.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def _on_signal(signum: int, frame) -> None:
    global _received
    if _received is not None:  # a second signal: stop now
        end_children()
        _say(signum)
        os._exit(128 + signum)
    _received = signum
    raise Stopped(signum)


def check() -> None:
    """Raise :class:`Stopped` if a stop was asked for: before judging draws that may be partial."""
    if _received is not None:
        raise Stopped(_received)


@contextlib.contextmanager
def surfaced() -> Iterator[None]:
    """Around code a stop may reach mangled: leave the block with :class:`Stopped` if one was asked for.

    ``Stopped`` raised inside compiled code comes back as another error: raised while
    Numba's compiled log-density calls back into Python, it surfaces as ``SystemError:
    CPUDispatcher(...) returned a result with an exception set``, which an engine's caller
    would report as that engine's failure and go on. An engine may also swallow it and
    return what it had. Either way, after a stop the block ends with ``Stopped``.
    """
    try:
        yield
    except Exception as err:
        if _received is not None:
            raise Stopped(_received) from err
        raise
    check()


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back inside the block (moving the outputs into place); deliver them after."""
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


@contextlib.contextmanager
def ignored(signum: int) -> Iterator[None]:
    """Ignore ``signum`` inside the block: the processes started there ignore it for good.

    A Python process started with SIGINT ignored keeps ignoring it (it installs no
    KeyboardInterrupt handler), and so do the processes it starts: Dask's nannies and
    workers, which this process stops itself when Ctrl-C reaches the whole process group.
    """
    before = signal.signal(signum, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signum, before)


def finish(stop: Stopped) -> int:
    """End the run after ``stop`` unwound it: stop every process it started, say so, return 128 + signal."""
    end_children()
    _say(stop.signum)
    return 128 + stop.signum


def written(out) -> None:
    """Note that the run's outputs are all in place in ``out`` (a stop after this says so)."""
    global _written
    _written = str(out)


def _say(signum: int) -> None:
    name = signal.Signals(signum).name
    done = f"the outputs in {_written}/ were already complete" if _written else "nothing written"
    print(f"compare.py: interrupted ({name}): {done}", file=sys.stderr, flush=True)


def end_children(grace_s: float = 3.0) -> None:
    """Terminate every process descended from this one, then kill those still alive after ``grace_s``.

    Except multiprocessing's resource tracker: it ignores SIGTERM by design and ends by itself
    as soon as this process does, after removing the semaphores the plot workers' pool made.
    """
    import psutil

    try:
        children = [c for c in psutil.Process().children(recursive=True) if not _tracker(c)]
    except psutil.Error:
        return
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(alive, timeout=grace_s)


def _tracker(process) -> bool:
    import psutil

    try:
        return "multiprocessing.resource_tracker" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def checkpoint(stage: str) -> None:
    """Mark a stage of the run; pause there if ``CONJUGATE_CHECK_PAUSE_AT`` names it (module doc)."""
    if os.environ.get("CONJUGATE_CHECK_PAUSE_AT") != stage:
        return
    print(f"compare.py: at {stage}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + PAUSE_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
