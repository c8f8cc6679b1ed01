"""SAMPLERS: the one place where PyMC's inference engines are called.

Every engine is an adapter ``(model, *, draws, tune, chains, cores, seed, progress)``
returning an ``xarray.DataTree`` whose ``posterior`` group has dims ``(chain, draw, ...)``
with the model's own dims after them, registered with its metadata in ``SAMPLERS``.

Each adapter times itself and stores, in the posterior's attributes, ``compile_time``
(seconds spent building and compiling before the first iteration, where the engine's
API lets the two be separated; NaN where it does not, and then the compilation is
inside ``sampling_time``), ``sampling_time`` and ``wall_time``.

Approximate engines return draws from their approximation (ADVI, Laplace) so that the
same summaries apply; a point engine (find_MAP) returns one chain of one draw. The
reference engine ``exact`` draws iid from the closed-form posterior: it is the control
that shows what a perfect sampler scores. It needs the family, its settings and the data
(a ``Problem``), which the study passes to every engine whose ``needs_problem`` is set.
"""

from __future__ import annotations

import importlib.util
import inspect
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pymc as pm
import xarray as xr
from arviz_base import from_dict
from pymc.pytensorf import compile as pm_compile

from models.families import Family


class Engine(Protocol):
    """The engine protocol: what every engine, built in or from outside, is called with and returns.

    ``engine(model, *, draws, tune, chains, cores, seed, progress)`` fits the PyMC
    ``model`` (one batched model: every data set of the study) and returns an
    ``xarray.DataTree`` whose ``posterior`` group holds every free variable with dims
    ``(chain, draw, ...)``, the model's own dims after them (``n``, ``rep``, ...). A
    sampler returns ``chains x draws`` draws after ``tune`` tuning steps, from the
    generator seeded by ``seed``; a point estimate returns one chain of one draw. It may
    store ``compile_time``, ``sampling_time`` and ``wall_time`` (seconds) in the
    posterior's attributes and a ``sample_stats`` group with ``diverging``.
    """

    def __call__(
        self, model: pm.Model, *, draws: int, tune: int, chains: int, cores: int, seed: int, progress: bool
    ) -> xr.DataTree:  # pragma: no cover - a protocol
        """Fit ``model`` and return its posterior draws."""
        ...


# Optimisation steps of ADVI (pm.fit); with PyMC's default optimiser (adagrad_window,
# learning rate 1e-3) the fit of the Normal-Normal study has settled by then.
ADVI_ITERATIONS = 30_000


@dataclass(frozen=True)
class Sampler:
    """An inference engine and what it promises.

    Attributes
    ----------
    name
        Registry key, used on the command line and in output rows.
    description
        One line for ``--list-samplers`` and reports.
    exact
        True when the engine is asymptotically exact (MCMC, SMC); False for
        approximations (ADVI, Laplace, find_MAP).
    kind
        ``"distribution"`` when it returns draws, ``"point"`` for a point estimate.
    needs
        The optional extra that provides it (``pip install -e ".[extra]"``), or None.
    modules
        The importable modules the extra provides; the engine is available when all import.
    run
        The adapter itself.
    check
        How its output is judged (see ``study.checks``): ``"sampler"``, the calibrated
        statistical tests and diagnostic floors; ``"close"``, the accuracy bounds of an
        approximation whose family contains the exact posterior; ``"map"``, a point
        compared with the exact MAP.
    promise
        What an approximate engine promises for a posterior in its own family, in words.
    thin
        Iterations per kept draw: random-walk engines run ``thin * (draws + tune)``
        iterations and keep every ``thin``-th draw, so stored draws stay as for NUTS.
    budget
        What a run costs, in words, for progress messages; ``{chains}``, ``{draws}``,
        ``{tune}`` and ``{thin}`` are filled in.
    needs_problem
        True for engines that draw from the closed forms (``exact``): the study passes them
        ``problem=Problem(...)`` beside the model.
    origin
        Where the engine comes from: ``"built in"``, or how an outside engine was loaded
        (``models.plugins``).
    """

    name: str
    description: str
    exact: bool
    kind: str
    needs: str | None
    modules: tuple[str, ...]
    run: Engine | Callable[..., xr.DataTree]
    check: str = "sampler"
    promise: str = ""
    thin: int = 1
    budget: str = "{chains} chains x {draws} draws after {tune} tuning"
    needs_problem: bool = False
    origin: str = "built in"

    @property
    def available(self) -> bool:
        """True when every module the engine needs can be imported."""
        return all(importlib.util.find_spec(m) is not None for m in self.modules)

    @property
    def install_hint(self) -> str:
        """How to make the engine available, or '' when it is."""
        if self.available or self.needs is None:
            return ""
        return f'pip install -e ".[{self.needs}]"'


