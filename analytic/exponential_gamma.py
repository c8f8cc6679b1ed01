r"""Exponential waiting times, Gamma prior on the rate.

Model::

    x_1..x_N ~ Exponential(lam)       rate lam (mean 1 / lam)
    lam      ~ Gamma(a, b)            shape a, rate b

Data ``x`` has shape ``(..., N)`` (positive numbers); ``S = sum(x)``::

    MLE              = N / S
    posterior        = Gamma(a + N, b + S)
    posterior mean   = (a + N) / (b + S) = w a / b + (1 - w) N / S
    prior weight w   = b / (b + S)      (depends on the data through S)
    MAP              = (a + N - 1) / (b + S)    (the mode of the density in lam)

The MAP is the mode *in lam*; in log(lam) it would be the posterior mean. Since
``a + N - 1 > 0`` for N >= 1, the mode is always inside (0, inf). The MLE is biased:
``E[N / S] = N lam / (N - 1)``, with finite mean only for N >= 2 and finite variance only
for N >= 3; the risks say ``inf`` below those sizes.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, special, stats

from analytic.distributions import EstimatorRisk, GammaDistribution
from analytic.validation import observations, positive, sample_size


def waiting_times(name: str, x) -> np.ndarray:
    """Return ``x`` as a float array of positive numbers, or raise."""
    x = observations(name, x)
    if not np.all(x > 0):
        raise ValueError(f"{name} must hold positive waiting times")
    return x


def _prior(a, b):
    return positive("prior shape a", a), positive("prior rate b", b)


def mle(*, x) -> np.ndarray:
    """Maximum-likelihood estimate of the rate, ``N / sum(x)``."""
    x = waiting_times("x", x)
    return x.shape[-1] / x.sum(axis=-1)


def mle_note(*, x) -> np.ndarray:
    """No boundary case: the MLE of an exponential rate always exists inside (0, inf)."""
    return np.full(np.shape(x)[:-1], "")


def prior_weight(*, x, b) -> np.ndarray:
    """Weight of the prior mean in the posterior mean, ``b / (b + S)``."""
    return positive("prior rate b", b) / (positive("prior rate b", b) + waiting_times("x", x).sum(axis=-1))


def posterior(*, x, a, b) -> GammaDistribution:
    """Exact posterior of the rate given waiting times ``x`` of shape ``(..., N)``."""
    x = waiting_times("x", x)
    a, b = _prior(a, b)
    return GammaDistribution(a=a + x.shape[-1], b=b + x.sum(axis=-1))


def map_estimate(*, x, a, b) -> np.ndarray:
    """Maximum a posteriori estimate of the rate: the mode of the Gamma posterior."""
    return posterior(x=x, a=a, b=b).mode


def posterior_mode(*, x, a, b) -> np.ndarray:
    """Mode of the posterior density of the rate (the MAP)."""
    return map_estimate(x=x, a=a, b=b)


def posterior_predictive(*, x, a, b):
    """Distribution of a new waiting time: Lomax (Pareto II) with shape a + N, scale b + S."""
    post = posterior(x=x, a=a, b=b)
    return stats.lomax(post.a, scale=post.b)


def log_posterior(lam, *, x, a, b) -> np.ndarray:
    """Normalised log posterior density of ``lam``."""
    return posterior(x=x, a=a, b=b).dist.logpdf(lam)


def _expect(fn, n: int, rate: float) -> float:
    """E[fn(S)] for S ~ Gamma(n, rate), by quadrature."""
    scale, log_norm = 1 / rate, special.gammaln(n)

    def density(s: float) -> float:
        # SciPy's gamma(n, scale=scale).pdf(s), computed as it does (the same floats) without
        # its per-call checks, which took 2.2 s of the 2.6 s MSE crossover search
        y = s / scale
        return np.exp(special.xlogy(n - 1.0, y) - y - log_norm) / scale if 0 < y < np.inf else 0.0

    return integrate.quad(lambda s: fn(s) * density(s), 0, np.inf, limit=200)[0]


def mle_risk(*, n, true_rate) -> EstimatorRisk:
    """Exact risk of the MLE ``N / S``: bias ``lam / (N - 1)``, variance ``N^2 lam^2 / ((N-1)^2 (N-2))``."""
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        bias = np.where(n > 1, true_rate / (n - 1), np.inf)
        var = np.where(n > 2, n**2 * true_rate**2 / ((n - 1) ** 2 * (n - 2)), np.inf)
    return EstimatorRisk(bias=bias, var=var)


def map_risk(*, n, true_rate, a, b) -> EstimatorRisk:
    """Exact risk of the MAP ``(a + N - 1) / (b + S)``, by quadrature over ``S ~ Gamma(N, lam)``."""
    a, b = _prior(a, b)
    bias, var = [], []
    for size in np.atleast_1d(n).astype(int):
        c = a + size - 1
        m1 = c * _expect(lambda s: 1 / (b + s), size, true_rate)
        m2 = c**2 * _expect(lambda s: 1 / (b + s) ** 2, size, true_rate)
        bias.append(m1 - true_rate)
        var.append(m2 - m1**2)
    shape = np.shape(n)
    return EstimatorRisk(bias=np.asarray(bias).reshape(shape), var=np.asarray(var).reshape(shape))


def interval_coverage(*, n, true_rate, a, b, prob) -> np.ndarray:
    """Exact coverage of the central ``prob`` interval ``[g_lo, g_hi] / (b + S)``, a Gamma CDF difference."""
    a, b = _prior(a, b)
    n = np.asarray(n, dtype=float)
    unit = stats.gamma(a + n)
    g_lo, g_hi = unit.ppf(0.5 - prob / 2), unit.ppf(0.5 + prob / 2)
    total = stats.gamma(n, scale=1 / true_rate)
    return total.cdf(g_hi / true_rate - b) - total.cdf(np.maximum(g_lo / true_rate - b, 0))


def simulate(rng: np.random.Generator, *, n: int, reps: int, true_rate) -> np.ndarray:
    """Draw ``reps`` data sets of ``n`` exponential waiting times each: shape ``(reps, n)``."""
    return rng.exponential(
        1 / positive("true rate", true_rate), size=(sample_size("reps", reps), sample_size("n", n))
    )


def log_evidence(*, x, a, b) -> np.ndarray:
    """Log marginal likelihood of each set of waiting times ``(..., N)``.

    ``a log b - log Gamma(a) + log Gamma(a + N) - (a + N) log(b + S)``, with ``S = sum x``.
    """
    x = waiting_times("x", x)
    a, b = _prior(a, b)
    n = x.shape[-1]
    return a * np.log(b) - special.gammaln(a) + special.gammaln(a + n) - (a + n) * np.log(b + x.sum(axis=-1))
