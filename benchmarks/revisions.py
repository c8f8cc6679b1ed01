"""Time ``python compare.py`` end to end at two git revisions, side by side in one run.

Each revision is checked out into a temporary git worktree and run with this checkout's
interpreter, as a fresh process, with the same flags (the default study unless flags
follow ``--``). One untimed warm-up of each fills the compile caches; then the timed runs
alternate (base, head, base, head, ...) so both see the same machine load. Printed: the
median and the spread of each revision's wall times, and the ratio head / base.

    .venv/bin/python benchmarks/revisions.py                          # 11a06a4 against HEAD
    .venv/bin/python benchmarks/revisions.py --base HEAD~3 --repeats 3 -- --reps 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the last commit before the verdict's rework (exact engine, pooled tests, fast-math off)
DEFAULT_BASE = "11a06a4"


def run_once(tree: Path, flags: list[str], out: Path) -> float:
    """Wall seconds of one ``python compare.py`` in ``tree`` (exit 0 or 1 both count)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "compare.py", *flags, "--out", str(out)], cwd=tree, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"revisions.py: compare.py failed in {tree}:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default=DEFAULT_BASE, help=f"revision to compare with ({DEFAULT_BASE})")
    p.add_argument("--head", default="HEAD", help="the revision measured (default HEAD)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs of each revision (default 5)")
    p.add_argument("flags", nargs="*", help="compare.py flags, after --")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for label, rev in (("base", args.base), ("head", args.head)):
            trees[label] = Path(tmp) / label
            subprocess.run(["git", "worktree", "add", "--detach", str(trees[label]), rev], cwd=ROOT,
                           check=True, capture_output=True)  # fmt: skip
        try:
            times: dict[str, list[float]] = {"base": [], "head": []}
            for label, tree in trees.items():
                print(f"warm-up {label} ({tree.name}) ...", file=sys.stderr, flush=True)
                run_once(tree, args.flags, Path(tmp) / "out")
            for i in range(args.repeats):
                for label, tree in trees.items():
                    times[label].append(run_once(tree, args.flags, Path(tmp) / "out"))
                    print(f"run {i + 1}/{args.repeats} {label}: {times[label][-1]:.1f} s", file=sys.stderr)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    flags = " ".join(args.flags) or "(defaults)"
    print(f"python compare.py {flags}: {args.repeats} timed runs each, alternating, warm caches")
    for label, rev in (("base", args.base), ("head", args.head)):
        t = times[label]
        median = statistics.median(t)
        print(f"  {label} {rev:<10} median {median:6.2f} s  (min {min(t):.2f}, max {max(t):.2f})")
    ratio = statistics.median(times["head"]) / statistics.median(times["base"])
    paired = statistics.median(h / b for h, b in zip(times["head"], times["base"], strict=True))
    print(f"  head / base: {ratio:.3f} (ratio of medians), {paired:.3f} (median of paired ratios)")


if __name__ == "__main__":
    main()
