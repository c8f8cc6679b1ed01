r"""The exact optimum of each approximation: what a correct ADVI or Laplace must converge to.

An approximation has two errors: the *gap* between the best member of its family and the
exact posterior (the method's), and the *error* between the engine's answer and that best
member (the code's, or its settings'). This module computes the best member, per data set,
in PyMC's unconstrained space (``analytic.unconstrained``):

* ADVI, mean-field and full-rank: the Gaussian ``q = Normal(m, L L')`` that maximises
  ``ELBO(q) = E_q[log p(z)] + sum_i log L_ii + const`` (``L`` diagonal for mean-field),
  with ``log p`` the density of ``z`` (with the transform's Jacobian). The expectations are
  tensor Gauss-Hermite sums over ``NODES`` nodes per dimension, of ``log p`` and of its
  gradient (``dELBO/dm = E[g]``, ``dELBO/dL = lower(E[g eps']) + diag(1 / L_ii)``), and the
  optimum is found by BFGS to a gradient below ``GTOL`` in every coordinate, in units
  scaled by the posterior's sds. For the Gaussian families the
  closed forms hold: full-rank is the posterior, mean-field has the posterior's mean and
  sds ``1 / sqrt(P_jj)`` (``P`` the precision).
* Laplace (pymc-extras): the Normal at the mode of ``log p`` *without* the Jacobian
  (``model.logp(jacobian=False)``, the constrained density written in ``z``), with the
  inverse of its negative Hessian there as covariance, both in closed form.

``constrained_moments`` integrates a Gaussian ``q`` in ``z`` back to the constrained
parameters' means, sds and kurtoses (the space the suite's draws are in), so that the gap can be
read against the exact posterior's moments; ``constrained_pairs`` the correlations of pairs
of them, and the fourth moments the standard error of a sample correlation needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import optimize

from analytic.unconstrained import GaussianZ, UnconstrainedPosterior
from analytic.variational import hermite_grid

NODES = 40  # Gauss-Hermite nodes per dimension: 40^2 = 1,600 points in two dimensions
GTOL = 1e-6  # the optimiser stops when the ELBO's gradient in sd-scaled coordinates is below this
RESTARTS = 5  # BFGS runs from where the last stopped, while it stops short of GTOL


@dataclass(frozen=True)
class GaussianTarget:
    """A Gaussian ``Normal(mean, cov)`` on the unconstrained space: an approximation's optimum."""

    mean: np.ndarray
    cov: np.ndarray

    @property
    def sd(self) -> np.ndarray:
        """Marginal standard deviations."""
        return np.sqrt(np.diag(self.cov))


def gauss_hermite(dim: int, nodes: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal nodes ``(nodes^dim, dim)`` and weights summing to 1 (tensor rule)."""
    return hermite_grid(dim, nodes)


def _unpack(theta: np.ndarray, dim: int, full_rank: bool) -> tuple[np.ndarray, np.ndarray]:
    """``theta`` = (m, log L_ii, [L_ij for i > j]) -> (m, L)."""
    m, log_diag = theta[:dim], theta[dim : 2 * dim]
    chol = np.diag(np.exp(log_diag))
    if full_rank:
        chol[np.tril_indices(dim, -1)] = theta[2 * dim :]
    return m, chol


def negative_elbo(
    theta: np.ndarray, post: UnconstrainedPosterior, full_rank: bool, rule: tuple[np.ndarray, np.ndarray]
) -> tuple[float, np.ndarray]:
    """Return the negative ELBO (up to a constant) of ``q`` and its gradient in ``theta``."""
    eps, w = rule
    dim = post.dim
    m, chol = _unpack(theta, dim, full_rank)
    z = m + eps @ chol.T
    g = post.grad(z)
    elbo = w @ post.log_density(z) + np.log(np.diag(chol)).sum()
    d_chol = np.einsum("k,ki,kj->ij", w, g, eps) + np.diag(1 / np.diag(chol))
    grad = np.concatenate([w @ g, np.diag(d_chol) * np.diag(chol)])
    if full_rank:
        grad = np.concatenate([grad, d_chol[np.tril_indices(dim, -1)]])
    return -elbo, -grad


def advi_optimum(post: UnconstrainedPosterior, *, full_rank: bool, nodes: int = NODES) -> GaussianTarget:
    """Return the Gaussian (mean-field or full-rank) that maximises the ELBO against ``post``.

    Closed form for a Gaussian posterior; otherwise BFGS on Gauss-Hermite expectations,
    from the Laplace point of the density with its Jacobian, in coordinates scaled by that
    point's sds (so that ``GTOL`` means the same for a wide and a narrow posterior: the
    gradient in units of one sd), restarted while it stops short of ``GTOL``.

    Raises
    ------
    RuntimeError
        When the optimiser does not bring the scaled gradient below ``GTOL``.
    """
    if isinstance(post, GaussianZ):
        cov = post.cov if full_rank else np.diag(1 / np.diag(post.precision))
        return GaussianTarget(np.asarray(post.mean, dtype=float), np.asarray(cov, dtype=float))
    dim = post.dim
    start_mean = post.mode(jacobian=True)
    start_cov = np.linalg.inv(-post.hessian(start_mean[None])[0])
    start_sd = np.sqrt(np.diag(start_cov))
    start_chol = np.linalg.cholesky(start_cov) if full_rank else np.diag(start_sd)
    theta0 = np.concatenate([start_mean, np.log(np.diag(start_chol))])
    scale = np.concatenate([start_sd, np.ones(dim)])
    if full_rank:
        theta0 = np.concatenate([theta0, start_chol[np.tril_indices(dim, -1)]])
        scale = np.concatenate([scale, start_sd[np.tril_indices(dim, -1)[0]]])
    rule = gauss_hermite(dim, nodes)

    def scaled(u: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = negative_elbo(theta0 + scale * u, post, full_rank, rule)
        return value, scale * grad

    u = np.zeros_like(theta0)
    for _ in range(RESTARTS):
        res = optimize.minimize(scaled, u, jac=True, method="BFGS", options={"gtol": GTOL, "maxiter": 10_000})
        u = res.x
        if np.abs(res.jac).max() <= GTOL:
            m, chol = _unpack(theta0 + scale * u, dim, full_rank)
            return GaussianTarget(m, chol @ chol.T)
    raise RuntimeError(f"the ELBO's optimum was not reached: scaled gradient {np.abs(res.jac).max():.2g}")


def laplace_target(post: UnconstrainedPosterior) -> GaussianTarget:
    """pymc-extras' Laplace optimum: the mode of the density without the Jacobian and its Hessian there."""
    mode = post.mode(jacobian=False)
    cov = np.linalg.inv(-post.hessian(mode[None], jacobian=False)[0])
    return GaussianTarget(mode, cov)


