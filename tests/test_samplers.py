"""Every registered sampler against the exact posterior, with calibrated tolerances.

One statistical test, written once and parametrised over SAMPLERS (the emcee and Bean
Machine pattern). Each sampler fits a small study in one run; for every row:

* mean: |sampled mean - exact mean| / MCSE below the two-sided Normal quantile;
* sd: (ESS_sd - 1) s^2 / sd_exact^2 inside the central chi-square interval on ESS_sd - 1
  degrees of freedom;
* distribution: a KS test of the draws, thinned to about one draw per effective sample,
  against the exact posterior CDF;

each at false-alarm probability ALPHA / (3 rows) (Bonferroni), so a correct sampler
fails any of them with probability at most ALPHA = 1%. Seeds are fixed, so the outcome
is reproducible; R-hat and ESS floors are asserted beside them.
"""

import numpy as np
import pytest
from scipy import stats

from models.families import FAMILIES
from models.samplers import SAMPLERS
from study import checks
from study.run import StudyConfig, run_study

ALPHA = 0.01
TESTS_PER_ROW = 3
CONFIG = dict(ns=(5, 50, 500), reps=4, draws=1000, tune=500, chains=2, seed=123)


@pytest.fixture(scope="module", params=[s for s in SAMPLERS if SAMPLERS[s].exact])
def study(request):
    return run_study(StudyConfig(sampler=request.param, **CONFIG), log=lambda _: None)


def alpha_per_test(result):
    return ALPHA / (TESTS_PER_ROW * len(result.rows))


def draws_of(result, row):
    return result.idata["posterior"][row.param].sel(n=row.n, rep=row.rep)


def test_diagnostics_pass_the_floors(study):
    rows = study.rows
    assert (rows["r_hat"] <= checks.RHAT_MAX).all(), rows["r_hat"].max()
    assert (rows["ess_bulk"] >= checks.ESS_MIN).all(), rows["ess_bulk"].min()
    assert (rows["divergences"] == 0).all()


def test_mean_within_mcse(study):
    z_crit = stats.norm.isf(alpha_per_test(study) / 2)
    worst = study.rows["z_mean"].abs().max()
    assert worst < z_crit, study.rows.loc[study.rows["z_mean"].abs().idxmax()].to_dict()


def test_sd_inside_chi_square_interval(study):
    import arviz_stats as azs

    a = alpha_per_test(study)
    for row in study.rows.itertuples():
        draws = draws_of(study, row)
        dof = float(azs.ess(draws, method="sd")) - 1
        stat = dof * row.post_sd**2 / row.post_sd_exact**2
        lo, hi = stats.chi2.ppf([a / 2, 1 - a / 2], dof)
        assert lo < stat < hi, (row.n, row.rep, row.post_sd, row.post_sd_exact, dof)


def test_draws_follow_the_exact_posterior_ks(study):
    family = FAMILIES[study.config.family]
    a = alpha_per_test(study)
    for row in study.rows.itertuples():
        draws = draws_of(study, row)
        total = draws.sizes["chain"] * draws.sizes["draw"]
        thin = int(np.ceil(total / min(row.ess_bulk, row.ess_tail)))
        sample = draws.values[:, ::thin].ravel()
        exact = family.densities(study.datasets[row.n][row.rep], study.config.settings)[row.param][
            "posterior"
        ]
        p = stats.kstest(sample, exact.cdf).pvalue
        assert p > a, (row.n, row.rep, p, thin)


def test_study_verdicts_agree(study):
    """The study's own per-row verdict (mean and half-sample mode tests, floors) passes."""
    assert study.rows["agree"].all(), study.failures[["n", "rep", "reason"]].to_dict("records")


@pytest.mark.slow
@pytest.mark.parametrize("sampler", [s for s in SAMPLERS if SAMPLERS[s].exact])
def test_default_study_agrees_everywhere(sampler):
    """The default experiment (N = 10, 100, 1000; 20 reps; 4 x 1000 draws), every row agreeing."""
    result = run_study(StudyConfig(sampler=sampler), log=lambda _: None)
    assert len(result.rows) == 60
    assert result.rows["agree"].all(), result.failures[["n", "rep", "reason"]].to_dict("records")
