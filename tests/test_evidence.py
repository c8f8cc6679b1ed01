"""Every family's exact log evidence against numerical integration of prior x likelihood.

The closed forms live in analytic/ (one ``log_evidence`` per family); the route here is
independent: the family's own log-likelihood (tested against scipy's summed log densities
elsewhere) times the prior's scipy density, integrated by adaptive quadrature (QUADPACK)
in one or two dimensions. The tolerance is the quadrature's own error estimate, carried to
the log scale, plus 1e-9 for the rounding of the closed form.
"""

import numpy as np
import pytest
from scipy import integrate, special, stats

from models.families import FAMILIES
from study.run import simulate_datasets
from tests import budget

N = 6  # small enough that the integrand is broad, large enough to move off the prior


def _data(key, seed=3):
    family = FAMILIES[key]
    settings = family.settings()
    return family, settings, simulate_datasets(family, settings, (N,), 2, seed)[N]


def _one_dim(logpdf, lo, hi, points=None):
    """Return ``(log integral, error on the log scale)`` of ``exp(logpdf)`` on ``(lo, hi)``."""
    grid = np.linspace(lo if np.isfinite(lo) else -50, hi if np.isfinite(hi) else 50, 2001)[1:-1]
    shift = max(logpdf(t) for t in grid)
    value, err = integrate.quad(lambda t: np.exp(logpdf(t) - shift), lo, hi, points=points, limit=400)
    return shift + np.log(value), err / value


def _two_dim(logpdf, x_range, y_range, shift):
    value, err = integrate.dblquad(
        lambda y, x: np.exp(logpdf(x, y) - shift), *x_range, *y_range, epsabs=0, epsrel=1e-9
    )
    return shift + np.log(value), err / value


def _check(exact, numeric):
    log_z, err = numeric
    assert abs(exact - log_z) <= err + 1e-9, (exact, log_z, err)


@pytest.mark.parametrize(
    ("key", "prior", "support"),
    [
        ("normal_normal", lambda s: stats.norm(s.prior_mean, np.sqrt(s.prior_var)), (-np.inf, np.inf)),
        ("binomial_beta", lambda s: stats.beta(s.prior_a, s.prior_b), (0, 1)),
        ("poisson_gamma", lambda s: stats.gamma(s.prior_a, scale=1 / s.prior_b), (0, np.inf)),
        ("exponential_gamma", lambda s: stats.gamma(s.prior_a, scale=1 / s.prior_b), (0, np.inf)),
    ],
)
def test_scalar_families(key, prior, support):
    family, settings, x = _data(key)
    (param,) = family.params
    dist = prior(settings)
    exact = family.log_evidence(x, settings)
    for rep, data in enumerate(x):
        post = family.densities(data, settings)[param]["posterior"]
        mode = post.mean()

        def logpdf(t, data=data):
            return float(family.log_likelihood({param: np.atleast_1d(t)}, data, settings)[0] + dist.logpdf(t))

        lo, hi = max(support[0], mode - 20 * post.std()), min(support[1], mode + 20 * post.std())
        log_z, err = _one_dim(logpdf, lo, hi)
        # the mass outside +-20 posterior sd is below exp(-100) in every family here
        _check(exact[rep], (log_z, err))


def test_normal_inverse_gamma():
    family, s, x = _data("normal_inverse_gamma")
    exact = family.log_evidence(x, s)
    for rep, data in enumerate(x[:1]):  # one data set: each two-dimensional integral takes seconds
        post = family.densities(data, s)
        mu_range = post["mu"]["posterior"].ppf([1e-13, 1 - 1e-13])
        v_range = post["sigma2"]["posterior"].ppf([1e-13, 1 - 1e-13])

        def logpdf(mu, v, data=data):
            theta = {"mu": np.atleast_1d(mu), "sigma2": np.atleast_1d(v)}
            prior = stats.invgamma.logpdf(v, s.prior_a0, scale=s.prior_b0) + stats.norm.logpdf(
                mu, s.prior_mean, np.sqrt(v / s.prior_k0)
            )
            return float(family.log_likelihood(theta, data, s)[0] + prior)

        # the marginals' ppf bounds leave out under 4e-13 of the posterior mass
        shift = logpdf(np.mean(mu_range), np.mean(v_range))
        log_z, err = _two_dim(logpdf, mu_range, v_range, shift)
        _check(exact[rep], (log_z, err + 4e-13))


