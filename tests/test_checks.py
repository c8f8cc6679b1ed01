"""The calibration behind the agreement tests, and the seeding scheme."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from arviz_stats.base import array_stats
from scipy import stats

from models.families import FAMILIES
from study import checks, mode_tolerance, run
from study.run import simulate_datasets
from study.seeds import data_rng, sampler_seed
from tests import budget


@pytest.mark.statistical(1)
@pytest.mark.parametrize("m", [700, 3000])
@pytest.mark.parametrize(
    ("posterior", "mode"),
    [(stats.norm(2.0, 0.5), 2.0), (stats.gamma(3.0, scale=0.1), 0.2), (stats.beta(2.0, 30.0), 1 / 30),
     (stats.invgamma(4.0, scale=3.0), 3.0 / 5.0)],
    ids=["normal", "gamma", "beta", "invgamma"],
)  # fmt: skip
def test_mode_tolerance_bounds_a_fresh_measurement(posterior, mode, m):
    """The tolerance's spread is an upper bound on the half-sample mode's RMSE, and not a loose one.

    A fresh simulation (new seed, 2000 sets) measures the RMSE about the exact mode to
    about 1.6%; the bound (tolerance / z) must lie above it, allowing the test budget's z
    standard errors for this check's own noise, and within 35% of it (the 99% upper bound on
    200 sets inflates by about 13%; 35% is 12 of the check's standard errors above that).
    """
    reps = 2000
    draws = posterior.rvs(size=(reps, m), random_state=budget.seed(99))
    modes = np.asarray(array_stats.mode(draws, axis=-1))
    rmse = np.sqrt(np.mean((modes - mode) ** 2)) / posterior.std()
    se = rmse / np.sqrt(2 * reps)
    bound = mode_tolerance.mode_tolerance_sd(posterior, mode=mode, sd=posterior.std(), m=m, z_crit=1.0)
    assert bound > rmse - stats.norm.isf(budget.alpha_each(2)) * se
    assert bound < 1.35 * rmse


@pytest.mark.statistical(1)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_inverse_gamma_draws_follow_the_inverse_gamma_law(seed):
    """mode_tolerance._draws draws an inverse-gamma as scale / Gamma(a): a KS test against SciPy's CDF.

    Three seeds at the test budget's alpha each, 10^5 draws (a shift of 0.8% of the
    distribution's mass would be caught).
    """
    law = stats.invgamma(3.5, loc=0.5, scale=2.0)
    draws = mode_tolerance._draws(law, (100_000,), np.random.default_rng(budget.seed(seed)))
    assert stats.kstest(draws, law.cdf).pvalue > budget.ALPHA


def test_thresholds_split_alpha_between_rows_and_pooled_tests():
    t = checks.Thresholds(alpha=0.01, rows=60, groups=3)
    assert t.alpha_row == pytest.approx(0.005 / (len(checks.ROW_TESTS) * 60))
    assert t.alpha_pooled == pytest.approx(0.005 / (len(checks.POOLED_TESTS) * 3))
    # Bonferroni: every test of the run together spends alpha
    total = t.alpha_row * len(checks.ROW_TESTS) * 60 + t.alpha_pooled * len(checks.POOLED_TESTS) * 3
    assert total == pytest.approx(0.01)
    assert stats.norm.sf(t.z_crit) * 2 == pytest.approx(t.alpha_row)
    assert stats.norm.sf(t.z_crit_pooled) * 2 == pytest.approx(t.alpha_pooled)


def test_correlation_tests_take_their_share_of_both_halves():
    """A full-rank approximation against its optimum: 2 tests per row and group, 60 pair tests per data
    set and 3 pooled, and the evidence test: together they spend alpha."""
    t = checks.Thresholds(alpha=0.01, rows=120, groups=6, extra=1, row_tests=("mean", "sd"),
                          pooled_tests=("mean", "sd"), pair_rows=60, pair_groups=3)  # fmt: skip
    assert t.alpha_row * (2 * 120 + 60) == pytest.approx(0.005)
    assert t.alpha_pooled * (2 * 6 + 3 + 1) == pytest.approx(0.005)


def verdict_rows(**columns):
    base = dict(z_mean=0.0, z_sd=0.0, mode_error_sd=0.0, mode_tol_sd=0.5, ks_pvalue=0.5, r_hat=1.0,
                r_hat_limit=1.01, ess_bulk=1000.0, divergences=0)  # fmt: skip
    n = max(len(v) for v in columns.values())
    return pd.DataFrame({k: columns.get(k, [v] * n) for k, v in base.items()})


def test_verdicts_name_each_failure():
    t = checks.Thresholds(alpha=0.01, rows=6, groups=1)
    rows = verdict_rows(
        z_mean=[0.1, 6.0, 0.0, 0.0, 0.0, 0.0],
        z_sd=[0.0, 0.0, 0.0, 0.0, 0.0, -7.0],
        mode_error_sd=[0.0, 0.0, 0.9, 0.0, 0.0, 0.0],
        ks_pvalue=[0.5, 0.5, 0.5, 0.5, 1e-7, 0.5],
        r_hat=[1.0, 1.0, 1.0, 1.05, 1.0, 1.0],
        ess_bulk=[1000, 1000, 1000, 100, 1000, 1000],
        divergences=[0, 0, 0, 3, 0, 0],
    )
    agree, reasons = checks.sampler_verdicts(rows, t)
    assert agree.tolist() == [True, False, False, False, False, False]
    assert reasons[0] == ""
    assert "mean off by +6.00 MCSE" in reasons[1]
    assert "mode off by +0.900 sd" in reasons[2]
    assert "R-hat 1.050 > 1.010" in reasons[3] and "ESS" not in reasons[3]  # a low ESS is a warning
    assert "3 divergences" in reasons[3]
    assert "KS p = 1e-07" in reasons[4]
    assert "sd off by -7.00 MCSE" in reasons[5]


def test_chains_that_never_moved_are_named_in_the_suites_own_words(recwarn):
    """R-hat is inf (chains frozen apart) or NaN (frozen together): one plain reason, no NumPy warning."""
    rows = verdict_rows(r_hat=[np.inf, np.nan])
    agree, reasons = checks.sampler_verdicts(rows, checks.Thresholds(alpha=0.01, rows=2, groups=1))
    assert not agree.any()
    assert all("R-hat undefined: no chain moved" in r for r in reasons)
    frozen = xr.DataArray(np.repeat([[1.0], [2.0]], 50, axis=1), dims=("chain", "draw"))
    assert not np.isfinite(float(run._posterior_stats(frozen, 0.95)["r_hat"]))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_nan_statistics_never_agree():
    rows = verdict_rows(z_mean=[np.nan], ks_pvalue=[np.nan], ess_bulk=[np.nan])
    agree, _ = checks.sampler_verdicts(rows, checks.Thresholds(alpha=0.01, rows=1, groups=1))
    assert not agree[0]
    assert not checks.close_verdicts(mean_error_sd=np.array([np.nan]), sd_ratio=np.array([1.0]))[0][0]
    assert not checks.map_verdicts(mode_error_sd=np.array([np.nan]))[0][0]


@pytest.mark.statistical(1)
def test_rhat_limit_matches_its_null_rate_on_iid_draws():
    """Stationary iid chains: ArviZ's R-hat exceeds the derived limit about as often as stated."""
    rng = np.random.default_rng(budget.seed(8))
    chains, draws, sets, alpha = 4, 200, 4000, 0.05
    x = rng.standard_normal((sets, chains, draws))
    rhat = np.asarray(array_stats.rhat(x, chain_axis=-2, draw_axis=-1))
    ess = np.minimum(
        array_stats.ess(x, method="bulk", chain_axis=-2, draw_axis=-1),
        array_stats.ess(x, method="folded", chain_axis=-2, draw_axis=-1),
    )
    rate = np.mean(rhat > checks.rhat_limit(ess, chains=chains, draws=draws, alpha=alpha))
    # at most alpha (the limit is a union bound over bulk and folded R-hat), and not far below
    # (alpha / 4 is 7 standard errors below alpha: 2.5 of the 4000 sets is far from 50)
    assert rate <= alpha + stats.norm.isf(budget.alpha_each(2)) * np.sqrt(alpha * (1 - alpha) / sets), rate
    assert rate >= alpha / 4, rate
    assert np.isnan(checks.rhat_limit(np.array([100.0]), chains=1, draws=100, alpha=0.01)).all()


