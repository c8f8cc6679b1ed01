"""An approximation judged against its own exact optimum: the gap is the method's, the error the code's.

An approximation has two errors. The **gap** is how far the best member of its family
(``analytic.optimum``: the exact optimum, computed per data set in PyMC's unconstrained
space) is from the exact posterior: it belongs to the method, so it is reported
(``gap_mean_sd``: the optimum's mean minus the exact mean, in exact sds; ``gap_sd_ratio``:
the optimum's sd over the exact sd) and never failed. The **error** is how far the
engine's answer is from that optimum: the code's, or its settings', fault, judged like a
sampler's, by calibrated tests that share the run's alpha.

The engine returns iid draws from its fitted ``q``; if ``q`` is the optimum, their mean and
sd differ from the optimum's (mapped back to the constrained parameters by quadrature) by
Monte Carlo error alone, whose standard errors are ArviZ's MCSE formulas with the
optimum's sd and excess kurtosis (as ``checks.null_standard_errors`` does with the exact
posterior's). Per row, the mean and sd z against ``Thresholds.z_crit``; pooled per
(parameter, N) over the replications, the mean and sd errors summed, against
``Thresholds.z_crit_pooled``. An optimiser stopped early, a biased step, the wrong
space or the wrong curvature moves ``q`` off the optimum and fails.

A deterministic optimiser (pymc-extras' Laplace: Newton steps to a gradient tolerance)
ends within about 1e-5 posterior sd of its optimum (``tests/test_optimum.py``), far below
the draws' Monte Carlo error, so the draws' error is the whole tolerance. A stochastic
optimiser (ADVI) ends where its iterates wandered: the engine reports that error of its
draws' mean and sd (``models.engines.protocol.ERROR_GROUP``), and it is added to the draws'.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from analytic.optimum import TARGETS, constrained_moments, constrained_pairs
from models.engines.protocol import CORRELATION_ERRORS, ERROR_GROUP, element_key
from models.families import Family
from study import checks

ROW_TESTS = ("mean", "sd")
POOLED_TESTS = ("mean", "sd")
# The largest error of its own (of its draws' mean or sd, in optimum sds) a fit may report and be
# judged: above it the tests could not see an error of the size the default study resolves
# (checks.SHORT_SHIFT_SD, checks.SHORT_SD_ERROR). Converged, the tuned ADVIs report 0.001 to
# 0.025; full-rank ADVI stopped at 10,000 steps reported up to 0.94 on poisson_gamma at N =
# 1000, sds 2.6 times the optimum's, and its z stayed within the limit.
FIT_ERROR_FLOOR = 0.05
# Optima whose correlations between one data set's parameters are tested too: full-rank ADVI's,
# whose covariance is what it adds to mean-field. (Laplace's would be tested the same way; its
# false-alarm rate was measured without them.)
CORRELATED = ("fullrank_advi",)


def target_columns(
    family: Family, settings: Any, x: np.ndarray, target: str
) -> dict[str, dict[str, np.ndarray]]:
    """Return the optimum's mean, sd and excess kurtosis per scalar parameter, for each data set of ``x``.

    Returns ``{label: {"post_mean_target", "post_sd_target", "kurtosis_target": (reps,)}}``.
    """
    optimum = TARGETS[target]
    per_rep = []
    for one in x:
        post = family.unconstrained_posterior(one, settings)
        per_rep.append(constrained_moments(post, optimum(post)))
    out = {}
    for label, (variable, selection) in family.labels(settings).items():
        index = tuple(selection.values())
        columns = {}
        for k, name in enumerate(("post_mean_target", "post_sd_target", "kurtosis_target")):
            columns[name] = np.array([float(np.asarray(m[variable][k])[index]) for m in per_rep])
        out[label] = columns
    return out


def label_pairs(family: Family, settings: Any) -> list[tuple[str, str]]:
    """Every pair of one data set's scalar parameters, in label order (none for a one-parameter family)."""
    labels = list(family.labels(settings))
    return [(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :]]


