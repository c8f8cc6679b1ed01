"""The engine protocol, what the registry says of an engine, and helpers every adapter shares.

Every engine is a callable ``(model, *, draws, tune, chains, cores, seed, progress)``
returning an ``xarray.DataTree`` whose ``posterior`` group has dims ``(chain, draw, ...)``
with the model's own dims after them. Each built-in adapter times itself and stores, in
the posterior's attributes, ``compile_time`` (seconds spent building and compiling before
the first iteration, where the engine's API lets the two be separated; NaN where it does
not, and then the compilation is inside ``sampling_time``), ``sampling_time`` and
``wall_time`` (``stamp``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pymc as pm
import xarray as xr

from models.families import Family

# The group in which an approximation reports its fit's own error (see ``Engine``), and the
# variable in it that holds the standard errors of its draws' correlations, if it reports them.
ERROR_GROUP = "optimiser_error"
CORRELATION_ERRORS = "correlation"


def element_key(variable: str, index: tuple[int, ...]) -> str:
    """Name one scalar component of a variable (beyond its ``n``, ``rep`` dims): ``mu``, ``theta[2]``."""
    return f"{variable}[{','.join(map(str, index))}]" if index else variable


class Engine(Protocol):
    """The engine protocol: what every engine, built in or from outside, is called with and returns.

    ``engine(model, *, draws, tune, chains, cores, seed, progress)`` fits the PyMC
    ``model`` (one batched model: every data set of the study) and returns an
    ``xarray.DataTree`` whose ``posterior`` group holds every free variable with dims
    ``(chain, draw, ...)``, the model's own dims after them (``n``, ``rep``, ...). A
    sampler returns ``chains x draws`` draws after ``tune`` tuning steps, from the
    generator seeded by ``seed``; a point estimate returns one chain of one draw. It may
    store ``compile_time``, ``sampling_time`` and ``wall_time`` (seconds) in the
    posterior's attributes and a ``sample_stats`` group with ``diverging``. An approximation
    whose fit is itself random (a stochastic optimiser's end point) may return an
    ``optimiser_error`` group (``ERROR_GROUP``): per free variable, dims ``("statistic",
    ...)`` with ``statistic = ["mean", "sd"]``, the standard errors of its draws' mean and sd
    that come from where the fit ended; the verdict against the optimum adds them to the
    draws' own (``study.targets``). A full-rank fit may add ``correlation``
    (``CORRELATION_ERRORS``), dims ``("n", "rep", "element", "element_with")``, the elements
    named by ``element_key``: the standard errors of its draws' correlation per pair of
    components of one data set.
    """

    def __call__(
        self, model: pm.Model, *, draws: int, tune: int, chains: int, cores: int, seed: int, progress: bool
    ) -> xr.DataTree:  # pragma: no cover - a protocol
        """Fit ``model`` and return its posterior draws."""
        ...


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
        statistical tests and diagnostic floors; ``"target"``, an approximation's draws
        tested against its own exact optimum (``study.targets``; ``target`` names it);
        ``"close"``, the accuracy bounds of an approximation whose family contains the
        exact posterior; ``"map"``, a point compared with the exact MAP.
    target
        For ``check="target"``: which exact optimum (``study.targets.TARGETS``: ``"laplace"``,
        ``"advi"``, ``"fullrank_advi"``).
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
    separately
        True for an engine whose error grows with the dimension of what it fits (SMC): the
        study then fits each data set in a model of its own instead of all in one batched
        model (``study.fitting``). Slower; the draws are read the same way.
    origin
        Where the engine comes from: ``"built in"``, or how an outside engine was loaded
        (``models.engines.plugins``).
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
    target: str | None = None
    thin: int = 1
    budget: str = "{chains} chains x {draws} draws after {tune} tuning"
    needs_problem: bool = False
    separately: bool = False
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
class Budget:
    """What the engine protocol's keywords ask of a run: draws, tuning, chains, processes, seed, progress."""

    draws: int
    tune: int
    chains: int
    cores: int
    seed: int
    progress: bool


def adapter(fit: Callable[..., xr.DataTree]) -> Engine:
    """Give ``fit(model, budget, **extra)`` the engine protocol's signature (the keywords, once, here).

    The built-in adapters are written against a ``Budget``; what they are called with is
    what every engine is called with: ``(model, *, draws, tune, chains, cores, seed, progress)``.
    """

    def run(
        model: pm.Model,
        *,
        draws: int,
        tune: int,
        chains: int,
        cores: int = 1,
        seed: int,
        progress: bool = False,
        **extra,
    ) -> xr.DataTree:
        return fit(model, Budget(draws, tune, chains, cores, seed, progress), **extra)

    run.__name__, run.__qualname__, run.__doc__ = fit.__name__, fit.__qualname__, fit.__doc__
    run.__module__ = fit.__module__
    return run


@dataclass(frozen=True)
class Problem:
    """What an engine drawing from the closed forms needs: the family, its settings, the data sets.

    ``draws_rng(seed, n)`` is the generator of its draws at sample size ``n``, from the
    engine's ``seed``: the study's seed source (``study.seeds``) hands it over, so the exact
    engine's randomness comes from the same place as every other.
    """

    family: Family
    settings: object
    datasets: dict[int, np.ndarray]
    draws_rng: Callable[[int, int], np.random.Generator]


def map_groups(idata: xr.DataTree, fn: Callable[[xr.Dataset], xr.Dataset]) -> xr.DataTree:
    """Apply ``fn`` to every group's dataset, keeping the groups' attributes."""
    groups = {}
    for name, node in idata.children.items():
        groups[name] = fn(node.to_dataset())
        groups[name].attrs = dict(node.attrs)
    return xr.DataTree.from_dict(groups)


@contextlib.contextmanager
def quiet_pymc() -> Iterator[None]:
    """Hold PyMC's logger to warnings and errors inside the block (its info lines print without a bar)."""
    logger = logging.getLogger("pymc")
    before = logger.level
    logger.setLevel(max(before, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(before)


def stamp(idata: xr.DataTree, compile_time: float, sampling_time: float) -> xr.DataTree:
    """Store the adapter's timings in the posterior's attributes."""
    attrs = idata["posterior"].attrs
    attrs["compile_time"] = compile_time
    attrs["sampling_time"] = sampling_time
    attrs["wall_time"] = sampling_time + (0.0 if np.isnan(compile_time) else compile_time)
    return idata


def as_chains(idata: xr.DataTree, chains: int, draws: int) -> xr.DataTree:
    """Reshape ``chains * draws`` iid draws held as one chain into ``chains`` chains."""
    post = idata["posterior"].to_dataset()
    post = post.isel(chain=0, drop=True)
    post = post.assign_coords(draw=np.arange(chains * draws))
    stacked = post.coarsen(draw=draws).construct(draw=("chain", "draw"))
    stacked = stacked.assign_coords(chain=np.arange(chains), draw=np.arange(draws))
    return xr.DataTree.from_dict({"posterior": stacked.transpose("chain", "draw", ...)})
