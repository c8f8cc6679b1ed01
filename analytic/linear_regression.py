r"""Linear regression with Normal noise of known variance, multivariate Normal prior on the coefficients.

Model::

    y = X beta + e,   e ~ Normal(0, sigma^2 I)    sigma^2 known; X the N x p design
    beta ~ Normal_p(b0, S0)

The design is fixed for each N (``design``: the powers 1, t, t^2, ... of N points spread
evenly over [-1, 1]), so every risk below is exact, conditional on it. Closed forms::

    posterior  = Normal_p(b_N, S_N),  S_N = (X^T X / sigma^2 + S0^-1)^-1
    b_N = MAP  = S_N (S0^-1 b0 + X^T y / sigma^2)
    MLE        = (X^T X)^-1 X^T y  (least squares); when N < p it is not unique and the
                 minimum-norm least-squares solution pinv(X) y is reported, with a note
    prior weight = trace(S_N S0^-1) / p   (1 with no data, 0 as N grows)
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analytic.distributions import EstimatorRisk
from analytic.validation import finite, observations, positive, sample_size


def design(n: int, p: int) -> np.ndarray:
    """Return the fixed N x p design: columns t^0, ..., t^(p-1) at N points spread evenly over [-1, 1]."""
    n, p = sample_size("n", n), sample_size("coefficients", p)
    t = np.linspace(-1, 1, n) if n > 1 else np.zeros(1)
    # t^0 and t^1 are 1 and t exactly: no pow() for them (at N up to 10^6 it was most of the
    # time of the MSE crossover search, report.interpret.mse_crossovers); the same numbers
    if p <= 2:
        return np.ascontiguousarray(np.stack([np.ones_like(t), t], axis=1)[:, :p])
    return t[:, None] ** np.arange(p)


def _posterior_cov(x: np.ndarray, noise_var, prior_var) -> np.ndarray:
    p = x.shape[1]
    return np.linalg.inv(x.T @ x / noise_var + np.eye(p) / prior_var)


def mle(*, y, p: int) -> np.ndarray:
    """Least-squares coefficients (minimum-norm when N < p), shape ``(..., p)``."""
    y = observations("y", y)
    return y @ np.linalg.pinv(design(y.shape[-1], p)).T


def mle_note(*, y, p: int) -> np.ndarray:
    """'' or a note when N < p and the MLE is not unique."""
    n = np.shape(y)[-1]
    note = f"N = {n} < {p} coefficients: MLE not unique, minimum-norm least squares" if n < p else ""
    return np.full(np.shape(y)[:-1], note)


def posterior(*, y, p: int, noise_var, prior_mean, prior_var) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior mean ``(..., p)`` and covariance ``(p, p)`` given ``y`` of shape ``(..., N)``."""
    y = observations("y", y)
    noise_var, prior_var = positive("noise_var", noise_var), positive("prior_var", prior_var)
    x = design(y.shape[-1], p)
    cov = _posterior_cov(x, noise_var, prior_var)
    mean = (finite("prior_mean", prior_mean) * np.ones(p) / prior_var + y @ x / noise_var) @ cov.T
    return mean, cov


def prior_weight(*, n: int, p: int, noise_var, prior_var) -> float:
    """``trace(S_N S0^-1) / p``: the prior's share of the posterior precision, averaged."""
    cov = _posterior_cov(design(n, p), positive("noise_var", noise_var), positive("prior_var", prior_var))
    return float(np.trace(cov) / prior_var / p)


def risks(*, n, p: int, true_beta, noise_var, prior_mean, prior_var, prob) -> list[tuple]:
    """Per coefficient: exact (MLE risk, MAP risk, coverage) for each N, given the fixed design.

    ``prob`` None skips the coverage (NaN), for callers that need only the MSE.
    """
    true_beta = finite("true_beta", true_beta)
    columns = []  # per N: (MLE bias, MLE var, MAP bias, MAP var, coverage), each of length p
    for size in np.ravel(n).astype(int):
        x = design(size, p)
        a = np.linalg.pinv(x)
        cov = _posterior_cov(x, noise_var, prior_var)
        m = cov @ x.T / noise_var
        mle_bias, mle_var = (a @ x - np.eye(p)) @ true_beta, noise_var * np.diag(a @ a.T)
        map_bias = cov @ (prior_mean * np.ones(p)) / prior_var + m @ x @ true_beta - true_beta
        map_var = noise_var * np.diag(m @ m.T)
        cover = np.full(p, np.nan)
        if prob is not None:
            half = stats.norm.ppf(0.5 + prob / 2) * np.sqrt(np.diag(cov))
            sd = np.sqrt(map_var)
            with np.errstate(divide="ignore", invalid="ignore"):  # sd 0: a coefficient the data cannot move
                cover = stats.norm.cdf((half - map_bias) / sd) - stats.norm.cdf((-half - map_bias) / sd)
            cover = np.where(sd > 0, cover, (np.abs(map_bias) <= half).astype(float))
        columns.append((mle_bias, mle_var, map_bias, map_var, cover))
    # (column, coefficient, N), each N-row reshaped like the argument n
    table = np.moveaxis(np.asarray(columns), 0, -1).reshape(5, p, *np.shape(n))
    return [
        (EstimatorRisk(table[0, k], table[1, k]), EstimatorRisk(table[2, k], table[3, k]), table[4, k])
        for k in range(p)
    ]


def simulate(rng: np.random.Generator, *, n: int, reps: int, true_beta, noise_var) -> np.ndarray:
    """Draw ``reps`` response vectors on the fixed design: shape ``(reps, n)``."""
    true_beta = finite("true_beta", true_beta)
    mean = design(n, len(true_beta)) @ true_beta
    return mean + rng.normal(
        0, np.sqrt(positive("noise_var", noise_var)), size=(sample_size("reps", reps), n)
    )


def log_evidence(*, y, p: int, noise_var, prior_mean, prior_var) -> np.ndarray:
    """Log marginal likelihood of each response vector ``(..., N)``: ``y ~ Normal(X b0, s2 I + v X X')``.

    The N x N covariance is never formed: Woodbury's identity gives the quadratic form and the
    matrix determinant lemma the log determinant, through the p x p matrix ``A = X'X + (s2 / v) I``.
    """
    y = observations("y", y)
    noise_var, prior_var = positive("noise_var", noise_var), positive("prior_var", prior_var)
    n = y.shape[-1]
    x = design(n, p)
    r = y - x @ (finite("prior_mean", prior_mean) * np.ones(p))
    a = x.T @ x + (noise_var / prior_var) * np.eye(p)
    xr = r @ x
    quad = ((r**2).sum(axis=-1) - np.einsum("...i,ij,...j->...", xr, np.linalg.inv(a), xr)) / noise_var
    logdet = n * np.log(noise_var) + np.linalg.slogdet(np.eye(p) + (prior_var / noise_var) * x.T @ x)[1]
    return -0.5 * (n * np.log(2 * np.pi) + logdet + quad)
