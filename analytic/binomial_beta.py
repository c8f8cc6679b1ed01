r"""Bernoulli (binary) data, Beta prior on the success probability.

Model::

    x_1..x_N ~ Bernoulli(p)          (binary data; its log likelihood is minus the
    p        ~ Beta(a, b)             binary cross-entropy of the data against p)

Data ``x`` has shape ``(..., N)`` with entries 0 or 1; ``s = sum(x)``. Closed forms::

    MLE              = s / N            (0 or 1, on the boundary, when s = 0 or s = N)
    posterior        = Beta(a + s, b + N - s)
    posterior mean   = (a + s) / (a + b + N) = w_N a / (a + b) + (1 - w_N) s / N
    prior weight w_N = (a + b) / (a + b + N)
    MAP              = (a + s - 1) / (a + b + N - 2)   (the mode of the density in p)

The MAP is the mode of the posterior density *in p*; in the log-odds it would be
``(a + s) / (a + b + N)``, the posterior mean. Every proper prior (``a, b > 0``) is
accepted, Jeffreys' Beta(1/2, 1/2) included. When a posterior shape is below 1 (no
successes under ``a < 1``, or no failures under ``b < 1``) the posterior density is
unbounded at that end and the MAP is the boundary value 0 or 1, with a note
(``map_note``), as the MLE gets one; with ``N >= 1`` at most one end can be unbounded.
With ``a = 1`` and no successes the MAP is 0 too, where the density is finite.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from analytic.distributions import BetaDistribution, EstimatorRisk
from analytic.validation import observations, positive, sample_size


def binary(name: str, x) -> np.ndarray:
    """Return ``x`` as a float array of 0s and 1s with at least one observation, or raise."""
    x = observations(name, x)
    if not np.all((x == 0) | (x == 1)):
        raise ValueError(f"{name} must hold only 0 and 1")
    return x


def _prior(a, b):
    return positive("prior a", a), positive("prior b", b)


def mle(*, x) -> np.ndarray:
    """Maximum-likelihood estimate of p: the share of successes (0 or 1 on the boundary)."""
    return binary("x", x).mean(axis=-1)


def mle_note(*, x) -> np.ndarray:
    """Why the MLE sits where it does, per data set: '' or a note on the boundary."""
    s, n = binary("x", x).sum(axis=-1), np.shape(x)[-1]
    return np.where(
        s == 0,
        "no successes: MLE 0, on the boundary",
        np.where(s == n, "all successes: MLE 1, on the boundary", ""),
    )


def map_note(*, x, a, b) -> np.ndarray:
    """'' or a note when the MAP sits on the boundary because a posterior shape is below 1."""
    post = posterior(x=x, a=a, b=b)
    return np.where(
        post.a < 1,
        "a + s < 1: posterior density unbounded at 0; MAP 0, on the boundary",
        np.where(post.b < 1, "b + N - s < 1: posterior density unbounded at 1; MAP 1, on the boundary", ""),
    )


def prior_weight(*, n, a, b) -> np.ndarray:
    """Weight of the prior mean in the posterior mean, ``(a + b) / (a + b + N)``."""
    n = np.vectorize(lambda v: sample_size("n", v), otypes=[int])(n)
    a, b = _prior(a, b)
    return (a + b) / (a + b + n)


def posterior(*, x, a, b) -> BetaDistribution:
    """Exact posterior of p given binary data ``x`` of shape ``(..., N)``."""
    x = binary("x", x)
    a, b = _prior(a, b)
    s = x.sum(axis=-1)
    return BetaDistribution(a=a + s, b=b + x.shape[-1] - s)


def map_estimate(*, x, a, b) -> np.ndarray:
    """Maximum a posteriori estimate of p: the mode of the Beta posterior density in p."""
    return posterior(x=x, a=a, b=b).mode


def posterior_mode(*, x, a, b) -> np.ndarray:
    """Mode of the posterior density of p (the MAP)."""
    return map_estimate(x=x, a=a, b=b)


def posterior_predictive(*, x, a, b) -> np.ndarray:
    """Probability that a new observation is 1: the posterior mean."""
    return posterior(x=x, a=a, b=b).mean


def log_posterior(p, *, x, a, b) -> np.ndarray:
    """Normalised log posterior density of ``p``."""
    return posterior(x=x, a=a, b=b).dist.logpdf(p)


def mle_risk(*, n, true_p) -> EstimatorRisk:
    """Exact risk of the MLE: unbiased, variance ``p (1 - p) / N``."""
    n = np.asarray(n, dtype=float)
    return EstimatorRisk(bias=np.zeros_like(n), var=true_p * (1 - true_p) / n)


def map_risk(*, n, true_p, a, b) -> EstimatorRisk:
    """Exact risk of the MAP ``(a - 1 + s) / (a + b - 2 + N)``, linear in ``s ~ Binomial(N, p)``.

    With a prior shape below 1 the MAP is clipped to the boundary for some ``s``; its
    moments are then a sum over ``s``.
    """
    a, b = _prior(a, b)
    if np.all(a >= 1) and np.all(b >= 1):
        n = np.asarray(n, dtype=float)
        denom = a + b - 2 + n
        return EstimatorRisk(
            bias=(a - 1 + n * true_p) / denom - true_p, var=n * true_p * (1 - true_p) / denom**2
        )
    bias, var = [], []
    for size in np.atleast_1d(n).astype(int):
        s = np.arange(size + 1)
        weight = stats.binom(size, true_p).pmf(s)
        mode = BetaDistribution(a=a + s, b=b + size - s).mode
        mean = np.sum(weight * mode)
        bias.append(mean - true_p)
        var.append(np.sum(weight * (mode - mean) ** 2))
    shape = np.shape(n)
    return EstimatorRisk(bias=np.reshape(bias, shape), var=np.reshape(var, shape))


def interval_coverage(*, n, true_p, a, b, prob) -> np.ndarray:
    """Exact frequentist coverage of the central ``prob`` posterior interval: a sum over s."""
    a, b = _prior(a, b)
    out = []
    for size in np.atleast_1d(n).astype(int):
        count = stats.binom(size, true_p)
        s = np.arange(count.ppf(1e-12), count.isf(1e-12) + 1)  # all but 2e-12 of the mass
        post = stats.beta(a + s, b + size - s)
        lo, hi = post.ppf(0.5 - prob / 2), post.ppf(0.5 + prob / 2)
        out.append(count.pmf(s)[(lo <= true_p) & (true_p <= hi)].sum())
    return np.asarray(out).reshape(np.shape(n))


def simulate(rng: np.random.Generator, *, n: int, reps: int, true_p) -> np.ndarray:
    """Draw ``reps`` binary data sets of ``n`` observations each: shape ``(reps, n)``."""
    return rng.binomial(1, true_p, size=(sample_size("reps", reps), sample_size("n", n))).astype(float)


def log_evidence(*, x, a, b) -> np.ndarray:
    """Log marginal likelihood of each 0/1 sequence ``(..., N)``: ``log B(a+s, b+N-s) - log B(a, b)``."""
    x = binary("x", x)
    a, b = _prior(a, b)
    s, n = x.sum(axis=-1), x.shape[-1]
    return special.betaln(a + s, b + n - s) - special.betaln(a, b)
