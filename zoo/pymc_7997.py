"""PyMC (2025): the warm-up kept, because its length was read from what the step method said.

**Source**: pymc-devs/pymc issue #7997, fixed by pull request #8015, "Remove `tune` stat
from steps and fix non-discarding of tuning draws from trace" (December 2025): "parts of
sampling/postprocessing infer warmup length from a per-step "tune" sampler stat, which
can get out of sync (e.g. a step method returning "tune": False everywhere makes PyMC
think n_tune == 0, so warmup isn't discarded and the logs look wrong)". The sampling
driver, not the step method, now owns the count.

**What was wrong**: ``pm.sample`` ran ``tune`` warm-up iterations, then ``draws``, and
cut the trace at ``n_tune``, counted from the ``tune`` statistic every step method
emitted per iteration. A step method (a user's own, or one refactored) that reported
``tune = False`` throughout made the count 0: the warm-up, started from the initial point
and with its proposal scale still adapting, stayed at the head of the posterior, which
had ``tune + draws`` draws per chain.

**The fix**: the driver counts its own warm-up iterations; ``metropolis_fixed`` is the
twin, cutting at that count. Both run PyMC's Metropolis through ``pm.sample`` (the
warm-up kept aside, ``discard_tuned_samples=False``) and then cut the trace as the driver
did, from the flags the step reported: under the bug, all False. Every 4th draw is kept
(``thin``), as the registry's ``metropolis`` does.

    python compare.py --sampler zoo.pymc_7997:metropolis,zoo.pymc_7997:metropolis_fixed
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr
from arviz_base import from_dict

from models.engines.protocol import Budget
from zoo.target import bug_and_twin


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """PyMC's Metropolis, its trace cut where the step's own ``tune`` flags say the warm-up ended."""
    with model:
        idata = pm.sample(
            draws=b.draws, tune=b.tune, chains=b.chains, cores=b.cores, step=pm.Metropolis(),
            random_seed=b.seed, progressbar=b.progress, quiet=not b.progress,
            compute_convergence_checks=False, discard_tuned_samples=False, idata_kwargs={"save_warmup": True},
        )  # fmt: skip
    # the step's per-iteration 'tune' statistic: True through the warm-up, or, under the bug, never
    reported_tune = np.zeros(b.tune + b.draws, dtype=bool)
    if not bug:
        reported_tune[: b.tune] = True
    n_tune = int(reported_tune.sum())  # PyMC <= 5.26: the warm-up's length as the steps reported it
    trace = {
        v.name: np.concatenate(
            [idata["warmup_posterior"][v.name].values, idata["posterior"][v.name].values], axis=1
        )[:, n_tune:]
        for v in model.free_RVs
    }
    return from_dict(
        {"posterior": trace},
        dims={name: list(model.named_vars_to_dims.get(name, ())) for name in trace},
        coords={k: np.asarray(v) for k, v in model.coords.items()},
    )


metropolis, metropolis_fixed = bug_and_twin(
    fit,
    "pymc_7997",
    "PyMC 2025: warm-up kept when a step method reports tune=False (pymc#7997)",
    "PyMC's Metropolis with the driver counting its own warm-up, the fix of pymc#8015 (twin)",
    thin=4,
)