@dataclass(frozen=True)
class Problem:
    """What an engine drawing from the closed forms needs: the family, its settings, the data sets."""

    family: Family
    settings: object
    datasets: dict[int, np.ndarray]


def map_groups(idata: xr.DataTree, fn: Callable[[xr.Dataset], xr.Dataset]) -> xr.DataTree:
    """Apply ``fn`` to every group's dataset, keeping the groups' attributes."""
    groups = {}
    for name, node in idata.children.items():
        groups[name] = fn(node.to_dataset())
        groups[name].attrs = dict(node.attrs)
    return xr.DataTree.from_dict(groups)


def _stamp(idata: xr.DataTree, compile_time: float, sampling_time: float) -> xr.DataTree:
    """Store the adapter's timings in the posterior's attributes."""
    attrs = idata["posterior"].attrs
    attrs["compile_time"] = compile_time
    attrs["sampling_time"] = sampling_time
    attrs["wall_time"] = sampling_time + (0.0 if np.isnan(compile_time) else compile_time)
    return idata


def _pymc_step_sampler(make_step: Callable[[pm.Model, int, int], tuple[object, object]]) -> Callable:
    """Adapter for PyMC's own step methods: build (compile) the step, then pm.sample it."""

    def run(
        model: pm.Model,
        *,
        draws: int,
        tune: int,
        chains: int,
        cores: int = 1,
        seed: int,
        progress: bool = False,
    ) -> xr.DataTree:
        start = time.perf_counter()
        with model:
            step, initvals = make_step(model, chains, seed)
        compiled = time.perf_counter()
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            step=step,
            initvals=initvals,
            random_seed=seed,
            model=model,
            progressbar=progress,
            quiet=not progress,
            compute_convergence_checks=False,
        )
        return _stamp(idata, compiled - start, time.perf_counter() - compiled)

    return run


def _nuts_step(model: pm.Model, chains: int, seed: int):
    """PyMC's NUTS exactly as pm.sample sets it up: jittered starts, adapted diagonal mass."""
    initvals, step = pm.init_nuts(
        init="jitter+adapt_diag", chains=chains, model=model, random_seed=seed, progressbar=False, quiet=True
    )
    return step, initvals


nuts = _pymc_step_sampler(_nuts_step)
metropolis = _pymc_step_sampler(lambda model, chains, seed: (pm.Metropolis(model=model), None))
slice_sampler = _pymc_step_sampler(lambda model, chains, seed: (pm.Slice(model=model), None))
demetropolisz = _pymc_step_sampler(lambda model, chains, seed: (pm.DEMetropolisZ(model=model), None))


def nutpie(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    progress: bool = False,
) -> xr.DataTree:
    """Nutpie's NUTS in Rust: compile the model with numba (lean callbacks, models/nutpie_lean.py), sample."""
    from models.nutpie_lean import compile_pymc_model
    from models.nutpie_lean import nutpie as nutpie_lib

    start = time.perf_counter()
    compiled_model = compile_pymc_model(model)
    compiled = time.perf_counter()
    idata = nutpie_lib.sample(
        compiled_model,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        progress_bar=progress,
        save_warmup=False,
    )
    return _stamp(idata, compiled - start, time.perf_counter() - compiled)


def numpyro(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    progress: bool = False,
) -> xr.DataTree:
    """NumPyro's NUTS through JAX (``nuts_sampler="numpyro"``), chains run one after another.

    JAX compiles inside NumPyro's sampling call, so ``compile_time`` is NaN and the
    compilation is counted in ``sampling_time``.
    """
    start = time.perf_counter()
    with warnings.catch_warnings():
        # JAX says it is running on CPU when it finds no GPU: expected here.
        warnings.filterwarnings("ignore", message=".*GPU.*")
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=seed,
            model=model,
            nuts_sampler="numpyro",
            nuts={"chain_method": "sequential"},
            progressbar=progress,
            quiet=not progress,
            compute_convergence_checks=False,
        )
    # NumPyro hands back JAX arrays; plain NumPy keeps ArviZ and NumPy from tripping on them.
    idata = map_groups(
        idata, lambda ds: ds.copy(data={k: np.asarray(v.data) for k, v in ds.data_vars.items()})
    )
    return _stamp(idata, float("nan"), time.perf_counter() - start)