def test_approximation_bounds_name_each_failure():
    agree, reasons = checks.close_verdicts(
        mean_error_sd=np.array([0.1, 0.3, 0.0]), sd_ratio=np.array([1.1, 1.0, 1.3])
    )
    assert agree.tolist() == [True, False, False]
    assert "mean off by +0.300 sd" in reasons[1] and "sd ratio 1.300" in reasons[2]
    agree, reasons = checks.map_verdicts(mode_error_sd=np.array([1e-5, -0.01]))
    assert agree.tolist() == [True, False] and "MAP off by -0.01 sd" in reasons[1]


def ar1(rho: float, n: int, rng) -> np.ndarray:
    x = np.empty((1, n))
    x[0, 0] = rng.standard_normal()
    for i in range(1, n):
        x[0, i] = rho * x[0, i - 1] + np.sqrt(1 - rho**2) * rng.standard_normal()
    return x


@pytest.mark.statistical(2)
def test_thinning_leaves_nearly_independent_draws():
    """Positively correlated (AR 0.95) and antithetic (AR -0.5) chains: the kept draws pass KS.

    Thinning an antithetic chain by the old rule, ceil(n / ESS), keeps every second draw,
    whose lag-1 autocorrelation is +0.25: the rule here must not. Any other factor keeps
    draws at most +0.0625 correlated (factor 4), or antithetic ones (odd factors, for which
    the KS test is conservative). Over 2,000 seeds of 4,000 AR(-0.5) draws the factor was 1
    in 11.3% (the kept draws' own tail ESS reached their number at once), 3 in 33%, never 2:
    there the kept draws' min(bulk, tail) ESS was 0.59 of their number (sd 0.053, largest
    0.76 over 400 seeds), 7.8 sd short. (This test asserted a factor of at least 3 until seed
    offset 11 drew a factor of 1.) Without thinning
    a slow chain fails the same test: at AR 0.999 the unthinned KS p-value of 20,000 draws
    was at most 3e-14 over 400 seeds (at AR 0.99 it stayed above the test budget's alpha in
    8.5% of them, at AR 0.995 in 1.3%: too rare a failure to assert).
    """
    rng = np.random.default_rng(budget.seed(3))
    slow = ar1(0.95, 20_000, rng)
    factor = checks.thin_factor(slow)
    assert factor >= 20  # (1 + rho) / (1 - rho) = 39 draws per effective draw
    assert checks.ks_uniform_pvalue(checks.pit_values(slow, stats.norm.cdf, factor)) > budget.ALPHA
    slower = ar1(0.999, 20_000, rng)
    assert checks.ks_uniform_pvalue(checks.pit_values(slower, stats.norm.cdf, 1)) < budget.ALPHA
    antithetic = ar1(-0.5, 4000, rng)
    assert checks.thin_factor(antithetic) != 2


