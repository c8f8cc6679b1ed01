r"""Multivariate Normal data with known covariance, multivariate Normal prior on the mean.

Model::

    x_1..x_N ~ Normal_d(mu, Sigma)      Sigma known (d x d)
    mu       ~ Normal_d(m0, L0)

Data ``x`` has shape ``(..., N, d)``. Closed forms::

    MLE        = mean(x)                                   (the sample mean vector)
    posterior  = Normal_d(m_N, L_N),  L_N = (L0^-1 + N Sigma^-1)^-1
    m_N = MAP  = L_N (L0^-1 m0 + N Sigma^-1 mean(x)) = W m0 + (I - W) mean(x)
    W          = L_N L0^-1          (the prior's weight matrix; its trace / d is reported)

The posterior is Normal, so its mean, its joint mode (the MAP) and each component's
marginal mode coincide.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analytic.distributions import EstimatorRisk
from analytic.validation import finite, observations, sample_size


def _spd(name: str, value) -> np.ndarray:
    arr = finite(name, value)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square matrix")
    if not np.allclose(arr, arr.T) or np.any(np.linalg.eigvalsh(arr) <= 0):
        raise ValueError(f"{name} must be symmetric positive definite")
    return arr


def _check(x, cov, prior_mean, prior_cov):
    cov, prior_cov = _spd("cov", cov), _spd("prior_cov", prior_cov)
    x = observations("x", x)
    if x.ndim < 2 or x.shape[-1] != cov.shape[0]:
        raise ValueError(f"x must have shape (..., N, {cov.shape[0]})")
    return x, cov, finite("prior_mean", prior_mean) * np.ones(cov.shape[0]), prior_cov


def mle(*, x) -> np.ndarray:
    """Maximum-likelihood estimate: the sample mean vector, shape ``(..., d)``."""
    return observations("x", x).mean(axis=-2)


def weight_matrix(*, n, cov, prior_cov) -> np.ndarray:
    """Return the prior's weight ``W = L_N L0^-1`` in ``m_N = W m0 + (I - W) mean(x)``."""
    n = sample_size("n", n)
    cov, prior_cov = _spd("cov", cov), _spd("prior_cov", prior_cov)
    post_cov = np.linalg.inv(np.linalg.inv(prior_cov) + n * np.linalg.inv(cov))
    return post_cov @ np.linalg.inv(prior_cov)


def posterior(*, x, cov, prior_mean, prior_cov) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior mean ``(..., d)`` and covariance ``(d, d)`` of mu given ``x`` ``(..., N, d)``."""
    x, cov, prior_mean, prior_cov = _check(x, cov, prior_mean, prior_cov)
    n = x.shape[-2]
    prior_prec, prec = np.linalg.inv(prior_cov), np.linalg.inv(cov)
    post_cov = np.linalg.inv(prior_prec + n * prec)
    mean = (prior_prec @ prior_mean + n * x.mean(axis=-2) @ prec.T) @ post_cov.T
    return mean, post_cov


def map_estimate(*, x, cov, prior_mean, prior_cov) -> np.ndarray:
    """Maximum a posteriori estimate (equal to the posterior mean)."""
    return posterior(x=x, cov=cov, prior_mean=prior_mean, prior_cov=prior_cov)[0]


def log_posterior(mu, *, x, cov, prior_mean, prior_cov) -> np.ndarray:
    """Normalised log posterior density of ``mu`` (``(..., d)``)."""
    mean, post_cov = posterior(x=x, cov=cov, prior_mean=prior_mean, prior_cov=prior_cov)
    return stats.multivariate_normal(np.zeros(len(post_cov)), post_cov).logpdf(np.asarray(mu) - mean)


def mle_risk(*, n, cov) -> EstimatorRisk:
    """Exact risk per component of the MLE: unbiased, variance ``Sigma_kk / N``; shape ``(..., d)``."""
    n = np.asarray(n, dtype=float)[..., None]
    var = np.diag(_spd("cov", cov)) / n
    return EstimatorRisk(bias=np.zeros_like(var), var=var)


def map_risk(*, n, true_mean, cov, prior_mean, prior_cov) -> EstimatorRisk:
    """Exact risk per component of the MAP: bias ``W (m0 - mu)``, variance diag((I-W) Sigma (I-W)^T) / N."""
    cov, prior_cov = _spd("cov", cov), _spd("prior_cov", prior_cov)
    d = len(cov)
    bias, var = [], []
    for size in np.atleast_1d(n).astype(int):
        w = weight_matrix(n=size, cov=cov, prior_cov=prior_cov)
        bias.append(w @ (finite("prior_mean", prior_mean) * np.ones(d) - true_mean))
        var.append(np.diag((np.eye(d) - w) @ cov @ (np.eye(d) - w).T) / size)
    shape = (*np.shape(n), d)
    return EstimatorRisk(bias=np.reshape(bias, shape), var=np.reshape(var, shape))


def interval_coverage(*, n, true_mean, cov, prior_mean, prior_cov, prob) -> np.ndarray:
    """Coverage per component of the central ``prob`` marginal interval ``m_N,k +- z sd_k``."""
    risk = map_risk(n=n, true_mean=true_mean, cov=cov, prior_mean=prior_mean, prior_cov=prior_cov)
    sd_post = np.reshape(
        [np.sqrt(np.diag(np.linalg.inv(np.linalg.inv(prior_cov) + k * np.linalg.inv(cov))))
         for k in np.atleast_1d(n).astype(int)],
        risk.var.shape,
    )  # fmt: skip
    half = stats.norm.ppf(0.5 + prob / 2) * sd_post
    sd = np.sqrt(risk.var)
    return stats.norm.cdf((half - risk.bias) / sd) - stats.norm.cdf((-half - risk.bias) / sd)


def simulate(rng: np.random.Generator, *, n: int, reps: int, true_mean, cov) -> np.ndarray:
    """Draw ``reps`` data sets of ``n`` d-vectors each: shape ``(reps, n, d)``."""
    size = (sample_size("reps", reps), sample_size("n", n))
    return rng.multivariate_normal(finite("true_mean", true_mean), _spd("cov", cov), size=size)


def log_evidence(*, x, cov, prior_mean, prior_cov) -> np.ndarray:
    """Log marginal likelihood of each data set ``(..., N, d)``.

    As in one dimension: ``sum_i log Normal(x_i | xbar, Sigma) + (1/2) log det(2 pi Sigma / N)
    + log Normal(xbar | mu0, Sigma0 + Sigma / N)``.
    """
    x, cov, prior_mean, prior_cov = _check(x, cov, prior_mean, prior_cov)
    n, d = x.shape[-2:]
    xbar = x.mean(axis=-2)
    resid = x - xbar[..., None, :]
    logdet = np.linalg.slogdet(cov)[1]
    within = np.einsum("...ni,ij,...nj->...", resid, np.linalg.inv(cov), resid)
    return (
        -0.5 * (n * (d * np.log(2 * np.pi) + logdet) + within)
        + 0.5 * (d * np.log(2 * np.pi / n) + logdet)
        + stats.multivariate_normal(prior_mean, prior_cov + cov / n).logpdf(xbar)
    )