def test_categorical_dirichlet():
    family, s, x = _data("categorical_dirichlet")
    assert s.k == 3
    exact = family.log_evidence(x, s)
    prior = stats.dirichlet(s.alpha)
    for rep, data in enumerate(x):

        def logpdf(t1, t2, data=data):
            theta = np.array([[t1, t2, 1 - t1 - t2]])
            if theta.min() <= 0:
                return -np.inf
            return float(family.log_likelihood({"theta": theta}, data, s)[0] + prior.logpdf(theta[0]))

        shift = logpdf(1 / 3, 1 / 3)
        _check(exact[rep], _two_dim(logpdf, (0, 1), (0, lambda t1: 1 - t1), shift))


@pytest.mark.parametrize("key", ["multivariate_normal_known_cov", "linear_regression"])
def test_gaussian_vector_families(key):
    family, s, x = _data(key)
    (param,) = family.params
    exact = family.log_evidence(x, s)
    for rep, data in enumerate(x[:1]):
        marginals = [d["posterior"] for d in family.densities(data, s).values()]
        assert len(marginals) == 2
        centre = [m.mean() for m in marginals]
        width = [20 * m.std() for m in marginals]
        prior_var = s.prior_var * np.eye(2)
        prior_mean = s.prior_mean * np.ones(2)
        prior = stats.multivariate_normal(prior_mean, prior_var)

        def logpdf(a, b, data=data, prior=prior):
            theta = np.array([[a, b]])
            return float(family.log_likelihood({param: theta}, data, s)[0] + prior.logpdf(theta[0]))

        shift = logpdf(*centre)
        ranges = [(c - w, c + w) for c, w in zip(centre, width, strict=True)]
        _check(exact[rep], _two_dim(logpdf, *ranges, shift))


def test_evidence_sums_over_data_sets_and_is_a_density():
    """A sanity route without quadrature: the Bernoulli evidences of all 2^N sequences sum to one."""
    family = FAMILIES["binomial_beta"]
    s = family.settings()
    n = 5
    every = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    assert np.isclose(np.exp(family.log_evidence(every, s)).sum(), 1.0, rtol=0, atol=1e-12)


# The evidence of the study's batched model, and the engines that estimate it


@pytest.mark.parametrize("key", ["normal_normal", "multivariate_normal_known_cov"])
def test_model_evidence_by_the_basic_marginal_likelihood_identity(key):
    """``log Z = log p(x, theta) - log p(theta | x)`` at any theta, with PyMC's own model log density.

    The batched model of these families observes each data set's mean; its evidence is the
    exact one minus the family's likelihood offset (``study.evidence.exact_log_evidence``).
    """
    from models.batched import for_sampling
    from study.evidence import exact_log_evidence

    family = FAMILIES[key]
    s = family.settings()
    datasets = simulate_datasets(family, s, (5, 40), 3, 7)
    model = for_sampling(family.build_model(datasets, s))
    logp = model.compile_logp(jacobian=False)
    (name,) = family.params
    means, log_post = [], 0.0
    for x in datasets.values():
        for one in x:
            mean, cov = family.gaussian_posterior(one, s)
            means.append(mean)
            log_post += stats.multivariate_normal(mean, cov).logpdf(mean)
    theta = np.array(means).reshape(model.initial_point()[name].shape)
    log_z = float(logp({name: theta})) - log_post
    assert log_z == pytest.approx(exact_log_evidence(family, datasets, s), rel=0, abs=1e-8 * abs(log_z))


def _small_study(sampler, key="poisson_gamma"):
    from study.run import StudyConfig, run_study

    config = StudyConfig(family=key, sampler=sampler, ns=(10, 50), reps=3, draws=1000, chains=4,
                         seed=budget.seed(5), alpha=budget.ALPHA)  # fmt: skip
    return run_study(config, log=lambda m: None)


@pytest.mark.statistical(1)
def test_smc_log_evidence_agrees_within_its_chains_spread():
    """SMC on 6 Poisson data sets, each in its own model: the sum of their log evidences, chain by chain,
    within a t interval of the exact sum.

    The test's false-alarm probability is its study's pooled share of the test budget's alpha.
    """
    result = _small_study("smc")
    e = result.evidence
    assert e["kind"] == "smc_log_evidence" and e["chains"] == 4
    assert e["agree"], e
    assert abs(e["error"]) <= e["crit"] * e["se"]
    assert result.thresholds.extra == 1


