"""study/fitting.py: an engine that fits each data set on its own gets one data set per call,
and its posteriors are stitched back into the batched shape, each in its own place."""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from models.engines import SAMPLERS, plugins
from models.engines.plugins import as_sampler
from models.engines.protocol import ERROR_GROUP
from models.families import FAMILIES
from study import seeds
from study.fitting import fit
from study.run import simulate_datasets

CHAINS, DRAWS = 2, 5


def echo_the_data(model, *, chains: int, draws: int, seed: int, **_) -> xr.DataTree:
    """A stand-in engine: every draw is its one data set's sample mean, every chain's evidence its seed."""
    (observed,) = model.observed_RVs
    x = np.asarray(model.rvs_to_values[observed].eval())
    assert x.shape[0] == 1, "one data set per model"
    (rv,) = model.free_RVs
    value = np.full((chains, draws, 1, 1), float(x.mean()))
    posterior = xr.Dataset(
        {rv.name: (("chain", "draw", "n", "rep"), value)},
        coords={"n": list(model.coords["n"]), "rep": [0]},
    )
    stats = xr.Dataset({"log_marginal_likelihood": (("chain", "draw"), np.full((chains, 1), float(seed)))})
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def test_each_data_set_is_fitted_alone_and_put_back_in_its_place():
    family = FAMILIES["normal_normal"]
    settings = family.settings()
    datasets = simulate_datasets(family, settings, (10, 100), 3, seed=4)
    engine = as_sampler(plugins.engine(name="echo", separately=True)(echo_the_data), origin="a test")
    assert engine.separately  # as an outside engine says it with the decorator
    idata = fit(engine, family, settings, datasets, seed=7, draws=DRAWS, tune=0, chains=CHAINS, cores=1,
                progress=False)  # fmt: skip
    post = idata["posterior"]["mu"]
    assert post.dims == ("chain", "draw", "n", "rep") and post.shape == (CHAINS, DRAWS, 2, 3)
    assert list(post["n"].values) == [10, 100] and list(post["rep"].values) == [0, 1, 2]
    for n, x in datasets.items():
        expected = x.mean(axis=1)  # each replication's own sample mean, in its own place
        np.testing.assert_allclose(post.sel(n=n).isel(chain=0, draw=0).values, expected)
    # the evidence of the whole study: the sum of the fits' (here their seeds), chain by chain
    evidence = idata["sample_stats"]["log_marginal_likelihood"].values
    own_seeds = [seeds.integer(7, "separately", n, rep) for n in datasets for rep in range(3)]
    assert len(set(own_seeds)) == 6  # each fit its own seed
    np.testing.assert_array_equal(evidence, [float(sum(own_seeds))] * CHAINS)


def test_a_batched_engine_sees_every_data_set_in_one_model():
    family = FAMILIES["normal_normal"]
    settings = family.settings()
    datasets = simulate_datasets(family, settings, (10,), 3, seed=4)
    seen = []

    def batched(model, *, chains, draws, **_):
        (rv,) = model.free_RVs
        seen.append(rv.shape.eval().tolist())
        zeros = xr.Dataset({rv.name: (("chain", "draw", "n", "rep"), np.zeros((chains, draws, 1, 3)))})
        return xr.DataTree.from_dict({"posterior": zeros})

    engine = dataclasses.replace(SAMPLERS["nuts"], run=batched, name="batched")
    fit(engine, family, settings, datasets, seed=7, draws=DRAWS, tune=0, chains=CHAINS, cores=1,
        progress=False)  # fmt: skip
    assert seen == [[1, 3]]


def fit_with_errors(model, *, chains: int, draws: int, seed: int, **_) -> xr.DataTree:
    """A stand-in approximation: its draws the sample mean, its end point's errors and ELBO from its seed."""
    (observed,) = model.observed_RVs
    x = np.asarray(model.rvs_to_values[observed].eval())
    (rv,) = model.free_RVs
    coords = {"n": list(model.coords["n"]), "rep": [0]}
    value = np.full((chains, draws, 1, 1), x.mean())
    attrs = {"elbo": float(seed), "elbo_mcse": 2.0, "elbo_draws": 10}
    posterior = xr.Dataset({rv.name: (("chain", "draw", "n", "rep"), value)}, coords=coords, attrs=attrs)
    errors = xr.Dataset({rv.name: (("statistic", "n", "rep"), np.full((2, 1, 1), float(seed)))},
                        coords=coords | {"statistic": ["mean", "sd"]})  # fmt: skip
    return xr.DataTree.from_dict({"posterior": posterior, ERROR_GROUP: errors})


def test_a_fit_per_data_set_keeps_each_fits_own_error_in_its_place_and_adds_the_elbos():
    family = FAMILIES["normal_normal"]
    settings = family.settings()
    datasets = simulate_datasets(family, settings, (10, 100), 2, seed=4)
    vi = plugins.engine(name="vi", exact=False, separately=True)(fit_with_errors)
    engine = as_sampler(vi, origin="a test")
    idata = fit(engine, family, settings, datasets, seed=7, draws=DRAWS, tune=0, chains=CHAINS, cores=1,
                progress=False)  # fmt: skip
    errors = idata[ERROR_GROUP]["mu"]
    assert errors.dims == ("statistic", "n", "rep") and errors.shape == (2, 2, 2)
    own_seeds = {(n, rep): seeds.integer(7, "separately", n, rep) for n in datasets for rep in range(2)}
    for (n, rep), own in own_seeds.items():
        np.testing.assert_array_equal(errors.sel(n=n, rep=rep).values, [own, own])
    attrs = idata["posterior"].attrs
    # independent data sets: the ELBOs add, their Monte Carlo errors in quadrature
    assert attrs["elbo"] == float(sum(own_seeds.values())) and attrs["elbo_mcse"] == 4.0
