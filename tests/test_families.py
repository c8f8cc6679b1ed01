"""Every family in FAMILIES against independent routes, written once.

Adding a family adds no code here beyond its own special cases (the conjugate-models
reference and boundary cases below). For each family, with its default settings:

* posterior mean and sd by quadrature of prior x likelihood (the densities it reports);
* MAP and MLE by a numerical optimiser on the same log densities;
* the PyMC model's log density (no Jacobian) minus the exact log posterior is constant;
* exact risks (bias, variance of MLE and MAP) and interval coverage against Monte Carlo
  over many simulated data sets, Bonferroni over the checks of one family at the test
  budget's alpha (tests/budget.py);
* the prior washes out of every component (|MAP - MLE| against N, one fit each);
* nutpie on the family's default study agrees with the exact posterior mean, mode and
  distribution in every row (study.checks, at the test budget's alpha).
"""

import numpy as np
import pytest
from conjugate import distributions as cd
from conjugate import models as cm
from scipy import integrate, optimize, stats

from models.batched import for_sampling
from models.engines.approximations import map_point
from models.families import FAMILIES
from study.aggregate import washout
from study.run import StudyConfig, run_study, simulate_datasets
from tests import budget

KEYS = list(FAMILIES)
SCALAR = [k for k, f in FAMILIES.items() if f.components is None and len(f.params) == 1]


def one_data_set(family, n, seed=0):
    settings = family.settings()
    return simulate_datasets(family, settings, (n,), 3, seed)[n], settings


def log_post(dens):
    return lambda t: dens["prior"].logpdf(t) + dens["likelihood"].logpdf(t)


@pytest.mark.parametrize("n", [1, 12, 400])
@pytest.mark.parametrize("key", SCALAR)
def test_posterior_mean_sd_and_map_match_quadrature_and_optimiser(key, n):
    family = FAMILIES[key]
    x, settings = one_data_set(family, n)
    exact = family.exact(x, settings)
    for param in family.labels(settings):
        for r in range(len(x)):
            dens = family.densities(x[r], settings)[param]
            mean, sd = exact[param]["post_mean_exact"][r], exact[param]["post_sd_exact"][r]
            lp = log_post(dens)
            lo, hi = dens["posterior"].support()
            lo, hi = max(lo, mean - 40 * sd), min(hi, mean + 40 * sd)
            top = lp(exact[param]["map_exact"][r])
            moment = [
                integrate.quad(
                    lambda t, k=k, lp=lp, top=top: t**k * np.exp(lp(t) - top),
                    lo,
                    hi,
                    epsabs=0,
                    epsrel=1e-11,
                    limit=400,
                )[0]
                for k in range(3)
            ]
            assert moment[1] / moment[0] == pytest.approx(mean, rel=1e-7)
            assert np.sqrt(moment[2] / moment[0] - (moment[1] / moment[0]) ** 2) == pytest.approx(
                sd, rel=1e-5
            )
            found = optimize.minimize_scalar(lambda t, lp=lp: -lp(t), bounds=(lo, hi), method="bounded",
                                             options={"xatol": 1e-10 * sd})  # fmt: skip
            assert found.x == pytest.approx(exact[param]["map_exact"][r], abs=1e-6 * sd)
            like = dens["likelihood"]
            bounds = np.clip(like.support(), lo - 50 * sd, hi + 50 * sd)
            best = optimize.minimize_scalar(
                lambda t, like=like: -like.logpdf(t),
                bounds=bounds,
                method="bounded",
                options={"xatol": 1e-12},
            )
            assert best.x == pytest.approx(exact[param]["mle"][r], abs=1e-5 * max(sd, 1e-3))


