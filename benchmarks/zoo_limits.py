r"""How wrong is a zoo bug where it runs forever? Its draws' limit on a Gaussian, beside its twin's.

A bug the study does not catch is either right in the limit (nothing any test of the
draws could see) or wrong by less than the study resolves. This runs a zoo bug and its
twin for many draws on a target whose moments are known (a standard Normal in one
dimension, or the 2-D Gaussian of stan-dev/stan#2178: sds 1 and 2, correlation 0.5) and
prints each one's mean, variance (per coordinate) and, in 2-D, the covariance in units
of the true sds (the correlation, were the sds right) with their Monte Carlo errors
(from the ESS of the per-draw quantity) and their z against the truth.

    .venv/bin/python benchmarks/zoo_limits.py zoo.pymc_301 --draws 200000
    .venv/bin/python benchmarks/zoo_limits.py zoo.stan_2178 --target report --draws 20000
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np
import pymc as pm
from arviz_stats.base import array_stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.target import Target  # noqa: E402

REPORT_COV = np.array([[1.0, 1.0], [1.0, 4.0]])


def mcse(values: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of ``values`` (chain, draw)."""
    return float(values.std() / np.sqrt(array_stats.ess(values, method="mean", chain_axis=0, draw_axis=1)))


def line(label: str, estimate: float, se: float, truth: float) -> str:
    """One printed estimate: value, its error, the truth and the z."""
    return f"{label} {estimate:.4f} +- {se:.4f} (truth {truth:g}, z {(estimate - truth) / se:+.2f})"


def summarise(draws: np.ndarray, cov: np.ndarray) -> list[str]:
    """Mean, variance and (2-D) covariance over the true sds of ``draws`` (chain, draw, dim) vs ``cov``."""
    mean = np.zeros(cov.shape[0]) if cov.shape[0] == 1 else np.array([0.0, 3.0])
    lines = []
    for j in range(cov.shape[0]):
        x = draws[..., j]
        square = (x - mean[j]) ** 2
        for label, values, truth in (("mean", x, mean[j]), ("var", square, cov[j, j])):
            se = mcse(values)
            lines.append(line(f"{label}[{j}]", values.mean(), se, truth))
    if cov.shape[0] == 2:
        a, b = ((draws[..., j] - mean[j]) / np.sqrt(cov[j, j]) for j in (0, 1))
        rho = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
        se = mcse(a * b)
        lines.append(line("cov/sds", np.mean(a * b), se, rho))  # the covariance in the true sds' units
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "module", help="a zoo module whose bug_and_twin pair is its first two engines, e.g. zoo.pymc_301"
    )
    p.add_argument("--target", choices=["normal", "report"], default="normal")
    p.add_argument("--draws", type=int, default=100_000)
    p.add_argument("--tune", type=int, default=2000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    module = importlib.import_module(args.module)
    pair = [
        v for v in vars(module).values() if callable(v) and getattr(v, "name", "").startswith(args.module[4:])
    ]
    cov = np.eye(1) if args.target == "normal" else REPORT_COV
    with pm.Model() as model:
        if args.target == "normal":
            pm.Normal("x", 0.0, 1.0, shape=1)
        else:
            pm.MvNormal("x", mu=np.array([0.0, 3.0]), cov=REPORT_COV)
    Target(model)  # fails early on a model the zoo's samplers cannot use
    for engine in sorted(pair, key=lambda e: e.name):
        start = time.perf_counter()
        idata = engine(model, draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)
        draws = idata["posterior"]["x"].values.reshape(args.chains, args.draws, -1)
        print(f"{engine.name} ({args.chains} x {args.draws} draws, {time.perf_counter() - start:.0f} s):")
        for line in summarise(draws, cov):
            print("  " + line)


if __name__ == "__main__":
    main()
