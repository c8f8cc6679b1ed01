"""PNG plots of a study: ArviZ trace plots, densities against the exact posterior, washout, MSE."""

from __future__ import annotations

from pathlib import Path

import arviz_plots as azp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from models.families import FAMILIES  # noqa: E402
from study.aggregate import Washout  # noqa: E402
from study.run import StudyResult  # noqa: E402

TRACE_REPS = 3


def trace_plots(result: StudyResult, folder: Path) -> list[Path]:
    """One ArviZ trace plot per N: the first replications in colour, chains by line style."""
    paths = []
    family = FAMILIES[result.config.family]
    reps = list(range(min(TRACE_REPS, result.config.reps)))
    for n in result.config.ns:
        pc = azp.plot_trace_dist(
            result.idata, var_names=list(family.params), coords={"n": n, "rep": reps}, backend="matplotlib"
        )
        pc.add_title(
            f"{family.key}, {result.config.sampler}, N = {n}: replications {reps} (colour), chains (style)"
        )
        path = folder / f"trace_{family.key}_n{n}.png"
        pc.savefig(path, dpi=90)
        plt.close("all")
        paths.append(path)
    return paths


def density_plot(result: StudyResult, folder: Path, rep: int = 0) -> Path:
    """Per N: prior, normalised likelihood and exact posterior over a histogram of the draws."""
    config = result.config
    family = FAMILIES[config.family]
    param = family.params[0]
    fig, axes = plt.subplots(1, len(config.ns), figsize=(4.2 * len(config.ns), 3.4), squeeze=False)
    for ax, n in zip(axes[0], config.ns, strict=True):
        dens = family.densities(result.datasets[n][rep], config.settings)[param]
        draws = result.idata["posterior"][param].sel(n=n, rep=rep).values.ravel()
        post = dens["posterior"]
        lo, hi = post.ppf(1e-4), post.ppf(1 - 1e-4)
        lo, hi = min(lo, dens["likelihood"].ppf(1e-3)), max(hi, dens["likelihood"].ppf(1 - 1e-3))
        grid = np.linspace(lo, hi, 400)
        ax.hist(draws, bins=60, range=(lo, hi), density=True, color="0.8", label=f"{config.sampler} draws")
        for name, style in (("prior", "C2--"), ("likelihood", "C1:"), ("posterior", "C0-")):
            ax.plot(grid, dens[name].pdf(grid), style, lw=1.8, label=f"{name} (exact)")
        truth = config.settings.truth[param]
        ax.axvline(truth, color="k", lw=0.8, label=f"true {param}")
        ax.set(title=f"N = {n}", xlabel=param, xlim=(lo, hi))
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{family.key}: prior x likelihood -> posterior (replication {rep})")
    fig.tight_layout()
    path = folder / f"densities_{family.key}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def washout_plot(result: StudyResult, agg: pd.DataFrame, wash: Washout, folder: Path) -> Path:
    """log-log: mean |MAP - MLE| against N, the fit, the sampler's gap and the prior weight."""
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.loglog(wash.ns, wash.gap, "o", color="C0", label="mean |MAP - MLE| (exact, dense grid)")
    ax.loglog(
        wash.ns,
        np.exp(wash.intercept) * wash.ns**wash.slope,
        "-",
        color="C0",
        lw=1,
        label=f"fit: slope {wash.slope:.3f}",
    )
    ax.loglog(
        agg["n"],
        agg["mcmc_mle_gap"],
        "s",
        mfc="none",
        color="C3",
        ms=9,
        label=f"mean |{result.config.sampler} mean - MLE|",
    )
    ax.loglog(agg["n"], agg["post_sd_exact"], "^--", color="0.5", label="posterior sd (exact)")
    ax.set(xlabel="N", ylabel="distance", title=f"{result.config.family}: the prior washes out")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = folder / f"washout_{result.config.family}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def mse_plot(result: StudyResult, agg: pd.DataFrame, folder: Path) -> Path:
    """Exact MSE of MLE and MAP against N with the measured MSE +- se; right panel N x MSE."""
    config = result.config
    family = FAMILIES[config.family]
    param = family.params[0]
    grid = np.unique(np.round(np.geomspace(min(config.ns), max(config.ns), 200)).astype(int))
    risk = family.risks(grid, config.settings, prob=config.prob)[param]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, scale in zip(axes, (1, "n"), strict=True):
        k_grid = grid if scale == "n" else 1
        k_agg = agg["n"] if scale == "n" else 1
        for est, color in (("mle", "C1"), ("map", "C0")):
            ax.plot(grid, k_grid * risk[f"{est}_mse"], color=color, label=f"{est.upper()} (exact)")
            ax.errorbar(
                agg["n"],
                k_agg * agg[f"{est}_mse"],
                yerr=k_agg * agg[f"{est}_mse_se"],
                fmt="o",
                color=color,
                capsize=3,
                label=f"{est.upper()} ({int(agg['reps'].iloc[0])} reps)",
            )
        ax.set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set(xlabel="N", ylabel=f"MSE of {param}", title="MSE")
    axes[1].set(xlabel="N", ylabel=f"N x MSE of {param}", title="N x MSE (MLE: the noise variance)")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{family.key}: MLE vs MAP over repeated data sets")
    fig.tight_layout()
    path = folder / f"mse_{family.key}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
