"""Approximations judged against their own exact optimum: the gap shown, the error tested.

The optimum itself is tested against independent routes in ``tests/test_optimum.py``;
here the study's verdict: a correct Laplace agrees where its Normal is not the posterior
(binomial_beta), and shows its gap; pymc-extras' defaults (BFGS's running inverse Hessian
as the covariance) are caught; PyMC's ADVI with pm.fit's defaults is caught where the tuned
ADVI, its end point's own error counted, agrees (and on poisson_gamma: tests/test_evidence.py);
full-rank ADVI, one fit per data set, agrees where its optimum is not the posterior.
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from report import tables
from report.interpret import _agreement
from study import power
from study.run import StudyConfig, run_study
from tests import budget

SMALL = dict(ns=(10, 100), reps=5, draws=500, chains=2, alpha=budget.ALPHA)


def _quiet(_: str) -> None:
    pass


@pytest.mark.statistical(1)
def test_laplace_agrees_with_its_optimum_and_shows_its_gap_where_the_posterior_is_not_normal():
    result = run_study(StudyConfig(family="binomial_beta", sampler="laplace", seed=budget.seed(31), **SMALL),
                       log=_quiet)  # fmt: skip
    assert result.agrees, result.failures["reason"].tolist() + result.pooled_failures["reason"].tolist()
    rows = result.rows
    assert set(result.pooled["test"]) == {"mean", "sd"} and len(result.pooled) == 4
    assert result.thresholds.row_tests == ("mean", "sd")
    # the method's gap, from the closed forms alone: the Laplace Normal on logit p is not a Beta. Each row's
    # against QUADPACK's mean and sd of expit(z), z ~ Normal(logit mode, 1 / curvature), from the Beta's a, b
    for row in rows.itertuples():
        k = int(np.asarray(result.datasets[row.n][row.rep]).sum())
        a, b = 2 + k, 2 + row.n - k  # the family's default prior is Beta(2, 2)
        mode = (a - 1) / (a + b - 2)
        q = stats.norm(np.log(mode / (1 - mode)), 1 / np.sqrt((a + b - 2) * mode * (1 - mode)))
        m1, m2 = (integrate.quad(lambda z, j=j, q=q: special.expit(z) ** j * q.pdf(z), -np.inf, np.inf,
                                 epsabs=1e-13)[0] for j in (1, 2))  # fmt: skip
        exact = stats.beta(a, b)
        assert row.gap_mean_sd == pytest.approx((m1 - exact.mean()) / exact.std(), abs=1e-7)
        assert row.gap_sd_ratio == pytest.approx(np.sqrt(m2 - m1**2) / exact.std(), abs=1e-7)
    assert (rows.loc[rows["n"] == 10, "gap_mean_sd"].abs() > 0.02).any()
    assert rows["ks_pvalue"].isna().all()  # the samplers' KS against the exact posterior is not its test
    text = _agreement(result)
    assert "agree with its exact optimum" in text and "gap to the exact posterior" in text


@pytest.mark.statistical(1)
def test_pymc_extras_defaults_are_caught_off_the_laplace_optimum():
    """BFGS's running inverse Hessian as the covariance: sds 1.5x the optimum's at N = 10 on normal_normal."""
    result = run_study(StudyConfig(family="normal_normal", sampler="laplace_defaults", seed=budget.seed(32),
                                   **SMALL), log=_quiet)  # fmt: skip
    assert not result.agrees
    assert any("sd off its optimum" in r for r in result.failures["reason"])
    assert "DISAGREE with its exact optimum" in _agreement(result)
    # on normal_normal the optimum is the exact posterior: no gap
    np.testing.assert_allclose(result.rows["gap_mean_sd"], 0, atol=1e-9)
    np.testing.assert_allclose(result.rows["gap_sd_ratio"], 1, atol=1e-9)


@pytest.mark.statistical(3)
def test_draws_from_the_optimum_pass_and_draws_off_it_are_caught():
    """The power catalogue's approximation defects on binomial_beta: the optimum's own draws agree; a mode
    missed by 0.3 of its sds, or a covariance 1.2^2 too wide, is caught (each far beyond 99.9% power here)."""
    config = StudyConfig(family="binomial_beta", sampler="optimum", seed=budget.seed(33), **SMALL)
    for shift, scale, agrees in ((0.0, 1.0, True), (0.3, 1.0, False), (0.0, 1.2, False)):
        engine = power.judged_as(
            "laplace", "optimum", "test", power.off_optimum("laplace", shift=shift, scale=scale)
        )
        result = run_study(config, log=_quiet, engine=engine)
        assert result.agrees == agrees, (shift, scale, result.failures["reason"].head(3).tolist())


@pytest.mark.statistical(2)
def test_pymc_default_advi_is_caught_off_its_optimum_and_the_tuned_advi_is_not():
    """normal_normal, where the mean-field optimum is the exact posterior: pm.fit's defaults (adagrad_window,
    10,000 steps) leave the sds 5-12% wide at N = 10 and 17-26% at N = 100, far beyond the draws' error;
    the tuned ADVI (Adam, iterates averaged) agrees, its end point's error added to the draws'."""
    config = StudyConfig(family="normal_normal", seed=budget.seed(34), **SMALL)
    defaults = run_study(replace(config, sampler="advi_defaults"), log=_quiet)
    assert not defaults.agrees
    assert any("sd off its optimum" in r for r in defaults.failures["reason"])
    assert "se_fit_sd" not in defaults.rows  # a fit that reports no error of its own gets none
    tuned = run_study(replace(config, sampler="advi"), log=_quiet)
    assert tuned.agrees, tuned.failures["reason"].tolist() + tuned.pooled_failures["reason"].tolist()
    assert tuned.thresholds.extra == 1  # its ELBO's test shares the pooled half of the study's alpha
    rows = tuned.rows
    assert (rows["se_fit_mean"] > 0).all() and (rows["se_fit_sd"] > 0).all()
    draws_only = rows["post_sd_target"] / np.sqrt(rows["ess_mean"])
    np.testing.assert_allclose(rows["se_mean"], np.hypot(draws_only, rows["se_fit_mean"]))


@pytest.mark.statistical(1)
def test_full_rank_advi_fitted_per_data_set_agrees_with_its_optimum_and_shows_its_gap():
    """normal_inverse_gamma at N = 10, where the full-rank optimum in (mu, log sigma2) is 15% narrow in
    sigma2: each data set fitted alone, its end point's error and ELBO stitched back in place."""
    config = StudyConfig(family="normal_inverse_gamma", sampler="fullrank_advi", seed=budget.seed(35),
                         ns=(10,), reps=2, draws=500, chains=2, alpha=budget.ALPHA)  # fmt: skip
    result = run_study(config, log=_quiet)
    assert result.agrees, result.failures["reason"].tolist() + result.pooled_failures["reason"].tolist()
    rows = result.rows
    assert len(rows) == 4 and (rows["se_fit_mean"] > 0).all() and (rows["se_fit_sd"] > 0).all()
    assert rows["gap_sd_ratio"].min() < 0.95  # the method's gap, shown and not failed
    assert result.evidence["kind"] == "elbo" and result.evidence["agree"]
    # mu and sigma2's correlation, per data set, within the draws' and the fit's own error
    assert result.thresholds.pair_rows == 2 and (result.pooled["test"] == "corr").sum() == 1
    assert (result.idata["optimiser_error"]["correlation"].sel(element="mu", element_with="sigma2") > 0).all()


