"""Imported once by the plot workers' fork server (report.plot_pool): everything a plot needs, loaded.

The workers fork from the server with these modules imported and Matplotlib's fonts and
Bokeh's models already loaded, so the first plot a worker draws costs what any other does.
"""

import atexit
import os

import arviz_plots.backend.bokeh  # noqa: F401 (the interactive traces)
import bokeh.embed  # noqa: F401

from report.plots import plt  # Matplotlib's pyplot, on the Agg backend

_figure, _axes = plt.subplots()
_axes.set(title="fonts", xlabel="x", ylabel="y")
_figure.tight_layout()
_figure.canvas.draw()
plt.close(_figure)

# The server only holds loaded modules: when compare.py ends it, skip the teardown of them all
# (about a second), during which it would still hold the caller's stdout and stderr open.
atexit.register(os._exit, 0)
