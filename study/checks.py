"""Calibrated agreement tests between sampled and exact posteriors.

Every row of a study is tested twice, at a per-test false-alarm probability of
``alpha / (2 * rows)`` (Bonferroni), so the chance that a correct sampler produces any
disagreement in the whole run is at most ``alpha``:

* mean: ``z = (sampled mean - exact mean) / MCSE`` against the two-sided Normal quantile;
* mode: ``|half-sample mode - exact MAP| / exact sd`` against the same quantile times the
  spread of the half-sample mode (``arviz_stats.mode``) measured on iid Normal draws of
  the row's effective size (see ``mode_spread``).

Diagnostic floors are checked beside them: split R-hat <= 1.01, bulk ESS >= 400 and no
divergent transitions; failing one marks the row as disagreeing, because its test
cannot be trusted.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from arviz_stats.base import array_stats
from scipy import stats

RHAT_MAX = 1.01
ESS_MIN = 400
TESTS_PER_ROW = 2

# Grid and size of the reference simulation that measures the half-sample mode's spread.
_SPREAD_SIZES = (250, 500, 1000, 2000, 4000, 8000)
_SPREAD_REPEATS = 400
_SPREAD_SEED = 20_261_124


@dataclass(frozen=True)
class Thresholds:
    """Critical values shared by every row of a run."""

    alpha: float
    rows: int

    @property
    def alpha_per_test(self) -> float:
        """Bonferroni share of ``alpha`` for one test."""
        return self.alpha / (TESTS_PER_ROW * self.rows)

    @property
    def z_crit(self) -> float:
        """Two-sided Normal quantile at the per-test false-alarm probability."""
        return float(stats.norm.isf(self.alpha_per_test / 2))


@functools.cache
def _spread_fit() -> tuple[float, float]:
    """Fit ``log sd = log c - b log m`` to the measured spread of the half-sample mode.

    For each size m in the grid, ``_SPREAD_REPEATS`` sets of m iid standard Normal
    draws give the sd of ``arviz_stats``' half-sample mode; its one-sided 99% upper
    confidence bound (chi-square on repeats - 1 degrees of freedom) is what is fitted,
    so the tolerance errs towards fewer false alarms. Measured here: sd about 0.24,
    0.18 and 0.135 at 1000, 4000 and 16000 draws (exponent about -0.2), and the
    error's tails are lighter than Normal (excess kurtosis about -0.3), so a Normal
    quantile times this sd is conservative.
    """
    rng = np.random.default_rng(_SPREAD_SEED)
    upper = []
    inflate = np.sqrt((_SPREAD_REPEATS - 1) / stats.chi2.ppf(0.01, _SPREAD_REPEATS - 1))
    for m in _SPREAD_SIZES:
        modes = np.asarray(array_stats.mode(rng.standard_normal((_SPREAD_REPEATS, m)), axis=-1))
        upper.append(np.sqrt(np.mean(modes**2)) * inflate)
    slope, intercept = np.polyfit(np.log(_SPREAD_SIZES), np.log(upper), 1)
    return float(np.exp(intercept)), float(-slope)


def mode_spread(m) -> np.ndarray:
    """Upper bound on the sd of the half-sample mode of ``m`` Normal draws, in sd units."""
    c, b = _spread_fit()
    return c * np.asarray(m, dtype=float) ** (-b)


def verdicts(
    *,
    z_mean: np.ndarray,
    mode_error_sd: np.ndarray,
    mode_tol_sd: np.ndarray,
    r_hat: np.ndarray,
    ess_bulk: np.ndarray,
    divergences: np.ndarray,
    z_crit: float,
) -> tuple[np.ndarray, list[str]]:
    """Agree/disagree per row, and a reason for each disagreement ('' when it agrees)."""
    reasons = []
    for z, me, mt, rh, ess, div in zip(
        z_mean, mode_error_sd, mode_tol_sd, r_hat, ess_bulk, divergences, strict=True
    ):
        why = []
        if not abs(z) <= z_crit:
            why.append(f"mean off by {z:+.2f} MCSE (limit {z_crit:.2f})")
        if not abs(me) <= mt:
            why.append(f"mode off by {me:+.3f} sd (limit {mt:.3f})")
        if not rh <= RHAT_MAX:
            why.append(f"R-hat {rh:.3f} > {RHAT_MAX}")
        if not ess >= ESS_MIN:
            why.append(f"bulk ESS {ess:.0f} < {ESS_MIN}")
        if div > 0:
            why.append(f"{int(div)} divergences")
        reasons.append("; ".join(why))
    agree = np.array([not r for r in reasons], dtype=bool)
    return agree, reasons
