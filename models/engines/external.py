"""Engines outside PyMC that sample PyMC's model: nutpie (Rust, numba callbacks) and NumPyro (JAX)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pymc as pm
import xarray as xr

from models.engines.protocol import Budget, adapter, map_groups, stamp
from models.engines.pymc_steps import pm_sample


@adapter
def nutpie(model: pm.Model, b: Budget) -> xr.DataTree:
    """Nutpie's NUTS in Rust: compile the model with numba (lean callbacks, nutpie_lean.py), sample."""
    from models.engines.nutpie_lean import compile_pymc_model
    from models.engines.nutpie_lean import nutpie as nutpie_lib

    start = time.perf_counter()
    compiled_model = compile_pymc_model(model)
    compiled = time.perf_counter()
    idata = nutpie_lib.sample(
        compiled_model,
        draws=b.draws,
        tune=b.tune,
        chains=b.chains,
        cores=b.cores,
        seed=b.seed,
        progress_bar=b.progress,
        save_warmup=False,
    )
    return stamp(idata, compiled - start, time.perf_counter() - compiled)


@adapter
def numpyro(model: pm.Model, b: Budget) -> xr.DataTree:
    """NumPyro's NUTS through JAX (``nuts_sampler="numpyro"``), chains run one after another.

    JAX compiles inside NumPyro's sampling call, so ``compile_time`` is NaN and the
    compilation is counted in ``sampling_time``.
    """
    start = time.perf_counter()
    with warnings.catch_warnings():
        # JAX says it is running on CPU when it finds no GPU: expected here.
        warnings.filterwarnings("ignore", message=".*GPU.*")
        idata = pm_sample(model, b, nuts_sampler="numpyro", nuts={"chain_method": "sequential"})
    # NumPyro hands back JAX arrays; plain NumPy keeps ArviZ and NumPy from tripping on them.
    idata = map_groups(
        idata, lambda ds: ds.copy(data={k: np.asarray(v.data) for k, v in ds.data_vars.items()})
    )
    return stamp(idata, float("nan"), time.perf_counter() - start)
