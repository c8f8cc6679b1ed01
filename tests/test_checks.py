"""The calibration behind the agreement tests, and the seeding scheme."""

import numpy as np
import pytest
from arviz_stats.base import array_stats
from scipy import stats

from models.families import FAMILIES
from study import checks
from study.run import simulate_datasets
from study.seeds import data_rng, sampler_seed


@pytest.mark.parametrize("m", [700, 3000])
@pytest.mark.parametrize(
    ("posterior", "mode"),
    [(stats.norm(2.0, 0.5), 2.0), (stats.gamma(3.0, scale=0.1), 0.2), (stats.beta(2.0, 30.0), 1 / 30)],
    ids=["normal", "gamma", "beta"],
)
def test_mode_tolerance_bounds_a_fresh_measurement(posterior, mode, m):
    """The tolerance's spread is an upper bound on the half-sample mode's RMSE, and not a loose one.

    A fresh simulation (new seed, 2000 sets) measures the RMSE about the exact mode to
    about 1.6%; the bound (tolerance / z) must lie above it, allowing 3 se for this
    check's own noise, and within 35% of it (the 99% upper bound on 200 sets inflates by
    about 13%).
    """
    reps = 2000
    modes = np.asarray(array_stats.mode(posterior.rvs(size=(reps, m), random_state=99), axis=-1))
    rmse = np.sqrt(np.mean((modes - mode) ** 2)) / posterior.std()
    se = rmse / np.sqrt(2 * reps)
    bound = checks.mode_tolerance_sd(posterior, mode=mode, sd=posterior.std(), m=m, z_crit=1.0)
    assert bound > rmse - 3 * se
    assert bound < 1.35 * rmse


def test_thresholds_split_alpha_over_rows_and_tests():
    t = checks.Thresholds(alpha=0.01, rows=60)
    assert t.alpha_per_test == pytest.approx(0.01 / (3 * 60))
    assert stats.norm.sf(t.z_crit) * 2 == pytest.approx(t.alpha_per_test)


def test_verdicts_name_each_failure():
    t = checks.Thresholds(alpha=0.01, rows=5)
    agree, reasons = checks.sampler_verdicts(
        z_mean=np.array([0.1, 5.0, 0.0, 0.0, 0.0]),
        mode_error_sd=np.array([0.0, 0.0, 0.9, 0.0, 0.0]),
        mode_tol_sd=np.array([0.5, 0.5, 0.5, 0.5, 0.5]),
        ks_pvalue=np.array([0.5, 0.5, 0.5, 0.5, 1e-6]),
        r_hat=np.array([1.0, 1.0, 1.0, 1.05, 1.0]),
        ess_bulk=np.array([1000, 1000, 1000, 100, 1000]),
        divergences=np.array([0, 0, 0, 3, 0]),
        thresholds=t,
    )
    assert agree.tolist() == [True, False, False, False, False]
    assert reasons[0] == ""
    assert "mean off by +5.00 MCSE" in reasons[1]
    assert "mode off by +0.900 sd" in reasons[2]
    assert "R-hat" in reasons[3] and "bulk ESS 100" in reasons[3] and "3 divergences" in reasons[3]
    assert "KS p = 1e-06" in reasons[4]


def test_nan_statistics_never_agree():
    agree, _ = checks.sampler_verdicts(
        z_mean=np.array([np.nan]),
        mode_error_sd=np.array([0.0]),
        mode_tol_sd=np.array([1.0]),
        ks_pvalue=np.array([np.nan]),
        r_hat=np.array([np.nan]),
        ess_bulk=np.array([np.nan]),
        divergences=np.array([0]),
        thresholds=checks.Thresholds(alpha=0.01, rows=1),
    )
    assert not agree[0]
    assert not checks.close_verdicts(mean_error_sd=np.array([np.nan]), sd_ratio=np.array([1.0]))[0][0]
    assert not checks.map_verdicts(mode_error_sd=np.array([np.nan]))[0][0]


def test_approximation_bounds_name_each_failure():
    agree, reasons = checks.close_verdicts(
        mean_error_sd=np.array([0.1, 0.3, 0.0]), sd_ratio=np.array([1.1, 1.0, 1.3])
    )
    assert agree.tolist() == [True, False, False]
    assert "mean off by +0.300 sd" in reasons[1] and "sd ratio 1.300" in reasons[2]
    agree, reasons = checks.map_verdicts(mode_error_sd=np.array([1e-5, -0.01]))
    assert agree.tolist() == [True, False] and "MAP off by -0.01 sd" in reasons[1]


def test_ks_pvalue_thins_autocorrelated_draws():
    """An AR(1) chain with the right marginal passes when thinned by its ESS, fails when not."""
    rng = np.random.default_rng(3)
    rho, n = 0.95, 20_000
    x = np.empty((1, n))
    x[0, 0] = rng.standard_normal()
    for i in range(1, n):
        x[0, i] = rho * x[0, i - 1] + np.sqrt(1 - rho**2) * rng.standard_normal()
    ess = n * (1 - rho) / (1 + rho)
    assert checks.ks_pvalue(x, stats.norm.cdf, ess) > 0.01
    assert checks.ks_pvalue(x, stats.norm.cdf, n) < 0.01


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
