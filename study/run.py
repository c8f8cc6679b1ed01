"""Run one study: every sample size and replication of one family, fitted by one sampler."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import arviz_base
import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

from models.engines import SAMPLERS, Problem, Sampler, map_groups
from models.engines.plugins import EngineFailure
from models.families import FAMILIES, Family
from study import batched_diagnostics, checks, seeds, stopping, targets
from study.checks import CALIBRATED
from study.evidence import engine_evidence, exact_log_evidence, judge_evidence
from study.fitting import fit
from study.mode_tolerance import mode_tolerance_sd
from study.seeds import data_rng, sampler_seed


@dataclass(frozen=True)
class StudyConfig:
    """Everything that determines a study's results."""

    family: str = "normal_normal"
    sampler: str = "nutpie"  # compare.py's default engine for the study
    ns: tuple[int, ...] = (10, 100, 1000)
    reps: int = 20
    seed: int = 2026
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    cores: int = 1
    alpha: float = 0.01  # the whole run's false-alarm probability
    prob: float = 0.95
    settings: Any = None
    studies_in_run: int = 1  # studies sharing the run's alpha (Bonferroni); its share: study_alpha

    def __post_init__(self) -> None:
        if self.settings is None:
            object.__setattr__(self, "settings", FAMILIES[self.family].settings())

    @property
    def study_alpha(self) -> float:
        """The study's share of the run's alpha: the one place the run's alpha is divided among studies."""
        return self.alpha / self.studies_in_run


def plan_studies(settings: dict[str, Any], engines: list, **shared) -> dict[str, list[StudyConfig]]:
    """Return the studies of one run: a StudyConfig per family (``settings``: key -> Settings) and engine.

    The one place a run's studies are planned, by ``compare.py`` and by
    ``study.api.check_engine``: the run's ``alpha`` (in ``shared``, with ns, reps, seed,
    draws, ...) is shared by Bonferroni over the studies judged by the samplers' tests
    (families x such engines), each of which knows how many share it.
    """
    tested = max(len(settings) * sum(e.check in CALIBRATED for e in engines), 1)
    return {
        key: [
            StudyConfig(family=key, sampler=e.name, settings=s, studies_in_run=tested, **shared)
            for e in engines
        ]
        for key, s in settings.items()
    }


@dataclass(frozen=True)
class Sampled:
    """One study's draws before the comparison with the closed forms: all that plots of the draws need."""

    config: StudyConfig
    idata: xr.DataTree
    datasets: dict[int, np.ndarray]
    engine: Sampler


@dataclass
class StudyResult:
    """Rows (one per n, rep, param), pooled tests, the sampled posterior and the data it came from."""

    config: StudyConfig
    rows: pd.DataFrame
    pooled: pd.DataFrame
    idata: xr.DataTree
    datasets: dict[int, np.ndarray]
    thresholds: checks.Thresholds
    timings: dict[str, float] = field(default_factory=dict)
    engine: Sampler | None = None  # the engine that ran (None: the registry's, by config.sampler)
    evidence: dict | None = None  # the engine's log-evidence estimate, judged (study.evidence)

    def __post_init__(self) -> None:
        if self.engine is None:
            self.engine = SAMPLERS[self.config.sampler]

    @property
    def failures(self) -> pd.DataFrame:
        """Rows whose sampled posterior disagrees with the exact one."""
        return self.rows[~self.rows["agree"]]

    @property
    def pooled_failures(self) -> pd.DataFrame:
        """Pooled tests (per param and N, over the replications) that fail."""
        return self.pooled[~self.pooled["agree"]] if len(self.pooled) else self.pooled

    @property
    def warnings(self) -> list[str]:
        """Why a sampler's verdict at this configuration means little (empty for other engines)."""
        if not len(self.pooled):
            return []
        return checks.configuration_warnings(self.rows, self.pooled, chains=self.config.chains)

    @property
    def evidence_problem(self) -> str | None:
        """Why the engine's evidence estimate disagrees with the exact log evidence (None: it agrees)."""
        e = self.evidence
        if e is None or e["agree"]:
            return None
        if e["kind"] == "elbo":
            return f"ELBO {e['estimate']:.2f} above log Z {e['exact']:.2f} by {e['score']:.1f} MC std errors"
        return f"log evidence {e['estimate']:.2f} against exact {e['exact']:.2f}: t = {e['score']:.1f}"

    @property
    def agrees(self) -> bool:
        """True when every row and every pooled test agrees."""
        evidence_ok = self.evidence is None or self.evidence["agree"]
        return bool(self.rows["agree"].all()) and not len(self.pooled_failures) and evidence_ok


