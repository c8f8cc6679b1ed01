"""How the row tests' z scores behave on correct draws: ArviZ's MCSE against the exact-moment errors.

For each set of draws, the mean's and the sd's z two ways:

* ``arviz``: standardised by ArviZ's MCSE, which uses the draws' own sd and fourth moment;
* ``exact moments``: standardised by ``study.checks.null_standard_errors``, ArviZ's formulas
  with the exact posterior's sd and excess kurtosis (the verdict's since 2026-12); only the
  effective sample sizes are read from the draws.

Two sources of correct draws:

* ``iid`` (the default): ``chains x draws`` iid draws per set from a Normal, a Gamma(5) and
  an inverse gamma of shape 8 (normal_inverse_gamma's sigma2 posterior at N = 10, whose
  eighth moment is infinite), vectorised over ``--sets`` sets;
* ``--engine nutpie`` (or another engine): that engine's draws of the default study of
  ``--family`` (N = 10, 100, 1000; 20 replications; 4 x 1000 draws) over ``--runs`` seeds,
  every row a set; the exact posterior of each row gives the moments.

Printed per source and z: its sd and mean, and the share of |z| beyond 2.576 and 3.29, of z
below -3 and above 3, and above the row limit 4.46 (nominal 1%, 0.1%, 0.135%, 0.135% and
0.0004%). For iid draws also the sd's z on the draws' normal scores. For an engine's draws also whether
the replications of one batched run share their errors: per (run, parameter, N), the variance
of the replications' summed standardised errors read from the pooled chain (the replications'
standardised draws averaged draw by draw, whose MCSE carries every cross-correlation) over the
sum of the rows' own variances; about 1 when the replications are independent.

    .venv/bin/python benchmarks/estimator_tails.py                       # about 2 minutes
    .venv/bin/python benchmarks/estimator_tails.py --engine nutpie --runs 200   # about 9 minutes
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from arviz_stats.base import array_stats
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from study import checks  # noqa: E402

BLOCK = 2000  # sets per vectorised block
FAR = 4.46  # the row tests' limit in normal_inverse_gamma's default study (120 rows at alpha 1%)


def z_scores(
    x: np.ndarray, mean: np.ndarray, sd: np.ndarray, kurtosis: np.ndarray, scores: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Return the z scores of sets ``x (set, chain, draw)`` given the exact moments.

    ``scores``, the draws' normal scores ``Phi^-1(F_exact(x))`` (``study.checks.normal_scores``),
    adds the sd's z on them, the test of heavy-tailed rows since 2026-12.
    """
    kw = dict(chain_axis=1, draw_axis=2)
    error = x.mean(axis=(1, 2)) - mean
    sampled_sd = x.reshape(len(x), -1).std(axis=1, ddof=1)
    ess_mean = array_stats.ess(x, method="mean", **kw)
    ess_sd = array_stats.ess(x, method="sd", **kw)
    z = {
        "mean, arviz": error / array_stats.mcse(x, method="mean", **kw),
        "mean, exact moments": error / (sd / np.sqrt(ess_mean)),
        "sd, arviz": (sampled_sd - sd) / array_stats.mcse(x, method="sd", **kw),
        "sd, exact moments": (sampled_sd - sd) / (sd * np.sqrt((kurtosis + 2) / ess_sd) / 2),
    }
    if scores is not None:
        se = np.sqrt(2 / array_stats.ess(scores, method="sd", **kw)) / 2
        z["sd, normal scores"] = (scores.reshape(len(x), -1).std(axis=1, ddof=1) - 1) / se
    return z


def shared_error_ratios(d: np.ndarray, rows) -> dict[str, float]:
    """Variance of the replications' summed errors from their pooled chain, over the sum of their own.

    ``d (rep, chain, draw)`` are one (parameter, N) group's draws; ``rows`` its rows (sorted by rep).
    """
    mu = rows["post_mean_exact"].to_numpy()[:, None, None]
    s = rows["post_sd_exact"].to_numpy()[:, None, None]
    std = (d - mu) / s
    kw = dict(chain_axis=-2, draw_axis=-1)
    k = len(d)
    own_mean = np.sum(1 / array_stats.ess(std, method="mean", **kw))  # each row's variance in sd units
    pooled_mean = (k * float(array_stats.mcse(std.mean(axis=0), method="mean", **kw))) ** 2
    centred = (std - std.mean(axis=(1, 2), keepdims=True)) ** 2  # the sd's linearisation, per row
    w = centred / (2 * np.sqrt(centred.mean(axis=(1, 2), keepdims=True)))
    own_sd = np.sum(array_stats.mcse(w, method="mean", **kw) ** 2)
    pooled_sd = (k * float(array_stats.mcse(w.mean(axis=0), method="mean", **kw))) ** 2
    return {"mean": pooled_mean / own_mean, "sd": pooled_sd / own_sd}


