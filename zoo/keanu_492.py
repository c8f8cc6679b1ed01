"""Keanu (2019): a leapfrog that moved the position by half a step: exact in the limit, stuck in practice.

**Source**: improbable-research/keanu pull request #492, "Classic nuts fixes" (February
2019): "Leapfrog was not leaping properly" (``Leapfrog.java``: ``stepPosition(...,
halfTimeStep, ...)`` became ``stepPosition(..., epsilon, ...)``; the reviewer's comment:
"This is huge").

**What was wrong**: the leapfrog kicks the momentum by half a step, drifts the position
by a whole step, and kicks again. Keanu drifted by half a step. The map is still
volume-preserving and reversible (it is the exact leapfrog of a Hamiltonian whose
kinetic energy is halved), so NUTS, which weighs each state by the right energy, stays
exact in the limit. But it follows the wrong dynamics: along a trajectory the right
energy changes by O(1) however small the step, so the step-size adaptation, chasing an
acceptance of 0.8 it cannot reach, shrinks the step towards zero, every tree grows to
the maximum depth (1,023 gradients a draw) and the chains barely move. A first run
(``python compare.py --model binomial_beta --sampler zoo.keanu_492:nuts,zoo.keanu_492:nuts_fixed``)
adapted steps of about 3e-4 and ESS of about 4.5 per data set: the suite fails it on
R-hat and on draws still where they started, not on a bias of the sampler's limit.

**The fix**: the whole-step drift; ``nuts_fixed`` is the twin. Here the bug is placed in
Stan's NUTS (``zoo.stan_2178``'s fixed transition, ``zoo.hmc``'s warm-up), not in
Keanu's own classic (slice) NUTS of the time: the argument holds for either.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr

from models.engines.protocol import Budget
from zoo import stan_2178
from zoo.hmc import Hamiltonian, Point, run_adaptive
from zoo.target import Target, bug_and_twin, run_chains


class HalfDriftHamiltonian(Hamiltonian):
    """Stan's diagonal-metric Hamiltonian with Keanu's leapfrog before pull request #492."""

    def leapfrog(self, z: Point, epsilon: float) -> None:
        """Half kick, a drift of *half* a step (the bug), half kick."""
        half = 0.5 * epsilon
        z.p = z.p - half * z.g
        z.q = z.q + half * self.inv_metric * z.p
        self.update(z)
        z.p = z.p - half * z.g


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """Stan's (fixed) NUTS with Keanu's half-step drift, or the right leapfrog."""
    kind = HalfDriftHamiltonian if bug else Hamiltonian

    def one_chain(target: Target, rng: np.random.Generator, draws: int, tune: int):
        def transition(ham, z, epsilon, r):
            return stan_2178.transition(ham, z, epsilon, r, bug=False)

        return run_adaptive(target, rng, draws, tune, transition, hamiltonian=kind)

    return run_chains(Target(model), one_chain, draws=b.draws, tune=b.tune, chains=b.chains, seed=b.seed)


nuts, nuts_fixed = bug_and_twin(
    fit,
    "keanu_492",
    "Keanu 2019: a leapfrog drifting half a step, exact but slow (keanu#492)",
    "Stan's NUTS with the whole-step leapfrog of keanu#492's fix (the twin of zoo.keanu_492:nuts)",
)
