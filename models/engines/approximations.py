"""Approximations and points: mean-field and full-rank ADVI, pymc-extras' Laplace, find_MAP.

Approximate engines return iid draws from their approximation, held as ``chains``
chains, so that the same summaries apply; a point engine (find_MAP) returns one chain of
one draw.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable

import arviz_stats as azs
import numpy as np
import pymc as pm
import pytensor
import xarray as xr
from arviz_base import from_dict
from pymc.pytensorf import compile as pm_compile
from pymc.pytensorf import find_rng_nodes, reseed_rngs
from pymc.variational import Approximation

from models.engines import numba_calls
from models.engines.protocol import (
    CORRELATION_ERRORS,
    ERROR_GROUP,
    Budget,
    adapter,
    as_chains,
    element_key,
    quiet_pymc,
    stamp,
)

# The tuned ADVI: Adam for ADVI_STEPS steps of ADVI_MC_SAMPLES draws each, its learning rate
# cut by ADVI_SLOW half-way to the window; the answer the average of the variational
# parameters over the last ADVI_AVERAGED (Polyak-Ruppert). Measured by the calibration: at
# one draw per step and a constant rate the sds ended about 0.3% narrow, a bias the
# pooled sd test found (10-20% of its tests below 5% on five families; docs/approximations.md).
# PyMC's default optimiser (adagrad_window) ends with sds 7-11% wide on normal_normal,
# averaged or not (benchmarks/advi_averaging.py); Adam averaged lands within the error
# that ``endpoint_errors`` estimates (docs/approximations.md).
ADVI_STEPS = 30_000
ADVI_AVERAGED = 20_000
ADVI_LEARNING_RATE = 0.01
ADVI_MC_SAMPLES = 8  # Monte Carlo draws per gradient step (pm.fit's obj_n_mc)
ADVI_SLOW = 0.3  # the learning rate is multiplied by this half-way to the averaged steps
SNAPSHOT_EVERY = 40  # iterates kept for the end point's error: one in this many of the averaged


class IterateAverage:
    """A ``pm.fit`` callback: the sum of the variational parameters over the last ``window`` steps.

    Every ``every``-th of those iterates is also kept (``snapshots``), for the error of the
    average (``endpoint_errors``). Half-way to the window, the optimiser's learning rate
    (the shared ``rate``) is multiplied by ``slow``: Adam's iterates wander about a point
    biased from the optimum by an amount proportional to the rate (measured: the sds 0.3%
    narrow at 0.01, one pooled standard error of the default study), and the smaller rate
    cuts that bias while the average's own error stays about the same.
    """

    def __init__(self, steps: int, window: int, every: int, rate=None, slow: float = 1.0) -> None:
        self.first, self.every = steps - window, every
        self.rate, self.slow = rate, slow
        self.total: list[np.ndarray] = []
        self.count = 0
        self.snapshots: list[list[np.ndarray]] = []

    def __call__(self, approx, losses, i: int) -> None:
        """Add step ``i``'s parameters to the sum once past ``first``; keep every ``every``-th."""
        if self.rate is not None and i == self.first // 2:
            self.rate.set_value(self.rate.get_value() * self.slow)
        if i <= self.first:
            return
        values = [param.get_value() for param in approx.params]
        self.total = values if not self.total else [t + v for t, v in zip(self.total, values, strict=True)]
        self.count += 1
        if self.count % self.every == 0:
            self.snapshots.append([v.copy() for v in values])

    def set_average(self, approx) -> None:
        """Put the averaged parameters into ``approx``."""
        for param, total in zip(approx.params, self.total, strict=True):
            param.set_value(total / self.count)


