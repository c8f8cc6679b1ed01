"""FAMILIES: the one place where each conjugate family's parts are wired together.

A family is named by its ``likelihood_prior`` key; the same key names its analytic
module, its model module, its test ids and its output files. A new family is one
analytic module, one model module that provides ``FamilyModule`` (for a one-parameter
family, a ``models.one_parameter.OneParameterFamily`` subclass), and one line below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pymc as pm

from analytic.unconstrained import GaussianZ, UnconstrainedPosterior
from models import (
    binomial_beta,
    categorical_dirichlet,
    exponential_gamma,
    linear_regression,
    multivariate_normal_known_cov,
    normal_inverse_gamma,
    normal_normal,
    poisson_gamma,
)


class FamilyModule(Protocol):
    """What a family's model module provides; ``Family`` below says what each function returns.

    Optional, where a family needs them: ``components``, ``log_posterior``,
    ``draw_posterior``, ``likelihood_offset``, ``gaussian_prior``, ``gaussian_posterior``,
    ``unconstrained_posterior``.
    """

    Settings: type

    def simulate(self, rng: np.random.Generator, *, n: int, reps: int, settings: Any) -> np.ndarray:
        """Draw ``reps`` data sets of size ``n``."""

    def exact_summaries(self, x: np.ndarray, settings: Any) -> Mapping[str, Mapping[str, np.ndarray]]:
        """Return the closed-form summaries of each data set."""

    def build_model(self, datasets: Mapping[int, np.ndarray], settings: Any) -> pm.Model:
        """Build the batched PyMC model of every data set."""

    def densities(self, x: np.ndarray, settings: Any) -> Mapping[str, Mapping[str, Any]]:
        """Return the prior, normalised likelihood and posterior of each parameter."""

    def risks(self, n: Any, settings: Any, *, prob: float | None) -> Mapping[str, Mapping[str, np.ndarray]]:
        """Return the exact risks of MLE and MAP, and the coverage, per N."""

    def draw_prior(self, rng: np.random.Generator, settings: Any, size: int) -> dict[str, np.ndarray]:
        """Draw parameter values from the prior."""

    def simulate_given(self, rng: np.random.Generator, theta: Mapping[str, np.ndarray], *, n: int,
                       settings: Any) -> np.ndarray:  # fmt: skip
        """Draw one data set at the parameter values ``theta``."""

    def log_likelihood(self, theta: Mapping[str, np.ndarray], x: np.ndarray, settings: Any) -> np.ndarray:
        """Return the log-likelihood of one data set at many parameter values."""

    def log_evidence(self, x: np.ndarray, settings: Any) -> np.ndarray:
        """Return the exact log marginal likelihood of each data set."""


@dataclass(frozen=True)
class Family:
    """A conjugate model family: its simulator, closed forms and PyMC model.

    Attributes
    ----------
    key
        ``likelihood_prior`` name.
    params
        Parameter names; the PyMC variables carry the same names.
    settings
        Frozen dataclass of truth and prior, validated on construction.
    simulate
        ``(rng, *, n, reps, settings) -> array (reps, n, ...)``.
    exact
        ``(x, settings) -> {param: {column: array (reps, ...)}}`` closed-form summaries.
    build_model
        ``(datasets {n: array}, settings) -> pm.Model`` with params of dims ``("n", "rep", ...)``.
    densities
        ``(x, settings) -> {param: {"prior"|"likelihood"|"posterior": frozen scipy dist}}``.
    risks
        ``(n, settings, *, prob) -> {param: {column: array}}`` exact sampling risks (``prob`` None: no
        coverage, NaN).
    components
        ``settings -> {label: (variable, selection)}`` for vector parameters: each scalar
        component gets a label (``"mu[0]"``) and its PyMC variable and ``isel`` selection;
        exact summaries, densities, risks and truth are keyed by these labels. None for
        families whose parameters are all scalars (each is its own label).
    log_posterior
        ``({variable: values (reps, ...)}, x, settings) -> (reps,)`` exact joint log
        posterior, for families whose joint posterior is not the product of the
        components' marginals (None: it is).
    draw_posterior
        ``(rng, x, settings, size) -> {variable: (size, reps, ...)}`` exact iid joint
        posterior draws per data set, for families whose components are dependent (a
        simplex, a correlated vector, mu and sigma2); None: each parameter is a scalar
        drawn from its own marginal (see ``posterior_draws``).
    draw_prior
        ``(rng, settings, size) -> {variable: (size, ...)}``: parameter values from the
        prior, for simulation-based calibration.
    simulate_given
        ``(rng, theta, *, n, settings) -> array (n, ...)``: one data set at the parameter
        values ``theta`` (one value per variable).
    log_likelihood
        ``(theta, x, settings) -> (S,)``: the log-likelihood of one data set at ``S``
        parameter values, from the sufficient statistics.
    log_evidence
        ``(x, settings) -> (reps,)``: the exact log marginal likelihood of each data set.
    likelihood_offset
        ``(x, settings) -> (reps,)``: for models that observe a sufficient statistic instead
        of the data, the full-data log-likelihood minus the model's, free of the parameter;
        None: the model observes the data themselves.
    gaussian_prior, gaussian_posterior
        For families whose prior and posterior are Gaussian in the parameter (the variational
        gradient study): ``settings -> (mean (d,), cov (d, d))`` and ``(x, settings) -> (mean, cov)``
        for one data set; None otherwise.
    unconstrained_posterior
        ``(x, settings) -> analytic.unconstrained.UnconstrainedPosterior``: one data set's exact
        posterior on PyMC's unconstrained space, where ADVI and Laplace work (their exact optima,
        ``analytic.optimum``); from ``gaussian_posterior`` where the family has one.
    """

    key: str
    description: str
    params: tuple[str, ...]
    settings: type
    simulate: Callable[..., np.ndarray]
    exact: Callable[[np.ndarray, Any], Mapping[str, Mapping[str, np.ndarray]]]
    build_model: Callable[[Mapping[int, np.ndarray], Any], pm.Model]
    densities: Callable[[np.ndarray, Any], Mapping[str, Mapping[str, Any]]]
    risks: Callable[..., Mapping[str, Mapping[str, np.ndarray]]]
    components: Callable[[Any], dict[str, tuple[str, dict[str, int]]]] | None = None
    log_posterior: Callable[[Mapping[str, np.ndarray], np.ndarray, Any], np.ndarray] | None = None
    draw_posterior: Callable[..., dict[str, np.ndarray]] | None = None
    draw_prior: Callable[..., dict[str, np.ndarray]] | None = None
    simulate_given: Callable[..., np.ndarray] | None = None
    log_likelihood: Callable[..., np.ndarray] | None = None
    log_evidence: Callable[[np.ndarray, Any], np.ndarray] | None = None
    likelihood_offset: Callable[[np.ndarray, Any], np.ndarray] | None = None
    gaussian_prior: Callable[[Any], tuple[np.ndarray, np.ndarray]] | None = None
    gaussian_posterior: Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray]] | None = None
    unconstrained: Callable[[np.ndarray, Any], UnconstrainedPosterior] | None = None

    def unconstrained_posterior(self, x: np.ndarray, settings: Any) -> UnconstrainedPosterior:
        """One data set's (``x``: ``(N, ...)``) exact posterior on PyMC's unconstrained space."""
        if self.unconstrained is not None:
            return self.unconstrained(x, settings)
        if self.gaussian_posterior is None:
            raise NotImplementedError(f"{self.key} has no unconstrained posterior")
        mean, cov = self.gaussian_posterior(x, settings)
        return GaussianZ(mean, cov, self.params[0])

    def labels(self, settings: Any) -> dict[str, tuple[str, dict[str, int]]]:
        """Every scalar component: label -> (PyMC variable, ``isel`` selection)."""
        if self.components is None:
            return {p: (p, {}) for p in self.params}
        return self.components(settings)

    def posterior_draws(
        self, rng: np.random.Generator, x: np.ndarray, settings: Any, size: int
    ) -> dict[str, np.ndarray]:
        """Draw ``size`` iid values from each data set's exact joint posterior.

        Returns ``{variable: (size, reps, ...)}``.
        """
        if self.draw_posterior is not None:
            return self.draw_posterior(rng, x, settings, size)
        return {
            param: marginal["posterior"].rvs(size=(size, len(x)), random_state=rng)
            for param, marginal in self.densities(x, settings).items()
        }


def _family(key: str, description: str, params: tuple[str, ...], module: FamilyModule) -> Family:
    return Family(
        key=key,
        description=description,
        params=params,
        settings=module.Settings,
        simulate=module.simulate,
        exact=module.exact_summaries,
        build_model=module.build_model,
        densities=module.densities,
        risks=module.risks,
        components=getattr(module, "components", None),
        log_posterior=getattr(module, "log_posterior", None),
        draw_posterior=getattr(module, "draw_posterior", None),
        draw_prior=module.draw_prior,
        simulate_given=module.simulate_given,
        log_likelihood=module.log_likelihood,
        log_evidence=module.log_evidence,
        likelihood_offset=getattr(module, "likelihood_offset", None),
        gaussian_prior=getattr(module, "gaussian_prior", None),
        gaussian_posterior=getattr(module, "gaussian_posterior", None),
        unconstrained=getattr(module, "unconstrained_posterior", None),
    )


FAMILIES: dict[str, Family] = {
    f.key: f
    for f in [
        _family("normal_normal", "Normal data with known variance, Normal prior on the mean", ("mu",),
                normal_normal),
        _family("binomial_beta", "binary (Bernoulli) data, Beta prior on the success probability", ("p",),
                binomial_beta.BinomialBeta),
        _family("poisson_gamma", "Poisson counts, Gamma prior on the rate", ("lam",),
                poisson_gamma.PoissonGamma),
        _family("exponential_gamma", "exponential waiting times, Gamma prior on the rate", ("lam",),
                exponential_gamma.ExponentialGamma),
        _family("normal_inverse_gamma", "Normal data with unknown mean and variance, Normal-Inverse-Gamma "
                "prior", ("mu", "sigma2"), normal_inverse_gamma),
        _family("categorical_dirichlet", "categorical data (multinomial counts), Dirichlet prior on the "
                "probabilities (--set categories=K)", ("theta",), categorical_dirichlet),
        _family("multivariate_normal_known_cov", "d-dimensional Normal data with known covariance, "
                "Normal prior on the mean (--set dim=5)", ("mu",), multivariate_normal_known_cov),
        _family("linear_regression", "linear regression, Normal noise of known variance, Normal prior on the "
                "coefficients (--set coefficients=p)", ("beta",), linear_regression),
    ]
}  # fmt: skip
