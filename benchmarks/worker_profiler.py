"""What Dask's statistical profiler costs a long work unit on a local cluster's worker.

Runs one work unit of ``--fits`` full-rank ADVI fits (``fullrank_advi``'s own fit,
``models.engines.approximations.fit_averaged``, one simulated normal_normal data set of
N = 100 each, as ``--sampler fullrank_advi`` fits its 60 data sets one after another) on a
one-worker cluster of ``study.units.Executor``, in turn with Dask's profiler on (Dask's
default) and off (the suite's ``WORKER_CONFIG``), ``--repeats`` times each, alternating.
Prints each fit's seconds, the median fit of the last half, and how much the worker's
peak memory grew a fit over the last half, both ways and their ratio. The profiler's cost
is not there from the start: it shows some tens of seconds into the unit.

    .venv/bin/python benchmarks/worker_profiler.py                  # about 4 minutes
    .venv/bin/python benchmarks/worker_profiler.py --fits 30 --repeats 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from study import units  # noqa: E402

ON = {"distributed": {"worker": {"profile": {"enabled": True}}}}


def fits(count: int) -> tuple[list[float], list[float]]:
    """Fit ``count`` data sets one after another; return each fit's seconds and peak memory (MB) after it."""
    import resource

    import numpy as np

    from models.batched import for_sampling
    from models.engines.approximations import fit_averaged
    from models.families import FAMILIES

    family = FAMILIES["normal_normal"]
    settings = family.settings()
    seconds, peak = [], []
    for i in range(count):
        x = family.simulate(np.random.default_rng(i), n=100, reps=1, settings=settings)
        model = for_sampling(family.build_model({100: x}, settings))
        start = time.perf_counter()
        fit_averaged(model, "fullrank_advi", seed=i, draws=4000)
        seconds.append(time.perf_counter() - start)
        peak.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return seconds, peak


def run_once(count: int, profiler: bool) -> tuple[list[float], list[float]]:
    """One unit of ``count`` fits on a fresh one-worker cluster, Dask's profiler on or off."""
    saved = units.WORKER_CONFIG
    units.WORKER_CONFIG = ON if profiler else saved
    try:
        with units.Executor(workers=1) as executor:
            return executor.map(fits, [count], log=lambda _: None)[0]
    finally:
        units.WORKER_CONFIG = saved


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fits", type=int, default=20)
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args()
    if args.fits < 2:
        p.error("--fits must be at least 2")
    half = args.fits // 2
    print(f"one unit of {args.fits} full-rank ADVI fits (normal_normal, N = 100) on a one-worker cluster")
    settled: dict[bool, list[float]] = {True: [], False: []}
    growth: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeats):
        for profiler in (True, False):
            seconds, peak = run_once(args.fits, profiler)
            settled[profiler].append(statistics.median(seconds[half:]))
            growth[profiler].append((peak[-1] - peak[half - 1]) / (args.fits - half))
            way = "profiler on " if profiler else "profiler off"
            print(f"  {way}  fits (s): {' '.join(f'{s:.1f}' for s in seconds)}")
    on, off = statistics.median(settled[True]), statistics.median(settled[False])
    last = args.fits - half
    print(f"median of the last {last} fits: profiler on {on:.2f} s, off {off:.2f} s: {on / off:.2f}x")
    grown = {way: statistics.median(g) for way, g in growth.items()}
    print(f"peak memory a fit over the last {last}: {grown[True]:+.1f} MB on, {grown[False]:+.1f} MB off")


if __name__ == "__main__":
    main()
