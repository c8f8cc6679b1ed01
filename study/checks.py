"""Agreement tests between an engine's output and the exact posterior, by what it promises.

Samplers (asymptotically exact engines) face two layers of calibrated tests.

Per row (one data set, one scalar parameter), each at ``Thresholds.alpha_row``:

* mean: ``z = (sampled mean - exact mean) / se_mean`` against the two-sided Normal quantile;
* sd: ``z = (sampled sd - exact sd) / se_sd``, the same way;
* mode: ``|half-sample mode - exact mode| / exact sd`` against the same quantile times the
  spread of the half-sample mode (``arviz_stats.mode``) measured on iid draws from the
  row's exact posterior (see ``mode_tolerance_sd``);
* distribution: a Kolmogorov-Smirnov test of the draws, thinned until the kept draws are
  nearly independent (``thin_factor``), against the exact posterior CDF;
* R-hat: below the limit a stationary sampler with the row's effective sample size
  exceeds with probability ``alpha_row`` (``rhat_limit``).

Pooled per (parameter, N) over the replications, each at ``Thresholds.alpha_pooled``;
these catch small systematic errors no single row can (``pooled_tests``):

* mean: the sum of the rows' errors over the root sum of their squared standard errors, in exact sd;
* sd: the same for the sampled sd;
* PIT: a KS test of the pooled PIT values ``F_exact(draw)`` of every row's thinned draws.

The correction is Bonferroni: half of ``alpha`` is shared by the per-row tests
(``ROW_TESTS`` per row), half by the pooled tests (``POOLED_TESTS`` per parameter and N),
so a correct sampler raises any false alarm in the run with probability at most ``alpha``.

No divergent transitions is a requirement of every row. A bulk ESS of at least
``ESS_PER_CHAIN`` per chain (below it the MCSE and R-hat estimates cannot be trusted;
Vehtari et al. 2021) is a warning, not a verdict: a correct but slow engine at a short
configuration falls below it (even iid draws do: 2 of 1,800 rows at 2 x 200 exact draws),
and an inefficient engine is not a wrong one. The warning says the run is too short.

Why the standard errors use the exact moments (``null_standard_errors``): the tests ask
whether the draws could come from the exact posterior, so their errors are standardised by
what they would be if they did: ArviZ's MCSE formulas with the exact sd and excess kurtosis,
and only the effective sample size read from the draws. ArviZ's MCSE of the sd uses the
draws' own fourth moment, which is low exactly when the draws miss the tails and their sd
comes out low, so the sd z was skewed: on 20,000 sets of 4 x 1000 iid draws
(``benchmarks/estimator_tails.py``) its mean was -0.012 (Normal), -0.025 (Gamma(5)) and
-0.130 (InverseGamma(8)), with 0.16%, 0.28% and 0.88% of z below -3 against 0.135%
nominal; pooled over 20 replications that bias moves the pooled sd z by -0.05 to -0.6.
With the exact moments the means are -0.001, +0.005 and -0.002 and the lower tails 0.105%,
0.125% and 0.02% (InverseGamma(8), whose eighth moment is infinite, keeps a heavy upper
tail, 0.375%: the sd's own estimator is skewed there). Nutpie's draws: see
docs/false_alarms.md.

Why heavy-tailed rows are tested on their normal scores (``score_heavy_tails``): that
upper tail is not a matter of the standard error. InverseGamma(8)'s squared deviations have
a tail of index 4, and one far draw moves the sample variance by ``(c^2 - sd^2) / n``:
``single_draw_risk`` puts the chance that one draw alone carries the sd's z past the limit
4.46 at 2.8e-4 per row at ESS 4,000 and 9e-4 at 400, and 20,000 sets of 4 x 1000 iid
draws measured 0.065% beyond it (nominal 0.0004%); the calibration had three such alarms
(nutpie, numpyro, DEMetropolisZ, each about +4.9). Where that risk exceeds
``SCORE_RISK_SHARE`` of the test's one-sided alpha, the moment is tested on
``Phi^-1(F_exact(draws))``, standard Normal under the null with every moment: on the
same sets 0 of 20,000 beyond 4.46, 0.150% above 3 and 0.125% below -3
(``benchmarks/estimator_tails.py``). A Normal posterior's scores are its standardised
draws, so nothing changes there; at the measured configurations the rule fires only on
normal_inverse_gamma's sigma2 at N = 10.

Why the thinning rule: NUTS draws of a Normal posterior are antithetic (lag-1
autocorrelation about -0.38) and their lag-2 autocorrelation is positive (+0.12 for the
indicators the KS statistic is built on). Keeping every ``ceil(draws / ESS)``-th draw,
ArviZ's ``thin`` factor and this suite's old rule, keeps every second draw of such a chain:
positively correlated draws, and a KS test that fired at 9.8% at the 5% level over 1,200
null rows. Requiring the kept draws' own bulk and tail ESS to reach their number brings
it to the nominal rate.

Approximations are judged by what they promise, not by the samplers' tests: the Laplace
approximation by calibrated tests against its own exact optimum, its gap to the exact
posterior reported (``study.targets``); ADVI, whose family contains the exact posterior
here, must land within ``CLOSE_MEAN_SD`` exact sds of the exact mean with an sd ratio
inside ``CLOSE_SD_RATIO``; find_MAP must land within ``MAP_TOL_SD`` exact sds of the
exact MAP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from arviz_stats.base import array_stats
from scipy import stats

from study import batched_diagnostics

ESS_PER_CHAIN = 100
CALIBRATED = ("sampler", "target")  # the checks whose tests share the run's alpha
ROW_TESTS = ("mean", "sd", "mode", "ks", "rhat")
POOLED_TESTS = ("mean", "sd", "pit")
MIN_KEPT = 100  # the thinning keeps at least this many draws
# A row's mean or sd test moves to the normal scores where one draw alone would carry its z
# past the limit with probability above this share of the test's one-sided alpha.
SCORE_RISK_SHARE = 0.1
POWER = 0.9  # the power at which the smallest detectable error is reported
# A configuration is "too short for its verdicts to mean much" when its pooled tests would
# miss, with probability above 1 - POWER, a mean shift or an sd error of this size (the
# default NUTS study detects about 0.011 sd and 2%), or when its R-hat limit is above RHAT_LOOSE.
SHORT_SHIFT_SD = 0.05
SHORT_SD_ERROR = 0.05
RHAT_LOOSE = 1.05

# Accuracy bounds of approximations whose family contains the exact posterior. These are
# requirements, not statistical tolerances: "close" means an error small beside the
# posterior's width (about KL 0.05 nats at the corners). Measured for PyMC's ADVI on the
# default study: mean error up to 0.12 sd, sd ratio 1.07 to 1.11.
CLOSE_MEAN_SD = 0.25
CLOSE_SD_RATIO = (0.8, 1.25)
# find_MAP: L-BFGS-B stops at a gradient tolerance; measured error below 1e-4 sd.
MAP_TOL_SD = 1e-3


@dataclass(frozen=True)
class Thresholds:
    """Critical values shared by every test of one engine's study.

    Attributes
    ----------
    alpha
        The study's false-alarm probability: half for the rows, half for the pooled tests.
    rows
        Rows judged by the per-row tests (data sets x scalar parameters).
    groups
        (parameter, N) groups judged by the pooled tests.
    extra
        Study-wide tests that share the pooled half (the evidence test of an engine that
        estimates log p(data)).
    row_tests, pooled_tests
        The tests made per row and per group (the samplers'; an approximation against its
        optimum makes fewer, ``study.targets``).
    pair_rows, pair_groups
        Tests of the correlation of a pair of one data set's parameters, per data set and
        pooled per N (a full-rank approximation against its optimum, ``study.targets``):
        they share the rows' and the pooled halves.
    """

    alpha: float
    rows: int
    groups: int
    extra: int = 0
    row_tests: tuple[str, ...] = ROW_TESTS
    pooled_tests: tuple[str, ...] = POOLED_TESTS
    pair_rows: int = 0
    pair_groups: int = 0

    @property
    def alpha_row(self) -> float:
        """Bonferroni share of ``alpha`` for one per-row test."""
        return self.alpha / 2 / (len(self.row_tests) * self.rows + self.pair_rows)

    @property
    def alpha_pooled(self) -> float:
        """Bonferroni share of ``alpha`` for one pooled test."""
        return self.alpha / 2 / (len(self.pooled_tests) * self.groups + self.pair_groups + self.extra)

    @property
    def z_crit(self) -> float:
        """Two-sided Normal quantile at the per-row false-alarm probability."""
        return float(stats.norm.isf(self.alpha_row / 2))

    @property
    def z_crit_pooled(self) -> float:
        """Two-sided Normal quantile at the pooled tests' false-alarm probability."""
        return float(stats.norm.isf(self.alpha_pooled / 2))

    def as_dict(self) -> dict[str, object]:
        """Return the correction in plain numbers, for results.json and the report."""
        return {
            "alpha": self.alpha,
            "correction": "Bonferroni: alpha/2 over the per-row tests, alpha/2 over the pooled tests",
            "standard_errors": "ArviZ's MCSE formulas with the exact posterior's sd and excess kurtosis "
            "(an approximation judged against its optimum: the optimum's); the effective sample sizes from "
            "the draws",
            "row_tests": list(self.row_tests),
            "pooled_tests": list(self.pooled_tests),
            "rows": self.rows,
            "groups": self.groups,
            "alpha_row": self.alpha_row,
            "alpha_pooled": self.alpha_pooled,
            "z_crit_row": self.z_crit,
            "z_crit_pooled": self.z_crit_pooled,
        }


