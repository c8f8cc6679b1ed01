"""The gradients subcommand's checks, measured: their false-alarm rates, and the estimators' cost.

``calibration``: over ``--runs`` seeds, the gradient study of the test suite's configuration
(``study.gradients.checked_config``: normal_normal and multivariate_normal_known_cov, N = 10
and 100, 1 and 10 samples, 1000 repetitions); each seed simulates new data sets and draws
new estimates. Printed: per estimator, how often the mean's z test and the variance
interval of the judged rows reject at a nominal 5% each (no correction), and how many whole
runs raise any alarm at the run's alpha = 0.01 (Bonferroni over its checks).

``cost``: on normal_normal at N = 1000, per estimator and sample count, the median seconds
per gradient estimate over the five points, and variance x cost at q with its mean 1
posterior sd off (the lower, the more gradient information per second). The score
function and STL are NumPy formulas; the pathwise gradient is PyMC's compiled objective,
whose call overhead (about 80 microseconds) dominates at few samples: the comparison is
of these implementations, not of the estimators' arithmetic.

    .venv/bin/python benchmarks/gradients.py calibration --runs 40    # about 6 minutes
    .venv/bin/python benchmarks/gradients.py cost                     # about 1 minute
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from models.families import FAMILIES  # noqa: E402
from study import gradients as gr  # noqa: E402


def calibration(runs: int) -> None:
    """Rejection rates of the gradient checks under the null (every estimator is what it claims)."""
    z5 = stats.norm.isf(0.025)
    per_test = []
    alarms = 0
    start = time.perf_counter()
    for seed in range(runs):
        rows = gr.judge_gradients(gr.run_gradients(gr.checked_config(seed)), 0.01)
        alarms += int(not rows["agree"].all())
        judged = rows[rows["judged"] & ~rows["zero_variance"]].copy()
        lo, hi = [], []
        for v, m4, r in zip(judged["var_exact"], judged["mu4_exact"], judged["reps"], strict=True):
            a, b = gr.variance_interval(v, m4, int(r), 0.95)
            lo.append(a)
            hi.append(b)
        judged["z_reject"] = np.abs(judged["z_bias"]) > z5
        judged["var_reject"] = (judged["var"] < np.array(lo)) | (judged["var"] > np.array(hi))
        per_test.append(judged[["estimator", "samples", "z_reject", "var_reject"]])
        print(f"seed {seed}: {len(rows)} rows, alarm: {not rows['agree'].all()}", file=sys.stderr, flush=True)
    tests = pd.concat(per_test, ignore_index=True)
    table = tests.groupby(["estimator", "samples"]).agg(
        checks=("z_reject", "size"), z_rate=("z_reject", "mean"), var_rate=("var_reject", "mean")
    )
    print(f"calibration: {runs} runs in {time.perf_counter() - start:.0f} s; nominal 5% per check")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    n = len(tests)
    for name in ("z_reject", "var_reject"):
        rate = tests[name].mean()
        se = np.sqrt(0.05 * 0.95 / n)
        print(f"all {name}: {rate:.4f} over {n} checks (binomial se at 5%: {se:.4f})")
    lo, hi = stats.beta.ppf([0.025, 0.975], alarms + 0.5, runs - alarms + 0.5)
    print(f"whole runs with an alarm at alpha = 0.01: {alarms}/{runs} (Jeffreys 95% {lo:.3f} to {hi:.3f})")


def cost() -> None:
    """Median seconds per gradient and variance x cost per estimator, normal_normal at N = 1000."""
    config = gr.GradientConfig(
        families=("normal_normal",),
        settings={"normal_normal": FAMILIES["normal_normal"].settings()},
        ns=(1000,),
        samples=(1, 10, 100),
        reps=1000,
    )
    rows = gr.judge_gradients(gr.run_gradients(config), 0.01)
    m = rows[rows["param"] == "m[0]"]
    print("normal_normal N = 1000, gradient in m: median microseconds per estimate over the 5 points")
    print("and variance x seconds at q mean+1sd (lower: more information per second)")
    lines = []
    for (estimator, s), g in m.groupby(["estimator", "samples"]):
        off = g[g["point"] == "mean+1sd"].iloc[0]
        lines.append(
            {
                "estimator": estimator,
                "samples": s,
                "us_per_grad": 1e6 * statistics.median(g["seconds_per_grad"]),
                "var": off["var"],
                "var_x_cost": off["var"] * off["seconds_per_grad"],
            }
        )
    print(pd.DataFrame(lines).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def main() -> None:
    """Run the measurement named on the command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("calibration")
    c.add_argument("--runs", type=int, default=40)
    sub.add_parser("cost")
    args = p.parse_args()
    if args.what == "calibration":
        calibration(args.runs)
    else:
        cost()


if __name__ == "__main__":
    main()