def test_ks_pvalues_of_many_rows_are_each_rows_own():
    """The rows' KS tests in one SciPy call per length equal the tests one row at a time, to the bit.

    Lengths from 3 (SciPy's exact small-sample branches) to 4,000, rows that pass and rows that
    fail (a p-value near 1e-30), ties, a row with a NaN (SciPy propagates it), in mixed order.
    """
    rng = np.random.default_rng(5)
    pits = [rng.uniform(size=n) for n in (4000, 3, 40, 4000, 141, 1000, 40)]
    skewed, tied = rng.uniform(size=1000) ** 3, np.round(rng.uniform(size=200), 1)
    pits += [skewed, tied, np.r_[rng.uniform(size=39), np.nan]]
    batched = checks.ks_uniform_pvalues(pits)
    one_by_one = np.array([checks.ks_uniform_pvalue(u) for u in pits])
    np.testing.assert_array_equal(batched, one_by_one)
    assert one_by_one[7] < 1e-20 and np.isnan(one_by_one[-1])
    assert checks.ks_uniform_pvalues([]).shape == (0,)


def test_the_thinning_factor_is_the_first_from_its_start_whose_kept_draws_pass_both_ess():
    """Its definition, whatever order the search computes the two ESS in: AR chains from antithetic to slow.

    The factor starts at ceil(draws / min(bulk, tail ESS)); every factor from there up to the
    one returned keeps draws whose bulk or tail ESS falls short of their number, and the one
    returned keeps draws that reach it with both (or leaves fewer than MIN_KEPT after it).
    """

    def passes(draws: np.ndarray, f: int) -> bool:
        kept = draws[:, ::f]
        return checks._ess_bulk(kept) >= kept.size and checks._ess_tail(kept) >= kept.size

    rng = np.random.default_rng(5)
    for rho in (-0.5, 0.0, 0.0, 0.3, 0.8):
        draws = ar1(rho, 4000, rng)
        factor = checks.thin_factor(draws)
        start = max(1, int(np.ceil(draws.size / min(checks._ess_bulk(draws), checks._ess_tail(draws)))))
        assert factor >= start
        assert not any(passes(draws, f) for f in range(start, factor)), rho
        assert passes(draws, factor) or draws[:, :: factor + 1].size < checks.MIN_KEPT, rho


