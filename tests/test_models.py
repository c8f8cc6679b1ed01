"""The PyMC models against the closed forms, without sampling."""

import numpy as np
import pytest

from models.families import FAMILIES
from study.run import simulate_datasets

NS, REPS = (1, 10, 200), 3


@pytest.fixture(scope="module", params=list(FAMILIES))
def case(request):
    family = FAMILIES[request.param]
    settings = family.settings()
    datasets = simulate_datasets(family, settings, NS, REPS, seed=7)
    return family, settings, datasets, family.build_model(datasets, settings)


def test_model_has_one_batched_variable_per_parameter(case):
    family, _, datasets, model = case
    assert sorted(v.name for v in model.free_RVs) == sorted(family.params)
    for param in family.params:
        assert model.named_vars_to_dims[param][:2] == ("n", "rep")
    assert list(model.coords["n"]) == list(datasets)
    assert len(model.coords["rep"]) == REPS


def test_unequal_replications_are_rejected():
    family = FAMILIES["normal_normal"]
    with pytest.raises(ValueError, match="same number of replications"):
        family.build_model({1: np.zeros((2, 1)), 3: np.zeros((3, 3))}, family.settings())


def test_settings_reject_bad_variances():
    settings = FAMILIES["normal_normal"].settings
    with pytest.raises(ValueError, match="noise variance must be > 0"):
        settings(noise_var=0)
    with pytest.raises(ValueError, match="prior variance must be finite"):
        settings(prior_var=float("nan"))