def correlation_rows(
    idata: xr.DataTree, family: Family, settings: Any, datasets: Mapping[int, np.ndarray], target: str,
    rows: pd.DataFrame,
) -> pd.DataFrame:  # fmt: skip
    """Return one row per (pair of parameters, N, data set): the draws' correlation against the optimum's.

    The draws' standard error is the delta method's, ``sqrt(V / m)`` with the optimum's own
    fourth moments (``analytic.optimum.constrained_pairs``) and ``m`` the smaller of the two
    parameters' mean ESS; the fit's own (``CORRELATION_ERRORS`` in the engine's
    ``ERROR_GROUP``), where reported, is added in quadrature.
    """
    labels = family.labels(settings)
    elements = {label: (var, tuple(selection.values())) for label, (var, selection) in labels.items()}
    pairs = label_pairs(family, settings)
    group = idata[ERROR_GROUP].to_dataset() if ERROR_GROUP in idata.children else xr.Dataset()
    fit_errors = group.get(CORRELATION_ERRORS)
    ess = rows.set_index(["param", "n", "rep"])["ess_mean"]
    posterior = idata["posterior"]
    out = []
    for n, x in datasets.items():
        for rep, one in enumerate(x):
            post = family.unconstrained_posterior(one, settings)
            q = TARGETS[target](post)
            moments = constrained_pairs(post, q, [(elements[a], elements[b]) for a, b in pairs])
            for (a, b), (rho, factor) in zip(pairs, moments, strict=True):
                draws = [posterior[labels[p][0]].isel(labels[p][1]).sel(n=n, rep=rep).values.ravel()
                         for p in (a, b)]  # fmt: skip
                r = float(np.corrcoef(*draws)[0, 1])
                se = np.sqrt(factor / min(ess[(a, n, rep)], ess[(b, n, rep)]))
                if fit_errors is not None:
                    keys = {"element": element_key(*elements[a]), "element_with": element_key(*elements[b])}
                    se = np.hypot(se, float(fit_errors.sel(n=n, rep=rep, **keys)))
                out.append({"model": family.key, "n": n, "rep": rep, "param": a, "partner": b, "corr": r,
                            "corr_target": rho, "se_corr": se, "z_corr": (r - rho) / se})  # fmt: skip
    return pd.DataFrame(out)


def judge_correlations(rows: pd.DataFrame, pairs: pd.DataFrame, thresholds: checks.Thresholds) -> None:
    """Fail a row whose correlation with a later parameter is off its optimum; add ``z_corr``, the largest."""
    z_crit = thresholds.z_crit
    rows["z_corr"] = np.nan
    for r in pairs.itertuples():
        where = (rows["param"] == r.param) & (rows["n"] == r.n) & (rows["rep"] == r.rep)
        (i,) = rows.index[where]
        if not abs(rows.at[i, "z_corr"]) >= abs(r.z_corr):
            rows.at[i, "z_corr"] = r.z_corr
        if not abs(r.z_corr) <= z_crit:
            why = f"correlation with {r.partner} off its optimum by {r.z_corr:+.2f} se (limit {z_crit:.2f})"
            rows.at[i, "reason"] = "; ".join(filter(None, [rows.at[i, "reason"], why]))
            rows.at[i, "agree"] = False


def pooled_correlations(pairs: pd.DataFrame, sampler: str, thresholds: checks.Thresholds) -> pd.DataFrame:
    """Return one row per (pair, N): the correlations' errors summed over the data sets (pooled layout)."""
    return pd.DataFrame([
        _pooled({"model": g["model"].iloc[0], "sampler": sampler, "n": n, "param": f"{first} ~ {second}"},
                "corr", "correlation", (g["corr"] - g["corr_target"]).to_numpy(), g["se_corr"].to_numpy(),
                thresholds)
        for (first, second, n), g in pairs.groupby(["param", "partner", "n"], sort=False)
    ])  # fmt: skip


def judge_rows(rows: pd.DataFrame, thresholds: checks.Thresholds) -> tuple[np.ndarray, list[str]]:
    """Agree/disagree per row against the optimum, with a reason for each disagreement.

    Besides the two tests, a floor, as a sampler's ESS floor: a fit that reports an error of
    its own (``se_fit_mean``, ``se_fit_sd``) above ``FIT_ERROR_FLOOR`` optimum sds has not
    settled (its iterates still travelling when they were averaged), and a z within the
    limit then says nothing: it fails.
    """
    z_crit = thresholds.z_crit
    reasons = []
    worst_fit = np.maximum(*fit_errors(rows)) / rows["post_sd_target"].to_numpy(dtype=float)
    for worst, r in zip(worst_fit, rows.itertuples(), strict=True):
        why = []
        if worst > FIT_ERROR_FLOOR:
            why.append(f"fit not settled: its own error {worst:.3f} optimum sd (floor {FIT_ERROR_FLOOR})")
        if not abs(r.z_mean) <= z_crit:
            why.append(f"mean off its optimum by {r.z_mean:+.2f} MCSE (limit {z_crit:.2f})")
        if not abs(r.z_sd) <= z_crit:
            why.append(f"sd off its optimum by {r.z_sd:+.2f} MCSE (limit {z_crit:.2f})")
        reasons.append("; ".join(why))
    return np.array([not r for r in reasons], dtype=bool), reasons


