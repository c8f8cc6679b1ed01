"""Measure the verdict's false-alarm rates on correct engines, per test and per run, and print the table.

Runs the study (``study.run.run_study``, the very verdict code of ``compare.py``) for many
seeds with correct engines and appends one line per run to ``study/false_alarms.csv``
(``study.calibration``): the run's verdict and, per kind of test, how many p-values fell
below 5% and 1%. Seeds already there are skipped, so a measurement can be stopped,
resumed and spread over days; a line depends on its engine, family, configuration and
seed only. Runs are spread over processes with the Dask executor (``--workers``).

    # the whole plan: nutpie on the default study 200 times, nutpie and nuts 30 times per
    # family, every other asymptotically exact engine 10 times per family
    python benchmarks/calibration.py --plan --workers 2
    # one cell
    python benchmarks/calibration.py --sampler nuts --model poisson_gamma --runs 30 --workers 2
    # the table (docs/false_alarms.md shows it)
    python benchmarks/calibration.py --table

``--rows FOLDER`` also keeps every run's rows and pooled tests there (CSV, for looking into a
cell; not kept in the repository).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.engines import SAMPLERS  # noqa: E402
from models.families import FAMILIES  # noqa: E402
from study import calibration  # noqa: E402
from study.run import StudyConfig, run_study  # noqa: E402
from study.units import Executor, UnitFailure  # noqa: E402

FIRST_SEED = 500_000  # seeds no test or example uses
DEFAULT_ENGINE = StudyConfig().sampler
# (engine, runs per family); the default engine also runs DEFAULT_RUNS times on the default family
PLAN_RUNS = {"nutpie": 30, "nuts": 30}
OTHER_RUNS = 10
DEFAULT_RUNS = 200


@dataclass(frozen=True)
class Unit:
    """One run: a study (engine, family, seed, configuration), and whether to keep its rows."""

    config: StudyConfig
    keep_rows: bool = False

    @property
    def engine(self) -> str:
        """The engine's name."""
        return self.config.sampler

    @property
    def family(self) -> str:
        """The family's key."""
        return self.config.family

    @property
    def seed(self) -> int:
        """The study seed."""
        return self.config.seed


def run_unit(unit: Unit) -> tuple[dict, pd.DataFrame | None, pd.DataFrame | None]:
    """Run one study and return its line for false_alarms.csv (and its rows and pooled tests if kept)."""
    start = time.perf_counter()
    result = run_study(unit.config, log=lambda _: None)
    record = calibration.run_record(result, seed=unit.seed)
    record["seconds"] = round(time.perf_counter() - start, 2)
    if not unit.keep_rows:
        return record, None, None
    return record, result.rows.assign(seed=unit.seed), result.pooled.assign(seed=unit.seed)


def exact_engines() -> list[str]:
    """Return the built-in asymptotically exact engines that sample (not the closed-form control)."""
    return [name for name, s in SAMPLERS.items() if s.exact and not s.needs_problem and s.available]


def plan() -> list[tuple[str, str, int]]:
    """(engine, family, runs) of the whole measurement."""
    cells = [(DEFAULT_ENGINE, "normal_normal", DEFAULT_RUNS)]
    for engine in exact_engines():
        for family in FAMILIES:
            runs = PLAN_RUNS.get(engine, OTHER_RUNS)
            if (engine, family) != (DEFAULT_ENGINE, "normal_normal"):
                cells.append((engine, family, runs))
    return cells


def todo(cells: list[tuple[str, str, int]], first_seed: int, keep_rows: bool, **config) -> list[Unit]:
    """Return the units of ``cells`` whose seeds are not yet measured at this configuration."""
    done = calibration.measured()
    keys = ("engine", "family", "configuration", "seed")
    seen = set(zip(*(done[k] for k in keys), strict=True)) if len(done) else set()
    units = []
    for engine, family, runs in cells:
        conf = calibration.configuration(StudyConfig(family=family, sampler=engine, **config))
        seeds = [s for s in range(first_seed, first_seed + runs) if (engine, family, conf, s) not in seen]
        units += [Unit(StudyConfig(family=family, sampler=engine, seed=s, **config), keep_rows)
                  for s in seeds]  # fmt: skip
    return units


def measure(units: list[Unit], *, workers: int | None, rows_folder: Path | None) -> None:
    """Run the units (on ``workers`` Dask processes) and append each run's line as it finishes."""
    if rows_folder is not None:
        rows_folder.mkdir(parents=True, exist_ok=True)
    print(f"{len(units)} runs to measure", file=sys.stderr)

    def keep(unit: Unit, result: object) -> None:
        if isinstance(result, UnitFailure):
            print(f"  {result}", file=sys.stderr)
            return
        record, rows, pooled = result
        calibration.append([record])
        if rows is not None:
            cell = rows_folder / f"{unit.engine}-{unit.family}"
            cell.mkdir(exist_ok=True)
            for name, frame in (("rows", rows), ("pooled", pooled)):
                f = cell / f"{name}.csv"
                frame.to_csv(f, mode="a", index=False, header=not f.exists())
        if record["false_alarm"]:
            print(
                f"  false alarm: {unit.engine} {unit.family} seed {unit.seed}: {record['reasons']}",
                file=sys.stderr,
            )

    with Executor(workers=workers) as executor:
        executor.map(run_unit, units, label=lambda u: f"{u.engine} {u.family} seed {u.seed}", on_result=keep,
                     log=lambda line: print(f"  {line}", file=sys.stderr, flush=True))  # fmt: skip


