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

Each data set is fitted alone (``separately``), as Stan fits a model: the bug acts on the
U-turn of the whole trajectory, and in the study's batched model, one 120-dimensional
vector of 60 data sets' means, the narrowing fell to about 1% of an sd (pooled sd z -1.4
to -3.7 on multivariate_normal_known_cov's default study, inside the limit), where on
one data set's 2-D posterior (correlation about 0.5, as in the report) it is about 5%.

    python compare.py --model multivariate_normal_known_cov --sampler zoo.stan_2178:nuts
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


def criterion(p_sharp_minus: np.ndarray, p_sharp_plus: np.ndarray, rho: np.ndarray) -> bool:
    """Return whether a trajectory still continues: no U-turn at either end (Stan's ``compute_criterion``)."""
    return p_sharp_plus @ rho > 0 and p_sharp_minus @ rho > 0


def persists(
    p_sharp: tuple, p: tuple, rho_init: np.ndarray, rho_final: np.ndarray, *, extra_checks: bool
) -> bool:
    """Return the U-turn criterion of two merged halves (``init`` then ``final``), Stan 2.21's checks too.

    ``p_sharp`` and ``p`` hold, in order, the first state of the first half, its last, the
    first of the second half and its last. Stan 2.14 to 2.20 checked the merged tree's ends
    only; 2.21 also each half extended by the other's nearest state (``extra_checks``).
    """
    beg, init_end, final_beg, end = p_sharp
    persist = criterion(beg, end, rho_init + rho_final)
    if extra_checks:
        persist = persist and criterion(beg, final_beg, rho_init + p[2])
        persist = persist and criterion(init_end, end, rho_final + p[1])
    return persist


class _Tree:
    """The running sums a transition shares with every ``build_tree`` call.

    ``bug``: Stan 2.10-2.13's left boundary (this module's bug). ``extra_checks``: the two
    further U-turn checks across the halves of every merged tree that Stan 2.21 added
    (stan-dev/stan#2800, ``zoo.stan_2799``); Stan 2.14 to 2.20 had neither.
    """

    def __init__(self, ham: Hamiltonian, z: Point, epsilon: float, rng: np.random.Generator, *,
                 bug: bool, extra_checks: bool):  # fmt: skip
        self.ham, self.z, self.epsilon, self.rng = ham, z, epsilon, rng
        self.bug, self.extra_checks = bug, extra_checks
        self.h0 = ham.H(z)
        self.n_leapfrog = 0
        self.sum_metro_prob = 1.0
        self.divergent = False

    def merged(self, p_sharp: tuple, p: tuple, rho_init: np.ndarray, rho_final: np.ndarray) -> bool:
        """Return whether the merged tree still continues (``persists``, with this tree's checks)."""
        return persists(p_sharp, p, rho_init, rho_final, extra_checks=self.extra_checks)

    def build(self, depth: int, sign: float, rho: np.ndarray) -> tuple:
        """Grow ``2**depth`` leapfrog steps from ``self.z``; add their momenta to ``rho``.

        Returns (valid, proposal, log sum of weights, p_sharp of the first state, of the
        last, the momentum of the first state, of the last).
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
            p_sharp, p = ham.dtau_dp(self.z), self.z.p.copy()
            return not self.divergent, self.z.copy(), self.h0 - h, p_sharp, p_sharp, p, p
        if self.bug:
            # Stan 2.13: the left boundary read before the left half exists (the point it grows from)
            p_sharp_left = ham.dtau_dp(self.z)
        rho_init = np.zeros_like(rho)
        valid, propose, log_w_init, first, init_end, p_beg, p_init_end = self.build(depth - 1, sign, rho_init)
        if not self.bug:
            p_sharp_left = first
        if not valid:
            rho += rho_init
            return False, propose, log_w_init, p_sharp_left, p_sharp_left, p_beg, p_beg
        rho_final = np.zeros_like(rho)
        valid, propose_final, log_w_final, final_beg, last, p_final_beg, p_end = self.build(
            depth - 1, sign, rho_final
        )
        if not valid:
            rho += rho_init + rho_final
            return False, propose, log_w_init, p_sharp_left, last, p_beg, p_end
        log_w_subtree = log_sum_exp(log_w_init, log_w_final)
        if log_w_final > log_w_subtree or self.rng.uniform() < math.exp(log_w_final - log_w_subtree):
            propose = propose_final
        rho += rho_init + rho_final
        ends = (p_sharp_left, init_end, final_beg, last), (p_beg, p_init_end, p_final_beg, p_end)
        valid = self.merged(*ends, rho_init, rho_final)
        return valid, propose, log_w_subtree, p_sharp_left, last, p_beg, p_end


def transition(
    ham: Hamiltonian,
    z: Point,
    epsilon: float,
    rng: np.random.Generator,
    *,
    bug: bool,
    extra_checks: bool = False,
) -> tuple[Point, float, dict[str, float]]:
    """One NUTS transition from ``z`` (Stan's ``base_nuts::transition``)."""
    z = z.copy()
    ham.sample_p(z, rng)
    z_fwd, z_bck, z_sample = z.copy(), z.copy(), z.copy()
    # momenta and p_sharp at the trajectory's two ends, each end's outer and inner state (Stan 2.21's names)
    p0, s0 = z.p.copy(), ham.dtau_dp(z)
    p_fwd_fwd = p_fwd_bck = p_bck_fwd = p_bck_bck = p0
    s_fwd_fwd = s_fwd_bck = s_bck_fwd = s_bck_bck = s0
    rho = z.p.copy()
    log_sum_weight = 0.0
    tree = _Tree(ham, z, epsilon, rng, bug=bug, extra_checks=extra_checks)
    depth = 0
    while depth < MAX_DEPTH:
        if rng.uniform() > 0.5:
            tree.z, rho_bck, rho_fwd = z_fwd.copy(), rho, np.zeros_like(rho)
            p_bck_fwd, s_bck_fwd = p_fwd_fwd, s_fwd_fwd
            valid, propose, log_w, s_fwd_bck, s_fwd_fwd, p_fwd_bck, p_fwd_fwd = tree.build(
                depth, 1.0, rho_fwd
            )
            z_fwd = tree.z
        else:
            tree.z, rho_fwd, rho_bck = z_bck.copy(), rho, np.zeros_like(rho)
            p_fwd_bck, s_fwd_bck = p_bck_bck, s_bck_bck
            valid, propose, log_w, s_bck_fwd, s_bck_bck, p_bck_fwd, p_bck_bck = tree.build(
                depth, -1.0, rho_bck
            )
            z_bck = tree.z
        if not valid:
            break
        depth += 1
        if log_w > log_sum_weight or rng.uniform() < math.exp(log_w - log_sum_weight):
            z_sample = propose
        log_sum_weight = log_sum_exp(log_sum_weight, log_w)
        rho = rho_bck + rho_fwd
        ends = (s_bck_bck, s_bck_fwd, s_fwd_bck, s_fwd_fwd), (p_bck_bck, p_bck_fwd, p_fwd_bck, p_fwd_fwd)
        if not tree.merged(*ends, rho_bck, rho_fwd):
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
    separately=True,
)
