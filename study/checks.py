"""Agreement tests between an engine's output and the exact posterior, by what it promises.

Samplers (asymptotically exact engines, and the Laplace approximation, which is exact
for a Normal posterior) face three calibrated tests per row, each at a false-alarm
probability of ``alpha / (3 * rows)`` (Bonferroni), so the chance that a correct sampler
produces any disagreement in the whole run is at most ``alpha``:

* mean: ``z = (sampled mean - exact mean) / MCSE`` against the two-sided Normal quantile;
* mode: ``|half-sample mode - exact MAP| / exact sd`` against the same quantile times the
  spread of the half-sample mode (``arviz_stats.mode``) measured on iid draws from the
  row's exact posterior, as many as the row's effective sample size (see
  ``mode_tolerance_sd``);
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

# The reference simulation that measures the half-sample mode's spread.
_MODE_SETS = 200
_MODE_SEED = 20_261_124


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


def mode_tolerance_sd(posterior, *, mode: float, sd: float, m: int, z_crit: float) -> float:
    """Tolerance, in exact sd, for the half-sample mode of ``m`` draws around the exact mode.

    ``_MODE_SETS`` sets of ``m`` iid draws from the exact posterior (a frozen scipy
    distribution) give the root mean squared error of ``arviz_stats``' half-sample mode
    about the exact mode; its one-sided 99% upper confidence bound (chi-square on
    ``_MODE_SETS - 1`` degrees of freedom) times ``z_crit`` is the tolerance, so it errs
    towards fewer false alarms. The error includes the estimator's bias on skewed or
    bounded posteriors. Measured on Normal draws: sd about 0.24, 0.18 and 0.135 exact sd
    at 1000, 4000 and 16000 draws, with tails lighter than Normal (excess kurtosis about
    -0.3), so a Normal quantile times this spread is conservative.
    """
    if posterior.dist.name == "norm":  # location-scale: one standard simulation serves all
        rmse = _standard_normal_rmse(int(m))
    else:
        rmse = _rmse(posterior, mode, int(m)) / sd
    inflate = np.sqrt((_MODE_SETS - 1) / stats.chi2.ppf(0.01, _MODE_SETS - 1))
    return float(z_crit * rmse * inflate)


def _rmse(posterior, mode: float, m: int) -> float:
    draws = posterior.rvs(size=(_MODE_SETS, m), random_state=np.random.default_rng(_MODE_SEED))
    modes = np.asarray(array_stats.mode(draws, axis=-1))
    return float(np.sqrt(np.mean((modes - mode) ** 2)))


@functools.cache
def _standard_normal_rmse(m: int) -> float:
    return _rmse(stats.norm(), 0.0, m)


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
