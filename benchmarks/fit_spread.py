r"""Does a tuned ADVI report its own error honestly? One data set refitted with many seeds.

The verdict adds the error a stochastic fit reports of itself (``endpoint_errors``: the
MCSE of the averaged iterates) to its draws'. That is honest if refits of one data set with
different seeds spread by about what each reports, and centre on the optimum. This fits one
data set ``--seeds`` times with the registry's fit (``fit_averaged``), takes each fitted
``q``'s exact constrained mean and sd by the optimum's own quadrature
(``analytic.optimum.constrained_moments``; no draws, so no draw noise), and prints per
parameter: the spread of the fits over seeds against the median error they report, and
their mean's offset from the optimum in reported errors and in relative terms.

The data set is the default study's (``--study-seed``, ``--n``, ``--rep``: the one a
calibration run with that seed fitted there), so a false alarm's fit can be looked at.

    .venv/bin/python benchmarks/fit_spread.py --model multivariate_normal_known_cov --n 10
    .venv/bin/python benchmarks/fit_spread.py --model categorical_dirichlet --n 100 --seeds 12
    .venv/bin/python benchmarks/fit_spread.py --model categorical_dirichlet --n 100 --seeds 12 --slow 0.1
    .venv/bin/python benchmarks/fit_spread.py --study-seed 500003 --n 10 --rep 1 --seeds 1 \
        --study-fit --redraws 400      # a false alarm's fit and draws, as the study made them
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytic.optimum import TARGETS, GaussianTarget, constrained_moments  # noqa: E402
from models.batched import for_sampling  # noqa: E402
from models.engines.approximations import ADVI_SLOW, fit_averaged  # noqa: E402
from models.families import FAMILIES  # noqa: E402
from study import seeds  # noqa: E402
from study.run import simulate_datasets  # noqa: E402


def flat(moments: dict, k: int) -> np.ndarray:
    """Return the ``k``-th moment (0 mean, 1 sd) of every constrained parameter, flattened in name order."""
    return np.concatenate([np.ravel(moments[name][k]) for name in sorted(moments)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", default="fullrank_advi", choices=["fullrank_advi", "advi"])
    p.add_argument("--model", default="multivariate_normal_known_cov", choices=sorted(FAMILIES))
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--rep", type=int, default=0)
    p.add_argument("--study-seed", type=int, default=500_000)
    p.add_argument("--seeds", type=int, default=16, help="refits, fit seeds 0, 1, ...")
    p.add_argument("--draws", type=int, default=4000, help="draws the reported errors are for")
    p.add_argument("--slow", type=float, default=ADVI_SLOW, help="the learning rate's cut, half-way")
    p.add_argument("--study-fit", action="store_true", help="the first fit with the study's own seed")
    p.add_argument("--redraws", type=int, default=0, help="fresh draw sets from the first fit's q")
    args = p.parse_args()

    family = FAMILIES[args.model]
    settings = family.settings()
    # a study's data set depends on its seed, N and rep alone (study.seeds.data_rng)
    data = simulate_datasets(family, settings, (args.n,), args.rep + 1, args.study_seed)[args.n][args.rep :]
    model = for_sampling(family.build_model({args.n: data}, settings))
    post = family.unconstrained_posterior(data[0], settings)
    optimum = constrained_moments(post, TARGETS[args.engine](post))
    names = [v.name for v in model.free_RVs]
    fits, reported = {0: [], 1: []}, {0: [], 1: []}
    start = time.perf_counter()
    study_seed = seeds.sampler_seed(args.study_seed, args.model, args.engine)
    for fit_seed in range(args.seeds):
        as_study = args.study_fit and fit_seed == 0  # the seed study.fitting gives this data set
        seed = seeds.integer(study_seed, "separately", args.n, args.rep) if as_study else (
            seeds.integer(fit_seed, "separately", args.n, 0))  # fmt: skip
        approx, errors = fit_averaged(model, args.engine, seed=seed, draws=args.draws, slow=args.slow)
        q = constrained_moments(post, GaussianTarget(approx.mean.eval(), approx.cov.eval()))
        if fit_seed == 0 and args.redraws:
            redraws(approx, q, names, seed, args.draws, args.redraws)
        for k, statistic in ((0, "mean"), (1, "sd")):
            fits[k].append(flat(q, k))
            reported[k].append(
                np.concatenate([errors[v].sel(statistic=statistic).values.ravel() for v in sorted(names)])
            )
        print(f"  fit {fit_seed + 1}/{args.seeds} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    labels = [f"{name}[{i}]" for name in sorted(optimum) for i in range(np.size(optimum[name][0]))]
    print(f"{args.engine} (rate cut {args.slow}) on {args.model}, N = {args.n}, data set {args.rep} of study "
          f"seed {args.study_seed}; {args.seeds} fits, their q's moments by quadrature:")  # fmt: skip
    sd = flat(optimum, 1)
    for k, statistic in ((0, "mean"), (1, "sd")):
        values, errs = np.array(fits[k]), np.array(reported[k])
        spread = values.std(axis=0, ddof=1) if args.seeds > 1 else np.full(len(labels), np.nan)
        median = np.median(errs, axis=0)
        offset = values.mean(axis=0) - flat(optimum, k)
        for j, label in enumerate(labels):
            print(f"  {statistic:4s} {label:10s} spread / reported error {spread[j] / median[j]:5.2f}   "
                  f"mean offset {offset[j] / sd[j]:+.4%} of the optimum sd "
                  f"({offset[j] / median[j]:+5.2f} reported errors, "
                  f"{offset[j] / (spread[j] / np.sqrt(args.seeds)):+5.2f} se over the fits)")  # fmt: skip


def redraws(approx, q: dict, names: list[str], seed: int, draws: int, sets: int) -> None:
    """Print the z of the draws the engine returns (its seed + 1) against ``q``, then of ``sets`` fresh sets.

    The z of a set's mean is against ``q``'s sd over ``sqrt(draws)``, of its sd against the
    sd's standard error with ``q``'s own excess kurtosis: what the verdict uses, here with
    ``q`` in place of the optimum.
    """
    mean, sd, kurtosis = (flat(q, k) for k in range(3))
    se = {"mean": sd / np.sqrt(draws), "sd": sd * np.sqrt((kurtosis + 2) / draws) / 2}

    def z(draw_seed: int) -> dict[str, np.ndarray]:
        posterior = approx.sample(draws=draws, random_seed=draw_seed)["posterior"]
        values = np.concatenate([posterior[v].values.reshape(draws, -1) for v in sorted(names)], axis=1)
        return {
            "mean": (values.mean(axis=0) - mean) / se["mean"],
            "sd": (values.std(axis=0, ddof=1) - sd) / se["sd"],
        }

    engine = z(seed + 1)
    fresh = [z(seed + 1 + 7919 * (k + 1)) for k in range(sets)]
    for statistic in ("mean", "sd"):
        spread = np.array([f[statistic] for f in fresh]).std(axis=0)
        print(
            f"  the engine's draws against q: z of the {statistic} {np.round(engine[statistic], 2)}; "
            f"over {sets} fresh sets, z sd {np.round(spread, 3)}"
        )


if __name__ == "__main__":
    main()
