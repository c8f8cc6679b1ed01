"""Measure the zoo's catch table over many seeds, a few at a time, and print it.

``python compare.py zoo`` runs every bug and twin in one go and writes its table at the
end: at 20 seeds that is a day of two cores, and a stopped run leaves nothing. This
script runs the same work units (``study.zoo``, the very code of ``compare.py zoo``) at
the default study and appends each run to the zoo's ledger (``study/zoo_runs.csv``, and
``study/zoo_sbc_runs.csv`` for the SBC peer) as it finishes; runs already there are
skipped, so a measurement can be stopped, resumed and spread over days. A line depends on
its bug, variant, family, configuration and seed only.

    # every bug and twin up to 20 seeds, the seeds in step (all bugs at seed 6, then 7, ...)
    python benchmarks/zoo_catch.py --seeds 20 --workers 2
    # only the bugs, or some of them; the SBC peer
    python benchmarks/zoo_catch.py --seeds 20 --variant bug --bugs keanu_492,pymc_8444
    python benchmarks/zoo_catch.py --seeds 0 --sbc-seeds 2 --bugs pymc_798
    # the catch table from the ledger (docs/zoo.md shows it)
    python benchmarks/zoo_catch.py --table
    # a finished compare.py zoo run's runs into the ledger (at the default study only)
    python benchmarks/zoo_catch.py --add results/ [--bugs NAMES] --commit abc1234
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.families import FAMILIES  # noqa: E402
from report.zoo import zoo_report  # noqa: E402
from study import calibration, zoo  # noqa: E402
from study.run import StudyConfig  # noqa: E402
from study.units import Executor, UnitFailure  # noqa: E402

CONFIGS = {f: [StudyConfig(family=f)] for f in FAMILIES}  # the default study, seed 2026 onwards
ROOT = Path(__file__).resolve().parents[1]


def commit() -> str:
    """Return the checkout's commit, with ``+`` if its tracked code has changes ('' outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
        ledgers = [f":!{path.relative_to(ROOT)}" for path in (zoo.LEDGER, zoo.SBC_LEDGER)]  # lines it adds
        diff = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", ".", *ledgers], cwd=ROOT)
        dirty = diff.returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head + "+" * dirty


def measure(units: list[tuple], workers: int) -> None:
    """Run the units on ``workers`` Dask processes, appending each run to its ledger as it finishes."""
    print(f"{len(units)} runs to measure", file=sys.stderr)
    at = commit()

    def keep(unit: tuple, result: object) -> None:
        if isinstance(result, UnitFailure):
            print(f"  {result}", file=sys.stderr)
            return
        path = zoo.SBC_LEDGER if unit[0] == "sbc" else zoo.LEDGER
        calibration.append([zoo.ledger_line(unit, result) | {"commit": at}], path)

    with Executor(workers=workers) as executor:
        executor.map(zoo.run_unit, units, label=zoo.label, on_result=keep,
                     log=lambda line: print(f"  {line}", file=sys.stderr, flush=True))  # fmt: skip


def add(folder: Path, bugs: list[str], at: str) -> int:
    """Append a finished ``compare.py zoo`` run's runs of ``bugs`` (default study only) to the ledger.

    ``at`` is the commit the run was made at. Return how many. Only runs of the zoo's code
    as it is now belong there (``zoo.REVISION``).
    """
    config = json.loads((folder / "results.json").read_text())["config"]
    default = StudyConfig()
    asked = {k: config[k] for k in ("reps", "draws", "tune", "chains", "alpha")}
    if tuple(config["ns"]) != default.ns or asked != {k: getattr(default, k) for k in asked}:
        raise SystemExit(f"error: {folder} was not run at the default study: {config}")
    sbc_key = zoo.configuration(default, config.get("sbc_sims"))
    keys = {
        "zoo_runs.csv": (zoo.LEDGER, zoo.configuration(default)),
        "zoo_sbc_runs.csv": (zoo.SBC_LEDGER, sbc_key),
    }
    added = 0
    for name, (path, key) in keys.items():
        if (folder / name).exists() and (folder / name).read_text().strip():  # SBC only: no study runs
            runs = pd.read_csv(folder / name).assign(configuration=key, revision=zoo.REVISION, commit=at)
            runs = runs[runs["bug"].isin(bugs)]
            calibration.append(runs.to_dict(orient="records"), path)
            added += len(runs)
    return added


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20, help="study seeds per bug, family and variant")
    p.add_argument("--sbc-seeds", type=int, default=0, help="SBC peer runs per bug, family and variant")
    p.add_argument("--sbc-sims", type=int, default=zoo.peer_sbc.SIMS, help="simulations per SBC peer run")
    p.add_argument("--bugs", default="all", help="a name, a comma list or 'all'")
    p.add_argument("--variant", choices=("both", *zoo.VARIANTS), default="both")
    p.add_argument("--workers", type=int, default=1, help="Dask worker processes")
    p.add_argument("--table", action="store_true", help="print the catch table from the ledger and exit")
    p.add_argument("--add", type=Path, metavar="FOLDER", help="append a compare.py zoo run's runs and exit")
    p.add_argument("--commit", default="", help="with --add: the commit that run was made at")
    args = p.parse_args()
    try:
        bugs = zoo.parse_bugs(args.bugs)
    except ValueError as err:
        p.error(str(err))
    if args.add:
        if not (args.add / "results.json").exists():
            p.error(f"--add {args.add}: no results.json there (give a compare.py zoo output folder)")
        added = add(args.add, [b.name for b in bugs], args.commit)
        print(f"{added} runs added to the ledger", file=sys.stderr)
        return
    if not args.table:
        variants = zoo.VARIANTS if args.variant == "both" else (args.variant,)
        done = zoo.measured_keys(zoo.measured(zoo.LEDGER), zoo.measured(zoo.SBC_LEDGER))
        sbcs, studies = zoo.plan_units(
            CONFIGS, bugs, seeds=args.seeds, sbc_seeds=args.sbc_seeds, sbc_sims=args.sbc_sims,
            variants=variants, skip=done,
        )  # fmt: skip
        order = {b.name: i for i, b in enumerate(bugs)}
        # the seeds in step (a study seed is --seed + s): every bug's next seed before any bug's one after
        studies.sort(key=lambda u: (u[4].seed, order[u[1]], u[2]))
        measure(sbcs + studies, args.workers)
    order = {name: i for i, name in enumerate(zoo.BUGS)}  # the table in the zoo's order

    def in_order(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values("bug", key=lambda b: b.map(order), kind="stable") if len(frame) else frame

    runs, sbc_runs = in_order(zoo.measured(zoo.LEDGER)), in_order(zoo.measured(zoo.SBC_LEDGER))
    if not len(runs) and not len(sbc_runs):
        print("nothing measured yet")
        return
    seeds = int(runs.groupby(["bug", "model", "variant"]).size().max()) if len(runs) else 0
    sbc_seeds = int(sbc_runs.groupby(["bug", "model", "variant"]).size().max()) if len(sbc_runs) else 0
    result = zoo.ZooResult(runs, StudyConfig().alpha, seeds, StudyConfig(), sbc_runs, sbc_seeds)
    print(zoo_report(result).text)
    print(f"\n{len(runs)} study runs and {len(sbc_runs)} SBC peer runs in the ledger (zoo at {zoo.REVISION})")


if __name__ == "__main__":
    main()