@pytest.mark.parametrize("key", KEYS)
def test_model_log_density_minus_exact_log_posterior_is_constant(key):
    family = FAMILIES[key]
    settings = family.settings()
    ns, reps = (1, 10, 200), 3
    datasets = simulate_datasets(family, settings, ns, reps, seed=7)
    model = for_sampling(family.build_model(datasets, settings))
    logp = model.compile_logp(jacobian=False)
    rng = np.random.default_rng(3)
    labels = family.labels(settings)
    diffs = []
    for _ in range(30):
        values = {v.name: np.empty((len(ns), reps, *model[v.name].shape.eval()[2:])) for v in model.free_RVs}
        for i, n in enumerate(ns):
            if family.draw_posterior is not None:  # dependent components: exact joint draws
                for variable, draw in family.draw_posterior(rng, datasets[n], settings).items():
                    values[variable][i] = draw[0]
                continue
            for label, (variable, selection) in labels.items():
                post = family.densities(datasets[n], settings)[label]["posterior"]
                target = values[variable][i][(slice(None), *selection.values())]
                target[...] = post.ppf(rng.uniform(0.001, 0.999, size=reps))
        exact = 0.0
        for i, n in enumerate(ns):
            if family.log_posterior is not None:
                exact += family.log_posterior(
                    {k: v[i] for k, v in values.items()}, datasets[n], settings
                ).sum()
            else:
                for label, (variable, _) in labels.items():
                    post = family.densities(datasets[n], settings)[label]["posterior"]
                    exact += post.logpdf(values[variable][i]).sum()
        point = {}
        for rv in model.free_RVs:
            transform = model.rvs_to_transforms.get(rv)
            theta = values[rv.name]
            point[model.rvs_to_values[rv].name] = (
                transform.forward(theta).eval() if transform is not None else theta
            )
        diffs.append(logp(point) - exact)
    diffs = np.array(diffs)
    # the difference is log p(x), the same at every parameter value; the spread is rounding only
    assert np.ptp(diffs) < 1e-9 * np.abs(diffs).max()