def test_each_data_set_depends_only_on_seed_and_its_cell():
    family = FAMILIES["normal_normal"]
    settings = family.settings()
    a = simulate_datasets(family, settings, (10, 100), 5, seed=1)
    b = simulate_datasets(family, settings, (100, 3), 7, seed=1)
    np.testing.assert_array_equal(a[100], b[100][:5])
    assert not np.array_equal(a[10][0], simulate_datasets(family, settings, (10,), 1, seed=2)[10][0])
    x = family.simulate(data_rng(1, family.key, 100, 4), n=100, reps=1, settings=settings)
    np.testing.assert_array_equal(a[100][4], x[0])


def test_sampler_seed_is_stable_and_distinct():
    assert sampler_seed(1, "normal_normal", "nuts") == sampler_seed(1, "normal_normal", "nuts")
    assert sampler_seed(1, "normal_normal", "nuts") != sampler_seed(2, "normal_normal", "nuts")


def test_configuration_warnings_name_what_makes_a_run_too_short():
    """No warning at the default study's reach; one per reason when chains, power or R-hat fall short."""
    pooled = pd.DataFrame({"test": ["mean", "sd", "pit"], "detectable": [0.02, 0.02, np.nan]})
    rows = pd.DataFrame({"r_hat_limit": [1.004, 1.01], "ess_bulk": [3000.0, 5000.0]})
    assert checks.configuration_warnings(rows, pooled, chains=4) == []
    short = pooled.assign(detectable=[0.1, 0.13, np.nan])
    (warning,) = checks.configuration_warnings(rows, short, chains=2)
    assert "0.1 posterior sd" in warning and "13%" in warning
    loose = pd.DataFrame({"r_hat_limit": [1.004, 1.08], "ess_bulk": [3000.0, 5000.0]})
    warnings = checks.configuration_warnings(loose, pooled, chains=1)
    assert len(warnings) == 2 and "1 chain" in warnings[0] and "1.080" in warnings[1]
    (warning,) = checks.configuration_warnings(rows.assign(ess_bulk=[3000.0, 150.0]), pooled, chains=2)
    assert warning.startswith("1 of 2 rows have a bulk ESS below 100 per chain (200; smallest 150)")


def test_a_runaway_chains_z_is_written_in_three_figures_not_in_full():
    """A mean 1e148 MCSE off would print 150 digits with fixed decimals."""
    assert checks.signed(4.654, 2) == "+4.65" and checks.signed(-0.5, 3) == "-0.500"
    assert checks.signed(-2.856e148, 2) == "-2.86e+148"


