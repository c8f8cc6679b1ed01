"""Measure the verdict's false-alarm rates on correct engines: per test and per run.

Runs the study (``study.run.run_study``, the very verdict code of ``compare.py``) for
many seeds with a correct engine (``exact``: iid draws from the closed forms; ``nuts``:
PyMC's NUTS) and reports, with 95% Clopper-Pearson intervals:

* per test, over all null rows (or pooled groups): the share of p-values below 5% and 1%,
  which must lie inside the 99% binomial interval of the nominal rate (printed beside);
* per run: the share of runs with any disagreement, which must be at most ``--alpha``;
* the diagnostic floors' null rate (R-hat above its derived limit; ESS below 100 per chain, a warning).

Every run is appended to ``--out`` (rows.csv, pooled.csv, runs.csv) as soon as it ends,
so a long measurement can be stopped and resumed (seeds already there are skipped) or
split into chunks with ``--first-seed``; ``--report`` prints the table of stored folders::

    python benchmarks/calibration.py --sampler exact --model normal_normal --runs 2000 --out cal/exact-nn
    python benchmarks/calibration.py --sampler nuts --model normal_normal --runs 200 --out cal/nuts-nn
    python benchmarks/calibration.py --report cal/nuts-nn
    python benchmarks/calibration.py --overview cal/*     # one line per engine and family

The study configuration is the default one (N = 10, 100, 1000; 20 replications; 4 x
1000 draws) unless ``--n``, ``--reps``, ``--draws``, ``--tune`` or ``--chains`` say otherwise.
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


def measure(args: argparse.Namespace) -> None:
    """Run the seeds not yet in ``--out`` and append each run's rows, pooled tests and verdict there."""
    args.out.mkdir(parents=True, exist_ok=True)
    files = {name: args.out / f"{name}.csv" for name in ("rows", "pooled", "runs")}
    done = set(pd.read_csv(files["runs"])["seed"]) if files["runs"].exists() else set()
    seeds = [s for s in range(args.first_seed, args.first_seed + args.runs) if s not in done]
    start = time.perf_counter()
    for i, seed in enumerate(seeds):
        config = StudyConfig(
            family=args.model, sampler=args.sampler, seed=seed, reps=args.reps, ns=tuple(args.n),
            draws=args.draws, tune=args.tune, chains=args.chains, alpha=args.alpha,
        )  # fmt: skip
        result = run_study(config, log=lambda m: None)
        t = result.thresholds
        r = result.rows.assign(seed=seed, chains=args.chains)
        r["p_mean"] = 2 * stats.norm.sf(r["z_mean"].abs())
        r["p_sd"] = 2 * stats.norm.sf(r["z_sd"].abs())
        r["rhat_fail"] = r["r_hat"] > r["r_hat_limit"]
        r["mode_fail"] = r["mode_error_sd"].abs() > r["mode_tol_sd"]
        reasons = "; ".join([*result.failures["reason"], *result.pooled_failures["reason"]])
        run = {"seed": seed, "model": args.model, "sampler": args.sampler, "agree": result.agrees,
               "alpha": args.alpha, "alpha_row": t.alpha_row, "reasons": reasons}  # fmt: skip
        # runs.csv last: a seed listed there has its rows and pooled tests written
        pooled = result.pooled.assign(seed=seed)
        for name, frame in (("rows", r), ("pooled", pooled), ("runs", pd.DataFrame([run]))):
            frame.to_csv(files[name], index=False, mode="a", header=not files[name].exists())
        el = time.perf_counter() - start
        print(f"{len(done) + i + 1}/{len(done) + len(seeds)} runs, {el:.0f} s", file=sys.stderr, flush=True)


