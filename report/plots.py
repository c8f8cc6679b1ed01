"""PNG plots of a study.

Per engine: ArviZ trace plots. Per family, a row or panel per component: densities
against the exact posterior, the washout and MSE. Across engines: each engine's draws
over the exact density, and cost against accuracy.
"""

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
MAX_COMPONENTS = 6  # per-component plots show at most this many rows or panels


def save_figure(fig, path: Path, dpi: int = 90) -> Path:
    """Lay out ``fig``, write it to ``path`` and close it; return the path."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def trace_plot(result: StudyResult, n: int, folder: Path) -> Path:
    """Draw the ArviZ trace plot of the data sets of size ``n``: replications in colour, chains by style."""
    family = FAMILIES[result.config.family]
    reps = list(range(min(TRACE_REPS, result.config.reps)))
    pc = azp.plot_trace_dist(
        result.idata, var_names=list(family.params), coords={"n": n, "rep": reps}, backend="matplotlib"
    )
    pc.add_title(
        f"{family.key}, {result.config.sampler}, N = {n}: replications {reps} (colour), chains (style)"
    )
    path = folder / f"trace_{family.key}_{result.config.sampler}_n{n}.png"
    pc.savefig(path, dpi=90)
    plt.close("all")
    return path


def trace_bokeh(result: StudyResult, n: int, rep: int = 0):
    """Draw an interactive ArviZ trace plot (a Bokeh layout) of one data set at one N: chains by colour."""
    family = FAMILIES[result.config.family]
    pc = azp.plot_trace_dist(
        result.idata, var_names=list(family.params), coords={"n": n, "rep": rep}, backend="bokeh"
    )
    return pc.get_viz("figure")


def _components(result: StudyResult) -> tuple[dict[str, tuple[str, dict[str, int]]], str]:
    """Pick the components a per-component plot shows (at most MAX_COMPONENTS); add a title note."""
    labels = FAMILIES[result.config.family].labels(result.config.settings)
    shown = dict(list(labels.items())[:MAX_COMPONENTS])
    note = "" if len(shown) == len(labels) else f" (first {len(shown)} of {len(labels)} components)"
    return shown, note


def density_plot(result: StudyResult, folder: Path, rep: int = 0) -> Path:
    """Plot prior, likelihood and exact posterior over the draws: a row per component, a column per N."""
    config = result.config
    family = FAMILIES[config.family]
    shown, note = _components(result)
    densities_by_n = {n: family.densities(result.datasets[n][rep], config.settings) for n in config.ns}
    fig, axes = plt.subplots(
        len(shown), len(config.ns), figsize=(4.2 * len(config.ns), 3.0 * len(shown) + 0.5), squeeze=False
    )
    for row, (param, (variable, selection)) in zip(axes, shown.items(), strict=True):
        for ax, n in zip(row, config.ns, strict=True):
            dens = densities_by_n[n][param]
            draws = result.idata["posterior"][variable].isel(selection).sel(n=n, rep=rep).values.ravel()
            post = dens["posterior"]
            lo, hi = post.ppf(1e-4), post.ppf(1 - 1e-4)
            lo, hi = min(lo, dens["likelihood"].ppf(1e-3)), max(hi, dens["likelihood"].ppf(1 - 1e-3))
            grid = np.linspace(lo, hi, 400)
            ax.hist(
                draws, bins=60, range=(lo, hi), density=True, color="0.8", label=f"{config.sampler} draws"
            )
            for name, style in (("prior", "C2--"), ("likelihood", "C1:"), ("posterior", "C0-")):
                ax.plot(grid, dens[name].pdf(grid), style, lw=1.8, label=f"{name} (exact)")
            ax.axvline(config.settings.truth[param], color="k", lw=0.8, label="true value")
            ax.set(title=f"{param}, N = {n}", xlabel=param, xlim=(lo, hi))
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{family.key}: prior x likelihood -> posterior (replication {rep}){note}")
    fig.tight_layout()
    path = folder / f"densities_{family.key}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def washout_plot(result: StudyResult, agg: pd.DataFrame, wash: dict[str, Washout], folder: Path) -> Path:
    """Plot mean |MAP - MLE| against N (log-log), its fit, the sampler's gap, sd: a panel per component."""
    shown, note = _components(result)
    ncols = min(3, len(shown))
    nrows = -(-len(shown) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 4.0 * nrows), squeeze=False)
    for ax, param in zip(axes.ravel(), shown, strict=False):
        w, g = wash[param], agg[agg["param"] == param]
        ax.loglog(w.ns, w.gap, "o", color="C0", label="mean |MAP - MLE| (exact, dense grid)")
        if np.isfinite(w.slope):
            fit = np.exp(w.intercept) * w.ns**w.slope
            ax.loglog(w.ns, fit, "-", color="C0", lw=1, label=f"fit: slope {w.slope:.3f}")
        ax.loglog(
            g["n"],
            g["mcmc_mle_gap"],
            "s",
            mfc="none",
            color="C3",
            ms=9,
            label=f"mean |{result.config.sampler} mean - MLE|",
        )
        ax.loglog(g["n"], g["post_sd_exact"], "^--", color="0.5", label="posterior sd (exact)")
        ax.set(xlabel="N", ylabel="distance", title=param)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(shown) :]:
        ax.set_visible(False)
    fig.suptitle(f"{result.config.family}: the prior washes out{note}")
    fig.tight_layout()
    path = folder / f"washout_{result.config.family}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def mse_plot(result: StudyResult, agg: pd.DataFrame, folder: Path) -> Path:
    """Plot exact and measured (+- se) MSE of MLE and MAP, and N x MSE, against N: a row per component."""
    config = result.config
    family = FAMILIES[config.family]
    shown, note = _components(result)
    grid = np.unique(np.round(np.geomspace(min(config.ns), max(config.ns), 200)).astype(int))
    risks = family.risks(grid, config.settings, prob=None)  # the MSE only
    fig, axes = plt.subplots(len(shown), 2, figsize=(10, 3.8 * len(shown) + 0.5), squeeze=False)
    for row, param in zip(axes, shown, strict=True):
        g, risk = agg[agg["param"] == param], risks[param]
        for ax, scale in zip(row, (1, "n"), strict=True):
            k_grid = grid if scale == "n" else 1
            k_agg = g["n"] if scale == "n" else 1
            for est, color in (("mle", "C1"), ("map", "C0")):
                ax.plot(grid, k_grid * risk[f"{est}_mse"], color=color, label=f"{est.upper()} (exact)")
                ax.errorbar(
                    g["n"],
                    k_agg * g[f"{est}_mse"],
                    yerr=k_agg * g[f"{est}_mse_se"],
                    fmt="o",
                    color=color,
                    capsize=3,
                    label=f"{est.upper()} ({int(g['reps'].iloc[0])} reps)",
                )
            ax.set_xscale("log")
        row[0].set_yscale("log")
        row[0].set(xlabel="N", ylabel=f"MSE of {param}", title=f"MSE of {param}")
        row[1].set(
            xlabel="N", ylabel=f"N x MSE of {param}", title=f"N x MSE of {param} (MLE: flat for large N)"
        )
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{family.key}: MLE vs MAP over repeated data sets{note}")
    fig.tight_layout()
    path = folder / f"mse_{family.key}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def engines_density_plot(results: list[StudyResult], folder: Path, rep: int = 0) -> Path:
    """One row per engine, one column per N: its draws (or point) over the exact posterior density."""
    config = results[0].config
    family = FAMILIES[config.family]
    param, (variable, selection) = next(iter(family.labels(config.settings).items()))
    fig, axes = plt.subplots(
        len(results), len(config.ns), figsize=(3.6 * len(config.ns), 1.9 * len(results) + 0.6), squeeze=False
    )
    for row, result in zip(axes, results, strict=True):
        name = result.config.sampler
        for ax, n in zip(row, config.ns, strict=True):
            post = family.densities(result.datasets[n][rep], config.settings)[param]["posterior"]
            lo, hi = post.ppf(1e-4), post.ppf(1 - 1e-4)
            grid = np.linspace(lo, hi, 300)
            draws = result.idata["posterior"][variable].isel(selection).sel(n=n, rep=rep).values.ravel()
            if draws.size > 1:
                ax.hist(draws, bins=50, range=(lo, hi), density=True, color="0.75")
            else:
                ax.axvline(draws[0], color="C3", lw=2)
            ax.plot(grid, post.pdf(grid), "C0-", lw=1.5)
            ax.set(xlim=(lo, hi), yticks=[])
            ax.tick_params(labelsize=7)
            if ax is row[0]:
                ax.set_ylabel(name, fontsize=9)
            if result is results[0]:
                ax.set_title(f"N = {n}", fontsize=10)
    fig.suptitle(
        f"{family.key}, rep {rep}: draws (grey) or point (red) over the exact posterior (blue)",
        fontsize=10,
    )
    fig.tight_layout()
    path = folder / f"engines_{family.key}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def cost_accuracy_points(results: list[StudyResult]) -> pd.DataFrame:
    """Per engine: the run's wall time, its RMS error of the posterior mean (or MAP) in sd, all rows agree."""
    points = []
    for result in results:
        rows = result.rows
        error = rows["mean_error_sd"] if rows["mean_error_sd"].notna().any() else rows["mode_error_sd"]
        points.append(
            {
                "engine": result.config.sampler,
                "wall": float(rows["wall_time"].iloc[0]),
                "rms": max(float(np.sqrt(np.mean(error**2))), 1e-6),
                "agree": bool(rows["agree"].all()),
            }
        )
    return pd.DataFrame(points)