def endpoint_errors(
    approx, snapshots: list[list[np.ndarray]], draws: int, seed: int, correlations: bool = False
) -> xr.Dataset:
    """Return the standard errors of the draws' mean and sd that come from where the optimiser ended.

    The fitted ``q`` is an average of iterates that wander about the optimum; its error
    is that average's Monte Carlo error. For each kept iterate, ``draws`` draws of the
    model's free variables are taken from it with the same random numbers (so that only
    the iterate changes them), and their mean and sd per element form a series over the
    iterates; ArviZ's MCSE of the mean of that series (one chain, its autocorrelation
    counted) is the error of the averaged fit's draws' mean and sd, beyond the draws' own.

    Returns a Dataset with one variable per free variable, dims ``("statistic", *dims)``
    and ``statistic = ["mean", "sd"]``; with ``correlations``, also the errors of the draws'
    correlation per pair of one data set's components (``CORRELATION_ERRORS``; every free
    variable must have the batched model's leading ``n``, ``rep`` dims). ``approx``'s
    parameters are left at the last snapshot.
    """
    model = approx.model
    names = [v.name for v in model.free_RVs]
    nodes = approx.sample_node(model.free_RVs, size=draws)
    nodes = list(nodes) if isinstance(nodes, list | tuple) else [nodes]
    rngs = find_rng_nodes(nodes)
    sample = pm_compile([], nodes)
    series: dict[str, list[np.ndarray]] = {name: [] for name in names}
    correlation_series = []
    for values in snapshots:
        for param, value in zip(approx.params, values, strict=True):
            param.set_value(value)
        reseed_rngs(rngs, seed)
        drawn = sample()
        for name, d in zip(names, drawn, strict=True):
            series[name].append(np.stack([d.mean(axis=0), d.std(axis=0, ddof=1)]))
        if correlations:
            correlation_series.append(_correlations(drawn))
    out = {}
    for name in names:
        dims = ["statistic", *model.named_vars_to_dims.get(name, ())]
        values = np.asarray(series[name])  # (snapshot, statistic, *shape)
        dims += [f"{name}_dim_{k}" for k in range(len(dims) - 1, values.ndim - 2)]
        trace = xr.DataArray(values[None], dims=["chain", "draw", *dims])
        out[name] = azs.mcse(trace, method="mean").transpose(*dims)
    if correlations:
        out[CORRELATION_ERRORS] = _correlation_errors(model, names, correlation_series)
    errors = xr.Dataset(out)
    coords = {k: np.asarray(v) for k, v in model.coords.items()} | {"statistic": ["mean", "sd"]}
    return errors.assign_coords({k: v for k, v in coords.items() if k in errors.dims})


def _correlations(drawn: list[np.ndarray]) -> np.ndarray:
    """Correlation matrices of one data set's components, per data set: ``(n, rep, k, k)``.

    ``drawn`` holds each free variable's draws, ``(draws, n, rep, ...)``.
    """
    first = drawn[0]
    flat = np.concatenate([d.reshape(*d.shape[:3], -1) for d in drawn], axis=-1)  # (draws, n, rep, k)
    dev = flat - flat.mean(axis=0)
    dev /= np.sqrt((dev**2).sum(axis=0))
    return np.einsum("dnri,dnrj->nrij", dev, dev).reshape(*first.shape[1:3], flat.shape[-1], flat.shape[-1])


def _correlation_errors(model: pm.Model, names: list[str], series: list[np.ndarray]) -> xr.DataArray:
    """ArviZ's MCSE of each correlation's mean over the kept iterates: ``(n, rep, element, element_with)``."""
    keys = []
    for name in names:
        dims = model.named_vars_to_dims.get(name, ())
        if tuple(dims[:2]) != ("n", "rep"):
            raise ValueError(f"correlations need each free variable's dims to start n, rep; {name!r}: {dims}")
        shape = [len(model.coords[d]) for d in dims[2:]]
        keys += [element_key(name, index) for index in np.ndindex(*shape)]
    dims = ["chain", "draw", "n", "rep", "element", "element_with"]
    trace = xr.DataArray(np.asarray(series)[None], dims=dims)
    errors = azs.mcse(trace, method="mean").fillna(0.0)  # a component with itself: always 1, no error
    return errors.assign_coords(element=keys, element_with=keys)


