"""Engines from outside the suite: loading them, and checking what any engine returns.

An engine is any callable that follows the engine protocol (``models.engines.Engine``)::

    engine(model, *, draws, tune, chains, cores, seed, progress) -> xarray.DataTree

with a ``posterior`` group of dims ``(chain, draw, ...)``, the model's own dims after
them. It is named on the command line as ``module.path:callable`` (beside the registry's
names, in a comma list), or announced by an installed package under the entry-point
group ``conjugate_check.samplers``, or passed to ``study.api.check_engine``.

Optional metadata, read from the callable's attributes (the ``engine`` decorator sets
them), each with a default, so an engine that says nothing is judged as an exact sampler:

``name``
    Name in tables, rows and file names (default: the callable's name).
``description``
    One line for ``--list-samplers`` (default: the first line of its docstring).
``exact``
    True (default) for an asymptotically exact engine, False for an approximation.
``kind``
    ``"distribution"`` (default: it returns draws) or ``"point"`` (one draw: a MAP).
``check``
    How it is judged: ``"sampler"`` (the calibrated tests; the default for draws),
    ``"target"`` (an approximation's draws against its exact optimum, named by
    ``target``), ``"close"`` (the accuracy bounds of an approximation) or ``"map"`` (the
    default for a point).
``target``
    With ``check="target"``: the optimum it should reach, ``"laplace"``, ``"advi"`` or
    ``"fullrank_advi"`` (``analytic.optimum.TARGETS``).
``promise``
    What it promises, in words, for the reading (default: said by its check).
``thin``
    Iterations per kept draw (default 1): the suite asks for ``thin`` times the draws and
    tuning steps and keeps every ``thin``-th draw.
``separately``
    True to be given one data set per model instead of the study's one batched model
    (default False): for an engine whose error grows with the dimension of what it fits,
    as SMC's does (``study.fitting``).

What goes wrong before sampling (a module that does not import, a missing attribute,
something not callable, a signature without the protocol's keywords, bad metadata) is a
``PluginError``: bad input. What goes wrong inside a run (the engine raises, returns the
wrong type, the wrong dims or non-finite draws) is an ``EngineFailure`` of that engine
alone, raised by ``run_engine``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
import time
from collections.abc import Callable

import numpy as np
import pymc as pm
import xarray as xr

from analytic.optimum import TARGETS
from models.engines.protocol import CORRELATION_ERRORS, ERROR_GROUP, Sampler
from models.engines.registry import SAMPLERS

ENTRY_POINT_GROUP = "conjugate_check.samplers"
PROTOCOL_KEYWORDS = ("draws", "tune", "chains", "cores", "seed", "progress")
KINDS = ("distribution", "point")
CHECKS = ("sampler", "target", "close", "map")
PROMISES = {
    "target": "its draws are tested against the exact {target} optimum, whose gap to the posterior is shown",
    "close": "its family should hold the posterior, so it should match the exact mean and sd closely",
    "map": "the exact MAP, up to optimiser tolerance",
}


class PluginError(ValueError):
    """An outside engine that cannot be used: reported in one line, before anything runs."""


class EngineFailure(RuntimeError):
    """An engine that failed inside its run: that engine's result is a failure, the others go on."""


def engine(
    *,
    name: str | None = None,
    description: str | None = None,
    exact: bool = True,
    kind: str = "distribution",
    check: str | None = None,
    target: str | None = None,
    promise: str | None = None,
    thin: int = 1,
    separately: bool = False,
) -> Callable[[Callable], Callable]:
    """Attach the suite's metadata to an engine function (every argument optional).

    Examples
    --------
    >>> @engine(name="my_vi", exact=False, check="close")
    ... def my_vi(model, *, draws, tune, chains, cores, seed, progress): ...
    """

    def mark(fn: Callable) -> Callable:
        given = dict(name=name, description=description, exact=exact, kind=kind, check=check, target=target,
                     promise=promise, thin=thin, separately=separately)  # fmt: skip
        for key, value in given.items():
            if value is not None:
                setattr(fn, key, value)
        return fn

    return mark


_LOADED: dict[str, Sampler] = {}


def is_spec(text: str) -> bool:
    """Say whether ``text`` names an engine as ``module.path:callable``."""
    return ":" in text


