"""PyMC3 (2015): an elementwise transform's log-Jacobian summed, then added to every element.

**Source**: pymc-devs/pymc issue #798, "NUTS converging to wrong values in hierarchical
model" (August 2015): a hierarchical Binomial with ``p = Beta(..., shape=15)`` sampled by
NUTS for 200,000 draws gave estimates "far from the true parameters", worst where an
element had few observations. Fixed by pull request #800, "fix inappropriate summing":
"Elemwise transformations with more than one elements were giving incorrect results
because the log jacobian was summed and then added to each logp." The same fault came
back in 2023 for the ordered and sum-to-1 transforms (pull request #6903: the Jacobian
"would broadcast with the univariate logp (counting it repeatedly!)").

**What was wrong**: a transformed variable's log density was ``logp(backward(x)) +
jacobian_det(x)``, the first term one value per element and the second already summed
over the elements, so broadcasting added the whole sum to every element: a variable of
``k`` elements had its Jacobian counted ``k`` times. A scalar (``k = 1``) is right, which
is why single-parameter tests passed.

**The fix**: keep the log-Jacobian elementwise (``jacobian_det`` per element) before the
sum. ``nuts_fixed`` is the twin: the same density built with the elementwise Jacobian,
which is PyMC's own ``model.logp()``. Both are sampled by PyMC's NUTS as ``pm.sample``
sets it up. In the suite's batched model every parameter has one element per data set
(60 in the default study), so on every family with a transformed parameter the bug
counts its Jacobian 60 times; on normal_normal nothing is transformed and it agrees.

    python compare.py --model binomial_beta --sampler zoo.pymc_798:nuts,zoo.pymc_798:nuts_fixed
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from models.engines.protocol import Budget
from models.engines.pymc_steps import pm_sample
from zoo.target import bug_and_twin, value_grad


def log_density(model: pm.Model, *, bug: bool) -> pt.TensorVariable:
    """Return the log density of the unconstrained values, each transform's Jacobian as PyMC3 added it."""
    terms = []
    for rv in model.free_RVs:
        logp = model.logp(vars=[rv], jacobian=False, sum=False)[0]  # one value per element
        if model.rvs_to_transforms.get(rv) is not None:
            jacobian = model.logp(vars=[rv], sum=False)[0] - logp  # the log-Jacobian, per element
            # the bug: jacobian_det returned the sum over the elements, broadcast onto each one
            logp = logp + (jacobian.sum() if bug else jacobian)
        terms.append(logp.sum())
    terms.append(model.logp(vars=model.observed_RVs))
    return pt.add(*terms)


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """PyMC's NUTS, set up as ``pm.sample`` sets it up, on the density with or without the bug."""
    with model:
        initvals, _ = pm.init_nuts(
            init="jitter+adapt_diag", chains=b.chains, random_seed=b.seed, progressbar=False, quiet=True
        )
        step = pm.NUTS(logp_dlogp_func=value_grad(model, log_density(model, bug=bug)))
    return pm_sample(model, b, cores=b.cores, step=step, initvals=initvals)


nuts, nuts_fixed = bug_and_twin(
    fit,
    "pymc_798",
    "PyMC3 2015: a transform's summed log-Jacobian added to every element (pymc#798)",
    "PyMC's NUTS with the log-Jacobian elementwise, the fix of pymc#800 (twin of zoo.pymc_798:nuts)",
)
