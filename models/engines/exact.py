"""The reference engine: iid draws from the closed-form posterior, what a perfect sampler scores.

It needs the family, its settings and the data (a ``Problem``), which the study passes to
every engine whose ``needs_problem`` is set.
"""

from __future__ import annotations

import time

import numpy as np
import pymc as pm
import xarray as xr
from arviz_base import from_dict

from models.engines.protocol import Budget, Problem, adapter, stamp


@adapter
def exact(model: pm.Model, b: Budget, *, problem: Problem) -> xr.DataTree:
    """Draw ``chains x draws`` iid values from each data set's exact joint posterior (the reference engine).

    Each sample size N draws from its own generator (derived from ``seed`` and N), so its
    draws do not depend on the other sizes in the run; ``tune`` is unused.
    """
    start = time.perf_counter()
    ns = [int(n) for n in model.coords["n"]]
    per_n = []
    for n in ns:
        rng = problem.draws_rng(b.seed, n)
        per_n.append(
            problem.family.posterior_draws(rng, problem.datasets[n], problem.settings, b.chains * b.draws)
        )
    return stamp(iid_posterior(model, per_n, b.chains, b.draws), float("nan"), time.perf_counter() - start)


def iid_posterior(
    model: pm.Model, per_n: list[dict[str, np.ndarray]], chains: int, draws: int
) -> xr.DataTree:
    """Hold iid draws as the model's posterior: ``per_n[i][name]`` is ``(chains * draws, rep, ...)`` for N_i.

    Returns a DataTree with ``(chain, draw, n, rep, ...)`` per variable and the model's dims and coords.
    """
    posterior = {}
    for name in per_n[0]:
        stacked = np.stack([d[name] for d in per_n], axis=1)  # (chains * draws, n, rep, ...)
        posterior[name] = stacked.reshape(chains, draws, *stacked.shape[1:])
    return from_dict(
        {"posterior": posterior},
        dims={name: list(model.named_vars_to_dims.get(name, ())) for name in posterior},
        coords={k: np.asarray(v) for k, v in model.coords.items()},
    )
