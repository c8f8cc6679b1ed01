"""The approximations' exact optima against independent routes.

The unconstrained densities against PyMC's own ``model.logp`` (its transforms and
Jacobians); the ADVI optima against a gradient-free search of an ELBO integrated by
SciPy's adaptive cubature; the Laplace targets against finite differences of PyMC's ``logp``. No draws:
nothing here is statistical.
"""

from functools import partial

import numpy as np
import pymc as pm
import pytest
from scipy import integrate, optimize, stats

from analytic import optimum as op
from analytic import unconstrained as uc
from models.families import FAMILIES  # also turns off fast math, as for every model the suite compiles

GAUSSIAN = uc.GaussianZ(np.array([1.0, 2.0]), np.array([[1.0, 0.6], [0.6, 2.0]]), "mu")
POSTERIORS = {
    "beta": uc.LogitBeta(12.0, 5.0),
    "gamma": uc.LogGamma(30.0, 14.0),
    "nig": uc.LogNormalInverseGamma(m=1.2, k=11.0, a=7.0, b=9.0),
    "dirichlet": uc.SimplexDirichlet((4.0, 6.0, 9.0)),
    "gaussian": GAUSSIAN,
}


def _f64(value):
    """A float64 array: PyTensor makes a Python float a float32 constant where it is exact (14.0), and
    PyMC's Gamma then takes 1 / (1 / beta) in float32, a relative error of 1e-7 in its log density."""
    return np.asarray(value, dtype=np.float64)


def _pymc_model(key):
    """A PyMC model whose prior is the posterior: PyMC's own transforms of the same distributions."""
    post = POSTERIORS[key]
    with pm.Model() as model:
        if key == "beta":
            pm.Beta("p", _f64(post.a), _f64(post.b))
        elif key == "gamma":
            pm.Gamma("lam", alpha=_f64(post.a), beta=_f64(post.b))
        elif key == "nig":
            sigma2 = pm.InverseGamma("sigma2", alpha=_f64(post.a), beta=_f64(post.b))
            pm.Normal("mu", _f64(post.m), sigma=pm.math.sqrt(sigma2 / _f64(post.k)))
        elif key == "dirichlet":
            pm.Dirichlet("theta", a=np.array(post.alpha))
        else:
            pm.MvNormal("mu", post.mean, cov=post.cov)
    return model


def _pymc_logp(model, jacobian):
    """PyMC's log density as a function of the flat vector of value variables."""
    fn = model.compile_logp(jacobian=jacobian)
    names = [v.name for v in model.value_vars]
    start = model.initial_point()
    shapes = [start[n].shape for n in names]
    sizes = [int(np.prod(shape)) for shape in shapes]

    def logp(z):
        parts = np.split(np.asarray(z, dtype=float), np.cumsum(sizes)[:-1])
        return float(fn({n: p.reshape(s) for n, p, s in zip(names, parts, shapes, strict=True)}))

    return logp


def _points(post, rng, k=6):
    return post.mode()[None] + 0.7 * rng.standard_normal((k, post.dim))


@pytest.mark.parametrize("key", list(POSTERIORS))
@pytest.mark.parametrize("jacobian", [True, False])
def test_log_density_is_pymcs_up_to_a_constant(key, jacobian):
    post, model = POSTERIORS[key], _pymc_model(key)
    logp = _pymc_logp(model, jacobian)
    z = _points(post, np.random.default_rng(1))
    ours = post.log_density(z, jacobian=jacobian)
    theirs = np.array([logp(row) for row in z])
    np.testing.assert_allclose(ours - ours[0], theirs - theirs[0], atol=1e-10)


