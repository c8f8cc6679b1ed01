"""BlackJAX (2024): MALA's Metropolis-Hastings correction computed for the reverse move.

**Source**: blackjax-devs/blackjax pull request #653, "Fix MALA transition energy" (March
2024): "The current MALA transition energy is implemented incorrectly. In fact, the
correct one should be the reverse of the current one ... the correct new_energy should
be -log p(state) - log q(initial_state|state), but the current implementation implements
-log p(initial_state) - log q(state|initial_state)" (``blackjax/mcmc/mala.py``).

**What was wrong**: MALA proposes ``x' = x + h grad log p(x) + sqrt(2 h) n`` and accepts
with ``log r = log p(x') + log q(x | x') - log p(x) - log q(x' | x)``, computed in
BlackJAX as ``prev_energy - new_energy`` from a ``transition_energy(state, new_state)``.
The function returned the energy of the move's *start* with the forward proposal
density, so the two energies swapped roles and the kernel accepted with ``-log r``:
downhill moves always, uphill ones rarely. With a small step the Langevin drift still
pulls the chain in and it settles on a distribution wider than the posterior, the wider
the larger ``h`` (as ``h -> 0``, ``r -> 1`` and the bug fades). On a Gaussian the drift
overshoots once ``h`` passes twice the variance, and the step MALA's optimal acceptance
asks for in one dimension is close to that: overshooting proposals are downhill, all
accepted, and the chain runs away.

**The fix**: ``transition_energy`` returns ``-log p(new) + |x - x' - h grad log
p(x')|^2 / (4 h)``; ``mala_fixed`` is the twin. BlackJAX's MALA has no warm-up of its
own (the user passes ``step_size``); here each chain tunes its step by Stan's dual
averaging (``zoo.hmc.DualAveraging``) towards an acceptance rate of 0.574, MALA's
optimal, during ``tune``, then keeps it. The tuning reads the right acceptance
probability, also under the bug, so that bug and twin run at the step a user would have
chosen (tuned on the bug's own statistic the step grows without bound and the chain
escapes: a harness artefact, not the bug). Each data set is fitted alone (``separately``:
one step size cannot suit the batched model's parameters, whose scales differ tenfold)
and every 10th draw is kept (``thin``).

    python compare.py --sampler zoo.blackjax_653:mala,zoo.blackjax_653:mala_fixed
"""

from __future__ import annotations

import math

import numpy as np
import pymc as pm
import xarray as xr

from models.engines.protocol import Budget
from zoo.hmc import DualAveraging
from zoo.target import Target, bug_and_twin, run_chains

TARGET_ACCEPT = 0.574


def transition_energy(
    x: np.ndarray, logp_x: float, g_x: np.ndarray, new_x: np.ndarray, logp_new: float, g_new: np.ndarray,
    step_size: float, *, bug: bool,
) -> float:  # fmt: skip
    """Energy of the transition from ``x`` to ``new_x`` (BlackJAX's ``transition_energy``)."""
    if bug:  # before blackjax#653: -log p(start) - log q(new | start)
        theta = new_x - x - step_size * g_x
        return -logp_x + 0.25 / step_size * float(theta @ theta)
    theta = x - new_x - step_size * g_new  # the fix: -log p(new) - log q(start | new)
    return -logp_new + 0.25 / step_size * float(theta @ theta)


def acceptance(
    x: np.ndarray, logp_x: float, g_x: np.ndarray, new_x: np.ndarray, logp_new: float, g_new: np.ndarray,
    step_size: float, *, bug: bool,
) -> float:  # fmt: skip
    """Probability of accepting ``new_x`` from ``x``: ``min(1, exp(prev_energy - new_energy))``."""
    if not np.isfinite(logp_new):
        return 0.0
    new_energy = transition_energy(x, logp_x, g_x, new_x, logp_new, g_new, step_size, bug=bug)
    prev_energy = transition_energy(new_x, logp_new, g_new, x, logp_x, g_x, step_size, bug=bug)
    log_p_accept = prev_energy - new_energy
    return 0.0 if math.isnan(log_p_accept) else math.exp(min(log_p_accept, 0.0))


def one_chain(
    target: Target, rng: np.random.Generator, draws: int, tune: int, *, bug: bool
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One MALA chain: ``tune`` steps adapting the step size, then ``draws`` kept."""
    x = target.start(rng)
    logp, g = target.logp_dlogp(x)
    step_size, averaging = 0.1, DualAveraging(mu=math.log(10 * 0.1), delta=TARGET_ACCEPT)
    out, accepted = np.empty((draws, target.dim)), np.zeros(draws, dtype=bool)
    for i in range(tune + draws):
        new_x = x + step_size * g + math.sqrt(2 * step_size) * rng.standard_normal(x.size)
        logp_new, g_new = target.logp_dlogp(new_x)
        p_accept = {
            flag: acceptance(x, logp, g, new_x, logp_new, g_new, step_size, bug=flag) for flag in {bug, False}
        }
        do_accept = rng.uniform() < p_accept[bug]
        if do_accept:
            x, logp, g = new_x, logp_new, g_new
        if i < tune:  # tuned on the right acceptance probability, so that both run at the twin's step
            step_size = averaging.learn(p_accept[False])
            if i == tune - 1:
                step_size = averaging.final()
        else:
            out[i - tune], accepted[i - tune] = x, do_accept
    return out, {"accepted": accepted}


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """MALA chains one after another, with or without the reversed transition energy."""

    def chain(target: Target, rng: np.random.Generator, draws: int, tune: int):
        return one_chain(target, rng, draws, tune, bug=bug)

    return run_chains(Target(model), chain, draws=b.draws, tune=b.tune, chains=b.chains, seed=b.seed)


mala, mala_fixed = bug_and_twin(
    fit,
    "blackjax_653",
    "BlackJAX 2024: MALA's acceptance from the reverse move's transition energy (blackjax#653)",
    "BlackJAX's MALA with the fix of blackjax#653 (the twin of zoo.blackjax_653:mala)",
    separately=True,
    thin=10,
)
