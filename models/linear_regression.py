"""Linear regression with known noise variance and a Normal prior on the coefficients, in PyMC, batched.

``beta`` has dims ``("n", "rep", "coef")``; each coefficient is one row of the study
(``beta[0]`` the intercept, ``beta[1]`` the slope, ...), compared with its exact Normal
marginal. The design for each N is fixed (``analytic.linear_regression.design``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy import stats

from analytic import linear_regression as lr
from analytic.distributions import risk_columns, summary_columns
from analytic.validation import finite, positive, sample_size
from models.batched import batched_model


@dataclass(frozen=True)
class Settings:
    """Truth and prior: p ``coefficients``, true beta_k = true_scale (-1/2)^k.

    The prior is Normal(prior_mean, prior_var I) on the coefficients; the noise variance is known.
    """

    coefficients: float = 2
    true_scale: float = 1.0
    noise_var: float = 1.0
    prior_mean: float = 0.0
    prior_var: float = 1.0

    def __post_init__(self) -> None:
        sample_size("coefficients", self.coefficients)
        finite("true scale", self.true_scale)
        positive("noise variance", self.noise_var)
        finite("prior mean", self.prior_mean)
        positive("prior variance", self.prior_var)

    @property
    def p(self) -> int:
        """Number of coefficients, as an int."""
        return int(self.coefficients)

    @property
    def true_beta(self) -> np.ndarray:
        """True coefficients."""
        return self.true_scale * (-0.5) ** np.arange(self.p)

    @property
    def truth(self) -> dict[str, float]:
        """True value of each coefficient, keyed by its label."""
        return {f"beta[{k}]": float(b) for k, b in enumerate(self.true_beta)}

    @property
    def prior(self) -> dict[str, float]:
        """Closed-form keyword arguments shared by the analytic functions."""
        return {"noise_var": self.noise_var, "prior_mean": self.prior_mean, "prior_var": self.prior_var}


def components(settings: Settings) -> dict[str, tuple[str, dict[str, int]]]:
    """One label per coefficient."""
    return {f"beta[{k}]": ("beta", {"coef": k}) for k in range(settings.p)}


def build_model(datasets: Mapping[int, np.ndarray], settings: Settings) -> pm.Model:
    """``beta`` with dims ``("n", "rep", "coef")`` and a Normal response ``x_n{N}`` per size."""
    p = settings.p
    return batched_model(
        datasets,
        prior=lambda dims: pm.MvNormal(
            "beta", mu=np.full(p, settings.prior_mean), cov=settings.prior_var * np.eye(p), dims=dims
        ),
        likelihood=lambda name, beta, y, dims, n: pm.Normal(
            name, mu=beta @ lr.design(n, p).T, sigma=np.sqrt(settings.noise_var), observed=y, dims=dims
        ),
        coords={"coef": np.arange(p)},
        param_dims=("coef",),
    )


def exact_summaries(y: np.ndarray, settings: Settings) -> dict[str, dict[str, np.ndarray]]:
    """Closed-form summaries of each data set in ``y`` (shape ``(reps, N)``), per coefficient."""
    p = settings.p
    mean, cov = lr.posterior(y=y, p=p, **settings.prior)
    mle, note = lr.mle(y=y, p=p), lr.mle_note(y=y, p=p)
    weight = lr.prior_weight(n=y.shape[-1], p=p, noise_var=settings.noise_var, prior_var=settings.prior_var)
    return {
        label: summary_columns(
            true_value=truth,
            mle=mle[:, k],
            mle_note=note,
            map_exact=mean[:, k],
            post_mean=mean[:, k],
            post_sd=np.sqrt(cov[k, k]),
            prior_weight=weight,
        )
        for k, (label, truth) in enumerate(settings.truth.items())
    }


def simulate(rng: np.random.Generator, *, n: int, reps: int, settings: Settings) -> np.ndarray:
    """Draw ``reps`` response vectors of size ``n``, shape ``(reps, n)``."""
    return lr.simulate(rng, n=n, reps=reps, true_beta=settings.true_beta, noise_var=settings.noise_var)


def draw_prior(rng: np.random.Generator, settings: Settings, size: int) -> dict[str, np.ndarray]:
    """Draw ``size`` parameter values from the prior, ``{variable: (size, ...)}``."""
    return {"beta": rng.normal(settings.prior_mean, np.sqrt(settings.prior_var), size=(size, settings.p))}


def simulate_given(rng: np.random.Generator, theta: Mapping[str, np.ndarray], *, n: int, settings: Settings):
    """Draw one data set of size ``n`` at parameter values ``theta``, shape ``(n, ...)``."""
    beta = np.asarray(theta["beta"], dtype=float)
    return lr.simulate(rng, n=n, reps=1, true_beta=beta, noise_var=settings.noise_var)[0]


def log_likelihood(theta: Mapping[str, np.ndarray], x: np.ndarray, settings: Settings) -> np.ndarray:
    """Return the log-likelihood of the data set ``x`` at each of the ``S`` values in ``theta``: ``(S,)``."""
    y = np.asarray(x, dtype=float)
    design = lr.design(len(y), settings.p)
    resid = y[None, :] - np.asarray(theta["beta"], dtype=float) @ design.T
    v = settings.noise_var
    return -0.5 * len(y) * np.log(2 * np.pi * v) - np.sum(resid**2, axis=1) / (2 * v)


def densities(y: np.ndarray, settings: Settings) -> dict[str, dict[str, object]]:
    """Per coefficient: prior, normalised likelihood (least squares, where unique) and exact posterior."""
    y = np.asarray(y, dtype=float)
    p, n = settings.p, y.shape[-1]
    mean, cov = lr.posterior(y=y, p=p, **settings.prior)
    x = lr.design(n, p)
    ls_cov = settings.noise_var * np.linalg.pinv(x.T @ x)
    mle = lr.mle(y=y, p=p)
    return {
        label: {
            "prior": stats.norm(settings.prior_mean, np.sqrt(settings.prior_var)),
            "likelihood": stats.norm(mle[..., k], np.sqrt(max(ls_cov[k, k], 1e-300))),
            "posterior": stats.norm(mean[..., k], np.sqrt(cov[k, k])),
        }
        for k, label in enumerate(settings.truth)
    }


def risks(n, settings: Settings, *, prob: float | None) -> dict[str, dict[str, np.ndarray]]:
    """Exact sampling bias, variance and MSE of MLE and MAP, and coverage, per coefficient (fixed design)."""
    per = lr.risks(n=n, p=settings.p, true_beta=settings.true_beta, prob=prob, **settings.prior)
    return {label: risk_columns(*per[k]) for k, label in enumerate(settings.truth)}


def log_posterior(values: Mapping[str, np.ndarray], y: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact joint log posterior of ``values["beta"]`` (``(reps, p)``) for responses ``y`` (``(reps, N)``)."""
    mean, cov = lr.posterior(y=y, p=settings.p, **settings.prior)
    return stats.multivariate_normal(np.zeros(settings.p), cov).logpdf(values["beta"] - mean)


def draw_posterior(
    rng: np.random.Generator, y: np.ndarray, settings: Settings, size: int = 1
) -> dict[str, np.ndarray]:
    """``size`` exact joint draws of the coefficients per data set: ``{"beta": (size, reps, p)}``."""
    mean, cov = lr.posterior(y=y, p=settings.p, **settings.prior)
    z = rng.standard_normal((size, *mean.shape))
    return {"beta": mean + z @ np.linalg.cholesky(cov).T}


def log_evidence(x: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact log marginal likelihood of each data set in ``x`` (``(reps, N, ...)``): ``(reps,)``."""
    return lr.log_evidence(y=x, p=settings.p, **settings.prior)


def gaussian_prior(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Return the prior of the coefficients: mean ``(p,)`` and covariance ``(p, p)``."""
    return np.full(settings.p, float(settings.prior_mean)), settings.prior_var * np.eye(settings.p)


def gaussian_posterior(x: np.ndarray, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Return the exact posterior of the coefficients given one response vector ``x`` (``(N,)``)."""
    return lr.posterior(y=x, p=settings.p, **settings.prior)
