"""The zoo's catch table: each real bug and its twin through the study over many seeds.

For every bug of ``zoo.BUGS`` and each family it runs on, the engine with the bug and its
fixed twin each run the study ``seeds`` times (study seeds ``--seed + s``, the same data
sets for both). A run catches the bug when any row or pooled test of the study's verdict
disagrees, or the engine breaks the engine protocol (wrong shapes, non-finite draws); the
first alarm is recorded. The same draws are judged by the peers' methods
(``study.peers``). The twin's runs give each method's false-alarm rate beside its
detection probability, and the median seconds a run cost.

The third peer, SBC as simuk runs it at its defaults (``study.peer_sbc``), cannot judge
those draws: it needs its own truths from the prior. With ``sbc_seeds`` each bug and twin
also runs it that many times (seeds ``--seed + s`` again), at the study's smallest N,
where the prior weighs most; its rows are kept apart (``ZooResult.sbc_runs``).

A catch table over many seeds is hours of work, so it is also kept as a ledger
(``LEDGER``, ``SBC_LEDGER``: one line per run, appended as each run finishes, read back by
``measured``), which ``benchmarks/zoo_catch.py`` extends a few seeds at a time and prints
the table from; a line counts while the zoo's code is at ``REVISION``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from scipy import stats

from models.engines.plugins import EngineFailure, as_sampler
from study import calibration, peer_sbc, peers
from study.power import first_alarm
from study.run import StudyConfig, run_study
from study.seeds import power_run_seed
from zoo import BUGS, Bug

DEFAULT_SEEDS = 5
VARIANTS = ("bug", "twin")
LEDGER = Path(__file__).with_name("zoo_runs.csv")
SBC_LEDGER = Path(__file__).with_name("zoo_sbc_runs.csv")
# the zoo's code as the ledger's lines measured it: bump when a bug's or a twin's draws change
REVISION = "2026-12"
KEY = ("bug", "model", "variant", "configuration", "seed")


@dataclass
class ZooResult:
    """Every run of the catch table: one row per (bug, family, variant, seed) with each method's verdict."""

    runs: pd.DataFrame
    alpha: float
    seeds: int
    config: StudyConfig
    sbc_runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    sbc_seeds: int = 0
    sbc_sims: int = peer_sbc.SIMS


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


def run_unit(unit: tuple) -> dict:
    """One run: a bug's engine (or its twin) through the study, or through the SBC peer, at one seed."""
    return _sbc_unit(unit[1:]) if unit[0] == "sbc" else _study_unit(unit[1:])


def _study_unit(unit: tuple) -> dict:
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


def _sbc_unit(unit: tuple) -> dict:
    """One SBC run of the peer at the study's smallest N (``None``: no draws to rank)."""
    bug_name, variant, engine, config, sims = unit
    start = time.perf_counter()
    verdict: dict = {"sbc": None, "sbc_p": float("nan"), "sbc_worst": ""}
    if engine.kind == "distribution":
        try:
            ranks = peer_sbc.ranks(
                engine, config.family, config.settings, n=min(config.ns), seed=config.seed,
                sims=sims, block=config.reps * len(config.ns), draws=config.draws, tune=config.tune,
                chains=config.chains,
            )  # fmt: skip
        except EngineFailure:
            pass
        else:
            run = peer_sbc.judge(ranks)
            verdict = {"sbc": run.caught, "sbc_p": run.p_min, "sbc_worst": run.worst}
    return {
        "bug": bug_name, "model": config.family, "variant": variant, "seed": config.seed,
        **verdict, "seconds": time.perf_counter() - start,
    }  # fmt: skip


def plan_units(
    configs: dict[str, list[StudyConfig]],
    bugs: list[Bug],
    *,
    seeds: int,
    families: str | None = None,
    sbc_seeds: int = 0,
    sbc_sims: int = peer_sbc.SIMS,
    variants: Iterable[str] = VARIANTS,
    skip: Iterable[tuple] = (),
) -> tuple[list[tuple], list[tuple]]:
    """Return the work units (SBC runs, study runs) of every bug and variant on its families.

    Seed ``s`` of a (bug, family) is the study seed ``power_run_seed(--seed, s)``, the same
    for bug and twin. Units whose ``unit_key`` is in ``skip`` (runs already measured) are
    left out.
    """
    chosen = None if families is None else [f.strip() for f in families.split(",")]
    units = []
    for bug in bugs:
        engines = dict(zip(VARIANTS, (as_sampler(e) for e in bug.engines()), strict=True))
        for family in chosen or bug.families:
            base = replace(configs[family][0], studies_in_run=1)
            for variant in variants:
                engine = engines[variant]
                for s in range(max(seeds, sbc_seeds)):
                    config = replace(base, seed=power_run_seed(base.seed, s), sampler=engine.name)
                    if s < seeds:
                        units.append(("study", bug.name, variant, engine, config))
                    if s < sbc_seeds:
                        units.append(("sbc", bug.name, variant, engine, config, sbc_sims))
    skip = set(skip)
    units = [u for u in units if unit_key(u) not in skip]
    return [u for u in units if u[0] == "sbc"], [u for u in units if u[0] == "study"]


def unit_key(unit: tuple) -> tuple:
    """``(kind, bug, family, variant, configuration, seed)`` of a work unit, as the ledger keys its line."""
    kind, bug, variant, _, config = unit[:5]
    return kind, bug, config.family, variant, configuration(config, *unit[5:]), config.seed


