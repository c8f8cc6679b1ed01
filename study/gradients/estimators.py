"""ELBO gradient estimators at Gaussian q against their exact mean and variance, each row judged."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from analytic import variational as va
from models.variational import PyMCPathwise
from study import seeds
from study.gradients.common import (
    MIN_DOF,
    POINTS,
    ZERO_VARIANCE_SHARE,
    GaussianProblem,
    GradientConfig,
    q_at,
)


def numpy_estimates(
    q: va.GaussianQ,
    post: va.GaussianPosterior,
    samples: int,
    reps: int,
    rng: np.random.Generator,
    baseline: np.ndarray | None,
) -> dict[str, tuple[np.ndarray, float]]:
    """Return ``reps`` estimates of ``samples`` draws per estimator: ``{name: ((reps, P), seconds)}``.

    ``baseline``: the optimal constant (``analytic.variational.optimal_baseline``); None leaves
    the score function with a baseline out (above ``MAX_EXACT_DIM``).
    """
    eps = rng.standard_normal((reps, samples, q.dim))
    out = {}
    for name in ("score", "score_baseline", "stl"):
        if name == "score_baseline" and baseline is None:
            continue
        start = time.perf_counter()
        values = va.per_sample(q, post, eps, baseline=baseline, names=(name,))[name].mean(axis=1)
        out[name] = (values, (time.perf_counter() - start) / reps)
    return out


def variance_dof(var_exact: float, mu4_exact: float, reps: int) -> float:
    """Degrees of freedom ``nu`` of the chi-square that matches the sample variance of ``reps`` estimates.

    ``nu = 2 sigma^4 / var(s^2)``, with the sample variance's exact variance
    ``mu4 / R - sigma^4 (R - 3) / (R (R - 1))`` (Satterthwaite); ``nu = R - 1`` for Normal
    estimates (``mu4 = 3 sigma^4``), about ``2 R / (kurtosis - 1)`` for heavy tails.
    """
    var_of_var = mu4_exact / reps - var_exact**2 * (reps - 3) / (reps * (reps - 1))
    return 2 * var_exact**2 / var_of_var


def variance_interval(var_exact: float, mu4_exact: float, reps: int, prob: float) -> tuple[float, float]:
    """Return the central ``prob`` interval of the sample variance of ``reps`` estimates (chi-square)."""
    nu = variance_dof(var_exact, mu4_exact, reps)
    lo, hi = stats.chi2.ppf([(1 - prob) / 2, (1 + prob) / 2], nu)
    return var_exact * lo / nu, var_exact * hi / nu


def _average_moments(var1: np.ndarray, mu4_1: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Variance and central fourth moment of the mean of ``s`` iid copies."""
    return var1 / s, (mu4_1 + 3 * (s - 1) * var1**2) / s**3


def measure_point(
    problem: GaussianProblem,
    q: va.GaussianQ,
    point: str,
    config: GradientConfig,
    pymc_pathwise: PyMCPathwise,
) -> list[dict]:
    """All rows of one (family, N, q family, point): every estimator, sample count and parameter."""
    post, key = problem.posterior, problem.family.key
    exact = va.elbo_gradient(q, post)
    moments = va.exact_moments(q, post)
    fourth = va.exact_fourth_moments(q, post)
    baseline = va.optimal_baseline(q, post) if q.dim <= va.MAX_EXACT_DIM else None  # once for every S
    names = q.parameter_names()
    marginal_sd = np.sqrt(np.diag(post.cov))
    q_sd = np.sqrt(np.diag(q.chol @ q.chol.T))
    q_family = "full_rank" if q.full_rank else "mean_field"
    rows = []
    for s in config.samples:
        rng = seeds.rng(config.seed, "gradients", key, problem.n, q_family, point, s)
        measured = numpy_estimates(q, post, s, config.reps, rng, baseline)
        measured["pathwise"] = pymc_pathwise.estimates(
            q, s, config.reps, seeds.below_2_31(config.seed, "pathwise", key, problem.n, q_family, point, s)
        )
        for name, (values, seconds) in measured.items():
            mean, var = values.mean(axis=0), values.var(axis=0, ddof=1)
            var_exact1 = moments[name][1]
            for j, param in enumerate(names):
                component = int(param.split("[")[1].split(",")[0].rstrip("]"))
                var_exact, mu4 = _average_moments(
                    var_exact1[j], fourth[name][j] if fourth is not None else np.nan, s
                )
                rows.append(
                    {
                        "model": key,
                        "n": problem.n,
                        "q_family": q_family,
                        "point": point,
                        "param": param,
                        "estimator": name,
                        "samples": s,
                        "reps": config.reps,
                        "q_mean": q.mean[component],
                        "q_sd": q_sd[component],
                        "post_mean_exact": post.mean[component],
                        "post_sd_exact": marginal_sd[component],
                        "exact_grad": exact[j],
                        "mean_grad": mean[j],
                        "se_grad": np.sqrt(var[j] / config.reps),
                        "var": var[j],
                        "var_exact": var_exact,
                        "mu4_exact": mu4,
                        "var_pathwise_exact": moments["pathwise"][1][j] / s,
                        "seconds_per_grad": seconds,
                    }
                )
    return rows


