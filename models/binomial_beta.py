"""Binary data with a Beta prior, in PyMC, batched over sample sizes and replications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

import numpy as np
import pymc as pm
from scipy import stats

from analytic import binomial_beta as bb
from analytic.unconstrained import LogitBeta
from analytic.validation import positive
from models.one_parameter import OneParameterFamily, PriorAB


@dataclass(frozen=True)
class Settings(PriorAB):
    """Truth and prior: data Bernoulli(true_p), prior Beta(prior_a, prior_b), any a, b > 0."""

    TRUTH = ("p", "true_p")

    true_p: float = 0.3
    prior_a: float = 2.0
    prior_b: float = 2.0

    def __post_init__(self) -> None:
        p = float(positive("true p", self.true_p))
        if not p < 1:
            raise ValueError(f"true p must be < 1, got {self.true_p!r}")
        bb.prior_weight(n=1, a=self.prior_a, b=self.prior_b)  # validates the prior


class BinomialBeta(OneParameterFamily):
    """``p ~ Beta(a, b)``, ``x_i ~ Bernoulli(p)``."""

    Settings = Settings
    param, truth, analytic, dtype = "p", "true_p", bb, "int64"
    transformed = LogitBeta

    @override
    @classmethod
    def prior_variable(cls, settings: Settings, dims):
        return pm.Beta("p", alpha=settings.prior_a, beta=settings.prior_b, dims=dims)

    @override
    @classmethod
    def likelihood_variable(cls, name, p, x, dims):
        return pm.Bernoulli(name, p=p, observed=x, dims=dims)

    @override
    @classmethod
    def prior_density(cls, settings: Settings):
        return stats.beta(settings.prior_a, settings.prior_b)

    @override
    @classmethod
    def likelihood_density(cls, x):
        x = bb.binary("x", x)
        s, n = x.sum(axis=-1), x.shape[-1]
        return stats.beta(s + 1, n - s + 1)

    @override
    @classmethod
    def loglik(cls, p, x):
        s, n = float(np.sum(x)), len(x)
        return s * np.log(p) + (n - s) * np.log1p(-p)

    @override
    @classmethod
    def prior_draws(cls, rng, settings: Settings, size):
        return rng.beta(settings.prior_a, settings.prior_b, size=size)

    @override
    @classmethod
    def prior_weight(cls, x, settings: Settings):
        return bb.prior_weight(n=x.shape[-1], **settings.prior)
