"""Run a benchmark's measurement in a fresh process that imports the suite from a given checkout.

A before/after figure times the same code path in this checkout and in another commit's
(``git worktree add PATH REV``), each in a process of its own, so that neither imports
the other's modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent


def run_in_checkout(checkout: Path, module: str, call: str) -> list[str]:
    """Print ``module.call`` (this folder's module) from a fresh process on ``checkout``'s suite.

    Returns the words it printed; a failed run ends the benchmark with its error.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(checkout)!r}); sys.path.insert(0, {str(BENCHMARKS)!r}); "
        f"import {module}; result = {module}.{call}; "
        "print(*result) if isinstance(result, (list, tuple)) else print(result)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run in {checkout} failed:\n{done.stderr[-2000:]}")
    return done.stdout.split()
