"""Draw a study's plots two at a time, in worker processes: Dask's processes scheduler on a fork server.

Matplotlib draws one figure at a time, and drawing was the largest part of a default study
once the sampler got fast (2.7 of 6.3 s). Two worker processes draw two plots at once.
They fork from a server process (the ``forkserver`` start method) that imports the
plotting code and loads Matplotlib's fonts (``report.plot_server``) as soon as the study
starts, on the other core while this process compiles and samples; so a worker forks with
everything loaded, and a plot costs it what it costs a warm process. Dask's processes
scheduler hands the plots out one at a time and returns their results in order.

Inside ``workers_kept()`` the same two workers serve every ``draw`` and ``draw_later``:
``draw_later`` hands plots to them in the background and returns at once, so that the
plots of a study's draws are drawn while this process compares them with the closed forms.

The files are the same wherever they are drawn. Without the ``forkserver`` start method
(Windows), on one core, or with ``CONJUGATE_CHECK_PLOT_WORKERS=0`` in the environment, the
plots are drawn in this process, one after another.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from study import stopping
from study.lazy_jax import jax_left_unloaded

WORKERS = 2
SERVER_MODULES = ["report.plot_server"]
_server_started = False
_kept: ProcessPoolExecutor | None = None  # the workers kept by ``workers_kept`` (None: a pool per draw)
_background: ThreadPoolExecutor | None = None  # waits for ``draw_later``'s plots


# Every function a worker may draw with, by the name a Plot gives: named, not imported, so that
# the process handing out the plots need not import Matplotlib. tests/test_plot_pool.py checks
# that each entry resolves to a function.
DRAWERS = {
    "trace_plot": "report.plots:trace_plot",
    "trace_bokeh": "report.plots:trace_bokeh",
    "density_plot": "report.plots:density_plot",
    "washout_plot": "report.plots:washout_plot",
    "mse_plot": "report.plots:mse_plot",
    "engines_density_plot": "report.plots:engines_density_plot",
    "cost_accuracy_plot": "report.plots:cost_accuracy_plot",
    "cost_accuracy_bokeh": "report.plots:cost_accuracy_bokeh",
    "write_draws": "report.files:write_draws",
}


@dataclass(frozen=True)
class Plot:
    """One plot to draw: the function ``target`` (``"module:function"``) called with ``args``.

    With ``embed`` its Bokeh layout comes back as ``(script, div)``. The function is named
    rather than held, so that the process handing out the plots need not import Matplotlib.
    The study's plots are made with ``plot(name, ...)``, from ``DRAWERS``.
    """

    target: str
    args: tuple
    embed: bool = False


def plot(name: str, args: tuple, embed: bool = False) -> Plot:
    """Return the plot ``DRAWERS[name](*args)``; an unknown name fails here, where it is asked for."""
    if name not in DRAWERS:
        raise ValueError(f"no plot function {name!r}; known: {', '.join(DRAWERS)}")
    return Plot(DRAWERS[name], args, embed)


def workers() -> int:
    """How many worker processes draw the plots (0: this process draws them)."""
    if os.environ.get("CONJUGATE_CHECK_PLOT_WORKERS") == "0" or (os.cpu_count() or 1) < 2:
        return 0
    return WORKERS if "forkserver" in multiprocessing.get_all_start_methods() else 0


def start_server() -> None:
    """Start the fork server now, so that it loads the plotting code while this process works on."""
    global _server_started
    if _server_started or not workers():
        return
    from multiprocessing import forkserver

    multiprocessing.set_forkserver_preload(SERVER_MODULES)
    # Ctrl-C reaches the whole process group, the server too, perhaps still starting Python (a
    # fatal error and a traceback then): it ignores SIGINT, and a stopped run ends it itself
    with stopping.ignored(signal.SIGINT):
        forkserver.ensure_running()
    _server_started = True


def _new_pool(n: int) -> ProcessPoolExecutor:
    start_server()
    return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("forkserver"))


@contextmanager
def workers_kept() -> Iterator[None]:
    """Let every ``draw`` and ``draw_later`` inside use the same workers; wait for them, then stop them."""
    global _kept, _background
    n = workers()
    if n == 0 or _kept is not None:
        yield
        return
    _kept, _background = _new_pool(n), ThreadPoolExecutor(1, thread_name_prefix="plots")
    try:
        yield
    except BaseException:  # a failure or a stop (study.stopping): drop the plots not yet drawn
        _background.shutdown(wait=False, cancel_futures=True)
        _kept.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        _background.shutdown()  # every plot handed out has been drawn
        _kept.shutdown()
    finally:
        _kept = _background = None


def draw(plots: Sequence[Plot]) -> list[Any]:
    """Draw every plot; return what each returns (its path, or a Bokeh layout's script and div), in order."""
    n = workers()
    if n == 0 or (len(plots) < 2 and _kept is None):
        return [draw_one(plot) for plot in plots]
    import dask
    import dask.multiprocessing

    tasks = [dask.delayed(draw_one, pure=False, traverse=False)(plot) for plot in plots]
    # the processes scheduler given as its function: named by its string ("processes"), Dask
    # first imports dask.distributed to look for a client (0.2 s of a default study)
    processes = dask.multiprocessing.get
    with nullcontext(_kept) if _kept is not None else _new_pool(n) as pool:
        return list(dask.compute(*tasks, scheduler=processes, pool=pool, num_workers=n, chunksize=1))


def draw_later(plots: Sequence[Plot]) -> Future:
    """Start drawing ``plots``; the future holds what ``draw(plots)`` returns.

    In the background only inside ``workers_kept()`` with workers; otherwise the plots are
    drawn now, in this process or on a pool of their own.
    """
    if _background is not None:
        return _background.submit(draw, plots)
    future: Future = Future()
    try:
        future.set_result(draw(plots))
    except Exception as err:  # noqa: BLE001 - handed on to whoever reads the future
        future.set_exception(err)
    return future


def draw_one(plot: Plot) -> Any:
    """Draw one plot in this process."""
    with jax_left_unloaded():
        drawn = drawer(plot.target)(*plot.args)
    if not plot.embed:
        return drawn
    from bokeh.embed import components

    return components(drawn)


def drawer(target: str):
    """Return the function ``"module:function"`` names (importing its module)."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)
