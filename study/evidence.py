"""The evidence: an engine's estimate of log p(data) against the exact sum over the study's data sets.

A study's batched model holds every data set with its own parameter, so its evidence is the
product of theirs: ``log Z = sum over N and replications of log p(x)``, each from the
family's closed form (``Family.log_evidence``). Where the model observes a sufficient
statistic rather than the data (``Family.likelihood_offset``), the model's evidence differs
from the data's by that parameter-free term, subtracted here.

Two engines estimate it:

* SMC: ``log_marginal_likelihood`` of each chain (an independent run); the estimate is the
  chains' mean, its standard error their sd over ``sqrt(chains)``. Judged by a t test on
  ``chains - 1`` degrees of freedom: the error within its own spread.
* ADVI (mean-field and full-rank): the fitted ELBO from iid draws of q (``elbo_estimate``).
  ``ELBO = log Z - KL(q || posterior)``, so it must not lie above log Z beyond its Monte
  Carlo error (one-sided z test); its gap below is the KL, near zero where q's family
  contains the posterior.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from models.families import Family


def exact_log_evidence(family: Family, datasets: Mapping[int, np.ndarray], settings: Any) -> float:
    """Return the exact log evidence of the batched model of ``datasets``: the sum over every data set."""
    total = 0.0
    for x in datasets.values():
        log_z = family.log_evidence(x, settings)
        if family.likelihood_offset is not None:
            log_z = log_z - family.likelihood_offset(x, settings)
        total += float(np.sum(log_z))
    return total


def _stage_values(stages) -> np.ndarray:
    """One chain's per-stage log marginal likelihoods as floats, in order.

    PyMC stores them as numbers when every chain ran the same number of stages, and as an
    object array holding one array per chain when the chains ran different numbers.
    """
    out = []
    for v in np.ravel(np.asarray(stages, dtype=object)):
        if v is not None:
            out.extend(np.ravel(np.asarray(v, dtype=float)))
    return np.array(out, dtype=float)


def chain_log_evidences(idata: xr.DataTree) -> np.ndarray | None:
    """Each SMC chain's final log marginal likelihood in ``idata`` (the whole evidence), or None.

    With one chain, PyMC 6's ``sample_smc`` labels its stages' axis ``chain`` (a run of
    three stages has a "chain" dim of 3): then every value is that one chain's, stage by stage.
    """
    if "sample_stats" not in idata.children or "log_marginal_likelihood" not in idata["sample_stats"]:
        return None
    stats = idata["sample_stats"]["log_marginal_likelihood"]
    one_chain = "posterior" in idata.children and idata["posterior"].sizes.get("chain") == 1
    if one_chain or "chain" not in stats.dims:
        chains = [stats.values]
    else:
        chains = [stats.sel(chain=chain).values for chain in stats["chain"].values]
    per_chain = []
    for stages in chains:
        values = _stage_values(stages)
        values = values[np.isfinite(values)]
        per_chain.append(values[-1] if len(values) else np.nan)  # the last stage: the whole evidence
    return np.array(per_chain)


def engine_evidence(idata: xr.DataTree) -> dict[str, float] | None:
    """Return the engine's evidence estimate in ``idata``, or None if it reports none.

    ``{"kind": "smc_log_evidence" | "elbo", "estimate", "se", "spread"}``: for SMC the
    chains' final log marginal likelihoods (mean, standard error, sd); for ADVI the ELBO and
    its Monte Carlo standard error.
    """
    attrs = idata["posterior"].attrs if "posterior" in idata.children else {}
    if "elbo" in attrs:
        return {
            "kind": "elbo",
            "estimate": float(attrs["elbo"]),
            "se": float(attrs["elbo_mcse"]),
            "spread": np.nan,
        }
    per_chain = chain_log_evidences(idata)
    if per_chain is None:
        return None
    sd = float(np.std(per_chain, ddof=1)) if len(per_chain) > 1 else np.nan
    return {
        "kind": "smc_log_evidence",
        "estimate": float(np.mean(per_chain)),
        "se": sd / np.sqrt(len(per_chain)),
        "spread": sd,
        "chains": len(per_chain),
    }


def judge_evidence(estimate: Mapping[str, float], exact: float, level: float) -> dict[str, object]:
    """Judge an evidence estimate against the exact value at false-alarm probability ``level``.

    Returns the estimate with ``exact``, ``error`` (estimate - exact), ``score`` (error over
    its standard error), the critical value and ``agree``. An SMC estimate from one chain
    has no standard error: it is shown, not judged (``judged`` False, ``agree`` True).
    """
    error = estimate["estimate"] - exact
    out = {**estimate, "exact": exact, "error": error, "level": level}
    if estimate["kind"] == "elbo":
        crit = float(stats.norm.isf(level))  # one-sided: only an ELBO above log Z is wrong
        score = error / estimate["se"]
        out.update(score=score, crit=crit, agree=bool(score <= crit), gap=-error)
    elif (chains := int(estimate.get("chains", 2))) < 2:  # one chain: no spread, no standard error
        out.update(score=np.nan, crit=np.nan, agree=True, judged=False)
    else:
        crit = float(stats.t.isf(level / 2, chains - 1))
        score = error / estimate["se"] if estimate["se"] > 0 else np.inf * np.sign(error)
        out.update(score=score, crit=crit, agree=bool(np.isfinite(score) and abs(score) <= crit))
    return out
