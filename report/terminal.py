"""One family's run on the terminal: every engine's study, the tables and the reading."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pandas as pd

from models.plugins import EngineFailure
from models.samplers import Sampler
from report import tables
from report.interpret import interpret
from study.aggregate import Washout, per_n, washout
from study.run import StudyConfig, StudyResult, run_study


@dataclass
class FamilyReport:
    """One family's studies (one per engine, same data) with its aggregates and reading.

    ``engine_failures`` maps each engine that failed inside its run to why; ``results``
    holds the others (``agg`` and ``wash`` are None when every engine failed).
    """

    family: str
    results: list[StudyResult]
    agg: pd.DataFrame | None
    wash: dict[str, Washout] | None
    text: str
    engine_failures: dict[str, str] = field(default_factory=dict)


def family_report(
    configs: list[StudyConfig],
    *,
    engines: dict[str, Sampler] | None = None,
    progress: bool = False,
    outcomes: list[StudyResult | str] | None = None,
) -> FamilyReport:
    """Run every engine on one family's data sets (unless ``outcomes`` are given); print its tables, reading.

    ``engines`` maps the configs' sampler names to engines (default: the registry's).
    ``outcomes`` are the studies already run (``study.run.run_studies``), one per config:
    a result, or why its engine failed. A failed engine is reported here and left out of
    the tables.
    """
    engines = engines or {}
    results, broken = [], {}
    for i, config in enumerate(configs):
        if outcomes is not None:
            outcome = outcomes[i]
        else:
            try:
                outcome = run_study(config, progress=progress, engine=engines.get(config.sampler))
            except EngineFailure as err:
                outcome = str(err)
                print(f"[{config.family}] {config.sampler}: engine failed: {err}", file=sys.stderr)
        if isinstance(outcome, StudyResult):
            results.append(outcome)
        else:
            broken[config.sampler] = outcome
    family = configs[0].family
    if not results:
        print(f"\n== {family}: every engine failed; nothing to compare ==")
        return FamilyReport(family, [], None, None, "", broken)
    first, config = results[0], results[0].config
    agg = per_n(first)
    wash = washout(config)
    text = interpret(results, agg, wash)
    if broken:
        text += "\n\n" + "\n".join(f"{name}: engine FAILED in its run: {why}" for name, why in broken.items())
    t = first.thresholds
    print(
        f"\n== Engines against the exact posterior ({config.family}; per-row tests at false-alarm "
        f"probability {t.alpha_row:.2g} each, |z| limit {t.z_crit:.2f}) =="
    )
    print(tables.engines_table(results))
    evidence = tables.evidence_table(results)
    if evidence:
        n_sets = len(config.ns) * config.reps
        print(f"\n== The evidence: log p(data) of all {n_sets} data sets ({config.family}) ==")
        print(evidence)
    print(
        f"\n== Pooled over the {config.reps} replications ({config.family}; each test at false-alarm "
        f"probability {t.alpha_pooled:.2g}, |z| limit {t.z_crit_pooled:.2f}) =="
    )
    print(tables.pooled_table(results))
    print("\n== The prior's pull, fading with N ==")
    print(tables.fade_table(agg, wash))
    truth = ", ".join(f"{k} = {v:g}" for k, v in config.settings.truth.items())
    print(f"\n== MLE vs MAP over {config.reps} data sets per N (true {truth}) ==")
    print(tables.risk_table(agg))
    print(
        f"\n== Coverage of the true value by the central {config.prob:.0%} posterior interval "
        f"({config.sampler}) =="
    )
    print(tables.coverage_table(agg, config.prob))
    print("\n== Reading ==")
    print(text)
    return FamilyReport(family, results, agg, wash, text, broken)
