r"""Normal data with unknown mean and variance, Normal-Inverse-Gamma prior.

Model::

    x_1..x_N ~ Normal(mu, sigma2)
    mu | sigma2 ~ Normal(m0, sigma2 / k0),   sigma2 ~ InverseGamma(a0, b0)

Data ``x`` has shape ``(..., N)``; ``xbar`` its mean, ``SS = sum((x - xbar)^2)``::

    posterior   NIG(m_N, k_N, a_N, b_N):  k_N = k0 + N,  m_N = (k0 m0 + N xbar) / k_N,
                a_N = a0 + N / 2,  b_N = b0 + SS / 2 + k0 N (xbar - m0)^2 / (2 k_N)
    marginals   sigma2 ~ InverseGamma(a_N, b_N);  mu ~ Student-t(2 a_N, m_N, b_N / (a_N k_N))
    MLE         mu = xbar,  sigma2 = SS / N    (SS = 0 when N = 1: the likelihood is unbounded
                                               as sigma2 -> 0, so the MLE sits on the boundary)
    MAP         mu = m_N,  sigma2 = b_N / (a_N + 3/2)   (the joint mode of the density in (mu, sigma2))

The answer depends on the parametrisation and on joint versus marginal: the marginal
mode of sigma2 is ``b_N / (a_N + 1)``, not the joint MAP's ``b_N / (a_N + 3/2)``; in log
sigma2 the joint mode would be ``b_N / (a_N + 1/2)``. The prior needs ``a0 > 1.5`` so
that the posterior sd of sigma2 exists at every N >= 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from analytic.distributions import EstimatorRisk
from analytic.validation import finite, observations, positive, sample_size


@dataclass(frozen=True)
class NIG:
    """A (batch of) Normal-Inverse-Gamma posterior(s)."""

    m: np.ndarray
    k: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @property
    def sigma2(self):
        """Marginal of sigma2: a frozen ``scipy.stats.invgamma``."""
        return stats.invgamma(self.a, scale=self.b)

    @property
    def mu(self):
        """Marginal of mu: a frozen ``scipy.stats.t``."""
        return stats.t(2 * self.a, loc=self.m, scale=np.sqrt(self.b / (self.a * self.k)))

    @property
    def map(self) -> tuple[np.ndarray, np.ndarray]:
        """Joint mode of the density in (mu, sigma2)."""
        return self.m, self.b / (self.a + 1.5)

    def logpdf(self, mu, sigma2) -> np.ndarray:
        """Joint log density."""
        return self.sigma2.logpdf(sigma2) + stats.norm.logpdf(mu, self.m, np.sqrt(sigma2 / self.k))


def _prior(m0, k0, a0, b0):
    m0, k0, a0, b0 = (
        finite("prior mean", m0),
        positive("prior k0", k0),
        positive("prior a0", a0),
        positive("prior b0", b0),
    )
    if np.any(a0 <= 1.5):
        raise ValueError(f"prior a0 must be > 1.5 so that the posterior sd of sigma2 exists, got {a0}")
    return m0, k0, a0, b0


def mle(*, x) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood estimates ``(xbar, SS / N)``."""
    x = observations("x", x)
    return x.mean(axis=-1), x.var(axis=-1)


def mle_note(*, x) -> np.ndarray:
    """'' or a note when N = 1 and the variance's MLE sits on the boundary."""
    return np.full(np.shape(x)[:-1], "N = 1: sigma2 MLE 0, on the boundary" if np.shape(x)[-1] == 1 else "")


def posterior(*, x, m0, k0, a0, b0) -> NIG:
    """Exact posterior given ``x`` of shape ``(..., N)``."""
    x = observations("x", x)
    m0, k0, a0, b0 = _prior(m0, k0, a0, b0)
    n, xbar = x.shape[-1], x.mean(axis=-1)
    ss = ((x - xbar[..., None]) ** 2).sum(axis=-1)
    return _update(n, xbar, ss, m0, k0, a0, b0)


def _update(n, xbar, ss, m0, k0, a0, b0) -> NIG:
    """Apply the conjugate update from the sufficient statistics (N, xbar, SS)."""
    k = k0 + n
    b = b0 + ss / 2 + k0 * n * (xbar - m0) ** 2 / (2 * k)
    return NIG(
        m=(k0 * m0 + n * xbar) / k, k=np.broadcast_to(k, b.shape), a=np.broadcast_to(a0 + n / 2, b.shape), b=b
    )


