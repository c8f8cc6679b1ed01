"""One family's run on the terminal: every engine's study, the tables and the reading."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from report import tables
from report.document import Block, render
from report.interpret import interpret
from study.aggregate import FamilyStudies, Washout
from study.run import StudyResult


@dataclass
class FamilyReport:
    """One family's studies (one per engine, same data) with its aggregates and reading.

    ``engine_failures`` maps each engine that failed inside its run to why; ``results``
    holds the others (``agg`` and ``wash`` are None when every engine failed). ``text`` is
    the reading; ``terminal`` all that was printed, tables included.
    """

    family: str
    results: list[StudyResult]
    agg: pd.DataFrame | None
    wash: dict[str, Washout] | None
    text: str
    engine_failures: dict[str, str] = field(default_factory=dict)
    ns: tuple[int, ...] = ()
    blocks: list[Block] = field(default_factory=list)  # all printed for the family (the page's sections too)

    @property
    def terminal(self) -> str:
        """Everything printed for the family, as printed."""
        return "\n" + render(self.blocks)


def family_report(studies: FamilyStudies) -> FamilyReport:
    """Build one family's tables and reading, from its judged studies (``study.aggregate.family_studies``).

    An engine that failed in its run is reported here and left out of the tables. The caller
    prints ``report.terminal``.
    """
    results, broken, family = studies.results, studies.failures, studies.family
    if not results:
        return FamilyReport(family, [], None, None, "", broken, studies.ns,
                            [Block(f"{family}: every engine failed; nothing to compare")])  # fmt: skip
    first, config, agg, wash = results[0], results[0].config, studies.agg, studies.wash
    text = interpret(results, agg, wash)
    if broken:
        text += "\n\n" + "\n".join(f"{name}: engine FAILED in its run: {why}" for name, why in broken.items())
    t = first.thresholds
    blocks = [
        Block(
            f"Engines against the exact posterior ({config.family}; per-row tests at false-alarm "
            f"probability {t.alpha_row:.2g} each, |z| limit {t.z_crit:.2f})",
            list(tables.engines_table(results)),
        )
    ]
    evidence = tables.evidence_table(results)
    if evidence is not None:
        n_sets = len(config.ns) * config.reps
        blocks.append(
            Block(f"The evidence: log p(data) of all {n_sets} data sets ({config.family})", [evidence])
        )
    truth = ", ".join(f"{k} = {v:g}" for k, v in config.settings.truth.items())
    blocks += [
        Block(
            f"Pooled over the {config.reps} replications ({config.family}; each test at false-alarm "
            f"probability {t.alpha_pooled:.2g}, |z| limit {t.z_crit_pooled:.2f})",
            [tables.pooled_table(results)],
        ),
        Block("The prior's pull, fading with N", [tables.fade_table(agg, wash)]),
        Block(f"MLE vs MAP over {config.reps} data sets per N (true {truth})", [tables.risk_table(agg)]),
        Block(
            f"Coverage of the true value by the central {config.prob:.0%} posterior interval "
            f"({config.sampler})",
            [tables.coverage_table(agg, config.prob)],
        ),
        Block("Reading", [text]),
    ]
    return FamilyReport(family, results, agg, wash, text, broken, config.ns, blocks)


def failure_lines(reports: list[FamilyReport]) -> list[tuple[str, str, int | None, str]]:
    """Every failed comparison of a study run as (family, engine, N or None for the whole run, line).

    The same lines are listed on the terminal and at the top of the HTML report.
    """
    results = [r for report in reports for r in report.results]
    lines = [
        (report.family, name, None, f"{report.family} {name}: engine failed: {why}")
        for report in reports
        for name, why in report.engine_failures.items()
    ]
    for r in [r for r in results if r.evidence_problem]:
        line = f"{r.config.family} {r.engine.name} evidence: {r.evidence_problem}"
        lines.append((r.config.family, r.config.sampler, None, line))
    for r in results:
        lines += [
            (f.model, f.sampler, f.n, f"{f.model} {f.sampler} N={f.n} rep={f.rep} {f.param}: {f.reason}")
            for f in r.failures.itertuples()
        ]
    for r in results:
        lines += [
            (f.model, f.sampler, f.n, f"{f.model} {f.sampler} N={f.n} pooled {f.param}: {f.reason}")
            for f in r.pooled_failures.itertuples()
        ]
    return lines
