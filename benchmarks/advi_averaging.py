"""How close PyMC's ADVI ends to its exact optimum: its last iterate against the average of its last ones.

On normal_normal the mean-field optimum is the exact posterior, so the fitted Normal's
mean and sd are compared with the closed forms directly, on the default study's 60 data
sets (one batched model). For each optimiser: the last iterate, and the Polyak-Ruppert
average of the last ``--average`` iterates of the variational parameters (the mean and
the log sd), taken by a ``pm.fit`` callback. Printed per N: the largest |mean error| in
posterior sd and the range of sd / exact sd over the 20 data sets.

    .venv/bin/python benchmarks/advi_averaging.py            # about a minute
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pymc as pm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.engines.approximations import ADVI_STEPS, IterateAverage  # noqa: E402
from models.engines.protocol import quiet_pymc  # noqa: E402
from models.families import FAMILIES  # noqa: E402
from study.run import StudyConfig, simulate_datasets  # noqa: E402

OPTIMISERS = {
    "adagrad_window 1e-3 (PyMC's default)": lambda: pm.adagrad_window(learning_rate=1e-3),
    "adam 1e-2": lambda: pm.adam(learning_rate=1e-2),
    "adam 3e-3": lambda: pm.adam(learning_rate=3e-3),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=ADVI_STEPS)
    p.add_argument("--average", type=int, default=10_000, help="iterates averaged at the end")
    args = p.parse_args()
    config = StudyConfig()
    family = FAMILIES["normal_normal"]
    settings = family.settings()
    datasets = simulate_datasets(family, settings, config.ns, config.reps, config.seed)
    exact = {n: family.exact(x, settings)["mu"] for n, x in datasets.items()}
    model = family.build_model(datasets, settings)
    shape = (len(datasets), config.reps)
    print(f"normal_normal, default study's data sets; {args.steps} steps, the last {args.average} averaged\n")
    for name, optimiser in OPTIMISERS.items():
        average = IterateAverage(args.steps, args.average, every=args.average + 1)  # no snapshots kept
        start = time.perf_counter()
        with model, quiet_pymc():
            approx = pm.fit(n=args.steps, method="advi", obj_optimizer=optimiser(), random_seed=1,
                            progressbar=False, callbacks=[average])  # fmt: skip
        fits = {"last iterate": (approx.mean.eval(), approx.std.eval())}
        average.set_average(approx)
        fits["averaged"] = (approx.mean.eval(), approx.std.eval())
        print(f"{name} ({time.perf_counter() - start:.0f} s)")
        for label, (mean, sd) in fits.items():
            mean, sd = mean.reshape(shape), sd.reshape(shape)
            cells = []
            for i, (n, e) in enumerate(exact.items()):
                err = np.abs(mean[i] - e["post_mean_exact"]) / e["post_sd_exact"]
                ratio = sd[i] / e["post_sd_exact"]
                cells.append(f"N={n}: {err.max():.3f}, {ratio.min():.3f}-{ratio.max():.3f}")
            print(f"  {label:<13}" + "   ".join(cells))


if __name__ == "__main__":
    main()
