"""The model as a hand-written sampler sees it: a log density on one flat vector, and the way back.

The zoo's engines are samplers written the way their libraries wrote them (a NUTS tree
builder, a stretch move, a Metropolis driver), so they need what any such sampler needs:
the log density of the model's unconstrained values as one flat vector, with its
gradient; a starting point; and, once they have drawn, the draws mapped back to the
model's own variables (``p``, not its log-odds) in the engine protocol's DataTree.
``Target`` is that view of a PyMC model; a bug that lives in the log density (a
Jacobian counted wrongly) passes its own ``cost`` graph in place of ``model.logp()``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from arviz_base import from_dict
from pymc.blocking import DictToArrayBijection
from pymc.model.core import ValueGradFunction

from models.engines.protocol import Budget, Engine, adapter


class Target:
    """One PyMC model's unconstrained log density on a flat vector, and its draws' way back.

    Parameters
    ----------
    model
        The study's model (batched, or one data set when the engine runs ``separately``).
    cost
        The log density to sample (default ``model.logp()``, Jacobians included): a bug in
        the density is a different graph here, the sampler around it unchanged.
    """

    def __init__(self, model: pm.Model, cost: pt.TensorVariable | None = None) -> None:
        self.model = model
        point = model.initial_point()
        self._start = DictToArrayBijection.map({v.name: point[v.name] for v in model.value_vars})
        self._function = value_grad(model, cost)
        # every call comes through logp_dlogp, which hands it a contiguous float64 vector: skip
        # pytensor's check of the inputs, three quarters of a call's cost on these small models
        self._compiled = self._function._pytensor_function
        self._compiled.trust_input = True
        self._back = model.compile_fn(model.unobserved_value_vars, inputs=model.value_vars, point_fn=False)
        free = {rv.name for rv in model.free_RVs}
        self._names = [v.name for v in model.unobserved_value_vars]
        self._keep = [name in free for name in self._names]

    @property
    def dim(self) -> int:
        """Length of the flat unconstrained vector."""
        return self._start.data.size

    def logp_dlogp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Log density and its gradient at ``x``."""
        logp, grad = self._compiled(np.ascontiguousarray(x, dtype=np.float64))
        return float(logp), grad

    def logp(self, x: np.ndarray) -> float:
        """Log density at ``x`` (``-inf`` where it is not finite)."""
        value = self.logp_dlogp(x)[0]
        return value if np.isfinite(value) else -np.inf

    @property
    def initial(self) -> np.ndarray:
        """The model's initial point, flat and unconstrained (no jitter)."""
        return self._start.data.copy()

    def start(self, rng: np.random.Generator) -> np.ndarray:
        """PyMC's starting point jittered by Uniform(-1, 1) in every coordinate, as ``pm.sample`` does."""
        return self._start.data + rng.uniform(-1.0, 1.0, self.dim)

    def constrained(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Return the model's free variables at the flat unconstrained ``x``."""
        point = DictToArrayBijection.rmap(self._start._replace(data=x))
        values = self._back(*(point[v.name] for v in self.model.value_vars))
        return {n: np.asarray(v) for n, v, keep in zip(self._names, values, self._keep, strict=True) if keep}

    def posterior(self, draws: np.ndarray, sample_stats: dict[str, np.ndarray] | None = None) -> xr.DataTree:
        """Return the engine protocol's DataTree of ``draws`` (``(chain, draw, dim)``, unconstrained)."""
        chains, n = draws.shape[:2]
        per_draw = [self.constrained(x) for x in draws.reshape(chains * n, -1)]
        posterior = {
            name: np.stack([d[name] for d in per_draw]).reshape(chains, n, *np.shape(per_draw[0][name]))
            for name in per_draw[0]
        }
        groups = {"posterior": posterior}
        if sample_stats:
            groups["sample_stats"] = sample_stats
        return from_dict(
            groups,
            dims={name: list(self.model.named_vars_to_dims.get(name, ())) for name in posterior},
            coords={k: np.asarray(v) for k, v in self.model.coords.items()},
        )


def value_grad(model: pm.Model, cost: pt.TensorVariable | None = None) -> ValueGradFunction:
    """PyMC's compiled log density and gradient of ``cost`` (default ``model.logp()``) on the flat values.

    The object ``pm.NUTS(logp_dlogp_func=...)`` takes, so a bug in the density can be sampled
    by PyMC's own NUTS.
    """
    function = ValueGradFunction(
        [model.logp() if cost is None else cost],
        model.value_vars,
        {},
        model=model,
        initial_point=model.initial_point(),
        ravel_inputs=True,
    )
    function.set_extra_values({})
    return function


def chain_generators(seed: int, chains: int) -> list[np.random.Generator]:
    """Independent generators, one per chain, from the run's seed."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(chains)]


Sampler = Callable[[Target, np.random.Generator, int, int], tuple[np.ndarray, dict[str, np.ndarray]]]


def run_chains(
    target: Target, one_chain: Sampler, *, draws: int, tune: int, chains: int, seed: int
) -> xr.DataTree:
    """Run ``one_chain(target, rng, draws, tune) -> (draws (draws, dim), stats)`` per chain; the DataTree.

    Each chain's stats are arrays of length ``draws``, stacked into ``sample_stats``.
    """
    runs = [one_chain(target, rng, draws, tune) for rng in chain_generators(seed, chains)]
    stats = {key: np.stack([r[1][key] for r in runs]) for key in runs[0][1]}
    return target.posterior(np.stack([r[0] for r in runs]), stats)


def bug_and_twin(
    fit: Callable[..., xr.DataTree], name: str, bug: str, twin: str, **metadata: object
) -> tuple[Engine, Engine]:
    """Return the zoo's pair of engines: ``fit(model, budget, bug=True)`` and its twin, ``bug=False``.

    The first is named ``name`` and described by ``bug``, the twin ``name + "_fixed"`` and
    ``twin``; ``metadata`` (``separately``, ``thin``, ...) is set on both.
    """

    def make(on: bool) -> Engine:
        def run(model: pm.Model, b: Budget) -> xr.DataTree:
            return fit(model, b, bug=on)

        run.__name__ = run.__qualname__ = name if on else f"{name}_fixed"
        run.__doc__ = bug if on else twin
        engine = adapter(run)
        engine.name, engine.description = run.__name__, run.__doc__
        for key, value in metadata.items():
            setattr(engine, key, value)
        return engine

    return make(True), make(False)
