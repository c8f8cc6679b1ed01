"""Normal data with unknown mean and variance, Normal-Inverse-Gamma prior, in PyMC, batched.

Two parameters, ``mu`` and ``sigma2``, each with dims ``("n", "rep")``; each is one row
of the study, compared with its exact marginal (Student-t and Inverse-Gamma).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy import stats

from analytic import normal_inverse_gamma as nig
from analytic.distributions import no_coverage, risk_columns, summary_columns
from analytic.unconstrained import LogNormalInverseGamma
from analytic.validation import finite, positive
from models.batched import batched_model


@dataclass(frozen=True)
class Settings:
    """Truth and prior: data Normal(true_mean, true_var), prior NIG(prior_mean, k0, a0, b0)."""

    true_mean: float = 2.0
    true_var: float = 5.0
    prior_mean: float = 0.0
    prior_k0: float = 1.0
    prior_a0: float = 3.0
    prior_b0: float = 8.0

    def __post_init__(self) -> None:
        finite("true mean", self.true_mean)
        positive("true variance", self.true_var)
        nig.risks(n=1, true_mean=self.true_mean, true_var=self.true_var, **self.prior)  # validates the prior

    @property
    def truth(self) -> dict[str, float]:
        """True parameter values, keyed by parameter name."""
        return {"mu": self.true_mean, "sigma2": self.true_var}

    @property
    def prior(self) -> dict[str, float]:
        """Closed-form keyword arguments shared by the analytic functions."""
        return {"m0": self.prior_mean, "k0": self.prior_k0, "a0": self.prior_a0, "b0": self.prior_b0}


def build_model(datasets: Mapping[int, np.ndarray], settings: Settings) -> pm.Model:
    """``mu`` and ``sigma2`` with dims ``("n", "rep")``; a Normal ``x_n{N}`` per sample size."""

    def prior(dims):
        sigma2 = pm.InverseGamma("sigma2", alpha=settings.prior_a0, beta=settings.prior_b0, dims=dims)
        mu = pm.Normal(
            "mu", mu=settings.prior_mean, sigma=pm.math.sqrt(sigma2 / settings.prior_k0), dims=dims
        )
        return mu, sigma2

    return batched_model(
        datasets,
        prior=prior,
        likelihood=lambda name, theta, x, dims, n: pm.Normal(
            name, mu=theta[0][:, None], sigma=pm.math.sqrt(theta[1])[:, None], observed=x, dims=dims
        ),
    )


def exact_summaries(x: np.ndarray, settings: Settings) -> dict[str, dict[str, np.ndarray]]:
    """Closed-form summaries of each data set in ``x`` (shape ``(reps, N)``), per parameter.

    ``map_exact`` is the joint MAP; ``mode_exact`` each parameter's marginal mode (what the
    half-sample mode of its draws estimates); they differ for sigma2.
    """
    post = nig.posterior(x=x, **settings.prior)
    mle_mu, mle_var = nig.mle(x=x)
    map_mu, map_var = post.map
    note = nig.mle_note(x=x)
    n = x.shape[-1]
    return {
        "mu": summary_columns(
            true_value=settings.true_mean,
            mle=mle_mu,
            mle_note="",
            map_exact=map_mu,
            mode_exact=post.m,
            post_mean=post.mu.mean(),
            post_sd=post.mu.std(),
            prior_weight=settings.prior_k0 / (settings.prior_k0 + n),
        ),
        "sigma2": summary_columns(
            true_value=settings.true_var,
            mle=mle_var,
            mle_note=note,
            map_exact=map_var,
            mode_exact=post.b / (post.a + 1),
            post_mean=post.sigma2.mean(),
            post_sd=post.sigma2.std(),
            prior_weight=settings.prior_a0 / (settings.prior_a0 + n / 2),
        ),
    }


def simulate(rng: np.random.Generator, *, n: int, reps: int, settings: Settings) -> np.ndarray:
    """Draw ``reps`` data sets of size ``n``, shape ``(reps, n)``."""
    return nig.simulate(rng, n=n, reps=reps, true_mean=settings.true_mean, true_var=settings.true_var)


def draw_prior(rng: np.random.Generator, settings: Settings, size: int) -> dict[str, np.ndarray]:
    """Draw ``size`` parameter values from the prior, ``{variable: (size, ...)}``."""
    sigma2 = settings.prior_b0 / rng.gamma(settings.prior_a0, size=size)
    mu = rng.normal(settings.prior_mean, np.sqrt(sigma2 / settings.prior_k0))
    return {"mu": mu, "sigma2": sigma2}


def simulate_given(rng: np.random.Generator, theta: Mapping[str, np.ndarray], *, n: int, settings: Settings):
    """Draw one data set of size ``n`` at parameter values ``theta``, shape ``(n, ...)``."""
    return nig.simulate(rng, n=n, reps=1, true_mean=float(theta["mu"]), true_var=float(theta["sigma2"]))[0]


def log_likelihood(theta: Mapping[str, np.ndarray], x: np.ndarray, settings: Settings) -> np.ndarray:
    """Return the log-likelihood of the data set ``x`` at each of the ``S`` values in ``theta``: ``(S,)``."""
    n, xbar = len(x), float(np.mean(x))
    ss = float(np.sum((x - xbar) ** 2))
    mu, v = np.asarray(theta["mu"], dtype=float), np.asarray(theta["sigma2"], dtype=float)
    return -0.5 * n * np.log(2 * np.pi * v) - (ss + n * (xbar - mu) ** 2) / (2 * v)


def densities(x: np.ndarray, settings: Settings) -> dict[str, dict[str, object]]:
    """Per parameter: prior and exact posterior marginals, and a normalised likelihood for plots.

    The likelihood of mu is drawn with sigma2 at its posterior marginal mode, that of
    sigma2 with mu at the sample mean (an Inverse-Gamma in sigma2, flat when N <= 2).
    """
    x = np.asarray(x, dtype=float)
    s = settings
    post = nig.posterior(x=x, **s.prior)
    n, (xbar, var) = x.shape[-1], nig.mle(x=x)
    prior = nig.NIG(m=s.prior_mean, k=s.prior_k0, a=s.prior_a0, b=s.prior_b0)
    return {
        "mu": {
            "prior": prior.mu,
            "likelihood": stats.norm(xbar, np.sqrt(post.b / (post.a + 1) / n)),
            "posterior": post.mu,
        },
        "sigma2": {
            "prior": prior.sigma2,
            "likelihood": stats.invgamma(max(n / 2 - 1, 0.5), scale=np.maximum(n * var / 2, 1e-12)),
            "posterior": post.sigma2,
        },
    }


def risks(n, settings: Settings, *, prob: float | None) -> dict[str, dict[str, np.ndarray]]:
    """Exact bias, variance and MSE of MLE and MAP per parameter; coverage from sufficient statistics."""
    truth = {"true_mean": settings.true_mean, "true_var": settings.true_var}
    risk = nig.risks(n=n, **truth, **settings.prior)
    if prob is None:
        coverage = {name: no_coverage(n) for name in ("mu", "sigma2")}
    else:
        coverage = nig.interval_coverage(n=n, prob=prob, **truth, **settings.prior)
    return {name: risk_columns(*risk[name], coverage[name]) for name in ("mu", "sigma2")}


def log_posterior(values: Mapping[str, np.ndarray], x: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact joint log posterior of ``values["mu"]`` and ``values["sigma2"]`` (``(reps,)`` each)."""
    return nig.posterior(x=x, **settings.prior).logpdf(values["mu"], values["sigma2"])


def draw_posterior(
    rng: np.random.Generator, x: np.ndarray, settings: Settings, size: int = 1
) -> dict[str, np.ndarray]:
    """``size`` exact joint draws per data set: sigma2 from its Inverse-Gamma, mu given sigma2 Normal.

    Returns ``{"mu": (size, reps), "sigma2": (size, reps)}``.
    """
    post = nig.posterior(x=x, **settings.prior)
    shape = (size, *np.shape(post.m))
    sigma2 = post.b / rng.gamma(post.a, 1.0, size=shape)
    return {"mu": rng.normal(post.m, np.sqrt(sigma2 / post.k)), "sigma2": sigma2}


def log_evidence(x: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact log marginal likelihood of each data set in ``x`` (``(reps, N, ...)``): ``(reps,)``."""
    return nig.log_evidence(x=x, **settings.prior)


def unconstrained_posterior(x: np.ndarray, settings: Settings) -> LogNormalInverseGamma:
    """One data set's (``(N,)``) exact posterior on PyMC's unconstrained space, ``(log sigma2, mu)``."""
    post = nig.posterior(x=x, **settings.prior)
    return LogNormalInverseGamma(m=float(post.m), k=float(post.k), a=float(post.a), b=float(post.b))
