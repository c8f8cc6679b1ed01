"""Every registered engine against the exact posterior, judged by what it promises.

Written once and parametrised over SAMPLERS (the emcee and Bean Machine pattern); an
engine whose optional dependency is missing is skipped with its install hint (CI
installs every extra, so none is skipped there). Each engine fits the same small study
(N = 5, 50, 500; 2 data sets each) in one run, with fixed seeds.

Samplers (asymptotically exact engines), for every row:

* mean: |sampled mean - exact mean| / MCSE below the two-sided Normal quantile;
* sd: (ESS_sd - 1) s^2 / sd_exact^2 inside the central chi-square interval on ESS_sd - 1
  degrees of freedom;
* distribution: a KS test of the draws, thinned to about one draw per effective sample,
  against the exact posterior CDF;

each at false-alarm probability ALPHA / rows (Bonferroni over the rows), so a correct sampler
fails each of them with probability at most ALPHA, the test budget's share of one assertion
(tests/budget.py); the R-hat limit and the ESS floor are asserted beside them, and the study's
own verdict (rows and pooled tests, judged at ALPHA) must agree.
Approximations face what they promise: Laplace the tests against its exact optimum
(study.targets; here on normal_normal, where the optimum is the posterior, more in
tests/test_targets.py), as ADVI and full-rank ADVI do; the bounds a plug-in may ask for
instead (study.checks) on Laplace, find_MAP its distance to the exact MAP.
"""

from dataclasses import replace

import arviz_stats as azs
import numpy as np
import pytest
from scipy import stats

from models.engines import SAMPLERS
from models.families import FAMILIES
from study import checks
from study.run import StudyConfig, run_study
from tests import budget

ALPHA = budget.ALPHA
CONFIG = dict(ns=(5, 50, 500), reps=2, draws=1000, tune=500, chains=2, seed=budget.seed(123), alpha=ALPHA)


def engines(check):
    return [
        pytest.param(
            name,
            id=name,
            marks=pytest.mark.skipif(not s.available, reason=f"not installed: {s.install_hint}"),
        )
        for name, s in SAMPLERS.items()
        if s.check == check
    ]


def fit(name):
    return run_study(StudyConfig(sampler=name, **CONFIG), log=lambda _: None)


@pytest.fixture(scope="module", params=engines("sampler"))
def study(request):
    return fit(request.param)


def alpha_per_test(result):
    return budget.alpha_each(len(result.rows))


def draws_of(result, row):
    return result.idata["posterior"][row.param].sel(n=row.n, rep=row.rep)


@pytest.mark.statistical(1)
def test_diagnostics_pass_the_floors(study):
    rows = study.rows
    assert (rows["r_hat"] <= rows["r_hat_limit"]).all(), (rows["r_hat"] - rows["r_hat_limit"]).max()
    assert (rows["ess_bulk"] >= checks.ESS_PER_CHAIN * study.config.chains).all(), rows["ess_bulk"].min()
    assert (rows["divergences"] == 0).all()


@pytest.mark.statistical(1)
def test_mean_within_mcse(study):
    z_crit = stats.norm.isf(alpha_per_test(study) / 2)
    worst = study.rows["z_mean"].abs().max()
    assert worst < z_crit, study.rows.loc[study.rows["z_mean"].abs().idxmax()].to_dict()


@pytest.mark.statistical(1)
def test_sd_inside_chi_square_interval(study):
    a = alpha_per_test(study)
    for row in study.rows.itertuples():
        draws = draws_of(study, row)
        dof = float(azs.ess(draws, method="sd")) - 1
        stat = dof * row.post_sd**2 / row.post_sd_exact**2
        lo, hi = stats.chi2.ppf([a / 2, 1 - a / 2], dof)
        assert lo < stat < hi, (row.n, row.rep, row.post_sd, row.post_sd_exact, dof)


