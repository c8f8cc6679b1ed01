"""Whether the PIT tests' thinned draws are as independent as their KS tests assume, for one engine.

Runs ``--runs`` default studies of ``--family`` with ``--engine`` and, for every row, takes the
PIT values the verdict tests (each row's draws thinned by its own ``ks_thin``, through the
exact posterior CDF). At each of nine quantiles u the empirical CDF's deviation is
standardised as the KS test's independence assumption has it, ``(F(u) - u) / sqrt(u (1 - u) / m)``
for m values, and its variance over all rows (the rows' test) and over all (run, parameter,
N) groups (the pooled test, all replications' values together) is printed: about 1 when the
values are independent, larger when they are not. A variance v above 1 makes a KS test's far
tail too eager, more so the farther the tail: the pooled PIT test runs at p near 0.0005.

Also printed: the share of distinct values among each row's kept draws (below 1 when an
engine's draws hold ties, as resampled particles can), the mean lag-1 autocorrelation of
each chain's kept PIT values (about -1/m under independence), the KS p-values' tails for
rows and pooled groups, and, for the pooled groups, the variance ratio the replications'
sharing alone adds: the pooled z's variance over the mean of the rows' (about 1 when the
replications are independent of each other, whatever each row's own dependence), and the
pooled groups' mean deviation at each u, overall and for each (parameter, N): about 0 when
the draws follow the exact posterior, away from 0 when the engine's distribution is off in
the same way in every run (a bias of shape, which the pooled KS test sees and the mean and
sd tests may not).

    .venv/bin/python benchmarks/pit_tails.py --engine nuts --runs 100      # about 10 minutes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUANTILES = np.linspace(0.1, 0.9, 9)


def ecdf_z(pit: np.ndarray) -> np.ndarray:
    """Return the empirical CDF's standardised deviation at each of ``QUANTILES``, under independence."""
    m = len(pit)
    f = (pit[:, None] <= QUANTILES).mean(axis=0)
    return (f - QUANTILES) / np.sqrt(QUANTILES * (1 - QUANTILES) / m)


def lag1(chain: np.ndarray) -> float:
    """Lag-1 autocorrelation of one chain's kept PIT values."""
    c = chain - chain.mean()
    return float((c[:-1] * c[1:]).sum() / (c * c).sum())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", default="nuts")
    p.add_argument("--family", default="normal_normal")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--first-seed", type=int, default=700_000)
    args = p.parse_args()

    from benchmarks.estimator_tails import groups
    from models.families import FAMILIES
    from study import checks
    from study.run import StudyConfig, run_study

    family = FAMILIES[args.family]
    row_z, pooled_z, ratio, rho, row_p, pooled_p, thin, keys, distinct = [], [], [], [], [], [], [], [], []
    for k, seed in enumerate(range(args.first_seed, args.first_seed + args.runs), start=1):
        config = StudyConfig(family=args.family, sampler=args.engine, seed=seed)
        result = run_study(config, log=lambda _: None)
        for per_rep, rows, posts in groups(family, result):
            pits = []
            for d, post, factor in zip(per_rep, posts, rows["ks_thin"], strict=True):
                pit = checks.pit_values(d, post.cdf, factor)  # what the verdict tests, chain by chain
                pits.append(pit)
                rho += [lag1(c) for c in pit.reshape(len(d), -1)]
                row_z.append(ecdf_z(pit))
                row_p.append(checks.ks_uniform_pvalue(pit))
                thin.append(factor)
                kept = d[:, ::factor]
                distinct.append(np.unique(kept).size / kept.size)
            pooled = np.concatenate(pits)
            keys.append((rows["param"].iloc[0], int(rows["n"].iloc[0])))
            pooled_z.append(ecdf_z(pooled))
            pooled_p.append(checks.ks_uniform_pvalue(pooled))
            ratio.append(np.var(pooled_z[-1]) / np.mean([np.var(z) for z in row_z[-len(pits) :]]))
        print(f"{k}/{args.runs} runs", file=sys.stderr, flush=True)

    row_z, pooled_z, row_p, pooled_p = map(np.asarray, (row_z, pooled_z, row_p, pooled_p))
    print(f"{args.engine} on {args.family}'s default study, seeds {args.first_seed}..{seed}: {len(row_z)} "
          f"rows, {len(pooled_z)} pooled groups; median thin factor {np.median(thin):g}")  # fmt: skip
    for label, z, pv in (("rows", row_z, row_p), ("pooled", pooled_z, pooled_p)):
        var = (z**2).mean(axis=0)
        se = np.sqrt(2 / len(z))
        print(f"  {label:<7} ecdf z variance (1 if independent, +-{se:.3f}): mean {var.mean():.3f}; "
              f"at u = 0.1..0.9: {' '.join(f'{v:.2f}' for v in var)}")  # fmt: skip
        print(f"          KS p < 5%: {100 * np.mean(pv < 0.05):.1f}%  < 1%: {100 * np.mean(pv < 0.01):.2f}%"
              f"  < 0.1%: {100 * np.mean(pv < 0.001):.3f}%")  # fmt: skip
    share = f"mean {np.mean(distinct):.4f}, least {np.min(distinct):.4f}"
    print(f"  distinct values among a row's kept draws: {share}")
    print(f"  kept PIT values' lag-1 autocorrelation: mean {np.mean(rho):+.4f} over {len(rho)} chains")
    print(f"  pooled z variance over the rows' (1 if the replications are independent): {np.mean(ratio):.3f}")
    shape = pooled_z.mean(axis=0)
    print(f"  pooled ecdf z mean (0 if unbiased, +-{1 / np.sqrt(len(pooled_z)):.3f}): at u = 0.1..0.9: "
          f"{' '.join(f'{v:+.2f}' for v in shape)}")  # fmt: skip
    for key in dict.fromkeys(keys):
        z = pooled_z[[k == key for k in keys]]
        means = " ".join(f"{v:+.2f}" for v in z.mean(axis=0))
        print(f"    {key[0]} N={key[1]} (+-{1 / np.sqrt(len(z)):.2f}): {means}")


if __name__ == "__main__":
    main()
