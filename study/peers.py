"""The checks other projects use on their samplers, applied to the same draws the suite judges.

Written from their public descriptions, with their own constants, so that the zoo's
catch table (``study.zoo``) can set them beside the suite's verdict on the same runs:

``pymc_fixtures``
    PyMC's sampler test fixtures (``tests/sampler_fixtures.py``): per variable, the draws'
    mean and variance within ``numpy.testing.assert_allclose(expected, actual, rtol=0.1,
    atol=0.05)`` of the known values (the constants of its Normal, Uniform and NUTS
    fixtures), a Kolmogorov-Smirnov test of every 5th draw against the known CDF passing
    at p > 0.001, and R-hat within 1% of 1. Here each row of the study (one parameter of
    one data set) is one such fixture; a run fails if any row does.
``quarter_sd``
    The bound of posteriordb / stat_comp_benchmarks-style checks: the posterior mean within
    0.25 posterior sd of the reference (here the exact mean), per row.

Both judge a sampler's draws; for a point engine (a MAP) they do not apply (``None``).
"""

from __future__ import annotations

import numpy as np
from arviz_stats.base import array_stats
from scipy import stats

from models.families import FAMILIES

FIXTURE_RTOL, FIXTURE_ATOL = 0.1, 0.05  # PyMC's TestNUTSNormal, TestSliceUniform, ...
FIXTURE_KS_THIN, FIXTURE_KS_ALPHA = 5, 0.001  # KnownCDF
FIXTURE_RHAT_RTOL = 0.01  # BaseSampler.test_Rhat
QUARTER_SD = 0.25

PEERS = ("pymc_fixtures", "quarter_sd")


def _close(expected: float, actual: float) -> bool:
    """``numpy.testing.assert_allclose(expected, actual, rtol, atol)`` as a bool."""
    return abs(actual - expected) <= FIXTURE_ATOL + FIXTURE_RTOL * abs(actual)


def judge(result) -> dict[str, bool | None]:
    """Return, per peer method, whether it fails the study's draws (``None``: does not apply).

    ``result`` is a ``study.run.StudyResult``; the exact posterior of each row comes from
    its family's closed forms.
    """
    if result.engine.kind != "distribution":
        return dict.fromkeys(PEERS)
    family = FAMILIES[result.config.family]
    settings = result.config.settings
    posterior = result.idata["posterior"]
    fixture_fails = quarter_fails = False
    for param, (variable, selection) in family.labels(settings).items():
        draws = posterior[variable].isel(selection)
        for n, data in result.datasets.items():
            per_rep = draws.sel(n=n).transpose("rep", "chain", "draw", ...).values
            for one, rep_draws in zip(data, per_rep, strict=True):
                exact = family.densities(one, settings)[param]["posterior"]
                mean, var = float(exact.mean()), float(exact.var())
                flat = rep_draws.reshape(-1)
                ks = stats.kstest(flat[::FIXTURE_KS_THIN], exact.cdf).pvalue
                # frozen chains: R-hat inf; runaway chains: an infinite variance; failures either way
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    rhat = float(array_stats.rhat(rep_draws, chain_axis=0, draw_axis=1))
                    draws_mean, draws_var = flat.mean(), flat.var()
                fixture_fails |= not (
                    _close(mean, draws_mean)
                    and _close(var, draws_var)
                    and ks > FIXTURE_KS_ALPHA
                    and abs(rhat - 1) <= FIXTURE_RHAT_RTOL  # NaN (no chain moved) fails too
                )
                quarter_fails |= not abs(draws_mean - mean) <= QUARTER_SD * np.sqrt(var)
    return {"pymc_fixtures": bool(fixture_fails), "quarter_sd": bool(quarter_fails)}