def endpoint_columns(
    idata: xr.DataTree, family: Family, settings: Any, ns: Iterable[int]
) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """Return the fit's own standard errors per (param, N), from the engine's ``ERROR_GROUP`` group.

    ``{(param, n): {"se_fit_mean", "se_fit_sd": (reps,)}}``; an engine without that group
    (a deterministic optimiser) has none, and gets no entries.
    """
    if ERROR_GROUP not in idata.children:
        return {}
    group = idata[ERROR_GROUP]
    out = {}
    for param, (variable, selection) in family.labels(settings).items():
        errors = group[variable].isel(selection)
        for n in ns:
            one = errors.sel(n=n)
            out[(param, n)] = {f"se_fit_{s}": np.asarray(one.sel(statistic=s), float) for s in ("mean", "sd")}
    return out


def standard_errors(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the standard errors of the draws' mean and sd if the fit were the optimum.

    The draws' own (ArviZ's MCSE formulas with the optimum's sd and kurtosis) and, where the
    engine reports them (``se_fit_mean``, ``se_fit_sd``), the fit's own, added in quadrature.
    """
    sd, kurtosis = (rows[c].to_numpy(dtype=float) for c in ("post_sd_target", "kurtosis_target"))
    se_mean = sd / np.sqrt(rows["ess_mean"].to_numpy(dtype=float))
    se_sd = sd * np.sqrt((kurtosis + 2) / rows["ess_sd"].to_numpy(dtype=float)) / 2
    fit_mean, fit_sd = fit_errors(rows)
    return np.hypot(se_mean, fit_mean), np.hypot(se_sd, fit_sd)


def fit_errors(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the fit's own standard errors of the draws' mean and sd per row (0 where none reported)."""
    none = pd.Series(0.0, index=rows.index)
    return tuple(rows.get(f"se_fit_{s}", none).fillna(0).to_numpy(dtype=float) for s in ("mean", "sd"))


def pooled_tests(rows: pd.DataFrame, thresholds: checks.Thresholds) -> pd.DataFrame:
    """Return one row per (param, N, test): the pooled mean and sd errors against the optimum.

    The layout is the samplers' (``checks.pooled_tests``).
    """
    out = []
    for (param, n), g in rows.groupby(["param", "n"], sort=False):
        sd = g["post_sd_target"].to_numpy()
        errors = {
            "mean": ((g["post_mean"] - g["post_mean_target"]).to_numpy() / sd, g["se_mean"].to_numpy() / sd),
            "sd": (g["post_sd"].to_numpy() / sd - 1, g["se_sd"].to_numpy() / sd),
        }
        where = {"model": g["model"].iloc[0], "sampler": g["sampler"].iloc[0], "n": n, "param": param}
        out += [_pooled(where, test, test, err, se, thresholds) for test, (err, se) in errors.items()]
    return pd.DataFrame(out)


def _pooled(
    where: dict, test: str, what: str, err: np.ndarray, se: np.ndarray, thresholds: checks.Thresholds
) -> dict[str, object]:
    """One pooled test's row: the errors ``err`` summed over the data sets, in units of their ``se``."""
    z_crit, a = thresholds.z_crit_pooled, thresholds.alpha_pooled
    z = float(np.sum(err) / np.sqrt(np.sum(se**2)))
    p = float(2 * stats.norm.sf(abs(z)))
    detectable = (z_crit + stats.norm.isf(1 - checks.POWER)) * np.sqrt(np.sum(se**2)) / len(err)
    reason = "" if p >= a else f"pooled {what} off its optimum by {z:+.2f} se (limit {z_crit:.2f})"
    return {**where, "test": test, "statistic": z, "pvalue": p, "alpha": a, "agree": bool(p >= a),
            "reps": len(err), "values": len(err), "detectable": float(detectable),
            "reason": reason}  # fmt: skip


def attach(rows: pd.DataFrame, targets: Mapping[tuple[str, int], Mapping[str, np.ndarray]]) -> None:
    """Add the optimum's columns (``targets[(param, n)]``), the gap and the z scores against the optimum."""
    for (param, n), columns in targets.items():
        where = (rows["param"] == param) & (rows["n"] == n)
        for name, values in columns.items():
            rows.loc[where, name] = values
    exact_sd = rows["post_sd_exact"]
    rows["gap_mean_sd"] = (rows["post_mean_target"] - rows["post_mean_exact"]) / exact_sd
    rows["gap_sd_ratio"] = rows["post_sd_target"] / exact_sd
    rows["se_mean"], rows["se_sd"] = standard_errors(rows)
    rows["z_mean"] = (rows["post_mean"] - rows["post_mean_target"]) / rows["se_mean"]
    rows["z_sd"] = (rows["post_sd"] - rows["post_sd_target"]) / rows["se_sd"]
