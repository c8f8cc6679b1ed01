"""SAMPLERS: the one place where PyMC's inference engines are called.

Every sampler is a function ``(model, *, draws, tune, chains, cores, seed, progress)``
returning an ``xarray.DataTree`` with a ``posterior`` group (and ``sample_stats``
where the engine has them), registered with its metadata in ``SAMPLERS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pymc as pm
import xarray as xr


@dataclass(frozen=True)
class Sampler:
    """An inference engine and what it promises.

    Attributes
    ----------
    name
        Registry key, used on the command line and in output rows.
    description
        One line for ``--help`` and reports.
    exact
        True when the engine is asymptotically exact (MCMC, SMC); False for
        approximations (ADVI, Laplace).
    kind
        ``"distribution"`` when it returns draws, ``"point"`` for a point estimate.
    needs
        Optional extra that provides it (``pip install .[extra]``), or None.
    run
        The adapter itself.
    """

    name: str
    description: str
    exact: bool
    kind: str
    needs: str | None
    run: Callable[..., xr.DataTree]


def nuts(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    progress: bool = False,
) -> xr.DataTree:
    """Sample with PyMC's own NUTS (``nuts_sampler="pymc"``, named so the result says what ran).

    The wall time of the call, compilation included, is stored in the posterior's
    ``wall_time`` attribute.
    """
    start = time.perf_counter()
    idata = pm.sample(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        random_seed=seed,
        model=model,
        nuts_sampler="pymc",
        progressbar=progress,
        quiet=not progress,
        compute_convergence_checks=False,
    )
    idata["posterior"].attrs["wall_time"] = time.perf_counter() - start
    return idata


SAMPLERS: dict[str, Sampler] = {
    "nuts": Sampler(
        name="nuts",
        description="PyMC's No-U-Turn Sampler (nuts_sampler='pymc')",
        exact=True,
        kind="distribution",
        needs=None,
        run=nuts,
    ),
}
