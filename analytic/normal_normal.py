r"""Normal likelihood with known variance, Normal prior on the mean.

Model::

    x_1..x_N ~ Normal(mu, sigma^2)      sigma^2 = ``noise_var`` (known)
    mu       ~ Normal(nu, beta^2)       nu = ``prior_mean``, beta^2 = ``prior_var``

All arguments are *variances*, not standard deviations. Data ``x`` has shape
``(..., N)``: a leading batch of replications, observations on the last axis; every
result carries the batch shape.

Closed forms::

    MLE              = mean(x)
    posterior        = Normal(mu_N, tau_N^2)
    tau_N^2          = sigma^2 beta^2 / (N beta^2 + sigma^2)
    mu_N = MAP       = (sigma^2 nu + beta^2 sum(x)) / (N beta^2 + sigma^2)
    prior weight w_N = sigma^2 / (N beta^2 + sigma^2),  mu_N = w_N nu + (1 - w_N) mean(x)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analytic.distributions import EstimatorRisk
from analytic.validation import finite, observations, positive, sample_size

PARAMS = ("mu",)


@dataclass(frozen=True)
class NormalDistribution:
    """A (batch of) Normal distribution(s) given by mean and variance."""

    mean: np.ndarray
    var: np.ndarray

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation."""
        return np.sqrt(self.var)

    @property
    def dist(self):
        """The same distribution as a frozen ``scipy.stats.norm``."""
        return stats.norm(loc=self.mean, scale=self.sd)


def _check(x, noise_var, prior_mean, prior_var):
    return (
        observations("x", x),
        positive("noise_var", noise_var),
        finite("prior_mean", prior_mean),
        positive("prior_var", prior_var),
    )


def mle(*, x) -> np.ndarray:
    """Maximum-likelihood estimate of mu: the sample mean over the last axis."""
    return observations("x", x).mean(axis=-1)


def prior_weight(*, n, noise_var, prior_var) -> np.ndarray:
    """Weight w_N of the prior mean in the posterior mean, ``sigma^2 / (N beta^2 + sigma^2)``."""
    n = np.vectorize(lambda v: sample_size("n", v), otypes=[int])(n)
    noise_var = positive("noise_var", noise_var)
    prior_var = positive("prior_var", prior_var)
    return noise_var / (n * prior_var + noise_var)


def posterior(*, x, noise_var, prior_mean, prior_var) -> NormalDistribution:
    """Exact posterior of mu given data ``x`` of shape ``(..., N)``."""
    x, noise_var, prior_mean, prior_var = _check(x, noise_var, prior_mean, prior_var)
    n = x.shape[-1]
    denom = n * prior_var + noise_var
    mean = (noise_var * prior_mean + prior_var * x.sum(axis=-1)) / denom
    var = np.broadcast_to(noise_var * prior_var / denom, mean.shape)
    return NormalDistribution(mean=mean, var=var)


def map_estimate(*, x, noise_var, prior_mean, prior_var) -> np.ndarray:
    """Maximum a posteriori estimate of mu (equal to the posterior mean and mode)."""
    return posterior(x=x, noise_var=noise_var, prior_mean=prior_mean, prior_var=prior_var).mean


def posterior_mode(*, x, noise_var, prior_mean, prior_var) -> np.ndarray:
    """Mode of the posterior density; a Normal posterior is symmetric, so it is the MAP."""
    return map_estimate(x=x, noise_var=noise_var, prior_mean=prior_mean, prior_var=prior_var)


def posterior_predictive(*, x, noise_var, prior_mean, prior_var) -> NormalDistribution:
    """Distribution of a new observation given ``x``: ``Normal(mu_N, tau_N^2 + sigma^2)``."""
    post = posterior(x=x, noise_var=noise_var, prior_mean=prior_mean, prior_var=prior_var)
    return NormalDistribution(mean=post.mean, var=post.var + positive("noise_var", noise_var))


def log_posterior(mu, *, x, noise_var, prior_mean, prior_var) -> np.ndarray:
    """Normalised log posterior density of ``mu`` (broadcast against the batch shape)."""
    post = posterior(x=x, noise_var=noise_var, prior_mean=prior_mean, prior_var=prior_var)
    return post.dist.logpdf(finite("mu", mu))


def mle_risk(*, n, true_mean, noise_var) -> EstimatorRisk:
    """Exact risk of the MLE: unbiased, variance ``sigma^2 / N``."""
    n = np.asarray(n)
    finite("true_mean", true_mean)
    var = positive("noise_var", noise_var) / n
    return EstimatorRisk(bias=np.zeros_like(var), var=var)


def map_risk(*, n, true_mean, noise_var, prior_mean, prior_var) -> EstimatorRisk:
    """Exact risk of the MAP: bias ``w_N (nu - mu)``, variance ``(1 - w_N)^2 sigma^2 / N``."""
    n = np.asarray(n)
    w = prior_weight(n=n, noise_var=noise_var, prior_var=prior_var)
    bias = w * (finite("prior_mean", prior_mean) - finite("true_mean", true_mean))
    return EstimatorRisk(bias=bias, var=(1 - w) ** 2 * positive("noise_var", noise_var) / n)


def interval_coverage(*, n, true_mean, noise_var, prior_mean, prior_var, prob) -> np.ndarray:
    """Frequentist coverage of the central ``prob`` posterior interval for the true mu.

    The interval is ``mu_N +- z tau_N``; over repeated data sets mu_N is Normal with the
    MAP's bias and variance, so coverage is a difference of two Normal CDFs.
    """
    n = np.asarray(n)
    risk = map_risk(n=n, true_mean=true_mean, noise_var=noise_var, prior_mean=prior_mean, prior_var=prior_var)
    tau = np.sqrt(noise_var * prior_var / (n * prior_var + noise_var))
    half = stats.norm.ppf(0.5 + prob / 2) * tau
    sd = np.sqrt(risk.var)
    return stats.norm.cdf((half - risk.bias) / sd) - stats.norm.cdf((-half - risk.bias) / sd)


def simulate(rng: np.random.Generator, *, n: int, reps: int, true_mean, noise_var) -> np.ndarray:
    """Draw ``reps`` data sets of ``n`` observations each: an array of shape ``(reps, n)``."""
    n = sample_size("n", n)
    reps = sample_size("reps", reps)
    sd = np.sqrt(positive("noise_var", noise_var))
    return rng.normal(finite("true_mean", true_mean), sd, size=(reps, n))


def log_evidence(*, x, noise_var, prior_mean, prior_var) -> np.ndarray:
    """Log marginal likelihood ``log p(x) = log int p(x | mu) p(mu) dmu`` of each data set ``(..., N)``.

    ``p(x | mu)`` factors into ``prod_i Normal(x_i | mean(x), sigma^2)`` up to
    ``(2 pi sigma^2 / N)^(1/2) Normal(mean(x) | mu, sigma^2 / N)``, and the mean integrates to
    ``Normal(mean(x) | nu, beta^2 + sigma^2 / N)``.
    """
    x, noise_var, prior_mean, prior_var = _check(x, noise_var, prior_mean, prior_var)
    n, xbar = x.shape[-1], x.mean(axis=-1)
    ss = ((x - xbar[..., None]) ** 2).sum(axis=-1)
    return (
        -0.5 * n * np.log(2 * np.pi * noise_var)
        - ss / (2 * noise_var)
        + 0.5 * np.log(2 * np.pi * noise_var / n)
        + stats.norm.logpdf(xbar, prior_mean, np.sqrt(prior_var + noise_var / n))
    )
