"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from study.aggregate import Washout
from study.run import StudyResult


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Right-aligned fixed-width table with a rule under the header."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def agreement_table(result: StudyResult) -> str:
    """Per N: how many replications agree, and the worst test statistics among them."""
    rows = []
    for (param, n), g in result.rows.groupby(["param", "n"], sort=True):
        rows.append(
            [
                param,
                n,
                f"{int(g['agree'].sum())}/{len(g)}",
                float(g["z_mean"].abs().max()),
                float((g["mode_error_sd"].abs() / g["mode_tol_sd"]).max()),
                float(g["ess_bulk"].min()),
                float(g["r_hat"].max()),
                int(g["divergences"].max()),
            ]
        )
    headers = ["param", "N", "agree", "max|z_mean|", "max mode err/tol", "min ESS", "max R-hat", "diverg."]
    return format_table(headers, rows)


def fade_table(agg: pd.DataFrame, wash: Washout) -> str:
    """Tabulate the prior's pull per N, and the fitted washout slope."""
    rows = [
        [r.param, r.n, r.prior_weight, r.map_mle_gap, r.map_mle_gap_sd, r.mcmc_mle_gap]
        for r in agg.itertuples()
    ]
    headers = ["param", "N", "w_N", "|MAP-MLE|", "|MAP-MLE|/sd", "|MCMC mean-MLE|"]
    slope = (
        f"slope of log mean|MAP-MLE| on log N over N = {wash.ns[0]}..{wash.ns[-1]} "
        f"({len(wash.ns)} sizes): {wash.slope:.3f}  (theory: -> -1)"
    )
    return format_table(headers, rows) + "\n" + slope


def risk_table(agg: pd.DataFrame) -> str:
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
    return format_table(headers, rows)


def coverage_table(agg: pd.DataFrame, prob: float) -> str:
    """How often the central posterior interval contains the true value."""
    rows = [
        [r.param, r.n, r.coverage_mcmc, r.coverage_exact_interval, r.coverage_theory]
        for r in agg.itertuples()
    ]
    headers = ["param", "N", f"{prob:.0%} ETI (MCMC)", "exact interval", "theory"]
    return format_table(headers, rows)