@pytest.mark.statistical(3)
def test_advi_agrees_with_its_optimum_and_its_elbo_lies_below_the_log_evidence():
    """On a Gamma posterior seen through log: the draws agree with the mean-field optimum (the end point's
    error counted); the ELBO is log Z minus KL(q || posterior), at most its Monte Carlo error above."""
    result = _small_study("advi")
    assert result.agrees, result.failures["reason"].tolist() + result.pooled_failures["reason"].tolist()
    e = result.evidence
    assert e["kind"] == "elbo" and e["agree"], e
    assert e["score"] <= e["crit"]
    # its gap below log Z is the optimum's KL: a Normal in log(lambda) is not a Gamma posterior. Per data set,
    # KL(q || p) = -H(q) - E_q[log p] in closed form: z ~ N(m, s^2), p(z) = b^a / Gamma(a) e^(a z - b e^z)
    from analytic.optimum import TARGETS

    family, kl = FAMILIES["poisson_gamma"], 0.0
    for x in result.datasets.values():
        for one in x:
            post = family.unconstrained_posterior(one, result.config.settings)
            q = TARGETS["advi"](post)
            m, s2 = float(q.mean[0]), float(q.cov[0, 0])
            a, b = post.a, post.b
            log_p = a * np.log(b) - special.gammaln(a) + a * m - b * np.exp(m + s2 / 2)
            kl += -0.5 * np.log(2 * np.pi * np.e * s2) - log_p
    assert kl > 0
    assert abs(e["gap"] - kl) <= stats.norm.isf(budget.ALPHA / 2) * e["se"], (e["gap"], kl, e["se"])


def test_an_elbo_above_log_z_is_caught():
    from study.evidence import judge_evidence

    high = judge_evidence({"kind": "elbo", "estimate": -10.0, "se": 0.01, "spread": np.nan}, -10.1, 0.01)
    assert not high["agree"]
    low = judge_evidence({"kind": "elbo", "estimate": -10.2, "se": 0.01, "spread": np.nan}, -10.1, 0.01)
    assert low["agree"]


def test_smc_chains_with_different_numbers_of_stages_give_their_last_stage():
    """PyMC stores each chain's stages as an array of its own length when the chains differ."""
    import xarray as xr

    from study.evidence import engine_evidence

    ragged = np.empty((2, 1), dtype=object)
    ragged[0, 0], ragged[1, 0] = np.array([-3.0, -2.0, -1.0]), np.array([-3.0, -1.5])
    even = np.array([[-3.0, -2.0, -1.0], [-3.0, -2.5, -1.5]])
    for values, dims in ((ragged, ("chain", "draw")), (even, ("chain", "stage"))):
        tree = xr.DataTree.from_dict(
            {
                "posterior": xr.Dataset(),
                "sample_stats": xr.Dataset({"log_marginal_likelihood": (dims, values)}),
            }
        )
        e = engine_evidence(tree)
        assert e["chains"] == 2 and e["estimate"] == pytest.approx(-1.25)


def test_one_smc_chain_gives_its_last_stage_and_is_shown_not_judged():
    """PyMC 6 labels one SMC chain's stages as its ``chain`` axis: read them as that chain's stages.

    Fitted one data set per model, the stitched evidence failed on it before (``--chains 1``:
    "conflicting sizes for dimension 'chain'"); one chain has no spread, so no standard error
    to judge its estimate by.
    """
    from models.engines.registry import SAMPLERS
    from study.evidence import chain_log_evidences, engine_evidence, judge_evidence
    from study.fitting import fit

    family = FAMILIES["normal_normal"]
    settings = family.settings()
    datasets = simulate_datasets(family, settings, (10,), 3, seed=0)
    tree = fit(SAMPLERS["smc"], family, settings, datasets, seed=1, draws=200, tune=200, chains=1, cores=1,
               progress=False)  # fmt: skip
    assert tree["posterior"].sizes["chain"] == 1
    assert tree["sample_stats"]["log_marginal_likelihood"].shape == (1,)
    assert np.isfinite(chain_log_evidences(tree)).all()
    e = engine_evidence(tree)
    assert e["chains"] == 1 and np.isnan(e["se"])
    judged = judge_evidence(e, e["estimate"] + 100.0, 0.01)  # however far off: not judged without a spread
    assert judged["agree"] and judged["judged"] is False