def signed(x: float, decimals: int) -> str:
    """Write ``x`` with its sign and ``decimals`` decimals; in three significant digits past a million.

    A chain that ran away puts its mean thousands of digits past the limit, which fixed
    decimals would print in full.
    """
    return f"{x:+.{decimals}f}" if abs(x) < 1e6 else f"{x:+.3g}"


def _ess_bulk(draws: np.ndarray) -> np.ndarray:
    """ArviZ's bulk ESS of each row of ``draws (row, chain, draw)``."""
    return batched_diagnostics.ess(draws, "bulk")


def _ess_tail(draws: np.ndarray) -> np.ndarray:
    """ArviZ's tail ESS (5% and 95% quantiles) of each row of ``draws (row, chain, draw)``."""
    return batched_diagnostics.ess(draws, "tail")


def thin_factor(draws: np.ndarray, *, ess_bulk: float | None = None) -> int:
    """Smallest factor at which the kept draws of ``draws (chain, draw)`` are nearly independent.

    One row of ``thin_factors``, which see.
    """
    return int(thin_factors(draws[None], ess_bulk=None if ess_bulk is None else np.array([ess_bulk]))[0])


def thin_factors(draws: np.ndarray, *, ess_bulk: np.ndarray | None = None) -> np.ndarray:
    """Find each row's smallest factor at which its kept draws are nearly independent.

    ``draws`` is ``(row, chain, draw)``.

    Start from ``ceil(draws / min(bulk ESS, tail ESS))`` and grow it until the bulk and
    tail ESS of the kept draws themselves reach their number, or until fewer than
    ``MIN_KEPT`` draws would be left. See the module docstring for why the count alone
    is not enough. ``ess_bulk`` is the rows' bulk ESS where the caller has it already
    (ArviZ's, as computed here), so that it is not computed twice.

    The rows are searched together: at each step the rows still searching are grouped by
    their candidate factor and each group's ESS computed in one batched call
    (``study.batched_diagnostics``, ArviZ's numbers to the bit), so each row's factor is the
    one its own search alone would find.
    """
    draws = np.asarray(draws)
    rows = draws.shape[0]
    total = draws[0].size if rows else 0
    bulk = _ess_bulk(draws) if ess_bulk is None else np.asarray(ess_bulk, dtype=float).reshape(rows)
    tail = _ess_tail(draws)
    ess = np.where(tail < bulk, tail, bulk)  # Python's min(bulk, tail)
    with np.errstate(divide="ignore", invalid="ignore"):
        start = np.ceil(total / ess)
    usable = np.isfinite(ess) & (ess > 0)
    factor = np.ones(rows, dtype=int)
    factor[usable] = np.maximum(1, start[usable]).astype(int)
    found = np.zeros(rows, dtype=int)
    searching = np.ones(rows, dtype=bool)
    while searching.any():
        for f in np.unique(factor[searching]):
            group = np.flatnonzero(searching & (factor == f))
            kept = draws[group][:, :, ::f]
            if kept[0].size < MIN_KEPT:
                found[group], searching[group] = max(1, f - 1), False
                continue
            if f == 1:  # the kept draws are all the draws: their ESS are the ones above
                independent = (bulk[group] >= total) & (tail[group] >= total)
            else:  # min(bulk, tail) >= size; the tail ESS first: it is the cheaper (no ranks) and
                # fails more often, so the bulk ESS is computed only where the tail's passes
                independent = _ess_tail(kept) >= kept[0].size
                if independent.any():
                    independent[independent] = _ess_bulk(kept[independent]) >= kept[0].size
            done = group[independent]
            found[done], searching[done] = f, False
            factor[group[~independent]] += 1
    return found


