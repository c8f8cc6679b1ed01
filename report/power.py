"""The power study's table, reading, power.csv, results.json and power-curve plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from report.document import Block, render, table  # noqa: E402
from report.files import seeded_runs_config, write_all, write_seeded_runs_page  # noqa: E402
from report.plots import save_figure  # noqa: E402
from study.power import DEFECTS, PowerResult, smallest_detected, summarise  # noqa: E402


@dataclass
class PowerReport:
    """The power study's results, their per-size summary and the report's blocks."""

    result: PowerResult
    summary: pd.DataFrame
    smallest: dict[tuple[str, str], str]
    blocks: list[Block]

    @property
    def text(self) -> str:
        """The report as printed on the terminal."""
        return render(self.blocks)


def _pct(v: float) -> str:
    return f"{100 * v:.3g}%"


def power_report(result: PowerResult) -> PowerReport:
    """Build the report: the null false-alarm rates, then each defect's detection per size."""
    summary = summarise(result.runs)
    smallest = smallest_detected(summary)
    blocks = []
    for model, g in summary.groupby("model", sort=False):
        lines = [
            [
                r.defect, r.kind, f"{r.size:g}", r.unit, f"{r.detected}/{r.runs}", r.power,
                f"{r.ci_low:.2f}-{r.ci_high:.2f}", r.caught_by or "-",
            ]
            for r in g.itertuples()
        ]  # fmt: skip
        headers = ["defect", "kind", "size", "unit", "caught", "power", "95% CI", "caught by (first alarm)"]
        blocks += [
            Block(f"Power of the verdict ({model}; alpha {result.alpha:g} per run)", [table(headers, lines)]),
            Block(f"Reading ({model})", [_power_reading(model, g, smallest, result.alpha)]),
        ]
    return PowerReport(result, summary, smallest, blocks)


def _power_reading(model: str, g: pd.DataFrame, smallest: dict, alpha: float) -> str:
    null = g[g["kind"].str.startswith("null")]
    parts = [
        f"{r.kind.removeprefix('null (').rstrip(')')}: {r.detected} false alarms in {r.runs} runs "
        f"({_pct(r.power)}, 95% CI {_pct(r.ci_low)}-{_pct(r.ci_high)})"
        for r in null.itertuples()
    ]
    text = [
        f"False alarms of the correct engines (stated at most {_pct(alpha)} per run): " + "; ".join(parts)
    ]
    found = [f"{defect}: {what}" for (m, defect), what in smallest.items() if m == model]
    text.append("Smallest size caught in at least 90% of runs: " + "; ".join(found) + ".")
    missed = g[(~g["kind"].str.startswith("null")) & (g["power"] < 0.9)]
    if len(missed):
        text.append(
            "Below 90%: "
            + ", ".join(f"{r.defect} {r.size:g} ({_pct(r.power)})" for r in missed.itertuples())
            + ". Such errors can pass this study's verdict; more replications or draws shrink them."
        )
    return "\n".join(text)


def power_plot(report: PowerReport, folder: Path) -> list[Path]:
    """One panel per defect: detection probability against size, with 95% intervals, per family."""
    paths = []
    for model, g in report.summary.groupby("model", sort=False):
        defects = [d for d in DEFECTS if d in set(g["defect"])]
        cols = min(4, len(defects)) or 1
        rows = int(np.ceil(len(defects) / cols)) or 1
        fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
        null = g[g["kind"].str.startswith("null")]
        for ax, defect in zip(axes.flat, defects, strict=False):
            d = g[g["defect"] == defect]
            x = np.arange(len(d))
            err = [d["power"] - d["ci_low"], d["ci_high"] - d["power"]]
            ax.errorbar(x, d["power"], yerr=err, marker="o", capsize=3)
            ax.set_xticks(x, [f"{s:g}" for s in d["size"]])
            ax.axhline(0.9, color="grey", ls="--", lw=0.8)
            for r in null.itertuples():
                ax.axhline(r.power, color="red", ls=":", lw=0.8)
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(defect, fontsize=9)
            ax.set_xlabel(d["unit"].iloc[0], fontsize=8)
        for ax in list(axes.flat)[len(defects) :]:
            ax.set_visible(False)
        axes[0, 0].set_ylabel("detection probability")
        fig.suptitle(f"{model}: power of the verdict (dashed: 90%; dotted: correct engines' false alarms)",
                     fontsize=10)  # fmt: skip
        paths.append(save_figure(fig, folder / f"power_{model}.png"))
    return paths


def write_power(report: PowerReport, out: Path, command: str = "compare.py power") -> list[Path]:
    """Write power.csv (per size), power_runs.csv (per run), results.json, the power plots and report.html."""

    def fill(stage: Path) -> None:
        report.summary.to_csv(stage / "power.csv", index=False)
        report.result.runs.to_csv(stage / "power_runs.csv", index=False)
        doc = {
            "config": seeded_runs_config(report.result),
            "alpha": report.result.alpha,
            "defects": {
                d.name: {"description": d.description, "kind": d.kind, "unit": d.unit}
                for d in DEFECTS.values()
            },  # fmt: skip
            "summary": report.summary.to_dict(orient="records"),
            "smallest_90": {f"{m}/{d}": v for (m, d), v in report.smallest.items()},
            "reading": report.text,
        }
        power_plot(report, stage)
        runs = len(report.result.runs)
        checked = (
            f"All {runs} runs of the study finished; power.csv holds each defect's detection rate, "
            "the null rows the false-alarm rate of the correct engines."
        )
        title = "The verdict's power against a catalogue of defects"
        write_seeded_runs_page(stage, doc, title=title, command=command, report=report, checked=checked)

    return write_all(out, fill)