def table(frame: pd.DataFrame) -> str:
    """Return the measured table: one line per (engine, family, configuration)."""
    summ = calibration.summary(frame)
    if summ.empty:
        return "nothing measured yet"
    default = calibration.configuration(StudyConfig())
    lines = [
        "Each test cell: the share of p-values below 5% / below 1%; '*' where either lies outside the",
        "99% binomial interval of its nominal rate. False-alarm runs: runs with any disagreement at alpha,",
        "against the most a true rate of alpha allows (99% binomial bound); '!' where above it.",
        "",
        f"{'engine':<14}{'family':<31}{'runs':>5}  {'false-alarm runs':<20}"
        + "".join(f"{label:<14}" for _, label in calibration.TESTS)
        + "row z sd (mean, sd)",
    ]
    for r in summ.itertuples():
        cells = []
        for name, _ in calibration.TESTS:
            p05, p01, ok = getattr(r, f"{name}_p05"), getattr(r, f"{name}_p01"), getattr(r, f"{name}_ok")
            made = getattr(r, f"{name}_tests") > 0  # an approximation against its optimum: no KS, no PIT
            cells.append(f"{100 * p05:.1f} / {100 * p01:.1f}{'' if ok else '*'}" if made else "-")
        alarms = f"{r.false_alarms} (<= {r.bound}){'' if r.within else '!'}"
        spread = f"{r.z_mean_sd:.3f}, {r.z_sd_sd:.3f}"
        lines.append(f"{r.engine:<14}{r.family:<31}{r.runs:>5}  {alarms:<20}"
                     + "".join(f"{c:<14}" for c in cells) + spread)  # fmt: skip
        if r.configuration != default:
            lines.append(f"{'':<14}at {r.configuration}")
    runs = frame.groupby(["engine", "family", "configuration"]).size()
    lines += ["", f"{len(frame)} runs in {len(runs)} cells; verdict: {calibration.VERDICT}"]
    default_cell = frame[(frame["engine"] == DEFAULT_ENGINE) & (frame["family"] == "normal_normal")
                         & (frame["configuration"] == default)]  # fmt: skip
    if len(default_cell):
        k, n = int(default_cell["false_alarm"].sum()), len(default_cell)
        lo, hi = calibration.interval(k, n)
        lines.append(f"default study ({DEFAULT_ENGINE}, normal_normal): {k} false-alarm runs in {n} "
                     f"({100 * k / n:.2f}%, 95% CI {100 * lo:.2f}%-{100 * hi:.2f}%; "
                     "stated: at most 1%)")  # fmt: skip
    alarms = frame[frame["false_alarm"]]
    if len(alarms):
        lines.append("false alarms:")
        lines += [f"  {a.engine} {a.family} seed {a.seed}: {a.reasons}" for a in alarms.itertuples()]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plan", action="store_true", help="run every cell of the measurement plan")
    p.add_argument("--sampler", help="engine(s), comma-separated, or 'exact-engines'")
    p.add_argument("--model", default="normal_normal", help="family or families, comma-separated, or 'all'")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--first-seed", type=int, default=FIRST_SEED)
    p.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000], help="sample sizes")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--workers", type=int, default=1,
                   help="Dask worker processes (default 1: a process that is restarted before it holds too "
                   "many compiled models; 0 runs here, fine for a few runs)")  # fmt: skip
    p.add_argument("--rows", type=Path, default=None, help="also keep every run's rows in this folder")
    p.add_argument("--table", action="store_true", help="print the measured table and exit")
    args = p.parse_args()
    if args.table:
        print(table(calibration.measured()))
        return
    config = dict(ns=tuple(args.n), reps=args.reps, draws=args.draws, tune=args.tune, chains=args.chains,
                  alpha=args.alpha)  # fmt: skip
    if args.plan:
        cells = plan()
    elif args.sampler:
        engines = exact_engines() if args.sampler == "exact-engines" else args.sampler.split(",")
        families = list(FAMILIES) if args.model == "all" else args.model.split(",")
        cells = [(e, f, args.runs) for e in engines for f in families]
    else:
        p.error("give --plan, --sampler ENGINE (with --model and --runs) or --table")
    units = todo(cells, args.first_seed, args.rows is not None, **config)
    # the slow engines last, so that the cheap cells fill in first
    order: dict[str, int] = {}
    for engine in [DEFAULT_ENGINE, "nuts", *exact_engines()]:
        order.setdefault(engine, len(order))
    units.sort(key=lambda u: (order.get(u.engine, 99), u.family, u.seed))
    measure(units, workers=args.workers or None, rows_folder=args.rows)
    print(table(calibration.measured()))


if __name__ == "__main__":
    main()
