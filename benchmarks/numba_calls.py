"""What numba's typing of each call cost the ADVI engines, and what ``models.engines.numba_calls`` saves.

Runs a family's default study with each named engine (the tuned ``advi`` and PyMC's
``advi_defaults`` by default: 30,000 and 10,000 optimisation steps, each step one call of a
numba-compiled PyTensor function that draws from a NumPy Generator) in this process, in turn
with numba's own typing of the call's arguments and with the memo in front of it
(``numba_calls.install``), ``--repeats`` times each, alternating, after one warm-up run of each
engine that compiles everything. Prints each engine's median seconds both ways and their
ratio, and checks that the draws are the same bytes both ways.

    .venv/bin/python benchmarks/numba_calls.py                          # about 2 minutes
    .venv/bin/python benchmarks/numba_calls.py --engines advi,fullrank_advi --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.engines import numba_calls  # noqa: E402
from models.families import FAMILIES  # noqa: E402
from study import run as study_run  # noqa: E402

_install = numba_calls.install


def run_once(config: study_run.StudyConfig, memo: bool) -> tuple[float, list[np.ndarray]]:
    """One study's wall seconds and its draws, with the memo in place or numba's own typing."""
    numba_calls.install = _install if memo else numba_calls.uninstall
    numba_calls.uninstall()
    drawn: list = []
    start = time.perf_counter()
    study_run.run_study(config, log=lambda _: None, on_draws=lambda sampled: drawn.append(sampled.idata))
    seconds = time.perf_counter() - start
    numba_calls.install = _install
    return seconds, [d["posterior"][v].values for d in drawn for v in d["posterior"].data_vars]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="normal_normal", choices=list(FAMILIES))
    p.add_argument("--engines", default="advi,advi_defaults")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    print(f"{args.model}'s default study, each engine's run in this process; median of {args.repeats}")
    for engine in args.engines.split(","):
        config = study_run.StudyConfig(family=args.model, sampler=engine)
        run_once(config, memo=True)
        run_once(config, memo=False)
        times: dict[bool, list[float]] = {False: [], True: []}
        draws: dict[bool, list[np.ndarray]] = {}
        for _ in range(args.repeats):
            for memo in (False, True):
                seconds, draws[memo] = run_once(config, memo)
                times[memo].append(seconds)
        same = all(np.array_equal(a, b) for a, b in zip(draws[False], draws[True], strict=True))
        off, on = statistics.median(times[False]), statistics.median(times[True])
        print(f"  {engine:<14s} numba's typing {off:7.2f} s   memo {on:7.2f} s   {off / on:.2f}x   "
              f"draws {'the same' if same else 'DIFFER'}")  # fmt: skip
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
