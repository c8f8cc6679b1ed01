"""A short reading of a study's numbers, written from the numbers themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.families import FAMILIES
from study.aggregate import Washout
from study.run import StudyResult


def _pct(v: float) -> str:
    return f"{100 * v:.3g}%"


def mse_crossover(result: StudyResult, param: str, n_max: int = 10**6) -> int | None:
    """Smallest N at which the MLE's exact MSE drops below the MAP's, or None up to ``n_max``."""
    config = result.config
    grid = np.unique(np.round(np.geomspace(1, n_max, 400)).astype(int))
    risks = FAMILIES[config.family].risks(grid, config.settings, prob=config.prob)[param]
    worse = np.nonzero(risks["map_mse"] > risks["mle_mse"])[0]
    return int(grid[worse[0]]) if len(worse) else None


def interpret(result: StudyResult, agg: pd.DataFrame, wash: Washout) -> str:
    """Plain-language paragraphs: agreement, the prior's fade, MSE of MAP vs MLE, coverage."""
    rows, t = result.rows, result.thresholds
    out = []
    n_agree = int(rows["agree"].sum())
    if n_agree == len(rows):
        out.append(
            f"Agreement: all {len(rows)} rows agree. {result.config.sampler} reproduces the exact "
            f"posterior mean within its Monte Carlo error (largest |z| = {rows['z_mean'].abs().max():.2f}, "
            f"limit {t.z_crit:.2f}) and the exact mode within the half-sample mode's own noise; the "
            f"chance of any false alarm in this run is at most {_pct(t.alpha)}."
        )
    else:
        out.append(
            f"Agreement: {len(rows) - n_agree} of {len(rows)} rows DISAGREE with the exact posterior "
            f"(each test at false-alarm probability {t.alpha_per_test:.2g}); see the list below."
        )
    for param, g in agg.groupby("param", sort=False):
        first, last = g.iloc[0], g.iloc[-1]
        out.append(
            f"Prior's pull on {param}: at N = {first.n} the prior holds {_pct(first.prior_weight)} of the "
            f"weight and the MAP sits on average {first.map_mle_gap:.3g} from the MLE "
            f"({first.map_mle_gap_sd:.2g} posterior sd); at N = {last.n} the weight is "
            f"{_pct(last.prior_weight)} and the gap {last.map_mle_gap:.2g} ({last.map_mle_gap_sd:.2g} sd). "
            f"The gap falls like N^{wash.slope:.2f} (theory N^-1 for large N): the data wash the prior out, "
            f"and faster than the posterior narrows (sd ~ N^-1/2), so the gap in sd units shrinks too."
        )
        parts = []
        for r in g.itertuples():
            better = "MAP" if r.map_mse_exact < r.mle_mse_exact else "MLE"
            parts.append(
                f"N = {r.n}: {better} lower (exact MSE MAP {r.map_mse_exact:.3g} vs MLE "
                f"{r.mle_mse_exact:.3g}; measured {r.map_mse:.3g} vs {r.mle_mse:.3g})"
            )
        first_bias2 = first.map_bias_exact**2
        cut = 1 - first.map_var_exact / first.mle_var_exact
        cross = mse_crossover(result, param)
        when = (
            "at every N up to a million"
            if cross is None
            else f"only below N = {cross}; beyond it the bias costs more than the variance saved"
        )
        out.append(
            f"MSE of {param}: " + "; ".join(parts) + f". Shrinking toward the prior mean adds bias^2 "
            f"{first_bias2:.3g} at N = {first.n} but cuts the variance by {_pct(cut)}; with this prior the "
            f"MAP has the lower MSE {when}. Both MSEs fall like 1/N and their ratio tends to 1 "
            f"as w_N -> 0."
        )
        cov = ", ".join(f"{_pct(r.coverage_mcmc)} at N = {r.n}" for r in g.itertuples())
        theory = ", ".join(_pct(r.coverage_theory) for r in g.itertuples())
        reps = int(first.reps)
        se = np.sqrt(result.config.prob * (1 - result.config.prob) / reps)
        out.append(
            f"Coverage of {param}: the sampled {_pct(result.config.prob)} intervals contain the true value "
            f"{cov} (theory {theory}; with {reps} replications the binomial sd is about {_pct(se)})."
        )
    return "\n\n".join(out)
