"""SBC speed and calibration, measured side by side in one run.

``speed``: simulations judged per second at R simulations, the suite's batched blocks
against one fit per simulation (simuk's loop: ``simuk.SBC`` with ``pm.sample`` per
simulation, when simuk is installed; otherwise the same loop written out: a one-data-set
model and one ``pm.sample`` per simulation), for NUTS and nutpie on normal_normal at one N.
The loop runs ``--loop-sims`` simulations (its cost per simulation is flat), the batched
fit all R; both include compilation and ranking, and both models observe each data set's
mean, as the suite's batched model does.

``blocks``: seconds per simulation of one batched unit at several block sizes (the
measurement behind ``study.sbc.DEFAULT_BLOCK``).

``workers``: wall time of ``compare.py sbc --model all --sampler nuts --sims 200`` with 1
and 2 Dask workers.

``defect``: the power catalogue's ``narrow_low`` (exact draws narrowed where the posterior
mean lies below the prior's lower quartile) in the fixed-truth study and in SBC.

``calibration``: the false-alarm rate of the rank tests on exactly uniform PIT values
(the null of a perfect engine), per test and for the Bonferroni-corrected run, over many
replications; and whole ``compare.py sbc --sampler exact`` runs over many seeds.

    .venv/bin/python benchmarks/sbc.py speed                 # about 6 minutes on 2 cores
    .venv/bin/python benchmarks/sbc.py blocks
    .venv/bin/python benchmarks/sbc.py workers               # about 45 minutes
    .venv/bin/python benchmarks/sbc.py defect                # about 2 minutes
    .venv/bin/python benchmarks/sbc.py calibration --runs 100
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pymc as pm
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.engines import SAMPLERS  # noqa: E402
from models.families import FAMILIES  # noqa: E402
from study import sbc, sbc_verdict  # noqa: E402

ENGINES = {"nuts": "pymc", "nutpie": "nutpie"}


def quiet(msg: str) -> None:
    """Drop progress messages."""


def batched_rate(engine: str, n: int, sims: int) -> tuple[float, float]:
    """Return the simulations judged per second by the suite (all blocks, ranks included), and seconds."""
    config = sbc.SbcConfig(sampler=engine, ns=(n,), sims=sims)
    start = time.perf_counter()
    sbc.run_sbc(config, log=quiet)
    seconds = time.perf_counter() - start
    return sims / seconds, seconds


def loop_rate(engine: str, n: int, sims: int) -> tuple[float, str]:
    """Return the simulations judged per second by one fit per simulation (simuk's loop if installed)."""
    family = FAMILIES["normal_normal"]
    settings = family.settings()
    kwargs = dict(draws=1000, tune=1000, chains=4, cores=1, nuts_sampler=ENGINES[engine], progressbar=False)
    try:
        import simuk
    except ImportError:
        simuk = None
    if simuk is not None:
        _, x = sbc.simulation(family, settings, 2026, n, 0)
        with pm.Model() as model:  # the same likelihood as the batched model: the sample mean
            mu = pm.Normal("mu", settings.prior_mean, np.sqrt(settings.prior_var))
            pm.Normal("xbar", mu, np.sqrt(settings.noise_var / n), observed=x.mean())
        run = simuk.SBC(model, num_simulations=sims, sample_kwargs=kwargs, seed=1, progress_bar=False)
        start = time.perf_counter()
        run.run_simulations()
        return sims / (time.perf_counter() - start), f"simuk {simuk.__version__} (SBC.run_simulations)"
    start = time.perf_counter()
    for s in range(sims):
        theta, x = sbc.simulation(family, settings, 2026, n, s)
        with pm.Model():
            mu = pm.Normal("mu", settings.prior_mean, np.sqrt(settings.prior_var))
            pm.Normal("xbar", mu, np.sqrt(settings.noise_var / n), observed=x.mean())
            idata = pm.sample(**kwargs, random_seed=s, quiet=True, compute_convergence_checks=False)
        draws = idata["posterior"]["mu"].values
        sbc._ranked(draws, float(theta["mu"]), np.random.default_rng(s))
    return sims / (time.perf_counter() - start), "the same loop written out (simuk not installed)"


def speed(args) -> None:
    """Print simulations per second, batched against the loop, per engine, and their ratio."""
    print(f"normal_normal, N = {args.n}, 4 chains x 1000 draws after 1000 tuning, ranks included")
    print(f"{'engine':<8} {'batched sims/s':>15} {'loop sims/s':>12} {'ratio':>7}  loop")
    for engine in args.engines.split(","):
        if not SAMPLERS[engine].available:
            print(f"{engine:<8} unavailable here")
            continue
        fast, seconds = batched_rate(engine, args.n, args.sims)
        slow, how = loop_rate(engine, args.n, args.loop_sims)
        print(f"{engine:<8} {fast:>15.2f} {slow:>12.3f} {fast / slow:>6.1f}x  {how}; batched: {args.sims} "
              f"sims in {seconds:.0f} s, loop: {args.loop_sims} sims")  # fmt: skip


def blocks(args) -> None:
    """Print seconds per simulation of one unit at each block size (median of ``--repeats``)."""
    print(f"normal_normal, {args.engine}, N = {args.n}: one unit per block size, median of {args.repeats}")
    for block in (50, 100, 250, 500, 1000):
        config = sbc.SbcConfig(sampler=args.engine, ns=(args.n,), sims=block, block=block)
        unit = sbc.units(config, SAMPLERS[args.engine])[0]
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            sbc.run_unit(unit)
            times.append(time.perf_counter() - start)
        t = statistics.median(times)
        print(f"block {block:>5}: {t:6.1f} s, {1000 * t / block:5.1f} ms per simulation")


def workers(args) -> None:
    """Print the wall time of the all-family NUTS SBC on 1 and 2 Dask workers."""
    base = [sys.executable, "compare.py", "sbc", "--model", "all", "--sampler", "nuts"]
    base += ["--sims", str(args.sims)]
    print(f"compare.py sbc --model all --sampler nuts --sims {args.sims} ({len(FAMILIES)} families x 3 N)")
    for label, extra in (("--workers 1", ["--workers", "1"]), ("--workers 2", ["--workers", "2"])):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            done = subprocess.run([*base, *extra, "--out", out], cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - start
        print(f"{label:<16} {seconds:7.0f} s (exit {done.returncode})", flush=True)


def defect(args) -> None:
    """Print the fixed-truth study's verdict and SBC's tests for the narrow_low defect."""
    from models.engines import Sampler
    from study.power import DEFECTS
    from study.run import StudyConfig, run_study

    d = DEFECTS["narrow_low"]
    engine = Sampler(f"narrow_low({args.f:g})", d.description, True, "distribution", None, (),
                     d.engine(args.f), needs_problem=True)  # fmt: skip
    caught = 0
    for s in range(args.seeds):
        study = run_study(StudyConfig(sampler=engine.name, seed=2026 + s), engine=engine, log=quiet)
        caught += not study.agrees
    print(f"{engine.name}: the fixed-truth study (default, seeds 2026..{2025 + args.seeds}) disagrees in "
          f"{caught} of {args.seeds} runs")  # fmt: skip
    result = sbc.run_sbc(sbc.SbcConfig(sampler=engine.name, sims=args.sims), engine=engine, log=quiet)
    tests = sbc_verdict.judge_ranks(sbc_verdict.tests_table([result]), 0.01)
    ranks = tests[tests["test"].isin(["uniformity", "normal_mean", "normal_var"])]
    print(f"SBC, {args.sims} sims per N (each judged test at {tests['alpha'].min():.2g}):")
    print(ranks[["n", "quantity", "test", "statistic", "pvalue", "agree"]].to_string(index=False))


def calibration(args) -> None:
    """Print the rank tests' false-alarm rates on exact uniforms, and whole exact-engine runs over seeds."""
    rng = np.random.default_rng(args.first_seed)
    tests = ("uniformity", "normal_mean", "normal_var")
    p = np.array(
        [[q for _, _, q in sbc_verdict.rank_tests(rng.uniform(size=args.sims))] for _ in range(args.reps)]
    )
    print(f"rank tests on exactly uniform PIT values, {args.sims} simulations, {args.reps} replications "
          "(rate, and its 99% Clopper-Pearson interval):")  # fmt: skip
    m = 24  # judged tests of a default run: per N, 2 quantities x 3 rank tests + 2 closed-form tests
    for level in (0.05, 0.01, 0.001, 0.01 / m):
        parts = []
        for i, t in enumerate(tests):
            k = int(np.sum(p[:, i] < level))
            ci = stats.binomtest(k, len(p)).proportion_ci(0.99, method="exact")
            parts.append(f"{t} {k / len(p):.5f} [{ci.low:.5f}, {ci.high:.5f}]")
        print(f"  at level {level:.3g}: " + "; ".join(parts))
    k = int(np.sum((p < 0.01 / m).any(axis=1)))
    ci = stats.binomtest(k, len(p)).proportion_ci(0.99, method="exact")
    print(f"  any of the 3 below 0.01 / {m} (one quantity's Bonferroni share): {k / len(p):.5f} "
          f"[{ci.low:.5f}, {ci.high:.5f}] (stated at most {3 * 0.01 / m:.5f})")  # fmt: skip
    if not args.runs:
        return
    fired, k = 0, 0
    for s in range(args.runs):
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run(
                [sys.executable, "compare.py", "sbc", "--model", args.model, "--sampler", "exact", "--sims",
                 str(args.run_sims), "--seed", str(args.first_seed + s), "--out", out],
                cwd=ROOT, capture_output=True, text=True,
            )  # fmt: skip
            doc = json.loads((Path(out) / "results.json").read_text())
        k = doc["judged_tests"]
        fired += done.returncode == 1
        print(f"\rwhole runs: {fired} false alarms in {s + 1}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(f"compare.py sbc --model {args.model} --sampler exact --sims {args.run_sims}: {fired} of "
          f"{args.runs} runs raised a false alarm ({k} judged tests a run; stated: at most 1%)")  # fmt: skip


def main() -> None:
    """Parse the command line and run one measurement."""
    logging.getLogger("pymc").setLevel(logging.ERROR)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--sims", type=int, default=1000)
    s.add_argument("--loop-sims", type=int, default=20)
    s.add_argument("--n", type=int, default=100)
    s.add_argument("--engines", default="nuts,nutpie")
    b = sub.add_parser("blocks")
    b.add_argument("--engine", default="nuts")
    b.add_argument("--n", type=int, default=100)
    b.add_argument("--repeats", type=int, default=3)
    w = sub.add_parser("workers")
    w.add_argument("--sims", type=int, default=200)
    d = sub.add_parser("defect")
    d.add_argument("--f", type=float, default=0.5)
    d.add_argument("--sims", type=int, default=1000)
    d.add_argument("--seeds", type=int, default=20)
    c = sub.add_parser("calibration")
    c.add_argument("--sims", type=int, default=1000)
    c.add_argument("--reps", type=int, default=20_000)
    c.add_argument("--runs", type=int, default=0)
    c.add_argument("--run-sims", type=int, default=200)
    c.add_argument("--model", default="all")
    c.add_argument("--first-seed", type=int, default=40_000)
    args = p.parse_args()
    run = {"speed": speed, "blocks": blocks, "workers": workers, "defect": defect, "calibration": calibration}
    run[args.what](args)


if __name__ == "__main__":
    main()
