"""One family's run on the terminal: every engine's study, the tables and the reading."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from report import tables
from report.interpret import interpret
from study.aggregate import Washout, per_n, washout
from study.run import StudyConfig, StudyResult, run_study


@dataclass
class FamilyReport:
    """One family's studies (one per engine, same data) with its aggregates and reading."""

    results: list[StudyResult]
    agg: pd.DataFrame
    wash: dict[str, Washout]
    text: str


def family_report(configs: list[StudyConfig], *, progress: bool = False) -> FamilyReport:
    """Run every engine on one family's data sets, then print its tables and reading."""
    results = [run_study(config, progress=progress) for config in configs]
    first, config = results[0], configs[0]
    agg = per_n(first)
    wash = washout(config)
    text = interpret(results, agg, wash)
    t = first.thresholds
    print(
        f"\n== Engines against the exact posterior ({config.family}; per-row tests at false-alarm "
        f"probability {t.alpha_row:.2g} each, |z| limit {t.z_crit:.2f}) =="
    )
    print(tables.engines_table(results))
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
    return FamilyReport(results, agg, wash, text)
