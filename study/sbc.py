"""Simulation-based calibration (SBC) over the whole prior, in batched fits, beside the exact posterior.

For each family x engine x N: ``sims`` parameter values from the prior, a data set from
each, all fitted in batched models of ``block`` data sets (one work unit each, see
``study.units``). Per simulation and scalar parameter:

* ``rank``: the number of kept draws below the true value (ties broken at random) among
  the draws thinned until nearly independent (``study.checks.thin_factor``, at least
  ``study.checks.MIN_KEPT`` = 100 kept); uniform on ``0 .. n_ranks - 1`` when the engine is right
  (Talts et al. 2018);
* ``pit``: ``(rank + U) / n_ranks`` with ``U`` uniform on (0, 1), exactly uniform on (0, 1)
  when the ranks are, what the tests and the ECDF plots use;
* ``pit_exact``: the exact posterior CDF at the true value, exactly uniform whatever the
  engine: it checks the simulator and the closed forms;
* the posterior mean and sd, sampled and exact.

Test quantities beyond the marginals (Modrak et al. 2023), ranked the same way:
``loglik``, the log-likelihood of the data at the parameter; and for families with more
than one scalar component ``mahalanobis``, the squared Mahalanobis distance of the
parameter from the exact posterior's mean under its covariance (both estimated from 2,000
exact draws seeded per simulation, so a fixed function of the data): a posterior with the
right marginals and the wrong dependence fails it.

Seeds: the truth and data of simulation ``s`` at sample size N come from
``(seed, family, N, s)`` alone (``simulation``), the engine's seed from ``(seed, family,
engine, N, block)`` and the tie-breaking from ``(seed, family, engine, N, s)``: the results
depend on the flags only, not on where or in which order the units ran.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.engines import SAMPLERS, Problem, Sampler
from models.families import FAMILIES, Family
from study import batched_diagnostics, checks, seeds, stopping
from study.fitting import fit
from study.run import count_divergences

DEFAULT_SIMS = 1000
DEFAULT_BLOCK = 250  # data sets per batched fit (see benchmarks/sbc.py)
MAHALANOBIS_DRAWS = 2000
COVERAGE_LEVELS = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class SbcConfig:
    """Everything that determines one family x engine's SBC results."""

    family: str = "normal_normal"
    sampler: str = "nuts"
    ns: tuple[int, ...] = (10, 100, 1000)
    sims: int = DEFAULT_SIMS
    seed: int = 2026
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    block: int = DEFAULT_BLOCK
    settings: Any = None

    def __post_init__(self) -> None:
        if self.settings is None:
            object.__setattr__(self, "settings", FAMILIES[self.family].settings())

    def blocks(self) -> list[range]:
        """Return the simulations of each block, in order."""
        return [range(a, min(a + self.block, self.sims)) for a in range(0, self.sims, self.block)]


