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
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from arviz_stats.base import array_stats
from scipy import stats

from models.batched import for_sampling
from models.engines import SAMPLERS, Problem, Sampler
from models.engines.plugins import run_engine
from models.families import FAMILIES, Family
from study import checks
from study.run import count_divergences

DEFAULT_SIMS = 1000
DEFAULT_BLOCK = 250  # data sets per batched fit (see benchmarks/sbc.py)
MAHALANOBIS_DRAWS = 2000
COVERAGE_LEVELS = (0.5, 0.8, 0.9, 0.95)
_TRUTH, _ENGINE, _TIES, _JOINT = 10, 11, 12, 13


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(key[0], spawn_key=key[1:]))


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
    rng = _rng(seed, _TRUTH, _key(family.key), n, sim)
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
    thin = checks.thin_factor(draws)
    rank, n_ranks, pit = _rank(draws[:, ::thin].ravel(), truth, rng)
    return {
        "true_value": float(truth),
        "rank": rank,
        "n_ranks": n_ranks,
        "pit": pit,
        "post_mean": float(draws.mean()),
        "post_sd": float(draws.std(ddof=1)),
        "thin": thin,
        "ess_bulk": float(array_stats.ess(draws, method="bulk", chain_axis=0, draw_axis=1)),
        "r_hat": float(array_stats.rhat(draws, chain_axis=0, draw_axis=1)) if draws.shape[0] > 1 else np.nan,
    }


def _components(family: Family, settings: Any, values: dict[str, np.ndarray], lead: int) -> np.ndarray:
    """Stack every scalar component of ``values {variable: (*lead dims, ...)}`` on a last axis."""
    out = []
    for variable, selection in family.labels(settings).values():
        v = np.asarray(values[variable])
        index = (slice(None),) * lead + tuple(selection.values())
        out.append(v[index])
    return np.stack(out, axis=-1)


def run_unit(unit: Unit) -> UnitResult:
    """Simulate the unit's data sets, fit them in one batched model, and rank every truth."""
    start = time.perf_counter()
    config, family, engine, n = unit.config, FAMILIES[unit.config.family], unit.engine, unit.n
    settings, sims = config.settings, unit.sims
    truths, data = zip(*(simulation(family, settings, config.seed, n, s) for s in sims), strict=True)
    x = np.stack(data)
    datasets = {n: x}
    model = for_sampling(family.build_model(datasets, settings))
    extra = {"problem": Problem(family, settings, datasets)} if engine.needs_problem else {}
    seed = int(
        np.random.SeedSequence(
            config.seed, spawn_key=(_ENGINE, _key(family.key), _key(engine.name), n, unit.block)
        ).generate_state(1)[0]
    )
    idata = run_engine(
        engine, model, draws=config.draws * engine.thin, tune=config.tune * engine.thin,
        chains=config.chains, cores=1, seed=seed, progress=False, **extra,
    )  # fmt: skip
    post = idata["posterior"]
    if engine.thin > 1:
        post = post.isel(draw=slice(engine.thin - 1, None, engine.thin))
    labels = family.labels(settings)
    # every variable as (chain, draw, rep, ...)
    draws = {v: post[v].isel(n=0).transpose("chain", "draw", "rep", ...).values for v in family.params}
    exact = family.exact(x, settings)
    rows = []
    joint = len(labels) > 1
    for i, s in enumerate(sims):
        ties = _rng(config.seed, _TIES, _key(family.key), _key(engine.name), n, s)
        one = x[i : i + 1]
        dens = family.densities(one[0], settings)
        here = {v: d[:, :, i] for v, d in draws.items()}
        for label, (variable, selection) in labels.items():
            d = here[variable][(slice(None), slice(None), *selection.values())]
            t = float(np.asarray(truths[i][variable])[tuple(selection.values())])
            rows.append(
                {
                    "sim": s, "param": label, "kind": "param", **_ranked(d, t, ties),
                    "pit_exact": float(dens[label]["posterior"].cdf(t)),
                    "post_mean_exact": float(exact[label]["post_mean_exact"][i]),
                    "post_sd_exact": float(exact[label]["post_sd_exact"][i]),
                }
            )  # fmt: skip
        chains, ndraw = next(iter(here.values())).shape[:2]
        flat = {v: d.reshape(chains * ndraw, *d.shape[2:]) for v, d in here.items()}
        truth1 = {v: np.asarray(t)[None] for v, t in truths[i].items()}
        loglik = family.log_likelihood(flat, x[i], settings).reshape(chains, ndraw)
        rows.append(
            _quantity(s, "loglik", loglik, float(family.log_likelihood(truth1, x[i], settings)[0]), ties)
        )
        if joint:
            ref = family.posterior_draws(
                _rng(config.seed, _JOINT, _key(family.key), n, s), one, settings, MAHALANOBIS_DRAWS
            )
            ref = _components(family, settings, {v: r[:, 0] for v, r in ref.items()}, lead=1)
            mean, precision = ref.mean(axis=0), np.linalg.pinv(np.cov(ref, rowvar=False), hermitian=True)

            def distance(values, lead, mean=mean, precision=precision):
                diff = _components(family, settings, values, lead) - mean
                return np.einsum("...i,ij,...j->...", diff, precision, diff)

            rows.append(_quantity(s, "mahalanobis", distance(here, 2), float(distance(truth1, 1)[0]), ties))
    frame = pd.DataFrame(rows)
    frame.insert(0, "n", n)
    frame.insert(0, "sampler", engine.name)
    frame.insert(0, "model", family.key)
    frame["block"] = unit.block
    return UnitResult(frame, count_divergences(idata), time.perf_counter() - start)