def load(folders: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read the rows, pooled tests and runs stored in ``folders``, each seed once."""
    read = lambda name: pd.concat(  # noqa: E731
        [pd.read_csv(f / f"{name}.csv", low_memory=False) for f in folders], ignore_index=True
    )
    rows, pooled, runs = read("rows"), read("pooled"), read("runs")
    runs = runs.drop_duplicates("seed")
    keep = set(runs["seed"])
    rows = rows[rows["seed"].isin(keep)].drop_duplicates(["seed", "n", "rep", "param"])
    pooled = pooled[pooled["seed"].isin(keep)].drop_duplicates(["seed", "n", "param", "test"])
    return rows, pooled, runs


def overview(folders: list[Path]) -> None:
    """One line per folder: the rate of p < 5% and p < 1% of every test ('*' outside its 99% interval)."""
    tests = ["row mean", "row sd", "row KS", "pooled mean", "pooled sd", "pooled pit"]
    print(f"{'engine':<7}{'family':<31}{'runs':>5}{'rows':>7}  " + "".join(f"{t:<15}" for t in tests)
          + "runs with a false alarm")  # fmt: skip
    for folder in folders:
        rows, pooled, runs = load([folder])
        pvalues = [rows["p_mean"], rows["p_sd"], rows["ks_pvalue"]]
        pvalues += [pooled.loc[pooled["test"] == t, "pvalue"] for t in ("mean", "sd", "pit")]
        cells = []
        for pv in pvalues:
            parts = []
            for level in (0.05, 0.01):
                k, m = int((pv < level).sum()), len(pv)
                lo, hi = stats.binom.ppf([0.005, 0.995], m, level)
                parts.append(f"{100 * k / m:.1f}{'' if lo <= k <= hi else '*'}")
            cells.append(" / ".join(parts))
        bad = int((~runs["agree"]).sum())
        print(f"{runs['sampler'].iloc[0]:<7}{runs['model'].iloc[0]:<31}{len(runs):>5}{len(rows):>7}  "
              + "".join(f"{c:<15}" for c in cells) + f"{bad} of {len(runs)}")  # fmt: skip


def report(folders: list[Path]) -> None:
    """Print the false-alarm table of every run stored in ``folders`` (one sampler and model)."""
    rows, pooled, runs = load(folders)
    n = len(rows)
    first, last = runs["seed"].min(), runs["seed"].max()
    print(f"{runs['sampler'].iloc[0]} on {runs['model'].iloc[0]}: {len(runs)} runs (seeds {first}..{last}), "
          f"{n} null rows, {len(pooled)} pooled tests")  # fmt: skip
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
    ess_low = int((rows["ess_bulk"] < 100 * rows["chains"]).sum())
    rhat, mode = int(rows["rhat_fail"].sum()), int(rows["mode_fail"].sum())
    print(f"floors and mode at the run's own levels: R-hat above limit {ci(rhat, n)}, "
          f"mode beyond tolerance {ci(mode, n)}, ESS below floor {ci(ess_low, n)}")  # fmt: skip
    bad = int((~runs["agree"]).sum())
    stated = 100 * runs["alpha"].iloc[0]
    print(f"runs with any false alarm: {ci(bad, len(runs))} (stated: at most {stated:g}%)")
    for r in runs[~runs["agree"]].itertuples():
        print(f"  seed {r.seed}: {str(r.reasons)[:200]}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sampler", default="exact")
    p.add_argument("--model", default="normal_normal")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--first-seed", type=int, default=10_000)
    p.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000], help="sample sizes")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--out", type=Path, help="folder for rows.csv, pooled.csv and runs.csv")
    p.add_argument("--report", type=Path, nargs="*", default=None,
                   help="only print the table of these folders (default: --out after running)")  # fmt: skip
    p.add_argument("--overview", type=Path, nargs="+", default=None,
                   help="print a line of rates per folder (one engine and family), and exit")  # fmt: skip
    args = p.parse_args()
    if args.overview:
        overview(args.overview)
        return
    if args.report is None and args.out is None:
        p.error("--out (a folder to append to) or --report FOLDER ... is required")
    if args.report is None:
        measure(args)
    report(args.report or [args.out])


if __name__ == "__main__":
    main()
