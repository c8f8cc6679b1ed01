"""The verdict's false-alarm rate, measured: one line per run of a correct engine, and what they add up to.

``benchmarks/calibration.py`` runs the study (the very verdict code of ``compare.py``) with
correct engines over many seeds and appends one line per run to ``false_alarms.csv`` beside
this module: for each kind of test, how many it made and how many had p below 5% and 1%,
and whether the run raised any false alarm at its alpha. The lines of the current
``VERDICT`` are the measurement; ``summary`` adds them up per (engine, family,
configuration) and ``measured_promise`` tells the reading of a study what was measured for
its engine, family and configuration, or that nothing was.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from study.lazy_jax import jax_left_unloaded

MEASURED = Path(__file__).with_name("false_alarms.csv")
# Lines measured with another version of the verdict are kept but not counted, except those
# an earlier verdict's change left alone (``CARRIED``).
VERDICT = "heavy tails on normal scores (2026-12)"
# Earlier verdict -> the families whose samplers' numbers the later changes moved. The heavy-tail
# rule (``checks.score_heavy_tails``) fires at the measured configurations only on
# normal_inverse_gamma's sigma2 at N = 10 (tests/test_checks.py), and only in the samplers'
# verdict: an approximation judged against its optimum (no row KS test) is untouched.
CARRIED = {"exact-moment standard errors (2026-12)": ("normal_inverse_gamma",)}
# (column prefix, label): the per-row and pooled tests whose p-values are counted.
TESTS = (
    ("row_mean", "row mean"),
    ("row_sd", "row sd"),
    ("row_ks", "row KS"),
    ("pooled_mean", "pooled mean"),
    ("pooled_sd", "pooled sd"),
    ("pooled_pit", "pooled PIT"),
)
LEVELS = (0.05, 0.01)


def configuration(config) -> str:
    """Return a study configuration in words: the key under which its measurements are kept."""
    ns = ",".join(map(str, config.ns))
    return (
        f"N={ns} reps={config.reps} draws={config.draws} tune={config.tune} chains={config.chains} "
        f"alpha={config.study_alpha:g}"
    )


def run_record(result, *, seed: int) -> dict[str, object]:
    """One line for ``false_alarms.csv``: the run's verdict and its tests' p-values counted by level."""
    rows, pooled = result.rows, result.pooled
    pvalues = {
        "row_mean": 2 * stats.norm.sf(rows["z_mean"].abs()),
        "row_sd": 2 * stats.norm.sf(rows["z_sd"].abs()),
        "row_ks": rows["ks_pvalue"].to_numpy(),
    }
    for test in ("mean", "sd", "pit"):
        pvalues[f"pooled_{test}"] = pooled.loc[pooled["test"] == test, "pvalue"].to_numpy()
    reasons = [*result.failures["reason"], *result.pooled_failures["reason"]]
    record: dict[str, object] = {
        "verdict": VERDICT,
        "engine": result.config.sampler,
        "family": result.config.family,
        "configuration": configuration(result.config),
        "seed": seed,
        "false_alarm": not result.agrees,
        "reasons": "; ".join(reasons)[:300],
    }
    for name, p in pvalues.items():
        p = np.asarray(p, dtype=float)
        p = p[np.isfinite(p)]  # an approximation judged against its optimum makes no KS test
        record[f"{name}_tests"] = int(p.size)
        for level in LEVELS:
            record[f"{name}_p{_tag(level)}"] = int(np.sum(p < level))
    record["row_z_mean_sq"] = float(np.sum(rows["z_mean"] ** 2))
    record["row_z_sd_sq"] = float(np.sum(rows["z_sd"] ** 2))
    record["row_z_sd_sum"] = float(np.sum(rows["z_sd"]))
    record["rhat_above_limit"] = int(np.sum(rows["r_hat"] > rows["r_hat_limit"]))
    record["mode_beyond_tolerance"] = int(np.sum(rows["mode_error_sd"].abs() > rows["mode_tol_sd"]))
    return record


def _tag(level: float) -> str:
    return f"{round(100 * level):02d}"


def append(records: list[dict[str, object]], path: Path = MEASURED) -> None:
    """Append run lines to ``path`` (its header written once)."""
    frame = pd.DataFrame(records)
    frame.to_csv(path, mode="a", index=False, header=not path.exists())
    _read.cache_clear()


@functools.cache
def _read(path: Path, mtime: float) -> pd.DataFrame:
    return pd.read_csv(path)


def measured(path: Path = MEASURED) -> pd.DataFrame:
    """Every line the current ``VERDICT`` counts in ``path``, each (engine, family, configuration, seed) once.

    Its own lines, and those of an earlier verdict in ``CARRIED`` whose numbers it left alone;
    a run measured under both keeps its current line.
    """
    if not path.exists():
        return pd.DataFrame()
    frame = _read(path, path.stat().st_mtime)
    keep = frame["verdict"] == VERDICT
    for older, moved in CARRIED.items():
        untouched = ~frame["family"].isin(moved) | (frame["row_ks_tests"] == 0)
        keep |= (frame["verdict"] == older) & untouched
    frame = frame[keep].sort_values("verdict", key=lambda v: v == VERDICT, kind="stable")
    return frame.drop_duplicates(["engine", "family", "configuration", "seed"], keep="last")


def binomial_bound(runs: int, level: float, confidence: float = 0.99) -> int:
    """Return the most false-alarm runs of ``runs`` a true rate of ``level`` allows at ``confidence``."""
    return int(stats.binom.ppf(confidence, runs, level))


def interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a rate of ``k`` in ``n``.

    SciPy's ``binomtest`` asks of its arrays whether they are JAX arrays, which would load
    the whole of JAX into every study's run only to print this interval (``study.lazy_jax``).
    """
    with jax_left_unloaded():
        ci = stats.binomtest(k, n).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (engine, family, configuration): runs, false-alarm runs and each test's rates.

    ``<test>_p05`` and ``<test>_p01`` are the shares of p-values below 5% and 1%; ``<test>_ok``
    says whether both lie inside the 99% binomial interval of their nominal rate. ``within``
    says whether the false-alarm runs are at most what a true rate of alpha allows (99%).
    """
    out = []
    for (engine, family, conf), g in frame.groupby(["engine", "family", "configuration"], sort=False):
        alpha = float(conf.rsplit("alpha=", 1)[1])
        runs, alarms = len(g), int(g["false_alarm"].sum())
        row = {"engine": engine, "family": family, "configuration": conf, "runs": runs,
               "false_alarms": alarms, "alpha": alpha, "bound": binomial_bound(runs, alpha)}  # fmt: skip
        row["within"] = alarms <= row["bound"]
        for name, _ in TESTS:
            tests = int(g[f"{name}_tests"].sum())
            row[f"{name}_tests"] = tests
            ok = True
            for level in LEVELS:
                k = int(g[f"{name}_p{_tag(level)}"].sum())
                row[f"{name}_p{_tag(level)}"] = k / tests if tests else np.nan
                lo, hi = stats.binom.ppf([0.005, 0.995], tests, level)
                ok &= bool(lo <= k <= hi)
            row[f"{name}_ok"] = ok
        rows = int(g["row_mean_tests"].sum())
        row["z_mean_sd"] = float(np.sqrt(g["row_z_mean_sq"].sum() / rows))
        row["z_sd_sd"] = float(np.sqrt(g["row_z_sd_sq"].sum() / rows))
        row["z_sd_mean"] = float(g["row_z_sd_sum"].sum() / rows)
        out.append(row)
    return pd.DataFrame(out)


def measured_promise(engine: str, family: str, config, *, path: Path = MEASURED) -> str:
    """Say what was measured of the false-alarm rate for this engine, family and configuration."""
    frame = measured(path)
    conf = configuration(config)
    if len(frame):
        frame = frame[(frame["engine"] == engine) & (frame["family"] == family)]
    here = frame[frame["configuration"] == conf] if len(frame) else frame
    if len(here):
        runs, alarms = len(here), int(here["false_alarm"].sum())
        lo, hi = interval(alarms, runs)
        rate = f"{100 * alarms / runs:.2g}%, 95% CI {100 * lo:.2g}%-{100 * hi:.2g}%"
        return (
            f"Measured for {engine} on {family} at this configuration: {alarms} of {runs} runs of correct "
            f"draws raised a false alarm ({rate}; docs/false_alarms.md)."
        )
    if len(frame):
        return (
            f"Not measured at this configuration: the rate was measured for {engine} on {family} at the "
            "default configuration only (docs/false_alarms.md); here the bound is Bonferroni's alone."
        )
    return (
        f"Not measured for {engine} on {family}: the bound is Bonferroni's alone, which holds only if the "
        "engine's Monte Carlo errors are what its effective sample size says (docs/false_alarms.md)."
    )