def _quantity(sim: int, name: str, values: np.ndarray, truth: float, rng: np.random.Generator) -> dict:
    """Rank row of a test quantity (no closed form: the exact columns are NaN)."""
    return {
        "sim": sim, "param": name, "kind": "quantity", **_ranked(values, truth, rng),
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


# ---- verdicts ---------------------------------------------------------------------------------------


def normal_scores(pit: np.ndarray) -> np.ndarray:
    """Return the standard Normal quantiles of the PIT values: iid N(0, 1) when the ranks are uniform."""
    return stats.norm.ppf(np.clip(pit, 1e-300, 1 - 1e-16))


def uniformity_pvalue(pit: np.ndarray) -> float:
    """ArviZ's uniformity test (``pot_c``: Beta order-statistic tests, Cauchy-combined) of PIT values."""
    return float(array_stats.uniformity_test(np.asarray(pit, dtype=float), axis=-1)[0])


def rank_tests(pit: np.ndarray) -> list[tuple[str, float, float]]:
    """``(test, statistic, p-value)``: uniformity, and the normal scores' mean and variance."""
    z = normal_scores(np.asarray(pit, dtype=float))
    r = len(z)
    mean_z = float(np.sqrt(r) * z.mean())
    chi2 = float((r - 1) * z.var(ddof=1))
    p_var = 2 * min(stats.chi2.cdf(chi2, r - 1), stats.chi2.sf(chi2, r - 1))
    return [
        ("uniformity", float("nan"), uniformity_pvalue(pit)),
        ("normal_mean", mean_z, float(2 * stats.norm.sf(abs(mean_z)))),
        ("normal_var", chi2 / (r - 1), float(min(1.0, p_var))),
    ]


def total_variance(rows: pd.DataFrame, prior_var: float) -> dict[str, float]:
    """Check the law of total variance over the simulations of one (N, parameter).

    ``E[var(theta | y)] + var(E[theta | y]) = var(theta)``: per simulation
    ``d = v + R / (R - 1) ((m - mean m)^2 - (theta - mean theta)^2)`` has expectation 0, where
    ``v`` and ``m`` are the posterior variance and mean; its mean over the ``R``
    simulations, over its standard error, is a z score. Computed with the exact
    posterior (a test of the closed forms and the simulator) and with the sampled one
    (reported with its error). ``prior_var`` is the closed-form prior variance, for scale.
    """
    r = len(rows)
    theta = rows["true_value"].to_numpy()
    out: dict[str, float] = {"prior_var": prior_var, "truth_var": float(np.var(theta, ddof=1))}
    for tag, m_col, s_col in (
        ("exact", "post_mean_exact", "post_sd_exact"),
        ("sampled", "post_mean", "post_sd"),
    ):
        m, v = rows[m_col].to_numpy(), rows[s_col].to_numpy() ** 2
        d = v + r / (r - 1) * ((m - m.mean()) ** 2 - (theta - theta.mean()) ** 2)
        out[f"mean_post_var_{tag}"] = float(v.mean())
        out[f"var_post_mean_{tag}"] = float(np.var(m, ddof=1))
        out[f"z_{tag}"] = float(d.mean() / (d.std(ddof=1) / np.sqrt(r)))
    return out


def prior_moments(family: Family, settings: Any) -> dict[str, tuple[float, bool]]:
    """Per scalar component: the closed-form prior variance, and whether its fourth moment is finite.

    The total-variance z test needs a finite fourth moment (the variance of ``d``); an
    Inverse-Gamma prior of shape 4 or less has none, and its test is not run.
    """
    x = family.simulate(np.random.default_rng(0), n=1, reps=1, settings=settings)[0]
    out = {}
    for label, parts in family.densities(x, settings).items():
        prior = parts["prior"]
        fourth = prior.moment(4)
        out[label] = (float(prior.var()), bool(np.isfinite(fourth)))
    return out


def variance_table(results: list[SbcResult]) -> pd.DataFrame:
    """Tabulate the law of total variance per (model, sampler, n, param), exact and sampled."""
    out = []
    for res in results:
        moments = prior_moments(FAMILIES[res.config.family], res.config.settings)
        params = res.rows[res.rows["kind"] == "param"]
        for (n, param), g in params.groupby(["n", "param"], sort=False):
            prior_var, fourth = moments[param]
            row = {"model": res.config.family, "sampler": res.engine.name, "n": n, "param": param}
            out.append(row | total_variance(g, prior_var) | {"fourth_moment_finite": fourth})
    return pd.DataFrame(out)


def tests_table(results: list[SbcResult], variance: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every test of the run: one row per (model, sampler, n, quantity, test), p-values before the correction.

    Rank tests for every engine (judged for the asymptotically exact ones); per family
    and N, once for the closed forms (``sampler = "closed_forms"``), the uniformity of the
    exact PIT and the law of total variance; coverage of central intervals for every
    engine (reported, not judged). ``judged`` marks the tests that share the run's alpha.
    ``variance`` is the run's ``variance_table`` (computed here when not given).
    """
    variance = variance_table(results) if variance is None else variance
    by_key = variance.set_index(["model", "sampler", "n", "param"]) if len(variance) else None
    out = []
    closed_done = set()
    for res in results:
        for (n, param), g in res.rows.groupby(["n", "param"], sort=False):
            base = {"model": res.config.family, "sampler": res.engine.name, "n": n, "quantity": param}
            for test, stat, p in rank_tests(g["pit"].to_numpy()):
                out.append({**base, "test": test, "statistic": stat, "pvalue": p, "judged": res.judged})
            u = g["pit"].to_numpy()
            for level in COVERAGE_LEVELS:
                covered = int(np.sum(np.abs(u - 0.5) <= level / 2))
                p = stats.binomtest(covered, len(u), level).pvalue
                out.append({**base, "test": f"coverage_{round(100 * level)}", "statistic": covered / len(u),
                            "pvalue": float(p), "judged": False})  # fmt: skip
            if g["kind"].iloc[0] != "param":
                continue
            tv = by_key.loc[(res.config.family, res.engine.name, n, param)]
            fourth = bool(tv["fourth_moment_finite"])
            out.append({**base, "test": "total_variance_sampled", "statistic": tv["z_sampled"],
                        "pvalue": float(2 * stats.norm.sf(abs(tv["z_sampled"]))) if fourth else np.nan,
                        "judged": False})  # fmt: skip
            if (res.config.family, n, param) in closed_done:
                continue
            closed_done.add((res.config.family, n, param))
            closed = {**base, "sampler": "closed_forms"}
            out.append({**closed, "test": "pit_exact_uniformity", "statistic": float("nan"),
                        "pvalue": uniformity_pvalue(g["pit_exact"].to_numpy()), "judged": True})  # fmt: skip
            out.append({**closed, "test": "total_variance", "statistic": tv["z_exact"],
                        "pvalue": float(2 * stats.norm.sf(abs(tv["z_exact"]))) if fourth else np.nan,
                        "judged": fourth})  # fmt: skip
    return pd.DataFrame(out)


def judge_ranks(tests: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Bonferroni over the judged tests: each at ``alpha / m``; ``agree`` is empty for reported-only rows."""
    tests = tests.copy()
    m = max(int(tests["judged"].sum()), 1)
    tests["alpha"] = np.where(tests["judged"], alpha / m, np.nan)
    agree = tests["pvalue"] >= alpha / m
    tests["agree"] = pd.array(np.where(tests["judged"], agree, pd.NA), dtype="boolean")
    return tests


def contraction(result: SbcResult) -> pd.DataFrame:
    """Posterior contraction per (N, parameter): mean posterior sd over prior sd, sampled and exact."""
    family = FAMILIES[result.config.family]
    moments = prior_moments(family, result.config.settings)
    params = result.rows[result.rows["kind"] == "param"]
    out = []
    for (n, param), g in params.groupby(["n", "param"], sort=False):
        prior_sd = np.sqrt(moments[param][0])
        out.append({"model": result.config.family, "sampler": result.engine.name, "n": n, "param": param,
                    "prior_sd": prior_sd, "sd_ratio": g["post_sd"].mean() / prior_sd,
                    "sd_ratio_exact": g["post_sd_exact"].mean() / prior_sd})  # fmt: skip
    return pd.DataFrame(out)