@pytest.mark.parametrize("key", list(POSTERIORS))
@pytest.mark.parametrize("jacobian", [True, False])
def test_gradient_hessian_and_mode_against_central_differences(key, jacobian):
    post, h = POSTERIORS[key], 1e-5
    z = _points(post, np.random.default_rng(2))
    steps = np.eye(post.dim) * h
    logp, grad = partial(post.log_density, jacobian=jacobian), partial(post.grad, jacobian=jacobian)
    fd_grad = np.stack([(logp(z + e) - logp(z - e)) / (2 * h) for e in steps], axis=-1)
    fd_hess = np.stack([(grad(z + e) - grad(z - e)) / (2 * h) for e in steps], axis=-1)
    np.testing.assert_allclose(grad(z), fd_grad, atol=1e-6)
    np.testing.assert_allclose(post.hessian(z, jacobian=jacobian), fd_hess, atol=1e-6)
    mode = post.mode(jacobian=jacobian)
    np.testing.assert_allclose(post.grad(mode[None], jacobian=jacobian)[0], 0, atol=1e-10)
    assert np.all(np.linalg.eigvalsh(-post.hessian(mode[None], jacobian=jacobian)[0]) > 0)


def test_each_familys_value_variables_are_the_transforms_assumed_here():
    expected = {
        "normal_normal": ["mu"],
        "binomial_beta": ["p_logodds__"],
        "poisson_gamma": ["lam_log__"],
        "exponential_gamma": ["lam_log__"],
        "normal_inverse_gamma": ["sigma2_log__", "mu"],
        "categorical_dirichlet": ["theta_simplex__"],
        "multivariate_normal_known_cov": ["mu"],
        "linear_regression": ["beta"],
    }
    for key, family in FAMILIES.items():
        settings = family.settings()
        data = family.simulate(np.random.default_rng(0), n=5, reps=2, settings=settings)
        model = family.build_model({5: data}, settings)
        assert [v.name for v in model.value_vars] == expected[key], key


def _elbo_by_cubature(post, theta, full_rank):
    """ELBO (up to the constant) with E_q[log p] by SciPy's adaptive Gauss-Kronrod cubature over eps."""
    m, chol = op._unpack(np.asarray(theta, dtype=float), post.dim, full_rank)

    def integrand(eps):
        return np.prod(stats.norm.pdf(eps), axis=1) * post.log_density(m + eps @ chol.T)

    box = np.full(post.dim, 10.0)
    res = integrate.cubature(integrand, -box, box, rtol=0, atol=1e-12, max_subdivisions=100_000)
    assert res.status == "converged"
    return res.estimate + np.log(np.diag(chol)).sum()


@pytest.mark.parametrize("key", ["beta", "gamma"])
def test_one_dimensional_advi_optimum_is_the_gradient_free_maximum_of_a_cubature_elbo(key):
    post = POSTERIORS[key]
    target = op.advi_optimum(post, full_rank=False)
    res = optimize.minimize(lambda t: -_elbo_by_cubature(post, t, False), x0=[0.0, 0.0], method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 4000})  # fmt: skip
    assert res.success
    np.testing.assert_allclose(res.x, [target.mean[0], np.log(target.sd[0])], atol=1e-6)


@pytest.mark.parametrize("key", ["nig", "dirichlet"])
@pytest.mark.parametrize("full_rank", [False, True])
def test_two_dimensional_advi_optimum_is_a_stationary_maximum_of_a_cubature_elbo(key, full_rank):
    """Central differences of the cubature ELBO vanish at the optimum, and every step away lowers it.

    The optimiser stops at a gradient of ``GTOL`` (1e-6); 1e-5 here is still an optimum within
    about 1e-5 / curvature of the true one, far below any engine's noise.
    """
    post = POSTERIORS[key]
    target = op.advi_optimum(post, full_rank=full_rank)
    chol = np.linalg.cholesky(target.cov)
    theta = np.concatenate(
        [target.mean, np.log(np.diag(chol))] + ([chol[1:, :1].ravel()] if full_rank else [])
    )
    elbo = partial(_elbo_by_cubature, post, full_rank=full_rank)
    at, h = elbo(theta), 1e-3
    for e in np.eye(len(theta)) * h:
        up, down = elbo(theta + e), elbo(theta - e)
        assert abs(up - down) / (2 * h) < 1e-5
        assert at > max(up, down)


