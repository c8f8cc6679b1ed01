"""The one-parameter conjugate families (binary, counts, waiting times) from one shared builder.

A family module provides the functions of ``models.families.FamilyModule``. The three
families with one scalar parameter, a Beta or Gamma prior ``(prior_a, prior_b)`` and an
analytic module of the same shape differ only in what ``OneParameterFamily``'s subclass
says: the parameter, the truth's field, the analytic module, the PyMC prior and
likelihood, the normalised likelihood, the prior's draws and the prior's weight. Every
function of the protocol is a class method here, written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar, override

import numpy as np
import pymc as pm
from scipy import stats

from analytic.distributions import no_coverage, risk_columns, summary_columns
from analytic.unconstrained import LogGamma
from models.batched import batched_model


class PriorAB:
    """What the one-parameter families' Settings (frozen dataclasses) share: their truth and prior by name.

    A subclass sets ``TRUTH = (parameter, field of its true value)`` and has the fields
    ``prior_a`` and ``prior_b``.
    """

    TRUTH: ClassVar[tuple[str, str]]

    @property
    def truth(self) -> dict[str, float]:
        """True parameter values, keyed by parameter name."""
        param, field = self.TRUTH
        return {param: getattr(self, field)}

    @property
    def prior(self) -> dict[str, float]:
        """Closed-form keyword arguments shared by the analytic functions."""
        return {"a": self.prior_a, "b": self.prior_b}


class OneParameterFamily:
    """A one-parameter conjugate family: subclass it and fill in the class attributes and hooks.

    Attributes
    ----------
    Settings
        Frozen dataclass of the truth (field ``truth``) and the prior (``prior_a``,
        ``prior_b``), with a ``prior`` property of the analytic functions' keywords.
    param
        The parameter's name, in PyMC and in every table.
    truth
        The Settings field of the true value, also the analytic risks' keyword.
    analytic
        The family's analytic module: ``posterior``, ``mle``, ``mle_note``, ``mle_risk``,
        ``map_risk``, ``interval_coverage``, ``simulate``, ``log_evidence`` (and
        ``map_note`` where the MAP can sit on a boundary).
    dtype
        The observed data's dtype in the PyMC model.
    transformed
        The posterior on PyMC's unconstrained space, from the posterior's ``(a, b)``:
        ``analytic.unconstrained.LogitBeta`` or ``LogGamma``.
    """

    Settings: ClassVar[type]
    param: ClassVar[str]
    truth: ClassVar[str]
    analytic: ClassVar[ModuleType]
    dtype: ClassVar[str] = "float64"
    transformed: ClassVar[type]

    # -- the hooks a family fills in -------------------------------------------------------

    @classmethod
    def prior_variable(cls, settings: Any, dims: tuple[str, ...]):
        """Return the PyMC prior of the parameter, named ``cls.param``, with ``dims``."""
        raise NotImplementedError

    @classmethod
    def likelihood_variable(cls, name: str, theta, x: np.ndarray, dims: tuple[str, ...]):
        """Return the observed PyMC variable ``name`` of one sample size's data ``x`` (reps, N)."""
        raise NotImplementedError

    @classmethod
    def prior_density(cls, settings: Any):
        """Return the prior as a frozen SciPy distribution."""
        raise NotImplementedError

    @classmethod
    def likelihood_density(cls, x: np.ndarray):
        """Return the normalised likelihood of each data set of ``x`` (reps, N), a frozen SciPy law."""
        raise NotImplementedError

    @classmethod
    def loglik(cls, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Log-likelihood of one data set ``x`` (N,) at the values ``theta`` (S,): (S,)."""
        raise NotImplementedError

    @classmethod
    def prior_draws(cls, rng: np.random.Generator, settings: Any, size: int) -> np.ndarray:
        """``size`` draws of the parameter from the prior."""
        raise NotImplementedError

    @classmethod
    def prior_weight(cls, x: np.ndarray, settings: Any) -> np.ndarray:
        """Return the prior's weight in the posterior mean of each data set of ``x`` (reps, N)."""
        raise NotImplementedError

    # -- the family protocol, written once -------------------------------------------------

    @classmethod
    def _true(cls, settings: Any) -> float:
        return getattr(settings, cls.truth)

    @classmethod
    def build_model(cls, datasets: Mapping[int, np.ndarray], settings: Any) -> pm.Model:
        """Build the parameter with dims ``("n", "rep")`` and an observed ``x_n{N}`` per sample size."""
        return batched_model(
            datasets,
            prior=lambda dims: cls.prior_variable(settings, dims),
            likelihood=lambda name, theta, x, dims, n: cls.likelihood_variable(name, theta[:, None], x, dims),
            dtype=cls.dtype,
        )

    @classmethod
    def exact_summaries(cls, x: np.ndarray, settings: Any) -> dict[str, dict[str, np.ndarray]]:
        """Closed-form summaries of each data set in ``x`` (shape ``(reps, N)``)."""
        post = cls.analytic.posterior(x=x, **settings.prior)
        map_note = getattr(cls.analytic, "map_note", None)
        return {
            cls.param: summary_columns(
                true_value=cls._true(settings),
                mle=cls.analytic.mle(x=x),
                mle_note=cls.analytic.mle_note(x=x),
                map_note=None if map_note is None else map_note(x=x, **settings.prior),
                map_exact=post.mode,
                post_mean=post.mean,
                post_sd=post.sd,
                prior_weight=cls.prior_weight(x, settings),
            )
        }

    @classmethod
    def simulate(cls, rng: np.random.Generator, *, n: int, reps: int, settings: Any) -> np.ndarray:
        """Draw ``reps`` data sets of size ``n``, shape ``(reps, n)``."""
        return cls.analytic.simulate(rng, n=n, reps=reps, **{cls.truth: cls._true(settings)})

    @classmethod
    def draw_prior(cls, rng: np.random.Generator, settings: Any, size: int) -> dict[str, np.ndarray]:
        """Draw ``size`` parameter values from the prior, ``{variable: (size,)}``."""
        return {cls.param: cls.prior_draws(rng, settings, size)}

    @classmethod
    def simulate_given(
        cls, rng: np.random.Generator, theta: Mapping[str, np.ndarray], *, n: int, settings: Any
    ):
        """Draw one data set of size ``n`` at the parameter value ``theta``, shape ``(n,)``."""
        return cls.analytic.simulate(rng, n=n, reps=1, **{cls.truth: float(theta[cls.param])})[0]

    @classmethod
    def log_likelihood(cls, theta: Mapping[str, np.ndarray], x: np.ndarray, settings: Any) -> np.ndarray:
        """Return the log-likelihood of the data set ``x`` at each of the ``S`` values in ``theta``."""
        return cls.loglik(np.asarray(theta[cls.param], dtype=float), x)

    @classmethod
    def densities(cls, x: np.ndarray, settings: Any) -> dict[str, dict[str, object]]:
        """Prior, normalised likelihood and exact posterior of the parameter, per data set."""
        return {
            cls.param: {
                "prior": cls.prior_density(settings),
                "likelihood": cls.likelihood_density(x),
                "posterior": cls.analytic.posterior(x=x, **settings.prior).dist,
            }
        }

    @classmethod
    def risks(cls, n, settings: Any, *, prob: float | None) -> dict[str, dict[str, np.ndarray]]:
        """Exact sampling bias, variance and MSE of MLE and MAP, and interval coverage, per N."""
        truth = {cls.truth: cls._true(settings)}
        mle = cls.analytic.mle_risk(n=n, **truth)
        map_ = cls.analytic.map_risk(n=n, **truth, **settings.prior)
        coverage = no_coverage(n)  # prob None: the MSE only
        if prob is not None:
            coverage = cls.analytic.interval_coverage(n=n, **truth, prob=prob, **settings.prior)
        return {cls.param: risk_columns(mle, map_, coverage)}

    @classmethod
    def log_evidence(cls, x: np.ndarray, settings: Any) -> np.ndarray:
        """Exact log marginal likelihood of each data set in ``x`` (``(reps, N)``): ``(reps,)``."""
        return cls.analytic.log_evidence(x=x, **settings.prior)

    @classmethod
    def unconstrained_posterior(cls, x: np.ndarray, settings: Any):
        """One data set's (``(N,)``) exact posterior on PyMC's unconstrained space (logit or log)."""
        post = cls.analytic.posterior(x=x, **settings.prior)
        return cls.transformed(float(post.a), float(post.b), name=cls.param)


class GammaRatePrior(OneParameterFamily):
    """A one-parameter family whose parameter, a rate, has a ``Gamma(prior_a, rate prior_b)`` prior."""

    transformed = LogGamma

    @override
    @classmethod
    def prior_variable(cls, settings: Any, dims: tuple[str, ...]):
        return pm.Gamma(cls.param, alpha=settings.prior_a, beta=settings.prior_b, dims=dims)

    @override
    @classmethod
    def prior_density(cls, settings: Any):
        return stats.gamma(settings.prior_a, scale=1 / settings.prior_b)

    @override
    @classmethod
    def prior_draws(cls, rng: np.random.Generator, settings: Any, size: int) -> np.ndarray:
        return rng.gamma(settings.prior_a, 1 / settings.prior_b, size=size)