@pytest.mark.statistical(1)
@pytest.mark.parametrize("key", KEYS)
def test_exact_risks_and_coverage_match_monte_carlo(key):
    family = FAMILIES[key]
    settings = family.settings()
    n, sets, prob = 10, 40_000, 0.9
    rngs = [np.random.default_rng(budget.seed(s)) for s in range(sets // 4000)]
    x = np.concatenate([family.simulate(rng, n=n, reps=4000, settings=settings) for rng in rngs])
    exact = family.exact(x, settings)
    risks = family.risks(n, settings, prob=prob)
    checks = 5 * len(family.labels(settings))  # bias and variance of two estimators, and coverage
    z = stats.norm.isf(budget.alpha_each(checks) / 2)
    for param in family.labels(settings):
        truth = settings.truth[param]
        for est in ("mle", "map"):
            column = "mle" if est == "mle" else "map_exact"
            err = exact[param][column] - truth
            bias, var = float(risks[param][f"{est}_bias"]), float(risks[param][f"{est}_var"])
            assert abs(err.mean() - bias) < z * err.std() / np.sqrt(sets), (est, err.mean(), bias)
            se_var = np.sqrt(np.var((err - err.mean()) ** 2) / sets)
            assert abs(err.var() - var) < z * se_var, (est, err.var(), var)
        post = family.densities(x, settings)[param]["posterior"]  # batched over the data sets
        lo, hi = post.ppf(0.5 - prob / 2), post.ppf(0.5 + prob / 2)
        hit = ((lo <= truth) & (truth <= hi)).mean()
        cover = float(risks[param]["coverage"])
        assert abs(hit - cover) < z * np.sqrt(cover * (1 - cover) / sets), (hit, cover)


@pytest.mark.statistical(1)
@pytest.mark.parametrize("key", KEYS)
def test_default_study_agrees_with_the_exact_posterior_mean_and_mode(key):
    """The family's default study (N = 10, 100, 1000; 20 reps; 4 x 1000 draws; the default engine,
    nutpie), every row agreeing. PyMC's NUTS faces the same tests in test_samplers and in
    benchmarks/calibration.py's measured false-alarm rates for every family."""
    assert StudyConfig().sampler == "nutpie"
    config = StudyConfig(family=key, seed=budget.seed(2026), alpha=budget.ALPHA)
    result = run_study(config, log=lambda _: None)
    assert len(result.rows) == 60 * len(FAMILIES[key].labels(result.config.settings))
    assert result.rows["agree"].all(), result.failures[["n", "rep", "param", "reason"]].to_dict("records")


@pytest.mark.statistical(1)
@pytest.mark.parametrize("key", KEYS)
def test_prior_washes_out_of_every_component(key):
    """Each component gets its own washout fit, and its |MAP - MLE| falls at least like N^-1/2.

    The theory says N^-1, or N^-3/2 where the prior's mode sits at the truth; both are far
    below -1/2, the rate at which the posterior itself narrows.
    """
    config = StudyConfig(family=key, sampler="nuts", seed=budget.seed(2026))
    wash = washout(config)
    assert list(wash) == list(FAMILIES[key].labels(config.settings))
    for label, w in wash.items():
        assert w.slope < -0.5, (label, w.slope)
        assert np.all(w.gap > 0), label


@pytest.mark.statistical(1)
def test_washout_rate_depends_on_where_the_prior_points():
    """Categorical-Dirichlet: truth (1, 2, 3) / 6, prior Dirichlet(2, 2, 2) with mode 1/3 each.

    ``MAP_k - MLE_k = (1 - 3 p_k_hat) / (N + 3)``. For theta[0] and theta[2] it tends to
    ``(1 - 3 p_k) / N``, slope -1; for theta[1], p_1 = 1/3, only the noise of p_1_hat is
    left, ``O(N^-1/2) / N``, slope -3/2. Over N = 1000..100,000 with 20 replications the
    slope's scatter is about 0.01 for theta[0] and theta[2] and 0.045 for theta[1]
    (measured over seeds 0-4: -1.00 +- 0.003 and -1.50 +- 0.045), so the limits below sit
    more than 5 of their sds from the theory.
    """
    grid = np.unique(np.round(np.geomspace(1000, 100_000, 13)).astype(int))
    wash = washout(
        StudyConfig(family="categorical_dirichlet", sampler="nuts", seed=budget.seed(2026)), grid=grid
    )
    assert wash["theta[1]"].slope < -1.25
    assert wash["theta[0]"].slope > -1.1 and wash["theta[2]"].slope > -1.1


# ---- special cases: an independent implementation where conjugate-models has the family ----

REFERENCE = {
    "binomial_beta": lambda x, s: cm.binomial_beta(
        n=x.shape[-1], x=x.sum(axis=-1), prior=cd.Beta(s.prior_a, s.prior_b)
    ),
    "poisson_gamma": lambda x, s: cm.poisson_gamma(
        x_total=x.sum(axis=-1), n=x.shape[-1], prior=cd.Gamma(s.prior_a, s.prior_b)
    ),
    "multivariate_normal_known_cov": lambda x, s: cm.multivariate_normal_known_covariance(
        n=x.shape[-2],
        x_bar=x.mean(axis=-2),
        cov=s.cov,
        prior=cd.MultivariateNormal(np.full(s.d, s.prior_mean), s.prior_var * np.eye(s.d)),
    ),
    "categorical_dirichlet": lambda x, s: cm.categorical_dirichlet(
        x=(x[:, None] == np.arange(s.k)).sum(axis=0), prior=cd.Dirichlet(s.alpha)
    ),
    # Not exponential_gamma: conjugate-models 0.14 reuses its Poisson update there, giving
    # Gamma(a + sum(x), b + N) instead of Gamma(a + N, b + sum(x)) for an exponential rate;
    # quadrature, the optimiser, PyMC's log density and NUTS above all side with ours.
}


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_agrees_with_conjugate_models_package(key):
    family = FAMILIES[key]
    x, settings = one_data_set(family, 25)
    exact = family.exact(x, settings)
    for r in range(len(x)):
        ref = REFERENCE[key](x[r], settings)
        if isinstance(ref, cd.MultivariateNormal):
            means, sds = ref.mu, np.sqrt(np.diag(ref.cov))
        elif isinstance(ref, cd.Dirichlet):
            means = ref.alpha / ref.alpha.sum()
            sds = np.sqrt(means * (1 - means) / (ref.alpha.sum() + 1))
        else:
            means, sds = np.atleast_1d(ref.dist.mean()), np.atleast_1d(ref.dist.std())
        for k, label in enumerate(family.labels(settings)):
            assert exact[label]["post_mean_exact"][r] == pytest.approx(means[k], rel=1e-10)
            assert exact[label]["post_sd_exact"][r] == pytest.approx(sds[k], rel=1e-10)


@pytest.mark.parametrize("key", KEYS)
def test_find_map_lands_on_the_exact_map(key):
    """PyMC's optimiser on the model's own log density against the closed-form (joint) MAP."""
    family = FAMILIES[key]
    settings = family.settings()
    datasets = simulate_datasets(family, settings, (3, 40), 2, seed=11)
    model = for_sampling(family.build_model(datasets, settings))
    point = map_point(model, seed=5, options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10_000})
    for label, (variable, selection) in family.labels(settings).items():
        for i, n in enumerate(datasets):
            exact = family.exact(datasets[n], settings)[label]
            found = point[variable][i][(slice(None), *selection.values())]
            np.testing.assert_array_less(np.abs(found - exact["map_exact"]), 1e-5 * exact["post_sd_exact"])


@pytest.mark.statistical(1)
def test_multivariate_normal_in_five_dimensions():
    """d = 5: conjugate-models agrees and NUTS matches all five marginals in every row."""
    family = FAMILIES["multivariate_normal_known_cov"]
    settings = family.settings(dim=5, noise_corr=0.3)
    x = simulate_datasets(family, settings, (20,), 2, seed=4)[20]
    exact = family.exact(x, settings)
    assert list(exact) == [f"mu[{k}]" for k in range(5)]
    ref = REFERENCE["multivariate_normal_known_cov"](x[0], settings)
    np.testing.assert_allclose(
        [exact[f"mu[{k}]"]["post_mean_exact"][0] for k in range(5)], ref.mu, rtol=1e-10
    )
    config = StudyConfig(family=family.key, settings=settings, ns=(5, 200), reps=2, draws=1000, tune=500,
                         chains=2, seed=budget.seed(2026), alpha=budget.ALPHA)  # fmt: skip
    rows = run_study(config, log=lambda _: None).rows
    assert len(rows) == 2 * 2 * 5
    assert rows["agree"].all(), rows.loc[~rows["agree"], ["n", "rep", "param", "reason"]].to_dict("records")


@pytest.mark.parametrize("n", [1, 2, 30])
def test_regression_posterior_equals_gaussian_conditioning(n):
    """linear_regression by another route (conjugate-models only covers unknown variance).

    Condition the joint Gaussian of (beta, y) on y, in observation space:
    mean b0 + S0 X^T (X S0 X^T + sigma^2 I)^-1 (y - X b0), covariance S0 - S0 X^T (...)^-1 X S0.
    """
    from analytic import linear_regression as lr

    family = FAMILIES["linear_regression"]
    settings = family.settings(coefficients=3)
    y = simulate_datasets(family, settings, (n,), 2, seed=2)[n]
    x, s0, b0 = lr.design(n, 3), settings.prior_var * np.eye(3), np.full(3, settings.prior_mean)
    gain = s0 @ x.T @ np.linalg.inv(x @ s0 @ x.T + settings.noise_var * np.eye(n))
    exact = family.exact(y, settings)
    for r in range(len(y)):
        mean = b0 + gain @ (y[r] - x @ b0)
        sd = np.sqrt(np.diag(s0 - gain @ x @ s0))
        for k, label in enumerate(family.labels(settings)):
            assert exact[label]["post_mean_exact"][r] == pytest.approx(mean[k], rel=1e-9, abs=1e-12)
            assert exact[label]["post_sd_exact"][r] == pytest.approx(sd[k], rel=1e-9)
    if n < 3:
        assert "not unique" in exact["beta[0]"]["mle_note"][0]
