"""Binary data with a Beta prior, in PyMC, batched over sample sizes and replications."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy import stats

from analytic import binomial_beta as bb
from analytic.distributions import no_coverage, risk_columns, summary_columns
from analytic.validation import positive
from models.batched import batched_model


@dataclass(frozen=True)
class Settings:
    """Truth and prior: data Bernoulli(true_p), prior Beta(prior_a, prior_b), any a, b > 0."""

    true_p: float = 0.3
    prior_a: float = 2.0
    prior_b: float = 2.0

    def __post_init__(self) -> None:
        p = float(positive("true p", self.true_p))
        if not p < 1:
            raise ValueError(f"true p must be < 1, got {self.true_p!r}")
        bb.prior_weight(n=1, a=self.prior_a, b=self.prior_b)  # validates the prior

    @property
    def truth(self) -> dict[str, float]:
        """True parameter values, keyed by parameter name."""
        return {"p": self.true_p}

    @property
    def prior(self) -> dict[str, float]:
        """Closed-form keyword arguments shared by the analytic functions."""
        return {"a": self.prior_a, "b": self.prior_b}


def build_model(datasets: Mapping[int, np.ndarray], settings: Settings) -> pm.Model:
    """``p`` with dims ``("n", "rep")`` and a Bernoulli ``x_n{N}`` per sample size."""
    return batched_model(
        datasets,
        prior=lambda dims: pm.Beta("p", alpha=settings.prior_a, beta=settings.prior_b, dims=dims),
        likelihood=lambda name, p, x, dims, n: pm.Bernoulli(name, p=p[:, None], observed=x, dims=dims),
        dtype="int64",
    )


def exact_summaries(x: np.ndarray, settings: Settings) -> dict[str, dict[str, np.ndarray]]:
    """Closed-form summaries of each data set in ``x`` (shape ``(reps, N)``)."""
    post = bb.posterior(x=x, **settings.prior)
    return {
        "p": summary_columns(
            true_value=settings.true_p,
            mle=bb.mle(x=x),
            mle_note=bb.mle_note(x=x),
            map_note=bb.map_note(x=x, **settings.prior),
            map_exact=post.mode,
            post_mean=post.mean,
            post_sd=post.sd,
            prior_weight=bb.prior_weight(n=x.shape[-1], **settings.prior),
        )
    }


def simulate(rng: np.random.Generator, *, n: int, reps: int, settings: Settings) -> np.ndarray:
    """Draw ``reps`` binary data sets of size ``n``, shape ``(reps, n)``."""
    return bb.simulate(rng, n=n, reps=reps, true_p=settings.true_p)


def draw_prior(rng: np.random.Generator, settings: Settings, size: int) -> dict[str, np.ndarray]:
    """Draw ``size`` parameter values from the prior, ``{variable: (size, ...)}``."""
    return {"p": rng.beta(settings.prior_a, settings.prior_b, size=size)}


def simulate_given(rng: np.random.Generator, theta: Mapping[str, np.ndarray], *, n: int, settings: Settings):
    """Draw one data set of size ``n`` at parameter values ``theta``, shape ``(n, ...)``."""
    return bb.simulate(rng, n=n, reps=1, true_p=float(theta["p"]))[0]


def log_likelihood(theta: Mapping[str, np.ndarray], x: np.ndarray, settings: Settings) -> np.ndarray:
    """Return the log-likelihood of the data set ``x`` at each of the ``S`` values in ``theta``: ``(S,)``."""
    s, n = float(np.sum(x)), len(x)
    p = np.asarray(theta["p"], dtype=float)
    return s * np.log(p) + (n - s) * np.log1p(-p)


def densities(x: np.ndarray, settings: Settings) -> dict[str, dict[str, object]]:
    """Prior, normalised likelihood ``Beta(s + 1, N - s + 1)`` and exact posterior of ``p``."""
    x = bb.binary("x", x)
    s, n = x.sum(axis=-1), x.shape[-1]
    return {
        "p": {
            "prior": stats.beta(settings.prior_a, settings.prior_b),
            "likelihood": stats.beta(s + 1, n - s + 1),
            "posterior": bb.posterior(x=x, **settings.prior).dist,
        }
    }


def risks(n, settings: Settings, *, prob: float | None) -> dict[str, dict[str, np.ndarray]]:
    """Exact sampling bias, variance and MSE of MLE and MAP, and interval coverage, per N."""
    mle = bb.mle_risk(n=n, true_p=settings.true_p)
    map_ = bb.map_risk(n=n, true_p=settings.true_p, **settings.prior)
    coverage = no_coverage(n)  # prob None: the MSE only
    if prob is not None:
        coverage = bb.interval_coverage(n=n, true_p=settings.true_p, prob=prob, **settings.prior)
    return {"p": risk_columns(mle, map_, coverage)}


def log_evidence(x: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact log marginal likelihood of each data set in ``x`` (``(reps, N, ...)``): ``(reps,)``."""
    return bb.log_evidence(x=x, **settings.prior)