def load_engine(spec: str, *, via: str = "--sampler", name: str | None = None) -> Sampler:
    """Import ``module.path:callable`` and wrap it as a Sampler, checking the protocol's signature.

    Raises
    ------
    PluginError
        With one line naming the engine and the problem.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise PluginError(f"engine {spec!r}: write it as module.path:callable")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise PluginError(f"engine {spec!r}: cannot import module {module_name!r} ({err})") from None
    except Exception as err:  # noqa: BLE001 - any error while importing a user's module is its problem
        raise PluginError(
            f"engine {spec!r}: importing module {module_name!r} raised {type(err).__name__}: {err}"
        ) from None
    fn = module
    for part in attribute.split("."):
        if not hasattr(fn, part):
            raise PluginError(f"engine {spec!r}: module {module_name!r} has no attribute {attribute!r}")
        fn = getattr(fn, part)
    if not callable(fn):
        raise PluginError(f"engine {spec!r}: {attribute!r} is a {type(fn).__name__}, not a callable")
    return as_sampler(fn, label=spec, origin=f"{via}: {spec}", name=name)


def as_sampler(
    fn: Callable, *, label: str | None = None, origin: str = "Python callable", name: str | None = None
) -> Sampler:
    """Wrap an engine callable, with its optional metadata, as a Sampler; check signature and metadata.

    ``label`` names the engine in errors (default: its ``__name__``); ``origin`` says where
    it came from, for --list-samplers and results.json.
    """
    label = label or getattr(fn, "__name__", repr(fn))
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(None, **dict.fromkeys(PROTOCOL_KEYWORDS))
        except TypeError as err:
            raise PluginError(
                f"engine {label!r} does not follow the engine protocol "
                f"(model, *, {', '.join(PROTOCOL_KEYWORDS)}): {err}"
            ) from None
    name = name or getattr(fn, "name", None) or getattr(fn, "__name__", None) or "engine"
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise PluginError(f"engine {label!r}: its name {name!r} must be letters, digits, '_', '.' or '-'")
    kind = getattr(fn, "kind", "distribution")
    check = getattr(fn, "check", None) or ("sampler" if kind == "distribution" else "map")
    thin = getattr(fn, "thin", 1)
    exact = getattr(fn, "exact", True)
    separately = getattr(fn, "separately", False)
    if kind not in KINDS:
        raise PluginError(f"engine {label!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if check not in CHECKS:
        raise PluginError(f"engine {label!r}: check {check!r} is not one of {', '.join(CHECKS)}")
    target = getattr(fn, "target", None)
    if check == "target" and target not in TARGETS:
        raise PluginError(f"engine {label!r}: check 'target' needs target= one of {', '.join(TARGETS)}, "
                          f"got {target!r}")  # fmt: skip
    promise = getattr(fn, "promise", None) or PROMISES.get(check, "").format(target=target)
    if not isinstance(thin, int) or isinstance(thin, bool) or thin < 1:
        raise PluginError(f"engine {label!r}: thin must be a whole number >= 1, got {thin!r}")
    if not isinstance(exact, bool):
        raise PluginError(f"engine {label!r}: exact must be True or False, got {exact!r}")
    if not isinstance(separately, bool):
        raise PluginError(f"engine {label!r}: separately must be True or False, got {separately!r}")
    doc = (inspect.getdoc(fn) or "").strip().splitlines()
    description = getattr(fn, "description", None) or (doc[0] if doc else f"outside engine {label}")
    return Sampler(
        name, str(description), exact, kind, None, (), fn, check=check, thin=thin, separately=separately,
        origin=origin, promise=str(promise), target=target if check == "target" else None,
    )  # fmt: skip


def entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Engines announced by installed packages under ``conjugate_check.samplers``, by name."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_entry_point(ep: importlib.metadata.EntryPoint) -> Sampler:
    """Load one announced engine; its entry-point name is its name."""
    dist = ep.dist.name if ep.dist is not None else "an installed package"
    return load_engine(ep.value, via=f"entry point {ep.name!r} of {dist}", name=ep.name)


def resolve(name: str) -> Sampler:
    """Return the engine a name means: a registry key, an entry-point name, or ``module.path:callable``.

    Loaded engines are kept, so each is imported once per process.
    """
    if name in SAMPLERS:
        return SAMPLERS[name]
    if name in _LOADED:
        return _LOADED[name]
    if is_spec(name):
        sampler = load_engine(name)
    else:
        announced = entry_points()
        if name not in announced:
            raise PluginError(
                f"unknown sampler {name!r}; choose from: {', '.join([*SAMPLERS, *announced])}, all, "
                "or module.path:callable"
            )
        sampler = load_entry_point(announced[name])
    if sampler.name in SAMPLERS:
        raise PluginError(
            f"engine {name!r} is named {sampler.name!r}, which is a built-in engine's name; "
            "give it another (its `name` attribute)"
        )
    _LOADED[name] = sampler
    return sampler


def run_engine(sampler: Sampler, model: pm.Model, *, chains: int, draws: int, **kwargs) -> xr.DataTree:
    """Call an engine and check what it returned; raise EngineFailure naming the problem.

    ``draws`` is what the engine is asked for (after ``thin``). The posterior must hold
    every free variable of the model with dims ``(chain, draw, *model dims)``, the model's
    sizes, ``chains x draws`` for a distribution and ``1 x 1`` for a point, and finite
    values. Coordinates an engine left at their default (0, 1, ...) get the model's.
    """
    start = time.perf_counter()
    try:
        idata = sampler.run(model, chains=chains, draws=draws, **kwargs)
    except Exception as err:  # noqa: BLE001 - any failure inside an engine is that engine's
        message = str(err).strip().splitlines()
        raise EngineFailure(
            f"raised {type(err).__name__}: {message[0] if message else '(no message)'}"
        ) from err
    if not isinstance(idata, xr.DataTree):
        raise EngineFailure(f"returned a {type(idata).__name__}, not an xarray.DataTree")
    if "posterior" not in idata.children:
        raise EngineFailure(f"returned no 'posterior' group (groups: {', '.join(idata.children) or 'none'})")
    seconds = time.perf_counter() - start
    attrs = idata["posterior"].attrs
    for key, value in (("compile_time", float("nan")), ("sampling_time", seconds), ("wall_time", seconds)):
        attrs.setdefault(key, value)
    posterior = idata["posterior"].to_dataset()
    expected = (chains, draws) if sampler.kind == "distribution" else (1, 1)
    coords = {}
    for rv in model.free_RVs:
        name = rv.name
        if name not in posterior.data_vars:
            raise EngineFailure(f"its posterior has no draws of {name!r}")
        dims = ("chain", "draw", *model.named_vars_to_dims.get(name, ()))
        got = posterior[name]
        if got.dims != dims:
            raise EngineFailure(f"draws of {name!r} have dims {got.dims}, the protocol wants {dims}")
        sizes = (*expected, *(len(model.coords[d]) for d in dims[2:]))
        if got.shape != sizes:
            raise EngineFailure(f"draws of {name!r} have shape {got.shape}, expected {sizes}")
        bad = int(np.size(got) - np.isfinite(got.values).sum())
        if bad:
            raise EngineFailure(f"{bad} of {got.size} draws of {name!r} are NaN or infinite")
        for dim in dims[2:]:
            want = np.asarray(model.coords[dim])
            have = np.asarray(posterior[dim]) if dim in posterior.coords else np.arange(len(want))
            if not np.array_equal(have, want):
                if not np.array_equal(have, np.arange(len(want))):
                    raise EngineFailure(
                        f"coordinate {dim!r} is {have.tolist()}, the model's is {want.tolist()}"
                    )
                coords[dim] = want
    if coords:
        idata["posterior"] = xr.DataTree(posterior.assign_coords(coords))  # the dataset keeps the attrs
    if ERROR_GROUP in idata.children:
        _check_fit_errors(idata[ERROR_GROUP].to_dataset(), model)
    return idata


def _check_fit_errors(errors: xr.Dataset, model: pm.Model) -> None:
    """Check an ``optimiser_error`` group: per free variable, ``("statistic", *dims)``, finite and >= 0."""
    for rv in model.free_RVs:
        name = rv.name
        dims = ("statistic", *model.named_vars_to_dims.get(name, ()))
        if name not in errors.data_vars:
            raise EngineFailure(f"its {ERROR_GROUP} group has no standard errors of {name!r}")
        got = errors[name]
        if got.dims != dims or list(np.asarray(got["statistic"])) != ["mean", "sd"]:
            raise EngineFailure(
                f"{ERROR_GROUP} of {name!r} has dims {got.dims}, the protocol wants {dims} "
                "with statistic = ['mean', 'sd']"
            )
        _standard_errors_only(got, f"{ERROR_GROUP} of {name!r}")
    if CORRELATION_ERRORS in errors.data_vars:
        got = errors[CORRELATION_ERRORS]
        wanted = ("n", "rep", "element", "element_with")
        if got.dims != wanted:
            raise EngineFailure(
                f"{ERROR_GROUP}'s {CORRELATION_ERRORS!r} has dims {got.dims}, the protocol wants {wanted}"
            )
        _standard_errors_only(got, f"{ERROR_GROUP}'s {CORRELATION_ERRORS!r}")


def _standard_errors_only(values: xr.DataArray, what: str) -> None:
    """Raise EngineFailure unless every value is a standard error: finite and >= 0."""
    values = np.asarray(values.values, dtype=float)
    if not (np.isfinite(values) & (values >= 0)).all():
        raise EngineFailure(f"{what} holds values that are negative, NaN or infinite")
