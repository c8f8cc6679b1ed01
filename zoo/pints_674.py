"""PINTS (2019): the Hamiltonian MCMC example sampled the log-likelihood, not the log-posterior.

**Source**: pints-team/pints issue #674, "Correct HMC notebook" (February 2019): "At the
moment, we are sampling from log_likelihoods _not_ log_posteriors!"; fixed by commit
1e88193 ("Added prior to example", September 2019) in
``examples/sampling-hamiltonian-mcmc.ipynb``, which had built
``pints.MCMCController(log_likelihood, ...)`` where the fix builds ``log_posterior =
pints.LogPosterior(log_likelihood, log_prior)`` and samples that.

**What was wrong**: a sampler handed the likelihood draws from the likelihood normalised as
a density: the posterior of a flat prior. Nothing in the sampler is wrong, and no
diagnostic of its own (acceptance, R-hat, ESS) can tell; only the answer is, by the
prior's weight: on normal_normal at N = 10 the prior holds 20% of the weight, so the
draws sit at the sample mean with a sd 12% too wide, and the error fades as N grows.

**The fix**: sample the log-posterior; ``hmc_fixed`` is the twin. Both are PINTS'
``HamiltonianMCMC`` as the notebook ran it, 20 leapfrog steps a transition and a
Metropolis accept, here with the step size and per-parameter scales (which the notebook
set by hand) adapted by Stan's warm-up (``zoo.hmc``) and jittered by 20% each transition:
20 steps of a fixed size, once the metric is the posterior's, trace a near-whole period
of the Gaussian and come back close to where they started (the twin's draws then failed a
KS test at 1.6e-6 on one data set of the first run). The likelihood is taken as a density
of the parameters themselves, as PINTS takes it (its Jacobian added where PyMC moves in a
transformed space).

    python compare.py --sampler zoo.pints_674:hmc,zoo.pints_674:hmc_fixed
"""

from __future__ import annotations

import math

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from models.engines.protocol import Budget
from zoo.hmc import Hamiltonian, Point, run_adaptive
from zoo.target import Target, bug_and_twin, run_chains

LEAPFROG_STEPS = 20  # PINTS' HamiltonianMCMC default
JITTER = 0.2  # each transition's step drawn from (1 +- 0.2) times the adapted one (Stan's stepsize_jitter)


def log_density(model: pm.Model, *, bug: bool) -> pt.TensorVariable:
    """Return the log-posterior, or (the bug) the log-likelihood as a density of the parameters."""
    if not bug:
        return model.logp()
    jacobian = model.logp() - model.logp(jacobian=False)  # densities of the parameters, not their transforms
    return model.logp(vars=model.observed_RVs) + jacobian


def transition(
    ham: Hamiltonian, z: Point, epsilon: float, rng: np.random.Generator
) -> tuple[Point, float, dict[str, float]]:
    """One HMC transition: a fresh momentum, ``LEAPFROG_STEPS`` leapfrog steps, a Metropolis accept."""
    start = z.copy()
    ham.sample_p(start, rng)
    h0 = ham.H(start)
    proposal = start.copy()
    step = epsilon * (1 + JITTER * (2 * rng.uniform() - 1))
    for _ in range(LEAPFROG_STEPS):
        ham.leapfrog(proposal, step)
    delta = h0 - ham.H(proposal)
    accept = 1.0 if delta > 0 else (math.exp(delta) if math.isfinite(delta) else 0.0)
    moved = rng.uniform() < accept
    return (proposal if moved else z), accept, {"accepted": moved, "step_size": epsilon}


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """HMC chains on the log-likelihood (the bug) or the log-posterior, Stan's warm-up."""
    target = Target(model, log_density(model, bug=bug))

    def one_chain(target: Target, rng: np.random.Generator, draws: int, tune: int):
        return run_adaptive(target, rng, draws, tune, transition)

    draws = run_chains(target, one_chain, draws=b.draws, tune=b.tune, chains=b.chains, seed=b.seed)
    return draws


hmc, hmc_fixed = bug_and_twin(
    fit,
    "pints_674",
    "PINTS 2019: the HMC example sampled the log-likelihood, not the log-posterior (pints#674)",
    "PINTS' HMC on the log-posterior, the fix of pints#674 (the twin of zoo.pints_674:hmc)",
)
