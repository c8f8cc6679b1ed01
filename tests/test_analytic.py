"""Closed forms against independent routes: optimisers, quadrature, sequential updates, conjugate-models."""

import numpy as np
import pytest
from conjugate.distributions import Normal
from conjugate.models import normal_known_variance, normal_known_variance_predictive
from scipy import integrate, optimize, stats

from analytic import normal_normal as nn
from tests import budget

PRIOR = {"noise_var": 5.0, "prior_mean": 1.0, "prior_var": 2.0}
CASES = [
    pytest.param(PRIOR, 10, id="default-N10"),
    pytest.param(PRIOR, 1000, id="default-N1000"),
    pytest.param({"noise_var": 0.3, "prior_mean": -4.0, "prior_var": 0.05}, 3, id="tight-prior-N3"),
    pytest.param({"noise_var": 50.0, "prior_mean": 0.0, "prior_var": 100.0}, 1, id="vague-prior-N1"),
]


def data(n, reps=4, seed=0):
    return np.random.default_rng(seed).normal(2.0, np.sqrt(5.0), size=(reps, n))


def log_unnormalised_posterior(mu, x, noise_var, prior_mean, prior_var):
    return (
        stats.norm.logpdf(mu, prior_mean, np.sqrt(prior_var))
        + stats.norm.logpdf(x, mu, np.sqrt(noise_var)).sum()
    )


