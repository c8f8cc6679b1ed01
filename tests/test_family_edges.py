"""The families at their edges: boundary MLEs and MAPs with their notes, bad settings, bad data."""

import numpy as np
import pytest

from models.families import FAMILIES


@pytest.mark.parametrize(
    ("key", "x", "note"),
    [
        ("binomial_beta", np.zeros((1, 8)), "no successes"),
        ("binomial_beta", np.ones((1, 8)), "all successes"),
        ("poisson_gamma", np.zeros((1, 8)), "all counts 0"),
        ("categorical_dirichlet", np.zeros((1, 8)), "categories [1, 2] unseen"),
        ("normal_inverse_gamma", np.ones((1, 1)), "N = 1: sigma2 MLE 0"),
    ],
)
def test_mle_on_the_boundary_has_a_value_and_a_note(key, x, note):
    family = FAMILIES[key]
    exact = family.exact(x, family.settings())
    notes = [e["mle_note"][0] for e in exact.values()]
    assert any(note in n for n in notes), notes
    for e in exact.values():
        assert np.isfinite(e["mle"]).all() and np.isfinite(e["map_exact"]).all()
        assert np.isfinite(e["post_sd_exact"]).all()
    assert any(e["mle"][0] in (0.0, 1.0) for e in exact.values())


@pytest.mark.parametrize(
    ("key", "settings", "message"),
    [
        ("binomial_beta", {"true_p": 1.5}, "true p must be < 1"),
        ("binomial_beta", {"prior_a": 0}, "prior a must be > 0"),
        ("binomial_beta", {"prior_b": -0.5}, "prior b must be > 0"),
        ("poisson_gamma", {"true_rate": -1}, "true rate must be > 0"),
        ("poisson_gamma", {"prior_a": 0}, "prior shape a must be > 0"),
        ("exponential_gamma", {"prior_b": 0}, "prior rate b must be > 0"),
        ("normal_inverse_gamma", {"prior_a0": 1.0}, "prior a0 must be > 1.5"),
        ("normal_inverse_gamma", {"true_var": 0}, "true variance must be > 0"),
        ("categorical_dirichlet", {"categories": 1}, "categories must be >= 2"),
        ("categorical_dirichlet", {"prior_alpha": 0.5}, "every prior alpha must be >= 1"),
        ("multivariate_normal_known_cov", {"dim": 2.5}, "dim must be a whole number"),
        ("multivariate_normal_known_cov", {"noise_corr": 1.0}, "noise correlation must lie in"),
    ],
)
def test_settings_reject_bad_values(key, settings, message):
    with pytest.raises(ValueError, match=message):
        FAMILIES[key].settings(**settings)


# Jeffreys' priors: shapes below 1 are proper priors; the posterior density is unbounded at a
# boundary when no data move the shape above 1, and the MAP is that boundary, with a note.
@pytest.mark.parametrize(
    ("key", "prior", "x", "map_value", "note"),
    [
        ("binomial_beta", {"prior_a": 0.5, "prior_b": 0.5}, np.zeros((1, 6)), 0.0, "unbounded at 0"),
        ("binomial_beta", {"prior_a": 0.5, "prior_b": 0.5}, np.ones((1, 6)), 1.0, "unbounded at 1"),
        ("poisson_gamma", {"prior_a": 0.5, "prior_b": 1.0}, np.zeros((1, 6)), 0.0, "unbounded at 0"),
    ],
)
def test_prior_shape_below_one_puts_the_map_on_the_boundary_with_a_note(key, prior, x, map_value, note):
    family = FAMILIES[key]
    settings = family.settings(**prior)
    (exact,) = family.exact(x, settings).values()
    assert exact["map_exact"][0] == map_value
    assert note in exact["map_note"][0]
    # the boundary is the supremum of the exact posterior density: it grows without bound towards it
    (parts,) = family.densities(x[0], settings).values()
    post = parts["posterior"]
    near = [map_value + (1 - 2 * map_value) * 10.0**-k for k in (3, 6, 9)]
    assert np.all(np.diff(post.logpdf(near)) > 0)
    # data that move the shape above 1 give an interior MAP and no note
    (inside,) = family.exact(np.array([[1.0, 0, 0, 1, 0, 0]]), settings).values()
    assert 0 < inside["map_exact"][0] < 1 and inside["map_note"][0] == ""


@pytest.mark.parametrize(
    ("key", "prior", "truth"),
    [
        ("binomial_beta", {"prior_a": 0.5, "prior_b": 0.5, "true_p": 0.05}, 0.05),
        ("binomial_beta", {"prior_a": 0.5, "prior_b": 2.0, "true_p": 0.97}, 0.97),
        ("poisson_gamma", {"prior_a": 0.5, "prior_b": 1.0, "true_rate": 0.1}, 0.1),
    ],
)
def test_map_risk_with_a_boundary_map_matches_simulation(key, prior, truth):
    """The clipped MAP's exact bias and variance (a sum over s) against 200,000 simulated data sets."""
    family = FAMILIES[key]
    settings = family.settings(**prior)
    rng = np.random.default_rng(7)
    for n in (3, 20):
        x = family.simulate(rng, n=n, reps=200_000, settings=settings)
        (exact,) = family.exact(x, settings).values()
        errors = exact["map_exact"] - truth
        (risk,) = family.risks(np.array([n]), settings, prob=0.9).values()
        se_bias = errors.std() / np.sqrt(len(errors))
        # 4.9 se: two-sided false-alarm probability 1e-6 per check
        assert abs(errors.mean() - risk["map_bias"][0]) < 4.9 * se_bias
        centred = errors - errors.mean()
        se_var = np.sqrt((np.mean(centred**4) - errors.var() ** 2) / len(errors))  # any kurtosis
        assert abs(errors.var() - risk["map_var"][0]) < 4.9 * se_var


def test_binary_and_count_data_are_checked():
    from analytic import binomial_beta, exponential_gamma, poisson_gamma

    with pytest.raises(ValueError, match="only 0 and 1"):
        binomial_beta.posterior(x=[[0, 2]], a=2, b=2)
    with pytest.raises(ValueError, match="non-negative whole numbers"):
        poisson_gamma.posterior(x=[[1.5]], a=2, b=1)
    with pytest.raises(ValueError, match="positive waiting times"):
        exponential_gamma.posterior(x=[[0.0]], a=2, b=1)
