r"""Categorical data (multinomial counts), Dirichlet prior on the category probabilities.

Model::

    x_1..x_N ~ Categorical(theta)        theta on the simplex of K categories
    theta    ~ Dirichlet(alpha)          alpha_0 = sum(alpha)

Data ``x`` has shape ``(..., N)`` with entries 0..K-1; ``c_k`` counts category k::

    MLE                 = c / N           (0, on the boundary, for a category never seen)
    posterior           = Dirichlet(alpha + c)
    posterior mean      = (alpha_k + c_k) / (alpha_0 + N) = w_N alpha_k / alpha_0 + (1 - w_N) c_k / N
    prior weight w_N    = alpha_0 / (alpha_0 + N)
    MAP (joint mode)    = (alpha_k + c_k - 1) / (alpha_0 + N - K)
    marginal of theta_k = Beta(alpha_k + c_k, alpha_0 + N - alpha_k - c_k), mode
                          (alpha_k + c_k - 1) / (alpha_0 + N - 2)

The joint MAP on the simplex and each component's marginal mode differ (the denominators
``alpha_0 + N - K`` and ``alpha_0 + N - 2``); both are reported. The prior needs every
``alpha_k >= 1`` for a unique mode inside or on the simplex.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from analytic import binomial_beta
from analytic.distributions import EstimatorRisk, no_coverage
from analytic.validation import observations, positive, sample_size


def counts(x, k: int) -> np.ndarray:
    """Category counts of ``x`` (``(..., N)``, entries 0..K-1): shape ``(..., K)``."""
    x = observations("x", x)
    if not np.all((x >= 0) & (x < k) & (x == np.round(x))):
        raise ValueError(f"x must hold category indices 0..{k - 1}")
    return (x[..., None] == np.arange(k)).sum(axis=-2).astype(float)


def _alpha(alpha) -> np.ndarray:
    alpha = positive("prior alpha", alpha)
    if alpha.ndim != 1 or len(alpha) < 2:
        raise ValueError("prior alpha needs one entry per category, at least two")
    if np.any(alpha < 1):
        raise ValueError(f"every prior alpha must be >= 1 for a unique posterior mode, got {alpha}")
    return alpha


def mle(*, x, alpha) -> np.ndarray:
    """Maximum-likelihood estimate: the category shares, shape ``(..., K)``."""
    c = counts(x, len(_alpha(alpha)))
    return c / c.sum(axis=-1, keepdims=True)


def mle_note(*, x, alpha) -> np.ndarray:
    """'' or a note naming the categories never seen, whose MLE is 0 on the boundary."""
    c = counts(x, len(_alpha(alpha)))
    notes = [
        ""
        if not (row == 0).any()
        else f"categories {np.flatnonzero(row == 0).tolist()} unseen: MLE 0, boundary"
        for row in c.reshape(-1, c.shape[-1])
    ]
    return np.reshape(notes, c.shape[:-1])


def posterior_alpha(*, x, alpha) -> np.ndarray:
    """Concentration of the Dirichlet posterior, ``alpha + c``: shape ``(..., K)``."""
    alpha = _alpha(alpha)
    return alpha + counts(x, len(alpha))


def map_estimate(*, x, alpha) -> np.ndarray:
    """Joint mode of the Dirichlet posterior density on the simplex."""
    a = posterior_alpha(x=x, alpha=alpha)
    return (a - 1) / (a.sum(axis=-1, keepdims=True) - a.shape[-1])


def marginal(*, x, alpha, k: int):
    """Exact marginal posterior of ``theta_k``: a frozen ``scipy.stats.beta``."""
    a = posterior_alpha(x=x, alpha=alpha)
    return stats.beta(a[..., k], a.sum(axis=-1) - a[..., k])


def log_posterior(theta, *, x, alpha) -> np.ndarray:
    """Normalised log posterior density of ``theta`` (``(..., K)``, on the simplex)."""
    a = posterior_alpha(x=x, alpha=alpha)
    flat_a, flat_t = a.reshape(-1, a.shape[-1]), np.reshape(theta, (-1, a.shape[-1]))
    values = [stats.dirichlet(ai).logpdf(ti) for ai, ti in zip(flat_a, flat_t, strict=True)]
    return np.reshape(values, a.shape[:-1])


def risks(*, n, true_p, alpha, prob) -> list[tuple[EstimatorRisk, EstimatorRisk, np.ndarray]]:
    """Per category: exact (MLE risk, MAP risk, coverage); ``c_k ~ Binomial(N, p_k)``.

    ``prob`` None skips the coverage (NaN), for callers that need only the MSE.
    """
    alpha = _alpha(alpha)
    n = np.asarray(n, dtype=float)
    a0, k = alpha.sum(), len(alpha)
    out = []
    for ak, pk in zip(alpha, true_p, strict=True):
        denom = a0 + n - k
        mle = EstimatorRisk(np.zeros_like(n), pk * (1 - pk) / n)
        map_ = EstimatorRisk((ak - 1 + n * pk) / denom - pk, n * pk * (1 - pk) / denom**2)
        # theta_k's marginal is the Beta-Binomial posterior with a = alpha_k, b = alpha_0 - alpha_k
        if prob is None:
            coverage = no_coverage(n)
        else:
            coverage = binomial_beta.interval_coverage(n=n, true_p=pk, a=ak, b=a0 - ak, prob=prob)
        out.append((mle, map_, coverage))
    return out


def simulate(rng: np.random.Generator, *, n: int, reps: int, true_p) -> np.ndarray:
    """Draw ``reps`` data sets of ``n`` category indices each: shape ``(reps, n)``."""
    size = (sample_size("reps", reps), sample_size("n", n))
    return rng.choice(len(true_p), size=size, p=true_p).astype(float)


def log_evidence(*, x, alpha) -> np.ndarray:
    """Log marginal likelihood of each sequence of category indices ``(..., N)`` (a Dirichlet-multinomial).

    ``log Gamma(A) - log Gamma(A + N) + sum_k [log Gamma(alpha_k + c_k) - log Gamma(alpha_k)]``, with
    ``A = sum alpha`` and ``c`` the counts; the sequence, not the counts, so no multinomial coefficient.
    """
    alpha = positive("prior alpha", alpha)
    c = counts(x, len(alpha))
    total = alpha.sum()
    return (
        special.gammaln(total)
        - special.gammaln(total + c.sum(axis=-1))
        + (special.gammaln(alpha + c) - special.gammaln(alpha)).sum(axis=-1)
    )