def configuration(config: StudyConfig, sims: int | None = None) -> str:
    """Return a run's configuration in words (the calibration's key, and the SBC peer's simulations)."""
    return calibration.configuration(config) + ("" if sims is None else f" sims={sims}")


def label(unit: tuple) -> str:
    """Return a work unit in words, for the progress line."""
    return f"{unit[1]} {unit[2]} {unit[4].family} seed {unit[4].seed}{' (SBC)' * (unit[0] == 'sbc')}"


def ledger_line(unit: tuple, row: dict) -> dict:
    """``row``, one run's result, as a line of the ledger: its configuration and the zoo's revision added."""
    return row | {"configuration": unit_key(unit)[4], "revision": REVISION}


def measured(path: Path = LEDGER) -> pd.DataFrame:
    """Return the ledger's lines at the current ``REVISION``, each run (``KEY``) once, the last kept."""
    if not path.exists():
        return pd.DataFrame()
    frame = pd.read_csv(path)
    frame = frame[frame["revision"] == REVISION]
    return frame.drop_duplicates(list(KEY), keep="last").reset_index(drop=True)


def measured_keys(studies: pd.DataFrame, sbcs: pd.DataFrame) -> set[tuple]:
    """Return the ``unit_key`` of every run in the two ledgers' frames (``measured``)."""
    keys = set()
    for kind, frame in (("study", studies), ("sbc", sbcs)):
        if len(frame):
            keys |= {(kind, *k) for k in zip(*(frame[c] for c in KEY), strict=True)}
    return keys


def run_zoo_study(
    configs: dict[str, list[StudyConfig]],
    bugs: list[Bug],
    *,
    seeds: int,
    families: str | None = None,
    sbc_seeds: int = 0,
    sbc_sims: int = peer_sbc.SIMS,
    executor=None,
) -> ZooResult:
    """Run every bug and its twin ``seeds`` times on its families (or on ``families``, a comma list).

    ``configs`` holds the study's configuration per family (the flags' N, replications,
    draws). With ``sbc_seeds``, each also runs the SBC peer that many times, ``sbc_sims``
    simulations each. Every run is one work unit, run here or spread by ``executor``
    (``study.units``); the SBC runs, the longest, go first.

    Raises
    ------
    RuntimeError
        When a run raised anything but an engine failure: names the run and the error.
    """
    from study.units import run_all_or_raise

    sbcs, studies = plan_units(
        configs, bugs, seeds=seeds, families=families, sbc_seeds=sbc_seeds, sbc_sims=sbc_sims
    )
    rows = run_all_or_raise(run_unit, sbcs + studies, prefix="zoo", label=label, executor=executor)
    first = next(iter(configs.values()))[0]
    runs = pd.DataFrame(rows[len(sbcs) :])
    return ZooResult(runs, first.alpha, seeds, first, pd.DataFrame(rows[: len(sbcs)]), sbc_seeds, sbc_sims)


def _rate(flags: pd.Series) -> tuple[int, int, float, float]:
    """Caught, runs (those a method applies to), and the 95% Clopper-Pearson interval."""
    flags = flags.dropna().astype(bool)
    k, n = int(flags.sum()), len(flags)
    if n == 0:
        return 0, 0, float("nan"), float("nan")
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return k, n, ci.low, ci.high


def _select(frame: pd.DataFrame, bug: str, model: str, variant: str | None = None) -> pd.DataFrame:
    """Return the runs of one (bug, family), of one variant or both."""
    if not len(frame):
        return frame
    keep = (frame["bug"] == bug) & (frame["model"] == model)
    return frame[keep & (frame["variant"] == variant)] if variant else frame[keep]


def _median_seconds(frame: pd.DataFrame) -> float:
    return float(frame["seconds"].median()) if len(frame) else float("nan")


def summarise(runs: pd.DataFrame, sbc_runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (bug, family) and method: the bug's detection and the twin's false alarms, with intervals.

    ``runs`` are the study's runs (the suite's verdict and the peers judging its draws),
    ``sbc_runs`` the SBC peer's; either may be empty.
    """
    sbc_runs = pd.DataFrame() if sbc_runs is None else sbc_runs
    methods = {"suite": (runs, "detected"), **{p: (runs, p) for p in peers.PEERS}, "sbc": (sbc_runs, "sbc")}
    pairs = pd.concat([f[["bug", "model"]] for f in (runs, sbc_runs) if len(f)] or [pd.DataFrame()])
    out = []
    for bug, model in pairs.drop_duplicates().itertuples(index=False):
        caught = _select(runs, bug, model, "bug")
        alarms = pd.Series(dtype=str)
        if len(caught):
            alarms = caught.loc[caught["detected"].astype(bool), "caught_by"]
        first = alarms.str.split(":").str[0]
        row = {"bug": bug, "model": model, "source": BUGS[bug].source,
               "caught_by": ", ".join(f"{c} {v}" for c, v in first.value_counts().items()),
               "seconds_per_run": _median_seconds(_select(runs, bug, model)),
               "seconds_per_sbc_run": _median_seconds(_select(sbc_runs, bug, model))}  # fmt: skip
        for method, (frame, column) in methods.items():
            for variant, what in (("bug", "caught"), ("twin", "false_alarms")):
                chosen = _select(frame, bug, model, variant)
                k, n, low, high = _rate(chosen[column] if column in chosen else pd.Series(dtype=object))
                row |= {f"{method}_{what}": k, f"{method}_{variant}_runs": n,
                        f"{method}_{what}_low": low, f"{method}_{what}_high": high}  # fmt: skip
        out.append(row)
    return pd.DataFrame(out)
