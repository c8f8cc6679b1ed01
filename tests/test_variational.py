"""Variational inference against exact answers: closed forms, estimators, beta-ELBO, Gumbel-softmax.

Closed forms are checked against independent routes (quadrature of the family's own
log-likelihood and prior, PyTensor's autodiff, Monte Carlo); estimators statistically, with
the run's false-alarm probability stated and shared by Bonferroni (``study.gradients.judge_gradients``).
"""

import dataclasses

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, stats

from analytic import normal_normal as nn
from analytic import variational as va
from models.families import FAMILIES
from study import gradients as gr
from tests import budget

ALPHA = budget.ALPHA


def _problem(key, n=20, seed=1):
    return gr.GaussianProblem.build(key, FAMILIES[key].settings(), n, budget.seed(seed))


def _points(post, full_rank):
    return [gr.q_at(post, p, full_rank=full_rank) for p in gr.POINTS]


def test_elbo_matches_quadrature_of_the_familys_own_densities():
    """ELBO = E_q[log lik + log prior - log q], integrated by QUADPACK in one dimension."""
    problem = _problem("normal_normal")
    s = problem.settings
    prior = stats.norm(s.prior_mean, np.sqrt(s.prior_var))
    for q in _points(problem.posterior, False):
        qd = stats.norm(q.mean[0], q.chol[0, 0])

        def integrand(z, qd=qd):
            log_joint = problem.family.log_likelihood({"mu": np.atleast_1d(z)}, problem.x, s)[
                0
            ] + prior.logpdf(z)
            return qd.pdf(z) * (log_joint - qd.logpdf(z))

        m, sd = q.mean[0], q.chol[0, 0]
        value, err = integrate.quad(integrand, m - 40 * sd, m + 40 * sd, epsabs=1e-10, limit=200)
        assert abs(va.elbo(q, problem.posterior) - value) <= err + 1e-8


def test_elbo_never_above_log_evidence_and_equal_at_the_posterior():
    for key in gr.gaussian_families():
        post = _problem(key).posterior
        for q in _points(post, True):
            assert va.elbo(q, post) <= post.log_z + 1e-9
        assert va.kl(va.optimum(post, full_rank=True), post) == pytest.approx(0, abs=1e-9)


def _elbo_graph(post, full_rank, d):
    """The closed-form ELBO written again in PyTensor, as a function of the packed parameters."""
    theta = pt.dvector("theta")
    m = theta[:d]
    if full_rank:
        rows, cols = va.tril(d)
        packed = theta[d:]
        on_diag = rows == cols
        values = pt.switch(on_diag, pt.exp(packed), packed)
        chol = pt.set_subtensor(pt.zeros((d, d))[rows, cols], values)
    else:
        chol = pt.diag(pt.exp(theta[d:]))
    p = post.precision
    diff = post.mean - m
    kl = 0.5 * (
        pt.trace(p @ chol @ chol.T)
        + diff @ p @ diff
        - d
        + np.linalg.slogdet(post.cov)[1]
        - 2 * pt.sum(pt.log(pt.diag(chol)))
    )
    elbo = post.log_z - kl
    return theta, pytensor.function([theta], pytensor.grad(elbo, theta))


def _pack(q):
    d = q.dim
    if not q.full_rank:
        return np.concatenate([q.mean, np.log(np.diag(q.chol))])
    rows, cols = va.tril(d)
    packed = q.chol[rows, cols].copy()
    packed[rows == cols] = np.log(packed[rows == cols])
    return np.concatenate([q.mean, packed])


@pytest.mark.parametrize("key", ["normal_normal", "multivariate_normal_known_cov", "linear_regression"])
def test_elbo_gradient_matches_pytensor_autodiff(key):
    post = _problem(key).posterior
    for full_rank in (False, True) if post.dim > 1 else (False,):
        _, grad = _elbo_graph(post, full_rank, post.dim)
        for q in _points(post, full_rank):
            np.testing.assert_allclose(va.elbo_gradient(q, post), grad(_pack(q)), rtol=1e-9, atol=1e-9)


