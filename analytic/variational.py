r"""Gaussian variational inference against a Gaussian posterior: ELBO, gradients, estimators.

For the Normal-Normal, multivariate Normal and linear-regression families the posterior
is ``Normal(mu, Sigma)`` (precision ``P``) and ``log p(x, z) = log Z + log Normal(z | mu, Sigma)``.
A Gaussian ``q = Normal(m, L L')`` is parametrised by

* mean-field: ``m`` and ``log_sd`` (``L`` diagonal, ``L_jj = exp(log_sd_j)``);
* full rank: ``m``, the off-diagonal ``L[i,j]`` (``i > j``) and ``log_L[i,i]``.

Closed forms::

    ELBO(q)        = log Z - KL(q || posterior)
    KL             = (tr(P S) + (mu - m)' P (mu - m) - d + log det Sigma - log det S) / 2,  S = L L'
    dELBO/dm       = P (mu - m)
    dELBO/dL       = lower(L^-T - P L)          (times L_ii on the diagonal: the log scale)

Estimators, per Monte Carlo sample ``eps ~ Normal(0, I)``, ``z = m + L eps``, with
``g(z) = grad log p(x, z) = -P (z - mu)`` and ``f(z) = log p(x, z) - log q(z)``:

* ``score``: ``f(z) grad_lambda log q(z)`` (REINFORCE); ``grad_m log q = L^-T eps``,
  ``grad_L log q = lower(L^-T eps eps') - diag(1 / L_ii)``;
* ``score_baseline``: ``(f(z) - b) grad_lambda log q(z)`` with, per parameter, the optimal
  constant ``b = E[f h^2] / E[h^2]`` (``h`` that parameter's score), computed exactly: the
  least variance any constant baseline reaches;
* ``pathwise``: PyMC's ADVI gradient. PyMC evaluates ``log q`` at the standard-normal draw
  ``eps`` (``-eps^2/2 - log sd``), so only ``log p`` carries noise and the entropy's gradient
  is exact: ``dm = g(z)``, ``dL = lower(g(z) eps') + diag(1 / L_ii)``;
* ``stl`` (sticking the landing, Roeder et al. 2017): the pathwise gradient of
  ``log p(z) - log q(z)`` with ``q``'s parameters held fixed inside ``log q``:
  ``dm = g(z) + L^-T eps``, ``dL = lower((g(z) + L^-T eps) eps')``. When ``q`` is the
  posterior, ``g(z) = -L^-T eps`` and every sample is exactly zero.

Exact means and variances: each estimator is a polynomial of degree at most 4 in ``eps``
(``f`` is quadratic), so its square has degree at most 8 in each coordinate, and a
tensor Gauss-Hermite rule with 5 nodes per dimension (exact to degree 9) integrates it
exactly. In one dimension the module also gives the derived closed forms
(``one_dimensional_moments``), tested against the rule and against Monte Carlo.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import product

import numpy as np

ESTIMATORS = ("score", "score_baseline", "pathwise", "stl")
GAUSS_HERMITE_NODES = 5  # exact for polynomials of degree <= 9 in each coordinate
MAX_EXACT_DIM = 6  # 5^6 = 15,625 nodes; above it the exact variance is not computed
FOURTH_MOMENT_NODES = 9  # exact to degree 17: a sample's fourth power has degree 16
MAX_FOURTH_DIM = 5  # 9^5 = 59,049 nodes


@dataclass(frozen=True)
class GaussianPosterior:
    """The exact posterior ``Normal(mean, cov)`` of one data set and its log evidence."""

    mean: np.ndarray
    cov: np.ndarray
    log_z: float

    @property
    def precision(self) -> np.ndarray:
        """Posterior precision matrix."""
        return np.linalg.inv(self.cov)

    @property
    def dim(self) -> int:
        """Dimension of the parameter."""
        return len(self.mean)


@dataclass(frozen=True)
class GaussianQ:
    """A Gaussian variational distribution ``Normal(mean, chol chol')``."""

    mean: np.ndarray
    chol: np.ndarray
    full_rank: bool

    @property
    def dim(self) -> int:
        """Dimension of the parameter."""
        return len(self.mean)

    def parameter_names(self) -> list[str]:
        """Names of the variational parameters, in the order of every gradient here."""
        d = self.dim
        names = [f"m[{j}]" for j in range(d)]
        if not self.full_rank:
            return names + [f"log_sd[{j}]" for j in range(d)]
        return names + [f"log_L[{i},{j}]" if i == j else f"L[{i},{j}]" for i, j in zip(*tril(d), strict=True)]


def tril(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of a lower triangle, in PyMC's FullRank order (``np.tril_indices``)."""
    return np.tril_indices(d)


def optimum(post: GaussianPosterior, *, full_rank: bool) -> GaussianQ:
    """Return the ``q`` that maximises the ELBO in its family.

    Full rank: the posterior itself (``L = chol(Sigma)``). Mean-field: the posterior mean and
    ``sd_j = 1 / sqrt(P_jj)``, the conditional sd, smaller than the marginal one when the
    posterior is correlated.
    """
    if full_rank:
        return GaussianQ(post.mean.copy(), np.linalg.cholesky(post.cov), True)
    return GaussianQ(post.mean.copy(), np.diag(1 / np.sqrt(np.diag(post.precision))), False)


def kl(q: GaussianQ, post: GaussianPosterior) -> float:
    """``KL(q || posterior)`` in closed form."""
    p, s = post.precision, q.chol @ q.chol.T
    diff = post.mean - q.mean
    logdet_q = 2 * np.sum(np.log(np.diag(q.chol)))
    logdet_post = np.linalg.slogdet(post.cov)[1]
    return 0.5 * (np.trace(p @ s) + diff @ p @ diff - q.dim + logdet_post - logdet_q)


def elbo(q: GaussianQ, post: GaussianPosterior) -> float:
    """``log Z - KL(q || posterior)``."""
    return post.log_z - kl(q, post)


def _pack(q: GaussianQ, dm: np.ndarray, dl: np.ndarray) -> np.ndarray:
    """Stack ``dm (..., d)`` and ``dL (..., d, d)`` in the parameter order, log scale on the diagonal."""
    d = q.dim
    diag = np.diag(q.chol)
    dl = dl.copy()
    idx = np.arange(d)
    dl[..., idx, idx] = dl[..., idx, idx] * diag
    if q.full_rank:
        rows, cols = tril(d)
        return np.concatenate([dm, dl[..., rows, cols]], axis=-1)
    return np.concatenate([dm, dl[..., idx, idx]], axis=-1)


def elbo_gradient(q: GaussianQ, post: GaussianPosterior) -> np.ndarray:
    """Return the exact gradient of the ELBO in ``q``'s parameters (order: ``GaussianQ.parameter_names``)."""
    p = post.precision
    dm = p @ (post.mean - q.mean)
    dl = np.linalg.inv(q.chol).T - p @ q.chol
    return _pack(q, dm, np.tril(dl))


def per_sample(
    q: GaussianQ, post: GaussianPosterior, eps: np.ndarray, baseline=None, names=ESTIMATORS
) -> dict[str, np.ndarray]:
    """Return the estimators' one-sample gradients at ``eps`` (``(..., d)``): ``{name: (..., P)}``.

    ``baseline`` is the optimal constant per parameter (``optimal_baseline``); computed when None
    and needed.
    """
    eps = np.asarray(eps, dtype=float)
    z = q.mean + eps @ q.chol.T
    g = -(z - post.mean) @ post.precision  # grad log p(x, z)
    l_inv_t_eps = np.linalg.solve(q.chol.T, eps[..., None])[..., 0]  # L^-T eps
    lower = np.tril(np.ones((q.dim, q.dim)))
    out = {}
    if "score" in names or "score_baseline" in names:
        f = _log_ratio(q, post, z, eps)[..., None]
        score = _score(q, eps, l_inv_t_eps)
        if "score" in names:
            out["score"] = f * score
        if "score_baseline" in names:
            out["score_baseline"] = (
                f - (optimal_baseline(q, post) if baseline is None else baseline)
            ) * score
    if "pathwise" in names:
        out["pathwise"] = _pack(
            q, g, lower * (g[..., :, None] * eps[..., None, :]) + np.diag(1 / np.diag(q.chol))
        )
    if "stl" in names:
        stl_g = g + l_inv_t_eps
        out["stl"] = _pack(q, stl_g, lower * (stl_g[..., :, None] * eps[..., None, :]))
    return out


def _log_ratio(q: GaussianQ, post: GaussianPosterior, z: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """``f = log p(x, z) - log q(z)`` at ``z = m + L eps``: ``(...)``."""
    centred = z - post.mean
    log_p = post.log_z - 0.5 * (
        np.einsum("...i,ij,...j->...", centred, post.precision, centred)
        + np.linalg.slogdet(2 * np.pi * post.cov)[1]
    )
    log_q = -0.5 * (np.sum(eps**2, axis=-1) + q.dim * np.log(2 * np.pi)) - np.sum(np.log(np.diag(q.chol)))
    return log_p - log_q


def _score(q: GaussianQ, eps: np.ndarray, l_inv_t_eps: np.ndarray) -> np.ndarray:
    """``grad_lambda log q(z)`` at ``z = m + L eps`` (``l_inv_t_eps`` is ``L^-T eps``), per parameter."""
    lower = np.tril(np.ones((q.dim, q.dim)))
    inv_diag = np.diag(1 / np.diag(q.chol))
    return _pack(q, l_inv_t_eps, lower * (l_inv_t_eps[..., :, None] * eps[..., None, :]) - inv_diag)


@functools.lru_cache(maxsize=16)
def hermite_grid(d: int, nodes: int = GAUSS_HERMITE_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``(M, d)`` and weights ``(M,)`` of the tensor Gauss-Hermite rule for ``Normal(0, I_d)``.

    Remembered per ``(d, nodes)`` and returned read-only: NumPy finds the nodes as a matrix's
    eigenvalues and Python builds the tensor product (0.4 ms in one dimension at 40 nodes,
    34 ms in three), and every data set's optimum and moments ask for the same rule: a power
    run of draws off an optimum took 326 ms with it computed each time, 290 ms remembered.
    """
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    points = np.array(list(product(x, repeat=d)))
    weights = np.prod(np.array(list(product(w, repeat=d))), axis=1)
    points.setflags(write=False)
    weights.setflags(write=False)
    return points, weights


def optimal_baseline(q: GaussianQ, post: GaussianPosterior) -> np.ndarray:
    """Per parameter, the constant ``b = E[f h^2] / E[h^2]`` that minimises the score estimator's variance."""
    if q.dim > MAX_EXACT_DIM:
        raise ValueError(f"the exact baseline is computed up to dimension {MAX_EXACT_DIM}, got {q.dim}")
    eps, weights = hermite_grid(q.dim)
    f = _log_ratio(q, post, q.mean + eps @ q.chol.T, eps)
    h2 = _score(q, eps, np.linalg.solve(q.chol.T, eps[..., None])[..., 0]) ** 2
    return (weights @ (f[:, None] * h2)) / (weights @ h2)


def exact_moments(q: GaussianQ, post: GaussianPosterior) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each estimator's exact single-sample mean and variance per parameter: ``{name: (mean, var)}``.

    One dimension: the derived closed forms. Up to ``MAX_EXACT_DIM``: the Gauss-Hermite rule,
    exact for these polynomial integrands. Above: NaN.
    """
    if q.dim == 1:
        return one_dimensional_moments(q, post)
    size = len(q.parameter_names())
    if q.dim > MAX_EXACT_DIM:
        return {name: (np.full(size, np.nan), np.full(size, np.nan)) for name in ESTIMATORS}
    nodes, weights = hermite_grid(q.dim)
    out = {}
    for name, values in per_sample(q, post, nodes).items():
        mean = weights @ values
        out[name] = (mean, np.maximum(weights @ (values - mean) ** 2, 0.0))
    return out


def exact_fourth_moments(q: GaussianQ, post: GaussianPosterior) -> dict[str, np.ndarray] | None:
    """Each estimator's exact central fourth moment of one sample, per parameter (None: d > MAX_FOURTH_DIM).

    A single sample is a polynomial of degree at most 4 in ``eps``, its fourth power of degree
    16 in each coordinate: the Gauss-Hermite rule with 9 nodes (exact to degree 17) integrates it.
    """
    if q.dim > MAX_FOURTH_DIM:
        return None
    nodes, weights = hermite_grid(q.dim, FOURTH_MOMENT_NODES)
    out = {}
    for name, values in per_sample(q, post, nodes).items():
        centred = values - weights @ values
        out[name] = weights @ centred**4
    return out


def one_dimensional_moments(
    q: GaussianQ, post: GaussianPosterior
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    r"""Return the closed forms in one dimension (the Normal-Normal model), parameters ``(m, log_sd)``.

    With ``delta = m - mu``, ``s`` the sd of ``q``, ``tau`` the posterior sd, and
    ``f = c0 + c1 eps + c2 eps^2`` where ``c0 = log Z + log(s / tau) - delta^2 / (2 tau^2)``,
    ``c1 = -s delta / tau^2``, ``c2 = (1 - s^2 / tau^2) / 2``; Gaussian moments
    ``E eps^2 = 1, E eps^4 = 3, E eps^6 = 15, E eps^8 = 105``::

        exact gradient      m: -delta / tau^2              log_sd: 1 - s^2 / tau^2 = 2 c2
        pathwise   var      m: s^2 / tau^4                 log_sd: (s delta / tau^2)^2 + 2 s^4 / tau^4
        stl        var      m: (1/s - s / tau^2)^2         log_sd: (s delta / tau^2)^2 + 2 (1 - s^2/tau^2)^2
        score      var      m: (c0^2 + 2 c1^2 + 15 c2^2 + 6 c0 c2) / s^2
                            log_sd: 2 c0^2 + 10 c1^2 + 74 c2^2 + 20 c0 c2
        optimal baseline    m: b = c0 + 3 c2               log_sd: b = c0 + 5 c2
        score_baseline var  m: (2 c1^2 + 6 c2^2) / s^2     log_sd: 10 c1^2 + 24 c2^2

    The score function's variance carries ``c0^2 / s^2``: ``log Z`` grows like N and
    ``1 / s^2`` like N, so without a baseline it grows like ``N^3``.
    """
    mu, tau = float(post.mean[0]), float(np.sqrt(post.cov[0, 0]))
    m, s = float(q.mean[0]), float(q.chol[0, 0])
    delta = m - mu
    c0 = post.log_z + np.log(s / tau) - delta**2 / (2 * tau**2)
    c1 = -s * delta / tau**2
    c2 = 0.5 * (1 - s**2 / tau**2)
    grad = np.array([-delta / tau**2, 2 * c2])
    var = {
        "pathwise": [s**2 / tau**4, (s * delta / tau**2) ** 2 + 2 * s**4 / tau**4],
        "stl": [(1 / s - s / tau**2) ** 2, (s * delta / tau**2) ** 2 + 2 * (1 - s**2 / tau**2) ** 2],
        "score": [
            (c0**2 + 2 * c1**2 + 15 * c2**2 + 6 * c0 * c2) / s**2,
            2 * c0**2 + 10 * c1**2 + 74 * c2**2 + 20 * c0 * c2,
        ],
        "score_baseline": [(2 * c1**2 + 6 * c2**2) / s**2, 10 * c1**2 + 24 * c2**2],
    }
    return {name: (grad.copy(), np.array(var[name])) for name in ESTIMATORS}


def tempered(
    prior_mean: np.ndarray, prior_cov: np.ndarray, post_mean: np.ndarray, post_cov: np.ndarray, weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the maximiser of ``E_q[log p(x|z)] - w KL(q || prior)``: ``prior x likelihood^(1/w)``.

    For a Gaussian prior and likelihood the likelihood's precision ``P_post - P_0`` is divided
    by ``w``: ``P_w = P_0 + (P_post - P_0) / w`` and ``P_w m_w = P_0 m_0 + (P_post m_post - P_0 m_0) / w``.
    Returns the tempered posterior's mean and covariance.
    """
    p0, pn = np.linalg.inv(prior_cov), np.linalg.inv(post_cov)
    pw = p0 + (pn - p0) / weight
    cov = np.linalg.inv(pw)
    mean = cov @ (p0 @ prior_mean + (pn @ post_mean - p0 @ prior_mean) / weight)
    return mean, cov


def mean_field_projection(mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean-field Gaussian closest to ``Normal(mean, cov)``: mean, 1/sqrt(P_jj)."""
    return np.asarray(mean, dtype=float), 1 / np.sqrt(np.diag(np.linalg.inv(cov)))


def categorical_gradient(logits: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Return the gradient of ``E_q[f(z)]`` (q = softmax(logits)) in the logits: pi (f - pi.f)."""
    pi = softmax(logits)
    return pi * (f - pi @ f)


def softmax(a: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum for stability."""
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def reinforce_categorical(logits: np.ndarray, f: np.ndarray, z: np.ndarray) -> np.ndarray:
    """REINFORCE at the draws ``z`` (category indices): ``f(z) (onehot(z) - pi)``, unbiased."""
    pi = softmax(logits)
    onehot = np.eye(len(f))[z]
    return f[z][..., None] * (onehot - pi)


def relaxed_categorical(
    logits: np.ndarray, f: np.ndarray, gumbel: np.ndarray, temperature: float
) -> np.ndarray:
    r"""Gumbel-softmax (Concrete) gradient at the Gumbel draws ``gumbel`` (``(..., K)``).

    The relaxed sample ``y = softmax((logits + g) / t)`` replaces the one-hot ``z`` in the
    linear extension ``f(y) = sum_k y_k f_k``; its pathwise gradient in the logits is
    ``(y / t) (f - y . f)``: unbiased for the relaxed objective ``E[f(y)]``, biased for
    ``E_q[f(z)]`` by the difference between ``E[y]`` and ``pi``, which vanishes as ``t -> 0``
    while the variance grows.
    """
    y = softmax((logits + gumbel) / temperature)
    return (y / temperature) * (f - (y @ f)[..., None])
