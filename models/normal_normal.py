"""The Normal-Normal model in PyMC, batched over sample sizes and replications (see models.batched)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pymc as pm

from analytic import normal_normal as nn
from analytic.distributions import no_coverage, risk_columns, summary_columns
from analytic.validation import finite, positive
from models.batched import batched_model


@dataclass(frozen=True)
class Settings:
    """Truth and prior of the Normal-Normal experiment; all spreads are variances."""

    true_mean: float = 2.0
    noise_var: float = 5.0
    prior_mean: float = 1.0
    prior_var: float = 2.0

    def __post_init__(self) -> None:
        finite("true mean", self.true_mean)
        positive("noise variance", self.noise_var)
        finite("prior mean", self.prior_mean)
        positive("prior variance", self.prior_var)

    @property
    def truth(self) -> dict[str, float]:
        """True parameter values, keyed by parameter name."""
        return {"mu": self.true_mean}

    @property
    def prior(self) -> dict[str, float]:
        """Closed-form keyword arguments shared by the analytic functions."""
        return {
            "noise_var": self.noise_var,
            "prior_mean": self.prior_mean,
            "prior_var": self.prior_var,
        }


def build_model(datasets: Mapping[int, np.ndarray], settings: Settings) -> pm.Model:
    """Build one PyMC model for all data sets: ``mu`` with dims ``("n", "rep")``, ``xbar_n{N}`` observed.

    The N observations enter through their mean, the sufficient statistic:
    ``sum_i log Normal(x_i | mu, sigma^2)`` and ``log Normal(mean(x) | mu, sigma^2 / N)``
    differ by a term free of ``mu``, so the posterior is the same, and so are the
    gradients a sampler follows and its acceptance decisions (they see differences of the
    log density). Each log-density evaluation then costs 60 terms instead of 22,200 on the
    default study (5.6 against 27 microseconds). The mean is an expression of the data
    container, folded into a constant when the model is frozen for sampling.

    The spreads are variances; PyMC's Normal takes standard deviations.
    """
    return batched_model(
        datasets,
        prior=lambda dims: pm.Normal(
            "mu", mu=settings.prior_mean, sigma=np.sqrt(settings.prior_var), dims=dims
        ),
        likelihood=lambda name, mu, x, dims, n: pm.Normal(
            f"xbar_n{n}", mu=mu, sigma=np.sqrt(settings.noise_var / n), observed=x.mean(axis=1), dims="rep"
        ),
    )


def exact_summaries(x: np.ndarray, settings: Settings) -> dict[str, dict[str, np.ndarray]]:
    """Closed-form summaries of each data set in ``x`` (shape ``(reps, N)``), per parameter."""
    post = nn.posterior(x=x, **settings.prior)
    return {
        "mu": summary_columns(
            true_value=settings.true_mean,
            mle=nn.mle(x=x),
            map_exact=nn.map_estimate(x=x, **settings.prior),
            post_mean=post.mean,
            post_sd=post.sd,
            prior_weight=nn.prior_weight(
                n=x.shape[-1], noise_var=settings.noise_var, prior_var=settings.prior_var
            ),
        )
    }


def simulate(rng: np.random.Generator, *, n: int, reps: int, settings: Settings) -> np.ndarray:
    """Draw ``reps`` data sets of size ``n`` from the true model, shape ``(reps, n)``."""
    return nn.simulate(rng, n=n, reps=reps, true_mean=settings.true_mean, noise_var=settings.noise_var)


def draw_prior(rng: np.random.Generator, settings: Settings, size: int) -> dict[str, np.ndarray]:
    """Draw ``size`` parameter values from the prior, ``{variable: (size, ...)}``."""
    return {"mu": rng.normal(settings.prior_mean, np.sqrt(settings.prior_var), size=size)}


def simulate_given(rng: np.random.Generator, theta: Mapping[str, np.ndarray], *, n: int, settings: Settings):
    """Draw one data set of size ``n`` at parameter values ``theta``, shape ``(n, ...)``."""
    return nn.simulate(rng, n=n, reps=1, true_mean=float(theta["mu"]), noise_var=settings.noise_var)[0]


def log_likelihood(theta: Mapping[str, np.ndarray], x: np.ndarray, settings: Settings) -> np.ndarray:
    """Return the log-likelihood of the data set ``x`` at each of the ``S`` values in ``theta``: ``(S,)``."""
    n, xbar = len(x), float(np.mean(x))
    ss = float(np.sum((x - xbar) ** 2))
    mu = np.asarray(theta["mu"], dtype=float)
    v = settings.noise_var
    return -0.5 * n * np.log(2 * np.pi * v) - (ss + n * (xbar - mu) ** 2) / (2 * v)


def densities(x: np.ndarray, settings: Settings) -> dict[str, dict[str, object]]:
    """Prior, normalised likelihood and exact posterior of ``mu`` for one data set ``x``.

    Each is a frozen ``scipy.stats`` distribution; the likelihood of mu, normalised, is
    ``Normal(mean(x), sigma^2 / N)``.
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    return {
        "mu": {
            "prior": nn.NormalDistribution(settings.prior_mean, settings.prior_var).dist,
            "likelihood": nn.NormalDistribution(nn.mle(x=x), settings.noise_var / n).dist,
            "posterior": nn.posterior(x=x, **settings.prior).dist,
        }
    }


def risks(n, settings: Settings, *, prob: float | None) -> dict[str, dict[str, np.ndarray]]:
    """Exact sampling bias, variance and MSE of MLE and MAP, and interval coverage, per N."""
    mle = nn.mle_risk(n=n, true_mean=settings.true_mean, noise_var=settings.noise_var)
    map_ = nn.map_risk(n=n, true_mean=settings.true_mean, **settings.prior)
    coverage = no_coverage(n)  # prob None: the MSE only
    if prob is not None:
        coverage = nn.interval_coverage(n=n, true_mean=settings.true_mean, prob=prob, **settings.prior)
    return {"mu": risk_columns(mle, map_, coverage)}


def log_evidence(x: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact log marginal likelihood of each data set in ``x`` (``(reps, N, ...)``): ``(reps,)``."""
    return nn.log_evidence(x=x, **settings.prior)


def gaussian_prior(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Return the prior of ``mu`` as a 1-dimensional Gaussian: mean ``(1,)``, covariance ``(1, 1)``."""
    return np.array([settings.prior_mean]), np.array([[settings.prior_var]])


def gaussian_posterior(x: np.ndarray, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Return the exact posterior of ``mu`` given one data set ``x`` (``(N,)``): mean and covariance."""
    post = nn.posterior(x=x, **settings.prior)
    return np.array([float(post.mean)]), np.array([[float(post.var)]])


def likelihood_offset(x: np.ndarray, settings: Settings) -> np.ndarray:
    """Return the full-data log-likelihood minus the model's (of the mean) for each data set ``(reps, N)``.

    ``sum_i log Normal(x_i | mu, s2) - log Normal(mean(x) | mu, s2 / N)
    = -N/2 log(2 pi s2) - SS / (2 s2) + 1/2 log(2 pi s2 / N)``, free of ``mu``: what turns the
    model's evidence into the data's.
    """
    x = np.asarray(x, dtype=float)
    n, v = x.shape[-1], settings.noise_var
    ss = ((x - x.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    return -0.5 * n * np.log(2 * np.pi * v) - ss / (2 * v) + 0.5 * np.log(2 * np.pi * v / n)