def pit_values(draws: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray], factor: int) -> np.ndarray:
    """Return the exact CDF at every ``factor``-th draw of each chain: uniform if the draws are right."""
    return np.asarray(cdf(draws[:, ::factor].ravel()), dtype=float)


def ks_uniform_pvalue(pit: np.ndarray) -> float:
    """KS p-value of PIT values against the uniform distribution (exact under independence)."""
    return float(stats.kstest(pit, "uniform").pvalue)


def ks_uniform_pvalues(pits: Sequence[np.ndarray]) -> np.ndarray:
    """``ks_uniform_pvalue`` of each row of PIT values, the rows of one length in one SciPy call.

    SciPy's ``kstest`` takes a batch axis and sorts, measures and prices each row on its own
    (the exact p-value element by element), so each p-value is its row's alone, to the bit
    (``tests/test_checks.py`` compares); one call per length saves SciPy's per-call checks,
    about half of a row's test.
    """
    out = np.full(len(pits), np.nan)
    by_length: dict[int, list[int]] = {}
    for i, pit in enumerate(pits):
        by_length.setdefault(np.size(pit), []).append(i)
    for rows in by_length.values():
        stack = np.stack([np.asarray(pits[i], dtype=float).ravel() for i in rows])
        out[rows] = stats.kstest(stack, "uniform", axis=-1).pvalue
    return out


