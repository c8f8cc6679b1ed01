"""The beta-weighted ELBO (PyMC's KLqp, beta = w) fitted and held against the tempered posterior."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from analytic import variational as va
from models.families import FAMILIES
from models.variational import fit_beta_elbo
from study import seeds
from study.gradients.common import GaussianProblem, GradientConfig

BETA_SEEDS = 6


def run_beta_elbo(config: GradientConfig, log: Callable[[str], None] = lambda m: None) -> pd.DataFrame:
    """Fit the beta-weighted ELBO for each family, N and weight; compare with the tempered posterior.

    The target is the mean-field projection of ``prior x likelihood^(1/w)`` (the tempered
    posterior itself for one parameter). Each fit runs ``BETA_SEEDS`` times; one row per
    (model, n, weight, param) with the errors in target sd averaged over the seeds, and their
    standard error from the seeds' spread.
    """
    rows = [
        row
        for key in config.families
        for n in config.ns
        for w in config.weights
        for row in beta_rows(config, key, n, w, log)
    ]
    return pd.DataFrame(rows)


def beta_rows(
    config: GradientConfig, key: str, n: int, w: float, log: Callable[[str], None] = lambda m: None
) -> list[dict]:
    """Return the rows of one family, N and weight (one work unit): its fits, one row per parameter.

    Seeded by ``(config.seed, key, n, w, k)`` alone, so a unit gives the same rows wherever it runs.
    """
    family, settings = FAMILIES[key], config.settings[key]
    prior_mean, prior_cov = family.gaussian_prior(settings)
    problem = GaussianProblem.build(key, settings, n, config.seed)
    model = problem.model()
    post = problem.posterior
    start = time.perf_counter()
    t_mean, t_cov = va.tempered(prior_mean, prior_cov, post.mean, post.cov, w)
    target_mean, target_sd = va.mean_field_projection(t_mean, t_cov)
    fits = [
        fit_beta_elbo(model, w, seeds.below_2_31(config.seed, "beta", key, n, w, k))
        for k in range(BETA_SEEDS)
    ]
    mean_err = np.array([(m - target_mean) / target_sd for m, _ in fits])
    log_sd = np.array([np.log(s / target_sd) for _, s in fits])
    rows = []
    for j in range(post.dim):
        rows.append(
            {
                "model": key,
                "n": n,
                "weight": w,
                "param": f"{family.params[0]}[{j}]" if post.dim > 1 else family.params[0],
                "seeds": BETA_SEEDS,
                "post_mean_exact": post.mean[j],
                "post_sd_exact": np.sqrt(post.cov[j, j]),
                "tempered_mean": target_mean[j],
                "tempered_sd": target_sd[j],
                "fit_mean": np.mean([m[j] for m, _ in fits]),
                "fit_sd": np.mean([s[j] for _, s in fits]),
                "mean_error_sd": mean_err[:, j].mean(),
                "mean_error_se": mean_err[:, j].std(ddof=1) / np.sqrt(BETA_SEEDS),
                "log_sd_ratio": log_sd[:, j].mean(),
                "log_sd_ratio_se": log_sd[:, j].std(ddof=1) / np.sqrt(BETA_SEEDS),
                "seconds": (time.perf_counter() - start) / BETA_SEEDS,
            }
        )
    log(f"beta-ELBO: {key} N={n} w={w}: {time.perf_counter() - start:.1f} s")
    return rows


def judge_beta(df: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Add t tests over the seeds (``seeds - 1`` df) of the mean error and the log sd ratio, Bonferroni."""
    df = df.copy()
    checks = 2 * len(df)
    crit = stats.t.isf(alpha / max(checks, 1) / 2, BETA_SEEDS - 1)
    df["t_mean"] = df["mean_error_sd"] / df["mean_error_se"]
    df["t_sd"] = df["log_sd_ratio"] / df["log_sd_ratio_se"]
    df["t_crit"] = crit
    df["agree"] = (np.abs(df["t_mean"]) <= crit) & (np.abs(df["t_sd"]) <= crit)
    return df