def test_gaussian_optima_are_the_closed_forms_and_the_generic_route_finds_them():
    """Full rank: the posterior; mean-field: its mean and sds 1/sqrt(P_jj), also by BFGS on the quadrature."""
    precision = np.linalg.inv(GAUSSIAN.cov)
    full, mean_field = op.advi_optimum(GAUSSIAN, full_rank=True), op.advi_optimum(GAUSSIAN, full_rank=False)
    np.testing.assert_allclose(full.cov, GAUSSIAN.cov)
    np.testing.assert_allclose(mean_field.cov, np.diag(1 / np.diag(precision)))
    rule = op.gauss_hermite(2, 10)
    for full_rank, want in ((False, mean_field), (True, full)):
        start = np.zeros(5 if full_rank else 4)
        res = optimize.minimize(op.negative_elbo, start, args=(GAUSSIAN, full_rank, rule), jac=True,
                                method="BFGS", options={"gtol": 1e-10})  # fmt: skip
        m, chol = op._unpack(res.x, 2, full_rank)
        np.testing.assert_allclose(m, want.mean, atol=1e-8)
        np.testing.assert_allclose(chol @ chol.T, want.cov, atol=1e-8)


@pytest.mark.parametrize("key", list(POSTERIORS))
def test_laplace_target_is_the_mode_and_hessian_of_pymcs_logp_without_jacobian(key):
    post, model = POSTERIORS[key], _pymc_model(key)
    logp = _pymc_logp(model, jacobian=False)
    res = optimize.minimize(lambda z: -logp(z), post.mode() + 0.3, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 8000})  # fmt: skip
    target = op.laplace_target(post)
    np.testing.assert_allclose(res.x, target.mean, atol=1e-6)
    h, d = 1e-4, post.dim
    hess = np.empty((d, d))
    for i, j in np.ndindex(d, d):
        ei, ej = np.eye(d)[i] * h, np.eye(d)[j] * h
        z = target.mean
        hess[i, j] = (logp(z + ei + ej) - logp(z + ei - ej) - logp(z - ei + ej) + logp(z - ei - ej)) / (
            4 * h**2
        )
    np.testing.assert_allclose(np.linalg.inv(-hess), target.cov, rtol=1e-5)


@pytest.mark.parametrize("key", ["beta", "gamma", "dirichlet"])
def test_advi_optimum_keeps_the_exact_posterior_mean(key):
    """Stationarity in m gives E_q[theta] = E[theta] for these families: the gap is in the sd alone."""
    post = POSTERIORS[key]
    exact = {"beta": 12 / 17, "gamma": 30 / 14, "dirichlet": np.array([4, 6, 9]) / 19}[key]
    for full_rank in (False, True):
        ((mean, _, _),) = op.constrained_moments(post, op.advi_optimum(post, full_rank=full_rank)).values()
        np.testing.assert_allclose(mean, exact, atol=1e-8)


def test_pymc_extras_laplace_lands_on_the_target_in_the_familys_own_model():
    """pymc-extras' Laplace (the registry's settings) on binomial_beta's model: the target, to its optimiser's
    tolerance. It works without the Jacobian: with it, the mode would be logit(a / b), not logit((a-1)/(b-1)).
    """
    from pymc_extras.inference import fit_laplace

    family = FAMILIES["binomial_beta"]
    settings = family.settings()
    x = family.simulate(np.random.default_rng(3), n=10, reps=1, settings=settings)
    model = family.build_model({10: x}, settings)
    idata = fit_laplace(optimize_method="trust-ncg", use_hess=True, model=model, draws=10, random_seed=1,
                        progressbar=False)  # fmt: skip
    post = family.unconstrained_posterior(x[0], settings)
    target = op.laplace_target(post)
    np.testing.assert_allclose(idata.fit["mean_vector"].values, target.mean, atol=1e-5)
    np.testing.assert_allclose(idata.fit["covariance_matrix"].values, target.cov, rtol=1e-5)
    assert abs(target.mean[0] - post.mode(jacobian=True)[0]) > 1e-2  # the Jacobian would be seen


