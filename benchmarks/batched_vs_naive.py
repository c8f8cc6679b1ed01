"""Time the suite's batched study against the naive approach, side by side in one run.

Naive: a new PyMC model and a new pm.sample call for every data set (the usual loop).
Batched: the suite's single model holding every (N, replication) data set, one pm.sample.
Both fit the very same data sets with the same sampler settings; each is timed
``--repeats`` times, alternating, after one untimed warm-up of each (so PyTensor's
compilation cache is equally warm), and the medians and their ratio are printed.
The end-to-end default study (``python compare.py``, outputs included) is timed too.

    .venv/bin/python benchmarks/batched_vs_naive.py            # about 8 minutes on 2 cores
    .venv/bin/python benchmarks/batched_vs_naive.py --reps 5 --repeats 1   # quick look
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pymc as pm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.batched import for_sampling  # noqa: E402
from models.engines import SAMPLERS  # noqa: E402
from models.families import FAMILIES  # noqa: E402
from study.run import StudyConfig, simulate_datasets  # noqa: E402


def naive(config: StudyConfig, datasets) -> float:
    """One model and one pm.sample per data set; returns wall seconds."""
    s = config.settings
    start = time.perf_counter()
    for n, xs in datasets.items():
        for r, x in enumerate(xs):
            with pm.Model():
                mu = pm.Normal("mu", mu=s.prior_mean, sigma=np.sqrt(s.prior_var))
                pm.Normal("x", mu=mu, sigma=np.sqrt(s.noise_var), observed=x)
                pm.sample(
                    draws=config.draws,
                    tune=config.tune,
                    chains=config.chains,
                    cores=config.cores,
                    random_seed=1000 * n + r,
                    nuts_sampler="pymc",
                    progressbar=False,
                    quiet=True,
                    compute_convergence_checks=False,
                )
    return time.perf_counter() - start


def batched(config: StudyConfig, datasets) -> float:
    """Fit the suite's way: one model for all data sets, one sampler run; returns wall seconds."""
    start = time.perf_counter()
    model = for_sampling(FAMILIES[config.family].build_model(datasets, config.settings))
    SAMPLERS[config.sampler].run(
        model, draws=config.draws, tune=config.tune, chains=config.chains, cores=config.cores, seed=1
    )
    return time.perf_counter() - start


def end_to_end() -> float:
    """Wall seconds of ``python compare.py`` with its defaults, writing to a temporary folder."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "compare.py", "--out", out, "--no-progress"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def main() -> None:
    """Run both approaches and print medians and ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", nargs="+", type=int, default=[10, 100, 1000])
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--cores", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    logging.getLogger("pymc").setLevel(logging.ERROR)
    config = StudyConfig(
        sampler="nuts",  # the naive loop's engine: PyMC's NUTS, pm.sample's default
        ns=tuple(args.n),
        reps=args.reps,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        cores=args.cores,
    )
    datasets = simulate_datasets(
        FAMILIES[config.family], config.settings, config.ns, config.reps, config.seed
    )
    cells = len(config.ns) * config.reps
    print(
        f"configuration: N = {list(config.ns)}, {config.reps} reps -> {cells} data sets; "
        f"{config.chains} chains x {config.draws} draws + {config.tune} tune, cores = {config.cores}"
    )
    print("warming up (one untimed run of each) ...", flush=True)
    first = {"batched (cold)": batched(config, datasets), "naive (cold)": naive(config, datasets)}
    times: dict[str, list[float]] = {"batched": [], "naive": [], "compare.py end to end": []}
    for i in range(args.repeats):
        times["batched"].append(batched(config, datasets))
        times["naive"].append(naive(config, datasets))
        times["compare.py end to end"].append(end_to_end())
        print(f"repeat {i + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()))
    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    for k, v in first.items():
        print(f"{k:24s} {v:7.1f} s   (first run, includes compilation)")
    for k, v in med.items():
        print(f"{k:24s} {v:7.1f} s   median of {len(times[k])}   ({v / cells:.3f} s per data set)")
    print(f"\nspeed-up, naive / batched (medians): {med['naive'] / med['batched']:.1f}x  (target >= 20x)")


if __name__ == "__main__":
    main()
