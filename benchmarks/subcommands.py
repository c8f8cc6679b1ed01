"""Every subcommand at its defaults, end to end: in its own process alone, and on one worker per core.

Each command runs as a fresh ``python compare.py ...`` process with warm caches (after one
untimed run of the default study), its outputs written to a temporary folder, two ways side
by side, alternating:

- ``in process``: ``--workers 0``, every work unit one after the other in the command's own
  process (the default before work units went to one Dask worker per core);
- ``default``: no flag: one worker per core where the run has enough units
  (``study.units.default_workers``), else in process.

Two more ways, chosen with ``--ways``, time the default command as the first run on a fresh
machine, with empty caches (in new temporary folders for each run, as in
``benchmarks/end_to_end.py``):

- ``cold``: PyTensor's and numba's compile caches and Matplotlib's font cache empty;
- ``cold_compile``: only the compile caches empty, so that ``cold - cold_compile`` is the
  font cache's share and ``cold_compile - default`` the compile caches'.

It prints, per command and way, the median wall time of ``--repeats`` runs, the CPU seconds
of the command's processes (their user and system time, from ``getrusage`` of the
children), and the ratio of the two ways' medians. ``--before PATH`` adds a third way: the
default command in another checkout (``git worktree add PATH REV``), for a before/after.

    .venv/bin/python benchmarks/subcommands.py                                # every command, ~45 min
    .venv/bin/python benchmarks/subcommands.py --commands sbc,gradients --repeats 1
    .venv/bin/python benchmarks/subcommands.py --commands power --ways default
    .venv/bin/python benchmarks/subcommands.py --ways default,cold,cold_compile  # ~70 min
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.end_to_end import empty_caches  # noqa: E402

COMMANDS = {
    "study": [],
    "model_all": ["--model", "all"],
    "sampler_all": ["--sampler", "all"],
    "power": ["power"],
    "sbc": ["sbc"],
    "gradients": ["gradients"],
}
WAYS = {"in_process": ["--workers", "0"], "default": [], "cold": [], "cold_compile": []}
COLD = {"cold": True, "cold_compile": False}  # way -> whether Matplotlib's font cache is emptied too


def timed(checkout: Path, argv: list[str], cold: bool | None = None) -> tuple[float, float, int]:
    """Run ``compare.py argv`` in ``checkout``; return its wall seconds, CPU seconds and exit status.

    ``cold`` True or False: with empty compile caches (and font cache, if True), as ``COLD``.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        env = os.environ | (empty_caches(Path(out) / "caches", fonts=cold) if cold is not None else {})
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "compare.py", *argv, "--out", str(Path(out) / "results")],
            cwd=checkout,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main() -> None:
    """Time the chosen commands the chosen ways, alternating, and print medians and ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--commands", default=",".join(COMMANDS), help=f"from: {', '.join(COMMANDS)}")
    p.add_argument("--ways", default=",".join(WAYS), help=f"from: {', '.join(WAYS)}")
    p.add_argument("--repeats", type=int, default=1, help="runs per command and way (default: 1)")
    p.add_argument("--before", type=Path, help="another checkout whose default command is timed too")
    args = p.parse_args()
    commands = [c.strip() for c in args.commands.split(",")]
    ways = {w.strip(): (ROOT, WAYS[w.strip()]) for w in args.ways.split(",")}
    if args.before:
        ways["before"] = (args.before.resolve(), [])
    timed(ROOT, ["--sampler", "exact"])  # warm the caches
    for command in commands:
        runs: dict[str, list[tuple[float, float, int]]] = {w: [] for w in ways}
        for _ in range(args.repeats):
            for way, (checkout, extra) in ways.items():
                runs[way].append(timed(checkout, [*COMMANDS[command], *extra], COLD.get(way)))
                wall, cpu, code = runs[way][-1]
                print(
                    f"  {command:12s} {way:12s} {wall:8.1f} s  cpu {cpu:8.1f} s  exit {code}", file=sys.stderr
                )
        medians = {w: statistics.median(r[0] for r in rs) for w, rs in runs.items()}
        for way, rs in runs.items():
            cpu = statistics.median(r[1] for r in rs)
            print(f"{command:12s} {way:12s} {medians[way]:8.1f} s   cpu {cpu:8.1f} s   median of {len(rs)}")
        if "in_process" in medians and "default" in medians:
            print(f"{command:12s} in_process / default: {medians['in_process'] / medians['default']:.2f}x")
        if "before" in medians and "default" in medians:
            print(f"{command:12s} before / default: {medians['before'] / medians['default']:.2f}x")
        if "cold" in medians and "default" in medians:
            print(f"{command:12s} cold - default: {medians['cold'] - medians['default']:+.1f} s", end="")
            if "cold_compile" in medians:
                compile_share = medians["cold_compile"] - medians["default"]
                print(f"  (compile caches {compile_share:+.1f} s, fonts and the rest "
                      f"{medians['cold'] - medians['cold_compile']:+.1f} s)", end="")  # fmt: skip
            print()


if __name__ == "__main__":
    main()