def judge_gradients(rows: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Add z scores, SNR, cost, the variance intervals and the verdicts (Bonferroni over all checks).

    Two checks per judged row (the mean's z score and the variance's interval), ``alpha``
    shared among them; one per row whose exact variance is zero (the measured variance is
    zero up to rounding). A row is judged when its estimates are close enough to Normal for
    both approximations to hold in the far tail the correction puts them in:
    ``variance_dof >= MIN_DOF``. Heavier-tailed rows (the score function at one or a few
    samples, whose single-sample kurtosis runs into the hundreds) are shown, not judged
    (``judged`` False): at R repetitions their sample variance is too skewed for a
    calibrated interval, and with 1000 repetitions one such row in the default run sat at
    ten times its exact variance.
    """
    df = rows.copy()
    zero = df["var_exact"] <= ZERO_VARIANCE_SHARE * df["var_pathwise_exact"]
    df["zero_variance"] = zero
    df["z_bias"] = np.where(zero, np.nan, (df["mean_grad"] - df["exact_grad"]) / df["se_grad"])
    with np.errstate(divide="ignore"):
        df["snr"] = np.where(zero, np.inf, np.abs(df["mean_grad"]) / np.sqrt(df["var"]))
    df["var_x_cost"] = df["var"] * df["seconds_per_grad"]
    df["var_dof"] = [
        variance_dof(v, m4, int(r)) if v > 0 and np.isfinite(m4) else np.nan
        for v, m4, r in zip(df["var_exact"], df["mu4_exact"], df["reps"], strict=True)
    ]
    judged = ~zero & ~(df["var_dof"] < MIN_DOF)
    df["judged"] = judged | zero
    checks = 2 * int(judged.sum())
    level = alpha / max(checks, 1)
    z_crit = stats.norm.isf(level / 2)
    df["z_crit"] = z_crit
    lo, hi = [], []
    for v, m4, r, j in zip(df["var_exact"], df["mu4_exact"], df["reps"], judged, strict=True):
        a, b = variance_interval(v, m4, int(r), 1 - level) if j and np.isfinite(m4) else (np.nan, np.nan)
        lo.append(a)
        hi.append(b)
    df["var_lo"], df["var_hi"] = lo, hi
    bias_ok = ~judged | (np.abs(df["z_bias"]) <= z_crit)
    var_ok = np.where(
        zero,
        df["var"] <= ZERO_VARIANCE_SHARE * df["var_pathwise_exact"],
        df["var_lo"].isna() | ((df["var"] >= df["var_lo"]) & (df["var"] <= df["var_hi"])),
    )
    df["bias_ok"], df["var_ok"] = bias_ok, var_ok
    df["agree"] = bias_ok & var_ok
    return df


def run_gradients(config: GradientConfig, log: Callable[[str], None] = lambda m: None) -> pd.DataFrame:
    """Measure every estimator at every point; a row per (model, n, q family, point, param, estimator, S)."""
    keys = [(key, n) for key in config.families for n in config.ns]
    return pd.DataFrame([row for key, n in keys for row in gradient_rows(config, key, n, log)])


def gradient_rows(
    config: GradientConfig, key: str, n: int, log: Callable[[str], None] = lambda m: None
) -> list[dict]:
    """Return the rows of one family and N (one work unit): each q family, point, estimator and S.

    Seeded by ``(config.seed, key, n, ...)`` alone, so a unit gives the same rows wherever it runs.
    """
    problem = GaussianProblem.build(key, config.settings[key], n, config.seed)
    model = problem.model()
    rows = []
    for full_rank in (False, True) if problem.posterior.dim > 1 else (False,):
        q_family = "full_rank" if full_rank else "mean_field"
        start = time.perf_counter()
        pathwise = PyMCPathwise(
            model,
            full_rank=full_rank,
            seed=seeds.below_2_31(config.seed, "pathwise_compile", key, n, q_family),
        )
        for point in POINTS:
            q = q_at(problem.posterior, point, full_rank=full_rank)
            rows += measure_point(problem, q, point, config, pathwise)
        log(f"gradients: {key} N={n} {q_family}: {time.perf_counter() - start:.1f} s")
    return rows