def test_one_dimensional_closed_forms_equal_the_gauss_hermite_rule():
    """The derived Normal-Normal variances against the polynomial-exact quadrature."""
    post = _problem("normal_normal", n=100).posterior
    nodes, weights = va.hermite_grid(1)
    for q in _points(post, False):
        closed = va.one_dimensional_moments(q, post)
        for name, values in va.per_sample(q, post, nodes).items():
            mean = weights @ values
            var = weights @ (values - mean) ** 2
            np.testing.assert_allclose(closed[name][0], mean, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(
                closed[name][1], var, rtol=1e-7, atol=1e-12 * closed["pathwise"][1].max()
            )


def test_sticking_the_landing_has_no_variance_at_the_posterior_and_pathwise_keeps_one():
    for key in gr.gaussian_families():
        post = _problem(key).posterior
        q = va.optimum(post, full_rank=post.dim > 1)
        moments = va.exact_moments(q, post)
        assert np.all(moments["stl"][1] <= gr.ZERO_VARIANCE_SHARE * moments["pathwise"][1])
        assert np.all(moments["pathwise"][1] > 0)
        eps = np.random.default_rng(0).standard_normal((1000, post.dim))
        np.testing.assert_allclose(
            va.per_sample(q, post, eps)["stl"], 0, atol=1e-9 * np.abs(post.precision).max()
        )


def test_score_function_variance_grows_like_n_cubed():
    """Exact variance of the score function in m at the optimum, N = 10^4 and 10^5.

    ``var = (c0^2 + ...) / s^2``, ``c0 = log Z = -N (log(2 pi sigma^2) + 1) / 2 + O(log N)``
    for data whose sample variance is sigma^2, so the local log-log slope is 3 up to
    ``O(log N / N)``; at these N that is below 0.01.
    """
    s = FAMILIES["normal_normal"].settings()
    var = []
    for n in (10_000, 100_000):
        x = nn.simulate(np.random.default_rng(n), n=n, reps=1, true_mean=2.0, noise_var=s.noise_var)[0]
        post = nn.posterior(x=x, **s.prior)
        log_z = float(nn.log_evidence(x=x, **s.prior))
        g = va.GaussianPosterior(np.array([float(post.mean)]), np.array([[float(post.var)]]), log_z)
        var.append(va.one_dimensional_moments(va.optimum(g, full_rank=False), g)["score"][1][0])
    assert np.log10(var[1] / var[0]) == pytest.approx(3, abs=0.01)


@pytest.mark.statistical(2)
def test_estimators_agree_with_exact_gradients_and_variances():
    """Every estimator (PyMC's pathwise included) at every point: mean (z) and variance (interval).

    ``study.gradients.checked_config``: two families, two N, one and ten samples, 1000
    repetitions, whose false-alarm rate benchmarks/gradients.py measures; the run's false-alarm
    probability is ALPHA, shared by Bonferroni over its checks.
    """
    rows = gr.judge_gradients(gr.run_gradients(gr.checked_config(seed=budget.seed(0))), ALPHA)
    assert set(rows["estimator"]) == {"score", "score_baseline", "pathwise", "stl"}
    assert set(rows["q_family"]) == {"mean_field", "full_rank"}
    bad = rows[~rows["agree"]]
    assert bad.empty, bad[
        ["model", "n", "point", "param", "estimator", "samples", "z_bias", "var", "var_exact"]
    ]
    # the checks can fail: pathwise means moved by 20 standard errors are caught, each of them
    shifted = rows.copy()
    pick = (shifted["estimator"] == "pathwise") & (shifted["point"] == "mean+1sd") & shifted["judged"]
    assert pick.sum() >= 10
    shifted.loc[pick, "mean_grad"] += 20 * shifted.loc[pick, "se_grad"]
    assert not gr.judge_gradients(shifted, ALPHA).loc[pick, "agree"].any()
    # rows too heavy-tailed to judge are score-function or single-sample rows; every estimator
    # is still judged at most points (the baseline's at sd/2 and sd*2 only from 100 samples on)
    shown = rows[~rows["judged"]]
    assert (shown["estimator"].str.startswith("score") | (shown["samples"] == 1)).all()
    points = rows[rows["judged"]].groupby("estimator")["point"].nunique()
    assert (points >= 3).all() and (points.drop("score_baseline") == len(gr.POINTS)).all(), points


def test_variance_interval_is_the_chi_square_for_normal_estimates():
    lo, hi = gr.variance_interval(2.0, 3 * 2.0**2, 101, 0.95)
    assert lo == pytest.approx(2.0 * stats.chi2.ppf(0.025, 100) / 100)
    assert hi == pytest.approx(2.0 * stats.chi2.ppf(0.975, 100) / 100)


def test_tempered_posterior_is_the_posterior_with_the_noise_variance_times_w():
    """prior x likelihood^(1/w) for Gaussian noise is the posterior with sigma^2 -> w sigma^2."""
    for key in gr.gaussian_families():
        family = FAMILIES[key]
        s = family.settings()
        x = _problem(key).x
        prior_mean, prior_cov = family.gaussian_prior(s)
        mean, cov = family.gaussian_posterior(x, s)
        for w in (0.5, 2.0, 5.0):
            t_mean, t_cov = va.tempered(prior_mean, prior_cov, mean, cov, w)
            r_mean, r_cov = family.gaussian_posterior(x, dataclasses.replace(s, noise_var=w * s.noise_var))
            np.testing.assert_allclose(t_mean, r_mean, rtol=1e-10)
            np.testing.assert_allclose(t_cov, r_cov, rtol=1e-10)


@pytest.mark.statistical(3)
def test_beta_weighted_elbo_fit_lands_on_the_tempered_posterior():
    config = gr.GradientConfig(
        families=("normal_normal",), settings={"normal_normal": FAMILIES["normal_normal"].settings()},
        ns=(100,), weights=(0.5, 2.0, 5.0), seed=budget.seed(0),
    )  # fmt: skip
    beta = gr.judge_beta(gr.run_beta_elbo(config), ALPHA)
    assert beta["agree"].all(), beta
    # and it has power at the alpha a run uses (1%): a fit 5% too wide, or 0.06 sd off in its
    # mean, is caught at every weight. Each is about 18 to 20 standard errors (se about 0.0025
    # and 0.003) against a limit of 6.1 (t on 5 degrees of freedom); missed only if the seeds'
    # spread overstates the standard error about 3-fold, which has probability below 1e-8.
    wide = beta.assign(log_sd_ratio=beta["log_sd_ratio"] + np.log(1.05))
    assert not gr.judge_beta(wide, 0.01)["agree"].any()
    off = beta.assign(mean_error_sd=beta["mean_error_sd"] + 0.06)
    assert not gr.judge_beta(off, 0.01)["agree"].any()
    # the weight moves the answer: at N = 100, precision 1/2 + 20/w, so w = 5 is 3 times wider than w = 0.5
    fit = beta.set_index("weight")["fit_sd"]
    assert fit[5.0] / fit[0.5] > 2.5


def test_relaxed_gradient_formula_matches_pytensor_autodiff():
    f = gr.mixture_scores(0)
    logits, g, t = np.array([0.3, -1.0, 0.5]), np.random.default_rng(2).gumbel(size=3), 0.37
    lv = pt.dvector("logits")
    y = pt.special.softmax((lv + g) / t)
    grad = pytensor.function([lv], pytensor.grad(pt.dot(y, f), lv))
    np.testing.assert_allclose(va.relaxed_categorical(logits, f, g, t), grad(logits), rtol=1e-10)


@pytest.mark.statistical(3)
def test_reinforce_is_unbiased_and_the_relaxed_bias_shrinks_with_temperature(monkeypatch):
    """REINFORCE within z of the exact gradient; the relaxed bias large when hot, small when cold.

    Checks: REINFORCE's 6 logit components, and the relaxed bias at the highest temperature
    (6); Bonferroni at ALPHA over the 12. At the uniform q, where the bias keeps its sign,
    each logit's bias at the lowest temperature is below a third of its bias at the highest,
    each taken at the far end of its own critical interval. The test budget's z (5.1) makes
    those intervals wide: at the command's 200,000 draws the cold estimator's standard error
    (0.09 to 0.13 at temperature 0.01) leaves its upper end above a third of the hot bias for
    the middle logit, so the test draws four times as many, which halves it.
    """
    monkeypatch.setattr(gr.gumbel, "GUMBEL_DRAWS", 4 * gr.GUMBEL_DRAWS)
    config = gr.GradientConfig(families=(), settings={}, seed=budget.seed(0))
    g = gr.run_gumbel(config)
    z = stats.norm.isf(ALPHA / 12 / 2)
    reinforce = g[g["estimator"] == "reinforce"]
    assert (np.abs(reinforce["z_bias"]) <= z).all(), reinforce
    relaxed = g[g["estimator"] == "gumbel_softmax"]
    hot = relaxed[relaxed["temperature"] == relaxed["temperature"].max()].set_index(["point", "logit"])
    cold = relaxed[relaxed["temperature"] == relaxed["temperature"].min()].set_index(["point", "logit"])
    assert (np.abs(hot["z_bias"]) > z).all()
    hot_lo = (np.abs(hot["bias"]) - z * hot["se_grad"]).loc["uniform"]
    cold_hi = (np.abs(cold["bias"]) + z * cold["se_grad"]).loc["uniform"]
    assert (cold_hi < hot_lo / 3).all(), (cold_hi, hot_lo)
    assert cold["var"].min() > hot["var"].max()


# Identities the suite relies on


def test_gaussian_log_likelihood_is_minus_mse_over_two_sigma2_plus_a_constant():
    family = FAMILIES["normal_normal"]
    s = family.settings()
    x = _problem("normal_normal").x
    mu = np.linspace(-1, 4, 7)
    mse = ((x[None, :] - mu[:, None]) ** 2).mean(axis=1)
    n = len(x)
    expected = -n * mse / (2 * s.noise_var) - 0.5 * n * np.log(2 * np.pi * s.noise_var)
    np.testing.assert_allclose(family.log_likelihood({"mu": mu}, x, s), expected, rtol=1e-12)
    np.testing.assert_allclose(
        expected, stats.norm.logpdf(x[None, :], mu[:, None], np.sqrt(s.noise_var)).sum(1)
    )


def test_bernoulli_log_likelihood_is_minus_the_binary_cross_entropy():
    family = FAMILIES["binomial_beta"]
    s = family.settings()
    x = family.simulate(np.random.default_rng(3), n=50, reps=1, settings=s)[0]
    p = np.linspace(0.05, 0.95, 9)
    bce = -(x[None, :] * np.log(p[:, None]) + (1 - x[None, :]) * np.log1p(-p[:, None])).mean(axis=1)
    np.testing.assert_allclose(family.log_likelihood({"p": p}, x, s), -len(x) * bce, rtol=1e-12)


def test_log_det_is_the_sum_of_log_eigenvalues():
    for key in ("multivariate_normal_known_cov", "linear_regression"):
        _, cov = FAMILIES[key].gaussian_posterior(_problem(key).x, FAMILIES[key].settings())
        np.testing.assert_allclose(
            np.linalg.slogdet(cov)[1], np.log(np.linalg.eigvalsh(cov)).sum(), rtol=1e-12
        )
    cov = FAMILIES["multivariate_normal_known_cov"].settings().cov
    np.testing.assert_allclose(np.linalg.slogdet(cov)[1], np.log(np.linalg.eigvalsh(cov)).sum(), rtol=1e-12)


def test_gradient_of_a_quadratic_form_by_pytensor_autodiff():
    """d(x' A x)/dx = (A + A') x for a non-symmetric A."""
    rng = np.random.default_rng(4)
    a = rng.normal(size=(4, 4))
    xv = pt.dvector("x")
    grad = pytensor.function([xv], pytensor.grad(xv @ a @ xv, xv))
    for _ in range(3):
        x = rng.normal(size=4)
        np.testing.assert_allclose(grad(x), (a + a.T) @ x, rtol=1e-12)


def test_each_cell_depends_on_its_own_key_only():
    """Same seed, same numbers: a cell's estimates do not depend on the other sample counts run."""
    settings = {"normal_normal": FAMILIES["normal_normal"].settings()}
    both = gr.run_gradients(
        gr.GradientConfig(("normal_normal",), settings, ns=(10,), samples=(1, 10), reps=50)
    )
    alone = gr.run_gradients(
        gr.GradientConfig(("normal_normal",), settings, ns=(10,), samples=(10,), reps=50)
    )
    sampled = ["point", "param", "estimator", "mean_grad", "var"]
    left = both[both["samples"] == 10][sampled].reset_index(drop=True)
    pd.testing.assert_frame_equal(left, alone[sampled].reset_index(drop=True))


def test_gradients_on_two_workers_give_the_same_rows(tmp_path):
    """Same seed, same numbers: each gradients unit seeds itself; the files do not depend on where it ran."""
    import compare

    # three units: the estimators, the beta-ELBO fits at one weight, Gumbel-softmax
    args = ["gradients", "--model", "normal_normal", "--n", "10", "--samples", "1", "--reps", "50",
            "--weights", "2", "--seed", str(budget.seed(2026)), "--alpha", str(ALPHA)]  # fmt: skip
    for where, workers in (("here", "0"), ("w2", "2")):
        # the exit status is the checks' verdict (a statistical claim this test does not make)
        assert compare.main([*args, "--workers", workers, "--out", str(tmp_path / where)]) in (0, 1)
    timing = {"gradients.csv": ["seconds_per_grad", "var_x_cost"], "beta_elbo.csv": ["seconds"],
              "gumbel.csv": []}  # fmt: skip
    for name, columns in timing.items():
        here = pd.read_csv(tmp_path / "here" / name).drop(columns=columns)
        there = pd.read_csv(tmp_path / "w2" / name).drop(columns=columns)
        pd.testing.assert_frame_equal(here, there, check_exact=True)
