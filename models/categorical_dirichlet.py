"""Categorical data with a Dirichlet prior, in PyMC, batched over sample sizes and replications.

``theta`` has dims ``("n", "rep", "category")``; each category's probability is one row of
the study (``theta[0]``, ...), compared with its exact Beta marginal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy import stats

from analytic import categorical_dirichlet as cdir
from analytic.distributions import risk_columns, summary_columns
from analytic.unconstrained import SimplexDirichlet
from analytic.validation import positive, sample_size
from models.batched import batched_model


@dataclass(frozen=True)
class Settings:
    """Truth and prior: K ``categories`` with true probabilities proportional to 1, 2, ..., K.

    The prior is the symmetric Dirichlet(prior_alpha, ..., prior_alpha).
    """

    categories: float = 3
    prior_alpha: float = 2.0

    def __post_init__(self) -> None:
        if sample_size("categories", self.categories) < 2:
            raise ValueError(f"categories must be >= 2, got {self.categories!r}")
        positive("prior alpha", self.prior_alpha)
        cdir.posterior_alpha(x=[[0]], alpha=self.alpha)  # validates the prior

    @property
    def k(self) -> int:
        """Number of categories, as an int."""
        return int(self.categories)

    @property
    def alpha(self) -> np.ndarray:
        """Symmetric Dirichlet concentration."""
        return np.full(self.k, float(self.prior_alpha))

    @property
    def true_p(self) -> np.ndarray:
        """True category probabilities."""
        w = np.arange(1, self.k + 1, dtype=float)
        return w / w.sum()

    @property
    def truth(self) -> dict[str, float]:
        """True value of each component, keyed by its label."""
        return {f"theta[{k}]": float(p) for k, p in enumerate(self.true_p)}


def components(settings: Settings) -> dict[str, tuple[str, dict[str, int]]]:
    """One label per category probability."""
    return {f"theta[{k}]": ("theta", {"category": k}) for k in range(settings.k)}


def build_model(datasets: Mapping[int, np.ndarray], settings: Settings) -> pm.Model:
    """``theta`` with dims ``("n", "rep", "category")`` and a Categorical ``x_n{N}`` per size."""
    return batched_model(
        datasets,
        prior=lambda dims: pm.Dirichlet("theta", a=settings.alpha, dims=dims),
        likelihood=lambda name, theta, x, dims, n: pm.Categorical(
            name, p=theta[:, None, :], observed=x, dims=dims
        ),
        dtype="int64",
        coords={"category": np.arange(settings.k)},
        param_dims=("category",),
    )


def exact_summaries(x: np.ndarray, settings: Settings) -> dict[str, dict[str, np.ndarray]]:
    """Closed-form summaries of each data set in ``x`` (shape ``(reps, N)``), per category.

    ``map_exact`` is the joint mode on the simplex; ``mode_exact`` each marginal's mode.
    """
    alpha = settings.alpha
    mle, note = cdir.mle(x=x, alpha=alpha), cdir.mle_note(x=x, alpha=alpha)
    joint = cdir.map_estimate(x=x, alpha=alpha)
    weight = alpha.sum() / (alpha.sum() + x.shape[-1])
    out = {}
    for k, (label, truth) in enumerate(settings.truth.items()):
        post = cdir.marginal(x=x, alpha=alpha, k=k)
        a, b = post.args
        out[label] = summary_columns(
            true_value=truth,
            mle=mle[:, k],
            mle_note=note,
            map_exact=joint[:, k],
            mode_exact=(a - 1) / (a + b - 2),
            post_mean=post.mean(),
            post_sd=post.std(),
            prior_weight=weight,
        )
    return out


def simulate(rng: np.random.Generator, *, n: int, reps: int, settings: Settings) -> np.ndarray:
    """Draw ``reps`` data sets of ``n`` category indices, shape ``(reps, n)``."""
    return cdir.simulate(rng, n=n, reps=reps, true_p=settings.true_p)


def draw_prior(rng: np.random.Generator, settings: Settings, size: int) -> dict[str, np.ndarray]:
    """Draw ``size`` parameter values from the prior, ``{variable: (size, ...)}``."""
    return {"theta": rng.dirichlet(settings.alpha, size=size)}


def simulate_given(rng: np.random.Generator, theta: Mapping[str, np.ndarray], *, n: int, settings: Settings):
    """Draw one data set of size ``n`` at parameter values ``theta``, shape ``(n, ...)``."""
    p = np.asarray(theta["theta"], dtype=float)
    return cdir.simulate(rng, n=n, reps=1, true_p=p / p.sum())[0]


def log_likelihood(theta: Mapping[str, np.ndarray], x: np.ndarray, settings: Settings) -> np.ndarray:
    """Return the log-likelihood of the data set ``x`` at each of the ``S`` values in ``theta``: ``(S,)``."""
    counts = np.bincount(np.asarray(x, dtype=int), minlength=settings.k)
    return np.log(np.asarray(theta["theta"], dtype=float)) @ counts


def densities(x: np.ndarray, settings: Settings) -> dict[str, dict[str, object]]:
    """Per category: the Beta marginals of the prior, the normalised likelihood and the posterior."""
    x = np.asarray(x, dtype=float)
    ones = np.ones(settings.k)  # Dirichlet(1, ..., 1) x likelihood = the normalised likelihood
    return {
        label: {
            "prior": stats.beta(settings.alpha[k], settings.alpha.sum() - settings.alpha[k]),
            "likelihood": cdir.marginal(x=x, alpha=ones, k=k),
            "posterior": cdir.marginal(x=x, alpha=settings.alpha, k=k),
        }
        for k, label in enumerate(settings.truth)
    }


def risks(n, settings: Settings, *, prob: float | None) -> dict[str, dict[str, np.ndarray]]:
    """Exact sampling bias, variance and MSE of MLE and MAP, and interval coverage, per category."""
    per = cdir.risks(n=n, true_p=settings.true_p, alpha=settings.alpha, prob=prob)
    return {label: risk_columns(*per[k]) for k, label in enumerate(settings.truth)}


def log_posterior(values: Mapping[str, np.ndarray], x: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact joint log posterior of ``values["theta"]`` (``(reps, K)``) for data ``x`` (``(reps, N)``)."""
    return cdir.log_posterior(values["theta"], x=x, alpha=settings.alpha)


def draw_posterior(
    rng: np.random.Generator, x: np.ndarray, settings: Settings, size: int = 1
) -> dict[str, np.ndarray]:
    """``size`` exact joint posterior draws per data set: ``{"theta": (size, reps, K)}`` on the simplex."""
    alphas = cdir.posterior_alpha(x=x, alpha=settings.alpha)
    return {"theta": np.stack([rng.dirichlet(a, size=size) for a in alphas], axis=1)}


def log_evidence(x: np.ndarray, settings: Settings) -> np.ndarray:
    """Exact log marginal likelihood of each data set in ``x`` (``(reps, N, ...)``): ``(reps,)``."""
    return cdir.log_evidence(x=x, alpha=settings.alpha)


def unconstrained_posterior(x: np.ndarray, settings: Settings) -> SimplexDirichlet:
    """One data set's (``(N,)``) exact posterior on PyMC's unconstrained (``simplex``) space."""
    return SimplexDirichlet(tuple(float(a) for a in cdir.posterior_alpha(x=x, alpha=settings.alpha)))