def smc(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    progress: bool = False,
) -> xr.DataTree:
    """Sequential Monte Carlo (pm.sample_smc, IMH kernel): ``draws`` particles per chain.

    SMC has no tuning phase (``tune`` is unused) and compiles inside its call.
    """
    start = time.perf_counter()
    idata = pm.sample_smc(
        draws=draws,
        chains=chains,
        cores=cores,
        random_seed=seed,
        model=model,
        progressbar=progress,
        compute_convergence_checks=False,
    )
    return _stamp(idata, float("nan"), time.perf_counter() - start)


def _as_chains(idata: xr.DataTree, chains: int, draws: int) -> xr.DataTree:
    """Reshape ``chains * draws`` iid draws held as one chain into ``chains`` chains."""
    post = idata["posterior"].to_dataset()
    post = post.isel(chain=0, drop=True)
    post = post.assign_coords(draw=np.arange(chains * draws))
    stacked = post.coarsen(draw=draws).construct(draw=("chain", "draw"))
    stacked = stacked.assign_coords(chain=np.arange(chains), draw=np.arange(draws))
    return xr.DataTree.from_dict({"posterior": stacked.transpose("chain", "draw", ...)})


def _advi(method: str) -> Callable:
    def run(
        model: pm.Model,
        *,
        draws: int,
        tune: int,
        chains: int,
        cores: int = 1,
        seed: int,
        progress: bool = False,
    ) -> xr.DataTree:
        start = time.perf_counter()
        approx = pm.fit(n=ADVI_ITERATIONS, method=method, model=model, random_seed=seed, progressbar=progress)
        idata = approx.sample(draws=chains * draws, random_seed=seed + 1)
        idata = _stamp(_as_chains(idata, chains, draws), float("nan"), time.perf_counter() - start)
        idata["posterior"].attrs.update(elbo_estimate(approx, seed=seed + 2))
        return idata

    run.__doc__ = (
        f"{method} (pm.fit, {ADVI_ITERATIONS} steps), then ``chains * draws`` iid draws from the fit; "
        "``tune`` is unused and compilation is inside ``sampling_time``."
    )
    return run


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


advi = _advi("advi")
fullrank_advi = _advi("fullrank_advi")


def laplace(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    progress: bool = False,
) -> xr.DataTree:
    """pymc-extras' Laplace approximation: a Normal at the MAP with the inverse Hessian as covariance.

    The Hessian is the exact one (trust-region Newton-CG with ``use_hess=True``). With
    pymc-extras' default optimiser, BFGS, the covariance is BFGS's running estimate of
    the inverse Hessian instead; on the default study that made posterior sds 1.5 to 14
    times too large, so it is not used. Draws ``chains * draws`` iid values, held as
    ``chains`` chains; ``tune`` is unused and compilation is inside ``sampling_time``.
    """
    from pymc_extras.inference import fit_laplace

    start = time.perf_counter()
    idata = fit_laplace(
        optimize_method="trust-ncg",
        use_hess=True,
        model=model,
        draws=chains * draws,
        random_seed=seed,
        progressbar=progress,
    )
    names = [v.name for v in model.free_RVs]
    posterior = xr.DataTree.from_dict({"posterior": idata["posterior"].to_dataset()[names]})
    return _stamp(_as_chains(posterior, chains, draws), float("nan"), time.perf_counter() - start)


def map_point(model: pm.Model, *, seed: int, progress: bool = False, **options) -> dict[str, np.ndarray]:
    """pm.find_MAP's point (L-BFGS-B; ``options`` go to scipy.optimize.minimize), on PyMC 6.3 and 6.4.

    PyMC 6.4 asks callers to choose ``return_inferencedata`` and ``jitter``; 6.3 has neither.
    """
    kwargs = dict(options)
    if "return_inferencedata" in inspect.signature(pm.find_MAP).parameters:
        kwargs |= {"return_inferencedata": False, "jitter": False}
    point = pm.find_MAP(model=model, progressbar=progress, seed=seed, **kwargs)
    return {v.name: np.asarray(point[v.name]) for v in model.free_RVs}


def find_map(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    progress: bool = False,
) -> xr.DataTree:
    """pm.find_MAP (L-BFGS-B), returned as one chain of one draw; draws, tune, chains unused."""
    start = time.perf_counter()
    point = map_point(model, seed=seed, progress=progress)
    idata = from_dict(
        {"posterior": {name: value[None, None] for name, value in point.items()}},
        dims={name: list(model.named_vars_to_dims.get(name, ())) for name in point},
        coords={k: np.asarray(v) for k, v in model.coords.items()},
    )
    return _stamp(idata, float("nan"), time.perf_counter() - start)


