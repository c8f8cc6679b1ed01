"""How ArviZ's MCSE-based z scores behave on iid draws: the figures behind the README's caveats.

Two simulations of iid draws, ``chains x draws`` per set, vectorised over ``--sets`` sets:

* Normal draws: ArviZ's ESS (method "mean") as a share of the number of draws, and the
  spread of the mean's z = mean / MCSE (the ``exact`` engine's row mean test is slightly
  conservative because that ESS averages a little below the number of draws);
* draws from normal_inverse_gamma's sigma2 posterior at N = 10 (an inverse gamma of
  shape ``a_N = 3 + 10 / 2 = 8``, whose eighth moment is infinite): the tails of the sd's
  z = (sd - exact sd) / MCSE(sd) beside the Normal's, at the 1% and 0.1% levels.

    .venv/bin/python benchmarks/estimator_tails.py            # about 2 minutes on 2 cores
"""

from __future__ import annotations

import argparse

import numpy as np
from arviz_stats.base import array_stats
from scipy import stats

BLOCK = 2000  # sets per vectorised block


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", type=int, default=20_000, help="simulated sets of draws (default 20000)")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.chains * args.draws
    blocks = max(1, args.sets // BLOCK)
    print(f"{blocks * BLOCK} sets of {args.chains} x {args.draws} iid draws each")
    for label, dist in (("Normal", stats.norm()), ("InverseGamma(8)", stats.invgamma(8.0))):
        ess, z_mean, z_sd = [], [], []
        for _ in range(blocks):
            x = dist.rvs(size=(BLOCK, args.chains, args.draws), random_state=rng)
            ess.append(array_stats.ess(x, method="mean", chain_axis=1, draw_axis=2) / n)
            mcse_mean = array_stats.mcse(x, chain_axis=1, draw_axis=2)
            z_mean.append((x.mean(axis=(1, 2)) - dist.mean()) / mcse_mean)
            sd = x.reshape(BLOCK, -1).std(axis=1, ddof=1)
            z_sd.append((sd - dist.std()) / array_stats.mcse(x, method="sd", chain_axis=1, draw_axis=2))
        ess, z_mean, z_sd = (np.concatenate(v) for v in (ess, z_mean, z_sd))
        tails = ", ".join(
            f"|z| > {c}: {100 * np.mean(np.abs(z_sd) > c):.2f}% (nominal {100 * 2 * stats.norm.sf(c):.2g}%)"
            for c in (2.576, 3.29)
        )
        print(f"{label}: ESS / draws mean {ess.mean():.4f}; mean z sd {z_mean.std():.4f}; "
              f"sd z mean {z_sd.mean():+.3f}, sd {z_sd.std():.3f}; {tails}")  # fmt: skip


if __name__ == "__main__":
    main()