COST_LABELS = {
    "x": "wall time of the run, s (compilation included)",
    "y": "RMS error of the posterior mean, exact sd units (find_map: of the MAP)",
}


def cost_accuracy_plot(results: list[StudyResult], folder: Path) -> Path:
    """Wall time of each engine's run against its RMS error of the posterior mean (or MAP), in sd."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, p in enumerate(cost_accuracy_points(results).itertuples()):
        ax.loglog(p.wall, p.rms, "o" if p.agree else "x", color=f"C{i % 10}", ms=8)
        ax.annotate(p.engine, (p.wall, p.rms), fontsize=8, xytext=(4, 3), textcoords="offset points")
    ax.set(
        xlabel=COST_LABELS["x"],
        ylabel=COST_LABELS["y"].replace(" (", "\n("),
        title=f"{results[0].config.family}: cost against accuracy (x: some rows disagree)",
    )
    fig.tight_layout()
    path = folder / f"cost_accuracy_{results[0].config.family}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def cost_accuracy_bokeh(results: list[StudyResult]):
    """Draw the cost-accuracy plot in Bokeh: hover a point for its engine, time, error and verdict."""
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    points = cost_accuracy_points(results)
    points["verdict"] = np.where(points["agree"], "all rows agree", "some rows disagree")
    points["marker"] = np.where(points["agree"], "circle", "x")
    fig = figure(
        x_axis_type="log", y_axis_type="log", width=640, height=420, x_axis_label=COST_LABELS["x"],
        y_axis_label="RMS error of the mean (find_map: MAP), exact sd",
        title=f"{results[0].config.family}: cost against accuracy",
        tools="pan,wheel_zoom,box_zoom,reset,save",
    )  # fmt: skip
    fig.scatter("wall", "rms", source=ColumnDataSource(points), marker="marker", size=11, line_width=2)
    fig.add_tools(
        HoverTool(
            tooltips=[
                ("engine", "@engine"),
                ("wall time", "@wall{0.00} s"),
                ("RMS error", "@rms{0.0000} sd"),
                ("verdict", "@verdict"),
            ]  # fmt: skip
        )
    )
    return fig
