"""How a sampler's author checks an engine in their own test suite: one call, one assertion.

Copy this file next to your engine and run it with pytest::

    python -m pytest examples/check_in_pytest.py

``check_engine`` runs the suite's fixed-truth study (simulated data sets, the exact
conjugate posteriors, the calibrated per-row and pooled tests) and returns the verdict;
``assert_agrees`` fails with every disagreement listed. Its false-alarm probability is
``alpha`` for the whole call.

Which alpha for a CI: MCMC draws repeat for a seed on one machine but not across
processors, so on each new CI machine the call is a fresh draw and a correct engine fails
it with probability up to ``alpha``. Use ``alpha = 1e-4`` (one false failure in 10,000 CI
machines), as below; the defects a check exists for stay caught at that level (see
docs/false_alarms.md, "Your own CI", for the measured power). ``CHECK_ENGINE_ALPHA`` and
``CHECK_ENGINE_SEED`` override both, as this project's own test suite does.
"""

import os

import pymc as pm

from examples.no_jacobian_nuts import no_jacobian_nuts
from study.api import check_engine

ALPHA = float(os.environ.get("CHECK_ENGINE_ALPHA", "1e-4"))
SEED = int(os.environ.get("CHECK_ENGINE_SEED", "1"))
SMALL = dict(ns=(10, 100), reps=5, draws=500, tune=500, chains=2, seed=SEED, alpha=ALPHA)


def my_engine(model, *, draws, tune, chains, cores, seed, progress):
    """Stand-in for your engine: PyMC's own NUTS through pm.sample."""
    return pm.sample(
        draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed, model=model,
        progressbar=progress, compute_convergence_checks=False,
    )  # fmt: skip


def test_my_engine_agrees_with_the_exact_posteriors():
    """Your engine, on two families: every row and pooled test must agree."""
    check_engine(my_engine, families=["normal_normal", "poisson_gamma"], **SMALL).assert_agrees()


def test_a_missing_jacobian_is_caught():
    """The suite's power: a deliberately broken engine is caught."""
    check = check_engine(no_jacobian_nuts, families="binomial_beta", **SMALL)
    assert not check.agrees, str(check)
