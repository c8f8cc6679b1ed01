"""The zoo's catch table, its reading, zoo.csv, zoo_runs.csv, results.json and report.html."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from report.document import Block, render, table
from report.files import seeded_runs_config, write_all, write_seeded_runs_page
from study import peers
from study.zoo import BUGS, ZooResult, summarise

METHODS = (("suite", "the suite"), ("pymc_fixtures", "PyMC's fixtures"), ("quarter_sd", "0.25 sd bound"))


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
    summary = summarise(result.runs)
    headers = ["bug", "family", *(f"{label}: caught / twin's false alarms" for _, label in METHODS),
               "suite's first alarm", "s/run"]  # fmt: skip
    lines = [
        [r.bug, r.model,
         *(f"{_rate(r, m, 'caught', 'bug')} / {_rate(r, m, 'false_alarms', 'twin')}" for m, _ in METHODS),
         r.caught_by or "-", f"{r.seconds_per_run:.0f}"]
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


def _reading(summary: pd.DataFrame) -> str:
    caught = summary[summary["suite_caught"] >= 0.9 * summary["suite_bug_runs"]]
    missed = summary[summary["suite_caught"] < 0.9 * summary["suite_bug_runs"]]
    text = [f"The suite caught {len(caught)} of {len(summary)} (bug, family) pairs in at least 90% of runs."]
    if len(missed):
        text.append("Below 90%: " + ", ".join(
            f"{r.bug} on {r.model} ({r.suite_caught}/{r.suite_bug_runs})" for r in missed.itertuples()
        ) + " (each module's docstring says what is known of why).")  # fmt: skip
    for method in peers.PEERS:
        judged = summary[summary[f"{method}_bug_runs"] > 0]
        k = int((judged[f"{method}_caught"] >= 0.9 * judged[f"{method}_bug_runs"]).sum())
        share = f"{k} of the {len(judged)} pairs whose draws it judges"
        text.append(f"{method}: {share} caught in 90% of runs or more.")
    return "\n".join(text)


def write_zoo(report: ZooReport, out: Path, command: str = "compare.py zoo") -> list[Path]:
    """Write zoo.csv (per bug and family), zoo_runs.csv (per run), results.json and report.html."""

    def fill(stage: Path) -> None:
        report.summary.to_csv(stage / "zoo.csv", index=False)
        report.result.runs.to_csv(stage / "zoo_runs.csv", index=False)
        doc = {
            "config": seeded_runs_config(report.result),
            "alpha": report.result.alpha,
            "bugs": {b.name: {"source": b.source, "what": b.what} for b in BUGS.values()},
            "summary": report.summary.to_dict(orient="records"),
            "reading": report.text,
        }
        write_seeded_runs_page(
            stage, doc, title="The zoo: real bugs of inference libraries, caught or not", command=command,
            report=report, checked=f"All {len(report.result.runs)} runs finished; zoo.csv holds each bug's "
            "detection by each method and its twin's false alarms.",
        )  # fmt: skip

    return write_all(out, fill)
