"""The cost of one run of the power study, by kind: in this checkout and, side by side, another.

``compare.py power`` is 745 runs at its defaults; 660 of them judge draws the suite makes
itself (exact draws transformed, or drawn off an approximation's exact optimum), each a whole
study and its verdict. This times those runs one after another in one warm process, as a
power worker runs them: the runs of the first two study seeds (which share their data sets,
as a worker's runs of one seed do), of the kinds asked for, after one untimed run of each
seed. Each repeat runs them all; the figure is the median over repeats of the mean time of
a run. With ``--before PATH`` (a checkout of another commit: ``git worktree add PATH REV``)
the same is timed there, in its own process, alternating with this checkout.

    .venv/bin/python benchmarks/power_run_cost.py                    # every kind of draws we make
    .venv/bin/python benchmarks/power_run_cost.py --kinds approx,fullrank --before ../before
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from checkouts import run_in_checkout

ROOT = Path(__file__).resolve().parents[1]


def measure(kinds: list[str], repeats: int) -> list[float]:
    """Seconds per run of each repeat, in the checkout this process imports the suite from."""
    from cli import power as power_cli
    from study.power import _power_unit, power_units

    plan = power_cli.parse(["--workers", "0"])
    units = power_units(plan.study.configs, plan.defects, seeds=plan.args.seeds)
    two = list(dict.fromkeys(u[6].seed for u in units))[:2]
    chosen = [u for u in units if u[2] in kinds and u[6].seed in two]
    if len(chosen) < 3:
        raise SystemExit(f"no runs of kinds {', '.join(kinds)}; kinds: draws, approx, fullrank")
    for seed in two:  # the data sets' closed forms and the libraries' first calls, untimed
        _power_unit(next(u for u in chosen if u[6].seed == seed))
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        for unit in chosen:
            _power_unit(unit)
        out.append((time.perf_counter() - start) / len(chosen))
    return out


def in_checkout(checkout: Path, kinds: str, repeats: int) -> list[float]:
    """``measure`` in a fresh process that imports the suite from ``checkout``."""
    printed = run_in_checkout(checkout, "power_run_cost", f"measure({kinds.split(',')!r}, {repeats})")
    return [float(v) for v in printed]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--kinds",
        default="draws,approx,fullrank",
        help="kinds of run, a comma list from: draws, approx, fullrank (the default: all three)",
    )
    p.add_argument("--repeats", type=int, default=3, help="repeats in each process (default: 3)")
    p.add_argument("--rounds", type=int, default=2, help="processes per checkout, alternating (default: 2)")
    p.add_argument("--before", type=Path, help="another checkout, timed the same way in turn")
    args = p.parse_args()
    checkouts = {"this checkout": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    seconds: dict[str, list[float]] = {name: [] for name in checkouts}
    for _ in range(args.rounds):
        for name, checkout in checkouts.items():
            runs = in_checkout(checkout, args.kinds, args.repeats)
            seconds[name] += runs
            print(f"  {name:<14s} {' '.join(f'{1000 * s:.0f}' for s in runs)} ms a run", flush=True)
    for name, values in seconds.items():
        print(f"{name:<14s} {1000 * statistics.median(values):7.1f} ms a run of kinds {args.kinds}, "
              f"median of {len(values)}")  # fmt: skip
    if args.before:
        ratio = statistics.median(seconds["before"]) / statistics.median(seconds["this checkout"])
        print(f"before / this checkout: {ratio:.2f}x")


if __name__ == "__main__":
    main()
