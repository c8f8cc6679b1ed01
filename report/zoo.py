"""The zoo's catch table, its reading, zoo.csv, zoo_runs.csv, results.json and report.html."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from report.document import Block, render, table
from report.files import seeded_runs_config, write_all, write_seeded_runs_page
from study.peer_sbc import SIMS
from study.zoo import BUGS, ZooResult, summarise

METHODS = (
    ("suite", "the suite"),
    ("pymc_fixtures", "PyMC's fixtures"),
    ("quarter_sd", "0.25 sd bound"),
    ("sbc", "SBC at simuk's defaults"),
)


@dataclass
class ZooReport:
    """The catch table's runs, their summary per (bug, family) and the report's blocks."""

    result: ZooResult
    summary: pd.DataFrame
    blocks: list[Block]

    @property
    def text(self) -> str:
        """The report as printed on the terminal."""
        return render(self.blocks)


def _rate(r, method: str, what: str, variant: str) -> str:
    k, n = getattr(r, f"{method}_{what}"), getattr(r, f"{method}_{variant}_runs")
    if n == 0:
        return "-"
    low, high = getattr(r, f"{method}_{what}_low"), getattr(r, f"{method}_{what}_high")
    return f"{k}/{n} ({low:.2f}-{high:.2f})"


def zoo_report(result: ZooResult) -> ZooReport:
    """Build the report: per bug, each method's detection of the bug and false alarms on its twin."""
    summary = summarise(result.runs, result.sbc_runs)
    methods = [(m, label) for m, label in METHODS if m != "sbc" or result.sbc_seeds]
    if result.sbc_sims != SIMS:  # not simuk's default: say what ran
        sbc_label = f"SBC as simuk, {result.sbc_sims} sims"
        methods = [(m, sbc_label if m == "sbc" else label) for m, label in methods]
    headers = ["bug", "family", *(f"{label}: caught / twin's false alarms" for _, label in methods),
               "suite's first alarm", "s/run", *(["s/SBC run"] if result.sbc_seeds else [])]  # fmt: skip
    lines = [
        [r.bug, r.model,
         *(f"{_rate(r, m, 'caught', 'bug')} / {_rate(r, m, 'false_alarms', 'twin')}" for m, _ in methods),
         r.caught_by or "-", _seconds(r.seconds_per_run),
         *([_seconds(r.seconds_per_sbc_run)] if result.sbc_seeds else [])]
        for r in summary.itertuples()
    ]  # fmt: skip
    sources = [[b.name, b.source, b.what] for b in BUGS.values() if b.name in set(summary["bug"])]
    blocks = [
        Block(
            f"The zoo: real bugs caught (alpha {result.alpha:g} per run; 95% intervals)",
            [table(headers, lines)],
        ),
        Block("The bugs", [table(["bug", "source", "what was wrong"], sources)]),
        Block("Reading", [_reading(summary)]),
    ]
    return ZooReport(result, summary, blocks)


def _seconds(value: float) -> str:
    return "-" if value != value else f"{value:.0f}"  # NaN: no such run


def _reading(summary: pd.DataFrame) -> str:
    """Per method: the pairs it caught in 90% of its runs or more, and its false alarms on the twins."""
    text = []
    for method, label in METHODS:
        judged = summary[summary[f"{method}_bug_runs"] > 0]
        if not len(judged):
            continue
        well = judged[f"{method}_caught"] >= 0.9 * judged[f"{method}_bug_runs"]
        alarms, twins = int(judged[f"{method}_false_alarms"].sum()), int(judged[f"{method}_twin_runs"].sum())
        text.append(
            f"{label}: caught {int(well.sum())} of the {len(judged)} (bug, family) pairs it could judge"
            f" in 90% of runs or more; false alarms on the twins {alarms} of {twins} runs."
        )
        missed = judged[~well]
        if method == "suite" and len(missed):
            text.append("  Below 90%: " + ", ".join(
                f"{r.bug} on {r.model} ({r.suite_caught}/{r.suite_bug_runs})" for r in missed.itertuples()
            ) + " (each module's docstring says what is known of why).")  # fmt: skip
    return "\n".join(text)


def write_zoo(report: ZooReport, out: Path, command: str = "compare.py zoo") -> list[Path]:
    """Write zoo.csv (per bug and family), zoo_runs.csv and zoo_sbc_runs.csv (per run), results.json, page."""

    def fill(stage: Path) -> None:
        report.summary.to_csv(stage / "zoo.csv", index=False)
        if report.result.seeds:  # none with --seeds 0 (the SBC peer alone)
            report.result.runs.to_csv(stage / "zoo_runs.csv", index=False)
        if report.result.sbc_seeds:
            report.result.sbc_runs.to_csv(stage / "zoo_sbc_runs.csv", index=False)
        sbc = {"sbc_seeds": report.result.sbc_seeds, "sbc_sims": report.result.sbc_sims}
        doc = {
            "config": seeded_runs_config(report.result) | sbc,
            "alpha": report.result.alpha,
            "bugs": {b.name: {"source": b.source, "what": b.what} for b in BUGS.values()},
            "summary": report.summary.to_dict(orient="records"),
            "reading": report.text,
        }
        finished = len(report.result.runs) + len(report.result.sbc_runs)
        write_seeded_runs_page(
            stage, doc, title="The zoo: real bugs of inference libraries, caught or not", command=command,
            report=report, checked=f"All {finished} runs finished; zoo.csv holds each bug's "
            "detection by each method and its twin's false alarms.",
        )  # fmt: skip

    return write_all(out, fill)