def simulation(
    family: Family, settings: Any, seed: int, n: int, sim: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Regenerate simulation ``sim`` at sample size ``n``: its true parameter values and data set."""
    rng = seeds.rng(seed, "sbc_truth", family.key, n, sim)
    theta = {v: a[0] for v, a in family.draw_prior(rng, settings, 1).items()}
    return theta, family.simulate_given(rng, theta, n=n, settings=settings)


@dataclass(frozen=True)
class Unit:
    """One work unit: a block of simulations at one N, fitted by one engine in one batched model."""

    config: SbcConfig
    n: int
    block: int
    engine: Sampler

    @property
    def sims(self) -> range:
        """The simulations this unit fits."""
        return self.config.blocks()[self.block]

    def label(self) -> str:
        """Describe the unit in words, for progress and errors."""
        s = self.sims
        where = f"N={self.n} block {self.block} (sims {s.start}-{s.stop - 1})"
        return f"{self.config.family} {self.engine.name} {where}"


@dataclass
class UnitResult:
    """One unit's rows, with its divergences and seconds."""

    rows: pd.DataFrame
    divergences: int
    seconds: float


def units(config: SbcConfig, engine: Sampler) -> list[Unit]:
    """Every unit of one family x engine: each N, each block."""
    return [Unit(config, n, b, engine) for n in config.ns for b in range(len(config.blocks()))]


def _rank(kept: np.ndarray, truth: float, rng: np.random.Generator) -> tuple[int, int, float]:
    """Return the rank of ``truth`` among ``kept`` (ties at random), the ranks possible, the jittered PIT."""
    below, ties = int(np.sum(kept < truth)), int(np.sum(kept == truth))
    rank = below + (int(rng.integers(0, ties + 1)) if ties else 0)
    n_ranks = kept.size + 1
    return rank, n_ranks, (rank + rng.uniform()) / n_ranks


def _ranked(draws: np.ndarray, truth: float, rng: np.random.Generator) -> dict[str, float]:
    """Rank columns and diagnostics of one scalar's ``draws (chain, draw)`` against ``truth``."""
    return _ranked_rows([draws], [truth], [rng])[0]


def _ranked_rows(
    draws: list[np.ndarray], truths: list[float], rngs: list[np.random.Generator]
) -> list[dict[str, float]]:
    """``_ranked`` of every row's ``draws (chain, draw)``, their ESS, R-hat and thinning computed together.

    Rows of one shape and dtype go to ``study.batched_diagnostics`` and ``checks.thin_factors``
    together (ArviZ's numbers, each row's own). The rows are then ranked in their order,
    each with its ``rngs`` entry for ties, so a generator shared by several rows is drawn
    from as it would be row by row.
    """
    ess_bulk, r_hat, thin = np.empty(len(draws)), np.empty(len(draws)), np.empty(len(draws), dtype=int)
    groups: dict[tuple, list[int]] = {}
    for i, d in enumerate(draws):
        groups.setdefault((d.shape, d.dtype.str), []).append(i)
    for index in groups.values():
        block = np.stack([draws[i] for i in index])
        found = batched_diagnostics.diagnostics(block, [("ess", "bulk"), ("rhat", None)])
        ess_bulk[index], r_hat[index] = found[("ess", "bulk")], found[("rhat", None)]
        thin[index] = checks.thin_factors(block, ess_bulk=found[("ess", "bulk")])
    out = []
    for d, truth, rng, e, r, f in zip(draws, truths, rngs, ess_bulk, r_hat, thin, strict=True):
        rank, n_ranks, pit = _rank(d[:, :: int(f)].ravel(), truth, rng)
        out.append({
            "true_value": float(truth), "rank": rank, "n_ranks": n_ranks, "pit": pit,
            "post_mean": float(d.mean()), "post_sd": float(d.std(ddof=1)), "thin": int(f),
            "ess_bulk": float(e), "r_hat": float(r) if d.shape[0] > 1 else np.nan,
        })  # fmt: skip
    return out


def _components(family: Family, settings: Any, values: dict[str, np.ndarray], lead: int) -> np.ndarray:
    """Stack every scalar component of ``values {variable: (*lead dims, ...)}`` on a last axis."""
    out = []
    for variable, selection in family.labels(settings).values():
        v = np.asarray(values[variable])
        index = (slice(None),) * lead + tuple(selection.values())
        out.append(v[index])
    return np.stack(out, axis=-1)


def fit_simulations(
    engine: Sampler,
    family: Family,
    settings: Any,
    *,
    seed: int,
    n: int,
    sims: range,
    engine_seed: int,
    draws: int,
    tune: int,
    chains: int,
) -> tuple[tuple[dict[str, np.ndarray], ...], np.ndarray, Any, Any]:
    """Simulate ``sims`` at sample size ``n`` and fit them in one model.

    Returns their truths, their data, the engine's output and its posterior, in which an
    engine that ran ``thin`` times the draws and warm-up keeps every ``thin``-th draw.
    """  # fmt: skip
    truths, data = zip(*(simulation(family, settings, seed, n, s) for s in sims), strict=True)
    x = np.stack(data)
    datasets = {n: x}
    extra = (
        {"problem": Problem(family, settings, datasets, seeds.exact_draws_rng)}
        if engine.needs_problem
        else {}
    )
    with stopping.surfaced():  # partial draws after a stop, or the stop as another error: never rank them
        idata = fit(
            engine, family, settings, datasets, draws=draws * engine.thin, tune=tune * engine.thin,
            chains=chains, cores=1, seed=engine_seed, progress=False, **extra,
        )  # fmt: skip
    post = idata["posterior"]
    if engine.thin > 1:
        post = post.isel(draw=slice(engine.thin - 1, None, engine.thin))
    return truths, x, idata, post


def run_unit(unit: Unit) -> UnitResult:
    """Simulate the unit's data sets, fit them in one batched model, and rank every truth."""
    start = time.perf_counter()
    config, family, engine, n = unit.config, FAMILIES[unit.config.family], unit.engine, unit.n
    settings, sims = config.settings, unit.sims
    truths, x, idata, post = fit_simulations(
        engine, family, settings, seed=config.seed, n=n, sims=sims,
        engine_seed=seeds.integer(config.seed, "sbc_engine", family.key, engine.name, n, unit.block),
        draws=config.draws, tune=config.tune, chains=config.chains,
    )  # fmt: skip
    labels = family.labels(settings)
    # every variable as (chain, draw, rep, ...)
    draws = {v: post[v].isel(n=0).transpose("chain", "draw", "rep", ...).values for v in family.params}
    exact = family.exact(x, settings)
    pending = []  # (columns, draws (chain, draw), truth, tie generator) of every row, in the rows' order
    joint = len(labels) > 1
    for i, s in enumerate(sims):
        ties = seeds.rng(config.seed, "sbc_ties", family.key, engine.name, n, s)
        one = x[i : i + 1]
        dens = family.densities(one[0], settings)
        here = {v: d[:, :, i] for v, d in draws.items()}
        for label, (variable, selection) in labels.items():
            d = here[variable][(slice(None), slice(None), *selection.values())]
            t = float(np.asarray(truths[i][variable])[tuple(selection.values())])
            columns = {
                "sim": s, "param": label, "kind": "param",
                "pit_exact": float(dens[label]["posterior"].cdf(t)),
                "post_mean_exact": float(exact[label]["post_mean_exact"][i]),
                "post_sd_exact": float(exact[label]["post_sd_exact"][i]),
            }  # fmt: skip
            pending.append((columns, d, t, ties))
        chains, ndraw = next(iter(here.values())).shape[:2]
        flat = {v: d.reshape(chains * ndraw, *d.shape[2:]) for v, d in here.items()}
        truth1 = {v: np.asarray(t)[None] for v, t in truths[i].items()}
        loglik = family.log_likelihood(flat, x[i], settings).reshape(chains, ndraw)
        truth_loglik = float(family.log_likelihood(truth1, x[i], settings)[0])
        pending.append((_quantity(s, "loglik"), loglik, truth_loglik, ties))
        if joint:
            ref = family.posterior_draws(
                seeds.rng(config.seed, "sbc_joint", family.key, n, s), one, settings, MAHALANOBIS_DRAWS
            )
            ref = _components(family, settings, {v: r[:, 0] for v, r in ref.items()}, lead=1)
            mean, precision = ref.mean(axis=0), np.linalg.pinv(np.cov(ref, rowvar=False), hermitian=True)

            def distance(values, lead, mean=mean, precision=precision):
                diff = _components(family, settings, values, lead) - mean
                return np.einsum("...i,ij,...j->...", diff, precision, diff)

            truth_distance = float(distance(truth1, 1)[0])
            pending.append((_quantity(s, "mahalanobis"), distance(here, 2), truth_distance, ties))
    ranked = _ranked_rows(
        [np.asarray(d) for _, d, _, _ in pending],
        [t for _, _, t, _ in pending],
        [rng for _, _, _, rng in pending],
    )
    # the columns in the order the rows always had them: sim, param, kind, the ranks, the exact ones
    rows = [
        {**{k: c[k] for k in ("sim", "param", "kind")}, **r, **c}
        for (c, _, _, _), r in zip(pending, ranked, strict=True)
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "n", n)
    frame.insert(0, "sampler", engine.name)
    frame.insert(0, "model", family.key)
    frame["block"] = unit.block
    return UnitResult(frame, count_divergences(idata), time.perf_counter() - start)


def _quantity(sim: int, name: str) -> dict:
    """Columns of a test quantity's rank row (no closed form: the exact columns are NaN)."""
    return {
        "sim": sim, "param": name, "kind": "quantity",
        "pit_exact": np.nan, "post_mean_exact": np.nan, "post_sd_exact": np.nan,
    }  # fmt: skip


COLUMNS = (
    "model", "sampler", "n", "sim", "param", "kind", "true_value", "rank", "n_ranks", "pit", "pit_exact",
    "post_mean", "post_sd", "post_mean_exact", "post_sd_exact", "thin", "ess_bulk", "r_hat", "block",
)  # fmt: skip


@dataclass
class SbcResult:
    """One family x engine's SBC: every simulation's rows, and what the fits cost."""

    config: SbcConfig
    engine: Sampler
    rows: pd.DataFrame
    divergences: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def judged(self) -> bool:
        """Whether the rank tests judge this engine (asymptotically exact engines with draws)."""
        return self.engine.exact and self.engine.check == "sampler"


def collect(config: SbcConfig, engine: Sampler, results: list[UnitResult]) -> SbcResult:
    """Join one family x engine's unit results, in (N, simulation) order."""
    rows = pd.concat([r.rows for r in results], ignore_index=True)
    rows = rows.sort_values(["n", "sim", "kind"], kind="stable", ignore_index=True)[list(COLUMNS)]
    divergences: dict[int, int] = {}
    for unit, r in zip(units(config, engine), results, strict=True):
        divergences[unit.n] = divergences.get(unit.n, 0) + r.divergences
    return SbcResult(config, engine, rows, divergences, float(sum(r.seconds for r in results)))


def run_all(
    jobs: list[tuple[SbcConfig, Sampler]], *, executor=None, log=None
) -> tuple[list[SbcResult], dict[str, str]]:
    """Run every family x engine's units together (here, or spread by ``executor``: ``study.units``).

    Returns the results in the jobs' order, and ``{"family/engine": why}`` for the jobs
    one of whose units raised (each unit named, with its error).
    """
    from study.units import Executor, UnitFailure

    executor = executor or Executor()
    todo = [units(config, engine) for config, engine in jobs]
    out = executor.map(run_unit, [u for us in todo for u in us], label=Unit.label, log=log)
    results, failures, k = [], {}, 0
    for (config, engine), us in zip(jobs, todo, strict=True):
        mine, k = out[k : k + len(us)], k + len(us)
        bad = [str(r) for r in mine if isinstance(r, UnitFailure)]
        if bad:
            failures[f"{config.family}/{engine.name}"] = "; ".join(bad)
        else:
            results.append(collect(config, engine, mine))
    return results, failures


def run_sbc(config: SbcConfig, *, engine: Sampler | None = None, executor=None, log=None) -> SbcResult:
    """Run one family x engine's SBC; raise ``RuntimeError`` naming the unit if one of its units raised."""
    engine = engine or SAMPLERS[config.sampler]
    results, failures = run_all([(config, engine)], executor=executor, log=log)
    if failures:
        raise RuntimeError(next(iter(failures.values())))
    return results[0]
