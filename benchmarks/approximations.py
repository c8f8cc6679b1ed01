"""Each approximation's gap (the method's) and error (the code's) per family, for docs/approximations.md.

The gap needs no engine: on the default study's data sets (seed 2026, N = 10, 100, 1000,
20 replications), each approximation's exact optimum (``analytic.optimum``) against the
exact posterior, as the study reports it (``study.targets``): the largest |optimum mean -
exact mean| in exact sds, and the range of optimum sd / exact sd, over the data sets and
the scalar parameters. ``--verdicts`` also runs the engines judged against their optimum
(``laplace``, ``laplace_defaults``, ``advi``, ``advi_defaults``, ``fullrank_advi``, or those
``--engines`` names) on the default study of every family (or those ``--model`` names, with
``--reps`` replications) and prints, per engine and family, the gap
(the optimum's largest |mean gap| in exact sd and its sd ratios), the error (the engine's
largest |mean - optimum mean| in optimum sd and its sd over the optimum's), the verdict,
and the largest |z| of the mean, the sd and (full rank) the correlations against the optimum.

    .venv/bin/python benchmarks/approximations.py              # the gaps, seconds
    .venv/bin/python benchmarks/approximations.py --verdicts   # and the engines, about 3 hours
    .venv/bin/python benchmarks/approximations.py --verdicts --engines advi  # about 5 minutes
    .venv/bin/python benchmarks/approximations.py --verdicts --engines fullrank_advi --reps 4  # 15-40 min
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.engines import SAMPLERS  # noqa: E402
from models.families import FAMILIES  # noqa: E402
from study import targets  # noqa: E402
from study.run import StudyConfig, run_study, simulate_datasets  # noqa: E402

JUDGED = ("laplace", "laplace_defaults", "advi", "advi_defaults", "fullrank_advi")


def gaps(config: StudyConfig) -> pd.DataFrame:
    """One row per (approximation, family, N): the optimum's largest mean gap and its sd ratios."""
    out = []
    for key, family in FAMILIES.items():
        settings = family.settings()
        datasets = simulate_datasets(family, settings, config.ns, config.reps, config.seed)
        for n, x in datasets.items():
            exact = family.exact(x, settings)
            for target in targets.TARGETS:
                columns = targets.target_columns(family, settings, x, target)
                mean_gap, ratio = [], []
                for label, col in columns.items():
                    sd = exact[label]["post_sd_exact"]
                    mean_gap.append(np.abs(col["post_mean_target"] - exact[label]["post_mean_exact"]) / sd)
                    ratio.append(col["post_sd_target"] / sd)
                ratio = np.concatenate(ratio)
                out.append({"approximation": target, "family": key, "n": n,
                            "mean_gap_sd": float(np.max(mean_gap)), "sd_ratio_min": float(ratio.min()),
                            "sd_ratio_max": float(ratio.max())})  # fmt: skip
    return pd.DataFrame(out)


def verdicts(
    config: StudyConfig, engines: tuple[str, ...] = JUDGED, families=tuple(FAMILIES)
) -> pd.DataFrame:
    """Run each engine judged against its optimum on each family's default study (``config``'s reps)."""
    out = []
    for key in families:
        for engine in engines:
            study = StudyConfig(family=key, sampler=engine, seed=config.seed, reps=config.reps)
            result = run_study(study, log=lambda _: None)
            rows = result.rows
            error_mean = ((rows["post_mean"] - rows["post_mean_target"]) / rows["post_sd_target"]).abs()
            error_sd = rows["post_sd"] / rows["post_sd_target"]
            out.append({"engine": engine, "family": key,
                        "gap": f"{rows['gap_mean_sd'].abs().max():.3f}, "
                        f"{rows['gap_sd_ratio'].min():.3f}-{rows['gap_sd_ratio'].max():.3f}",
                        "error": f"{error_mean.max():.3f}, "
                        f"{error_sd.min():.3f}-{error_sd.max():.3f}",
                        "agree": result.agrees, "rows_agreeing": f"{int(rows['agree'].sum())}/{len(rows)}",
                        "max_z_mean": float(rows["z_mean"].abs().max()),
                        "max_z_sd": float(rows["z_sd"].abs().max()),
                        "max_z_corr": float(rows["z_corr"].abs().max()) if "z_corr" in rows else float("nan"),
                        "first_reason": "" if result.agrees else
                        [*result.failures["reason"], *result.pooled_failures["reason"]][0]})  # fmt: skip
    return pd.DataFrame(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--verdicts", action="store_true", help="also run the engines judged against their optimum"
    )
    p.add_argument("--engines", default=",".join(JUDGED), help="with --verdicts: which (comma list)")
    p.add_argument("--model", default="all", help="with --verdicts: which families (comma list, or all)")
    p.add_argument("--reps", type=int, default=StudyConfig().reps, help="with --verdicts: replications")
    args = p.parse_args()
    config = StudyConfig(reps=args.reps)
    families = tuple(FAMILIES) if args.model == "all" else tuple(m.strip() for m in args.model.split(","))
    if unknown := [m for m in families if m not in FAMILIES]:
        raise SystemExit(
            f"approximations.py: --model takes {', '.join(FAMILIES)} or all, not {', '.join(unknown)}"
        )
    table = gaps(config)
    print("Gap of each approximation's exact optimum to the exact posterior (default study's data sets):")
    print("largest |mean gap| in exact sd, and the range of sd ratios, over 20 data sets x parameters\n")
    wide = table.assign(cell=[f"{r.mean_gap_sd:.3f}, {r.sd_ratio_min:.3f}-{r.sd_ratio_max:.3f}"
                              for r in table.itertuples()])  # fmt: skip
    print(wide.pivot(index=["family", "n"], columns="approximation", values="cell")
          [list(targets.TARGETS)].to_string())  # fmt: skip
    if args.verdicts:
        engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
        if unknown := [e for e in engines if e not in JUDGED]:
            raise SystemExit(
                f"approximations.py: --engines takes {', '.join(JUDGED)}, not {', '.join(unknown)}"
            )
        if not all(SAMPLERS[e].available for e in engines):
            raise SystemExit("approximations.py: --verdicts needs pymc-extras (pip install -e '.[laplace]')")
        print(
            f"\nVerdicts against the optimum (default study: N = 10, 100, 1000; {config.reps} reps; "
            "4 x 1000 draws)"
        )
        print("gap: the optimum's largest |mean gap| in exact sd, its sd ratios; error: the engine's largest")
        print("|mean - optimum mean| in optimum sd, its sd over the optimum's\n")
        print(verdicts(config, engines, families).to_string(index=False, max_colwidth=70))


if __name__ == "__main__":
    main()
