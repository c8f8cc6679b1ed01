"""fab-jax (2023): a random-walk Metropolis whose acceptance threshold had the wrong sign.

**Source**: lollcat/fab-jax pull request #14, "fix: bug in metropolis accept calculation"
(April 2023): "There was a missing minus sign in the calculation of whether to accept a
sample", in ``fabjax/sampling/mcmc/metropolis.py``.

**What was wrong**: Metropolis accepts a proposal when ``log u < log p(new) - log p(old)``
with ``u ~ Uniform(0, 1)``, i.e. when the log ratio exceeds ``-E`` for ``E ~
Exponential(1)``. The code drew ``log_threshold = jax.random.exponential(key)``, so it
accepted only when the log ratio exceeded ``+E``: every accepted move climbs, by at least
an Exponential(1) amount, and the chain settles on the mode. The step-size tuning beside
it was right (it reads ``min(1, exp(log ratio))``, not the accept decision), so the step
grows as the chain sticks and nothing looks wrong in the acceptance statistics.

**The fix**: ``log_threshold = -jax.random.exponential(key)``; ``metropolis_fixed`` is
the twin. The kernel is fab-jax's: a batch of points (the suite's chains) moved together,
Gaussian proposals of one shared step size, tuned after every step by a factor 1.02
towards a mean acceptance probability of 0.65. Here the tuning runs during warm-up only
(fab-jax tunes throughout, inside annealed importance sampling, where no chain is
required to be stationary), each data set is fitted alone (``separately``: a random walk
of one shared step in the batched model's 60 dimensions of widely different scales would
not mix) and every 10th step is kept (``thin``), as for PyMC's DEMetropolisZ.

    python compare.py --sampler zoo.fab_jax_14:metropolis,zoo.fab_jax_14:metropolis_fixed
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr

from models.engines.protocol import Budget
from zoo.target import Target, bug_and_twin, chain_generators

TARGET_P_ACCEPT = 0.65
STEP_SIZE_MULTIPLIER = 1.02


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """fab-jax's Metropolis on the batch of ``b.chains`` points: ``b.tune`` tuned steps, then ``b.draws``."""
    target = Target(model)
    rng = chain_generators(b.seed, 1)[0]
    x = np.stack([target.start(rng) for _ in range(b.chains)])
    log_p = np.array([target.logp(xi) for xi in x])
    step_size = 1.0 * target.dim  # fab-jax's init: init_step_size * dim
    draws = np.empty((b.chains, b.draws, target.dim))
    accepted = np.zeros((b.chains, b.draws), dtype=bool)
    for i in range(b.tune + b.draws):
        new_x = x + rng.standard_normal(x.shape) * step_size
        new_log_p = np.array([target.logp(xi) for xi in new_x])
        log_p_accept = new_log_p - log_p
        log_threshold = rng.exponential(size=b.chains)
        if not bug:
            log_threshold = -log_threshold  # the fix: log u = -Exponential(1)
        accept = (log_p_accept > log_threshold) & np.isfinite(new_log_p)
        x[accept], log_p[accept] = new_x[accept], new_log_p[accept]
        if i < b.tune:
            mean_p_accept = np.mean(np.minimum(np.exp(log_p_accept), 1.0))
            step_size *= STEP_SIZE_MULTIPLIER if mean_p_accept > TARGET_P_ACCEPT else 1 / STEP_SIZE_MULTIPLIER
        else:
            draws[:, i - b.tune], accepted[:, i - b.tune] = x, accept
    return target.posterior(draws, {"accepted": accepted})


metropolis, metropolis_fixed = bug_and_twin(
    fit,
    "fab_jax_14",
    "fab-jax 2023: Metropolis accepting when the log ratio beats +Exponential(1), not -E (fab-jax#14)",
    "fab-jax's Metropolis with the fix of fab-jax#14 (the twin of zoo.fab_jax_14:metropolis)",
    separately=True,
    thin=10,
)
