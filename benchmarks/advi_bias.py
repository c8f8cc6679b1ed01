r"""The tuned ADVI's leftover bias in the sd, as the pooled sd test sees it, at other settings.

Runs ``advi`` (``models.engines.approximations.advi_engine``) on the default study of one
family for a few seeds, with ``--draws-per-step``, ``--rate`` and ``--slow`` in place of the
registry's, and prints per study the pooled sd z against the mean-field optimum (one per
parameter and N), the median fit error of the sd in optimum sds, and the row z sds; then
the mean and sd of all pooled sd z. A mean near 0 is no bias; about -1 is the sds narrow
by one pooled standard error (about 0.3% on the default study).

    .venv/bin/python benchmarks/advi_bias.py                     # the registry's advi, 3 seeds
    .venv/bin/python benchmarks/advi_bias.py --rate 0.1          # ten times its learning rate
    .venv/bin/python benchmarks/advi_bias.py --family exponential_gamma --seeds 600000 600006 \
        --draws-per-step 1 --slow 1                             # the first tuning
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.engines import SAMPLERS  # noqa: E402
from models.engines.approximations import (  # noqa: E402
    ADVI_LEARNING_RATE,
    ADVI_MC_SAMPLES,
    ADVI_SLOW,
    advi_engine,
)
from study.run import StudyConfig, run_study  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", default="normal_normal")
    p.add_argument("--seeds", type=int, nargs=2, default=(2026, 2029), help="first and one past the last")
    p.add_argument("--draws-per-step", type=int, default=ADVI_MC_SAMPLES)
    p.add_argument("--rate", type=float, default=ADVI_LEARNING_RATE)
    p.add_argument("--slow", type=float, default=ADVI_SLOW)
    args = p.parse_args()
    run = advi_engine("advi", mc_samples=args.draws_per_step, learning_rate=args.rate, slow=args.slow)
    engine = replace(SAMPLERS["advi"], run=run)
    print(f"advi on {args.family}: {args.draws_per_step} draws per step, rate {args.rate}, times {args.slow}")
    every = []
    for seed in range(*args.seeds):
        result = run_study(StudyConfig(family=args.family, sampler="advi", seed=seed), log=lambda _: None,
                           engine=engine)  # fmt: skip
        rows, pooled = result.rows, result.pooled
        z = pooled.loc[pooled["test"] == "sd", "statistic"].to_numpy()
        every += list(z)
        error = np.median(rows["post_sd"] / rows["post_sd_target"] - 1)
        print(f"  seed {seed}: pooled sd z {' '.join(f'{v:+.2f}' for v in z)}; median sd error {error:+.4f};"
              f" row z sd {rows['z_mean'].std():.2f} (mean), {rows['z_sd'].std():.2f} (sd)")  # fmt: skip
    print(f"pooled sd z over {len(every)}: mean {np.mean(every):+.2f}, sd {np.std(every, ddof=1):.2f}")


if __name__ == "__main__":
    main()