def show(label: str, sets: int, found: dict[str, list[np.ndarray]]) -> None:
    print(f"{label}: {sets} sets")
    for name, parts in found.items():
        z = np.concatenate(parts)
        print(f"  {name:<20} sd {z.std():.3f}  mean {z.mean():+.3f}"
              f"  |z|>2.576 {100 * np.mean(abs(z) > 2.576):.2f}%"
              f"  |z|>3.29 {100 * np.mean(abs(z) > 3.29):.3f}%  z<-3 {100 * np.mean(z < -3):.3f}%"
              f"  z>3 {100 * np.mean(z > 3):.3f}%  z>{FAR} {100 * np.mean(z > FAR):.4f}%")  # fmt: skip


def iid(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    blocks = max(1, args.sets // BLOCK)
    print(f"iid draws, {args.chains} x {args.draws} per set (nominal: 1%, 0.1%, 0.135%, 0.135%)")
    for label, dist in (("Normal", stats.norm()), ("Gamma(5)", stats.gamma(5.0)),
                        ("InverseGamma(8)", stats.invgamma(8.0))):  # fmt: skip
        found: dict[str, list[np.ndarray]] = {}
        mean, var, _, kurt = (float(v) for v in dist.stats(moments="mvsk"))
        for _ in range(blocks):
            x = dist.rvs(size=(BLOCK, args.chains, args.draws), random_state=rng)
            for name, z in z_scores(x, mean, np.sqrt(var), kurt, checks.normal_scores(x, dist)).items():
                found.setdefault(name, []).append(z)
        show(label, blocks * BLOCK, found)


def groups(family, result) -> Iterator[tuple[np.ndarray, pd.DataFrame, list]]:
    """Each (parameter, N) group of one study: its draws ``(rep, chain, draw)``, rows and exact posteriors.

    The rows are sorted by replication, as the draws are; the posteriors are the family's
    closed forms of each data set (``posterior`` of ``Family.densities``).
    """
    settings = result.config.settings
    for param, (variable, selection) in family.labels(settings).items():
        draws = result.idata["posterior"][variable].isel(selection)
        for n, x in result.datasets.items():
            rows = result.rows[(result.rows["param"] == param) & (result.rows["n"] == n)].sort_values("rep")
            posts = [family.densities(one, settings)[param]["posterior"] for one in x]
            yield draws.sel(n=n).transpose("rep", "chain", "draw").values, rows, posts


def engine_draws(args: argparse.Namespace) -> None:
    from models.families import FAMILIES
    from study.run import StudyConfig, run_study

    family = FAMILIES[args.family]
    found: dict[str, list[np.ndarray]] = {}
    shared: dict[str, list[float]] = {"mean": [], "sd": []}
    sets = 0
    for seed in range(args.first_seed, args.first_seed + args.runs):
        result = run_study(
            StudyConfig(family=args.family, sampler=args.engine, seed=seed), log=lambda _: None
        )
        for d, rows, post in groups(family, result):
            kurt = np.array([checks.excess_kurtosis(p) for p in post])
            z = z_scores(d, rows["post_mean_exact"].to_numpy(), rows["post_sd_exact"].to_numpy(), kurt)
            for name, v in z.items():
                found.setdefault(name, []).append(v)
            sets += len(d)
            for key, ratio in shared_error_ratios(d, rows).items():
                shared[key].append(ratio)
        print(f"{seed - args.first_seed + 1}/{args.runs} runs", file=sys.stderr, flush=True)
    show(f"{args.engine} on {args.family}'s default study, seeds {args.first_seed}..{seed}", sets, found)
    ratios = f"mean {np.mean(shared['mean']):.3f}, sd {np.mean(shared['sd']):.3f}"
    print(
        f"  replications sharing their errors (pooled-chain variance / sum of the rows', mean over "
        f"{len(shared['mean'])} groups): {ratios}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", type=int, default=20_000, help="iid: simulated sets of draws (default 20000)")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--engine", help="read the draws of this engine's default study instead of iid draws")
    p.add_argument("--family", default="normal_normal")
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--first-seed", type=int, default=300_000)
    args = p.parse_args()
    if args.engine:
        engine_draws(args)
    else:
        iid(args)


if __name__ == "__main__":
    main()
