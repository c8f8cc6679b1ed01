"""SBC's verdict: the rank tests, the closed-form checks, coverage and contraction, judged over the run.

``judge(results, alpha)`` is what ``compare.py sbc`` reports: every test of the run in one
table (rank tests of every engine, judged for the asymptotically exact ones; per family and
N the exact PIT's uniformity and the law of total variance, the closed forms' own checks;
coverage, reported), with the run's ``alpha`` shared by Bonferroni over the judged ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from arviz_stats.base import array_stats
from scipy import stats

from models.families import FAMILIES, Family
from study import seeds
from study.sbc import COVERAGE_LEVELS, SbcResult

TEST_COLUMNS = [
    "model", "sampler", "n", "quantity", "test", "statistic", "pvalue", "judged", "alpha", "agree",
]  # fmt: skip


@dataclass
class SbcVerdict:
    """A judged SBC run: its results, every test with its share of alpha, variance and contraction."""

    results: list[SbcResult]
    tests: pd.DataFrame
    variance: pd.DataFrame
    contraction: pd.DataFrame
    alpha: float

    @property
    def judged(self) -> int:
        """How many tests share the run's alpha."""
        return int(self.tests["judged"].sum()) if len(self.tests) else 0

    @property
    def each(self) -> float:
        """The false-alarm probability of each judged test (Bonferroni)."""
        return self.alpha / max(self.judged, 1)

    @property
    def disagreements(self) -> pd.DataFrame:
        """Judged tests that fail."""
        return self.tests[self.tests["agree"].eq(False)]


def judge(results: list[SbcResult], alpha: float) -> SbcVerdict:
    """Judge every test of the run (Bonferroni over the judged ones)."""
    if not results:
        return SbcVerdict(results, pd.DataFrame(columns=TEST_COLUMNS), pd.DataFrame(), pd.DataFrame(), alpha)
    variance = variance_table(results)
    tests = judge_ranks(tests_table(results, variance), alpha)
    shrink = pd.concat([contraction(r) for r in results], ignore_index=True)
    return SbcVerdict(results, tests, variance, shrink, alpha)


def normal_scores(pit: np.ndarray) -> np.ndarray:
    """Return the standard Normal quantiles of the PIT values: iid N(0, 1) when the ranks are uniform."""
    return stats.norm.ppf(np.clip(pit, 1e-300, 1 - 1e-16))


def uniformity_pvalue(pit: np.ndarray) -> float:
    """ArviZ's uniformity test (``pot_c``: Beta order-statistic tests, Cauchy-combined) of PIT values."""
    return float(array_stats.uniformity_test(np.asarray(pit, dtype=float), axis=-1)[0])


def rank_tests(pit: np.ndarray) -> list[tuple[str, float, float]]:
    """``(test, statistic, p-value)``: uniformity, and the normal scores' mean and variance."""
    z = normal_scores(np.asarray(pit, dtype=float))
    r = len(z)
    mean_z = float(np.sqrt(r) * z.mean())
    chi2 = float((r - 1) * z.var(ddof=1))
    p_var = 2 * min(stats.chi2.cdf(chi2, r - 1), stats.chi2.sf(chi2, r - 1))
    return [
        ("uniformity", float("nan"), uniformity_pvalue(pit)),
        ("normal_mean", mean_z, float(2 * stats.norm.sf(abs(mean_z)))),
        ("normal_var", chi2 / (r - 1), float(min(1.0, p_var))),
    ]


def total_variance(rows: pd.DataFrame, prior_var: float) -> dict[str, float]:
    """Check the law of total variance over the simulations of one (N, parameter).

    ``E[var(theta | y)] + var(E[theta | y]) = var(theta)``: per simulation
    ``d = v + R / (R - 1) ((m - mean m)^2 - (theta - mean theta)^2)`` has expectation 0, where
    ``v`` and ``m`` are the posterior variance and mean; its mean over the ``R``
    simulations, over its standard error, is a z score. Computed with the exact
    posterior (a test of the closed forms and the simulator) and with the sampled one
    (reported with its error). ``prior_var`` is the closed-form prior variance, for scale.
    """
    r = len(rows)
    theta = rows["true_value"].to_numpy()
    out: dict[str, float] = {"prior_var": prior_var, "truth_var": float(np.var(theta, ddof=1))}
    for tag, m_col, s_col in (
        ("exact", "post_mean_exact", "post_sd_exact"),
        ("sampled", "post_mean", "post_sd"),
    ):
        m, v = rows[m_col].to_numpy(), rows[s_col].to_numpy() ** 2
        d = v + r / (r - 1) * ((m - m.mean()) ** 2 - (theta - theta.mean()) ** 2)
        out[f"mean_post_var_{tag}"] = float(v.mean())
        out[f"var_post_mean_{tag}"] = float(np.var(m, ddof=1))
        out[f"z_{tag}"] = float(d.mean() / (d.std(ddof=1) / np.sqrt(r)))
    return out


