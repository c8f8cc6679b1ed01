"""Poisson counts with a Gamma prior on the rate, in PyMC, batched over sample sizes and replications."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy import special, stats

from analytic import poisson_gamma as pg
from analytic.distributions import no_coverage, risk_columns, summary_columns
from analytic.validation import positive
from models.batched import batched_model


@dataclass(frozen=True)
class Settings:
    """Truth and prior: counts Poisson(true_rate), prior Gamma(shape prior_a > 0, rate prior_b)."""

    true_rate: float = 3.0
    prior_a: float = 2.0
    prior_b: float = 1.0

    def __post_init__(self) -> None:
        positive("true rate", self.true_rate)
        pg.map_risk(n=1, true_rate=self.true_rate, a=self.prior_a, b=self.prior_b)  # validates the prior

    @property
    def truth(self) -> dict[str, float]:
        """True parameter values, keyed by parameter name."""
        return {"lam": self.true_rate}

    @property
    def prior(self) -> dict[str, float]:
        """Closed-form keyword arguments shared by the analytic functions."""
        return {"a": self.prior_a, "b": self.prior_b}


def build_model(datasets: Mapping[int, np.ndarray], settings: Settings) -> pm.Model:
    """``lam`` with dims ``("n", "rep")`` and a Poisson ``x_n{N}`` per sample size."""
    return batched_model(
        datasets,
        prior=lambda dims: pm.Gamma("lam", alpha=settings.prior_a, beta=settings.prior_b, dims=dims),
        likelihood=lambda name, lam, x, dims, n: pm.Poisson(name, mu=lam[:, None], observed=x, dims=dims),
        dtype="int64",
    )


def exact_summaries(x: np.ndarray, settings: Settings) -> dict[str, dict[str, np.ndarray]]:
    """Closed-form summaries of each data set in ``x`` (shape ``(reps, N)``)."""
    post = pg.posterior(x=x, **settings.prior)
    return {
        "lam": summary_columns(
            true_value=settings.true_rate,
            mle=pg.mle(x=x),
            mle_note=pg.mle_note(x=x),
            map_note=pg.map_note(x=x, **settings.prior),
            map_exact=post.mode,
            post_mean=post.mean,
            post_sd=post.sd,
            prior_weight=pg.prior_weight(n=x.shape[-1], b=settings.prior_b),
        )
    }


def simulate(rng: np.random.Generator, *, n: int, reps: int, settings: Settings) -> np.ndarray:
    """Draw ``reps`` data sets of ``n`` counts, shape ``(reps, n)``."""
    return pg.simulate(rng, n=n, reps=reps, true_rate=settings.true_rate)


def draw_prior(rng: np.random.Generator, settings: Settings, size: int) -> dict[str, np.ndarray]:
    """Draw ``size`` parameter values from the prior, ``{variable: (size, ...)}``."""
    return {"lam": rng.gamma(settings.prior_a, 1 / settings.prior_b, size=size)}


def simulate_given(rng: np.random.Generator, theta: Mapping[str, np.ndarray], *, n: int, settings: Settings):
    """Draw one data set of size ``n`` at parameter values ``theta``, shape ``(n, ...)``."""
    return pg.simulate(rng, n=n, reps=1, true_rate=float(theta["lam"]))[0]


def log_likelihood(theta: Mapping[str, np.ndarray], x: np.ndarray, settings: Settings) -> np.ndarray:
    """Return the log-likelihood of the data set ``x`` at each of the ``S`` values in ``theta``: ``(S,)``."""
    lam = np.asarray(theta["lam"], dtype=float)
    return float(np.sum(x)) * np.log(lam) - len(x) * lam - float(np.sum(special.gammaln(np.asarray(x) + 1)))


def densities(x: np.ndarray, settings: Settings) -> dict[str, dict[str, object]]:
    """Prior, normalised likelihood ``Gamma(s + 1, rate N)`` and exact posterior of ``lam``."""
    x = pg.counts("x", x)
    return {
        "lam": {
            "prior": stats.gamma(settings.prior_a, scale=1 / settings.prior_b),
            "likelihood": stats.gamma(x.sum(axis=-1) + 1, scale=1 / x.shape[-1]),
            "posterior": pg.posterior(x=x, **settings.prior).dist,
        }
    }


def risks(n, settings: Settings, *, prob: float | None) -> dict[str, dict[str, np.ndarray]]:
    """Exact sampling bias, variance and MSE of MLE and MAP, and interval coverage, per N."""
    mle = pg.mle_risk(n=n, true_rate=settings.true_rate)
    map_ = pg.map_risk(n=n, true_rate=settings.true_rate, **settings.prior)
    coverage = no_coverage(n)  # prob None: the MSE only
    if prob is not None:
        coverage = pg.interval_coverage(n=n, true_rate=settings.true_rate, prob=prob, **settings.prior)
    return {"lam": risk_columns(mle, map_, coverage)}


def log_evidence(x: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact log marginal likelihood of each data set in ``x`` (``(reps, N, ...)``): ``(reps,)``."""
    return pg.log_evidence(x=x, **settings.prior)