def fit_averaged(
    model: pm.Model,
    method: str,
    *,
    seed: int,
    draws: int,
    progress: bool = False,
    steps: int = ADVI_STEPS,
    averaged: int = ADVI_AVERAGED,
    learning_rate: float = ADVI_LEARNING_RATE,
    mc_samples: int = ADVI_MC_SAMPLES,
    slow: float = ADVI_SLOW,
    optimizer: Callable[..., object] = pm.adam,
) -> tuple[Approximation, xr.Dataset]:
    """Fit ``method`` with iterates averaged; return the fitted approximation and its own errors.

    ``optimizer(learning_rate=...)`` is PyMC's optimiser factory (Adam by default); it gets
    the learning rate as a shared variable, which the averaging cuts by ``slow`` half-way.
    The approximation holds the averaged parameters; the errors are ``endpoint_errors``'
    for ``draws`` draws (with correlations for full rank). The tuned engines' fit, shared
    with ``benchmarks/fit_spread.py``, which checks those errors against refits.
    """
    numba_calls.install()  # each step draws from a Generator: see numba_calls
    rate = pytensor.shared(float(learning_rate))
    average = IterateAverage(steps, averaged, max(1, SNAPSHOT_EVERY * averaged // ADVI_AVERAGED),
                             rate=rate, slow=slow)  # fmt: skip
    with quiet_pymc():
        approx = pm.fit(n=steps, method=method, model=model, random_seed=seed,
                        obj_optimizer=optimizer(learning_rate=rate), obj_n_mc=mc_samples,
                        progressbar=progress, callbacks=[average])  # fmt: skip
    full_rank = method == "fullrank_advi"
    errors = endpoint_errors(approx, average.snapshots, draws, seed=seed + 3, correlations=full_rank)
    average.set_average(approx)
    return approx, errors


def advi_engine(method: str, *, name: str | None = None, **settings: float) -> Callable:
    """Make the tuned ADVI engine: ``method`` (``"advi"``, ``"fullrank_advi"``) by Adam, iterates averaged.

    ``settings`` are ``fit_averaged``'s (``steps``, ``averaged``, ``learning_rate``,
    ``mc_samples``, ``slow``), its defaults where not given. The power study's ADVI defects
    are this engine with fewer ``steps`` (and ``averaged``) or a larger ``learning_rate``.
    """
    defaults = {k: p.default for k, p in inspect.signature(fit_averaged).parameters.items()
                if p.kind is p.KEYWORD_ONLY and k not in ("seed", "draws", "progress")}  # fmt: skip
    if unknown := set(settings) - set(defaults):
        raise TypeError(f"advi_engine: unknown settings {sorted(unknown)}; known: {sorted(defaults)}")
    s = defaults | settings

    def run(model: pm.Model, b: Budget) -> xr.DataTree:
        start = time.perf_counter()
        draws = b.chains * b.draws
        approx, errors = fit_averaged(model, method, seed=b.seed, draws=draws, progress=b.progress, **s)
        idata = approx.sample(draws=draws, random_seed=b.seed + 1)
        idata = stamp(as_chains(idata, b.chains, b.draws), float("nan"), time.perf_counter() - start)
        idata["posterior"].attrs.update(elbo_estimate(approx, seed=b.seed + 2))
        idata[ERROR_GROUP] = xr.DataTree(errors)
        return idata

    run.__name__ = run.__qualname__ = name or method
    run.__doc__ = (
        f"{method}: pm.fit with Adam ({s['mc_samples']} draws per step, learning rate {s['learning_rate']}, "
        f"times {s['slow']} from step {(s['steps'] - s['averaged']) // 2}) for {s['steps']} steps, the "
        f"parameters averaged over the last {s['averaged']}, then ``chains * draws`` iid draws from "
        f"that fit and, in the ``{ERROR_GROUP}`` group, their end point's standard errors "
        "(``endpoint_errors``); ``tune`` is unused and compilation is inside ``sampling_time``."
    )
    return adapter(run)


def _advi_pymc_optimiser(method: str, steps: int | None, name: str) -> Callable:
    """``pm.fit(method)`` with PyMC's default optimiser, ``steps`` steps (None: pm.fit's default)."""

    def run(model: pm.Model, b: Budget) -> xr.DataTree:
        start = time.perf_counter()
        options = {} if steps is None else {"n": steps}
        numba_calls.install()
        with quiet_pymc():  # pm.fit logs "Finished" even without a progress bar
            approx = pm.fit(method=method, model=model, random_seed=b.seed, progressbar=b.progress, **options)
        idata = approx.sample(draws=b.chains * b.draws, random_seed=b.seed + 1)
        idata = stamp(as_chains(idata, b.chains, b.draws), float("nan"), time.perf_counter() - start)
        idata["posterior"].attrs.update(elbo_estimate(approx, seed=b.seed + 2))
        return idata

    run.__name__ = run.__qualname__ = name
    return adapter(run)


ELBO_DRAWS = 2000


def elbo_estimate(approx, *, seed: int, draws: int = ELBO_DRAWS) -> dict[str, float]:
    """Estimate the fitted q's ELBO, ``E_q[log p(x, z) - log q(z)]``, from ``draws`` iid draws of q.

    PyMC's own per-draw terms (``sized_symbolic_logp - symbolic_logq``: the model's log density
    with its Jacobians, in the space q lives in), averaged; ``elbo_mcse`` is their sd over
    ``sqrt(draws)``. Returns ``{"elbo", "elbo_mcse", "elbo_draws"}``.
    """
    per_draw = approx.set_size_and_deterministic(approx.sized_symbolic_logp - approx.symbolic_logq, draws, 0)
    values = np.asarray(pm_compile([], per_draw, random_seed=seed)(), dtype=float)
    return {
        "elbo": float(values.mean()),
        "elbo_mcse": float(values.std(ddof=1) / np.sqrt(draws)),
        "elbo_draws": draws,
    }


advi = advi_engine("advi")
advi_defaults = _advi_pymc_optimiser("advi", None, "advi_defaults")
advi_defaults.__doc__ = """Mean-field ADVI with ``pm.fit``'s defaults: 10,000 steps of adagrad_window at 1e-3.

As users meet it; then ``chains * draws`` iid draws from the fit. On normal_normal its sds
end 5% to 12% wide at N = 10 and twice the optimum's at N = 1000.
"""
# Full-rank ADVI is fitted one data set at a time (``Sampler.separately``): one full-rank
# Normal over the batched model's 60 data sets has thousands of covariance parameters and
# did not reach its optimum with PyMC's optimiser or with Adam (sds 3% to 72% wide,
# docs/approximations.md). A data set's own q has at most a few dimensions, but its log sds
# travel as slowly as mean-field's (from 0 to about -4 on poisson_gamma at N = 1000: the
# mean's wander makes their gradient noisy): at 10,000 steps, the last 6,000 averaged, the
# sds there ended 1.6 to 2.6 times the optimum's, so it runs as many steps as ``advi``.
FULLRANK_STEPS = ADVI_STEPS
FULLRANK_AVERAGED = ADVI_AVERAGED
fullrank_advi = advi_engine("fullrank_advi", steps=FULLRANK_STEPS, averaged=FULLRANK_AVERAGED)


def _laplace(name: str, **options) -> Callable:
    """pymc-extras' ``fit_laplace`` with ``options``, as the engine ``name``."""

    def run(model: pm.Model, b: Budget) -> xr.DataTree:
        from pymc_extras.inference import fit_laplace

        start = time.perf_counter()
        idata = fit_laplace(
            model=model, draws=b.chains * b.draws, random_seed=b.seed, progressbar=b.progress, **options
        )
        names = [v.name for v in model.free_RVs]
        posterior = xr.DataTree.from_dict({"posterior": idata["posterior"].to_dataset()[names]})
        return stamp(as_chains(posterior, b.chains, b.draws), float("nan"), time.perf_counter() - start)

    run.__name__ = run.__qualname__ = name
    return adapter(run)


laplace = _laplace("laplace", optimize_method="trust-ncg", use_hess=True)
laplace.__doc__ = """pymc-extras' Laplace approximation: a Normal at the MAP, covariance the inverse Hessian.

The Hessian is the exact one (trust-region Newton-CG with ``use_hess=True``). Draws
``chains * draws`` iid values, held as ``chains`` chains; ``tune`` is unused and
compilation is inside ``sampling_time``.
"""
laplace_defaults = _laplace("laplace_defaults")
laplace_defaults.__doc__ = """pymc-extras' Laplace approximation with every default, as users meet it.

Its default optimiser, BFGS, ends with its running estimate of the inverse Hessian, and
``fit_laplace`` takes that as the covariance instead of the exact Hessian's inverse: on
the default study the posterior sds came out 1.5 to 14 times too large.
"""


def map_point(model: pm.Model, *, seed: int, progress: bool = False, **options) -> dict[str, np.ndarray]:
    """pm.find_MAP's point (L-BFGS-B; ``options`` go to scipy.optimize.minimize), on PyMC 6.3 and 6.4.

    PyMC 6.4 asks callers to choose ``return_inferencedata`` and ``jitter``; 6.3 has neither.
    """
    kwargs = dict(options)
    if "return_inferencedata" in inspect.signature(pm.find_MAP).parameters:
        kwargs |= {"return_inferencedata": False, "jitter": False}
    point = pm.find_MAP(model=model, progressbar=progress, seed=seed, **kwargs)
    return {v.name: np.asarray(point[v.name]) for v in model.free_RVs}


@adapter
def find_map(model: pm.Model, b: Budget) -> xr.DataTree:
    """pm.find_MAP (L-BFGS-B), returned as one chain of one draw; draws, tune, chains unused."""
    start = time.perf_counter()
    point = map_point(model, seed=b.seed, progress=b.progress)
    idata = from_dict(
        {"posterior": {name: value[None, None] for name, value in point.items()}},
        dims={name: list(model.named_vars_to_dims.get(name, ())) for name in point},
        coords={k: np.asarray(v) for k, v in model.coords.items()},
    )
    return stamp(idata, float("nan"), time.perf_counter() - start)