@pytest.mark.statistical(1)
def test_draws_follow_the_exact_posterior_ks(study):
    family = FAMILIES[study.config.family]
    a = alpha_per_test(study)
    for row in study.rows.itertuples():
        exact = family.densities(study.datasets[row.n][row.rep], study.config.settings)[row.param]
        draws = draws_of(study, row).transpose("chain", "draw").values
        factor = checks.thin_factor(draws)
        p = checks.ks_uniform_pvalue(checks.pit_values(draws, exact["posterior"].cdf, factor))
        assert p > a, (row.n, row.rep, p)
        assert p == pytest.approx(row.ks_pvalue)


@pytest.mark.statistical(1)
def test_study_verdicts_agree(study):
    """The study's own verdict (per-row tests, floors and pooled tests) passes."""
    assert study.rows["agree"].all(), study.failures[["n", "rep", "reason"]].to_dict("records")
    assert study.pooled["agree"].all(), study.pooled_failures.to_dict("records")


def test_timings_are_recorded(study):
    rows = study.rows
    assert (rows["sampling_time"] > 0).all() and (rows["ess_per_s"] > 0).all()
    assert rows["compile_time"].isna().all() or (rows["compile_time"] > 0).all()


@pytest.mark.statistical(1)
def test_an_engine_judged_by_bounds_keeps_its_promise():
    """The bounds a plug-in may ask for (``check="close"``): Laplace's Normal holds a Normal-Normal
    posterior, so its mean and sd land within them."""
    engine = replace(SAMPLERS["laplace"], name="laplace_bounds", check="close", target=None)
    if not engine.available:
        pytest.skip(f"not installed: {engine.install_hint}")
    rows = run_study(StudyConfig(sampler="laplace", **CONFIG), log=lambda _: None, engine=engine).rows
    assert (rows["mean_error_sd"].abs() <= checks.CLOSE_MEAN_SD).all(), rows["mean_error_sd"].abs().max()
    lo, hi = checks.CLOSE_SD_RATIO
    assert rows["sd_ratio"].between(lo, hi).all(), (rows["sd_ratio"].min(), rows["sd_ratio"].max())
    assert rows["agree"].all()


@pytest.mark.parametrize("name", engines("map"))
def test_point_engine_finds_the_exact_map(name):
    rows = fit(name).rows
    assert (rows["mode_error_sd"].abs() <= checks.MAP_TOL_SD).all(), rows["mode_error_sd"].abs().max()
    assert rows["post_mean"].isna().all() and rows["agree"].all()


@pytest.mark.statistical(1)
@pytest.mark.parametrize("name", [p for p in engines("target") if not p.values[0].endswith("_defaults")
                                  and not SAMPLERS[p.values[0]].separately])  # fmt: skip
def test_approximation_agrees_with_its_exact_optimum(name):
    """On normal_normal, where the optimum is the posterior; elsewhere, the defaults and full-rank ADVI
    (one fit per data set, about 10 s each): test_targets.py."""
    result = fit(name)
    assert result.agrees, result.failures["reason"].tolist() + result.pooled_failures["reason"].tolist()
    np.testing.assert_allclose(result.rows["gap_sd_ratio"], 1, atol=1e-9)


def test_every_engine_is_judged_somewhere():
    assert {s.check for s in SAMPLERS.values()} == {"sampler", "target", "map"}


@pytest.mark.slow
@pytest.mark.statistical(1)
@pytest.mark.parametrize("sampler", engines("sampler")[:1])
def test_default_study_agrees_everywhere(sampler):
    """The default experiment (N = 10, 100, 1000; 20 reps; 4 x 1000 draws), every row agreeing."""
    result = run_study(StudyConfig(sampler=sampler, seed=budget.seed(2026), alpha=ALPHA), log=lambda _: None)
    assert len(result.rows) == 60
    assert result.rows["agree"].all(), result.failures[["n", "rep", "reason"]].to_dict("records")