def exact(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    progress: bool = False,
    problem: Problem,
) -> xr.DataTree:
    """Draw ``chains x draws`` iid values from each data set's exact joint posterior (the reference engine).

    Each sample size N draws from its own generator (derived from ``seed`` and N), so its
    draws do not depend on the other sizes in the run; ``tune`` is unused.
    """
    start = time.perf_counter()
    ns = [int(n) for n in model.coords["n"]]
    per_n = []
    for n in ns:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n,)))
        per_n.append(
            problem.family.posterior_draws(rng, problem.datasets[n], problem.settings, chains * draws)
        )
    posterior = {}
    for name in per_n[0]:
        stacked = np.stack([d[name] for d in per_n], axis=1)  # (chains * draws, n, rep, ...)
        posterior[name] = stacked.reshape(chains, draws, *stacked.shape[1:])
    idata = from_dict(
        {"posterior": posterior},
        dims={name: list(model.named_vars_to_dims.get(name, ())) for name in posterior},
        coords={k: np.asarray(v) for k, v in model.coords.items()},
    )
    return _stamp(idata, float("nan"), time.perf_counter() - start)


_CLOSE = "so it should match the exact mean and sd closely"
_THINNED = (
    "{chains} chains x {draws} draws after {tune} tuning (every {thin}th of {thin}x as many iterations)"
)
_FIT = f"{ADVI_ITERATIONS} optimisation steps, then {{chains}} x {{draws}} draws from the fit"

SAMPLERS: dict[str, Sampler] = {
    s.name: s
    for s in [
        Sampler(
            "exact",
            "iid draws from the closed-form posterior: the control, a perfect sampler",
            True,
            "distribution",
            None,
            (),
            exact,
            budget="{chains} x {draws} iid draws from the closed forms",
            needs_problem=True,
        ),
        Sampler(
            "nuts", "PyMC's No-U-Turn Sampler (nuts_sampler='pymc')", True, "distribution", None, (), nuts
        ),
        Sampler(
            "nutpie",
            "nutpie's NUTS in Rust, model compiled with numba",
            True,
            "distribution",
            "nutpie",
            ("nutpie",),
            nutpie,
        ),
        Sampler(
            "numpyro",
            "NumPyro's NUTS through JAX (nuts_sampler='numpyro')",
            True,
            "distribution",
            "jax",
            ("numpyro", "jax"),
            numpyro,
        ),
        Sampler(
            "metropolis",
            "PyMC's random-walk Metropolis, one coordinate at a time",
            True,
            "distribution",
            None,
            (),
            metropolis,
            thin=4,
            budget=_THINNED,
        ),
        Sampler(
            "slice",
            "PyMC's univariate slice sampler, one coordinate at a time",
            True,
            "distribution",
            None,
            (),
            slice_sampler,
        ),
        Sampler(
            "demetropolisz",
            "PyMC's differential-evolution Metropolis (one block, past-draws archive)",
            True,
            "distribution",
            None,
            (),
            demetropolisz,
            thin=10,
            budget=_THINNED,
        ),
        Sampler(
            "smc",
            "PyMC's Sequential Monte Carlo (pm.sample_smc, IMH kernel)",
            True,
            "distribution",
            None,
            (),
            smc,
            budget="{chains} runs of {draws} particles",
        ),
        Sampler(
            "advi",
            "mean-field ADVI (pm.fit), draws from the fitted Normal",
            False,
            "distribution",
            None,
            (),
            advi,
            check="close",
            budget=_FIT,
            promise=f"its family (independent Normals) contains a Normal-Normal posterior, {_CLOSE}",
        ),
        Sampler(
            "fullrank_advi",
            "full-rank ADVI (pm.fit), draws from the fitted Normal",
            False,
            "distribution",
            None,
            (),
            fullrank_advi,
            check="close",
            budget=_FIT,
            promise=f"its family (correlated Normals) contains a Normal-Normal posterior, {_CLOSE}",
        ),
        Sampler(
            "laplace",
            "pymc-extras' Laplace approximation (exact Hessian at the MAP)",
            False,
            "distribution",
            "laplace",
            ("pymc_extras",),
            laplace,
            promise="exact for a Normal posterior: its iid draws face the samplers' tests",
            budget="Newton-CG to the MAP, then {chains} x {draws} draws from the Normal",
        ),
        Sampler(
            "find_map",
            "pm.find_MAP (L-BFGS-B): the posterior mode only",
            False,
            "point",
            None,
            (),
            find_map,
            check="map",
            promise="the exact MAP, up to optimiser tolerance",
            budget="one optimisation",
        ),
    ]
}
