"""Exponential waiting times with a Gamma prior on the rate, in PyMC, batched over sizes and replications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

import numpy as np
import pymc as pm
from scipy import stats

from analytic import exponential_gamma as eg
from analytic.validation import positive
from models.one_parameter import GammaRatePrior, PriorAB


@dataclass(frozen=True)
class Settings(PriorAB):
    """Truth and prior: waiting times Exponential(true_rate), prior Gamma(shape prior_a, rate prior_b)."""

    TRUTH = ("lam", "true_rate")

    true_rate: float = 0.5
    prior_a: float = 2.0
    prior_b: float = 2.0

    def __post_init__(self) -> None:
        positive("true rate", self.true_rate)
        positive("prior shape a", self.prior_a)
        positive("prior rate b", self.prior_b)


class ExponentialGamma(GammaRatePrior):
    """``lam ~ Gamma(a, rate b)``, ``x_i ~ Exponential(lam)``."""

    Settings = Settings
    param, truth, analytic = "lam", "true_rate", eg

    @override
    @classmethod
    def likelihood_variable(cls, name, lam, x, dims):
        return pm.Exponential(name, lam=lam, observed=x, dims=dims)

    @override
    @classmethod
    def likelihood_density(cls, x):
        x = eg.waiting_times("x", x)
        return stats.gamma(x.shape[-1] + 1, scale=1 / x.sum(axis=-1))

    @override
    @classmethod
    def loglik(cls, lam, x):
        return len(x) * np.log(lam) - lam * float(np.sum(x))

    @override
    @classmethod
    def prior_weight(cls, x, settings: Settings):
        return eg.prior_weight(x=x, b=settings.prior_b)
