"""What each fit leaves behind in a long process: memory maps and resident memory, per data set.

An engine fitted one data set per model (``Sampler.separately``: SMC, DEMetropolisZ) compiles
a new model for every data set, and compiled code is never freed by the process that made
it. A long calibration process of SMC fits ended after about 1,400 fits with ``LLVM ERROR:
Unable to allocate section memory!``. This runs ``study.fitting.fit`` on one data set at a
time, ``--fits`` times in this one process, and prints the process's memory maps (the kernel
refuses new ones past ``/proc/sys/vm/max_map_count``) and resident memory every ``--every``
fits, and what one fit adds on average.

    .venv/bin/python benchmarks/fit_residue.py --engine smc --fits 40      # about two minutes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def memory_maps() -> int:
    """Count this process's memory maps."""
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def resident_mib() -> float:
    """Return the resident memory of this process in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", default="smc")
    p.add_argument("--family", default="normal_normal")
    p.add_argument("--fits", type=int, default=40)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--chains", type=int, default=4)
    args = p.parse_args()

    from models.engines.protocol import quiet_pymc
    from models.engines.registry import SAMPLERS
    from models.families import FAMILIES
    from study.fitting import fit
    from study.run import simulate_datasets

    family, sampler = FAMILIES[args.family], SAMPLERS[args.engine]
    settings = family.settings()
    datasets = simulate_datasets(family, settings, (10,), args.fits, seed=0)
    limit = Path("/proc/sys/vm/max_map_count").read_text().strip()
    budget = f"{args.draws} draws x {args.chains} chains"
    print(f"{args.engine} on {args.family}, one data set (N = 10) per fit, {budget}; max_map_count {limit}")
    seen = []
    with quiet_pymc():
        for k in range(args.fits + 1):
            if k % args.every == 0:
                seen.append((k, memory_maps(), resident_mib()))
                print(f"  after {k:>4} fits: {seen[-1][1]:>6} maps, {seen[-1][2]:7.1f} MiB", flush=True)
            if k < args.fits:
                one = {10: datasets[10][k : k + 1]}
                size = {"draws": args.draws, "tune": args.draws, "chains": args.chains}
                fit(sampler, family, settings, one, seed=k, cores=1, progress=False, **size)
    (k0, m0, r0), (k1, m1, r1) = seen[1], seen[-1]  # from the first fit on: imports and first compile aside
    per_maps, per_mib = (m1 - m0) / (k1 - k0), (r1 - r0) / (k1 - k0)
    reach = int((int(limit) - m1) / max(per_maps, 1e-9)) + k1
    print(f"  each fit after the first {k0}: +{per_maps:.1f} maps, +{per_mib:.2f} MiB resident; "
          f"at that rate the map limit is reached after about {reach:,} fits")  # fmt: skip


if __name__ == "__main__":
    main()