def test_the_heavy_tail_rule_moves_only_normal_inverse_gamma_sigma2_at_n10_in_the_default_studies():
    """Where one draw alone can carry the sd's z past the limit, the sd is tested on normal scores.

    At every family's default settings and N, with the effective sample size anywhere from
    the study's floor (400) to 12,000, the rule fires only for sigma2's inverse-gamma posterior
    of shape 8 at N = 10: there one draw passes the limit 4.46 with probability 2.8e-4 to
    9e-4 per row, 70 to 230 times the test's one-sided alpha (the calibration's three upward
    sd alarms on that row, docs/false_alarms.md); everywhere else it is orders of magnitude below.
    """
    t = checks.Thresholds(alpha=0.01, rows=120, groups=6)
    limit = checks.SCORE_RISK_SHARE * t.alpha_row / 2
    moved = set()
    for key, family in FAMILIES.items():
        settings = family.settings()
        for n in (10, 100, 1000):
            x = family.simulate(np.random.default_rng(7), n=n, reps=3, settings=settings)
            for one in x:
                for param, dens in family.densities(one, settings).items():
                    for ess in (400, 4000, 12_000):  # NUTS's antithetic draws pass 4,000
                        for moment in ("mean", "sd"):
                            risk = checks.single_draw_risk(
                                dens["posterior"], n=ess, z_crit=t.z_crit, moment=moment
                            )
                            if risk > limit:
                                moved.add((key, param, n, moment))
    assert moved == {("normal_inverse_gamma", "sigma2", 10, "sd")}
    ig8 = stats.invgamma(8.0)
    assert checks.single_draw_risk(ig8, n=4000, z_crit=t.z_crit, moment="sd") > 50 * t.alpha_row / 2
    assert checks.single_draw_risk(stats.invgamma(3.5), n=4000, z_crit=t.z_crit, moment="sd") == np.inf
    assert checks.single_draw_risk(stats.t(3), n=4000, z_crit=t.z_crit, moment="mean") > limit


def test_normal_scores_of_a_normal_posterior_are_its_standardised_draws_and_keep_far_tails():
    post = stats.norm(2.0, 0.5)
    x = post.rvs(size=(4, 250), random_state=3)
    np.testing.assert_allclose(checks.normal_scores(x, post), (x - 2.0) / 0.5, atol=1e-9)
    ig = stats.invgamma(8.0)
    far = checks.normal_scores(np.array([ig.isf(1e-30), ig.ppf(1e-30)]), ig)
    np.testing.assert_allclose(far, [stats.norm.isf(1e-30), stats.norm.ppf(1e-30)], rtol=1e-6)


def test_heavy_tailed_rows_are_judged_on_their_scores_and_say_so():
    """A far draw that pushes the draws' sd past the limit leaves the scores' sd inside it."""
    post = stats.invgamma(8.0, scale=7.0)
    draws = post.ppf((np.arange(4000) + 0.5) / 4000)  # a perfect sample, in random order
    draws = draws[np.random.default_rng(1).permutation(4000)].reshape(4, 1000)
    draws[0, 0] = post.mean() + 40 * post.std()  # one far draw: probability about 1e-7 each
    rows = pd.DataFrame({"post_mean": [draws.mean()], "post_sd": [draws.std(ddof=1)],
                         "post_mean_exact": [post.mean()], "post_sd_exact": [post.std()],
                         "kurtosis_exact": [checks.excess_kurtosis(post)], "mcse_sd": [np.nan],
                         "ess_mean": [4000.0], "ess_sd": [4000.0]})  # fmt: skip
    rows["se_mean"], rows["se_sd"] = checks.null_standard_errors(rows)
    rows["z_mean"] = (rows["post_mean"] - rows["post_mean_exact"]) / rows["se_mean"]
    rows["z_sd"] = (rows["post_sd"] - rows["post_sd_exact"]) / rows["se_sd"]
    t = checks.Thresholds(alpha=0.01, rows=120, groups=6)
    assert rows["z_sd"].iat[0] > t.z_crit  # the draws' sd: a false alarm from one draw
    checks.score_heavy_tails(rows, [post], [draws], z_crit=t.z_crit, alpha=t.alpha_row, ess_floor=400)
    assert rows["moments_on"].iat[0] == "normal scores (sd)"
    assert abs(rows["z_sd"].iat[0]) < 1  # the scores' sd barely moves
    assert rows["sd_se_rel"].iat[0] == pytest.approx(np.sqrt(2 / 4000) / 2, rel=0.2)
