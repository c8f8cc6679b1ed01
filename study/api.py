"""Check an engine from Python: one call, one verdict, for a sampler author's own test suite.

>>> from study.api import check_engine
>>> def my_engine(model, *, draws, tune, chains, cores, seed, progress): ...  # doctest: +SKIP
>>> check_engine(my_engine, families=["normal_normal", "binomial_beta"]).assert_agrees()  # doctest: +SKIP

The call runs the fixed-truth study of ``compare.py`` (the same simulated data sets, the
same verdict code and the same share of ``alpha`` between families) and returns its rows,
pooled tests and verdict. ``examples/check_in_pytest.py`` is a runnable example.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from models.engines import Sampler
from models.engines.plugins import EngineFailure, PluginError, as_sampler, resolve
from models.families import FAMILIES
from study.run import StudyResult, plan_studies, run_study


@dataclass
class EngineCheck:
    """One engine's verdict over one or more families.

    Attributes
    ----------
    engine
        The engine that was checked.
    results
        One study per family that ran (rows, pooled tests, draws, thresholds).
    engine_failures
        Family -> why the engine failed inside its run there (it raised, or returned what
        the engine protocol does not allow).
    alpha
        The false-alarm probability of the whole check (shared by Bonferroni).
    """

    engine: Sampler
    results: list[StudyResult]
    engine_failures: dict[str, str] = field(default_factory=dict)
    alpha: float = 0.01

    @property
    def rows(self) -> pd.DataFrame:
        """Every row (family, N, replication, parameter) with its statistics and verdict."""
        return (
            pd.concat([r.rows for r in self.results], ignore_index=True) if self.results else pd.DataFrame()
        )

    @property
    def pooled(self) -> pd.DataFrame:
        """Every pooled test (family, N, parameter, test) with its statistic, p-value and verdict."""
        frames = [r.pooled for r in self.results if len(r.pooled)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @property
    def agrees(self) -> bool:
        """True when the engine ran everywhere and every row and pooled test agrees."""
        return not self.engine_failures and all(r.agrees for r in self.results)

    @property
    def problems(self) -> list[str]:
        """One line per engine failure, failing row and failing pooled test."""
        lines = [f"{family}: engine failed: {why}" for family, why in self.engine_failures.items()]
        for r in self.results:
            lines += [f"{x.model} N={x.n} rep={x.rep} {x.param}: {x.reason}" for x in r.failures.itertuples()]
            lines += [
                f"{x.model} N={x.n} pooled {x.param}: {x.reason}" for x in r.pooled_failures.itertuples()
            ]
            if r.evidence_problem:
                lines.append(f"{r.config.family} evidence: {r.evidence_problem}")
        return lines

    @property
    def warnings(self) -> list[str]:
        """Why a pass at this configuration means little (too few draws, chains or replications)."""
        return [f"{r.config.family}: {w}" for r in self.results for w in r.warnings]

    def __str__(self) -> str:
        families = ", ".join([*(r.config.family for r in self.results), *self.engine_failures])
        if self.agrees:
            head = (
                f"{self.engine.name} agrees with the exact posterior on {families}: {len(self.rows)} rows "
                f"and {len(self.pooled)} pooled tests (false-alarm probability of the check at most "
                f"{self.alpha:g})"
            )
        else:
            head = f"{self.engine.name} DISAGREES with the exact posterior on {families}:"
        return "\n".join(
            [head, *(f"  {p}" for p in self.problems), *(f"  warning: {w}" for w in self.warnings)]
        )

    def assert_agrees(self) -> None:
        """Raise AssertionError listing every disagreement, if there is any."""
        if not self.agrees:
            raise AssertionError(str(self))


def check_engine(
    engine: Callable | str | Sampler,
    *,
    families: str | Iterable[str] = "normal_normal",
    ns: Iterable[int] = (10, 100, 1000),
    reps: int = 20,
    seed: int = 2026,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    alpha: float = 0.01,
    settings: Mapping[str, Mapping[str, float]] | None = None,
    progress: bool = False,
    verbose: bool = False,
) -> EngineCheck:
    """Run the fixed-truth study of one engine on each family and return the verdict.

    Parameters
    ----------
    engine
        A callable following the engine protocol (optional metadata as attributes, see
        ``models.engines.plugins``), a built-in engine's name, an announced engine's name, or
        ``"module.path:callable"``.
    families
        A family key or several (``"all"``: every family).
    ns, reps, seed, draws, tune, chains
        The study: sample sizes, data sets per size, seed, draws and tuning steps per chain, chains.
    alpha
        False-alarm probability of the whole check, shared by Bonferroni over the families.
    settings
        Per family, settings to change (``{"binomial_beta": {"true_p": 0.1}}``).
    progress, verbose
        Show the engine's progress bar; log each study's steps to stderr.

    Raises
    ------
    ValueError
        For an engine that cannot be used (``models.engines.plugins.PluginError``), an unknown
        family or setting, or a bad number.
    """
    if isinstance(engine, Sampler):
        sampler = engine
    elif isinstance(engine, str):
        sampler = resolve(engine)
    elif callable(engine):
        sampler = as_sampler(engine)
    else:
        raise PluginError(f"engine must be a callable, a name or a Sampler, got {type(engine).__name__}")
    keys = (
        list(FAMILIES) if families == "all" else [families] if isinstance(families, str) else list(families)
    )
    unknown = [k for k in keys if k not in FAMILIES]
    if unknown or not keys:
        raise ValueError(
            f"unknown family {unknown[0] if unknown else ''!r}; choose from: {', '.join(FAMILIES)}"
        )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    ns = tuple(dict.fromkeys(sorted(int(n) for n in ns)))
    for name, value, least in (("N", min(ns, default=0), 1), ("reps", reps, 1), ("draws", draws, 1),
                               ("tune", tune, 0), ("chains", chains, 1)):  # fmt: skip
        if value < least:
            raise ValueError(f"{name} must be >= {least}, got {value!r}")
    chosen = {}
    for key in keys:
        given = dict((settings or {}).get(key, {}))
        try:
            chosen[key] = FAMILIES[key].settings(**given)
        except TypeError:
            raise ValueError(f"{key} has no setting among {sorted(given)} (see --list-models)") from None
    log = (lambda msg: print(msg, file=sys.stderr)) if verbose else (lambda msg: None)
    results, failures = [], {}
    plan = plan_studies(chosen, [sampler], ns=ns, reps=reps, seed=seed, draws=draws, tune=tune, chains=chains,
                        alpha=alpha)  # fmt: skip
    for key, (config,) in plan.items():
        try:
            results.append(run_study(config, log=log, progress=progress, engine=sampler))
        except EngineFailure as err:
            failures[key] = str(err)
    return EngineCheck(sampler, results, failures, alpha)
