"""The study's tables, as data (``report.document.Table``) for the terminal and the page."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.engines import SAMPLERS
from report.document import Table, table
from study.aggregate import Washout
from study.run import StudyResult


def fade_table(agg: pd.DataFrame, wash: dict[str, Washout]) -> Table:
    """Tabulate the prior's pull per N, and each component's fitted washout slope."""
    rows = [
        [r.param, r.n, r.prior_weight, r.map_mle_gap, r.map_mle_gap_sd, r.mcmc_mle_gap, r.mean_map_gap_sd]
        for r in agg.itertuples()
    ]
    headers = ["param", "N", "w_N", "|MAP-MLE|", "|MAP-MLE|/sd", "|MCMC mean-MLE|", "|mean-MAP|/sd"]
    ns = next(iter(wash.values())).ns
    slopes = ", ".join(
        f"{param} {w.slope:.3f}" if np.isfinite(w.slope) else f"{param} none (MAP = MLE)"
        for param, w in wash.items()
    )
    slope = (
        f"slope of log mean|MAP-MLE| on log N over N = {ns[0]}..{ns[-1]} ({len(ns)} sizes): {slopes}"
        "  (theory: -> -1; -3/2 where the prior's mode is the truth)"
    )
    return table(headers, rows, note=slope)


def risk_table(agg: pd.DataFrame) -> Table:
    """Bias, variance and MSE of MLE and MAP over replications, beside their exact values."""
    rows = []
    for r in agg.itertuples():
        for est in ("mle", "map"):
            g = r._asdict()
            rows.append(
                [
                    r.param,
                    r.n,
                    est.upper(),
                    g[f"{est}_bias"],
                    g[f"{est}_bias_exact"],
                    g[f"{est}_var"],
                    g[f"{est}_var_exact"],
                    f"{g[f'{est}_mse']:.4g} +- {g[f'{est}_mse_se']:.2g}",
                    g[f"{est}_mse_exact"],
                ]
            )
    headers = ["param", "N", "est.", "bias", "exact", "variance", "exact", "MSE +- se", "exact"]
    return table(headers, rows)


def coverage_table(agg: pd.DataFrame, prob: float) -> Table:
    """How often the central posterior interval contains the true value."""
    rows = [
        [r.param, r.n, r.coverage_mcmc, r.coverage_exact_interval, r.coverage_theory]
        for r in agg.itertuples()
    ]
    headers = ["param", "N", f"{prob:.0%} ETI (MCMC)", "exact interval", "theory"]
    return table(headers, rows)


def _span(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "-"
    lo, hi = float(values.min()), float(values.max())
    return f"{lo:.3f}" if np.isclose(lo, hi) else f"{lo:.3f}-{hi:.3f}"


def _worst(values: pd.Series, how: str = "absmax") -> object:
    values = values.dropna()
    if values.empty:
        return "-"
    return float({"absmax": values.abs().max(), "min": values.min(), "max": values.max()}[how])


def engines_table(results: Sequence[StudyResult]) -> list[Table]:
    """Per parameter and N, one line per engine: accuracy against the exact posterior and cost.

    Errors are in units of the exact posterior sd except ``|z|`` (MCSE units); ``KS p`` is
    the smallest ESS-thinned KS p-value; times are the whole run's (all data sets in one
    model), so ``ESS/s`` is each data set's bulk ESS per second of that run.
    """
    tables = []
    rows = pd.concat([r.rows for r in results], ignore_index=True)
    engines = {r.config.sampler: r.engine for r in results}
    headers = [
        "engine", "judged as", "agree", "max|z|", "max|z sd|", "max|err|/sd", "sd ratio", "min KS p",
        "max|mode-MAP|/sd", "ESS bulk", "ESS tail", "R-hat", "div.", "compile s", "run s", "ESS/s",
    ]  # fmt: skip
    for (param, n), g in rows.groupby(["param", "n"], sort=True):
        lines = []
        for sampler, e in g.groupby("sampler", sort=False):
            lines.append(
                [
                    sampler,
                    JUDGED[engines[sampler].check],
                    f"{int(e['agree'].sum())}/{len(e)}",
                    _worst(e["z_mean"]),
                    _worst(e["z_sd"]),
                    _worst(e["mean_error_sd"]),
                    _span(e["sd_ratio"]),
                    _worst(e["ks_pvalue"], "min"),
                    _worst(e["mode_error_sd"]),
                    _worst(e["ess_bulk"], "min"),
                    _worst(e["ess_tail"], "min"),
                    _worst(e["r_hat"], "max"),
                    int(e["divergences"].max()),
                    "-" if np.isnan(e["compile_time"].iloc[0]) else float(e["compile_time"].iloc[0]),
                    float(e["sampling_time"].iloc[0]),
                    _worst(e["ess_per_s"], "min"),
                ]
            )
        tables.append(table(headers, lines, caption=f"{param}, N = {n}:"))
    return tables


def evidence_table(results: Sequence[StudyResult]) -> Table | None:
    """One line per engine that estimates log p(data): its estimate against the exact sum over the data sets.

    SMC's is judged by a t test on its chains' spread; ADVI's ELBO must not lie above log Z
    beyond its Monte Carlo error, and its gap below is KL(q || posterior) summed over the
    data sets. None when no engine estimates it.
    """
    lines = []
    for r in results:
        e = r.evidence
        if e is None:
            continue
        judged = e.get("judged", True)  # one SMC chain gives no standard error: shown, not judged
        limit = f"{'<=' if e['kind'] == 'elbo' else '|t| <='} {e['crit']:.2f}" if judged else "-"
        lines.append(
            [
                r.engine.name,
                "ELBO" if e["kind"] == "elbo" else "log Z (SMC)",
                f"{e['estimate']:.3f}",
                f"{e['exact']:.3f}",
                f"{e['error']:+.3f}",
                f"{e['se']:.3g}",
                f"{e['score']:+.2f}" if judged else "-",
                limit,
                "-" if e["kind"] != "elbo" else f"{e['gap']:.3f}",
                ("yes" if e["agree"] else "NO") if judged else "not judged (1 chain)",
            ]
        )
    if not lines:
        return None
    headers = ["engine", "estimate of", "estimate", "exact log Z", "error", "std err", "score", "limit",
               "KL (gap)", "agree"]  # fmt: skip
    return table(headers, lines)


def pooled_table(results: Sequence[StudyResult]) -> Table | str:
    """Per engine, parameter and N: the pooled tests over the replications, and what they can detect.

    ``detects`` is the smallest error the test finds with 90% probability at its own
    false-alarm level: a mean shift in exact sd, or a relative sd error. An approximation
    judged against its optimum has no PIT test ("-"): its errors are against the optimum; a
    full-rank one has a line per pair of parameters (``a ~ b``) with its correlation's z.
    """
    frames = [r.pooled for r in results if len(r.pooled)]
    if not frames:
        return "(no engine judged by the samplers' tests)"
    pooled = pd.concat(frames)
    correlated = bool((pooled["test"] == "corr").any())
    lines = []
    for (sampler, param, n), g in pooled.groupby(["sampler", "param", "n"], sort=False):
        t = g.set_index("test")

        def cell(test: str, column: str, form=float, t=t):
            return form(t.at[test, column]) if test in t.index else "-"

        line = [
            sampler,
            param,
            n,
            int(g["reps"].iloc[0]),
            cell("mean", "statistic"),
            cell("mean", "detectable", lambda v: f"{v:.3g} sd"),
            cell("sd", "statistic"),
            cell("sd", "detectable", lambda v: f"{100 * v:.2g}%"),
            cell("pit", "pvalue"),
            cell("pit", "values", int),
        ]
        if correlated:  # a full-rank approximation's pooled correlation test, pair by pair
            line.append(cell("corr", "statistic"))
        lines.append([*line, "yes" if g["agree"].all() else "NO"])
    headers = ["engine", "param", "N", "reps", "mean z", "detects", "sd z", "detects", "PIT KS p",
               "PIT values", *(["corr z"] if correlated else []), "agree"]  # fmt: skip
    return table(headers, lines)


JUDGED = {
    "sampler": "exact (tests)",
    "target": "approx (optimum)",
    "close": "approx (bounds)",
    "map": "point (MAP)",
}


def engine_list() -> str:
    """Every engine, built in or announced by an installed package: what it is, whether it can run here.

    Announced engines (entry-point group ``conjugate_check.samplers``) are loaded to read
    their metadata; one that cannot be loaded is listed with the reason.
    """
    from models.engines.plugins import PluginError, entry_points, load_entry_point

    lines = []
    for s in SAMPLERS.values():
        status = "available" if s.available else f"unavailable: {s.install_hint}"
        kind = ("asymptotically exact" if s.exact else "approximate") + f", {s.kind}"
        lines.append([s.name, kind, status, s.origin, s.description])
    for name, ep in entry_points().items():
        try:
            s = load_entry_point(ep)
        except PluginError as err:
            lines.append([name, "-", f"cannot be loaded: {err}", f"entry point {ep.value}", "-"])
            continue
        kind = ("asymptotically exact" if s.exact else "approximate") + f", {s.kind}"
        lines.append([s.name, kind, "available", s.origin, s.description])
    listed = table(["engine", "kind", "status", "from", "description"], lines)
    other = "Any other engine: --sampler module.path:callable (see docs/your_engine.md)."
    return f"{listed}\n\n{other}"


def family_list() -> str:
    """Every registered conjugate family, its parameters and its settings with their defaults."""
    import dataclasses

    from models.families import FAMILIES

    lines = []
    for f in FAMILIES.values():
        defaults = ", ".join(f"{x.name}={x.default:g}" for x in dataclasses.fields(f.settings))
        lines.append([f.key, ", ".join(f.params), defaults, f.description])
    return table(["model", "params", "settings (--set NAME=VALUE)", "description"], lines).text()
