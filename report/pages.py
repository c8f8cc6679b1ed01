"""Each subcommand's HTML page: its sections, figures and verdict, laid out for report/html.py."""

from __future__ import annotations

import re
from pathlib import Path

from report.document import Block
from report.html import Ids, Page, Section, block_sections, interactive, png
from report.tables import JUDGED

# Where the study's per-family plots go: the section whose heading starts with the key.
STUDY_FIGURES = {
    "Engines against the exact posterior": ("densities", "engines", "cost_accuracy"),
    "The prior's pull": ("washout",),
    "MLE vs MAP": ("mse",),
}


STUDY_LABELS = {
    "ns": "N (sample sizes)",
    "reps": "replications (data sets per N)",
    "alpha": "alpha (this study's share of the run's false-alarm probability)",
    "studies_in_run": "studies sharing the run's alpha",
    "prob": "interval probability",
}


def settings_rows(
    config: dict, families: dict[str, dict], labels: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """Return the run's configuration and each family's settings as (name, value) rows.

    ``labels`` renames keys for readers (default: the keys as in results.json).
    """
    labels = labels or {}
    rows = [(labels.get(key, key), _value(value)) for key, value in config.items()]
    rows += [
        (f"{family} settings", ", ".join(f"{k} = {_value(v)}" for k, v in settings.items()))
        for family, settings in families.items()
    ]
    return rows


def _value(value) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def attach(sections: list[Section], figures: dict[str, list[Path]]) -> None:
    """Put each PNG under the section whose title starts with its key."""
    for section in sections:
        for prefix, paths in figures.items():
            if section.title.startswith(prefix):
                section.figures += [png(p) for p in paths]


def leftover_figures(sections: list[Section], folder: Path, ids: Ids) -> Section | None:
    """Make a section of every PNG in ``folder`` that no section shows yet (None if there is none)."""
    shown = set()
    stack = list(sections)
    while stack:
        s = stack.pop()
        shown |= {f.file for f in s.figures}
        stack += s.children
    rest = [png(p) for p in sorted(folder.glob("*.png")) if p.name not in shown]
    return Section(ids("Other plots"), "Other plots", figures=rest) if rest else None


def by_family(
    sections: list[Section], folder: Path, families: list[str], ids: Ids, shown: set[str]
) -> list[Section]:
    """Group under each family the sections naming it in their title's parenthesis, then its plots.

    A family's plots are the PNGs in ``folder`` named with its key (except those ``shown``
    already). The sections about no one family keep their order and come first.
    """
    grouped, claimed = [], set()
    for family in families:
        mine = [s for s in sections if re.search(rf"\({re.escape(family)}[;):]", s.title)]
        claimed |= {id(s) for s in mine}
        plots = [png(p) for p in sorted(folder.glob(f"*{family}*.png")) if p.name not in shown]
        if plots:
            mine.append(Section(ids(f"Plots {family}"), f"Plots: {family}", figures=plots))
        if mine:
            grouped.append(Section(ids(f"family {family}"), family, children=mine))
    return [s for s in sections if id(s) not in claimed] + grouped


def simple_page(
    title: str,
    command: str,
    blocks: list[Block],
    folder: Path,
    families: list[str],
    *,
    settings: list[tuple[str, str]],
    failures: list[str],
    checked: str,
    figures: dict[str, list[Path]] | None = None,
) -> Page:
    """Lay out the report's blocks, then the plots per family (SBC, power, gradients).

    ``figures`` puts plots under the section whose title starts with the key; the others
    go into a section per family, and what is left into 'Other plots'.
    """
    ids = Ids()
    laid_out = block_sections(blocks, ids)
    figures = figures or {}
    attach(laid_out, figures)
    shown = {p.name for paths in figures.values() for p in paths}
    laid_out = by_family(laid_out, folder, families, ids, shown)
    rest = leftover_figures(laid_out, folder, ids)
    laid_out += [rest] if rest else []
    return Page(title, command, settings, failures, checked, laid_out)


def study_page(reports, folder: Path, figures: dict, doc: dict, failures, command: str) -> Page:
    """Lay out the study's page: the verdict per (family, engine, N), then each family's sections.

    ``folder`` holds the run's plots; ``figures`` maps each family to its plots by role
    (``report.files``); ``doc`` is results.json's document and ``failures`` the lines of
    ``report.terminal.failure_lines``.
    """
    ids = Ids()
    n_rows = sum(len(r.rows) for report in reports for r in report.results)
    page = Page(
        title="Engines against the exact conjugate posterior",
        command=command,
        settings=settings_rows(
            doc["config"], {k: v.get("settings", {}) for k, v in doc["families"].items()}, STUDY_LABELS
        ),
        failures=[line for *_, line in failures],
        checked=f"{n_rows} rows (family x engine x N x data set x parameter) and every pooled test agree "
        "with the exact posterior.",
        sections=[],
        failure_summary=failure_summary(failures),
    )
    family_ids, engine_ids = {}, {}
    for report in reports:
        family_ids[report.family] = ids(f"family {report.family}")
        children = block_sections(report.blocks, ids)
        section = Section(family_ids[report.family], report.family, children=children)
        mine = figures.get(report.family, {})
        attach(
            section.children,
            {prefix: [mine[r] for r in roles if r in mine] for prefix, roles in STUDY_FIGURES.items()},
        )
        cost = mine.get("cost_accuracy")
        for figure in [f for child in section.children for f in child.figures]:
            if cost is not None and figure.file == cost.name:  # hover a point: its engine and numbers
                interactive(figure, mine["cost_accuracy_bokeh"], page)
        for name in [r.config.sampler for r in report.results] + list(report.engine_failures):
            engine_id = engine_ids[report.family, name] = ids(f"{report.family} {name}")
            section.children.append(_engine_section(report, name, mine, engine_id, page))
        page.sections.append(section)
    rest = leftover_figures(page.sections, folder, ids)
    page.sections += [rest] if rest else []
    page.verdict = verdict_rows(reports, failures, family_ids, engine_ids)
    return page


def _engine_section(report, name: str, figures: dict, section_id: str, page: Page) -> Section:
    """Lay out one engine's part of a family: what it is, how it was judged, its trace plots."""
    section = Section(section_id, f"{report.family}: {name}")
    if name in report.engine_failures:
        section.parts.append(f"engine FAILED in its run: {report.engine_failures[name]}")
        return section
    result = next(r for r in report.results if r.config.sampler == name)
    e = result.engine
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
    promise = f" It promises: {e.promise}." if e.promise else ""
    section.parts.append(
        f"{e.description} ({e.origin}). Judged as {JUDGED[e.check]}.{promise}\nTimings: {timings}."
    )
    section.parts += [f"warning: {w}" for w in result.warnings]
    drawn = figures.get("trace_bokeh", {}).get(name, {})
    for n, path in figures.get("trace", {}).get(name, {}).items():
        fig = png(path, f"trace plot: {report.family}, {name}, N = {n}")
        section.figures.append(interactive(fig, drawn[n], page) if n in drawn else fig)
    return section


def failure_summary(failures) -> list[str]:
    """One line per failing (family, engine): how many comparisons failed, and at which N."""
    engines: dict[tuple[str, str], list] = {}
    for family, engine, n, _ in failures:
        engines.setdefault((family, engine), []).append(n)
    lines = []
    for (family, engine), ns in engines.items():
        at = sorted({n for n in ns if n is not None})
        where = f" at N = {', '.join(map(str, at))}" if at else ""
        whole = " (one for the whole run)" if None in ns and at else ""
        lines.append(f"{family} {engine}: {len(ns)} failed{where}{whole}")
    return lines


def verdict_rows(reports, failures, family_ids: dict, engine_ids: dict) -> list[dict]:
    """One row per (family, engine, N): data sets that agree, pooled tests that agree, the reasons.

    ``family_ids`` and ``engine_ids`` (keyed by family, engine) are the sections the row links to.
    """
    rows = []
    for report in reports:
        names = [r.config.sampler for r in report.results] + list(report.engine_failures)
        for name in names:
            result = next((r for r in report.results if r.config.sampler == name), None)
            for n in report.ns:
                reasons = [
                    line
                    for family, engine, at, line in failures
                    if (family, engine) == (report.family, name) and at in (n, None)
                ]
                if result is None:
                    agree, pooled = "-", "-"
                else:
                    g = result.rows[result.rows["n"] == n].groupby("rep")["agree"].all()
                    agree = f"{int(g.sum())}/{len(g)}"
                    p = result.pooled[result.pooled["n"] == n] if len(result.pooled) else result.pooled
                    pooled = f"{int(p['agree'].sum())}/{len(p)}" if len(p) else "-"
                verdict = "FAILED" if result is None else ("DISAGREE" if reasons else "agree")
                rows.append(
                    {
                        "family": report.family,
                        "engine": name,
                        "n": n,
                        "rows": agree,
                        "pooled": pooled,
                        "verdict": verdict,
                        "reasons": reasons,
                        "family_id": family_ids[report.family],
                        "engine_id": engine_ids[report.family, name],
                    }
                )
    return rows
