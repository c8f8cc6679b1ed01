"""Measure the verdict's false-alarm rates on correct engines: per test and per run.

Runs the study (``study.run.run_study``, the very verdict code of ``compare.py``) for
many seeds with a correct engine (``exact``: iid draws from the closed forms; ``nuts``:
PyMC's NUTS) and reports, with 95% Clopper-Pearson intervals:

* per test, over all null rows (or pooled groups): the share of p-values below 5% and 1%,
  which must lie inside the 99% binomial interval of the nominal rate (printed beside);
* per run: the share of runs with any disagreement, which must be at most ``--alpha``;
* the diagnostic floors' null rate (R-hat above its derived limit, ESS below the floor).

Usage (each line prints its table and appends its raw rows to ``--csv``)::

    python benchmarks/calibration.py --sampler exact --model normal_normal --runs 2000
    python benchmarks/calibration.py --sampler nuts --model normal_normal --runs 200
    python benchmarks/calibration.py --sampler nuts --model binomial_beta --runs 17

The study configuration is the default one (N = 10, 100, 1000; 20 replications; 4 x
1000 draws) unless ``--reps``, ``--draws``, ``--tune`` or ``--chains`` say otherwise.
Seeds are ``--first-seed`` onwards; a run's numbers depend on its seed only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from study.run import StudyConfig, run_study  # noqa: E402


def ci(k: int, n: int) -> str:
    c = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{100 * k / n:.2f}% [{100 * c.low:.2f}, {100 * c.high:.2f}]"


def nominal_interval(level: float, n: int) -> str:
    lo, hi = stats.binom.ppf([0.005, 0.995], n, level) / n
    return f"[{100 * lo:.2f}, {100 * hi:.2f}]"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sampler", default="exact")
    p.add_argument("--model", default="normal_normal")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--first-seed", type=int, default=10_000)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--csv", type=Path, default=None, help="append every row's statistics here")
    args = p.parse_args()

    rows, pooled, runs = [], [], []
    start = time.perf_counter()
    for i in range(args.runs):
        config = StudyConfig(
            family=args.model, sampler=args.sampler, seed=args.first_seed + i, reps=args.reps,
            draws=args.draws, tune=args.tune, chains=args.chains, alpha=args.alpha,
        )  # fmt: skip
        result = run_study(config, log=lambda m: None)
        r = result.rows.assign(seed=config.seed)
        t = result.thresholds
        r["p_mean"] = 2 * stats.norm.sf(r["z_mean"].abs())
        r["p_sd"] = 2 * stats.norm.sf(r["z_sd"].abs())
        r["rhat_fail"] = r["r_hat"] > r["r_hat_limit"]
        r["mode_fail"] = r["mode_error_sd"].abs() > r["mode_tol_sd"]
        rows.append(r)
        pooled.append(result.pooled.assign(seed=config.seed))
        reasons = "; ".join([*result.failures["reason"], *result.pooled_failures["reason"]])
        runs.append(
            {"seed": config.seed, "agree": result.agrees, "alpha_row": t.alpha_row, "reasons": reasons}
        )
        if (i + 1) % 10 == 0 or i + 1 == args.runs:
            bad = sum(not x["agree"] for x in runs)
            el = time.perf_counter() - start
            print(
                f"{i + 1}/{args.runs} runs, {bad} with a false alarm, {el:.0f} s", file=sys.stderr, flush=True
            )
    rows, pooled, runs = pd.concat(rows), pd.concat(pooled), pd.DataFrame(runs)
    if args.csv:
        rows.to_csv(args.csv, index=False, mode="a", header=not args.csv.exists())

    n = len(rows)
    print(f"\n{args.sampler} on {args.model}: {args.runs} runs (seeds {args.first_seed}..), {n} null rows, "
          f"{len(pooled)} pooled tests; {time.perf_counter() - start:.0f} s")  # fmt: skip
    print(f"{'test':<22}{'p < 5%':<26}{'99% interval':<18}{'p < 1%':<26}{'99% interval'}")
    for name, pv in (
        ("row mean z", rows["p_mean"]),
        ("row sd z", rows["p_sd"]),
        ("row KS", rows["ks_pvalue"]),
    ):
        print(f"{name:<22}{ci(int((pv < .05).sum()), n):<26}{nominal_interval(.05, n):<18}"
              f"{ci(int((pv < .01).sum()), n):<26}{nominal_interval(.01, n)}")  # fmt: skip
    for test, g in pooled.groupby("test"):
        m, pv = len(g), g["pvalue"]
        print(f"{'pooled ' + test:<22}{ci(int((pv < .05).sum()), m):<26}{nominal_interval(.05, m):<18}"
              f"{ci(int((pv < .01).sum()), m):<26}{nominal_interval(.01, m)}")  # fmt: skip
    print(
        f"z spread: mean z sd {rows['z_mean'].std():.3f}, sd z sd {rows['z_sd'].std():.3f}, "
        f"mean of sd z {rows['z_sd'].mean():+.3f}; KS thinning factor median {rows['ks_thin'].median():.0f}"
    )
    print(f"floors and mode at the run's own levels: R-hat above limit {ci(int(rows['rhat_fail'].sum()), n)}, "  # noqa: E501
          f"mode beyond tolerance {ci(int(rows['mode_fail'].sum()), n)}, "
          f"ESS below floor {ci(int((rows['ess_bulk'] < 100 * args.chains).sum()), n)}")  # fmt: skip
    bad = int((~runs["agree"]).sum())
    print(f"runs with any false alarm: {ci(bad, len(runs))} (stated: at most {100 * args.alpha:g}%)")
    for r in runs[~runs["agree"]].itertuples():
        print(f"  seed {r.seed}: {r.reasons[:200]}")


if __name__ == "__main__":
    main()