def simulate_datasets(family: Family, settings: Any, ns, reps: int, seed: int) -> dict[int, np.ndarray]:
    """One array ``(reps, n, ...)`` per sample size, each data set from its own seed."""
    return {
        n: np.concatenate(
            [
                family.simulate(data_rng(seed, family.key, n, r), n=n, reps=1, settings=settings)
                for r in range(reps)
            ]
        )
        for n in ns
    }


def _posterior_stats(draws: xr.DataArray, prob: float) -> dict[str, xr.DataArray]:
    """ArviZ summaries of one parameter's draws, reduced over chain and draw.

    Chains that never move make ArviZ's R-hat divide by a zero within-chain variance, and
    chains that run away overflow the squares of a variance; the verdict says so in its own
    words (``checks.sampler_verdicts``: R-hat undefined; a mean or sd off by so many MCSE),
    so NumPy's warnings are silenced here.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _summaries(draws, prob)


_DIAGNOSTICS = {
    "mcse_mean": ("mcse", "mean"),
    "mcse_sd": ("mcse", "sd"),
    "ess_mean": ("ess", "mean"),
    "ess_sd": ("ess", "sd"),
    "ess_bulk": ("ess", "bulk"),
    "ess_tail": ("ess", "tail"),
    "ess_folded": ("ess", "folded"),
    "r_hat": ("rhat", None),
}


def _summaries(draws: xr.DataArray, prob: float) -> dict[str, xr.DataArray]:
    """Summarise each row's draws; the MCSE, ESS and R-hat are ArviZ's numbers, for all rows at once."""
    eti = azs.eti(draws, prob=prob)
    rows = draws.transpose(..., "chain", "draw")
    lead = rows.isel(chain=0, draw=0, drop=True)
    # ArviZ's DataArray tail ESS takes its quantiles from the credible interval's default
    # probability (rcParams "stats.ci_prob", 0.89: the 11% and 89% quantiles), not 5% and 95%
    found = batched_diagnostics.diagnostics(
        rows.values, list(_DIAGNOSTICS.values()), tail_prob=arviz_base.rcParams["stats.ci_prob"]
    )
    return {
        "post_mean": draws.mean(("chain", "draw")),
        "post_sd": draws.std(("chain", "draw"), ddof=1),
        "post_mode": azs.mode(draws, round_to="none"),
        **{name: lead.copy(data=found[key]) for name, key in _DIAGNOSTICS.items()},
        "eti_low": eti.sel(ci_bound="lower", drop=True),
        "eti_high": eti.sel(ci_bound="upper", drop=True),
    }


_DISTRIBUTION_COLUMNS = (
    "post_mean",
    "post_sd",
    "mcse_mean",
    "mcse_sd",
    "ess_mean",
    "ess_sd",
    "ess_bulk",
    "ess_tail",
    "ess_folded",
    "r_hat",
    "eti_low",
    "eti_high",
)


_DENSITIES_CACHE: dict[tuple, dict] = {}


def _densities(family: Family, x: np.ndarray, settings) -> dict[str, dict[str, object]]:
    """``family.densities(x, settings)``, remembered by the family, settings and the data's exact bytes.

    Frozen SciPy distributions take about 0.5 ms each to build: 14% of a power run (whose runs
    of one seed share their data sets, every defect and size alike), none of whose results
    change, since the same data give the same distributions.
    """
    x = np.asarray(x)
    key = (family.key, settings, x.dtype.str, x.shape, x.tobytes())
    try:
        hash(key)
    except TypeError:  # settings that hold an array: not remembered
        return family.densities(x, settings)
    if key not in _DENSITIES_CACHE:
        if len(_DENSITIES_CACHE) >= 20_000:
            _DENSITIES_CACHE.clear()
        _DENSITIES_CACHE[key] = family.densities(x, settings)
    return _DENSITIES_CACHE[key]


def count_divergences(idata: xr.DataTree) -> int:
    """Divergent transitions over the whole run (0 for engines that have none)."""
    if "sample_stats" not in idata.children:
        return 0
    stats = idata["sample_stats"]
    for name in ("diverging", "divergences"):
        if name in stats.data_vars:
            return int(stats[name].sum())
    return 0


def tabulate(
    family: Family, sampler: Sampler, config: StudyConfig, datasets: dict[int, np.ndarray], idata: xr.DataTree
) -> tuple[pd.DataFrame, pd.DataFrame, checks.Thresholds]:
    """Build the tidy rows (exact and sampled summaries side by side, with verdicts) and the pooled tests."""
    frames = []
    judged = sampler.kind == "distribution"
    pits: dict[tuple[str, int], list[np.ndarray]] = {}
    # closed forms once per data set, shared by every component
    exact_by_n = {n: family.exact(x, config.settings) for n, x in datasets.items()}
    densities_by_n = {n: [_densities(family, one, config.settings) for one in x] for n, x in datasets.items()}
    row_draws = []  # each judged row's draws (chain, draw), in the rows' order, for the heavy-tail rule
    for param, (variable, selection) in family.labels(config.settings).items():
        draws = idata["posterior"][variable].isel(selection)
        if judged:
            sampled = _posterior_stats(draws, config.prob)
            # every row's thinning factor, all N in one search (their draws have one shape)
            every_n = draws.transpose("n", "rep", "chain", "draw", ...)
            factors_all = checks.thin_factors(
                every_n.values.reshape(-1, *every_n.shape[2:]),
                ess_bulk=sampled["ess_bulk"].transpose("n", "rep", ...).values.ravel(),
            ).reshape(every_n.shape[:2])
            factors_by_n = dict(zip(every_n["n"].values.tolist(), factors_all, strict=True))
        else:
            sampled = {"post_mode": draws.isel(chain=0, draw=0, drop=True)}
        for n, x in datasets.items():
            exact = exact_by_n[n][param]
            frame = pd.DataFrame({"n": n, "rep": np.arange(len(x)), "param": param, **exact})
            for name in ("post_mode", *_DISTRIBUTION_COLUMNS):
                frame[name] = sampled[name].sel(n=n).values if name in sampled else np.nan
            posts = [dens[param]["posterior"] for dens in densities_by_n[n]]
            frame["ks_thin"], frame["ks_pvalue"] = 0, np.nan
            if judged:
                per_rep = every_n.sel(n=n).values
                factors = factors_by_n[n]
                pits[(param, n)] = [
                    checks.pit_values(d, post.cdf, f)
                    for d, post, f in zip(per_rep, posts, factors, strict=True)
                ]
                frame["ks_thin"] = factors
                row_draws.extend(per_rep)
            frame["kurtosis_exact"] = [checks.excess_kurtosis(post) for post in posts]
            frame["posterior"] = posts
            frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    if judged:  # every row's KS test at once, in the rows' order (pits holds them in it)
        rows["ks_pvalue"] = checks.ks_uniform_pvalues([u for group in pits.values() for u in group])
    rows.insert(0, "sampler", sampler.name)
    rows.insert(0, "model", family.key)
    rows["divergences"] = count_divergences(idata)
    rows["se_mean"], rows["se_sd"] = checks.null_standard_errors(rows)
    rows["z_mean"] = (rows["post_mean"] - rows["post_mean_exact"]) / rows["se_mean"]
    rows["z_sd"] = (rows["post_sd"] - rows["post_sd_exact"]) / rows["se_sd"]
    rows["mean_error_sd"] = (rows["post_mean"] - rows["post_mean_exact"]) / rows["post_sd_exact"]
    rows["sd_ratio"] = rows["post_sd"] / rows["post_sd_exact"]
    # The half-sample mode of one component's draws estimates its marginal mode, which for a
    # multi-parameter posterior can differ from the joint MAP; a point engine targets the MAP.
    marginal = rows["mode_exact"].fillna(rows["map_exact"]) if "mode_exact" in rows else rows["map_exact"]
    rows["mode_target"] = marginal if judged else rows["map_exact"]
    rows["mode_error_sd"] = (rows["post_mode"] - rows["mode_target"]) / rows["post_sd_exact"]
    against_target = sampler.check == "target"
    if against_target:
        rows["ks_pvalue"] = np.nan  # a test against the exact posterior: not this engine's verdict
        columns = {
            (param, n): columns
            for n, x in datasets.items()
            for param, columns in targets.target_columns(family, config.settings, x, sampler.target).items()
        }  # fmt: skip
        for key, fit in targets.endpoint_columns(idata, family, config.settings, datasets).items():
            columns[key] = {**columns[key], **fit}
        targets.attach(rows, columns)
    pairs = pd.DataFrame()
    if against_target and sampler.target in targets.CORRELATED:
        pairs = targets.correlation_rows(idata, family, config.settings, datasets, sampler.target, rows)
    thresholds = checks.Thresholds(
        alpha=config.study_alpha,
        rows=len(rows),
        groups=len(rows.groupby(["param", "n"])),
        extra=int(sampler.check in checks.CALIBRATED and engine_evidence(idata) is not None),
        **({"row_tests": targets.ROW_TESTS, "pooled_tests": targets.POOLED_TESTS} if against_target else {}),
        pair_rows=len(pairs),
        pair_groups=len(pairs.groupby(["param", "partner", "n"])) if len(pairs) else 0,
    )
    effective = np.minimum(rows["ess_bulk"].fillna(1), config.chains * config.draws)
    posteriors = rows.pop("posterior").tolist()
    rows["mode_tol_sd"] = [
        mode_tolerance_sd(post, mode=mode, sd=sd, m=m, z_crit=thresholds.z_crit) if judged else np.nan
        for post, mode, sd, m in zip(
            posteriors, rows["mode_target"], rows["post_sd_exact"], effective, strict=True
        )
    ]
    rows["r_hat_limit"] = checks.rhat_limit(
        np.minimum(rows["ess_bulk"], rows["ess_folded"]),
        chains=config.chains,
        draws=config.draws,
        alpha=thresholds.alpha_row,
    )
    rows["covers_true"] = (rows["eti_low"] <= rows["true_value"]) & (rows["true_value"] <= rows["eti_high"])
    attrs = idata["posterior"].attrs
    for name in ("compile_time", "sampling_time", "wall_time"):
        rows[name] = float(attrs.get(name, np.nan))
    rows["ess_per_s"] = rows["ess_bulk"] / rows["wall_time"]
    pooled = pd.DataFrame()
    if sampler.check == "sampler":
        checks.score_heavy_tails(
            rows,
            posteriors,
            row_draws,
            z_crit=thresholds.z_crit,
            alpha=thresholds.alpha_row,
            ess_floor=checks.ESS_PER_CHAIN * config.chains,
        )
        rows["agree"], rows["reason"] = checks.sampler_verdicts(rows, thresholds)
        pooled = checks.pooled_tests(rows, pits, thresholds)
    elif against_target:
        rows["agree"], rows["reason"] = targets.judge_rows(rows, thresholds)
        pooled = targets.pooled_tests(rows, thresholds)
        if len(pairs):
            targets.judge_correlations(rows, pairs, thresholds)
            pooled = pd.concat([pooled, targets.pooled_correlations(pairs, sampler.name, thresholds)],
                               ignore_index=True)  # fmt: skip
    elif sampler.check == "close":
        rows["agree"], rows["reason"] = checks.close_verdicts(
            mean_error_sd=rows["mean_error_sd"].to_numpy(), sd_ratio=rows["sd_ratio"].to_numpy()
        )
    else:
        rows["agree"], rows["reason"] = checks.map_verdicts(mode_error_sd=rows["mode_error_sd"].to_numpy())
    return rows, pooled, thresholds


def _thinned(idata: xr.DataTree, thin: int) -> xr.DataTree:
    """Keep every ``thin``-th draw of every group with a draw dimension."""
    if thin == 1:
        return idata
    return map_groups(
        idata, lambda ds: ds.isel(draw=slice(thin - 1, None, thin)) if "draw" in ds.dims else ds
    )


def run_study(
    config: StudyConfig,
    *,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
    engine: Sampler | None = None,
    on_draws: Callable[[Sampled], None] | None = None,
) -> StudyResult:
    """Simulate, build one batched model, sample it once, and compare with the closed forms.

    ``engine`` replaces the registered engine named by ``config.sampler`` (outside engines
    and the power study's defective engines come this way); the verdict code is the same.
    ``on_draws`` gets the draws as soon as the engine returns, before the comparison (the
    plots of the draws start then, ``report.files.EarlyPlots``).

    Raises
    ------
    models.engines.plugins.EngineFailure
        When the engine raises or returns what the engine protocol does not allow.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    family, sampler = FAMILIES[config.family], engine or SAMPLERS[config.sampler]
    timings = {}
    start = time.perf_counter()
    datasets = simulate_datasets(family, config.settings, config.ns, config.reps, config.seed)
    thin = sampler.thin
    budget = sampler.budget.format(chains=config.chains, draws=config.draws, tune=config.tune, thin=thin)
    log(
        f"[{family.key}] fitting {len(config.ns) * config.reps} data sets "
        f"(N = {', '.join(map(str, config.ns))}; {config.reps} reps each) "
        f"{'one by one' if sampler.separately else 'in one model'} with {sampler.name}: {budget}"
    )
    stopping.checkpoint("sampling")
    t0 = time.perf_counter()
    problem = Problem(family, config.settings, datasets, seeds.exact_draws_rng)
    extra = {"problem": problem} if sampler.needs_problem else {}
    # an engine may catch the interrupt and return the draws it had (PyMC, nutpie, ADVI do), or
    # it may come back as another error: never judge those draws, nor call it the engine's failure
    with stopping.surfaced():
        idata = fit(
            sampler,
            family,
            config.settings,
            datasets,
            draws=config.draws * thin,
            tune=config.tune * thin,
            chains=config.chains,
            cores=config.cores,
            seed=sampler_seed(config.seed, family.key, sampler.name),
            progress=progress,
            **extra,
        )
    idata = _thinned(idata, thin)
    timings["sampling"] = time.perf_counter() - t0
    log(f"[{family.key}] {sampler.name} done in {timings['sampling']:.1f} s; comparing with the closed forms")
    if on_draws is not None:
        on_draws(Sampled(config, idata, datasets, sampler))
    stopping.checkpoint("comparison")
    rows, pooled, thresholds = tabulate(family, sampler, config, datasets, idata)
    evidence = engine_evidence(idata)
    if evidence is not None:
        # engines judged by calibrated tests (samplers, ADVI against its optimum) share the pooled half
        # of alpha; for the others it is the only test
        level = thresholds.alpha_pooled if sampler.check in checks.CALIBRATED else config.study_alpha
        evidence = judge_evidence(evidence, exact_log_evidence(family, datasets, config.settings), level)
    timings["total"] = time.perf_counter() - start
    result = StudyResult(
        config, rows, pooled, idata, datasets, thresholds, timings, engine=sampler, evidence=evidence
    )
    for warning in result.warnings:
        log(f"[{family.key}] {sampler.name}: warning: {warning}")
    return result


def _study_unit(unit: tuple[StudyConfig, Sampler | None, bool, Callable | None]) -> StudyResult | str:
    """One family x engine study as a work unit; an engine's failure comes back as its message."""
    config, engine, progress, on_draws = unit
    try:
        return run_study(config, engine=engine, progress=progress, on_draws=on_draws)
    except EngineFailure as err:
        print(f"[{config.family}] {config.sampler}: engine failed: {err}", file=sys.stderr)
        return str(err)


def run_studies(
    configs: list[StudyConfig],
    engines: dict[str, Sampler] | None = None,
    *,
    executor=None,
    progress: bool = False,
    on_draws: Callable[[Sampled], None] | None = None,
    on_outcome: Callable[[StudyConfig, StudyResult | str], None] | None = None,
) -> dict[StudyConfig, StudyResult | str]:
    """Run every study (family x engine) as one work unit each, here or on ``executor`` (``study.units``).

    Returns each config's result, or why its engine failed (raised, returned what the engine
    protocol does not allow, or its unit failed on the cluster). ``on_draws`` gets each
    study's draws before its comparison (``run_study``) when the units run in this process;
    on a cluster it gets each study's result as it comes back (``StudyResult`` holds the
    draws too), so that their plots are drawn while the other units run. ``on_outcome(config,
    outcome)`` gets each study's outcome, as returned, as soon as its unit ends, either way.
    """
    from study.units import Executor

    engines = engines or {}
    executor = executor or Executor()
    draws_of = on_draws if executor.client is not None else None  # on a cluster: drawn as results return
    on_draws = None if draws_of is not None else on_draws

    def on_result(unit, result) -> None:
        if draws_of is not None and isinstance(result, StudyResult):
            draws_of(result)
        if on_outcome is not None:
            on_outcome(unit[0], _outcome(result))

    todo = [(c, engines.get(c.sampler), progress, on_draws) for c in configs]
    label = lambda u: f"{u[0].family} {u[0].sampler}"  # noqa: E731

    # an engine that fits each data set in a model of its own (SMC, DEMetropolisZ, full-rank
    # ADVI) takes minutes where the others take seconds: on a cluster it starts first; then the
    # families whose posteriors have the most components (categorical_dirichlet's nutpie unit is
    # the longest of --model all)
    def long(unit) -> tuple[bool, int]:
        config, engine = unit[0], unit[1] or SAMPLERS[unit[0].sampler]
        return engine.separately, len(FAMILIES[config.family].labels(config.settings))

    out = executor.map(_study_unit, todo, label=label, on_result=on_result, long=long)
    return {c: _outcome(r) for c, r in zip(configs, out, strict=True)}


def _outcome(result) -> StudyResult | str:
    """Return a unit's result as ``run_studies`` does: the study, or why its engine failed."""
    return result if isinstance(result, StudyResult) else str(result)