def constrained_moments(
    post: UnconstrainedPosterior, q: GaussianTarget, nodes: int = NODES
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Return each constrained parameter's mean, sd and excess kurtosis when ``z ~ q``: name -> the three."""
    eps, w = gauss_hermite(post.dim, nodes)
    z = q.mean + eps @ np.linalg.cholesky(q.cov).T
    out = {}
    for name, values in post.constrained(z).items():
        mean = np.tensordot(w, values, axes=1)
        dev = values - mean
        var = np.tensordot(w, dev**2, axes=1)
        out[name] = (mean, np.sqrt(var), np.tensordot(w, dev**4, axes=1) / var**2 - 3)
    return out


def constrained_pairs(
    post: UnconstrainedPosterior,
    q: GaussianTarget,
    pairs: list[tuple[tuple[str, tuple[int, ...]], tuple[str, tuple[int, ...]]]],
    nodes: int = NODES,
) -> list[tuple[float, float]]:
    """Return, per pair of constrained scalar elements, their correlation under ``q`` and a variance factor.

    An element is ``(name, index)``: the constrained parameter ``name`` of
    ``post.constrained`` and the index of one component (``()`` for a scalar). The variance
    factor ``V`` makes ``sqrt(V / m)`` the standard error of the sample correlation of ``m``
    iid draws (the delta method; with ``a``, ``b`` the standardised elements):
    ``V = rho^2 / 4 (E a^4 + E b^4 + 2 E a^2 b^2) - rho (E a^3 b + E a b^3) + E a^2 b^2``,
    which is ``(1 - rho^2)^2`` for a Normal pair.
    """
    eps, w = gauss_hermite(post.dim, nodes)
    values = post.constrained(q.mean + eps @ np.linalg.cholesky(q.cov).T)

    def standardised(element: tuple[str, tuple[int, ...]]) -> np.ndarray:
        name, index = element
        v = np.asarray(values[name], dtype=float)[(slice(None), *index)]
        dev = v - w @ v
        return dev / np.sqrt(w @ dev**2)

    out = []
    for first, second in pairs:
        a, b = standardised(first), standardised(second)
        rho = float(w @ (a * b))
        m22 = w @ (a * a * b * b)
        factor = rho**2 / 4 * (w @ a**4 + w @ b**4 + 2 * m22) - rho * (w @ (a**3 * b) + w @ (a * b**3)) + m22
        out.append((rho, float(factor)))
    return out


# Each approximation's exact optimum, by the name engines give with ``target=``.
TARGETS: dict[str, Callable[[UnconstrainedPosterior], GaussianTarget]] = {
    "laplace": laplace_target,
    "advi": partial(advi_optimum, full_rank=False),
    "fullrank_advi": partial(advi_optimum, full_rank=True),
}
