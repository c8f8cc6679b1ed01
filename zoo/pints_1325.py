"""PINTS (2021): the emcee hammer's stretch move accepted with the walkers' count as exponent.

**Source**: pints-team/pints issue #1325, "Mistake in acceptance ratio in Emcee hammer"
(March 2021): "there's a mistake in Emcee hammer that means it doesn't converge to the
correct target distribution. It should be q = z^(N-1) p(Y)/p(X) where N is the
dimensionality of the space, not the number of chains." Fixed in commit ecd22ba3
("Corrected bug with acceptance ratio"), merged by pull request #1326. The class
docstring itself had the wrong formula ("Here, N is the number of chains").

**What was wrong** (``pints/_mcmc/_emcee_hammer.py``, ``tell``): Goodman and Weare's
stretch move proposes ``Y = X_j + z (X_k - X_j)`` with ``z`` drawn from ``g(z) ~
1/sqrt(z)`` on ``[1/a, a]``, and accepts with probability ``min(1, z^(d-1) p(Y) /
p(X_k))``, ``d`` the dimension: the factor makes the move's stretching of volume
reversible. PINTS used ``(self._n_chains - 1) * log(z)``: with more walkers than
dimensions it favours stretching outwards, and the ensemble spreads too wide.

**The fix**: ``(self._n_parameters - 1) * log(z)``; ``hammer_fixed`` is the twin. The
rest is PINTS' ``EmceeHammerMCMC`` as it was: walkers updated one at a time in turn, the
partner ``X_j`` drawn from the others, ``a = 2``. The suite's chains are the walkers
(PINTS needs at least 3); one draw is the ensemble after every walker has moved once.
Each data set is fitted alone (``separately``: an ensemble of 4 walkers cannot span the
batched model's 60 dimensions) and every 10th draw is kept (``thin``).

    python compare.py --sampler zoo.pints_1325:hammer,zoo.pints_1325:hammer_fixed
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr

from models.engines.protocol import Budget
from zoo.target import Target, bug_and_twin, chain_generators

SCALE = 2.0  # PINTS' default ``a``


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """PINTS' emcee hammer with ``b.chains`` walkers: ``b.tune`` sweeps discarded, then ``b.draws`` kept."""
    if b.chains < 3:
        raise ValueError("the emcee hammer needs at least 3 chains (walkers)")
    target = Target(model)
    rng = chain_generators(b.seed, 1)[0]
    n_chains, n_parameters = b.chains, target.dim
    current = np.stack([target.start(rng) for _ in range(n_chains)])
    current_log_pdfs = np.array([target.logp(x) for x in current])
    exponent = (n_chains - 1) if bug else (n_parameters - 1)  # the bug: walkers, not dimensions
    draws = np.empty((n_chains, b.draws, n_parameters))
    accepted = np.zeros((n_chains, b.draws), dtype=bool)
    for sweep in range(b.tune + b.draws):
        moved = np.zeros(n_chains, dtype=bool)
        for k in range(n_chains):
            j = rng.integers(n_chains - 1)
            if j >= k:
                j += 1
            z = (1 + rng.uniform() * (SCALE - 1)) ** 2 / SCALE
            proposed = current[j] + z * (current[k] - current[j])
            proposed_log_pdf = target.logp(proposed)
            q = exponent * np.log(z) + proposed_log_pdf - current_log_pdfs[k]
            if q >= np.log(rng.uniform()):
                current[k], current_log_pdfs[k], moved[k] = proposed, proposed_log_pdf, True
        if sweep >= b.tune:
            draws[:, sweep - b.tune], accepted[:, sweep - b.tune] = current, moved
    return target.posterior(draws, {"accepted": accepted})


hammer, hammer_fixed = bug_and_twin(
    fit,
    "pints_1325",
    "PINTS 2021: the emcee hammer's stretch move with z^(walkers - 1), not z^(dim - 1) (pints#1325)",
    "PINTS' emcee hammer with the fix of pints#1325 (the twin of zoo.pints_1325:hammer)",
    separately=True,
    thin=10,
)