@pytest.mark.parametrize(("prior", "n"), CASES)
def test_map_matches_numerical_optimiser(prior, n):
    x = data(n)
    expected = [
        optimize.minimize_scalar(lambda m, xi=xi: -log_unnormalised_posterior(m, xi, **prior), tol=1e-12).x
        for xi in x
    ]
    np.testing.assert_allclose(nn.map_estimate(x=x, **prior), expected, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(nn.posterior_mode(x=x, **prior), nn.map_estimate(x=x, **prior))


@pytest.mark.parametrize("n", [1, 7, 1000])
def test_mle_matches_numerical_optimiser(n):
    x = data(n)
    expected = [
        optimize.minimize_scalar(lambda m, xi=xi: -stats.norm.logpdf(xi, m, np.sqrt(5.0)).sum(), tol=1e-12).x
        for xi in x
    ]
    np.testing.assert_allclose(nn.mle(x=x), expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize(("prior", "n"), CASES)
def test_posterior_moments_match_quadrature(prior, n):
    x = data(n, reps=2)
    post = nn.posterior(x=x, **prior)
    for xi, mean, var in zip(x, post.mean, post.var, strict=True):
        # integrate prior x likelihood, shifted by its value at the mode to avoid underflow
        top = log_unnormalised_posterior(mean, xi, **prior)
        lo, hi = mean - 40 * np.sqrt(var), mean + 40 * np.sqrt(var)

        def moment(k, xi=xi, top=top, lo=lo, hi=hi, mode=mean):
            f = lambda m: m**k * np.exp(log_unnormalised_posterior(m, xi, **prior) - top)  # noqa: E731
            return integrate.quad(f, lo, hi, points=[mode], epsabs=0, epsrel=1e-12, limit=200)[0]

        z, m1, m2 = moment(0), moment(1), moment(2)
        assert m1 / z == pytest.approx(mean, rel=1e-9, abs=1e-12)
        assert m2 / z - (m1 / z) ** 2 == pytest.approx(var, rel=1e-7)


def test_sequential_one_point_updates_equal_batch_update():
    x = data(50, reps=1)[0]
    mean, var = PRIOR["prior_mean"], PRIOR["prior_var"]
    for xi in x:
        post = nn.posterior(x=[xi], noise_var=PRIOR["noise_var"], prior_mean=mean, prior_var=var)
        mean, var = float(post.mean), float(post.var)
    batch = nn.posterior(x=x, **PRIOR)
    assert mean == pytest.approx(float(batch.mean), rel=1e-12)
    assert var == pytest.approx(float(batch.var), rel=1e-12)


@pytest.mark.parametrize(("prior", "n"), CASES)
def test_agrees_with_conjugate_models_package(prior, n):
    x = data(n)
    ref = normal_known_variance(
        x_total=x.sum(axis=-1),
        n=n,
        var=prior["noise_var"],
        prior=Normal.from_mean_and_variance(prior["prior_mean"], prior["prior_var"]),
    )
    post = nn.posterior(x=x, **prior)
    np.testing.assert_allclose(post.mean, ref.mu, rtol=1e-12)
    np.testing.assert_allclose(post.sd, ref.sigma, rtol=1e-12)
    pred_ref = normal_known_variance_predictive(var=prior["noise_var"], distribution=ref)
    pred = nn.posterior_predictive(x=x, **prior)
    np.testing.assert_allclose(pred.mean, pred_ref.mu, rtol=1e-12)
    np.testing.assert_allclose(pred.sd, pred_ref.sigma, rtol=1e-12)


def test_prior_weight_mixes_prior_mean_and_mle():
    x = data(10)
    w = nn.prior_weight(n=10, **{k: PRIOR[k] for k in ("noise_var", "prior_var")})
    assert w == pytest.approx(5 / (10 * 2 + 5))
    expected = w * PRIOR["prior_mean"] + (1 - w) * nn.mle(x=x)
    np.testing.assert_allclose(nn.map_estimate(x=x, **PRIOR), expected, rtol=1e-12)


def test_scipy_distribution_is_the_posterior():
    x = data(10)
    post = nn.posterior(x=x, **PRIOR)
    np.testing.assert_allclose(post.dist.mean(), post.mean)
    np.testing.assert_allclose(post.dist.std(), post.sd)
    np.testing.assert_allclose(
        nn.log_posterior(post.mean, x=x, **PRIOR), stats.norm.logpdf(0, 0, post.sd), rtol=1e-12
    )


@pytest.mark.statistical(1)
def test_risk_formulas_match_monte_carlo():
    """Exact bias and variance of MLE and MAP, and coverage, against 200k simulated data sets.

    Five checks sharing one assertion of the test budget (tests/budget.py): z = 4.9 each.
    """
    z = stats.norm.isf(budget.alpha_each(5) / 2)
    rng = np.random.default_rng(budget.seed(1))
    n, reps, truth = 10, 200_000, 2.0
    x = nn.simulate(rng, n=n, reps=reps, true_mean=truth, noise_var=PRIOR["noise_var"])
    for est, risk in (
        (nn.mle(x=x), nn.mle_risk(n=n, true_mean=truth, noise_var=PRIOR["noise_var"])),
        (nn.map_estimate(x=x, **PRIOR), nn.map_risk(n=n, true_mean=truth, **PRIOR)),
    ):
        err = est - truth
        assert abs(err.mean() - risk.bias) < z * np.sqrt(risk.var / reps)
        # sample variance of Normal errors: sd = var * sqrt(2 / (reps - 1))
        assert abs(err.var(ddof=1) - risk.var) < z * risk.var * np.sqrt(2 / (reps - 1))
    cover = nn.interval_coverage(n=n, true_mean=truth, prob=0.9, **PRIOR)
    post = nn.posterior(x=x, **PRIOR)
    hit = np.abs(post.mean - truth) <= stats.norm.ppf(0.95) * post.sd
    assert abs(hit.mean() - cover) < z * np.sqrt(cover * (1 - cover) / reps)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise_var": 0.0}, "noise_var must be > 0"),
        ({"noise_var": -1.0}, "noise_var must be > 0"),
        ({"prior_var": np.nan}, "prior_var must be finite"),
        ({"prior_var": np.inf}, "prior_var must be finite"),
        ({"prior_mean": "one"}, "prior_mean must be a number"),
    ],
)
def test_bad_inputs_raise_naming_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.posterior(x=data(3), **{**PRIOR, **kwargs})


def test_empty_or_invalid_data_and_sizes_raise():
    with pytest.raises(ValueError, match="at least one observation"):
        nn.mle(x=np.empty((3, 0)))
    with pytest.raises(ValueError, match="x must be finite"):
        nn.mle(x=[1.0, np.nan])
    with pytest.raises(ValueError, match="n must be a whole number"):
        nn.prior_weight(n=0, noise_var=1.0, prior_var=1.0)
    with pytest.raises(ValueError, match="n must be a whole number"):
        nn.simulate(np.random.default_rng(0), n=2.5, reps=1, true_mean=0.0, noise_var=1.0)
