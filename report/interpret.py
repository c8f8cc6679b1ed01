"""A short reading of a study's numbers, written from the numbers themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.families import FAMILIES
from study.aggregate import Washout
from study.calibration import measured_promise
from study.run import StudyResult


def _pct(v: float) -> str:
    return f"{100 * v:.3g}%"


def mse_crossovers(result: StudyResult, n_max: int = 10**6) -> dict[str, int | None]:
    """Per parameter: smallest N at which the MLE's exact MSE drops below the MAP's, or None up to ``n_max``.

    The exact risks over a grid of 400 N up to ``n_max``, their MSE only (computing the
    coverage too took 6 s on categorical_dirichlet).
    """
    config = result.config
    grid = np.unique(np.round(np.geomspace(1, n_max, 400)).astype(int))
    crossovers = {}
    for param, risks in FAMILIES[config.family].risks(grid, config.settings, prob=None).items():
        worse = np.nonzero(risks["map_mse"] > risks["mle_mse"])[0]
        crossovers[param] = int(grid[worse[0]]) if len(worse) else None
    return crossovers


def _promise(result: StudyResult) -> str:
    """Say the run's false-alarm bound, what was measured of it for this engine, and the run's warnings."""
    return (
        f"The chance of any false alarm in this run is at most {_pct(result.config.alpha)} by Bonferroni's "
        "bound. "
        + measured_promise(result.engine.name, result.config.family, result.config)
        + "".join(f" Warning: {w}." for w in result.warnings)
    )


def _agreement(result: StudyResult) -> str:
    """One engine's verdict in a sentence, by what it promises."""
    rows, t = result.rows, result.thresholds
    sampler = result.engine
    bad, pooled_bad = int((~rows["agree"]).sum()), result.pooled_failures
    if bad or len(pooled_bad):
        first = rows.loc[~rows["agree"], "reason"].iloc[0] if bad else pooled_bad["reason"].iloc[0]
        against = "its exact optimum" if sampler.check == "target" else "the exact posterior"
        return (
            f"{sampler.name}: {bad} of {len(rows)} rows and {len(pooled_bad)} of {len(result.pooled)} pooled "
            f"tests DISAGREE with {against} (first reason: {first}); see the list below."
        )
    if sampler.check == "sampler":
        pooled = result.pooled.set_index("test")
        shift = float(pooled.loc[["mean"], "detectable"].max())
        sd_err = float(pooled.loc[["sd"], "detectable"].max())
        return (
            f"{sampler.name}: all {len(rows)} rows and {len(result.pooled)} pooled tests agree. "
            "It reproduces "
            f"the exact posterior mean and sd within their Monte Carlo error (largest |z| = "
            f"{rows['z_mean'].abs().max():.2f} and {rows['z_sd'].abs().max():.2f}, limit {t.z_crit:.2f}), "
            f"the exact mode within the half-sample mode's own noise and the exact distribution (smallest "
            f"KS p = {rows['ks_pvalue'].min():.2g}). Pooled over the replications, a mean shift of "
            f"{shift:.2g} posterior sd or an sd error of {100 * sd_err:.2g}% would have been caught with "
            f"probability 90% at every N. " + _promise(result)
        )
    if sampler.check == "target":
        largest = [f"{rows[f'z_{s}'].abs().max():.2f} for the {s}" for s in ("mean", "sd")]
        if "z_corr" in rows and rows["z_corr"].notna().any():  # a full-rank approximation's correlations
            largest.append(f"{rows['z_corr'].abs().max():.2f} for the correlations")
        return (
            f"{sampler.name} (an approximation: {sampler.promise}): all {len(rows)} rows and "
            f"{len(result.pooled)} pooled tests agree with its exact optimum (largest |z| = "
            f"{', '.join(largest[:-1])} and {largest[-1]}, limit {t.z_crit:.2f}). The optimum itself, the "
            f"method's gap to the exact posterior: mean within {rows['gap_mean_sd'].abs().max():.3f} sd, sd "
            f"ratio {rows['gap_sd_ratio'].min():.3f} to {rows['gap_sd_ratio'].max():.3f}. " + _promise(result)
        )
    if sampler.check == "close":
        return (
            f"{sampler.name} (an approximation; {sampler.promise}): mean within "
            f"{rows['mean_error_sd'].abs().max():.3f} sd of the exact one, sd ratio "
            f"{rows['sd_ratio'].min():.3f} to {rows['sd_ratio'].max():.3f}; inside its bounds."
        )
    return (
        f"{sampler.name} ({sampler.promise}): within {rows['mode_error_sd'].abs().max():.2g} sd of the "
        "exact MAP in every row."
    )


