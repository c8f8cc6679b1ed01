"""Agreement tests between an engine's output and the exact posterior, by what it promises.

Samplers (asymptotically exact engines, and the Laplace approximation, which is exact
for a Normal posterior) face three calibrated tests per row, each at a false-alarm
probability of ``alpha / (3 * rows)`` (Bonferroni), so the chance that a correct sampler
produces any disagreement in the whole run is at most ``alpha``:

* mean: ``z = (sampled mean - exact mean) / MCSE`` against the two-sided Normal quantile;
* mode: ``|half-sample mode - exact MAP| / exact sd`` against the same quantile times the
  spread of the half-sample mode (``arviz_stats.mode``) measured on iid Normal draws of
  the row's effective size (see ``mode_spread``);
* distribution: a Kolmogorov-Smirnov test of the draws, thinned to about one draw per
  effective sample, against the exact posterior CDF.

Diagnostic floors are checked beside them: split R-hat <= 1.01, bulk ESS >= 400 and no
divergent transitions; failing one marks the row as disagreeing, because its tests
cannot be trusted.

Approximations are judged by what they promise, not by the samplers' tests: ADVI, whose
family contains the exact posterior here, must land within ``CLOSE_MEAN_SD`` exact sds of
the exact mean with an sd ratio inside ``CLOSE_SD_RATIO``; find_MAP must land within
``MAP_TOL_SD`` exact sds of the exact MAP.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from arviz_stats.base import array_stats
from scipy import stats

RHAT_MAX = 1.01
ESS_MIN = 400
TESTS_PER_ROW = 3

# Accuracy bounds of approximations whose family contains the exact posterior. These are
# requirements, not statistical tolerances: "close" means an error small beside the
# posterior's width (about KL 0.05 nats at the corners). Measured for PyMC's ADVI on the
# default study: mean error up to 0.12 sd, sd ratio 1.07 to 1.11.
CLOSE_MEAN_SD = 0.25
CLOSE_SD_RATIO = (0.8, 1.25)
# find_MAP: L-BFGS-B stops at a gradient tolerance; measured error below 1e-4 sd.
MAP_TOL_SD = 1e-3

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


def ks_pvalue(draws: np.ndarray, cdf, ess: float) -> float:
    """KS p-value of ``draws (chain, draw)`` against ``cdf``, thinned to about one draw per ESS.

    MCMC draws are autocorrelated, which would make the KS test far too eager; keeping
    every ``ceil(total / ess)``-th draw of each chain leaves a nearly independent sample.
    """
    total = draws.shape[0] * draws.shape[1]
    thin = max(1, int(np.ceil(total / max(float(ess), 1.0))))
    return float(stats.kstest(draws[:, ::thin].ravel(), cdf).pvalue)


def sampler_verdicts(
    *,
    z_mean: np.ndarray,
    mode_error_sd: np.ndarray,
    mode_tol_sd: np.ndarray,
    ks_pvalue: np.ndarray,
    r_hat: np.ndarray,
    ess_bulk: np.ndarray,
    divergences: np.ndarray,
    thresholds: Thresholds,
) -> tuple[np.ndarray, list[str]]:
    """Agree/disagree per row, and a reason for each disagreement ('' when it agrees)."""
    z_crit, a = thresholds.z_crit, thresholds.alpha_per_test
    reasons = []
    for z, me, mt, p, rh, ess, div in zip(
        z_mean, mode_error_sd, mode_tol_sd, ks_pvalue, r_hat, ess_bulk, divergences, strict=True
    ):
        why = []
        if not abs(z) <= z_crit:
            why.append(f"mean off by {z:+.2f} MCSE (limit {z_crit:.2f})")
        if not abs(me) <= mt:
            why.append(f"mode off by {me:+.3f} sd (limit {mt:.3f})")
        if not p >= a:
            why.append(f"KS p = {p:.2g} < {a:.2g}")
        if not rh <= RHAT_MAX:
            why.append(f"R-hat {rh:.3f} > {RHAT_MAX}")
        if not ess >= ESS_MIN:
            why.append(f"bulk ESS {ess:.0f} < {ESS_MIN}")
        if div > 0:
            why.append(f"{int(div)} divergences")
        reasons.append("; ".join(why))
    return _agree(reasons), reasons


def close_verdicts(*, mean_error_sd: np.ndarray, sd_ratio: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Judge an approximation whose family holds the exact posterior by the accuracy bounds."""
    lo, hi = CLOSE_SD_RATIO
    reasons = []
    for e, r in zip(mean_error_sd, sd_ratio, strict=True):
        why = []
        if not abs(e) <= CLOSE_MEAN_SD:
            why.append(f"mean off by {e:+.3f} sd (bound {CLOSE_MEAN_SD})")
        if not lo <= r <= hi:
            why.append(f"sd ratio {r:.3f} outside [{lo}, {hi}]")
        reasons.append("; ".join(why))
    return _agree(reasons), reasons


def map_verdicts(*, mode_error_sd: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Judge a point estimate of the MAP by the optimiser's tolerance."""
    reasons = [
        "" if abs(e) <= MAP_TOL_SD else f"MAP off by {e:+.2g} sd (bound {MAP_TOL_SD:g})"
        for e in mode_error_sd
    ]
    return _agree(reasons), reasons


def _agree(reasons: list[str]) -> np.ndarray:
    return np.array([not r for r in reasons], dtype=bool)
