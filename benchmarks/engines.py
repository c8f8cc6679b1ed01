"""Rank every available inference engine by effective draws per second on one study.

Every engine fits the same data sets (the default study unless flags say otherwise), one
batched model per run, ``--repeats`` times in this one process. The first run of each
engine is its cold run: its ``compile`` column is the compilation the engine's API lets
us time apart (``-`` where compilation happens inside the sampling call and is counted
there). Later runs find PyTensor's, numba's and JAX's caches warm. Printed per engine:
compile time (cold run), wall time (cold, and median of the warm runs), the worst data
set's bulk ESS, ESS per second of warm wall time (and of sampling alone, compile left
out where the engine separates it), the largest error of the mean in exact sds, and
whether every row agreed.
Engines are ranked by ESS/s; approximations and points are listed after, by wall time.

    .venv/bin/python benchmarks/engines.py                     # about 10 minutes on 2 cores
    .venv/bin/python benchmarks/engines.py --reps 5 --repeats 2 --engines nuts,nutpie
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.engines import SAMPLERS  # noqa: E402
from report.document import table  # noqa: E402
from study.run import StudyConfig, run_study  # noqa: E402


def measure(config: StudyConfig, repeats: int) -> dict:
    """Cold run, then ``repeats - 1`` warm runs of one engine; figures for the table."""
    runs = [run_study(config, log=lambda _: None) for _ in range(repeats)]
    cold, warm = runs[0], runs[1:] or runs[:1]
    walls = [float(r.rows["wall_time"].iloc[0]) for r in warm]
    wall = statistics.median(walls)
    ess = min(float(r.rows["ess_bulk"].min()) for r in runs)
    return {
        "engine": config.sampler,
        "compile": float(cold.rows["compile_time"].iloc[0]),
        "cold": float(cold.rows["wall_time"].iloc[0]),
        "wall": wall,
        "ess": ess,
        "ess_per_s": ess / wall,
        "ess_per_sampling_s": ess / statistics.median(float(r.rows["sampling_time"].iloc[0]) for r in warm),
        "agree": all(bool(r.rows["agree"].all()) for r in runs),
        "error": float(cold.rows["mean_error_sd"].abs().max()),
        "map_error": float(cold.rows["mode_error_sd"].abs().max()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engines", default="all", help="comma list of engines, or all (default)")
    p.add_argument("--n", nargs="+", type=int, default=[10, 100, 1000])
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3, help="runs per engine; the first is the cold one")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("pymc").setLevel(logging.ERROR)
    names = (
        [n for n, s in SAMPLERS.items() if s.available] if args.engines == "all" else args.engines.split(",")
    )
    print(
        f"configuration: N = {args.n}, {args.reps} reps -> {len(args.n) * args.reps} data sets in one model; "
        f"{args.chains} chains x {args.draws} draws + {args.tune} tune; {args.repeats} runs per engine",
        flush=True,
    )
    figures = []
    for name in names:
        config = StudyConfig(
            sampler=name,
            ns=tuple(args.n),
            reps=args.reps,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
        )
        figures.append(measure(config, args.repeats))
        f = figures[-1]
        print(f"  {name}: cold {f['cold']:.1f} s, warm median {f['wall']:.1f} s", flush=True)

    def line(f):
        ok = "yes" if f["agree"] else "NO"
        compile_s = "-" if f["compile"] != f["compile"] else f"{f['compile']:.2f}"
        error = f["map_error"] if SAMPLERS[f["engine"]].kind == "point" else f["error"]
        numbers = (f["cold"], f["wall"], f["ess"], f["ess_per_s"], f["ess_per_sampling_s"], error)
        formats = (".2f", ".2f", ".0f", ".0f", ".0f", ".3f")
        return [
            f["engine"],
            compile_s,
            *(format(v, spec) for v, spec in zip(numbers, formats, strict=True)),
            ok,
        ]

    headers = [
        "engine",
        "compile s",
        "cold s",
        "warm s",
        "min ESS",
        "ESS/s",
        "ESS/s sampling",
        "max|err|/sd",
        "agree",
    ]
    exact = [f for f in figures if SAMPLERS[f["engine"]].exact]
    exact.sort(key=lambda f: (not f["agree"], -f["ess_per_s"]))
    others = sorted((f for f in figures if not SAMPLERS[f["engine"]].exact), key=lambda f: f["wall"])
    print("\nsamplers, ranked by ESS/s (worst data set's bulk ESS per warm wall second; NO: rows disagree)")
    print(table(headers, [line(f) for f in exact]))
    if others:
        print(
            "\napproximations and points, by warm wall time (ESS: of iid draws from the approximation; "
            "find_map: error of its MAP)"
        )
        print(table(headers, [line(f) for f in others]))
    ranked = [f for f in exact if f["agree"]]
    if ranked:
        best = ranked[0]
        print(f"\nfastest agreeing sampler: {best['engine']} ({best['ess_per_s']:.0f} ESS/s); others:")
        for other in ranked[1:]:
            print(f"  {best['ess_per_s'] / other['ess_per_s']:6.1f}x  {other['engine']}")


if __name__ == "__main__":
    main()