def _b_moments(n, true_mean, true_var, m0, k0, b0):
    """Mean and variance of ``b_N`` over data sets: SS ~ sigma2 chi2(N-1) and xbar independent."""
    k = k0 + n
    c = k0 * n / (2 * k)
    s2, delta = true_var / n, true_mean - m0
    mean = b0 + true_var * (n - 1) / 2 + c * (s2 + delta**2)
    var = true_var**2 * (n - 1) / 2 + c**2 * (2 * s2**2 + 4 * s2 * delta**2)
    return mean, var


def risks(*, n, true_mean, true_var, m0, k0, a0, b0) -> dict[str, tuple[EstimatorRisk, EstimatorRisk]]:
    """Exact (MLE, MAP) risks of mu and sigma2 over repeated data sets, per N."""
    m0, k0, a0, b0 = _prior(m0, k0, a0, b0)
    n = np.asarray(n, dtype=float)
    w = k0 / (k0 + n)
    mu = (
        EstimatorRisk(np.zeros_like(n), true_var / n),
        EstimatorRisk(w * (m0 - true_mean), (1 - w) ** 2 * true_var / n),
    )
    b_mean, b_var = _b_moments(n, true_mean, true_var, m0, k0, b0)
    c = a0 + n / 2 + 1.5
    sigma2 = (
        EstimatorRisk(-true_var / n, 2 * true_var**2 * (n - 1) / n**2),
        EstimatorRisk(b_mean / c - true_var, b_var / c**2),
    )
    return {"mu": mu, "sigma2": sigma2}


def interval_coverage(*, n, true_mean, true_var, m0, k0, a0, b0, prob, sets=200_000) -> dict[str, np.ndarray]:
    """Coverage of the central ``prob`` marginal intervals, over ``sets`` simulated sufficient statistics.

    Not a closed form: the interval's width depends on ``b_N``, which mixes both sufficient
    statistics. ``xbar`` and ``SS`` are drawn exactly (Normal, scaled chi-square) with a
    fixed seed, so the value is exact up to a Monte Carlo se of at most 0.0011.
    """
    m0, k0, a0, b0 = _prior(m0, k0, a0, b0)
    out = {"mu": [], "sigma2": []}
    for size in np.atleast_1d(n).astype(int):
        rng = np.random.default_rng(20_261_124 + size)
        xbar = rng.normal(true_mean, np.sqrt(true_var / size), sets)
        ss = true_var * rng.chisquare(size - 1, sets) if size > 1 else np.zeros(sets)
        post = _update(size, xbar, ss, m0, k0, a0, b0)
        a = a0 + size / 2  # the same for every data set: one quantile serves them all
        t_q = stats.t.ppf(0.5 + prob / 2, 2 * a)
        out["mu"].append((np.abs(true_mean - post.m) <= t_q * np.sqrt(post.b / (a * post.k))).mean())
        # the InverseGamma(a, b) quantile q is b over the Gamma(a, 1) quantile 1 - q
        lo, hi = post.b / stats.gamma.ppf(0.5 + prob / 2, a), post.b / stats.gamma.ppf(0.5 - prob / 2, a)
        out["sigma2"].append(((lo <= true_var) & (true_var <= hi)).mean())
    return {k: np.reshape(v, np.shape(n)) for k, v in out.items()}


def simulate(rng: np.random.Generator, *, n: int, reps: int, true_mean, true_var) -> np.ndarray:
    """Draw ``reps`` data sets of ``n`` observations each: shape ``(reps, n)``."""
    size = (sample_size("reps", reps), sample_size("n", n))
    return rng.normal(finite("true mean", true_mean), np.sqrt(positive("true variance", true_var)), size=size)


def log_evidence(*, x, m0, k0, a0, b0) -> np.ndarray:
    """Log marginal likelihood of each data set ``(..., N)`` under the NIG prior.

    ``log Gamma(a_N) - log Gamma(a0) + a0 log b0 - a_N log b_N + (1/2) log(k0 / k_N) - (N/2) log(2 pi)``.
    """
    post = posterior(x=x, m0=m0, k0=k0, a0=a0, b0=b0)
    n = np.shape(x)[-1]
    return (
        special.gammaln(post.a)
        - special.gammaln(a0)
        + a0 * np.log(b0)
        - post.a * np.log(post.b)
        + 0.5 * np.log(k0 / post.k)
        - 0.5 * n * np.log(2 * np.pi)
    )