def test_constrained_moments_of_a_gaussian_in_a_log_space_are_the_lognormals():
    """z ~ Normal(m, s): exp(z) is lognormal, with its mean, sd and excess kurtosis in closed form."""
    m, s = 0.3, 0.4
    ((mean, sd, kurtosis),) = op.constrained_moments(uc.LogGamma(2.0, 1.0), op.GaussianTarget(np.array([m]),
                                                     np.array([[s**2]]))).values()  # fmt: skip
    want = stats.lognorm(s, scale=np.exp(m))
    np.testing.assert_allclose(
        [mean, sd, kurtosis], [want.mean(), want.std(), want.stats(moments="k")], rtol=1e-9
    )


def test_constrained_pairs_of_a_gaussian_are_its_correlation_and_the_normal_variance_factor():
    """No transform: the correlation is the covariance's, and the factor (1 - rho^2)^2, Fisher's."""
    q = op.GaussianTarget(GAUSSIAN.mean, GAUSSIAN.cov)
    ((rho, factor),) = op.constrained_pairs(GAUSSIAN, q, [(("mu", (0,)), ("mu", (1,)))])
    want = 0.6 / np.sqrt(2.0)
    np.testing.assert_allclose([rho, factor], [want, (1 - want**2) ** 2], rtol=1e-9)


def test_constrained_pairs_on_the_simplex_against_another_quadrature():
    """Dirichlet's stick-breaking: the correlation and fourth moments of two simplex components under the
    full-rank optimum, by Gauss-Legendre on [-9, 9]^2 of the same Gaussian, then the delta method's factor."""
    post = POSTERIORS["dirichlet"]
    q = op.advi_optimum(post, full_rank=True)
    ((rho, factor),) = op.constrained_pairs(post, q, [(("theta", (0,)), ("theta", (2,)))])
    nodes, weights = np.polynomial.legendre.leggauss(300)
    u, v = np.meshgrid(9 * nodes, 9 * nodes, indexing="ij")
    w = (np.outer(weights, weights) * 81 * stats.norm.pdf(u) * stats.norm.pdf(v)).ravel()
    z = q.mean + np.stack([u.ravel(), v.ravel()], axis=1) @ np.linalg.cholesky(q.cov).T
    theta = post.constrained(z)["theta"]
    x, y = ((c - w @ c) / np.sqrt(w @ (c - w @ c) ** 2) for c in (theta[:, 0], theta[:, 2]))
    m = {(i, j): w @ (x**i * y**j) for i, j in ((1, 1), (4, 0), (0, 4), (2, 2), (3, 1), (1, 3))}
    r = m[(1, 1)]
    want = r**2 / 4 * (m[(4, 0)] + m[(0, 4)] + 2 * m[(2, 2)]) - r * (m[(3, 1)] + m[(1, 3)]) + m[(2, 2)]
    assert r < -0.3  # the simplex's components pull against each other
    np.testing.assert_allclose([rho, factor], [r, want], rtol=1e-7)


def test_the_gauss_hermite_rule_is_computed_once_and_cannot_be_changed_in_place():
    """The rule every optimum and moment reads is remembered per (dimension, nodes): the same
    arrays each call, equal to a fresh computation, and read-only, so that no caller can alter
    the next caller's rule."""
    points, weights = op.gauss_hermite(2, 7)
    assert op.gauss_hermite(2, 7)[0] is points
    fresh = op.hermite_grid.__wrapped__(2, 7)
    np.testing.assert_array_equal(points, fresh[0])
    np.testing.assert_array_equal(weights, fresh[1])
    assert points.shape == (49, 2) and np.isclose(weights.sum(), 1.0)
    with pytest.raises(ValueError, match="read-only"):
        points[0, 0] = 1.0
