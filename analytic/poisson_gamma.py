r"""Poisson counts, Gamma prior on the rate.

Model::

    x_1..x_N ~ Poisson(lam)
    lam      ~ Gamma(a, b)            shape a, rate b (mean a / b)

Data ``x`` has shape ``(..., N)`` (non-negative whole numbers); ``s = sum(x)``::

    MLE              = s / N            (0, on the boundary, when every count is 0)
    posterior        = Gamma(a + s, b + N)
    posterior mean   = (a + s) / (b + N) = w_N a / b + (1 - w_N) s / N
    prior weight w_N = b / (b + N)
    MAP              = (a + s - 1) / (b + N)    (the mode of the density in lam)

The MAP is the mode *in lam*; in log(lam) it would be the posterior mean. Every proper
prior (``a, b > 0``) is accepted, Jeffreys' shape 1/2 included. When ``a + s < 1`` (all
counts 0 under ``a < 1``) the posterior density is unbounded at 0 and the MAP is 0, on
the boundary, with a note (``map_note``), as the MLE gets one; with ``a = 1`` and all
counts 0 the MAP is 0 too, where the density is finite.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from analytic.distributions import EstimatorRisk, GammaDistribution
from analytic.validation import observations, positive, sample_size


def counts(name: str, x) -> np.ndarray:
    """Return ``x`` as a float array of non-negative whole numbers, or raise."""
    x = observations(name, x)
    if not np.all((x >= 0) & (x == np.round(x))):
        raise ValueError(f"{name} must hold non-negative whole numbers")
    return x


def _prior(a, b):
    return positive("prior shape a", a), positive("prior rate b", b)


def mle(*, x) -> np.ndarray:
    """Maximum-likelihood estimate of the rate: the mean count (0 on the boundary)."""
    return counts("x", x).mean(axis=-1)


def mle_note(*, x) -> np.ndarray:
    """'' or a note when every count is 0 and the MLE sits on the boundary."""
    return np.where(counts("x", x).sum(axis=-1) == 0, "all counts 0: MLE 0, on the boundary", "")


def map_note(*, x, a, b) -> np.ndarray:
    """'' or a note when ``a + s < 1`` and the MAP sits on the boundary 0."""
    note = "a + s < 1: posterior density unbounded at 0; MAP 0, on the boundary"
    return np.where(posterior(x=x, a=a, b=b).a < 1, note, "")


def prior_weight(*, n, b) -> np.ndarray:
    """Weight of the prior mean in the posterior mean, ``b / (b + N)``."""
    n = np.vectorize(lambda v: sample_size("n", v), otypes=[int])(n)
    b = positive("prior rate b", b)
    return b / (b + n)


def posterior(*, x, a, b) -> GammaDistribution:
    """Exact posterior of the rate given counts ``x`` of shape ``(..., N)``."""
    x = counts("x", x)
    a, b = _prior(a, b)
    return GammaDistribution(a=a + x.sum(axis=-1), b=b + x.shape[-1])


def map_estimate(*, x, a, b) -> np.ndarray:
    """Maximum a posteriori estimate of the rate: the mode of the Gamma posterior."""
    return posterior(x=x, a=a, b=b).mode


def posterior_mode(*, x, a, b) -> np.ndarray:
    """Mode of the posterior density of the rate (the MAP)."""
    return map_estimate(x=x, a=a, b=b)


def posterior_predictive(*, x, a, b):
    """Distribution of a new count: Negative Binomial(a + s, (b + N) / (b + N + 1))."""
    post = posterior(x=x, a=a, b=b)
    return stats.nbinom(post.a, post.b / (post.b + 1))


def log_posterior(lam, *, x, a, b) -> np.ndarray:
    """Normalised log posterior density of ``lam``."""
    return posterior(x=x, a=a, b=b).dist.logpdf(lam)


def mle_risk(*, n, true_rate) -> EstimatorRisk:
    """Exact risk of the MLE: unbiased, variance ``lam / N``."""
    n = np.asarray(n, dtype=float)
    return EstimatorRisk(bias=np.zeros_like(n), var=true_rate / n)


def map_risk(*, n, true_rate, a, b) -> EstimatorRisk:
    """Exact risk of the MAP ``(a - 1 + s) / (b + N)``, linear in ``s ~ Poisson(N lam)``.

    With ``a < 1`` the MAP is clipped to 0 for ``s = 0``; its moments are then a sum over ``s``.
    """
    a, b = _prior(a, b)
    if np.all(a >= 1):
        n = np.asarray(n, dtype=float)
        return EstimatorRisk(
            bias=(a - 1 + n * true_rate) / (b + n) - true_rate, var=n * true_rate / (b + n) ** 2
        )
    bias, var = [], []
    for size in np.atleast_1d(n).astype(int):
        total = stats.poisson(size * true_rate)
        s = np.arange(0, total.isf(1e-14) + 1)
        weight = total.pmf(s)
        mode = GammaDistribution(a=a + s, b=b + size).mode
        mean = np.sum(weight * mode)
        bias.append(mean - true_rate)
        var.append(np.sum(weight * (mode - mean) ** 2))
    shape = np.shape(n)
    return EstimatorRisk(bias=np.reshape(bias, shape), var=np.reshape(var, shape))


def interval_coverage(*, n, true_rate, a, b, prob) -> np.ndarray:
    """Exact frequentist coverage of the central ``prob`` posterior interval: a sum over s."""
    a, b = _prior(a, b)
    out = []
    for size in np.atleast_1d(n).astype(int):
        total = stats.poisson(size * true_rate)
        s = np.arange(total.ppf(1e-12), total.isf(1e-12) + 1)
        post = stats.gamma(a + s, scale=1 / (b + size))
        lo, hi = post.ppf(0.5 - prob / 2), post.ppf(0.5 + prob / 2)
        out.append(total.pmf(s)[(lo <= true_rate) & (true_rate <= hi)].sum())
    return np.asarray(out).reshape(np.shape(n))


def simulate(rng: np.random.Generator, *, n: int, reps: int, true_rate) -> np.ndarray:
    """Draw ``reps`` data sets of ``n`` Poisson counts each: shape ``(reps, n)``."""
    return rng.poisson(true_rate, size=(sample_size("reps", reps), sample_size("n", n))).astype(float)


def log_evidence(*, x, a, b) -> np.ndarray:
    """Log marginal likelihood of each count vector ``(..., N)`` under the Gamma(a, rate b) prior.

    ``a log b - log Gamma(a) + log Gamma(a + S) - (a + S) log(b + N) - sum log x_i!``, with ``S = sum x``.
    """
    x = counts("x", x)
    a, b = _prior(a, b)
    s, n = x.sum(axis=-1), x.shape[-1]
    return (
        a * np.log(b)
        - special.gammaln(a)
        + special.gammaln(a + s)
        - (a + s) * np.log(b + n)
        - special.gammaln(x + 1).sum(axis=-1)
    )
