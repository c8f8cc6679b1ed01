"""What handing out short units costs on a local cluster: ``study.units.Executor.map`` against the work.

``compare.py power`` is 745 units of about 0.35 to 0.5 s on a worker; SBC's blocks are short
too. This maps ``--units`` units that each keep a worker's core busy for ``--seconds`` on a
cluster of ``--workers`` workers, after a few untimed ones, and prints the wall time against
the work's own (units x seconds / workers) and the overhead per unit. With ``--before PATH``
(a checkout of another commit: ``git worktree add PATH REV``) the same runs there, in a
process of its own, alternating with this checkout; the figure is the median of
``--repeats`` runs each way.

    .venv/bin/python benchmarks/unit_dispatch.py
    .venv/bin/python benchmarks/unit_dispatch.py --before ../before --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from checkouts import run_in_checkout

ROOT = Path(__file__).resolve().parents[1]


def busy(seconds: float) -> float:
    """Keep this core busy for ``seconds``; return them."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        pass
    return seconds


def measure(units: int, seconds: float, workers: int) -> float:
    """Wall seconds of mapping ``units`` busy units on a local cluster of ``workers``, in this checkout."""
    from study.units import Executor

    with Executor(workers=workers) as executor:
        executor.map(busy, [seconds] * 2 * workers, log=lambda msg: None)  # the workers' first calls
        start = time.perf_counter()
        executor.map(busy, [seconds] * units, log=lambda msg: None)
        return time.perf_counter() - start


def in_checkout(checkout: Path, units: int, seconds: float, workers: int) -> float:
    """``measure`` in a fresh process that imports the suite from ``checkout``."""
    return float(run_in_checkout(checkout, "unit_dispatch", f"measure({units}, {seconds}, {workers})")[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--units", type=int, default=100, help="units to map (default: 100)")
    p.add_argument("--seconds", type=float, default=0.3, help="a unit's busy time (default: 0.3)")
    p.add_argument("--workers", type=int, default=2, help="local workers (default: 2)")
    p.add_argument("--repeats", type=int, default=3, help="runs each way (default: 3)")
    p.add_argument("--before", type=Path, help="another checkout, timed the same way in turn")
    args = p.parse_args()
    work = args.units * args.seconds / args.workers
    checkouts = {"this checkout": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    walls: dict[str, list[float]] = {name: [] for name in checkouts}
    for _ in range(args.repeats):
        for name, checkout in checkouts.items():
            walls[name].append(in_checkout(checkout, args.units, args.seconds, args.workers))
            print(f"  {name:<14s} {walls[name][-1]:6.2f} s", flush=True)
    print(f"{args.units} units of {args.seconds:g} s on {args.workers} workers: {work:.2f} s of work each")
    med = {name: statistics.median(w) for name, w in walls.items()}
    for name, m in med.items():
        per_unit = 1000 * (m - work) * args.workers / args.units
        print(f"{name:<14s} {m:6.2f} s  median of {args.repeats}; {per_unit:.0f} ms over the work a unit")
    if args.before:
        print(f"before / this checkout: {med['before'] / med['this checkout']:.2f}x")


if __name__ == "__main__":
    main()