def prior_moments(family: Family, settings: Any) -> dict[str, tuple[float, bool]]:
    """Per scalar component: the closed-form prior variance, and whether its fourth moment is finite.

    The total-variance z test needs a finite fourth moment (the variance of ``d``); an
    Inverse-Gamma prior of shape 4 or less has none, and its test is not run.
    """
    x = family.simulate(seeds.rng(seeds.PRIOR_PROBE_SEED, "prior_probe"), n=1, reps=1, settings=settings)[0]
    out = {}
    for label, parts in family.densities(x, settings).items():
        prior = parts["prior"]
        fourth = prior.moment(4)
        out[label] = (float(prior.var()), bool(np.isfinite(fourth)))
    return out


def variance_table(results: list[SbcResult]) -> pd.DataFrame:
    """Tabulate the law of total variance per (model, sampler, n, param), exact and sampled."""
    out = []
    for res in results:
        moments = prior_moments(FAMILIES[res.config.family], res.config.settings)
        params = res.rows[res.rows["kind"] == "param"]
        for (n, param), g in params.groupby(["n", "param"], sort=False):
            prior_var, fourth = moments[param]
            row = {"model": res.config.family, "sampler": res.engine.name, "n": n, "param": param}
            out.append(row | total_variance(g, prior_var) | {"fourth_moment_finite": fourth})
    return pd.DataFrame(out)


def tests_table(results: list[SbcResult], variance: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every test of the run: one row per (model, sampler, n, quantity, test), p-values before the correction.

    Rank tests for every engine (judged for the asymptotically exact ones); per family
    and N, once for the closed forms (``sampler = "closed_forms"``), the uniformity of the
    exact PIT and the law of total variance; coverage of central intervals for every
    engine (reported, not judged). ``judged`` marks the tests that share the run's alpha.
    ``variance`` is the run's ``variance_table`` (computed here when not given).
    """
    variance = variance_table(results) if variance is None else variance
    by_key = variance.set_index(["model", "sampler", "n", "param"]) if len(variance) else None
    out = []
    closed_done = set()
    for res in results:
        for (n, param), g in res.rows.groupby(["n", "param"], sort=False):
            base = {"model": res.config.family, "sampler": res.engine.name, "n": n, "quantity": param}
            for test, stat, p in rank_tests(g["pit"].to_numpy()):
                out.append({**base, "test": test, "statistic": stat, "pvalue": p, "judged": res.judged})
            u = g["pit"].to_numpy()
            for level in COVERAGE_LEVELS:
                covered = int(np.sum(np.abs(u - 0.5) <= level / 2))
                p = stats.binomtest(covered, len(u), level).pvalue
                out.append({**base, "test": f"coverage_{round(100 * level)}", "statistic": covered / len(u),
                            "pvalue": float(p), "judged": False})  # fmt: skip
            if g["kind"].iloc[0] != "param":
                continue
            tv = by_key.loc[(res.config.family, res.engine.name, n, param)]
            fourth = bool(tv["fourth_moment_finite"])
            out.append({**base, "test": "total_variance_sampled", "statistic": tv["z_sampled"],
                        "pvalue": float(2 * stats.norm.sf(abs(tv["z_sampled"]))) if fourth else np.nan,
                        "judged": False})  # fmt: skip
            if (res.config.family, n, param) in closed_done:
                continue
            closed_done.add((res.config.family, n, param))
            closed = {**base, "sampler": "closed_forms"}
            out.append({**closed, "test": "pit_exact_uniformity", "statistic": float("nan"),
                        "pvalue": uniformity_pvalue(g["pit_exact"].to_numpy()), "judged": True})  # fmt: skip
            out.append({**closed, "test": "total_variance", "statistic": tv["z_exact"],
                        "pvalue": float(2 * stats.norm.sf(abs(tv["z_exact"]))) if fourth else np.nan,
                        "judged": fourth})  # fmt: skip
    return pd.DataFrame(out)


def judge_ranks(tests: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Bonferroni over the judged tests: each at ``alpha / m``; ``agree`` is empty for reported-only rows."""
    tests = tests.copy()
    each = alpha / max(int(tests["judged"].sum()), 1)
    tests["alpha"] = np.where(tests["judged"], each, np.nan)
    agree = tests["pvalue"] >= each
    tests["agree"] = pd.array(np.where(tests["judged"], agree, pd.NA), dtype="boolean")
    return tests


def contraction(result: SbcResult) -> pd.DataFrame:
    """Posterior contraction per (N, parameter): mean posterior sd over prior sd, sampled and exact."""
    family = FAMILIES[result.config.family]
    moments = prior_moments(family, result.config.settings)
    params = result.rows[result.rows["kind"] == "param"]
    out = []
    for (n, param), g in params.groupby(["n", "param"], sort=False):
        prior_sd = np.sqrt(moments[param][0])
        out.append({"model": result.config.family, "sampler": result.engine.name, "n": n, "param": param,
                    "prior_sd": prior_sd, "sd_ratio": g["post_sd"].mean() / prior_sd,
                    "sd_ratio_exact": g["post_sd_exact"].mean() / prior_sd})  # fmt: skip
    return pd.DataFrame(out)
