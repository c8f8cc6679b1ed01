"""What a sampler author's CI gets from check_engine at a small alpha: power on a real defect, and reach.

Runs ``examples/check_in_pytest.py``'s configuration (N = 10 and 100, 5 data sets each,
2 x 500 draws after 500 tuning steps) at ``--alpha`` (1e-4, the docs' advice) over
``--seeds`` seeds:

* the missing Jacobian of ``examples/no_jacobian_nuts.py`` on binomial_beta: how often
  the check fails (its power), with a 95% Clopper-Pearson interval;
* PyMC's NUTS on normal_normal and poisson_gamma (the example's correct engine): how often
  it passes, and the smallest mean shift and sd error the pooled tests would catch with
  probability 90% at this alpha (the largest over families and N, from the run itself).

    .venv/bin/python benchmarks/author_ci.py --seeds 20      # about 5 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.no_jacobian_nuts import no_jacobian_nuts  # noqa: E402
from study.api import check_engine  # noqa: E402

SMALL = dict(ns=(10, 100), reps=5, draws=500, tune=500, chains=2)


def rate(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{k}/{n} ({100 * k / n:.0f}%, 95% CI {100 * ci.low:.0f}%-{100 * ci.high:.0f}%)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alpha", type=float, default=1e-4)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--first-seed", type=int, default=700_000)
    args = p.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    caught, passed, shift, sd_error = 0, 0, [], []
    for seed in seeds:
        broken = check_engine(
            no_jacobian_nuts, families="binomial_beta", seed=seed, alpha=args.alpha, **SMALL
        )
        caught += not broken.agrees
        good = check_engine("nuts", families=["normal_normal", "poisson_gamma"], seed=seed, alpha=args.alpha,
                            **SMALL)  # fmt: skip
        passed += good.agrees
        pooled = good.pooled.groupby("test")["detectable"].max()
        shift.append(pooled["mean"])
        sd_error.append(pooled["sd"])
        state = f"missing Jacobian {'caught' if not broken.agrees else 'MISSED'}; "
        state += f"NUTS {'agrees' if good.agrees else 'DISAGREES'}"
        print(f"seed {seed}: {state}", file=sys.stderr, flush=True)
    print(f"check_engine at alpha {args.alpha:g}, {SMALL}, seeds {seeds[0]}..{seeds[-1]}:")
    jacobian = rate(caught, len(seeds))
    print(f"  missing Jacobian (examples/no_jacobian_nuts.py) on binomial_beta caught: {jacobian}")
    print(f"  PyMC's NUTS on normal_normal and poisson_gamma agrees: {rate(passed, len(seeds))}")
    print(
        f"  a pass rules out (90% power, worst family and N, median over seeds): a mean shift above "
        f"{np.median(shift):.2g} posterior sd, an sd error above {100 * np.median(sd_error):.2g}%"
    )


if __name__ == "__main__":
    main()