def rhat_limit(ess: np.ndarray, *, chains: int, draws: int, alpha: float) -> np.ndarray:
    """R-hat a stationary sampler with effective sample size ``ess`` exceeds with probability ``alpha``.

    ArviZ's R-hat splits each chain in two (``M = 2 chains`` halves of ``h = draws // 2``)
    and computes ``R^2 = (h - 1) / h + var(half-chain means) / W``. Under stationarity each
    half-chain mean has variance ``sigma^2 M / ESS``, so ``var / W`` is about
    ``(M / ESS) chi2_{M-1} / (M - 1)``. ArviZ reports the larger of the bulk and folded
    R-hat; ``ess`` should be the smaller of the matching ESS values, and each gets half
    of ``alpha``. NaN (no test) with a single chain.
    """
    if chains < 2:
        return np.full(np.shape(ess), np.nan)
    m, h = 2 * chains, draws // 2
    q = stats.chi2.isf(alpha / 2, m - 1)
    ess = np.maximum(np.asarray(ess, dtype=float), 1.0)
    return np.sqrt((h - 1) / h + m * q / (ess * (m - 1)))


def excess_kurtosis(posterior) -> float:
    """Excess kurtosis of a frozen SciPy distribution; inf where its fourth moment does not exist."""
    k = float(posterior.stats(moments="k"))
    return k if np.isfinite(k) else np.inf


