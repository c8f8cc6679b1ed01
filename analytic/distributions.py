"""Batched posterior distributions and estimator risks shared by the closed forms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class BetaDistribution:
    """A (batch of) Beta(a, b) distribution(s)."""

    a: np.ndarray
    b: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """Mean ``a / (a + b)``."""
        return self.a / (self.a + self.b)

    @property
    def var(self) -> np.ndarray:
        """Variance ``mean (1 - mean) / (a + b + 1)``."""
        m = self.mean
        return m * (1 - m) / (self.a + self.b + 1)

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation."""
        return np.sqrt(self.var)

    @property
    def mode(self) -> np.ndarray:
        """Mode of the density: ``(a - 1) / (a + b - 2)`` for ``a, b >= 1`` and ``a + b > 2``.

        On the boundary where a shape is below 1 (the density is unbounded there): 0 when
        ``a < 1 <= b``, 1 when ``b < 1 <= a``; NaN when both are below 1 (two modes) or
        ``a = b = 1`` (flat).
        """
        a, b = np.asarray(self.a, dtype=float), np.asarray(self.b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = (a - 1) / (a + b - 2)
        inside = np.where((a == 1) & (b == 1), np.nan, inside)
        return np.where(a < 1, np.where(b < 1, np.nan, 0.0), np.where(b < 1, 1.0, inside))

    @property
    def dist(self):
        """The same distribution as a frozen ``scipy.stats.beta``."""
        return stats.beta(self.a, self.b)


@dataclass(frozen=True)
class GammaDistribution:
    """A (batch of) Gamma distribution(s) with shape ``a`` and rate ``b``."""

    a: np.ndarray
    b: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """Mean ``a / b``."""
        return self.a / self.b

    @property
    def var(self) -> np.ndarray:
        """Variance ``a / b^2``."""
        return self.a / self.b**2

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation."""
        return np.sqrt(self.var)

    @property
    def mode(self) -> np.ndarray:
        """Mode of the density: ``(a - 1) / b`` for ``a >= 1``; 0, on the boundary, for ``a < 1``."""
        return np.maximum(self.a - 1, 0) / self.b

    @property
    def dist(self):
        """The same distribution as a frozen ``scipy.stats.gamma`` (scale = 1 / rate)."""
        return stats.gamma(self.a, scale=1 / self.b)


@dataclass(frozen=True)
class EstimatorRisk:
    """Sampling bias, variance and MSE of an estimator over repeated data sets."""

    bias: np.ndarray
    var: np.ndarray

    @property
    def mse(self) -> np.ndarray:
        """Mean squared error, bias^2 + variance."""
        return self.bias**2 + self.var


def summary_columns(
    *,
    true_value: float,
    mle: np.ndarray,
    map_exact: np.ndarray,
    post_mean: np.ndarray,
    post_sd: np.ndarray | float,
    prior_weight: np.ndarray | float,
    mle_note: np.ndarray | None = None,
    mode_exact: np.ndarray | None = None,
    map_note: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Collect one parameter's closed-form summaries, one value per data set.

    Scalars (the truth, a posterior sd or prior weight that do not depend on the data)
    are broadcast to the number of data sets, ``mle.shape``. ``mle_note``, ``map_note``
    (why the MAP sits on a boundary) and ``mode_exact`` (a marginal mode that differs from
    the joint MAP) are optional.
    """
    shape = np.shape(mle)
    columns = {
        "true_value": np.full(shape, float(true_value)),
        "mle": mle,
        "map_exact": map_exact,
        "post_mean_exact": post_mean,
        "post_sd_exact": np.broadcast_to(post_sd, shape),
        "prior_weight": np.broadcast_to(prior_weight, shape),
    }
    if mle_note is not None:
        columns["mle_note"] = np.broadcast_to(mle_note, shape)
    if map_note is not None:
        columns["map_note"] = np.broadcast_to(map_note, shape)
    if mode_exact is not None:
        columns["mode_exact"] = mode_exact
    return columns


def no_coverage(n, *components: int) -> np.ndarray:
    """NaN coverage for every N (and component): what ``risks(..., prob=None)`` reports, having skipped it."""
    return np.full((*np.shape(n), *components), np.nan)


def risk_columns(mle: EstimatorRisk, map_: EstimatorRisk, coverage: np.ndarray) -> dict[str, np.ndarray]:
    """Collect the risk columns every family reports: bias, variance, MSE of MLE and MAP, coverage."""
    return {
        "mle_bias": mle.bias,
        "mle_var": mle.var,
        "mle_mse": mle.mse,
        "map_bias": map_.bias,
        "map_var": map_.var,
        "map_mse": map_.mse,
        "coverage": coverage,
    }
