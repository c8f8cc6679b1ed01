"""Per-N aggregates of a study: the prior's fading pull, estimator risk, interval coverage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.families import FAMILIES
from study.run import StudyConfig, StudyResult, simulate_datasets


def per_n(result: StudyResult) -> pd.DataFrame:
    """One row per (param, n): measured pull, risk and coverage beside their exact values."""
    config = result.config
    family = FAMILIES[config.family]
    rows = result.rows
    out = []
    for (param, n), g in rows.groupby(["param", "n"], sort=True):
        gap = (g["map_exact"] - g["mle"]).abs()
        mle_err = g["mle"] - g["true_value"]
        map_err = g["map_exact"] - g["true_value"]
        exact = {
            k: float(np.asarray(v))
            for k, v in family.risks(n, config.settings, prob=config.prob)[param].items()
        }
        post = family.densities(result.datasets[n][g["rep"].to_numpy()], config.settings)[param]["posterior"]
        truth = g["true_value"].to_numpy()
        exact_cover = (post.ppf(0.5 - config.prob / 2) <= truth) & (truth <= post.ppf(0.5 + config.prob / 2))
        out.append(
            {
                "param": param,
                "n": n,
                "reps": len(g),
                "agree": int(g["agree"].sum()),
                "prior_weight": float(g["prior_weight"].mean()),
                "map_mle_gap": float(gap.mean()),
                "map_mle_gap_sd": float((gap / g["post_sd_exact"]).mean()),
                "mean_map_gap_sd": float(
                    ((g["post_mean_exact"] - g["map_exact"]).abs() / g["post_sd_exact"]).mean()
                ),
                "mcmc_mle_gap": float((g["post_mean"] - g["mle"]).abs().mean()),
                "post_sd_exact": float(g["post_sd_exact"].mean()),
                "mle_bias": float(mle_err.mean()),
                "mle_var": float(mle_err.var(ddof=1)),
                "mle_mse": float((mle_err**2).mean()),
                "mle_mse_se": float((mle_err**2).std(ddof=1) / np.sqrt(len(g))),
                "map_bias": float(map_err.mean()),
                "map_var": float(map_err.var(ddof=1)),
                "map_mse": float((map_err**2).mean()),
                "map_mse_se": float((map_err**2).std(ddof=1) / np.sqrt(len(g))),
                **{f"{k}_exact": v for k, v in exact.items() if k != "coverage"},
                "coverage_mcmc": float(g["covers_true"].mean()),
                "coverage_exact_interval": float(exact_cover.mean()),
                "coverage_theory": exact["coverage"],
            }
        )
    return pd.DataFrame(out)


@dataclass(frozen=True)
class Washout:
    """One component's mean |MAP - MLE| over replications on a dense grid of N, and its log-log fit."""

    ns: np.ndarray
    gap: np.ndarray
    slope: float
    intercept: float


def washout(config: StudyConfig, *, grid: np.ndarray | None = None) -> dict[str, Washout]:
    """Fit ``log mean|MAP - MLE| = a + b log N`` over a dense grid of N, for every component.

    Closed forms only. The data sets come from the study's seeds, so at the study's own
    sample sizes they are the very data the sampler saw. For the Normal-Normal model
    ``|MAP - MLE| = w_N |nu - mean(x)|`` with ``w_N ~ sigma^2 / (N beta^2)``, so b -> -1.
    Where the prior already points at the truth the pull is only noise, ``O(N^-1/2)``,
    and b -> -3/2 (the middle category of ``categorical_dirichlet``). Components are fitted
    one by one: their gaps have different units and can fade at different rates.
    """
    family = FAMILIES[config.family]
    if grid is None:
        grid = np.unique(np.round(np.geomspace(10, 10_000, 13)).astype(int))
    gaps: dict[str, list[float]] = {}
    for n in grid:
        x = simulate_datasets(family, config.settings, [int(n)], config.reps, config.seed)[int(n)]
        for label, exact in family.exact(x, config.settings).items():
            gaps.setdefault(label, []).append(float(np.abs(exact["map_exact"] - exact["mle"]).mean()))
    return {label: _loglog_fit(np.asarray(grid), np.asarray(gap)) for label, gap in gaps.items()}


def _loglog_fit(ns: np.ndarray, gap: np.ndarray) -> Washout:
    """Least-squares line through the positive gaps on log-log axes (NaN slope if under two)."""
    keep = gap > 0
    if keep.sum() < 2:
        return Washout(ns=ns, gap=gap, slope=float("nan"), intercept=float("nan"))
    slope, intercept = np.polyfit(np.log(ns[keep]), np.log(gap[keep]), 1)
    return Washout(ns=ns, gap=gap, slope=float(slope), intercept=float(intercept))


@dataclass
class FamilyStudies:
    """One family's studies of a run (one per engine, on the same data), and what is computed across them.

    ``failures`` maps each engine that failed inside its run to why; ``results`` holds the
    others, the first of which gives the per-N aggregates and the washout (None when every
    engine failed).
    """

    family: str
    ns: tuple[int, ...]
    results: list[StudyResult]
    failures: dict[str, str]
    agg: pd.DataFrame | None
    wash: dict[str, Washout] | None


def family_studies(configs: list[StudyConfig], outcomes: list[StudyResult | str]) -> FamilyStudies:
    """Gather one family's outcomes (``run_studies``: a result, or why its engine failed)."""
    results = [o for o in outcomes if isinstance(o, StudyResult)]
    failures = {
        c.sampler: o for c, o in zip(configs, outcomes, strict=True) if not isinstance(o, StudyResult)
    }
    if not results:
        return FamilyStudies(configs[0].family, configs[0].ns, [], failures, None, None)
    first = results[0]
    return FamilyStudies(
        first.config.family, first.config.ns, results, failures, per_n(first), washout(first.config)
    )
