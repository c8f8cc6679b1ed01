"""pymc-extras (2026): find_MAP maximised the density of the transformed values, Jacobian included.

**Source**: pymc-devs/pymc-extras pull request #641, "Do not include jacobian adjustment
in find_MAP" (February 2026): "jacobian=False is the behavior of pymc.find_MAP ... it
finds the true maximum point in sample space defined by users, not the transformed
space" (``pymc_extras/inference/laplace_approx/find_map.py``, whose loss was
``-model.logp()``).

**What was wrong**: the MAP is the mode of the posterior of the model's own parameters.
The optimiser moves in the unconstrained space (a probability as its log-odds, a rate as
its log), and the density there carries the transform's log-Jacobian; maximising it
finds the mode of the transformed variable, mapped back: for a Beta(a, b) posterior
``a / (a + b)`` (its mean) in place of ``(a - 1) / (a + b - 2)``, for a Gamma(a, b) rate
``a / b`` in place of ``(a - 1) / b``. The two differ by about one pseudo-observation, so
most at small N; on an untransformed parameter they agree.

**The fix**: the loss ``-model.logp(jacobian=False)``; ``find_map_fixed`` is the twin.
Both minimise it as pymc-extras does, with SciPy's L-BFGS-B from the model's initial
point on the flat unconstrained vector, gradients from PyMC (tolerances tight enough for
the suite's bound), and return the point as one draw, judged as a MAP: its distance to
the exact MAP.

    python compare.py --model binomial_beta \
        --sampler zoo.pymc_extras_641:find_map,zoo.pymc_extras_641:find_map_fixed
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr
from scipy import optimize

from models.engines.protocol import Budget
from zoo.target import Target, bug_and_twin, value_grad

# to the suite's MAP bound (0.001 posterior sd) in the batched model, as pm.find_MAP reaches it
TOLERANCES = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 50_000}


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """L-BFGS-B on ``-model.logp(jacobian=bug)`` from the initial point; the optimum as one draw."""
    target = Target(model)
    loss = value_grad(model, model.logp(jacobian=bug))  # the bug: the Jacobian left in the loss

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = loss(x)
        return -float(value), -grad

    result = optimize.minimize(negative, target.initial, jac=True, method="L-BFGS-B", options=TOLERANCES)
    return target.posterior(result.x[None, None, :])


find_map, find_map_fixed = bug_and_twin(
    fit,
    "pymc_extras_641",
    "pymc-extras 2026: find_MAP with the transforms' Jacobian in its loss (pymc-extras#641)",
    "pymc-extras' find_MAP on logp(jacobian=False), the fix of pymc-extras#641 (twin)",
    kind="point",
    exact=False,
    check="map",
)