@pytest.mark.statistical(2)
def test_full_rank_correlations_are_tested_and_a_q_that_lost_them_is_caught():
    """multivariate_normal_known_cov, whose two means correlate (0.43 here): draws from the full-rank
    optimum agree, per data set and pooled; with half their correlation and every marginal right, only
    the correlation tests can see it, and they do (about 8 standard errors per data set)."""
    config = StudyConfig(
        family="multivariate_normal_known_cov", sampler="optimum", seed=budget.seed(36), **SMALL
    )
    results = {}
    for c in (1.0, 0.5):
        engine = power.judged_as(
            "fullrank_advi", "optimum", "test", power.off_optimum("fullrank_advi", correlation=c)
        )
        results[c] = run_study(config, log=_quiet, engine=engine)
    null, lost = results[1.0], results[0.5]
    assert null.agrees, null.failures["reason"].tolist() + null.pooled_failures["reason"].tolist()
    assert null.thresholds.pair_rows == 10 and null.thresholds.pair_groups == 2
    assert (null.pooled["test"] == "corr").sum() == 2 and null.rows["z_corr"].notna().sum() == 10
    # the terminal's pooled table has a line per pair with its z, the reading names the correlations
    text = str(tables.pooled_table([null]))
    assert "corr z" in text and "mu[0] ~ mu[1]" in text
    assert "for the correlations" in _agreement(null)
    assert not lost.agrees
    reasons = [*lost.failures["reason"], *lost.pooled_failures["reason"]]
    assert all("correlation" in r and "mean off" not in r and "sd off" not in r for r in reasons), reasons


def test_a_fit_whose_own_error_is_above_the_floor_fails_whatever_its_z():
    """An unsettled fit reports a large error of its own, which would hide any error in its z: it fails."""
    from study import checks, targets

    rows = pd.DataFrame({"post_mean": [1.0, 1.0], "post_mean_target": [1.0, 1.0], "post_sd": [2.0, 0.2],
                         "post_sd_target": [0.2, 0.2], "z_mean": [0.0, 0.0], "z_sd": [1.5, 0.0],
                         "se_fit_mean": [0.001, 0.001], "se_fit_sd": [0.6, 0.001]})  # fmt: skip
    agree, reasons = targets.judge_rows(rows, checks.Thresholds(alpha=0.01, rows=2, groups=1))
    assert list(agree) == [False, True]
    assert reasons[0] == f"fit not settled: its own error 3.000 optimum sd (floor {targets.FIT_ERROR_FLOOR})"


def test_an_optimiser_that_did_not_move_reports_no_error_of_its_own():
    """endpoint_errors: iterates all at one point give zero standard errors, per element and statistic."""
    import pymc as pm

    from models.engines.approximations import endpoint_errors

    with pm.Model(coords={"n": [10, 100], "rep": [0, 1, 2]}) as model:
        pm.Normal("mu", 0, 1, dims=("n", "rep"))
        pm.HalfNormal("s", 1)
    approx = pm.MeanField(model=model)
    still = [param.get_value() for param in approx.params]
    errors = endpoint_errors(approx, [still] * 50, draws=200, seed=1)
    assert errors["mu"].dims == ("statistic", "n", "rep") and list(errors["statistic"]) == ["mean", "sd"]
    assert errors["s"].dims == ("statistic",)
    # the same random numbers for every iterate: only rounding is left (draws' noise would be about 0.07)
    assert float(abs(errors["mu"]).max()) < 1e-12 and float(abs(errors["s"]).max()) < 1e-12
