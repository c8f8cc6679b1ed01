"""Imported once by the plot workers' fork server (report.plot_pool): everything a plot needs, loaded.

The workers fork from the server with these modules imported and Matplotlib's fonts and
Bokeh's models already loaded, so the first plot a worker draws costs what any other does.
"""

import atexit
import gc
import os

# The server and its workers print nothing (a plot's error comes back to compare.py as an
# exception); pointing their stdout and stderr away from the caller's means that a caller
# reading compare.py's output through a pipe does not wait for the server to end.
_devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(_devnull, 1)
os.dup2(_devnull, 2)

import arviz_plots.backend.bokeh  # noqa: E402, F401 (the interactive traces)
import bokeh.embed  # noqa: E402, F401
import dask.distributed  # noqa: E402, F401 (xarray's to_netcdf asks whether a Dask client runs)
import netCDF4  # noqa: E402, F401 (the workers write the draws too: report.files.write_draws)
from bokeh.settings import settings  # noqa: E402

# Bokeh numbers its objects p1001, p1002, ... per process: plots drawn by two workers would
# carry the same ids into one page, and its JavaScript would mix them up. Unique ids instead.
settings.simple_ids.set_value(False)

from report.plots import plt  # noqa: E402 (Matplotlib's pyplot, on the Agg backend)
from study.lazy_jax import jax_left_unloaded  # noqa: E402

with jax_left_unloaded():  # drawing, Matplotlib would load the whole of JAX (study.lazy_jax)
    _figure, _axes = plt.subplots()
    _axes.set(title="fonts", xlabel="x", ylabel="y")
    _figure.tight_layout()
    _figure.canvas.draw()
    plt.close(_figure)

# Everything loaded so far stays: kept out of the garbage collector's passes, so that a worker's
# collections do not write to (and so copy) the memory pages it shares with the server.
gc.freeze()

# The server only holds loaded modules: when compare.py ends it, skip the teardown of them all
# (about a second), during which it would still hold the caller's stdout and stderr open.
atexit.register(os._exit, 0)
