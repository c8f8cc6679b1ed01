"""A deliberately broken plug-in engine: NUTS on the log density without its log-Jacobians.

A sampler moves in the unconstrained space (a probability ``p`` as its log-odds, a rate
as its log); the density there is the model's density times the Jacobian of the map
back. This engine builds its log density with ``model.logp(jacobian=False)``, a line
easily copied from a MAP routine, and hands it to PyMC's own NUTS. Its draws then follow
``posterior / |d theta / d value|``: for a Beta posterior ``Beta(a, b)`` it samples
``Beta(a - 1, b - 1)``, one success and one failure fewer.

The bug is subtle: on ``normal_normal`` there is no transform, so it agrees everywhere;
on every family with a bounded parameter it is wrong, most at small N::

    python compare.py --sampler examples.no_jacobian_nuts:no_jacobian_nuts                       # agrees
    python compare.py --model binomial_beta --sampler examples.no_jacobian_nuts:no_jacobian_nuts  # caught
"""

from __future__ import annotations

import pymc as pm
import xarray as xr
from pymc.model.core import ValueGradFunction


def no_jacobian_nuts(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    progress: bool = False,
) -> xr.DataTree:
    """PyMC's NUTS on ``model.logp(jacobian=False)``: wrong wherever a parameter is transformed."""
    point = model.initial_point()
    logp_dlogp = ValueGradFunction(
        [model.logp(jacobian=False)],  # the bug: the log-Jacobians of the transforms are left out
        model.value_vars,
        {},
        model=model,
        initial_point=point,
        ravel_inputs=True,
    )
    logp_dlogp.trust_input = True
    step = pm.NUTS(model=model, logp_dlogp_func=logp_dlogp)
    idata = pm.sample(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        step=step,
        random_seed=seed,
        model=model,
        progressbar=progress,
        quiet=not progress,
        compute_convergence_checks=False,
    )
    return idata


no_jacobian_nuts.description = "PyMC's NUTS without the transforms' log-Jacobians (a deliberate bug, example)"
