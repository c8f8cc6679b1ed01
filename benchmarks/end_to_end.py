"""The default study as a user waits for it: end to end, against the naive loop and the floor.

Measured side by side in one run, on the same data sets and sampler settings (the default
study: N = 10, 100, 1000, 20 data sets each, 4 chains x 1000 draws after 1000 tuning):

- ``naive``: a new PyMC model and ``pm.sample`` (PyMC's NUTS, the library's default) per
  data set, in this one process (``batched_vs_naive.naive``).
- ``compare.py``: ``python compare.py`` as a fresh process, warm caches (after one untimed
  run), outputs written to a temporary folder.
- ``floor``: a fresh process that starts Python, imports PyMC, builds the batched model,
  compiles its log density and gradient (what every gradient engine needs) and draws the
  same number of exact iid posterior draws from the closed form. No engine can do less.
- ``imports`` and the engine's own time: issue 29's floor, a fresh process that imports
  PyMC, nutpie and arviz_stats, plus nutpie's compile and sampling as each timed
  ``compare.py`` run's summary.csv reports them.
- ``exact`` against ``suite``: ``python compare.py --sampler exact`` (the exact engine's iid
  draws: the study with no sampler's cost) against issue 29's floor for it, a fresh process
  that imports the suite's study (``study.run`` and the families, which bring PyMC and
  ArviZ's stats) and simulates the default study's data sets. The plotting libraries the
  run's plot workers import on the other core are not in that floor: ``plots``, a fresh
  process that imports what their server does (``report.plot_server``), times them apart.
- ``cold``: the first ``compare.py`` on a fresh machine: PyTensor's and numba's compile
  caches (``PYTENSOR_FLAGS=base_compiledir=...``, ``NUMBA_CACHE_DIR``) and Matplotlib's
  font cache (``MPLCONFIGDIR``) in empty temporary folders; once more with only the compile
  caches empty, to say where the extra time goes.

Each timed figure is the median of ``--repeats`` runs, the approaches alternating. With
``--wide`` it also times ``compare.py --model all`` and ``compare.py --sampler all`` (once
each); ``--before PATH`` times ``compare.py`` (and, with ``--wide``, the wide commands) in
another checkout too (``git worktree add PATH REV``), alternating with this one.

    .venv/bin/python benchmarks/end_to_end.py                 # about 6 minutes on 2 cores
    .venv/bin/python benchmarks/end_to_end.py --repeats 1 --no-naive     # quick look
    .venv/bin/python benchmarks/end_to_end.py --wide --before /tmp/old --no-naive --repeats 1
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FLOOR_CHILD = """
import sys
import numpy as np
import pymc as pm
from pymc.model.transform.optimization import freeze_dims_and_data

data = np.load(sys.argv[1])
ns = [int(k.split("_")[1]) for k in data.files]
nu, beta2, sigma2, draws = (float(v) for v in sys.argv[2:6])
with pm.Model(coords={"n": ns, "rep": np.arange(data[data.files[0]].shape[0])}) as model:
    mu = pm.Normal("mu", mu=nu, sigma=np.sqrt(beta2), dims=("n", "rep"))
    for i, key in enumerate(data.files):
        pm.Normal(f"x_{key}", mu=mu[i][:, None], sigma=np.sqrt(sigma2), observed=data[key])
model = freeze_dims_and_data(model)
logp_dlogp = model.logp_dlogp_function(ravel_inputs=True)
logp_dlogp.set_extra_values({})
logp_dlogp(model.initial_point()["mu"].ravel())
rng = np.random.default_rng(1)
for key in data.files:
    x = data[key]
    var = 1 / (1 / beta2 + x.shape[1] / sigma2)
    mean = var * (nu / beta2 + x.sum(axis=1) / sigma2)
    rng.normal(mean, np.sqrt(var), size=(int(draws), len(mean)))
