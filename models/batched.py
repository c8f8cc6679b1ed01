"""One PyMC model for every data set of a study: the shape every family's model shares.

The parameter has dims ``("n", "rep")``; each sample size N has its own observed matrix
``(reps, N)`` in a ``pm.Data`` container. The cells share no parameter, so the joint
posterior is the product of the per-data-set posteriors, and a single compiled model and
one sampler run serve the whole study.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.model.transform.optimization import freeze_dims_and_data


def data_name(n: int) -> str:
    """Name of the ``pm.Data`` container that holds the data sets of size ``n``."""
    return f"data_n{n}"


def batched_model(
    datasets: Mapping[int, np.ndarray],
    *,
    prior: Callable[[tuple[str, ...]], pt.TensorVariable],
    likelihood: Callable[[str, pt.TensorVariable, pt.TensorVariable, tuple[str, ...], int], object],
    dtype: str = "float64",
    coords: Mapping[str, object] | None = None,
    param_dims: tuple[str, ...] = (),
    data_dims: tuple[str, ...] = (),
) -> pm.Model:
    """Build the batched model of one family.

    Parameters
    ----------
    datasets
        Maps each sample size N to an array of shape ``(reps, N, ...)``; every N has the
        same number of replications.
    prior
        ``prior(dims)`` creates the parameter's random variable with dims
        ``("n", "rep", *param_dims)``, or a tuple of them for several parameters.
    likelihood
        ``likelihood(name, theta, x, dims, n)`` creates the observed variable ``name`` for
        data ``x`` of shape ``(reps, N, ...)`` and dims ``dims``, with ``theta`` the
        parameter's slice for this N, of shape ``(reps, *param_dims)``.
    dtype
        Data type of the observations (``"int64"`` for counts).
    coords, param_dims, data_dims
        Extra coordinates, and the dims the parameter and each observation have beyond
        ``("n", "rep")`` and ``("rep", "obs_n{N}")``.
    """
    ns = list(datasets)
    reps = {np.shape(x)[0] for x in datasets.values()}
    if len(reps) != 1:
        raise ValueError(f"every sample size needs the same number of replications, got {reps}")
    with pm.Model(coords={"n": ns, "rep": np.arange(reps.pop()), **(coords or {})}) as model:
        theta = prior(("n", "rep", *param_dims))
        for i, n in enumerate(ns):
            model.add_coord(f"obs_n{n}", np.arange(n))
            dims = ("rep", f"obs_n{n}", *data_dims)
            x = pm.Data(data_name(n), np.asarray(datasets[n], dtype=dtype), dims=dims)
            here = tuple(t[i] for t in theta) if isinstance(theta, tuple) else theta[i]
            likelihood(f"x_n{n}", here, x, dims, n)
    return model


def for_sampling(model: pm.Model) -> pm.Model:
    """Freeze the model's data and dims into constants, as the engines should see them.

    Frozen data let PyTensor fold the terms that depend on the data alone (such as
    ``log x!`` in a Poisson likelihood) into constants: on the default Poisson-Gamma study
    NUTS took 44 s with ``pm.Data`` and 6 s frozen; the posterior is the same.
    """
    return freeze_dims_and_data(model)
