"""The verdict's power: a catalogue of realistic defects, judged by the study's own verdict.

Each defect is injected at several sizes into many runs of the study.

Two kinds of defect:

* wrong draws: the ``exact`` engine's iid posterior draws, transformed (a mean shifted by
  k posterior sd, an sd scaled by f, a share of draws from a kernel twice as wide, a skew
  with the right mean and sd), cheap enough to run many seeds;
* wrong engines and wrong models, sampled by PyMC's NUTS: warm-up draws kept, the prior's
  variance passed where PyMC expects a standard deviation, observations left out of each
  data set, the noise variance mis-scaled. These are judged against the right closed
  forms, as a user's buggy model would be;
* wrong approximations: draws from the Laplace approximation's exact optimum, moved off it
  (the mode missed, the covariance scaled), judged as the Laplace engine is, against that
  optimum (``study.targets``); their null is the optimum's own draws;
* wrong optimiser settings: the tuned ADVI engine stopped at a share of its steps, or with
  its learning rate multiplied, judged against the mean-field optimum as ``advi`` is, the
  end point's own error counted; their null is ``advi`` itself. Each run is a real fit, so
  they run as few seeds as the model defects.

Each run of a defect at one size is one study (the flags' families, N, replications and
draws) with study seed ``--seed + s`` for ``s`` in ``range(seeds)``: the same data sets at
every size and for every defect, so the curves differ by the defect alone. A run detects
the defect when any of its rows or pooled tests disagrees; the null runs (the correct
``exact`` engine over the same seeds, and NUTS over the model defects' seeds) give the
false-alarm rate beside it. Model defects cost a NUTS run each, so they run
``max(2, seeds // MODEL_SEED_DIVISOR)`` seeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from models.batched import for_sampling
from models.engines import SAMPLERS, Problem, Sampler, map_groups
from models.engines.approximations import ADVI_AVERAGED, ADVI_LEARNING_RATE, ADVI_STEPS, advi_engine
from models.engines.exact import exact, iid_posterior
from models.engines.protocol import Budget, stamp
from models.engines.pymc_steps import nuts, nuts_keeping_warmup
from study import targets
from study.run import StudyConfig, run_study
from study.seeds import power_run_seed
from study.seeds import rng as stream_rng

DEFAULT_SEEDS = 20
# the correct engines' runs (not "null": CSV readers take that for a missing value)
NO_DEFECT = "no_defect"
MODEL_SEED_DIVISOR = 4


@dataclass(frozen=True)
class Defect:
    """One defect of the catalogue.

    Attributes
    ----------
    name, description
        Key (``--defects``) and one line for the tables.
    kind
        ``"draws"`` (transformed exact draws), ``"engine"`` (sampled by NUTS), ``"approx"``
        (draws off the Laplace approximation's exact optimum), ``"fullrank"`` (off full-rank
        ADVI's) or ``"advi"`` (the ADVI engine with a wrong setting).
    sizes
        The sizes injected, in ``unit``.
    unit
        What a size means, for the tables and the plot.
    engine
        ``engine(size) -> adapter`` with the engine protocol plus ``problem``.
    applies
        ``settings -> bool``: whether the family has what the defect changes.
    valid
        ``(size, ns) -> str``: '' or why the size cannot run with these N.
    null
        The size that means no defect (0, or 1 for a factor).
    """

    name: str
    description: str
    kind: str
    sizes: tuple[float, ...]
    unit: str
    engine: Callable[[float], Callable[..., xr.DataTree]]
    applies: Callable[[object], bool] = lambda settings: True
    valid: Callable[[float, tuple[int, ...]], str] = lambda size, ns: ""
    null: float = 0.0


def _exact_draws(model, problem: Problem, *, draws: int, chains: int, seed: int) -> xr.DataTree:
    return exact(model, draws=draws, tune=0, chains=chains, seed=seed, problem=problem)


def _transformed(
    transform: Callable[[np.ndarray, np.random.Generator], np.ndarray], *, low_only: bool = False
):
    """Make a draws defect: exact draws, each parameter transformed in units of its exact posterior sd.

    ``transform(z, rng)`` gets the standardised draws ``z = (x - exact mean) / exact sd``
    (shape ``(chain, draw, n, rep, ...)``) and returns the defective ones. With
    ``low_only`` only the data sets whose exact posterior mean lies below the prior's
    lower quartile get the defect: an engine wrong in one part of the prior only.
    """

    def engine(model, *, draws, tune, chains, cores=1, seed, progress=False, problem: Problem):
        idata = _exact_draws(model, problem, draws=draws, chains=chains, seed=seed)
        rng = stream_rng(seed, "power_defect")
        post = idata["posterior"].to_dataset()
        ns = [int(n) for n in post["n"].values]
        for variable in post.data_vars:
            x = post[variable].values
            mean, sd = _moments(problem, variable, ns, x.shape[2:])
            z = (x - mean) / sd
            changed = transform(z, rng)
            if low_only:
                changed = np.where(mean < _prior_quartile(problem, variable, x.shape[4:]), changed, z)
            x = mean + sd * changed
            post[variable] = (post[variable].dims, x)
        idata["posterior"] = xr.DataTree(post)
        return idata

    return engine


def off_optimum(target: str, *, shift: float = 0.0, scale: float = 1.0, correlation: float = 1.0):
    """Make an approximation defect: iid draws from an approximation's exact optimum, moved off it.

    Per data set, ``z = mean + shift * sd + scale * L eps`` on PyMC's unconstrained space
    (``study.targets``: the optimum's mean, Cholesky factor ``L`` and marginal sds), mapped
    back to the parameters: the mode missed by ``shift`` of its sds (an optimiser stopped
    short), the covariance scaled by ``scale^2`` (a Hessian off by ``1 / scale^2``, as a
    finite-difference Hessian with a bad step gives), or its correlations multiplied by
    ``correlation`` with every marginal kept (a full-rank factor whose off-diagonal did not
    learn all it should). ``shift=0, scale=1, correlation=1`` is the optimum's own draws:
    the null.
    """

    def engine(model, *, draws, tune, chains, cores=1, seed, progress=False, problem: Problem):
        start = time.perf_counter()
        family, settings = problem.family, problem.settings
        ns = [int(n) for n in model.coords["n"]]
        per_n = []
        for n in ns:
            rng = problem.draws_rng(seed, n)
            per_rep = []
            for x in problem.datasets[n]:
                post = family.unconstrained_posterior(x, settings)
                q = targets.TARGETS[target](post)
                eps = rng.standard_normal((chains * draws, post.dim))
                outer = np.outer(q.sd, q.sd)
                cov = (correlation * q.cov / outer + (1 - correlation) * np.eye(post.dim)) * outer
                z = q.mean + shift * q.sd + scale * eps @ np.linalg.cholesky(cov).T
                per_rep.append(post.constrained(z))
            per_n.append({name: np.stack([d[name] for d in per_rep], axis=1) for name in per_rep[0]})
        return stamp(iid_posterior(model, per_n, chains, draws), float("nan"), time.perf_counter() - start)

    return engine


# The defect kinds drawn off an approximation's exact optimum, and that optimum (its engine's target).
OFF_OPTIMUM = {"approx": "laplace", "fullrank": "fullrank_advi"}


def judged_as(target: str, name: str, description: str, run: Callable[..., xr.DataTree]) -> Sampler:
    """Wrap an approximation engine (given the problem) to be judged against ``target``'s exact optimum."""
    return Sampler(name, description, False, "distribution", None, (), run, needs_problem=True,
                   check="target", target=target)  # fmt: skip


def _advi_stopped(share: float):
    """Make the tuned ADVI stop at ``share`` of its steps (and of its averaging window)."""
    return advi_engine("advi", steps=round(share * ADVI_STEPS), averaged=round(share * ADVI_AVERAGED),
                       name=f"advi_stopped({share:g})")  # fmt: skip


def _advi_rate(factor: float):
    """Make the tuned ADVI with its learning rate multiplied by ``factor``."""
    rate = factor * ADVI_LEARNING_RATE
    return advi_engine("advi", learning_rate=rate, name=f"advi_learning_rate({factor:g})")


def _moments(problem: Problem, variable: str, ns: list[int], shape: tuple[int, ...]):
    """Exact posterior mean and sd of every component of ``variable``, shape ``(n, rep, ...)``."""
    family, settings = problem.family, problem.settings
    mean, sd = np.empty(shape), np.empty(shape)
    for label, (var, selection) in family.labels(settings).items():
        if var != variable:
            continue
        for i, n in enumerate(ns):
            exact_n = family.exact(problem.datasets[n], settings)[label]
            index = (i, slice(None), *selection.values())
            mean[index], sd[index] = exact_n["post_mean_exact"], exact_n["post_sd_exact"]
    return mean, sd


def _prior_quartile(problem: Problem, variable: str, shape: tuple[int, ...]) -> np.ndarray:
    """Return the prior's lower quartile of each component of ``variable`` (dims after rep)."""
    family, settings = problem.family, problem.settings
    one = next(iter(problem.datasets.values()))[0]
    marginals = family.densities(one, settings)
    out = np.empty(shape)
    for label, (var, selection) in family.labels(settings).items():
        if var == variable:
            out[tuple(selection.values())] = marginals[label]["prior"].ppf(0.25)
    return out


def _skew(z: np.ndarray, a: float) -> np.ndarray:
    """``(z + a (z^2 - 1)) / sqrt(1 + 2 a^2)``: mean 0 and sd 1 for Normal z, skewness about 6a."""
    return (z + a * (z**2 - 1)) / np.sqrt(1 + 2 * a**2)


def _wide_kernel(z: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Replace a random ``share`` of the draws from a kernel twice as wide (``2 z``)."""
    return np.where(rng.uniform(size=z.shape) < share, 2 * z, z)


def _nuts_on(build: Callable[[Problem], tuple[dict[int, np.ndarray], object]]):
    """Make an engine defect: PyMC's NUTS on a wrong model built from the problem, judged as the right one.

    ``build(problem) -> (datasets, settings)`` gives what the wrong model is built from;
    its data-set keys may differ from the true N (observations left out), and the draws
    are put back on the true N's coordinates.
    """

    def engine(model, *, draws, tune, chains, cores=1, seed, progress=False, problem: Problem):
        datasets, settings = build(problem)
        wrong = for_sampling(problem.family.build_model(datasets, settings))
        idata = nuts(wrong, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, progress=progress)
        ns = [int(n) for n in model.coords["n"]]
        return map_groups(idata, lambda ds: ds.assign_coords(n=ns) if "n" in ds.dims else ds)

    return engine


def _warmup_kept(kept: int):
    """PyMC's NUTS whose first ``kept`` warm-up draws per chain stand in for its last ``kept`` draws."""

    def engine(model, *, draws, tune, chains, cores=1, seed, progress=False, problem: Problem):
        start = time.perf_counter()
        idata = nuts_keeping_warmup(model, Budget(draws, tune, chains, cores, seed, progress))
        k = int(min(kept, tune, draws))
        warm = idata["warmup_posterior"].to_dataset().isel(draw=slice(0, k))
        post = idata["posterior"].to_dataset().isel(draw=slice(0, draws - k))
        joined = xr.concat([warm, post], dim="draw").assign_coords(draw=np.arange(draws))
        out = xr.DataTree.from_dict({"posterior": joined})
        out["posterior"].attrs.update(
            compile_time=float("nan"), sampling_time=time.perf_counter() - start,
            wall_time=time.perf_counter() - start,
        )  # fmt: skip
        return out

    return engine


def _left_out(k: int):
    return lambda p: ({n - k: x[:, : n - k] for n, x in p.datasets.items()}, p.settings)


def _scaled(field: str, how: Callable[[float], float]):
    return lambda p: (p.datasets, replace(p.settings, **{field: how(getattr(p.settings, field))}))


def _has(field: str) -> Callable[[object], bool]:
    return lambda settings: hasattr(settings, field)


DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in [
        Defect("mean_shift", "draws shifted by k posterior sd", "draws", (0.005, 0.01, 0.02, 0.03, 0.05),
               "k (posterior sd)", lambda k: _transformed(lambda z, rng: z + k)),
        Defect("sd_scale", "draws spread by a factor f about the exact mean", "draws",
               (0.95, 0.98, 0.99, 1.01, 1.02, 1.05), "f (sd ratio)",
               lambda f: _transformed(lambda z, rng: f * z), null=1.0),
        Defect("wide_kernel", "a share of the draws from a kernel twice as wide", "draws", (0.01, 0.02, 0.05),
               "share of draws", lambda q: _transformed(lambda z, rng: _wide_kernel(z, q, rng))),
        Defect("skew", "draws skewed (z + a(z^2 - 1)) with the right mean and sd", "draws", (0.02, 0.05, 0.1),
               "a (skewness ~6a)", lambda a: _transformed(lambda z, rng: _skew(z, a))),
        Defect("narrow_low", "draws narrowed by f where the exact posterior mean is below the prior's lower "
               "quartile (right elsewhere)", "draws", (0.5, 0.8), "f (sd ratio)",
               lambda f: _transformed(lambda z, rng: f * z, low_only=True), null=1.0),
        Defect("warmup_kept", "NUTS keeps its first warm-up draws (per chain) in place of its last",
               "engine", (5, 20, 100), "draws per chain", _warmup_kept),
        Defect("prior_var_as_sd", "the prior's variance passed where PyMC expects its sd (NUTS)", "engine",
               (1,), "-", lambda _: _nuts_on(_scaled("prior_var", lambda v: v**2)),
               applies=_has("prior_var")),
        Defect("observation_left_out", "the last k observations of each data set left out (NUTS)", "engine",
               (1, 2, 5), "k observations", lambda k: _nuts_on(_left_out(int(k))),
               valid=lambda k, ns: "" if min(ns) > k else f"needs every N > {k:g}"),
        Defect("noise_var_scaled", "the model's noise variance multiplied by f (NUTS)", "engine",
               (0.8, 0.9, 1.1, 1.25), "f", lambda f: _nuts_on(_scaled("noise_var", lambda v: f * v)),
               applies=_has("noise_var"), null=1.0),
        Defect("laplace_off_mode", "Laplace's Normal centred k of its sds off the mode (an optimiser "
               "stopped short)", "approx", (0.01, 0.02, 0.05), "k (optimum sd)",
               lambda k: off_optimum("laplace", shift=k)),
        Defect("laplace_hessian_scaled", "Laplace's covariance scaled by f^2 (a Hessian off by 1/f^2, as "
               "finite differences with a bad step give)", "approx", (0.98, 0.99, 1.01, 1.02), "f (sd ratio)",
               lambda f: off_optimum("laplace", scale=f), null=1.0),
        Defect("fullrank_correlation_scaled", "full-rank ADVI's optimum with its correlations multiplied by "
               "c, every marginal right", "fullrank", (0.8, 0.9, 0.95, 0.98), "c (share of the correlations)",
               lambda c: off_optimum("fullrank_advi", correlation=c), null=1.0),
        Defect("advi_stopped", "ADVI (Adam, iterates averaged) stopped at a share s of its steps", "advi",
               (0.1, 0.3), "s (share of steps)", _advi_stopped, null=1.0),
        Defect("advi_learning_rate", "ADVI's Adam learning rate multiplied by f", "advi", (3, 10), "f",
               _advi_rate, null=1.0),
    ]
}  # fmt: skip


def parse_defects(text: str, configs: dict[str, list[StudyConfig]]) -> list[Defect]:
    """Defects named by ``--defects`` (a name, a comma list or 'all') that apply to the run's families."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        names = list(DEFECTS)
    if not names:
        raise ValueError("--defects needs at least one name")
    for name in names:
        if name not in DEFECTS:
            raise ValueError(f"unknown defect {name!r}; choose from: {', '.join(DEFECTS)} or all")
    ns = next(iter(configs.values()))[0].ns
    chosen = []
    for name in dict.fromkeys(names):
        defect = DEFECTS[name]
        sizes = tuple(s for s in defect.sizes if not defect.valid(s, ns))
        if sizes:
            chosen.append(replace(defect, sizes=sizes))
        elif len(names) == 1:
            raise ValueError(f"defect {name!r} {defect.valid(defect.sizes[0], ns)}")
    return chosen


@dataclass
class PowerResult:
    """Every run of the power study: one row per (family, defect, size, seed) with its verdict."""

    runs: pd.DataFrame
    alpha: float
    seeds: int
    config: StudyConfig


def first_alarm(result) -> tuple[bool, str]:
    """Whether a run raised any alarm, and which test raised the first one."""
    if len(result.failures):
        return True, "row: " + result.failures["reason"].iloc[0].split(" (")[0]
    if len(result.pooled_failures):
        return True, "pooled: " + result.pooled_failures["reason"].iloc[0].split(" (")[0]
    if result.evidence_problem:
        return True, "evidence"
    return False, ""


def _power_unit(unit: tuple) -> dict:
    """One run of the power study (a defect at one size, or a null engine, at one seed): its verdict row."""
    key, name, kind, size, defect, engine, config = unit
    result = run_study(config, log=lambda msg: None, engine=engine, progress=False)
    detected, caught_by = first_alarm(result)
    return {
        "model": key, "defect": name, "kind": kind if defect else f"null ({kind})", "size": size,
        "unit": defect.unit if defect else "-", "seed": config.seed, "detected": detected,
        "caught_by": caught_by, "seconds": result.timings["total"],
    }  # fmt: skip


def run_power_study(
    configs: dict[str, list[StudyConfig]],
    defects: list[Defect],
    *,
    seeds: int,
    progress: bool = False,
    executor=None,
) -> PowerResult:
    """Run the null and every defect at every size over ``seeds`` study seeds (fewer for NUTS defects).

    Every run is one work unit (``power_units``), run here or spread by ``executor`` (``study.units``).

    Raises
    ------
    RuntimeError
        When a run raised: names the run and the error.
    """
    from study.units import run_all_or_raise

    first = next(iter(configs.values()))[0]
    todo = power_units(configs, defects, seeds=seeds)
    label = lambda u: f"{u[0]} {u[1]} {u[3]:g} seed {u[6].seed}"  # noqa: E731
    rows = run_all_or_raise(_power_unit, todo, prefix="power", label=label, executor=executor)
    return PowerResult(pd.DataFrame(rows), first.alpha, seeds, first)


def power_units(configs: dict[str, list[StudyConfig]], defects: list[Defect], *, seeds: int) -> list[tuple]:
    """Every run of a power study, one work unit each: the nulls, then each defect at each size and seed."""
    model_seeds = max(2, seeds // MODEL_SEED_DIVISOR)
    todo = []
    for key, family_configs in configs.items():
        base = replace(family_configs[0], sampler="exact", studies_in_run=1)
        settings = base.settings
        plan = [(NO_DEFECT, "exact", 0.0, seeds, None), (NO_DEFECT, "nuts", 0.0, model_seeds, None)]
        for kind in OFF_OPTIMUM:
            if any(d.kind == kind for d in defects):
                plan.append((NO_DEFECT, kind, 0.0, seeds, None))
        if any(d.kind == "advi" for d in defects):
            plan.append((NO_DEFECT, "advi", 0.0, model_seeds, None))
        for d in defects:
            if d.applies(settings):
                n_seeds = model_seeds if d.kind in ("engine", "advi") else seeds
                plan += [(d.name, d.kind, size, n_seeds, d) for size in d.sizes]
        for name, kind, size, n_seeds, defect in plan:
            if kind in OFF_OPTIMUM:
                # judged as the Laplace (or full-rank ADVI) engine is: against its exact optimum
                target = OFF_OPTIMUM[kind]
                run = defect.engine(size) if defect else off_optimum(target)
                label = f"{name}({size:g})" if defect else f"{target}_optimum"
                what = defect.description if defect else "the optimum's own draws"
                engine = judged_as(target, label, what, run)
            elif kind == "advi" and defect:
                engine = Sampler(f"{name}({size:g})", defect.description, False, "distribution", None, (),
                                 defect.engine(size), check="target", target="advi")  # fmt: skip
            elif defect is None:
                engine = SAMPLERS[kind]
            else:
                engine = Sampler(f"{name}({size:g})", defect.description, True, "distribution", None, (),
                                 defect.engine(size), needs_problem=True)  # fmt: skip
            for s in range(n_seeds):
                config = replace(base, seed=power_run_seed(base.seed, s), sampler=engine.name)
                todo.append((key, name, kind, size, defect, engine, config))
    return todo


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (model, defect, size): runs, detections, detection probability, 95% Clopper-Pearson interval."""
    out = []
    for (model, defect, kind, size, unit), g in runs.groupby(
        ["model", "defect", "kind", "size", "unit"], sort=False
    ):
        k, n = int(g["detected"].sum()), len(g)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        caught = g.loc[g["detected"], "caught_by"].str.split(":").str[0].value_counts()
        out.append(
            {
                "model": model, "defect": defect, "kind": kind, "size": size, "unit": unit, "runs": n,
                "detected": k, "power": k / n, "ci_low": ci.low, "ci_high": ci.high,
                "caught_by": ", ".join(f"{c} {v}" for c, v in caught.items()),
                "seconds_per_run": float(g["seconds"].median()),
            }
        )  # fmt: skip
    return pd.DataFrame(out)


def smallest_detected(summary: pd.DataFrame, power: float = 0.9) -> dict[tuple[str, str], str]:
    """Per (model, defect): the size nearest the null detected with at least ``power``, in words."""
    out = {}
    for (model, defect), g in summary[~summary["kind"].str.startswith("null")].groupby(
        ["model", "defect"], sort=False
    ):
        hits = g[g["power"] >= power]
        if hits.empty:
            out[model, defect] = f"none of {', '.join(f'{s:g}' for s in g['size'])}"
            continue
        null = DEFECTS[defect].null if defect in DEFECTS else 0.0
        parts = []
        # a defect sized on both sides of its null (a factor below and above 1) gets one size per side
        for side in (hits[hits["size"] < null], hits[hits["size"] > null]):
            if len(side):
                best = side.loc[(side["size"] - null).abs().idxmin()]
                parts.append(f"{best['size']:g}")
        out[model, defect] = " and ".join(parts)
    return out
