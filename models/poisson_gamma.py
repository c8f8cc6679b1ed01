"""Poisson counts with a Gamma prior on the rate, in PyMC, batched over sample sizes and replications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

import numpy as np
import pymc as pm
from scipy import special, stats

from analytic import poisson_gamma as pg
from analytic.validation import positive
from models.one_parameter import GammaRatePrior, PriorAB


@dataclass(frozen=True)
class Settings(PriorAB):
    """Truth and prior: counts Poisson(true_rate), prior Gamma(shape prior_a > 0, rate prior_b)."""

    TRUTH = ("lam", "true_rate")

    true_rate: float = 3.0
    prior_a: float = 2.0
    prior_b: float = 1.0

    def __post_init__(self) -> None:
        positive("true rate", self.true_rate)
        pg.map_risk(n=1, true_rate=self.true_rate, a=self.prior_a, b=self.prior_b)  # validates the prior


class PoissonGamma(GammaRatePrior):
    """``lam ~ Gamma(a, rate b)``, ``x_i ~ Poisson(lam)``."""

    Settings = Settings
    param, truth, analytic, dtype = "lam", "true_rate", pg, "int64"

    @override
    @classmethod
    def likelihood_variable(cls, name, lam, x, dims):
        return pm.Poisson(name, mu=lam, observed=x, dims=dims)

    @override
    @classmethod
    def likelihood_density(cls, x):
        x = pg.counts("x", x)
        return stats.gamma(x.sum(axis=-1) + 1, scale=1 / x.shape[-1])

    @override
    @classmethod
    def loglik(cls, lam, x):
        s, n = float(np.sum(x)), len(x)
        return s * np.log(lam) - n * lam - float(np.sum(special.gammaln(np.asarray(x) + 1)))

    @override
    @classmethod
    def prior_weight(cls, x, settings: Settings):
        return pg.prior_weight(n=x.shape[-1], b=settings.prior_b)