def null_standard_errors(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the standard errors of the sampled mean and sd if the draws came from the exact posterior.

    ``se_mean = sd_exact / sqrt(ESS_mean)`` and ``se_sd = sd_exact sqrt((kurtosis_exact + 2) /
    ESS_sd) / 2``, with ArviZ's ESS of the draws and of their squared deviations: ArviZ's own
    MCSE formulas with the exact posterior's sd and excess kurtosis in place of the draws'.
    Where the exact fourth moment does not exist the sd's error falls back to ArviZ's MCSE.

    ``rows`` needs post_sd_exact, kurtosis_exact, ess_mean, ess_sd and mcse_sd. See the module
    docstring for why the exact moments and not the draws' own.
    """
    sd = rows["post_sd_exact"].to_numpy(dtype=float)
    kurtosis = rows["kurtosis_exact"].to_numpy(dtype=float)
    se_mean = sd / np.sqrt(rows["ess_mean"].to_numpy(dtype=float))
    with np.errstate(invalid="ignore"):
        se_sd = sd * np.sqrt((kurtosis + 2) / rows["ess_sd"].to_numpy(dtype=float)) / 2
    se_sd = np.where(np.isfinite(kurtosis), se_sd, rows["mcse_sd"].to_numpy(dtype=float))
    return se_mean, se_sd


def single_draw_risk(posterior, *, n: float, z_crit: float, moment: str) -> float:
    """Probability that one of ``n`` effective draws alone carries a moment's z past ``z_crit``.

    The sampled mean and variance are averages over the draws, and one draw at distance
    ``c`` from the exact mean moves them by ``c / n`` and ``(c^2 - sd^2) / n``. The z of the
    mean passes ``z_crit`` when ``c > z_crit sd sqrt(n)``; the z of the sd when ``c^2 > sd^2
    + n ((sd + z_crit se_sd)^2 - sd^2)``, with ``se_sd`` from the exact excess kurtosis. The
    risk is ``n`` times the exact posterior's mass beyond that distance: where it is not
    small beside the test's alpha, the Normal law of the z fails at the limit (a heavy tail,
    whose far draws arrive one at a time), whatever the number of draws. Inf for the sd when
    the fourth moment does not exist.
    """
    mean, sd = float(posterior.mean()), float(posterior.std())
    if moment == "mean":
        c = z_crit * sd * np.sqrt(n)
    else:
        kurtosis = excess_kurtosis(posterior)
        if not np.isfinite(kurtosis):
            return np.inf
        se_sd = sd * np.sqrt((kurtosis + 2) / n) / 2
        c = np.sqrt(sd**2 + n * ((sd + z_crit * se_sd) ** 2 - sd**2))
    return float(n * (posterior.sf(mean + c) + posterior.cdf(mean - c)))


def normal_scores(draws: np.ndarray, posterior) -> np.ndarray:
    """``Phi^-1(F_exact(draws))``: standard Normal draws if the draws come from the exact posterior.

    Each tail is computed from its own side (``cdf`` below the median, ``sf`` above), so far
    draws keep their precision; scores are clipped at +-38, beyond any float's reach.
    """
    x = np.asarray(draws, dtype=float)
    upper = x > float(posterior.median())
    with np.errstate(divide="ignore"):
        scores = np.where(upper, -stats.norm.ppf(posterior.sf(x)), stats.norm.ppf(posterior.cdf(x)))
    return np.clip(scores, -38.0, 38.0)


def score_heavy_tails(
    rows: pd.DataFrame,
    posteriors: list,
    draws: list[np.ndarray],
    *,
    z_crit: float,
    alpha: float,
    ess_floor: float,
) -> None:
    """Move the mean and sd tests of heavy-tailed rows to the draws' normal scores, in place.

    A row's moment moves when ``single_draw_risk`` at the row's ESS (never below
    ``ess_floor``, the count under which the study already calls the run too short) is
    above ``SCORE_RISK_SHARE`` of the test's one-sided alpha. On the normal scores the
    exact posterior is a standard Normal with every moment, so ``z_mean = mean / se`` and
    ``z_sd = (sd - 1) / se`` with ``se`` from ArviZ's ESS of the scores, and the pooled
    tests sum these errors, already in exact sd units. Sets ``moments_on`` ("draws" or
    "normal scores", per moment) and the pooled inputs ``mean_error_sds``, ``mean_se_sds``,
    ``sd_error_rel`` and ``sd_se_rel`` for every row. ``posteriors`` and ``draws``
    (chain, draw) follow the rows' order. See the module docstring for the measurement.
    """
    sd = rows["post_sd_exact"].to_numpy(dtype=float)
    rows["mean_error_sds"] = (rows["post_mean"] - rows["post_mean_exact"]).to_numpy(dtype=float) / sd
    rows["mean_se_sds"] = rows["se_mean"].to_numpy(dtype=float) / sd
    rows["sd_error_rel"] = rows["post_sd"].to_numpy(dtype=float) / sd - 1
    rows["sd_se_rel"] = rows["se_sd"].to_numpy(dtype=float) / sd
    on = []
    limit = SCORE_RISK_SHARE * alpha / 2
    for i, (post, d) in enumerate(zip(posteriors, draws, strict=True)):
        moved = [
            m
            for m, ess in (("mean", rows["ess_mean"].iat[i]), ("sd", rows["ess_sd"].iat[i]))
            if single_draw_risk(post, n=max(float(np.nan_to_num(ess)), ess_floor), z_crit=z_crit, moment=m)
            > limit
        ]
        on.append("normal scores (" + ", ".join(moved) + ")" if moved else "draws")
        if not moved:
            continue
        y = normal_scores(d, post)
        if "mean" in moved:
            se = 1 / np.sqrt(_ess(y, "mean"))
            rows.iloc[i, rows.columns.get_indexer(["mean_error_sds", "mean_se_sds", "z_mean"])] = (
                y.mean(),
                se,
                y.mean() / se,
            )
        if "sd" in moved:
            se = np.sqrt(2 / _ess(y, "sd")) / 2
            error = y.std(ddof=1) - 1
            rows.iloc[i, rows.columns.get_indexer(["sd_error_rel", "sd_se_rel", "z_sd"])] = (
                error,
                se,
                error / se,
            )
    rows["moments_on"] = on


def _ess(draws: np.ndarray, method: str) -> float:
    return float(array_stats.ess(draws, method=method, chain_axis=0, draw_axis=1))


def sampler_verdicts(rows: pd.DataFrame, thresholds: Thresholds) -> tuple[np.ndarray, list[str]]:
    """Agree/disagree per row, and a reason for each disagreement ('' when it agrees).

    ``rows`` needs the columns z_mean, z_sd, mode_error_sd, mode_tol_sd, ks_pvalue, r_hat,
    r_hat_limit and divergences.
    """
    z_crit, a = thresholds.z_crit, thresholds.alpha_row
    reasons = []
    for r in rows.itertuples():
        why = []
        scored = getattr(r, "moments_on", "draws")
        for moment, z in (("mean", r.z_mean), ("sd", r.z_sd)):
            if not abs(z) <= z_crit:
                of = " of the normal scores" if moment in scored else ""
                why.append(f"{moment}{of} off by {signed(z, 2)} MCSE (limit {z_crit:.2f})")
        if not abs(r.mode_error_sd) <= r.mode_tol_sd:
            why.append(f"mode off by {signed(r.mode_error_sd, 3)} sd (limit {r.mode_tol_sd:.3f})")
        if not r.ks_pvalue >= a:
            why.append(f"KS p = {r.ks_pvalue:.2g} < {a:.2g}")
        if np.isfinite(r.r_hat_limit) and not np.isfinite(r.r_hat):
            why.append("R-hat undefined: no chain moved (each chain's draws are a single value)")
        elif np.isfinite(r.r_hat_limit) and not r.r_hat <= r.r_hat_limit:
            why.append(f"R-hat {r.r_hat:.3f} > {r.r_hat_limit:.3f}")
        if r.divergences > 0:
            why.append(f"{int(r.divergences)} divergences")
        reasons.append("; ".join(why))
    return _agree(reasons), reasons


def _pooled_z(errors: np.ndarray, ses: np.ndarray) -> float:
    return float(np.sum(errors) / np.sqrt(np.sum(ses**2)))


def pooled_tests(
    rows: pd.DataFrame, pits: Mapping[tuple[str, int], list[np.ndarray]], thresholds: Thresholds
) -> pd.DataFrame:
    """One row per (param, N, test): the pooled statistic, its p-value and the verdict.

    ``rows`` are one engine's rows; ``pits[(param, n)]`` the PIT values of each row's
    thinned draws. ``detectable`` is the smallest error the test finds with probability
    ``POWER`` (mean: a shift in exact sd; sd: a relative error; PIT: not defined).
    """
    out = []
    z_crit, a = thresholds.z_crit_pooled, thresholds.alpha_pooled
    reach = z_crit + stats.norm.isf(1 - POWER)
    for (param, n), g in rows.groupby(["param", "n"], sort=False):
        mean_err, mean_se = g["mean_error_sds"].to_numpy(), g["mean_se_sds"].to_numpy()
        sd_err, sd_se = g["sd_error_rel"].to_numpy(), g["sd_se_rel"].to_numpy()
        pit = np.concatenate(pits[(param, n)])
        k = len(g)
        for test, stat, p, detectable in (
            ("mean", (z := _pooled_z(mean_err, mean_se)), 2 * stats.norm.sf(abs(z)),
             reach * np.sqrt(np.sum(mean_se**2)) / k),
            ("sd", (z := _pooled_z(sd_err, sd_se)), 2 * stats.norm.sf(abs(z)),
             reach * np.sqrt(np.sum(sd_se**2)) / k),
            ("pit", (ks := stats.kstest(pit, "uniform")).statistic, float(ks.pvalue), np.nan),
        ):  # fmt: skip
            out.append(
                {
                    "model": g["model"].iloc[0],
                    "sampler": g["sampler"].iloc[0],
                    "n": n,
                    "param": param,
                    "test": test,
                    "statistic": float(stat),
                    "pvalue": float(p),
                    "alpha": a,
                    "agree": bool(p >= a),
                    "reps": k,
                    "values": len(pit) if test == "pit" else k,
                    "detectable": float(detectable),
                }
            )
    frame = pd.DataFrame(out)
    frame["reason"] = [
        "" if r.agree else _pooled_reason(r.test, r.statistic, r.pvalue, r.alpha, z_crit)
        for r in frame.itertuples()
    ]
    return frame


def configuration_warnings(rows: pd.DataFrame, pooled: pd.DataFrame, *, chains: int) -> list[str]:
    """Why a sampler's verdict means little at this configuration (empty when it is long enough).

    Read from the run itself: the pooled tests' detectable errors (which fall with the
    replications and the effective draws), the derived R-hat limits and the chain count.
    """
    out = []
    if chains < 2:
        out.append("with 1 chain R-hat is not checked; use --chains 2 or more")
    floor = ESS_PER_CHAIN * chains
    low = rows["ess_bulk"] < floor
    if low.any():
        out.append(
            f"{int(low.sum())} of {len(rows)} rows have a bulk ESS below {ESS_PER_CHAIN} per chain ({floor}; "
            f"smallest {rows['ess_bulk'].min():.0f}): too few effective draws for their MCSEs and R-hat "
            "to be trusted; raise --draws"
        )
    if len(pooled):
        detectable = pooled.groupby("test")["detectable"].max()
        shift, sd_err = float(detectable.get("mean", 0)), float(detectable.get("sd", 0))
        if shift > SHORT_SHIFT_SD or sd_err > SHORT_SD_ERROR:
            out.append(
                f"too short for its verdicts to mean much: a pass rules out only a mean shift above "
                f"{shift:.2g} posterior sd or an sd error above {100 * sd_err:.2g}% (90% power; the warning "
                f"starts above {SHORT_SHIFT_SD:g} sd or {100 * SHORT_SD_ERROR:g}%); raise --draws, --chains "
                f"or --reps"
            )
    limit = float(rows["r_hat_limit"].max()) if "r_hat_limit" in rows else np.nan
    if limit > RHAT_LOOSE:
        out.append(
            f"R-hat limit up to {limit:.3f}: with so few effective draws R-hat catches only gross failures "
            "to mix; raise --draws"
        )
    return out


def _pooled_reason(test: str, stat: float, p: float, a: float, z_crit: float) -> str:
    if test == "pit":
        return f"pooled PIT KS D = {stat:.3g}, p = {p:.2g} < {a:.2g}"
    return f"pooled {test} off by {signed(stat, 2)} se (limit {z_crit:.2f})"


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