def _fastest(results: list[StudyResult]) -> str:
    """Which agreeing asymptotically exact engine gives the most effective draws per second."""
    rate = {
        r.config.sampler: float(r.rows["ess_per_s"].min())
        for r in results
        if r.engine.exact and r.agrees and not r.engine.needs_problem
    }
    if len(rate) < 2:
        return ""
    ranked = sorted(rate, key=rate.get, reverse=True)
    best, second = ranked[0], ranked[1]
    return (
        f"Cost: among the engines that agree, {best} gives the most effective draws per second "
        f"(worst data set {rate[best]:.3g} ESS/s, compilation included), {rate[best] / rate[second]:.1f}x "
        f"the next, {second}."
    )


def _fade(slope: float) -> str:
    """How fast the prior's pull fades, against theory."""
    if not np.isfinite(slope):
        return "The MAP equals the MLE on the whole grid of N: the prior does not pull here."
    text = f"The gap falls like N^{slope:.2f}"
    if slope < -1.25:
        text += (
            " (theory N^-3/2 here: the prior's pull already points at the truth, so what is left of it "
            "is the weight, ~1/N, times the data's noise, ~N^-1/2)"
        )
    else:
        text += " (theory N^-1 for large N)"
    return (
        text + ": the data wash the prior out, and faster than the posterior narrows (sd ~ N^-1/2), "
        "so the gap in sd units shrinks too."
    )


def _noted(rows: pd.DataFrame, column: str) -> str:
    """Count the data sets with a note in ``column``, per parameter, N and note ('' when none)."""
    if column not in rows:
        return ""
    noted = rows[rows[column].fillna("").astype(str) != ""]
    if noted.empty:
        return ""
    total = rows.groupby(["param", "n"]).size()
    return "; ".join(
        f"{param}, N = {n}: {count} of {total[param, n]} data sets ({note})"
        for (param, n, note), count in noted.groupby(["param", "n", column], sort=False).size().items()
    )


def _boundary(rows: pd.DataFrame) -> str:
    """Where the MLE sat on a boundary or was not unique, counted per parameter, N and reason."""
    parts = _noted(rows, "mle_note")
    if not parts:
        return ""
    return (
        "MLE on a boundary or not unique: " + parts + ". The MLE keeps the stated value in "
        "every table (see mle_note in summary.csv); the posterior, held by the prior, is proper, and "
        "the MAP is unique."
    )


def _map_boundary(rows: pd.DataFrame) -> str:
    """Where the MAP sat on a boundary (a prior shape below 1), and what the mode test compared."""
    parts = _noted(rows, "map_note")
    if not parts:
        return ""
    return (
        "MAP on a boundary: " + parts + ". There the posterior density is unbounded, the MAP "
        "is the boundary value (see map_note in summary.csv), and the mode test compares the draws' "
        "half-sample mode with that boundary value, within the spread it has on exact draws."
    )


def interpret(results: list[StudyResult], agg: pd.DataFrame, wash: dict[str, Washout]) -> str:
    """Plain-language paragraphs: the verdict, the prior's fade, MSE of MAP vs MLE, coverage."""
    result = results[0]
    out = [f"Verdict. {_agreement(r)}" if i == 0 else _agreement(r) for i, r in enumerate(results)]
    fastest = _fastest(results)
    if fastest:
        out.append(fastest)
    crossovers = mse_crossovers(result)
    for param, g in agg.groupby("param", sort=False):
        first, last = g.iloc[0], g.iloc[-1]
        out.append(
            f"Prior's pull on {param}: at N = {first.n} the prior holds {_pct(first.prior_weight)} of the "
            f"weight and the MAP sits on average {first.map_mle_gap:.3g} from the MLE "
            f"({first.map_mle_gap_sd:.2g} posterior sd); at N = {last.n} the weight is "
            f"{_pct(last.prior_weight)} and the gap {last.map_mle_gap:.2g} ({last.map_mle_gap_sd:.2g} sd). "
            f"{_fade(wash[param].slope)}"
        )
        if first.mean_map_gap_sd > 1e-6:
            trend = (
                "smaller as the posterior turns Normal"
                if last.mean_map_gap_sd < 0.9 * first.mean_map_gap_sd
                else "not yet smaller: at this N the posterior is still skewed"
            )
            out.append(
                f"Mean and mode of {param} part ways: the posterior is skewed, and at N = {first.n} its mean "
                f"sits on average {first.mean_map_gap_sd:.2g} posterior sd from its mode (the MAP); at "
                f"N = {last.n}, {last.mean_map_gap_sd:.2g} sd, {trend}. A sampler's mean is tested "
                "against the exact mean and its half-sample mode against the exact MAP."
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
        cross = crossovers[param]
        if cross is None:
            when = "at every N up to a million"
        elif cross <= 1:
            when = "at no N: its bias always costs more than the variance it saves"
        else:
            when = f"only below N = {cross}; beyond it the bias costs more than the variance saved"
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
    for boundary in (_boundary(result.rows), _map_boundary(result.rows)):
        if boundary:
            out.append(boundary)
    return "\n\n".join(out)
