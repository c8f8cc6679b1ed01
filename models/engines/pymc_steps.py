"""PyMC's own engines: NUTS, Metropolis, slice, DEMetropolisZ (through pm.sample) and SMC."""

from __future__ import annotations

import time
from collections.abc import Callable

import pymc as pm
import xarray as xr

from models.engines.protocol import Budget, adapter, stamp


def pm_sample(model: pm.Model, b: Budget, **specific) -> xr.DataTree:
    """``pm.sample`` with the run's budget, quiet unless asked, without PyMC's own convergence checks."""
    return pm.sample(
        draws=b.draws,
        tune=b.tune,
        chains=b.chains,
        random_seed=b.seed,
        model=model,
        progressbar=b.progress,
        quiet=not b.progress,
        compute_convergence_checks=False,
        **specific,
    )


def _pymc_step_sampler(make_step: Callable[[pm.Model, int, int], tuple[object, object]]) -> Callable:
    """Adapter for PyMC's own step methods: build (compile) the step, then pm.sample it."""

    @adapter
    def run(model: pm.Model, b: Budget) -> xr.DataTree:
        start = time.perf_counter()
        with model:
            step, initvals = make_step(model, b.chains, b.seed)
        compiled = time.perf_counter()
        idata = pm_sample(model, b, cores=b.cores, step=step, initvals=initvals)
        return stamp(idata, compiled - start, time.perf_counter() - compiled)

    return run


def _nuts_step(model: pm.Model, chains: int, seed: int):
    """PyMC's NUTS exactly as pm.sample sets it up: jittered starts, adapted diagonal mass."""
    initvals, step = pm.init_nuts(
        init="jitter+adapt_diag", chains=chains, model=model, random_seed=seed, progressbar=False, quiet=True
    )
    # PyMC means to skip the check of every gradient call's input (it passes float64 vectors
    # it made itself) but sets ``trust_input`` on the ValueGradFunction wrapper, where
    # nothing reads it (PyMC 6.3); set on the compiled function it holds, the check goes:
    # the same function on the same inputs, so the same draws.
    step._logp_dlogp_func._pytensor_function.trust_input = True
    return step, initvals


nuts = _pymc_step_sampler(_nuts_step)


def nuts_keeping_warmup(model: pm.Model, b: Budget) -> xr.DataTree:
    """PyMC's NUTS as ``nuts`` runs it, its warm-up draws kept (group ``warmup_posterior``); not timed."""
    step, initvals = _nuts_step(model, b.chains, b.seed)
    return pm_sample(
        model, b, cores=b.cores, step=step, initvals=initvals, discard_tuned_samples=False,
        idata_kwargs={"save_warmup": True},
    )  # fmt: skip


metropolis = _pymc_step_sampler(lambda model, chains, seed: (pm.Metropolis(model=model), None))
slice_sampler = _pymc_step_sampler(lambda model, chains, seed: (pm.Slice(model=model), None))
demetropolisz = _pymc_step_sampler(lambda model, chains, seed: (pm.DEMetropolisZ(model=model), None))


@adapter
def smc(model: pm.Model, b: Budget) -> xr.DataTree:
    """Sequential Monte Carlo (pm.sample_smc, IMH kernel): ``draws`` particles per chain.

    SMC has no tuning phase (``tune`` is unused) and compiles inside its call.
    """
    start = time.perf_counter()
    idata = pm.sample_smc(
        draws=b.draws,
        chains=b.chains,
        cores=b.cores,
        random_seed=b.seed,
        model=model,
        progressbar=b.progress,
        compute_convergence_checks=False,
    )
    return stamp(idata, float("nan"), time.perf_counter() - start)
