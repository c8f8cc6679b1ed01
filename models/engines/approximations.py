"""Approximations and points: mean-field and full-rank ADVI, pymc-extras' Laplace, find_MAP.

Approximate engines return iid draws from their approximation, held as ``chains``
chains, so that the same summaries apply; a point engine (find_MAP) returns one chain of
one draw.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable

import numpy as np
import pymc as pm
import xarray as xr
from arviz_base import from_dict
from pymc.pytensorf import compile as pm_compile

from models.engines.protocol import Budget, adapter, as_chains, stamp

# Optimisation steps of ADVI (pm.fit); with PyMC's default optimiser (adagrad_window,
# learning rate 1e-3) the fit of the Normal-Normal study has settled by then.
ADVI_ITERATIONS = 30_000


def _advi(method: str) -> Callable:
    def run(model: pm.Model, b: Budget) -> xr.DataTree:
        start = time.perf_counter()
        approx = pm.fit(
            n=ADVI_ITERATIONS, method=method, model=model, random_seed=b.seed, progressbar=b.progress
        )
        idata = approx.sample(draws=b.chains * b.draws, random_seed=b.seed + 1)
        idata = stamp(as_chains(idata, b.chains, b.draws), float("nan"), time.perf_counter() - start)
        idata["posterior"].attrs.update(elbo_estimate(approx, seed=b.seed + 2))
        return idata

    run.__doc__ = (
        f"{method} (pm.fit, {ADVI_ITERATIONS} steps), then ``chains * draws`` iid draws from the fit; "
        "``tune`` is unused and compilation is inside ``sampling_time``."
    )
    return adapter(run)


ELBO_DRAWS = 2000


def elbo_estimate(approx, *, seed: int, draws: int = ELBO_DRAWS) -> dict[str, float]:
    """Estimate the fitted q's ELBO, ``E_q[log p(x, z) - log q(z)]``, from ``draws`` iid draws of q.

    PyMC's own per-draw terms (``sized_symbolic_logp - symbolic_logq``: the model's log density
    with its Jacobians, in the space q lives in), averaged; ``elbo_mcse`` is their sd over
    ``sqrt(draws)``. Returns ``{"elbo", "elbo_mcse", "elbo_draws"}``.
    """
    per_draw = approx.set_size_and_deterministic(approx.sized_symbolic_logp - approx.symbolic_logq, draws, 0)
    values = np.asarray(pm_compile([], per_draw, random_seed=seed)(), dtype=float)
    return {
        "elbo": float(values.mean()),
        "elbo_mcse": float(values.std(ddof=1) / np.sqrt(draws)),
        "elbo_draws": draws,
    }


advi = _advi("advi")
fullrank_advi = _advi("fullrank_advi")


def _laplace(name: str, **options) -> Callable:
    """pymc-extras' ``fit_laplace`` with ``options``, as the engine ``name``."""

    def run(model: pm.Model, b: Budget) -> xr.DataTree:
        from pymc_extras.inference import fit_laplace

        start = time.perf_counter()
        idata = fit_laplace(
            model=model, draws=b.chains * b.draws, random_seed=b.seed, progressbar=b.progress, **options
        )
        names = [v.name for v in model.free_RVs]
        posterior = xr.DataTree.from_dict({"posterior": idata["posterior"].to_dataset()[names]})
        return stamp(as_chains(posterior, b.chains, b.draws), float("nan"), time.perf_counter() - start)

    run.__name__ = run.__qualname__ = name
    return adapter(run)


laplace = _laplace("laplace", optimize_method="trust-ncg", use_hess=True)
laplace.__doc__ = """pymc-extras' Laplace approximation: a Normal at the MAP, covariance the inverse Hessian.

The Hessian is the exact one (trust-region Newton-CG with ``use_hess=True``). Draws
``chains * draws`` iid values, held as ``chains`` chains; ``tune`` is unused and
compilation is inside ``sampling_time``.
"""
laplace_defaults = _laplace("laplace_defaults")
laplace_defaults.__doc__ = """pymc-extras' Laplace approximation with every default, as users meet it.

Its default optimiser, BFGS, ends with its running estimate of the inverse Hessian, and
``fit_laplace`` takes that as the covariance instead of the exact Hessian's inverse: on
the default study the posterior sds came out 1.5 to 14 times too large.
"""


def map_point(model: pm.Model, *, seed: int, progress: bool = False, **options) -> dict[str, np.ndarray]:
    """pm.find_MAP's point (L-BFGS-B; ``options`` go to scipy.optimize.minimize), on PyMC 6.3 and 6.4.

    PyMC 6.4 asks callers to choose ``return_inferencedata`` and ``jitter``; 6.3 has neither.
    """
    kwargs = dict(options)
    if "return_inferencedata" in inspect.signature(pm.find_MAP).parameters:
        kwargs |= {"return_inferencedata": False, "jitter": False}
    point = pm.find_MAP(model=model, progressbar=progress, seed=seed, **kwargs)
    return {v.name: np.asarray(point[v.name]) for v in model.free_RVs}


@adapter
def find_map(model: pm.Model, b: Budget) -> xr.DataTree:
    """pm.find_MAP (L-BFGS-B), returned as one chain of one draw; draws, tune, chains unused."""
    start = time.perf_counter()
    point = map_point(model, seed=b.seed, progress=b.progress)
    idata = from_dict(
        {"posterior": {name: value[None, None] for name, value in point.items()}},
        dims={name: list(model.named_vars_to_dims.get(name, ())) for name in point},
        coords={k: np.asarray(v) for k, v in model.coords.items()},
    )
    return stamp(idata, float("nan"), time.perf_counter() - start)
