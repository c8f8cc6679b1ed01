"""Plug-in engines for tests/test_stopping.py: two that mishandle an interrupt, one that never returns.

``swallows_the_interrupt`` does what PyMC's samplers, nutpie and ADVI do with a
``KeyboardInterrupt`` (and worse: it swallows any exception): it stops waiting and returns
draws, here draws of the prior, nothing like the posterior. A run stopped while it waits
must end without judging them. ``mangles_the_interrupt`` turns it into another error, as
Numba's compiled code does when the interrupt is raised inside a Python callback
(``SystemError: CPUDispatcher(...) returned a result with an exception set``): a stopped
run must end as stopped, not report the engine as failed and go on. Not interrupted, both
return the prior's draws. ``never_returns`` sleeps for good, as a plug-in stuck in a loop
would.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import pymc as pm
import xarray as xr

WAIT_S = float(os.environ.get("STOPPING_ENGINES_WAIT_S", "60"))


def swallows_the_interrupt(model: pm.Model, *, draws: int, chains: int, seed: int, **_) -> xr.DataTree:
    """Wait (saying so on stderr) until interrupted or ``WAIT_S`` pass, then return the prior's draws."""
    print("stopping_engines: waiting", file=sys.stderr, flush=True)
    with contextlib.suppress(BaseException):  # the fault under test: the interrupt is swallowed
        time.sleep(WAIT_S)
    return _prior(model, draws, chains, seed)


def mangles_the_interrupt(model: pm.Model, *, draws: int, chains: int, seed: int, **_) -> xr.DataTree:
    """Wait as ``swallows_the_interrupt``; interrupted, raise a ``SystemError`` in its place."""
    print("stopping_engines: waiting", file=sys.stderr, flush=True)
    try:
        time.sleep(WAIT_S)
    except BaseException as err:  # the fault under test: what Numba makes of an interrupt
        raise SystemError("CPUDispatcher(<function>) returned a result with an exception set") from err
    return _prior(model, draws, chains, seed)


def _prior(model: pm.Model, draws: int, chains: int, seed: int) -> xr.DataTree:
    """Draws of the prior, shaped as a posterior of ``chains x draws``."""
    prior = pm.sample_prior_predictive(draws=draws * chains, model=model, random_seed=seed)["prior"]
    prior = prior.to_dataset().isel(chain=0, drop=True)
    coords = {k: c for k, c in prior.coords.items() if "draw" not in c.dims}
    posterior = xr.Dataset(
        {k: (("chain", "draw", *v.dims[1:]), v.values.reshape(chains, draws, *v.shape[1:]))
         for k, v in prior.data_vars.items()},
        coords=coords,
    )  # fmt: skip
    return xr.DataTree.from_dict({"posterior": posterior})


def never_returns(model: pm.Model, **_) -> xr.DataTree:
    """Sleep for good (saying so on stderr first)."""
    print("stopping_engines: hanging", file=sys.stderr, flush=True)
    while True:
        time.sleep(1)
