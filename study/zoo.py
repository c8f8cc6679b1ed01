"""The zoo's catch table: each real bug and its twin through the study over many seeds.

For every bug of ``zoo.BUGS`` and each family it runs on, the engine with the bug and its
fixed twin each run the study ``seeds`` times (study seeds ``--seed + s``, the same data
sets for both). A run catches the bug when any row or pooled test of the study's verdict
disagrees, or the engine breaks the engine protocol (wrong shapes, non-finite draws); the
first alarm is recorded. The same draws are judged by the peers' methods
(``study.peers``). The twin's runs give each method's false-alarm rate beside its
detection probability, and the median seconds a run cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import pandas as pd
from scipy import stats

from models.engines.plugins import EngineFailure, as_sampler
from study import peers
from study.power import first_alarm
from study.run import StudyConfig, run_study
from study.seeds import power_run_seed
from zoo import BUGS, Bug

DEFAULT_SEEDS = 5
VARIANTS = ("bug", "twin")


@dataclass
class ZooResult:
    """Every run of the catch table: one row per (bug, family, variant, seed) with each method's verdict."""

    runs: pd.DataFrame
    alpha: float
    seeds: int
    config: StudyConfig


def parse_bugs(text: str) -> list[Bug]:
    """Return the bugs named by ``--bugs`` (a name, a comma list or 'all')."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        return list(BUGS.values())
    if not names:
        raise ValueError("--bugs needs at least one name")
    unknown = [n for n in names if n not in BUGS]
    if unknown:
        raise ValueError(f"unknown bug {unknown[0]!r}; choose from: {', '.join(BUGS)} or all")
    return [BUGS[n] for n in dict.fromkeys(names)]


def _zoo_unit(unit: tuple) -> dict:
    """One run: a bug's engine (or its twin) through the study at one seed; every method's verdict."""
    bug_name, variant, engine, config = unit
    start = time.perf_counter()
    try:
        result = run_study(config, log=lambda msg: None, engine=engine, progress=False)
    except EngineFailure as err:
        verdicts = {"detected": True, "caught_by": f"protocol: {err}"} | dict.fromkeys(peers.PEERS)
    else:
        detected, caught_by = first_alarm(result)
        verdicts = {"detected": detected, "caught_by": caught_by} | peers.judge(result)
    return {
        "bug": bug_name, "model": config.family, "variant": variant, "seed": config.seed,
        **verdicts, "seconds": time.perf_counter() - start,
    }  # fmt: skip


def run_zoo_study(
    configs: dict[str, list[StudyConfig]],
    bugs: list[Bug],
    *,
    seeds: int,
    families: str | None = None,
    executor=None,
) -> ZooResult:
    """Run every bug and its twin ``seeds`` times on its families (or on ``families``, a comma list).

    ``configs`` holds the study's configuration per family (the flags' N, replications,
    draws). Every run is one work unit, run here or spread by ``executor`` (``study.units``).

    Raises
    ------
    RuntimeError
        When a run raised anything but an engine failure: names the run and the error.
    """
    from study.units import Executor, UnitFailure, eta_log

    chosen = None if families is None else [f.strip() for f in families.split(",")]
    todo = []
    for bug in bugs:
        engines = dict(zip(VARIANTS, (as_sampler(e) for e in bug.engines()), strict=True))
        for family in chosen or bug.families:
            base = replace(configs[family][0], studies_in_run=1)
            for variant, engine in engines.items():
                for s in range(seeds):
                    config = replace(base, seed=power_run_seed(base.seed, s), sampler=engine.name)
                    todo.append((bug.name, variant, engine, config))
    log = eta_log(len(todo), "zoo")
    label = lambda u: f"{u[0]} {u[1]} {u[3].family} seed {u[3].seed}"  # noqa: E731
    rows = (executor or Executor()).map(_zoo_unit, todo, label=label, log=log)
    failed = [r for r in rows if isinstance(r, UnitFailure)]
    if failed:
        raise RuntimeError(str(failed[0]))
    first = next(iter(configs.values()))[0]
    return ZooResult(pd.DataFrame(rows), first.alpha, seeds, first)


def _rate(flags: pd.Series) -> tuple[int, int, float, float]:
    """Caught, runs (those a method applies to), and the 95% Clopper-Pearson interval."""
    flags = flags.dropna().astype(bool)
    k, n = int(flags.sum()), len(flags)
    if n == 0:
        return 0, 0, float("nan"), float("nan")
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return k, n, ci.low, ci.high


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (bug, family) and method: the bug's detection and the twin's false alarms, with intervals."""
    out = []
    for (bug, model), g in runs.groupby(["bug", "model"], sort=False):
        by = {v: g[g["variant"] == v] for v in VARIANTS}
        first = by["bug"].loc[by["bug"]["detected"].astype(bool), "caught_by"].str.split(":").str[0]
        row = {"bug": bug, "model": model, "source": BUGS[bug].source,
               "caught_by": ", ".join(f"{c} {v}" for c, v in first.value_counts().items()),
               "seconds_per_run": float(g["seconds"].median())}  # fmt: skip
        for method, column in (("suite", "detected"), *((p, p) for p in peers.PEERS)):
            for variant, what in (("bug", "caught"), ("twin", "false_alarms")):
                k, n, low, high = _rate(by[variant][column])
                row |= {f"{method}_{what}": k, f"{method}_{variant}_runs": n,
                        f"{method}_{what}_low": low, f"{method}_{what}_high": high}  # fmt: skip
        out.append(row)
    return pd.DataFrame(out)
