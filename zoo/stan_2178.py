"""Stan 2.10 to 2.13's NUTS, whose subtrees checked the U-turn from the wrong left boundary.

**Source**: stan-dev/stan issue #2178, "NUTS sampler broken" (December 2016), fixed by
pull request #2180 ("Bugfix/issue 2178 fix nuts criterion", merged in 5845db976) and
announced as "Stan 2.10 through Stan 2.13 produce biased samples". A 2-D Gaussian with sds
1 and 2 and correlation 0.5, sampled for 360,000 draws, came back with sds 0.95 and 1.9.

**What was wrong** (``src/stan/mcmc/hmc/nuts/base_nuts.hpp``, ``build_tree``): the
multinomial NUTS builds each new subtree from two halves and stops when a half makes a
U-turn, ``p_sharp_left . rho > 0 and p_sharp_right . rho > 0``. The left boundary's
``p_sharp`` was taken *before* the left half was built, at the point the subtree grows
from, which belongs to the old trajectory, not the subtree. The termination rule then
depends on a point outside the subtree, the tree is no longer the same built from any of
its points, and the transition leaves the posterior: the draws come out too narrow.

**The fix**: ``build_tree`` returns each subtree's own boundary ``p_sharp`` values (the
first and last leapfrog states it made) and sums the left and right halves' momenta
separately. ``nuts_fixed``, the twin here, is the same code with that fix; ``nuts`` has
the bug. The rest is Stan 2.13's sampler as it was: multinomial sampling biased towards
the new subtree at the top level, uniform within it, the diagonal metric and Stan's
warm-up (``zoo.hmc``), maximum depth 10, divergence at an energy error of 1,000.

    python compare.py --sampler zoo.stan_2178:nuts,zoo.stan_2178:nuts_fixed
"""

from __future__ import annotations

import math

import numpy as np
import pymc as pm
import xarray as xr

from models.engines.protocol import Budget
from zoo.hmc import Hamiltonian, Point, run_adaptive
from zoo.target import Target, bug_and_twin, run_chains

MAX_DEPTH = 10
MAX_DELTA_H = 1000.0


def log_sum_exp(a: float, b: float) -> float:
    """Return ``log(exp(a) + exp(b))`` (Stan's ``math::log_sum_exp``)."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    top = max(a, b)
    return top + math.log(math.exp(a - top) + math.exp(b - top))


class _Tree:
    """The running sums a transition shares with every ``build_tree`` call."""

    def __init__(self, ham: Hamiltonian, z: Point, epsilon: float, rng: np.random.Generator, bug: bool):
        self.ham, self.z, self.epsilon, self.rng, self.bug = ham, z, epsilon, rng, bug
        self.h0 = ham.H(z)
        self.n_leapfrog = 0
        self.sum_metro_prob = 1.0
        self.divergent = False

    def criterion(self, p_sharp_minus: np.ndarray, p_sharp_plus: np.ndarray, rho: np.ndarray) -> bool:
        """Return whether the trajectory still continues: no U-turn at either end."""
        return p_sharp_plus @ rho > 0 and p_sharp_minus @ rho > 0

    def build(
        self, depth: int, sign: float, rho: np.ndarray
    ) -> tuple[bool, Point, float, np.ndarray, np.ndarray]:
        """Grow ``2**depth`` leapfrog steps from ``self.z``; add their momenta to ``rho``.

        Returns (valid, proposal, log sum of weights, p_sharp of the first state, of the last).
        """
        ham = self.ham
        if depth == 0:
            ham.leapfrog(self.z, sign * self.epsilon)
            self.n_leapfrog += 1
            h = ham.H(self.z)
            if h - self.h0 > MAX_DELTA_H:
                self.divergent = True
            self.sum_metro_prob += 1.0 if self.h0 - h > 0 else math.exp(self.h0 - h)
            rho += self.z.p
            p_sharp = ham.dtau_dp(self.z)
            return not self.divergent, self.z.copy(), self.h0 - h, p_sharp, p_sharp
        if self.bug:
            # Stan 2.13: the left boundary read before the left half exists (the point it grows from)
            p_sharp_left = ham.dtau_dp(self.z)
        rho_left = np.zeros_like(rho)
        valid, propose, log_w_left, first, _ = self.build(depth - 1, sign, rho_left)
        if not self.bug:
            p_sharp_left = first
        if not valid:
            rho += rho_left
            return False, propose, log_w_left, p_sharp_left, p_sharp_left
        rho_right = np.zeros_like(rho)
        valid, propose_right, log_w_right, _, last = self.build(depth - 1, sign, rho_right)
        if not valid:
            rho += rho_left + rho_right
            return False, propose, log_w_left, p_sharp_left, last
        log_w_subtree = log_sum_exp(log_w_left, log_w_right)
        if log_w_right > log_w_subtree or self.rng.uniform() < math.exp(log_w_right - log_w_subtree):
            propose = propose_right
        rho_subtree = rho_left + rho_right
        rho += rho_subtree
        valid = self.criterion(p_sharp_left, last, rho_subtree)
        return valid, propose, log_w_subtree, p_sharp_left, last


def transition(
    ham: Hamiltonian, z: Point, epsilon: float, rng: np.random.Generator, *, bug: bool
) -> tuple[Point, float, dict[str, float]]:
    """One NUTS transition from ``z`` (Stan's ``base_nuts::transition``)."""
    z = z.copy()
    ham.sample_p(z, rng)
    z_plus, z_minus, z_sample = z.copy(), z.copy(), z.copy()
    p_sharp_plus = p_sharp_minus = ham.dtau_dp(z)
    rho = z.p.copy()
    log_sum_weight = 0.0
    tree = _Tree(ham, z, epsilon, rng, bug)
    depth = 0
    while depth < MAX_DEPTH:
        rho_subtree = np.zeros_like(rho)
        if rng.uniform() > 0.5:
            tree.z = z_plus.copy()
            valid, propose, log_w, _, p_sharp_plus = tree.build(depth, 1.0, rho_subtree)
            z_plus = tree.z
        else:
            tree.z = z_minus.copy()
            valid, propose, log_w, _, p_sharp_minus = tree.build(depth, -1.0, rho_subtree)
            z_minus = tree.z
        if not valid:
            break
        depth += 1
        if log_w > log_sum_weight or rng.uniform() < math.exp(log_w - log_sum_weight):
            z_sample = propose
        log_sum_weight = log_sum_exp(log_sum_weight, log_w)
        rho += rho_subtree
        if not tree.criterion(p_sharp_minus, p_sharp_plus, rho):
            break
    accept = tree.sum_metro_prob / (tree.n_leapfrog + 1)
    stats = {"tree_depth": depth, "n_steps": tree.n_leapfrog, "diverging": tree.divergent}
    stats["step_size"] = epsilon
    return z_sample, accept, stats


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """Stan 2.13's adaptive NUTS run, ``b.chains`` chains one after another, with or without the bug."""

    def one_chain(target: Target, rng: np.random.Generator, draws: int, tune: int):
        return run_adaptive(target, rng, draws, tune, lambda h, z, e, r: transition(h, z, e, r, bug=bug))

    return run_chains(Target(model), one_chain, draws=b.draws, tune=b.tune, chains=b.chains, seed=b.seed)


nuts, nuts_fixed = bug_and_twin(
    fit,
    "stan_2178",
    "Stan 2.10-2.13's NUTS: each subtree's U-turn checked from the wrong left boundary (stan#2178)",
    "Stan's NUTS with the fix of stan#2180 (the twin of zoo.stan_2178:nuts)",
)