"""


def run_process(args: list[str], *, cwd: Path = ROOT, env: dict | None = None) -> float:
    """Wall seconds of one fresh process (exit status 0 or 1: a run may report a disagreement)."""
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
                          capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall


def compare_py(out: Path, *flags: str, cwd: Path = ROOT, env: dict | None = None) -> float:
    """Wall seconds of ``python compare.py FLAGS --out OUT`` as a fresh process."""
    return run_process(
        [sys.executable, "compare.py", *flags, "--out", str(out), "--no-progress"], cwd=cwd, env=env
    )


def empty_caches(folder: Path, *, fonts: bool) -> dict[str, str]:
    """Return an environment with empty compile caches (PyTensor's, numba's; Matplotlib's with ``fonts``)."""
    env = {
        "PYTENSOR_FLAGS": f"base_compiledir={folder / 'pytensor'}",
        "NUMBA_CACHE_DIR": str(folder / "numba"),
    }
    return env | ({"MPLCONFIGDIR": str(folder / "matplotlib")} if fonts else {})


def engine_seconds(out: Path, *columns: str) -> float:
    """Return the engines' time in ``columns`` (compile_time, sampling_time), as summary.csv records it.

    One row per engine and family; 0 where none is recorded.
    """
    import pandas as pd

    rows = pd.read_csv(out / "summary.csv").drop_duplicates(["model", "sampler"])
    return float(sum(rows[c].fillna(0).sum() for c in columns))


IMPORTS = [sys.executable, "-c", "import pymc, nutpie, arviz_stats"]
SUITE = [sys.executable, "-c", (
    "from models.families import FAMILIES; from study.run import StudyConfig, simulate_datasets; "
    "c = StudyConfig(); simulate_datasets(FAMILIES[c.family], c.settings, c.ns, c.reps, c.seed)"
)]  # fmt: skip
PLOTS = [sys.executable, "-c", "import report.plot_server"]


def main() -> None:
    """Time the naive loop, compare.py (warm and cold) and the floor; print medians and ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-naive", action="store_true", help="skip the naive loop (about 75 s a run)")
    p.add_argument("--wide", action="store_true", help="also time --model all and --sampler all")
    p.add_argument("--before", type=Path, help="another checkout to time compare.py (and --wide) in")
    args = p.parse_args()
    logging.getLogger("pymc").setLevel(logging.ERROR)
    from batched_vs_naive import naive

    from models.families import FAMILIES
    from study.run import StudyConfig, simulate_datasets

    config = StudyConfig()
    s = config.settings
    datasets = simulate_datasets(FAMILIES[config.family], s, config.ns, config.reps, config.seed)
    cells = len(config.ns) * config.reps
    print(
        f"default study: N = {list(config.ns)}, {config.reps} reps -> {cells} data sets; "
        f"{config.chains} chains x {config.draws} draws + {config.tune} tune; engine {config.sampler}"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data_file = tmp / "data.npz"
        import numpy as np

        np.savez(data_file, **{f"n_{n}": x for n, x in datasets.items()})
        floor_args = [sys.executable, "-c", FLOOR_CHILD, str(data_file), str(s.prior_mean), str(s.prior_var),
                      str(s.noise_var), str(config.chains * config.draws)]  # fmt: skip
        print("warming up (one untimed run of compare.py and of the floor) ...", flush=True)
        compare_py(tmp / "warm")
        run_process(floor_args)
        compare_py(tmp / "exact", "--sampler", "exact")
        timed = ("compare.py", "floor", "imports", "exact", "suite", "plots")
        times: dict[str, list[float]] = {k: [] for k in timed}
        engine: list[float] = []  # the engine's own seconds in each timed compare.py run
        if args.before:
            times["before"], times["before exact"] = [], []
            compare_py(tmp / "before", cwd=args.before)  # its own warm-up
            compare_py(tmp / "before", "--sampler", "exact", cwd=args.before)
        if not args.no_naive:
            times["naive"] = []
        for i in range(args.repeats):
            times["compare.py"].append(compare_py(tmp / "warm"))
            engine.append(engine_seconds(tmp / "warm", "compile_time", "sampling_time"))
            times["floor"].append(run_process(floor_args))
            times["imports"].append(run_process(IMPORTS))
            times["exact"].append(compare_py(tmp / "exact", "--sampler", "exact"))
            times["suite"].append(run_process(SUITE))
            times["plots"].append(run_process(PLOTS))
            if args.before:
                times["before"].append(compare_py(tmp / "before", cwd=args.before))
                before_exact = compare_py(tmp / "before", "--sampler", "exact", cwd=args.before)
                times["before exact"].append(before_exact)
            if not args.no_naive:
                times["naive"].append(naive(config, datasets))
            print(
                f"repeat {i + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
            )
        med = {k: statistics.median(v) for k, v in times.items()}
        warm_compile = engine_seconds(tmp / "warm", "compile_time")

        print("cold caches (first run on a fresh machine) ...", flush=True)
        cold = compare_py(tmp / "cold", env=empty_caches(tmp / "cold-caches", fonts=True))
        cold_compile = engine_seconds(tmp / "cold", "compile_time")
        cold_compile_only = compare_py(tmp / "cold2", env=empty_caches(tmp / "cold-caches-2", fonts=False))

        print()
        for k, v in med.items():
            print(f"{k:13s} {v:7.2f} s   median of {len(times[k])}")
        print(f"\ncompare.py / floor: {med['compare.py'] / med['floor']:.2f}x  (aim: within 2x)")
        own = med["imports"] + statistics.median(engine)
        print(
            f"compare.py / (imports + the engine's compile and sampling, {med['imports']:.2f} + "
            f"{statistics.median(engine):.2f} s): {med['compare.py'] / own:.2f}x  (issue 29: within 1.25x)"
        )
        print(
            f"compare.py --sampler exact / (the suite's import and its data, {med['suite']:.2f} s): "
            f"{med['exact'] / med['suite']:.2f}x  (issue 29: within 1.3x)"
        )
        print(
            f"  the plot workers' imports alone (report.plot_server, on the other core): "
            f"{med['plots']:.2f} s; the drawing and writing after them: {med['exact'] - med['plots']:.2f} s"
        )
        if "before" in med:
            print(f"before ({args.before}) / compare.py: {med['before'] / med['compare.py']:.2f}x")
            print(f"before --sampler exact / this checkout's: {med['before exact'] / med['exact']:.2f}x")
        if "naive" in med:
            ratio = med["naive"] / med["compare.py"]
            print(f"naive / compare.py end to end: {ratio:.1f}x  (target >= 20x)")
        warm = med["compare.py"]
        print(f"\ncold caches (first run on a fresh machine): {cold:.2f} s, {cold - warm:+.2f} s over warm")
        print(f"  the engine's compile: {cold_compile:.2f} s cold, {warm_compile:.2f} s warm")
        print(
            f"  only the compile caches empty: {cold_compile_only:.2f} s ({cold_compile_only - warm:+.2f} s)"
        )
        print(f"  so Matplotlib's font cache and the rest: {cold - cold_compile_only:+.2f} s")
        if args.wide:
            wide(tmp, args.before)


def wide(tmp: Path, before: Path | None) -> None:
    """Time --model all and --sampler all once each, here and (alternating) in ``before``."""
    trees = {"this checkout": ROOT} | ({f"before ({before})": before} if before else {})
    for flags in (["--model", "all"], ["--sampler", "all"]):
        for label, tree in trees.items():
            wall = compare_py(tmp / "wide", *flags, cwd=tree)
            print(f"compare.py {' '.join(flags):14s} {label:28s} {wall:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
